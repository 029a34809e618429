/**
 * Worker-thread entry: evaluates recipe functions off the main thread. Each worker imports the
 * compiled Pipelinefile once, then runs one invocation at a time. A recipe that throws, hangs or
 * calls process.exit() takes down only this worker (the pool fails that target and replaces
 * the worker). A recipe that returns `sh\`...\`` hands the command back to the main thread,
 * which runs it in its own process group.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { promisify } from "node:util";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { nameDeclarations, type Decl } from "../load/load.ts";
import { lineCost, LOG_BATCH, MESSAGE_COST, OUTPUT_END, PROGRESS_COST, WORKER_OUTPUT_LIMIT, type Invocation, type InvocationResult, type OutItem, type WorkerMessage } from "./invocation.ts";
import { callRecipe } from "./call-recipe.ts";
import { LineSplitter } from "../util/line-splitter.ts";
import { setSiteCapture } from "../api/site.ts";
import { routeChildStdio } from "./child-stdio.ts";
import { join } from "node:path";

/**
 * Everything this worker says goes through one port of its own (the pool's end drains it
 * synchronously when the thread dies: lines sent just before process.exit() or an uncaught
 * error otherwise raced the worker's error event, and were lost). Requests come on parentPort.
 */
const port = workerData.out as MessagePort;
let decls: Map<string, Decl> | undefined;
let current: AbortController | undefined;

/**
 * What this worker sent that the pool has not taken yet, in bytes (WORKER_OUTPUT_LIMIT), shared
 * with it: the pool subtracts what it takes and wakes this thread.
 */
const inFlight = new Int32Array(workerData.inFlight as SharedArrayBuffer);

/**
 * Counts `n` more bytes about to be posted. While what was posted and not yet taken is past the
 * limit, first waits until the pool has taken half of it: the recipe (a loop printing lines)
 * goes at pipe's pace. Only posted messages count while waiting, so a wait always ends when
 * the pool takes them (a review found a 5 MB line counted before it was posted waiting for
 * itself). The wait has a timeout only so that a terminated worker notices.
 */
function owe(n: number): void {
  if (Atomics.load(inFlight, 0) > WORKER_OUTPUT_LIMIT) {
    for (let v = Atomics.load(inFlight, 0); v > WORKER_OUTPUT_LIMIT / 2; v = Atomics.load(inFlight, 0)) Atomics.wait(inFlight, 0, v, 100);
  }
  Atomics.add(inFlight, 0, n);
}

/**
 * What the recipe said and pipe does not have yet, in order: lines, and progress as
 * [done, total] (a progress right after another replaces it: only the newest counts). Sent as
 * one message, so that a loop printing lines sends them in batches:
 *   - a ctx.log line at once, as before the batches: a recipe that logs and then computes for
 *     a minute without yielding shows the line (what it printed before goes first);
 *   - the first printed line of a turn at once, the ones after it at the end of the turn or
 *     when they reach LOG_BATCH (console.log was not shown during such a computation before);
 *   - a progress at once when the last one went PROGRESS_MS ago, else with the next send (a
 *     tight loop calling it per item sends a few per second);
 *   - before any other message, and when the thread dies (process.exit, an error nothing
 *     caught: the lines that explain it, a last line without its newline too).
 */
let items: OutItem[] = [];
let itemsCost = 0;
let queued = false;
let progressAt = -Infinity;
const PROGRESS_MS = 20;

function flush(): void {
  if (items.length === 0) return;
  const m: WorkerMessage = { type: "out", items };
  const cost = itemsCost + MESSAGE_COST;
  items = [];
  itemsCost = 0;
  owe(cost);
  port.postMessage(m);
}

/** Sends at the end of this turn; now if `now`, if it is the first of the turn, or at LOG_BATCH. */
function soon(now: boolean): void {
  if (!queued) {
    queued = true;
    queueMicrotask(() => {
      queued = false;
      flush();
    });
    now = true;
  }
  if (now || itemsCost >= LOG_BATCH) flush();
}

/** A printed line (console.log, process.stdout.write), or with `now` a ctx.log line (sent at once). */
function sendLine(line: string, now = false): void {
  items.push(line);
  itemsCost += lineCost(line);
  soon(now);
}

