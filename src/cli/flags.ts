/**
 * Flag definitions shared by commands, in a module of their own: the no-op fast path
 * (cli/fast-noop.ts) parses `pipe build` arguments without loading the build command.
 */
import type { Flag } from "./args.ts";

export const COMMON: Flag[] = [
  { name: "file", short: "f", value: true, meta: "path", help: "use this Pipelinefile instead of looking for Pipelinefile.ts upwards" },
  { name: "help", short: "h", help: "show help" },
];
export const PARAM: Flag = { name: "param", short: "p", value: true, repeat: true, meta: "name=value", help: "set a param (repeatable); the value is checked against its type" };
export const PARAMS_FILE: Flag = { name: "params", value: true, meta: "file", help: "read param values from a file (name=value lines, or a JSON object); --param wins" };

/**
 * A whole number written in digits (`-j 4`, `--debounce 300`), else NaN: Number() also took
 * `0x10`, `1e3`, ` 4` and `4.0`, so `-j 0x10` ran 16 jobs.
 */
export function wholeNumber(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : NaN;
}

/** The flag shared by build and watch. */
export const KEEP_GOING_FLAG: Flag = { name: "keep-going", short: "k", help: "after a failure, go on with targets that do not depend on it" };
export const JOBS_FLAG: Flag = { name: "jobs", short: "j", value: true, meta: "N", help: "run up to N recipes at once (default: the number of CPUs)" };

export const OUTPUT_FLAGS: Flag[] = [
  { name: "json", help: "print NDJSON events on stdout (one per line) instead of the live view" },
  { name: "quiet", short: "q", help: "print only failures and the summary" },
  { name: "verbose", short: "v", help: "print recipe output live, each line prefixed with its target" },
  { name: "no-color", help: "no colours (also: NO_COLOR=1)" },
];

export const BUILD_FLAGS: Flag[] = [
  PARAM,
  PARAMS_FILE,
  JOBS_FLAG,
  KEEP_GOING_FLAG,
  { name: "mem", value: true, meta: "size", help: "memory the running recipes' resources.mem may add up to, e.g. 8G (default: the machine's RAM)" },
  { name: "keep-edited", help: "refuse (fail the target) rather than replace an output that was changed outside pipe" },
  { name: "dry-run", short: "n", help: "show what would run and why; write nothing" },
  ...OUTPUT_FLAGS,
  { name: "shuffle", help: "start ready targets in random order (results must not depend on order)" },
  { name: "no-wait", help: "when another pipe is building this project, exit at once with code 75 instead of waiting" },
  ...COMMON,
];
