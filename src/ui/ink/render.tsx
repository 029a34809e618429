/**
 * The Ink reporter: folds events into a BuildView and re-renders <App> with it.
 * Loaded only through `await import()` from ../index.ts, so the other reporters never pay
 * for Ink, React and Yoga.
 *
 * Terminal handling (see /work/shared/ecosystem.md §3):
 * - Ink gets a dummy, non-TTY stdin and no component uses `useInput`, so the terminal stays
 *   in cooked mode and Ctrl-C remains a SIGINT for the CLI (and the wrapper in ../index.ts).
 *   `exitOnCtrlC` is false as well, for good measure.
 * - Events arriving in one tick are folded together and drawn once (setImmediate), so a
 *   burst of log lines costs one render, not one per line.
 * - `close()` draws a final frame without spinners, unmounts (Ink writes the frame as plain
 *   text and shows the cursor again), and waits for stdout to drain. Nothing live is left.
 * - If rendering throws, the reporter says so once and carries on as the plain reporter.
 */
import { render, type Instance } from "ink";
import { PassThrough } from "node:stream";
import type { PipeEvent } from "../../events.ts";
import { createPlainReporter } from "../plain-reporter.ts";
import { guardUnguardedSpans } from "../../util/signals.ts";
import { flush, type InterruptibleReporter } from "../reporter.ts";
import { createView, markInterrupting, reduce, type BuildView, type Detail } from "../view-model.ts";
import { App } from "./App.tsx";

/** Options of the Ink reporter. */
export interface InkReporterOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  color: boolean;
  detail: Detail;
  columns?: number;
  jobs: number;
  now: () => number;
  /** Redraw period for spinners; default 100 ms, 0 disables (tests). */
  tickMs?: number;
}

const SHOW_CURSOR = "\x1b[?25h";
const HIDE_CURSOR = "\x1b[?25l";

/** Creates the live Ink reporter. */
export function createInkReporter(options: InkReporterOptions): InterruptibleReporter {
  const { stdout, now } = options;
  let view: BuildView = createView({ detail: options.detail, jobs: options.jobs });
  let closed = false;
  let pending: NodeJS.Immediate | undefined;
  let fallback: InterruptibleReporter | undefined;

  // A stdin Ink cannot put in raw mode: no Ctrl-C swallowing, no keypress reading.
  const stdin = Object.assign(new PassThrough(), { isTTY: false });

  const tree = (isClosing: boolean) => (
    <App
      view={view}
      now={now}
      color={options.color}
      columns={options.columns}
      tickMs={options.tickMs}
      closed={isClosing}
    />
  );

  const instance: Instance = render(tree(false), {
    stdout: stdout as NodeJS.WriteStream,
    stderr: options.stderr as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    // Stray console.log calls (in-process recipes, the CLI) are printed above the live area.
    patchConsole: true,
  });
  const exited = instance.waitUntilExit().then(
    () => undefined,
    (error: unknown) => {
      if (closed) return;
      // A render error: Ink has unmounted. Continue with plain lines rather than go silent.
      const message = error instanceof Error ? error.message : String(error);
      stdout.write(`warning: the live view failed (${message}); continuing with plain output\n`);
      fallback = createPlainReporter({ stdout, color: options.color, detail: options.detail, now });
    },
  );

  // While a Pipelinefile loads (watch's reload), Ctrl-C ends pipe without running this code: the
  // cursor Ink hid is shown for that span, so the shell is never left without one.
  const tty = (stdout as NodeJS.WriteStream).isTTY === true;
  const unguard = guardUnguardedSpans({
    enter: () => void (tty && !closed && !fallback && stdout.write(SHOW_CURSOR)),
    leave: () => void (tty && !closed && !fallback && stdout.write(HIDE_CURSOR)),
  });

  const draw = (): void => {
    pending = undefined;
    if (!closed && !fallback) instance.rerender(tree(false));
  };
  const schedule = (): void => {
    pending ??= setImmediate(draw);
  };

  return {
    onEvent(event: PipeEvent) {
      if (closed) return;
      if (fallback) return fallback.onEvent(event);
      view = reduce(view, event, now());
      schedule();
    },
    noteInterrupt() {
      if (closed) return;
      if (fallback) return fallback.noteInterrupt();
      view = markInterrupting(view);
      schedule();
    },
    async close() {
      if (closed) return;
      closed = true;
      unguard();
      if (pending) clearImmediate(pending);
      pending = undefined;
      if (fallback) {
        await fallback.close();
        return;
      }
      try {
        instance.rerender(tree(true));
        instance.unmount();
        await exited;
      } finally {
        // Ink shows the cursor in unmount(); repeat it in case unmount threw half-way.
        if (tty) stdout.write(SHOW_CURSOR);
        await flush(stdout);
      }
    },
  };
}
