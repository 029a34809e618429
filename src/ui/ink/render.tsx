/**
 * The Ink reporter: folds events into a BuildView and re-renders <App> with it.
 * Loaded only through `await import()` from ../index.ts, so the other reporters never pay
 * for Ink, React and Yoga.
 *
 * Terminal handling (see /work/shared/ecosystem.md §3):
 * - Ink gets a dummy, non-TTY stdin and no component uses `useInput`, so the terminal stays
 *   in cooked mode and Ctrl-C remains a SIGINT for the CLI (and the wrapper in ../index.ts).
 *   `exitOnCtrlC` is false as well, for good measure.
 * - Frames are throttled: events are folded into the view (cheap, O(1) each) and drawn at most
 *   once per `frameMs` (33 ms, about 30 frames a second). A frame renders the whole live area
 *   and computes the ETA over the plan, a few milliseconds for 10,000 targets: drawn once per
 *   event, as before, a build of 10,000 cheap targets spent most of its time drawing. Events of
 *   one tick are still drawn together (setImmediate) when a frame is due.
 * - A frame is also drawn from `onEvent` itself once a scheduled one is `STARVED_FRAMES` late:
 *   the core may emit thousands of events without letting timers or immediates run (10,000
 *   restores from the cache), and the screen must keep moving meanwhile; without this the
 *   first frame of such a build came at its end, 9.7 s in.
 * - A frame's writes (Ink writes the begin/end of a synchronised update, the erase, the new
 *   static lines and the live area separately) go to the terminal as one write: writes to a
 *   terminal are synchronous, and five per frame cost more than the frame's rendering when
 *   the terminal (or `script`, tmux) is slow to read.
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
import { App, isAnimated } from "./App.tsx";

/** Options of the Ink reporter. */
export interface InkReporterOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  color: boolean;
  detail: Detail;
  columns?: number;
  jobs: number;
  now: () => number;
  /** Redraw period for spinners while nothing else happens; default 100 ms, 0 disables (tests). */
  tickMs?: number;
  /** Least time between two frames, in ms of `now`; default 33. */
  frameMs?: number;
}

/** A scheduled frame this many frame periods late is drawn at once, from the next event. */
const STARVED_FRAMES = 3;

const SHOW_CURSOR = "\x1b[?25h";
const HIDE_CURSOR = "\x1b[?25l";

/** Creates the live Ink reporter. */
export function createInkReporter(options: InkReporterOptions): InterruptibleReporter {
  const { stdout, now } = options;
  let view: BuildView = createView({ detail: options.detail, jobs: options.jobs });
  let closed = false;
  /** Cancels the scheduled frame; undefined when none is scheduled. */
  let pending: (() => void) | undefined;
  /** `now()` when the last frame was drawn. */
  let lastDrawAt = -Infinity;
  /** `now()` when the scheduled frame should have been drawn. */
  let dueAt = 0;
  const frameMs = Math.max(0, options.frameMs ?? 33);
  const tickMs = options.tickMs ?? 100;
  let fallback: InterruptibleReporter | undefined;

  // A stdin Ink cannot put in raw mode: no Ctrl-C swallowing, no keypress reading.
  const stdin = Object.assign(new PassThrough(), { isTTY: false });

  const tree = (isClosing: boolean) => (
    <App
      view={view}
      now={now}
      color={options.color}
      columns={options.columns}
      tickMs={0}
      closed={isClosing}
    />
  );

  const out = coalescingStream(stdout);
  const instance: Instance = render(tree(false), {
    stdout: out.stream,
    stderr: options.stderr as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    // Stray console.log calls (in-process recipes, the CLI) are printed above the live area.
    patchConsole: true,
  });
  // A render error: continue with plain lines rather than go silent.
  const fail = (error: unknown): void => {
    if (closed || fallback) return;
    const message = error instanceof Error ? error.message : String(error);
    stdout.write(`warning: the live view failed (${message}); continuing with plain output\n`);
    fallback = createPlainReporter({ stdout, color: options.color, detail: options.detail, now });
  };
  // Ink unmounts on an error in a component and rejects this.
  const exited = instance.waitUntilExit().then(() => undefined, fail);

  // While a Pipelinefile loads (watch's reload), Ctrl-C ends pipe without running this code: the
  // cursor Ink hid is shown for that span, so the shell is never left without one.
  const tty = (stdout as NodeJS.WriteStream).isTTY === true;
  const unguard = guardUnguardedSpans({
    enter: () => void (tty && !closed && !fallback && stdout.write(SHOW_CURSOR)),
    leave: () => void (tty && !closed && !fallback && stdout.write(HIDE_CURSOR)),
  });

  const draw = (): void => {
    pending?.();
    pending = undefined;
    if (closed || fallback) return;
    lastDrawAt = now();
    // A frame may be drawn from onEvent, inside the core's loop: an error must not reach it.
    try {
      out.batch(() => instance.rerender(tree(false)));
    } catch (error) {
      fail(error);
      try {
        instance.unmount();
      } catch {
        // Already unmounted, or unable to: the plain reporter carries on either way.
      }
    }
  };
  const schedule = (): void => {
    const t = now();
    if (pending) {
      if (t - dueAt >= STARVED_FRAMES * Math.max(frameMs, 1)) draw();
      return;
    }
    // At most one frame period away, even if the clock went backwards.
    const wait = Math.min(frameMs, lastDrawAt + frameMs - t);
    dueAt = t + Math.max(0, wait);
    if (wait > 0) {
      const timer = setTimeout(draw, wait);
      timer.unref();
      pending = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(draw);
      pending = () => clearImmediate(immediate);
    }
  };

  // Spinners and elapsed times move on the same frame clock as events: a tick only asks for a
  // frame, which a busy build draws anyway (App's own ticker would add frames on top).
  const ticker = tickMs > 0 ? setInterval(() => !closed && !fallback && isAnimated(view) && schedule(), tickMs) : undefined;
  ticker?.unref();

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
      if (ticker) clearInterval(ticker);
      pending?.();
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

type WriteCallback = (error?: Error | null) => void;

/**
 * `stdout` as Ink should see it: the same stream (size, TTY-ness, resize events), except that
 * the writes made inside `batch(fn)` are joined and written once when `fn` returns. Writes
 * outside a batch (Ink's throttled redraws, patched console output) pass straight through.
 */
function coalescingStream(stdout: NodeJS.WritableStream): { stream: NodeJS.WriteStream; batch: (fn: () => void) => void } {
  let held: string[] | undefined;
  let callbacks: WriteCallback[] = [];
  function write(chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (typeof encoding === "function") [callback, encoding] = [encoding, undefined];
    if (held === undefined) return stdout.write(chunk as string, encoding as BufferEncoding, callback);
    held.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    if (callback) callbacks.push(callback);
    return true;
  }
  const stream = new Proxy(stdout, {
    get(target, property) {
      if (property === "write") return write;
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as NodeJS.WriteStream;
  const batch = (fn: () => void): void => {
    if (held !== undefined) return fn();
    held = [];
    try {
      fn();
    } finally {
      const text = held.join("");
      const done = callbacks;
      held = undefined;
      callbacks = [];
      if (text !== "") stdout.write(text, done.length === 0 ? undefined : (error) => done.forEach((c) => c(error)));
      else for (const c of done) c();
    }
  };
  return { stream, batch };
}
