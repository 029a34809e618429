/**
 * Entry point of the UI: pick a reporter for the environment and create it.
 *
 * Startup cost matters, so Ink and React are imported dynamically and only in `ink` mode;
 * the plain and JSON reporters load nothing but small local modules.
 *
 * Ctrl-C: no reporter ever puts stdin in raw mode (Ink gets a dummy stdin), so Ctrl-C stays
 * an ordinary SIGINT. When `onInterrupt` is given, the reporter listens for SIGINT (and SIGTERM,
 * SIGHUP, which stop a build the same way) while it is open, shows "interrupt: stopping N running targets" and calls `onInterrupt` (again on every
 * further Ctrl-C, so the caller can escalate). The caller then stops the build, lets the core
 * send `build-finished {interrupted: true}`, and calls `close()`. Without `onInterrupt` the
 * reporter installs no signal handler.
 */
import type { Reporter } from "../events.ts";
import { createJsonReporter } from "./json-reporter.ts";
import { createPlainReporter } from "./plain-reporter.ts";
import type { InterruptibleReporter } from "./reporter.ts";
import type { Detail } from "./view-model.ts";
import { INTERRUPT_SIGNALS } from "../util/signals.ts";

export type { Reporter } from "../events.ts";

import type { ReporterMode } from "./mode.ts";
export { isCi, pickMode, type ModeInputs, type ReporterMode } from "./mode.ts";

/** Options of `createReporter`. The caller (the CLI) reads argv/env and decides all of them. */
export interface ReporterOptions {
  mode: ReporterMode;
  stdout: NodeJS.WritableStream;
  /** Kept for the CLI's own fatal messages; reporters write failures and warnings to stdout. */
  stderr: NodeJS.WritableStream;
  /** Colours allowed (the caller applies NO_COLOR / FORCE_COLOR). */
  color: boolean;
  /** Only failures and the summary. */
  quiet: boolean;
  /** Also every recipe log line, as `[target] line`, and up-to-date targets. */
  verbose: boolean;
  /** Terminal width for the Ink view; defaults to the stream's `columns`, then 80. */
  columns?: number;
  /** `-j`, until `build-started` says otherwise. */
  jobs: number;
  /** Clock in ms; defaults to Date.now. Elapsed times, spinners and the ETA use it. */
  now?: () => number;
  /**
   * Ink view: how often (real ms) spinners and elapsed times ask for a frame while nothing
   * happens; default 100. 0: never (tests on a fake clock, where a real timer firing under a
   * slow machine drew frames the test did not ask for).
   */
  tickMs?: number;
  /** Called on Ctrl-C (SIGINT), SIGTERM or SIGHUP while the reporter is open; see the module comment. */
  onInterrupt?: () => void;
}

function detailOf(options: { quiet: boolean; verbose: boolean }): Detail {
  // --quiet wins over --verbose: asking for less output is the safer reading of both.
  return options.quiet ? "quiet" : options.verbose ? "verbose" : "normal";
}

/** Creates the reporter for `options.mode`. Only `ink` mode loads Ink and React. */
export async function createReporter(options: ReporterOptions): Promise<Reporter> {
  const detail = detailOf(options);
  const now = options.now ?? Date.now;
  let inner: InterruptibleReporter;
  switch (options.mode) {
    case "json":
      inner = createJsonReporter({ stdout: options.stdout });
      break;
    case "plain":
      inner = createPlainReporter({ stdout: options.stdout, color: options.color, detail, now });
      break;
    case "ink": {
      const { createInkReporter } = await loadInkReporter();
      inner = createInkReporter({
        stdout: options.stdout,
        stderr: options.stderr,
        color: options.color,
        detail,
        columns: options.columns,
        jobs: options.jobs,
        now,
        tickMs: options.tickMs,
      });
      break;
    }
  }
  return withInterrupt(inner, options.onInterrupt);
}

/**
 * Imports the Ink reporter with React's production build.
 *
 * Why: React (react, react/jsx-runtime, react-reconciler, scheduler) picks its build from
 * NODE_ENV when first loaded, so without NODE_ENV=production, which is how pipe is run, it
 * loaded the development build. That build calls `performance.measure()` for every component
 * it renders, with a diff of the props that changed, and Node keeps every such entry in its
 * global performance timeline: nothing clears it. With the feed's 2,000-item array changing on
 * each event, a measure's diff grew to about 28 kB, and a 3,000-target build in a terminal
 * reached 2.9 GB (10,000 targets: out of memory after 144 s). It also builds an Error stack
 * per element and checks props, several times slower per frame.
 *
 * NODE_ENV is set only while the modules load (each reads it once, at load) and then put back
 * as it was, so recipes still inherit the user's environment. Setting "production" even when
 * the user's NODE_ENV says otherwise is deliberate: React's development checks are for people
 * developing the Ink components, not for someone running a build.
 */
async function loadInkReporter(): Promise<typeof import("./ink/render.tsx")> {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    return await import("./ink/render.tsx");
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}

/** Wraps a reporter so that an interrupt signal, while it is open, is shown and forwarded to `onInterrupt`. */
function withInterrupt(inner: InterruptibleReporter, onInterrupt: (() => void) | undefined): Reporter {
  if (!onInterrupt) return { onEvent: (e) => inner.onEvent(e), close: () => inner.close() };
  const onSigint = (): void => {
    inner.noteInterrupt();
    onInterrupt();
  };
  for (const s of INTERRUPT_SIGNALS) process.on(s, onSigint);
  return {
    onEvent: (e) => inner.onEvent(e),
    close: async () => {
      for (const s of INTERRUPT_SIGNALS) process.off(s, onSigint);
      await inner.close();
    },
  };
}
