/** The pids /proc lists now (Linux), or undefined when /proc cannot be read. */
import { readdirSync } from "node:fs";

export function procPids(): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(n));
  }
  return out;
}
