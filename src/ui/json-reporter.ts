/**
 * The NDJSON reporter: each event becomes exactly one line on stdout, `JSON.stringify(event)`
 * followed by `\n`, and nothing else is ever written (no banner, no summary of its own, no
 * colour). `--quiet` and `--verbose` do not apply: machines get every event and filter (while
 * pipe stops with its reader far behind, `log` events are left out: a warning counts them).
 * Field names are the contract documented in src/events.ts.
 */
import type { PipeEvent } from "../events.ts";
import { flush, outputBacklog, type InterruptibleReporter } from "./reporter.ts";

/** Serialises one event as one NDJSON line (JSON escapes newlines inside strings, so it is one line). */
export function toJsonLine(event: PipeEvent): string {
  // A build that changed a few targets of 10,000 reports the rest up to date: the same line
  // but the id, written here without the generic stringify (12 ms -> 3 ms for 10,000). The
  // same text as JSON.stringify gives: the shape is checked key by key, in order.
  if (event.type === "target-finished" && event.status === "up-to-date" && event.durationMs === 0 && event.reason === "up to date" && isPlainUpToDate(event)) {
    return `{"type":"target-finished","target":${JSON.stringify(event.target)},"status":"up-to-date","durationMs":0,"reason":"up to date"}\n`;
  }
  return `${JSON.stringify(event)}\n`;
}

const UP_TO_DATE_KEYS = ["type", "target", "status", "durationMs", "reason"];

function isPlainUpToDate(event: object): boolean {
  const keys = Object.keys(event);
  return keys.length === UP_TO_DATE_KEYS.length && keys.every((k, i) => k === UP_TO_DATE_KEYS[i]);
}

/** How long a line may wait for others to share its write. */
const BATCH_MS = 10;

/** Creates the NDJSON reporter writing to `stdout`. */
export function createJsonReporter(options: { stdout: NodeJS.WritableStream }): InterruptibleReporter {
  const { stdout } = options;
  let closed = false;
  // Lines are batched for a few milliseconds (or 64 KiB): a 10,000-target no-op emits its
  // events in one synchronous pass, and one write per event cost more than the pass itself;
  // cheap recipes finish one per turn of the event loop, so a turn was not enough to batch
  // those. The delay is far below what a person or a test waiting for a line would notice.
  let buffer = "";
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer) {
      const out = buffer;
      buffer = "";
      stdout.write(out);
    }
  };
  const add = (line: string) => {
    buffer += line;
    if (buffer.length > 65536) drain();
    else timer ??= setTimeout(drain, BATCH_MS).unref();
  };
  // Far behind its reader, stdout holds up the recipes' output (reporter.ts outputBacklog); only
  // while pipe stops are `log` events left out instead, and a warning event says how many.
  const backlog = outputBacklog(stdout, () => buffer.length, (n) =>
    add(toJsonLine({ type: "warning", message: `${n.toLocaleString("en-US")} line${n === 1 ? "" : "s"} of recipe output left out of these events: pipe was stopping and the reader of its output was behind (every line is in the targets' logs, .pipe/logs/)` })),
  );
  return {
    onEvent(event) {
      if (closed) return;
      if (event.type === "log" && !backlog.admit()) return;
      if (event.type === "build-finished") backlog.note();
      add(toJsonLine(event));
    },
    noteInterrupt() {
      // Nothing: the core reports the interruption with its own events (build-finished.interrupted).
    },
    async close() {
      if (closed) return;
      backlog.stop();
      backlog.note();
      drain();
      closed = true;
      await flush(stdout);
    },
  };
}
