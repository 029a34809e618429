/**
 * Where a target or param was declared, for error messages ("at Pipelinefile.ts:12:5").
 * The stack is captured when the declaration runs but formatted only when a message needs it:
 * formatting 10,000 stacks costs far more than capturing them (see ecosystem.md §10).
 */
import { fileURLToPath } from "node:url";

export interface Site {
  /** `file:line:col` of the first frame outside pipe itself, or undefined when unknown. */
  readonly location: () => { file: string; line: number; column: number } | undefined;
}

const OWN = /[\\/](?:dist[\\/])?src[\\/]api[\\/]/;

let capturing = true;
/** A location was asked of a declaration made while sites were not captured. */
let missed = false;

/** A declaration made while sites are not captured: its location is not known. */
const UNKNOWN: Site = {
  location: () => {
    missed = true;
    return undefined;
  },
};

/**
 * Whether targets, families and instances record where they are declared (params always do).
 * pipe evaluates a Pipelinefile with this off: capturing costs 3-5 µs per declaration (a
 * 10,000-target Pipelinefile evaluated in 80 ms instead of 39), and only an error message needs
 * a site. When a message about a mistake asked for one (siteWasMissed), pipe evaluates the
 * Pipelinefile again with it on, so the message names the line (cli/project.ts). Returns the
 * previous setting.
 */
export function setSiteCapture(on: boolean): boolean {
  const was = capturing;
  capturing = on;
  if (!on) missed = false;
  return was;
}

/**
 * Whether some message since capture was last turned off lacks a location (or a "declared at"
 * line) because its declaration's site was not captured.
 */
export function siteWasMissed(): boolean {
  return missed;
}

/**
 * `api`: the function the Pipelinefile called (target, an instance's family function), whose
 * frame and those above it are left out, so that the caller's frame comes first. Without it the
 * declaration is at most two of pipe's own frames away (param.int -> make -> here).
 *
 * Each captured frame costs about 1.5 µs, and a Pipelinefile may declare 10,000 targets: 8
 * frames took 37 ms, 4 took 24 ms, and 2 past `api` take about half that. Two, not one: a
 * declaration function passed to a builtin (`keys.map(fam)`) has the builtin's frame first.
 */
export function captureSite(api?: Function): Site {
  if (api && !capturing) return UNKNOWN;
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = api ? 2 : 4;
  Error.captureStackTrace(holder, api ?? captureSite);
  Error.stackTraceLimit = limit;
  let cached: ReturnType<Site["location"]> | null = null;
  return {
    location: () => {
      if (cached !== null) return cached;
      cached = parseFirstForeignFrame(holder.stack ?? "");
      return cached;
    },
  };
}

/**
 * The first frame of `stack` outside node and pipe's API (and, with `ownDir`, outside every file
 * under that folder: pipe's own code, such as the fs wrappers a load error passes through).
 */
export function parseFirstForeignFrame(stack: string, ownDir?: string): ReturnType<Site["location"]> {
  for (const raw of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):(\d+)\)?\s*$/.exec(raw.trim());
    if (!m) continue;
    let file = m[1];
    if (file.startsWith("node:") || OWN.test(file)) continue;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file.replace(/\?.*$/, ""));
      } catch {
        continue;
      }
    }
    if (ownDir !== undefined && file.startsWith(ownDir)) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
