/**
 * Where the Pipelinefile is: in a module of its own so the no-op fast path can find it without
 * loading the compiler and the API.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../util/errors.ts";

export const PIPELINEFILE_NAMES = ["Pipelinefile.ts", "Pipelinefile.mts", "Pipelinefile.js", "Pipelinefile.mjs"];

/** Looks for a Pipelinefile in `cwd` and its parents. */
export function findPipelinefile(cwd: string, explicit?: string): string {
  if (explicit) {
    const p = resolve(cwd, explicit);
    if (!existsSync(p)) throw new UserError({ message: `Pipelinefile ${JSON.stringify(explicit)} does not exist`, hint: `looked for ${p}` });
    if (statSync(p).isDirectory()) {
      // `-f .` went to the compiler as a module path ("Could not resolve ...; fix the syntax error").
      const inside = PIPELINEFILE_NAMES.map((n) => join(p, n)).find((f) => existsSync(f));
      throw new UserError({ message: `--file ${JSON.stringify(explicit)} is a folder, not a Pipelinefile`, hint: inside ? `pass the file: --file ${join(explicit, basename(inside))}` : `pass the Pipelinefile's path (${PIPELINEFILE_NAMES[0]} is not in ${p})` });
    }
    return p;
  }
  let dir = resolve(cwd);
  for (;;) {
    for (const name of PIPELINEFILE_NAMES) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new UserError({
    message: `no Pipelinefile.ts found in ${resolve(cwd)} or any parent folder (looked for ${PIPELINEFILE_NAMES.join(", ")})`,
    hint: "create a Pipelinefile.ts at your project root (see the README's quick start), or pass --file <path>",
  });
}
