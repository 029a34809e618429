/**
 * A pool of worker threads for recipe functions: real CPU parallelism, and isolation (a recipe
 * that crashes, hangs or calls process.exit() fails only its own target; its worker is
 * replaced). Workers are created lazily and terminated by close(), so a recipe's dangling timer
 * never keeps pipe alive.
 */
import { constants, openSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import type { Worker } from "node:worker_threads";
import { outCost, OUTPUT_END, type Invocation, type InvocationResult, type WorkerMessage } from "./invocation.ts";
import { RecipeProcesses } from "./recipe-processes.ts";
import { outputClosed, whenOutputOpen } from "../util/output-gate.ts";

const builtin = createRequire(import.meta.url);

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  onLog?: (line: string) => void;
  onProgress?: (done: number, total?: number) => void;
  settle?: (r: InvocationResult) => void;
  /** The job's result, until its output has arrived. */
  result?: Extract<WorkerMessage, { type: "result" }>;
  /** End markers seen (one per job from each of stdout and stderr the recipe did not end, and from its children's FIFO). */
  ended: number;
  onOutputEnd: () => void;
  /** The FIFOs its recipes' children write into (child-stdio.ts), until each passed its end marker. */
  captures: Set<Socket>;
  /** Called when the last capture is released (a dead worker's job waits for that). */
  whenCaptured?: () => void;
}

/**
 * How long a dead worker's job waits for its children's FIFO to pass the end marker: it comes
 * at once unless the worker was terminated before writing it and a process it started still
 * holds the FIFO open.
 */
const CAPTURE_GRACE_MS = 1000;

export interface RunHooks {
  onLog: (line: string) => void;
  onProgress: (done: number, total?: number) => void;
  signal: AbortSignal;
  /** How long an aborted recipe may take to stop before its worker is terminated. */
  graceMs: number;
}

/**
 * A line from one of a job's streams (the worker's stdout or stderr, its children's FIFO) into
 * the job's log, up to the end marker the worker writes after each recipe; true (and counted)
 * at the marker.
 */
function takeLine(slot: Slot, line: string): boolean {
  const at = line.indexOf(OUTPUT_END);
  if (at < 0) {
    slot.onLog?.(line);
    return false;
  }
  if (at > 0) slot.onLog?.(line.slice(0, at));
  slot.ended++;
  return true;
}

export class WorkerPool {
  readonly #data: { entryUrl: string; root: string; pipelinefile: string };
  readonly #slots = new Set<Slot>();
  #closed = false;
  #processes: RecipeProcesses | undefined;
  /** Ids of the targets whose recipes this pool ran. */
  readonly ran = new Set<string>();

  /**
   * The processes this pool's recipes start (they are pipe's own children: see
   * recipe-processes.ts). Undefined until the first recipe runs, and without /proc.
   */
  get processes(): RecipeProcesses | undefined {
    return this.#processes;
  }

  constructor(data: { entryUrl: string; root: string; pipelinefile: string }) {
    this.#data = data;
  }

