/**
 * Small pieces shared by the three reporters. No React or Ink here: the plain and JSON
 * reporters import this module and must start fast.
 */
import type { Reporter } from "../events.ts";

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