const sendLog = (line: string) => sendLine(line, true);

function sendProgress(done: number, total?: number): void {
  const p: OutItem = total === undefined ? [done] : [done, total];
  if (items.length && typeof items[items.length - 1] !== "string") items[items.length - 1] = p;
  else {
    items.push(p);
    itemsCost += PROGRESS_COST;
  }
  const at = performance.now();
  const now = at - progressAt >= PROGRESS_MS;
  if (now) progressAt = at;
  soon(now);
}

/** Every message goes after what the recipe said before it. */
function send(m: WorkerMessage): void {
  flush();
  port.postMessage(m);
}

// A recipe that ends the thread (process.exit, an error nothing caught) ends it right after
// its last lines: they are sent first. A monitor, so that an uncaught error still ends the thread.
process.on("exit", () => {
  children.end();
  endPrinted();
});
process.on("uncaughtExceptionMonitor", () => endPrinted());

/**
 * Write callbacks (console.log passes the same one with every line), called on a later turn as
 * node's streams do: in a microtask, a recipe awaiting them in a loop never let timers or pipe's
 * abort message in (a review). Repeats of one function are counted, not queued: a loop that
 * never yields queued a million (300 MB).
 */
let callbacks: { fn: () => void; n: number }[] = [];
function later(fn: () => void): void {
  const last = callbacks[callbacks.length - 1];
  if (last && last.fn === fn) last.n++;
  else if (callbacks.push({ fn, n: 1 }) === 1) setImmediate(runCallbacks);
}
function runCallbacks(): void {
  const now = callbacks;
  callbacks = [];
  for (const { fn, n } of now) for (let k = 0; k < n; k++) fn();
}

/**
 * What the recipe prints (console.log, process.stdout.write) goes to pipe as lines, like
 * ctx.log, and counts against the same limit. Not through the worker's own stdout, whose
 * stream buffers without bound in this thread: a loop never yields for it to send.
 * A line the recipe did not end is sent when it returns (endPrinted). The streams themselves
 * still carry what reaches them another way (a write function taken before this), followed by
 * OUTPUT_END after each recipe unless the recipe ended them (`pipeline(src, process.stdout)`).
 */
const streams = [process.stdout, process.stderr];
const streamWrites = streams.map((stream) => stream.write.bind(stream));
/** pipe's own writers of the two streams (what process.stdout/stderr.write are made below). */
const writers: ((chunk: Chunk) => void)[] = [];
const printed = streams.map((stream) => {
  const lines = new LineSplitter((line) => sendLine(line));
  const write = function (chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof chunk === "string") {
      if (typeof encoding !== "string" || encoding === "utf8" || encoding === "utf-8") lines.text(chunk);
      else lines.push(Buffer.from(chunk, encoding as BufferEncoding));
    } else if (chunk instanceof Uint8Array) lines.push(chunk);
    if (typeof done === "function") later(done as () => void);
    return true;
  };
  stream.write = write as typeof stream.write;
  writers.push((chunk) => void write(chunk));
  return () => lines.end();
});

/**
 * `fs.writeSync(1, ...)`, `fs.write(2, ...)` and their kin: a recipe (or a logger it uses:
 * pino's sonic-boom writes to the descriptor itself; a WriteStream on fd 1 starts with writev)
 * writing to the process's standard output or error. This thread shares the process's
 * descriptors, so those bytes went straight to pipe's own stdout: into the NDJSON of --json,
 * across the live view, and into no log. They go to pipe's own line writers (not to whatever
 * process.stdout.write is now: a recipe that makes it call fs.writeSync(1) would loop), and
 * count as written. Arguments node would refuse (out of range) go to the real call, which
 * throws as before; other descriptors are the real calls. Callbacks come on a later turn, as
 * `later` says why. `import { writeSync } from "node:fs"` sees the same (syncBuiltinESMExports).
 * A child process started with stdio "inherit" gets a FIFO in their place (child-stdio.ts).
 */
