/** Picks and opens the reporter from argv/env (the CLI's job, not the UI's). */
import type { PipeEvent, Reporter } from "../events.ts";
import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { killAllGroups } from "../run/shell.ts";
import { UserError } from "../util/errors.ts";
import { INTERRUPT_SIGNALS, takeOverInterrupts } from "../util/signals.ts";
import { releaseOutput } from "../util/output-gate.ts";
import { flagValue, hasFlag } from "./args.ts";
import { colorWanted } from "./color.ts";
import { wholeNumber } from "./flags.ts";
import type { CommandContext } from "./main.ts";


/** `-j N` (default: the CPU count), checked. */
export function jobsFrom(ctx: CommandContext): number {
  const text = flagValue(ctx.args, "jobs");
  const jobs = text === undefined ? availableParallelism() : wholeNumber(text);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError({ message: `-j needs a whole number of at least 1, got ${JSON.stringify(text)}` });
  return jobs;
}

/**
 * Interrupt handling shared by build and watch: the first signal aborts (recipes get SIGTERM,
 * then SIGKILL after the grace period); a second one kills every recipe group at once.
 */
export function interruptHandler(onAbort: () => void = () => undefined): { signal: AbortSignal; onSignal: () => void } {
  const controller = new AbortController();
  // Every running recipe listens to it (its process group, a worker's ctx.signal), so with
  // -j above 10 node warned of a "possible EventTarget memory leak" on stderr mid-build. The
  // listeners are bounded by -j and removed as recipes end: no limit.
  setMaxListeners(0, controller.signal);
  let count = 0;
  return {
    signal: controller.signal,
    onSignal: () => {
      count++;
      // Stopping must not wait for a reader of pipe's output that fell behind.
      releaseOutput();
      if (count > 1) killAllGroups("SIGKILL");
      controller.abort();
      onAbort();
    },
  };
}

/** Options of `withReporter`. */
export interface ReporterSessionOptions {
  /** Called once per interrupt (signal or broken stdout), after the build's signal is aborted. */
  onAbort: () => void;
  /**
   * End the session when stdout is a closed pipe (EPIPE), as if interrupted: `pipe watch | head`
   * or a parent that died. For one-shot commands a closed pipe is not a reason to stop.
   */
  endOnBrokenStdout?: boolean;
}

/**
 * Runs a command body with a reporter open and interrupts handled: SIGINT, SIGTERM and SIGHUP
 * all go through the reporter (which shows the interrupt line) once it is open, and straight to
 * the interrupt handler while it is being opened. Always removes the handlers and closes the
 * reporter.
 */
export async function withReporter(
  ctx: CommandContext,
  jobs: number,
  options: ReporterSessionOptions,
  body: (emit: (e: PipeEvent) => void, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const interrupt = interruptHandler(options.onAbort);
  let reporter: Reporter | undefined;
  const emit = (e: PipeEvent) => reporter?.onEvent(e);
  takeOverInterrupts();
  for (const s of INTERRUPT_SIGNALS) process.on(s, interrupt.onSignal);
  let brokenStdout = false;
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    // Once: a second call would count as a second Ctrl-C and kill recipes at once.
    if (e?.code !== "EPIPE" || brokenStdout) return;
    brokenStdout = true;
    interrupt.onSignal();
  };
  if (options.endOnBrokenStdout) ctx.stdout.on("error", onStdoutError);
  try {
    try {
      reporter = await openReporter(ctx, jobs, interrupt.onSignal);
    } finally {
      // From here on the reporter handles these signals (and shows the interrupt line).
      for (const s of INTERRUPT_SIGNALS) process.off(s, interrupt.onSignal);
    }
    const code = await body(emit, interrupt.signal);
    // A signal that came while the thread was busy to the end (a long copy of a restore) is
    // taken in the next poll of the event loop: taken here, while the handlers are still on, a
    // Ctrl-C never ends in 0 ("ok: 2 restored" then "interrupt: stopping" exited 0 before).
    // Two checks: this turn's (before its poll, if the body ended in one) and the next one's.
    await new Promise((r) => setImmediate(() => setImmediate(r)));
    return code === 0 && interrupt.signal.aborted ? 130 : code;
  } finally {
    ctx.stdout.off("error", onStdoutError);
    await reporter?.close();
  }
}

export async function openReporter(ctx: CommandContext, jobs: number, onInterrupt: () => void): Promise<Reporter> {
  const ui = await import("../ui/index.ts");
  const mode = ui.pickMode({ isTTY: ctx.stdout.isTTY, env: ctx.env, json: hasFlag(ctx.args, "json") , columns: ctx.stdout.columns });
  return ui.createReporter({
    mode,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    color: colorWanted(ctx),
    quiet: hasFlag(ctx.args, "quiet"),
    verbose: hasFlag(ctx.args, "verbose"),
    jobs,
    onInterrupt,
  });
}
