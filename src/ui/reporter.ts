/**
 * Small pieces shared by the three reporters. No React or Ink here: the plain and JSON
 * reporters import this module and must start fast.
 */
import type { Reporter } from "../events.ts";
import { closeOutput, openOutput, outputClosed, releaseOutput } from "../util/output-gate.ts";

/** A reporter that can also be told that Ctrl-C was pressed. */
export interface InterruptibleReporter extends Reporter {
  /** Shows that the build is being interrupted; the core then sends the final events. */
  noteInterrupt(): void;
}

/** Resolves once everything written so far has been handed to the stream (or the stream is gone). */
export function flush(stream: NodeJS.WritableStream): Promise<void> {
  const s = stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  if (s.destroyed || s.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      s.write("", () => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * What may wait in stdout for its reader (`pipe build -v | tee ci.log`, a `--json` consumer)
 * before the readers of recipe output pause (util/output-gate.ts): stdout to a pipe buffers in
 * this process without bound, so a chatty recipe behind a reader that fell behind grew pipe by
 * its whole output (697 MB for a million lines).
 */
export const BACKLOG_LIMIT = 8 * 1024 * 1024;

/** A stdout may be a bare `{ write }` (tests, embedders): its events are optional here. */
type Drains = {
  once?: (event: "drain" | "close", fn: () => void) => unknown;
  off?: (event: "drain" | "close", fn: () => void) => unknown;
  writableLength?: number;
};

/**
 * A reporter's side of the output gate. Past BACKLOG_LIMIT waiting (`pending`: what the
 * reporter holds itself, not yet written) it closes the gate, so the readers of recipe output
 * pause until stdout has drained; every line still goes out. Once the gate is released for good
 * (an interrupt: stopping must not wait for a reader; stdout closed), lines past the limit are
 * left out instead, counted, and said (`say(n)`) once stdout has drained, or when `note` is
 * called (before the summary). Every line is in the target's log either way.
 */
export function outputBacklog(stdout: NodeJS.WritableStream, pending: () => number, say: (n: number) => void): { admit(): boolean; note(): void; stop(): void } {
  const s = stdout as Drains;
  let leftOut = 0;
  /** A "drain" listener is waiting (one at most: `pipe watch` runs build after build). */
  let armed = false;
  const note = (): void => {
    if (leftOut === 0) return;
    const n = leftOut;
    leftOut = 0;
    say(n);
  };
  const onDrain = (): void => {
    armed = false;
    openOutput();
    note();
  };
  // A stdout that closed never drains: the readers must not wait for it.
  const onClose = (): void => releaseOutput();
  s.once?.("close", onClose);
  const arm = (): void => {
    if (armed) return;
    armed = true;
    s.once?.("drain", onDrain);
  };
  return {
    /** Whether a recipe output line may be written now (false: it was counted as left out). */
    admit(): boolean {
      if (leftOut === 0 && (outputClosed() || pending() + (s.writableLength ?? 0) <= BACKLOG_LIMIT)) return true;
      arm();
      if (leftOut === 0 && closeOutput()) return true;
      leftOut++;
      return false;
    },
    note,
    stop(): void {
      if (armed) s.off?.("drain", onDrain);
      s.off?.("close", onClose);
      armed = false;
      openOutput();
    },
  };
}
