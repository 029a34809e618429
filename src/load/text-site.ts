/**
 * Where something is in the Pipelinefile's text, by a pattern: for messages about a declaration
 * whose site was not recorded (sites are taken only by a second load, for load-time messages).
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

/** The first line of `file` (project-relative or absolute) matching `re`, as `file` names it; undefined when none or unreadable. */
export function siteInText(root: string, file: string, re: RegExp): { file: string; line: number; column: number } | undefined {
  let text: string;
  try {
    text = readFileSync(isAbsolute(file) ? file : join(root, file), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const at = lines[i].search(re);
    if (at >= 0) return { file, line: i + 1, column: at + 1 };
  }
  return undefined;
}
