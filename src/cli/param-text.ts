/**
 * Param values as text, from `--params <file>` and `--param name=value` (which wins). Light: the
 * no-op fast path reads them too, since they are part of what a build was asked for.
 *
 * A params file is either a JSON object (`{"window": 14, "attributes": ["a", "b"]}`: lists are
 * written as a,b) or lines of `name=value` (blank lines and `# comments` ignored).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UserError, type Diagnostic } from "../util/errors.ts";
import { flagValue, flagValues, type Parsed } from "./args.ts";
import type { ParamSource, ParamText } from "../graph/param-values.ts";

/** Parses repeated `--param name=value`. */
export function parseParamFlags(values: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq < 1) throw new UserError({ message: `--param needs name=value, got ${JSON.stringify(v)}`, hint: "e.g. --param window=14" });
    m.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return m;
}

/** Reads a params file; every problem at once, each with its line. */
function readParamsFile(path: string, cwd: string): { values: Map<string, string>; sources: Map<string, ParamSource> } {
  let text: string;
  const file = resolve(cwd, path);
  const sources = new Map<string, ParamSource>();
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError({ message: `cannot read params file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, hint: "--params takes a file of name=value lines or a JSON object" });
  }
  const out = new Map<string, string>();
  const diags: Diagnostic[] = [];
  if (/\.json$/i.test(path) || text.trimStart().startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new UserError({ message: `params file ${JSON.stringify(path)} is not valid JSON: ${(e as Error).message}`, location: { file: path, line: 1, column: 1 } });
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) throw new UserError({ message: `params file ${JSON.stringify(path)} must hold a JSON object of param values`, location: { file: path, line: 1, column: 1 }, hint: `e.g. {"window": 14}` });
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      const line = lineOf(text, JSON.stringify(k));
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.set(k, String(v));
      else if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) out.set(k, v.join(","));
      else diags.push({ message: `param ${JSON.stringify(k)} in params file: a value must be a string, number, boolean or list`, location: { file: path, line, column: 1 } });
      sources.set(k, { file, shown: path, line });
    }
  } else {
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const eq = line.indexOf("=");
      if (eq < 1) diags.push({ message: `params file line is not name=value: ${JSON.stringify(line)}`, location: { file: path, line: i + 1, column: 1 }, hint: "write one name=value per line" });
      else {
        const name = line.slice(0, eq).trim();
        out.set(name, line.slice(eq + 1).trim());
        sources.set(name, { file, shown: path, line: i + 1 });
      }
    });
  }
  if (diags.length) throw new UserError(diags);
  return { values: out, sources };
}

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

/**
 * `--params` then `--param`s: the values a command was given. Those from the file keep their
 * line (`sources`), so that a message about one points there.
 */
export function paramTextFrom(args: Parsed, cwd: string): ParamText {
  const path = flagValue(args, "params");
  const file = path === undefined ? undefined : readParamsFile(path, cwd);
  const out: ParamText = file?.values ?? new Map<string, string>();
  for (const [k, v] of parseParamFlags(flagValues(args, "param"))) {
    out.set(k, v);
    file?.sources.delete(k);
  }
  if (file?.sources.size) out.sources = file.sources;
  return out;
}
