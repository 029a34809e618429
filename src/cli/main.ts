/**
 * `pipe` entry point: the only place that reads argv and env, picks a reporter and sets the
 * exit code. Commands are loaded lazily (start-up time matters in git hooks).
 *
 * Exit codes: 0 ok; 1 a target failed (or `status --exit-code` found work to do);
 * 2 usage or Pipelinefile error; 75 busy (`--no-wait` and another pipe holds the project lock);
 * 130 interrupted (SIGINT, SIGTERM or SIGHUP).
 */
import { pipeVersion } from "../util/own-version.ts";
import { formatDiagnostics, UserError, writeRefusedHint } from "../util/errors.ts";
import { suggestion } from "../util/did-you-mean.ts";
import { installEarlyInterrupt, takeOverInterrupts } from "../util/signals.ts";
import { takeSetAside } from "../state/set-aside.ts";
import { formatFlags, parseArgs, type Flag, type Parsed } from "./args.ts";
import type { PartialHint } from "./fast-noop.ts";
import type { PipeEvent } from "../events.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 75, interrupted: 130 } as const;

export interface CommandContext {
  args: Parsed;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** `pipe build`: what the no-op snapshot still vouches for (fast-noop.ts). */
  noopHint?: PartialHint;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Flag[];
  /** More help text shown by `pipe <cmd> --help`. */
  details?: string;
  run: (ctx: CommandContext) => Promise<number>;
}

export { COMMON, PARAM } from "./flags.ts";

const load = async (m: Promise<{ command: Command }>) => (await m).command;
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command>; hidden?: boolean }> = {
  build: { summary: "bring targets up to date (default: the Pipelinefile's default export, or every target without one)", load: () => load(import("./commands/build.ts")) },
  status: { summary: "show every target as up to date, restorable or stale, and why", load: () => load(import("./commands/status.ts")) },
  why: { summary: "explain, value by value, what changed since a target's last run", load: () => load(import("./commands/why.ts")) },
  params: { summary: "list the params a build reads: value and where it comes from, type, doc, users", load: () => load(import("./commands/params.ts")) },
  history: { summary: "the runs pipe recorded: params, what changed, whether the outputs are on disk or in the cache", load: () => load(import("./commands/history.ts")) },
  clean: { summary: "remove targets' outputs (the cache keeps them)", load: () => load(import("./commands/clean.ts")) },
  gc: { summary: "free the cache of the outputs of runs pipe no longer keeps (all but the 32 newest of each target)", load: () => load(import("./commands/gc.ts")) },
  graph: { summary: "show the target graph (text, --dot, --mermaid, --json)", load: () => load(import("./commands/graph.ts")) },
  watch: { summary: "build, then rebuild as sources change", load: () => load(import("./commands/watch.ts")) },
  hooks: { summary: "install or uninstall git hooks (pre-commit, post-checkout, post-merge)", load: () => load(import("./commands/hooks.ts")) },
  // Internals for pipe's own tests: works, not listed in --help.
  debug: { summary: "internals for tests: `pipe debug crash-points`", load: () => load(import("./commands/debug.ts")), hidden: true },
};

function mainHelp(): string {
  const w = Math.max(...Object.entries(COMMANDS).filter(([, v]) => !v.hidden).map(([k]) => k.length));
  return [
    "pipe: incremental builds for data and ML pipelines",
    "",
    "usage: pipe <command> [targets...] [options]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).filter(([, v]) => !v.hidden).map(([k, v]) => `  ${k.padEnd(w)}  ${v.summary}`),
    "",
    "Run `pipe <command> --help` for a command's options.",
    "Exit codes: 0 ok, 1 a target failed, 2 usage or Pipelinefile error, 75 busy (--no-wait), 130 interrupted.",
  ].join("\n");
}

