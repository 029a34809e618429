/**
 * A Pipelinefile stuck in an endless synchronous loop blocks pipe's main thread: the load's
 * timeout (a timer) never fires and the signal handlers never run, so pipe would spin forever and
 * ignore Ctrl-C (reliability.md C5). A tiny worker thread waits, off the main thread, for the load
 * to end; when it has not ended a little after the load's own timeout, it stops the JavaScript
 * running on the main thread through the inspector (`Runtime.terminateExecution`). The overdue
 * timeout then fires and pipe reports the Pipelinefile as it reports a top-level await that never
 * settles: exit 2, naming the file.
 *
 * The worker starts in about 3 ms of main-thread time and does nothing else. Without an
 * inspector (a node built without one), it writes the message itself and kills pipe.
 */
import { createRequire } from "node:module";
import type { Worker } from "node:worker_threads";

/** Shared state: LOADING until the main thread says DONE, or the worker claims it (FIRED). */
const LOADING = 0;
const DONE = 1;
const FIRED = 2;

const SOURCE = `
const { workerData } = require("node:worker_threads");
const state = new Int32Array(workerData.state);
if (Atomics.wait(state, 0, ${LOADING}, workerData.ms) === "timed-out" && Atomics.compareExchange(state, 0, ${LOADING}, ${FIRED}) === ${LOADING}) {
  let session;
  try {
    const inspector = require("node:inspector");
    session = new inspector.Session();
    session.connectToMainThread();
  } catch {
    require("node:fs").writeSync(2, workerData.message + "\\n");
    process.kill(process.pid, "SIGKILL");
  }
  session.post("Runtime.terminateExecution", () => session.disconnect());
}
`;

export interface Watchdog {
  /** The load ended (either way): the worker exits without doing anything. */
  stop(): void;
}

/**
 * Watches a load that should end within `ms`. `message` is printed only when pipe has to be
 * killed (no inspector).
 */
export function startWatchdog(ms: number, message: string): Watchdog {
  const state = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker | undefined;
  try {
    // Loaded here: a build the no-op snapshot vouched for runs no watchdog and needs no threads.
    const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
    worker = new Worker(SOURCE, { eval: true, workerData: { state: state.buffer, ms, message }, stdout: true, stderr: true, env: {} });
    worker.unref();
    worker.on("error", () => undefined);
  } catch {
    // No worker threads: the load is guarded by its timer alone (which an async hang still trips).
  }
  return {
    stop() {
      if (!worker) return;
      Atomics.compareExchange(state, 0, LOADING, DONE);
      Atomics.notify(state, 0);
    },
  };
}