type Chunk = string | Uint8Array;
/** The bytes a write of `data` with these arguments writes, or undefined to let node decide (and throw). */
function chunkOf(data: unknown, a: unknown, b: unknown): Chunk | undefined {
  if (typeof data === "string") {
    if (typeof b !== "string" || b === "utf8" || b === "utf-8") return data;
    return Buffer.isEncoding(b) ? Buffer.from(data, b) : undefined;
  }
  if (!ArrayBuffer.isView(data)) return undefined;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // (buffer, offset, length, position) or (buffer, { offset, length, position })
  const o = a !== null && typeof a === "object" ? (a as { offset?: unknown; length?: unknown }) : { offset: a, length: b };
  const offset = o.offset ?? 0;
  const length = o.length ?? bytes.byteLength - (offset as number);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
  if ((offset as number) < 0 || (length as number) < 0 || (offset as number) + (length as number) > bytes.byteLength) return undefined;
  return bytes.subarray(offset as number, (offset as number) + (length as number));
}
const sizeOf = (c: Chunk) => (typeof c === "string" ? Buffer.byteLength(c) : c.byteLength);
const isStd = (fd: unknown): fd is 1 | 2 => fd === 1 || fd === 2;
{
  const real = { writeSync: fs.writeSync, write: fs.write, writevSync: fs.writevSync, writev: fs.writev, writeFileSync: fs.writeFileSync, appendFileSync: fs.appendFileSync };
  const call = <F>(f: F, args: IArguments) => (f as (...a: unknown[]) => unknown).apply(fs, args as unknown as unknown[]);
  const put = (fd: 1 | 2, chunk: Chunk) => writers[fd - 1](chunk);
  fs.writeSync = function (fd: number, data: unknown, a?: unknown, b?: unknown): number {
    const chunk = isStd(fd) ? chunkOf(data, a, b) : undefined;
    if (chunk === undefined) return call(real.writeSync, arguments) as number;
    put(fd as 1 | 2, chunk);
    return sizeOf(chunk);
  } as typeof fs.writeSync;
  /** Puts each vector (writev); the bytes written. */
  const putAll = (fd: 1 | 2, vs: Uint8Array[]) => vs.reduce((n, v) => (put(fd, v), n + v.byteLength), 0);
  /** An fs.write-like function (callback last) whose promisified form resolves to `{ bytesWritten, [key] }`, as node's own does. */
  const withPromise = <F extends (...args: never[]) => void>(f: F, key: "buffer" | "buffers"): F =>
    Object.defineProperty(f, promisify.custom, {
      value: (...args: unknown[]) => new Promise((resolve, reject) => (f as unknown as (...a: unknown[]) => void)(...args, (err: unknown, bytesWritten: number, data: unknown) => (err ? reject(err) : resolve({ bytesWritten, [key]: data })))),
    });
  fs.write = withPromise(function (fd: number, data: unknown, ...rest: unknown[]): void {
    const cb = rest.at(-1);
    const chunk = isStd(fd) && typeof cb === "function" ? chunkOf(data, rest.length > 1 ? rest[0] : undefined, rest.length > 2 ? rest[1] : undefined) : undefined;
    if (chunk === undefined) return void call(real.write, arguments);
    put(fd as 1 | 2, chunk);
    const n = sizeOf(chunk);
    later(() => (cb as (...args: unknown[]) => void)(null, n, data));
  }, "buffer") as unknown as typeof fs.write;
  const vectors = (list: unknown): Uint8Array[] | undefined => (Array.isArray(list) && list.every((v) => ArrayBuffer.isView(v)) ? list.map((v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : undefined);
  fs.writevSync = function (fd: number, list: unknown): number {
    const vs = isStd(fd) ? vectors(list) : undefined;
    return vs === undefined ? (call(real.writevSync, arguments) as number) : putAll(fd as 1 | 2, vs);
  } as typeof fs.writevSync;
  fs.writev = withPromise(function (fd: number, list: unknown, ...rest: unknown[]): void {
    const cb = rest.at(-1);
    const vs = isStd(fd) && typeof cb === "function" ? vectors(list) : undefined;
    if (vs === undefined) return void call(real.writev, arguments);
    const n = putAll(fd as 1 | 2, vs);
    later(() => (cb as (...args: unknown[]) => void)(null, n, list));
  }, "buffers") as unknown as typeof fs.writev;
  // writeFileSync(1, ...) and appendFileSync(2, ...): a descriptor given as the file.
  const onDescriptor = <F>(realFn: F): F =>
    function (file: unknown, data: unknown, options?: unknown): void {
      const enc = typeof options === "string" ? options : options !== null && typeof options === "object" ? (options as { encoding?: unknown }).encoding : undefined;
      const chunk = isStd(file) ? chunkOf(data, undefined, typeof enc === "string" ? enc : undefined) : undefined;
      if (chunk === undefined) return void call(realFn, arguments);
      put(file as 1 | 2, chunk);
    } as F;
  fs.writeFileSync = onDescriptor(real.writeFileSync);
  fs.appendFileSync = onDescriptor(real.appendFileSync);
  syncBuiltinESMExports();
}

function endPrinted(): void {
  for (const end of printed) end();
  flush();
}

/**
 * Children the recipe starts with stdout/stderr inherited write into a FIFO the main thread
 * reads (child-stdio.ts). Its path goes there in order with what the recipe said; this thread
 * waits until the main thread has opened it ([generation, ok], shared; it answers at once).
 */
const captureAck = new Int32Array(workerData.captureAck as SharedArrayBuffer);
let captureGen = 0;
const children = routeChildStdio(join(workerData.root as string, ".pipe", "staging"), (path) => {
  const gen = ++captureGen;
  send({ type: "capture", path, gen });
  // The wait has a timeout only so that a terminated worker notices.
  while (Atomics.load(captureAck, 0) !== gen) Atomics.wait(captureAck, 0, Atomics.load(captureAck, 0), 100);
  return Atomics.load(captureAck, 1) === 1;
});

/** Writes OUTPUT_END to each stream still open; returns how many it wrote. */
function writeMarkers(): number {
  let n = 0;
  streams.forEach((stream, i) => {
    if (stream.writableEnded || stream.destroyed) return;
    streamWrites[i](OUTPUT_END + "\n");
    n++;
  });
  return n;
}

async function init(): Promise<void> {
  process.setSourceMapsEnabled(true);
  // Recipes need no declaration sites (only the main thread's error messages do).
  setSiteCapture(false);
  try {
    const ns = (await import(workerData.entryUrl as string)) as Record<string, unknown>;
    const spec = nameDeclarations(workerData.root as string, workerData.pipelinefile as string, ns, { entryUrl: workerData.entryUrl, dir: "", modules: {}, compiledNow: false, sources: [] });
    decls = spec.decls;
    send({ type: "ready" });
  } catch (e) {
    send({ type: "load-error", message: (e as Error).message });
  }
}

/**
 * What keeps this thread's event loop busy, by kind and count (process.getActiveResourcesInfo:
 * pending file operations, ref'd timers, sockets, child processes, message ports).
 */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of process.getActiveResourcesInfo()) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** The kinds of which `now` holds more than `base` (what the recipe started and left). */
function added(now: Map<string, number>, base: Map<string, number>, skip?: RegExp): string[] {
  const out: string[] = [];
  for (const [k, n] of now) if (n > (base.get(k) ?? 0) && !skip?.test(k)) out.push(k);
  return out;
}

/** File operations (fs callbacks and promises, open FileHandles). */
const FILE_WORK = /^(FSReq|FileHandle)/;
/**
 * Not waited for: child processes and their pipes (a recipe that leaves one running is stopped
 * by the build afterwards, with a warning: recipe-processes.ts), and message ports (this
 * worker's own, which carries what the recipe said, and those of its stdout and stderr; a
 * recipe that printed a lot was taken for one that left something running).
 */
const NOT_WAITED = /^(Process|Pipe|MessagePort)/;
/** How long work a recipe left behind may take to finish after it returned: file operations, then anything else. */
const FILE_WAIT_MS = 10_000;
const OTHER_WAIT_MS = 1_000;
/** A recipe pending this long with nothing of its own left to wait on is reported as stuck. */
const STUCK_MS = 5_000;

const turn = () => new Promise<void>((r) => setImmediate(r));
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * After the recipe's promise settled: waits until the work it started and did not await is
 * done, so that nothing writes its staged outputs after pipe checked and moved them (a stream
 * ended but not awaited left an empty or a half-written output counted as built, or wrote on
 * into the published file). File operations get FILE_WAIT_MS; other leftovers (a timer, a
 * socket) OTHER_WAIT_MS, after which the worker is retired (terminated with them).
 */
async function settleLeftovers(base: Map<string, number>): Promise<{ wroteLate: boolean; files: string[]; other: string[] }> {
  const started = Date.now();
  let wroteLate = false;
  for (;;) {
    // A turn of the loop first: a stream's open is issued on the tick after it is created.
    await turn();
    const left = added(resources(), base, NOT_WAITED);
    const files = left.filter((k) => FILE_WORK.test(k));
    if (files.length) wroteLate = true;
    if (left.length === 0) return { wroteLate, files: [], other: [] };
    const waited = Date.now() - started;
    if (files.length ? waited >= FILE_WAIT_MS : waited >= OTHER_WAIT_MS) return { wroteLate, files, other: left.filter((k) => !FILE_WORK.test(k)) };
    await pause(files.length ? 2 : 10);
  }
}

async function run(inv: Invocation): Promise<InvocationResult & { retire?: boolean }> {
  const decl = decls?.get(inv.name);
  // The recipe sees only the allowlisted and declared env vars.
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, inv.env);
  const mine = (current = new AbortController());
  const base = resources();
  // A recipe whose promise can never settle (its resolve is never called) would wait forever
  // and silently: said once, as a log line, when nothing of its own is left to wait on.
  let idleSince: number | undefined;
  let told = false;
  const watch = setInterval(() => {
    if (told) return;
    if (added(resources(), base).length) idleSince = undefined;
    else if ((idleSince ??= Date.now()) <= Date.now() - STUCK_MS) {
      told = true;
      sendLog(`pipe: the recipe has not finished, and nothing it started is still running (no timer, file operation, socket or process): a Promise whose resolve is never called? It will wait until interrupted (Ctrl-C).`);
    }
  }, 500);
  watch.unref();
  try {
    const result = await callRecipe(decl?.options, inv, {
      signal: mine.signal,
      // A line ctx.log writes once this recipe has returned (from an unref'd timer, which the
      // worker cannot see waiting) is said to be its, not taken for the next recipe's own line.
      log: (line) => sendLog(current === mine ? line : `pipe: ${JSON.stringify(inv.id)} wrote with ctx.log after its recipe returned: ${line}`),
      progress: (done, total) => {
        if (current === mine) sendProgress(done, total);
      },
    });
    clearInterval(watch);
    if (mine.signal.aborted) return result;
    const left = await settleLeftovers(base);
    if (left.files.length) {
      return { kind: "error", message: `the recipe returned while file operations it started were still running ${FILE_WAIT_MS / 1000} s later (${left.files.join(", ")}); await every write before returning (a stream: await finished(stream) from "node:stream/promises")`, readParams: result.readParams, retire: true };
    }
    if (left.wroteLate) sendLog(`pipe: warning: the recipe returned before file operations it started had finished; pipe waited for them. Await every write before returning (a stream: await finished(stream) from "node:stream/promises")`);
    if (left.other.length) {
      sendLog(`pipe: warning: the recipe returned but left ${left.other.join(", ")} running; pipe stopped its worker thread (clear timers and close what the recipe opens before returning)`);
      return { ...result, retire: true };
    }
    return result;
  } finally {
    clearInterval(watch);
    current = undefined;
  }
}

parentPort!.on("message", (msg: { type: "run"; invocation: Invocation } | { type: "abort" }) => {
  if (msg.type === "abort") current?.abort(new Error("interrupted"));
  else
    void run(msg.invocation).then(({ retire, ...result }) => {
      // After everything the recipe printed: the pool waits for these before it settles.
      endPrinted();
      const markers = writeMarkers() + children.end();
      // Retired: the pool terminates this worker before the target goes on, so what the recipe
      // left running (a timer that would write later) dies with it.
      send({ type: "result", result, markers, ...(retire ? { retire } : {}) });
    });
});

void init();
