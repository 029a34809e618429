/**
 * Worker-thread entry: evaluates recipe functions off the main thread. Each worker imports the
 * compiled Pipelinefile once, then runs one invocation at a time. A recipe that throws, hangs or
 * calls process.exit() takes down only this worker (the pool fails that target and replaces
 * the worker). A recipe that returns `sh\`...\`` hands the command back to the main thread,
 * which runs it in its own process group.
 */
import { parentPort, workerData } from "node:worker_threads";
import { nameDeclarations, type Decl } from "../load/load.ts";
import { lineCost, LOG_BATCH, MESSAGE_COST, OUTPUT_END, PROGRESS_COST, WORKER_OUTPUT_LIMIT, type Invocation, type InvocationResult, type WorkerMessage } from "./invocation.ts";
import { callRecipe } from "./call-recipe.ts";
import { LineSplitter } from "../util/line-splitter.ts";
import { setSiteCapture } from "../api/site.ts";

const port = parentPort!;
let decls: Map<string, Decl> | undefined;
let current: AbortController | undefined;

/**
 * What this worker sent that the pool has not taken yet, in bytes (WORKER_OUTPUT_LIMIT), shared
 * with it: the pool subtracts what it takes and wakes this thread.
 */
const inFlight = new Int32Array(workerData.inFlight as SharedArrayBuffer);

/**
 * Counts `n` more bytes on their way to the pool. Past the limit, first waits until the pool
 * has taken half of what is on its way: the recipe (a loop printing lines) goes at pipe's pace.
 * The wait has a timeout only so that a terminated worker notices.
 */
function owe(n: number): void {
  if (Atomics.load(inFlight, 0) > WORKER_OUTPUT_LIMIT) {
    for (let v = Atomics.load(inFlight, 0); v > WORKER_OUTPUT_LIMIT / 2; v = Atomics.load(inFlight, 0)) Atomics.wait(inFlight, 0, v, 100);
  }
  Atomics.add(inFlight, 0, n);
}

/**
 * Lines not sent yet and what they count for, and the newest progress not sent yet (only the
 * newest matters). The first of a turn goes at once (a recipe that logs "starting" and then
 * computes for a minute shows it); those after it together: at the end of the turn (a
 * microtask), when they reach LOG_BATCH, or when FLUSH_MS passed since the last send (a loop
 * that never yields shows its lines and progress as they come, not all at the end); and
 * before any other message, and when the thread dies (process.exit, an uncaught error: the
 * lines that explain it).
 */
let lines: string[] = [];
let linesCost = 0;
let progress: { done: number; total?: number } | undefined;
let queued = false;
let sentAt = performance.now();
const FLUSH_MS = 100;

function flush(): void {
  sentAt = performance.now();
  if (lines.length) {
    owe(MESSAGE_COST);
    const m: WorkerMessage = lines.length === 1 ? { type: "log", line: lines[0] } : { type: "logs", lines };
    lines = [];
    linesCost = 0;
    port.postMessage(m);
  }
  if (progress) {
    const { done, total } = progress;
    progress = undefined;
    owe(PROGRESS_COST);
    port.postMessage({ type: "progress", done, total } satisfies WorkerMessage);
  }
}

/** Sends now if it is the first of this turn or the last send is FLUSH_MS old; else at the end of the turn. */
function soon(): void {
  if (!queued) {
    queued = true;
    queueMicrotask(() => {
      queued = false;
      flush();
    });
    flush();
  } else if (performance.now() - sentAt >= FLUSH_MS) flush();
}

function sendLine(line: string): void {
  const cost = lineCost(line);
  owe(cost);
  lines.push(line);
  linesCost += cost;
  if (linesCost >= LOG_BATCH) flush();
  else soon();
}

function sendProgress(done: number, total?: number): void {
  progress = total === undefined ? { done } : { done, total };
  soon();
}

/** Every message goes after the lines before it. */
function send(m: WorkerMessage): void {
  flush();
  port.postMessage(m);
}

// A recipe that ends the thread (process.exit, an error nothing caught) ends it right after
// its last lines: they are sent first. A monitor, so that an uncaught error still ends the thread.
process.on("exit", flush);
process.on("uncaughtExceptionMonitor", flush);

/**
 * What the recipe prints (console.log, process.stdout.write) goes to pipe as lines, like
 * ctx.log, and counts against the same limit. Not through the worker's own stdout, whose
 * stream buffers without bound in this thread: a loop never yields for it to send.
 * A line the recipe did not end is sent when it returns (endPrinted). The streams themselves
 * still carry what reaches them another way (a write function taken before this): the pool
 * settles a job once each has passed OUTPUT_END.
 */
/**
 * Write callbacks (console.log passes one with every line), called on the next microtask; in
 * a loop that never yields, a thousand at a time instead (a million queued took 300 MB).
 */
let callbacks: (() => void)[] = [];
function later(cb: () => void): void {
  if (callbacks.push(cb) === 1) queueMicrotask(runCallbacks);
  else if (callbacks.length >= 1024) runCallbacks();
}
function runCallbacks(): void {
  const now = callbacks;
  callbacks = [];
  for (const cb of now) cb();
}

const streamWrites = [process.stdout, process.stderr].map((stream) => stream.write.bind(stream));
const printed = [process.stdout, process.stderr].map((stream) => {
  const lines = new LineSplitter(sendLine);
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
  return () => lines.end();
});

function endPrinted(): void {
  for (const end of printed) end();
  flush();
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
 * by the build afterwards, with a warning: recipe-processes.ts), and message ports (what the
 * recipe printed is still on its way to pipe through the worker's stdout and stderr ports; a
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
  current = new AbortController();
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
      sendLine(`pipe: the recipe has not finished, and nothing it started is still running (no timer, file operation, socket or process): a Promise whose resolve is never called? It will wait until interrupted (Ctrl-C).`);
    }
  }, 500);
  watch.unref();
  try {
    const result = await callRecipe(decl?.options, inv, {
      signal: current.signal,
      log: sendLine,
      progress: sendProgress,
    });
    clearInterval(watch);
    if (current.signal.aborted) return result;
    const left = await settleLeftovers(base);
    if (left.files.length) {
      return { kind: "error", message: `the recipe returned while file operations it started were still running ${FILE_WAIT_MS / 1000} s later (${left.files.join(", ")}); await every write before returning (a stream: await finished(stream) from "node:stream/promises")`, readParams: result.readParams, retire: true };
    }
    if (left.wroteLate) sendLine(`pipe: warning: the recipe returned before file operations it started had finished; pipe waited for them. Await every write before returning (a stream: await finished(stream) from "node:stream/promises")`);
    if (left.other.length) {
      sendLine(`pipe: warning: the recipe returned but left ${left.other.join(", ")} running; pipe stopped its worker thread (clear timers and close what the recipe opens before returning)`);
      return { ...result, retire: true };
    }
    return result;
  } finally {
    clearInterval(watch);
    current = undefined;
  }
}

port.on("message", (msg: { type: "run"; invocation: Invocation } | { type: "abort" }) => {
  if (msg.type === "abort") current?.abort(new Error("interrupted"));
  else
    void run(msg.invocation).then(({ retire, ...result }) => {
      // After everything the recipe printed: the pool waits for these before it settles.
      endPrinted();
      for (const write of streamWrites) write(OUTPUT_END + "\n");
      // Retired: the pool terminates this worker before the target goes on, so what the recipe
      // left running (a timer that would write later) dies with it.
      send({ type: "result", result, ...(retire ? { retire } : {}) });
    });
});

void init();