  #spawn(): Slot {
    // Loaded with the first TypeScript recipe: a build of shell recipes never needs them.
    const { Worker, MessageChannel, receiveMessageOnPort } = builtin("node:worker_threads") as typeof import("node:worker_threads");
    const { createInterface } = builtin("node:readline") as typeof import("node:readline");
    // What the worker sent and this thread has not taken yet, in bytes (WORKER_OUTPUT_LIMIT):
    // taking a message subtracts it and wakes the worker if it waits for room. Not at once but
    // on the next turn of the loop: node handles up to 1,000 queued messages in one go, and a
    // worker given room as each was taken refilled the queue as fast, so a recipe printing
    // forever kept this thread from its timers and signals (Ctrl-C did nothing with -v). A turn
    // now handles at most what was on its way when it began.
    const inFlight = new Int32Array(new SharedArrayBuffer(4));
    // [generation, ok]: how this thread answers a capture (child-stdio.ts), which the worker waits for.
    const captureAck = new Int32Array(new SharedArrayBuffer(8));
    let taken = 0;
    const giveRoom = () => {
      // pipe's own stdout is behind its reader: the worker gets no room until it drained, so a
      // recipe printing in a loop waits (util/output-gate.ts).
      if (outputClosed()) return whenOutputOpen(giveRoom);
      Atomics.sub(inFlight, 0, taken);
      taken = 0;
      Atomics.notify(inFlight, 0);
    };
    const took = (n: number) => {
      if (taken === 0) setImmediate(giveRoom);
      taken += n;
    };
    // The worker says everything on a port of its own, drained when it dies (recipe-worker.ts).
    const { port1: out, port2 } = new MessageChannel();
    const worker = new Worker(new URL("../run/recipe-worker.js", import.meta.url), { workerData: { ...this.#data, inFlight: inFlight.buffer, captureAck: captureAck.buffer, out: port2 }, transferList: [port2], stdout: true, stderr: true });
    const slot: Slot = { worker, ready: Promise.resolve(), busy: false, ended: 0, onOutputEnd: () => undefined, captures: new Set() };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type === "ready") resolve();
        else if (m.type === "load-error") reject(new Error(`the Pipelinefile failed to load in a recipe worker: ${m.message}`));
        else if (m.type === "out") {
          took(outCost(m.items));
          for (const it of m.items) {
            if (typeof it === "string") slot.onLog?.(it);
            else slot.onProgress?.(it[0], it[1]);
          }
        } else if (m.type === "capture") {
          const ok = this.#capture(slot, m.path, createInterface);
          Atomics.store(captureAck, 1, ok ? 1 : 0);
          Atomics.store(captureAck, 0, m.gen);
          Atomics.notify(captureAck, 0);
        } else if (m.type === "result") {
          // Settled once what the recipe printed has arrived too (see OUTPUT_END).
          slot.result = m;
          slot.onOutputEnd();
        }
      };
      out.on("message", onMessage);
      out.unref();
      const fail = (message: string) => {
        // What it said before it died is in the port still: taken first, so that its lines
        // are in the log and the failure before the message saying it died.
        for (let m = receiveMessageOnPort(out); m; m = receiveMessageOnPort(out)) onMessage(m.message as WorkerMessage);
        out.close();
        this.#slots.delete(slot);
        reject(new Error(message));
        // What its children wrote before it died may still be in their FIFO (the worker's exit
        // handler marked its end): the job settles once that is read (a review found the last
        // lines of a recipe that called process.exit() lost).
        this.#afterCaptures(slot, () => {
          const settle = slot.settle;
          slot.settle = undefined;
          settle?.({ kind: "error", message, readParams: [] });
        });
      };
      worker.on("error", (e) => fail(`recipe crashed: ${e?.stack ?? e}`));
      worker.on("exit", (code) => fail(`recipe ended its worker thread (process.exit(${code})?)`));
    });
    slot.ready.catch(() => undefined);
    // What the recipe printed comes as log messages (recipe-worker.ts); what reaches the
    // worker's stdout and stderr some other way comes through them, apart from its result: the
    // result settles the job only once each stream has passed the end marker the worker wrote
    // after the recipe (lines still on their way were dropped: a recipe printing 2,000 lines
    // kept one in its log).
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        if (takeLine(slot, line)) slot.onOutputEnd();
      });
    }
    slot.onOutputEnd = () => {
      const m = slot.result;
      if (!m || slot.ended < m.markers) return;
      slot.result = undefined;
      slot.ended -= m.markers;
      const settle = slot.settle;
      slot.settle = undefined;
      if (!m.retire) {
        slot.busy = false;
        settle?.(m.result);
        return;
      }
      // What the recipe left running (a timer that would write its outputs later) must be
      // gone before pipe checks and publishes them: the worker goes first.
      this.#slots.delete(slot);
      this.#dropCaptures(slot);
      worker.removeAllListeners("exit");
      worker.on("exit", () => out.close());
      void worker.terminate().then(
        () => settle?.(m.result),
        () => settle?.(m.result),
      );
    };
    this.#slots.add(slot);
    return slot;
  }

  /**
   * Opens the FIFO a recipe's children write into (child-stdio.ts) and reads it into the
   * recipe's log, line by line, until its end marker; false when it cannot be opened. Its name
   * is removed at once (a stale one is swept with .pipe/staging). Read here, not in the worker,
   * so that lines come while the worker waits in spawnSync; held up while pipe's own stdout is
   * behind (the child then waits, as a shell recipe's does).
   */
  #capture(slot: Slot, path: string, createInterface: typeof import("node:readline").createInterface): boolean {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return false;
    } finally {
      try {
        unlinkSync(path);
      } catch {
        // already gone: nothing to sweep
      }
    }
    const { Socket } = builtin("node:net") as typeof import("node:net");
    const socket = new Socket({ fd, readable: true, writable: false });
    slot.captures.add(socket);
    let ended = false;
    const rl = createInterface({ input: socket, crlfDelay: Infinity });
    rl.on("line", (line) => {
      // After the marker: a process that outlived its recipe. Its lines are no recipe's; read
      // on (and dropped) so that it never waits on a full FIFO.
      if (ended) return;
      if (takeLine(slot, line)) {
        ended = true;
        this.#release(slot, socket);
        slot.onOutputEnd();
      } else if (outputClosed()) {
        rl.pause();
        whenOutputOpen(() => rl.resume());
      }
    });
    socket.on("error", () => this.#release(slot, socket));
    socket.on("close", () => this.#release(slot, socket));
    return true;
  }

  /** A FIFO no recipe waits for any more: it no longer keeps pipe running. */
  #release(slot: Slot, socket: Socket): void {
    slot.captures.delete(socket);
    socket.unref();
    if (slot.captures.size === 0) slot.whenCaptured?.();
  }

  /**
   * Runs `fn` once every capture of `slot` is released, or after CAPTURE_GRACE_MS (then releasing
   * them). Once per slot: a dead worker's second event (error, then exit) finds its job settled.
   */
  #afterCaptures(slot: Slot, fn: () => void): void {
    if (slot.captures.size === 0) return fn();
    if (slot.whenCaptured) return;
    const timer = setTimeout(() => this.#dropCaptures(slot), CAPTURE_GRACE_MS);
    slot.whenCaptured = () => {
      slot.whenCaptured = undefined;
      clearTimeout(timer);
      fn();
    };
  }

  #dropCaptures(slot: Slot): void {
    for (const socket of [...slot.captures]) this.#release(slot, socket);
  }

  /** Runs one invocation on an idle worker. */
  async run(inv: Invocation, hooks: RunHooks): Promise<InvocationResult> {
    if (this.#closed) return { kind: "error", message: "interrupted", readParams: [] };
    // Before the first recipe: pipe's children now are its own (the lock's supervisor, esbuild).
    if (this.ran.size === 0) this.#processes = RecipeProcesses.start();
    this.ran.add(inv.id);
    let slot = [...this.#slots].find((s) => !s.busy);
    if (!slot) slot = this.#spawn();
    slot.busy = true;
    try {
      await slot.ready;
    } catch (e) {
      return { kind: "error", message: (e as Error).message, readParams: [] };
    }
    const s = slot;
    s.onLog = hooks.onLog;
    s.onProgress = hooks.onProgress;
    return new Promise<InvocationResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        s.worker.postMessage({ type: "abort" });
        timer = setTimeout(() => {
          this.#slots.delete(s);
          void s.worker.terminate();
        }, hooks.graceMs);
      };
      s.settle = (r) => {
        clearTimeout(timer);
        hooks.signal.removeEventListener("abort", onAbort);
        s.onLog = undefined;
        s.onProgress = undefined;
        resolve(r);
      };
      if (hooks.signal.aborted) onAbort();
      else hooks.signal.addEventListener("abort", onAbort, { once: true });
      s.worker.postMessage({ type: "run", invocation: inv });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#slots];
    this.#slots.clear();
    for (const s of all) this.#dropCaptures(s);
    await Promise.all(all.map((s) => s.worker.terminate().catch(() => 0)));
  }
}