export function commandHelp(c: Command): string {
  return [`usage: ${c.usage}`, "", c.summary, ...(c.details ? ["", c.details] : []), "", "options:", formatFlags(c.flags)].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const { stdout, stderr } = process;
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    if (first === "help" && argv[1] && COMMANDS[argv[1]]) {
      stdout.write(commandHelp(await COMMANDS[argv[1]].load()) + "\n");
      return EXIT.ok;
    }
    // `pipe help nosuch` showed the main help and exit 0.
    if (first === "help" && argv[1] !== undefined) return reportError(new UserError({ message: `unknown command ${JSON.stringify(argv[1])}${suggestion(argv[1], Object.keys(COMMANDS))}`, hint: "pipe --help lists the commands" }), stderr);
    stdout.write(mainHelp() + "\n");
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "--version" || first === "-V") {
    stdout.write(`pipe ${pipeVersion()}\n`);
    return EXIT.ok;
  }
  // Until a command's reporter takes them over, Ctrl-C, SIGTERM and SIGHUP end pipe with 130,
  // not by the signal: the no-op check writes only whole files (temp + rename).
  // A command with a reporter (build, watch) takes them over (cli/reporting.ts); the others keep
  // this to their end.
  installEarlyInterrupt(() => {
    stderr.write("interrupted\n");
    process.exit(EXIT.interrupted);
  });
  // Whether errors are also NDJSON on stdout: known once the command is (a command without
  // --json would refuse the flag anyway).
  let json = false;
  try {
    let noopHint: PartialHint | undefined;
    if (first === "build") {
      json = wantsJson(argv.slice(1));
      // Nothing changed since the last build of the same request? Answer from the no-op
      // snapshot without loading the Pipelinefile (start-up matters in git hooks). Only some
      // targets' files changed? The full build may trust the others.
      const fast = await import("./fast-noop.ts");
      const answer = await fast.tryNoop({ argv: argv.slice(1), cwd: process.cwd(), env: process.env, stdout, stderr });
      if (typeof answer === "number") return answer;
      // Only some targets changed: recipes will run (a dry run gets no hint).
      if (answer) (await import("../run/shell.ts")).prewarmHelper();
      noopHint = answer;
    }
    const entry = COMMANDS[first];
    // Before the command module (and the packages it imports) loads: see load/trace.ts. Only
    // `pipe build` traces the Pipelinefile's load (for the no-op snapshot).
    if (first === "build") (await import("../load/trace.ts")).installFsTrace();
    if (!entry) {
      // `pipe --jobs 2 build`: options come after the command.
      const command = first.startsWith("-") ? argv.find((a) => Object.hasOwn(COMMANDS, a)) : undefined;
      throw new UserError({ message: `unknown command ${JSON.stringify(first)}${command ? "" : suggestion(first, Object.keys(COMMANDS))}`, hint: command ? `options go after the command: pipe ${command} ${argv.filter((a) => a !== command).join(" ")}` : "pipe --help lists the commands" });
    }
    const cmd = await entry.load();
    json = cmd.flags.some((f) => f.name === "json") && wantsJson(argv.slice(1));
    const args = parseArgs(argv.slice(1), cmd.flags, cmd.name);
    if (args.flags.has("help")) {
      stdout.write(commandHelp(cmd) + "\n");
      return EXIT.ok;
    }
    const code = await cmd.run({ args, cwd: process.cwd(), env: process.env, stdout, stderr, noopHint });
    reportSetAside(stderr, json ? stdout : undefined);
    return code;
  } catch (e) {
    reportSetAside(stderr, json ? stdout : undefined);
    return reportError(e, stderr, json ? stdout : undefined);
  } finally {
    takeOverInterrupts();
  }
}

/** State that was in the way of a write and moved to .pipe/quarantine/ (state/atomic.ts): said once, at the end. */
function reportSetAside(stderr: NodeJS.WritableStream, jsonOut?: NodeJS.WritableStream): void {
  const notes = takeSetAside();
  for (const message of notes) {
    stderr.write(`warning: ${message}\n`);
    if (jsonOut) jsonOut.write(JSON.stringify({ type: "warning", message } satisfies PipeEvent) + "\n");
  }
}

/** `--json` among the arguments (before a `--`, after which everything is a target). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === "--json");
}

/**
 * User mistakes: every diagnostic, no stack, exit 2. Anything else is a bug: say so. With
 * `jsonOut` (the command was given --json) the same text is also one NDJSON `error` event on
 * it, as `pipe watch --json` reports a Pipelinefile that stopped loading: a program reading
 * stdout learns why there is nothing else.
 */
export function reportError(e: unknown, stderr: NodeJS.WritableStream, jsonOut?: NodeJS.WritableStream): number {
  // A full disk or a read-only file system met where nothing expected it is the machine's state,
  // not a bug: said plainly, without a stack (exit 2, as for other things the user must fix).
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (!(e instanceof UserError) && (code === "ENOSPC" || code === "EDQUOT" || code === "EROFS")) {
    e = new UserError({ message: (e as Error).message, hint: writeRefusedHint(code) });
  }
  const user = e instanceof UserError;
  const text = e instanceof UserError ? formatDiagnostics(e.diagnostics, process.cwd()) : `internal error: ${(e as Error)?.stack ?? String(e)}\nthis is a bug; please report it with the output of \`pipe --version\``;
  stderr.write(text + "\n");
  if (jsonOut) jsonOut.write(JSON.stringify({ type: "error", message: text } satisfies PipeEvent) + "\n");
  return user ? EXIT.usage : EXIT.failed;
}
