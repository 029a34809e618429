/**
 * Child processes a TypeScript recipe starts with its standard output or error "inherited"
 * (`spawn(cmd, { stdio: "inherit" })`, `spawnSync(...)` likewise, `fork(...)`, whose default
 * inherits both, or descriptors 1 and 2 given by number): in a worker thread those are pipe's
 * own descriptors, so the child's bytes went into the NDJSON of `--json`, across the live view,
 * and into no log.
 *
 * Such a child gets the write end of a FIFO instead, one per recipe (made at its first such
 * child, in `.pipe/staging/`), for both streams, so their order is kept. The main thread reads
 * it (worker-pool.ts) into the recipe's log line by line as it comes, also while this thread
 * waits in `spawnSync`. A FIFO, not a file or a pipe made by node (two earlier versions, both
 * taken back after reviews):
 *   - not a file: a child writing to /dev/stdout or /dev/stderr (`echo x > /dev/stderr`)
 *     reopens it, and a file was emptied by that (lines lost); a FIFO ignores O_TRUNC. A file
 *     also never pushes back: `yes` filled the disk;
 *   - not node's pipe for a synchronous child: node collects that in memory (a 1 MiB limit,
 *     ENOBUFS past it) and waits until every holder closed it (`execSync("server &")` waited for
 *     the server).
 * A reader that falls behind (pipe's own stdout is slow) holds the child up, as a shell
 * recipe's pipe does. When the recipe is over this thread writes OUTPUT_END into the FIFO and
 * closes its end: the main thread takes what came before the marker as the recipe's, and drops
 * what a process that outlived the recipe writes after it (never into the next recipe's log).
 *
 * To the code that started it, the streams look inherited, as before (`child.stdout` is null,
 * `spawnSync(...).stdout` is null). Every asynchronous start (spawn, exec, execFile, fork) goes
 * through `ChildProcess.prototype.spawn`, and every synchronous one (spawnSync, execSync,
 * execFileSync) through the `spawn_sync` binding's `spawn`, which node's own code looks up on
 * each call: the two places are wrapped once per worker thread.
 */
import { ChildProcess, execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { delimiter, join } from "node:path";
import { threadId } from "node:worker_threads";
import { OUTPUT_END } from "./invocation.ts";

/** Whether a stdio entry at `index` (1 or more: an output) names one of pipe's own descriptors. */
function named(entry: unknown, index: number): boolean {
  if (entry === "inherit") return index === 1 || index === 2;
  if (entry === 1 || entry === 2) return index >= 1;
  if (entry === process.stdout || entry === process.stderr) return index >= 1;
  return false;
}

export interface ChildStdio {
  /**
   * The recipe is over: marks the end of its children's output and closes this thread's end.
   * Returns how many markers it wrote (0 when no child needed the FIFO).
   */
  end(): number;
}

/**
 * Routes children's inherited stdout/stderr into a FIFO per recipe in `dir`. `announce(path)`
 * hands the FIFO's path to the main thread and returns once it has opened its reading end
 * (false: it could not, and the child keeps pipe's descriptors as before).
 */
export function routeChildStdio(dir: string, announce: (path: string) => boolean): ChildStdio {
  /** The children's end, and this thread's own for the end marker (see `end`). */
  let fds: { child: number; marker: number } | undefined;
  // node has no mkfifo(3): mkfifo(1), looked up once, at the first child that needs it, on
  // pipe's own PATH as this thread started with it (a recipe may change its PATH, or run with a
  // narrow one). None: children keep pipe's descriptors, as before.
  const pipePath = process.env.PATH;
  let mkfifo: string | null | undefined;
  let serial = 0;

  const capture = (): number | undefined => {
    if (fds) return fds.child;
    if ((mkfifo ??= findMkfifo(pipePath) ?? null) === null) return undefined;
    const path = join(dir, `child-output-${process.pid}-${threadId}-${serial++}.fifo`);
    let child: number | undefined;
    let marker: number | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      // Not through the wrapped spawn: its stdio is not inherited. A failure here (killed by a
      // Ctrl-C) affects this child only.
      execFileSync(mkfifo, ["-m", "600", path], { stdio: "ignore", env: {} });
      // Read-write: opening never waits for a reader, and the FIFO keeps what was written
      // until the main thread reads it (it opens its end before `announce` returns).
      child = openSync(path, constants.O_RDWR);
      // The marker's own open file: a child shares the flags of the one it is given, and one
      // that set O_NONBLOCK there (ssh, Python's asyncio) made the marker's write fail.
      marker = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      if (!announce(path)) throw new Error("the pool could not open the FIFO");
      fds = { child, marker };
    } catch {
      for (const fd of [child, marker]) if (fd !== undefined) closeSync(fd);
    }
    return fds?.child;
  };

  install(capture);
  return {
    end() {
      if (!fds) return 0;
      const { child, marker } = fds;
      fds = undefined;
      closeSync(child);
      try {
        writeAll(marker, Buffer.from(OUTPUT_END + "\n"));
        return 1;
      } catch (e) {
        // No reader any more (the pool let it go): nobody waits for the marker either.
        if ((e as NodeJS.ErrnoException).code === "EPIPE") return 0;
        throw e;
      } finally {
        closeSync(marker);
      }
    },
  };
}

/** mkfifo(1) on `path` (pipe's PATH when the worker started), else where systems keep it. */
function findMkfifo(path: string | undefined): string | undefined {
  const dirs = [...(path ?? "").split(delimiter).filter((d) => d.startsWith("/")), "/usr/bin", "/bin"];
  for (const d of dirs) if (existsSync(join(d, "mkfifo"))) return join(d, "mkfifo");
  return undefined;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `bytes` to a non-blocking descriptor: while the FIFO is full (its reader paused:
 * pipe's stdout is behind) it waits in short steps, so that a terminated worker still notices.
 */
function writeAll(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

let installed = false;

interface SyncStdio {
  type: string;
  fd?: number;
}

function install(capture: () => number | undefined): void {
  if (installed) return;
  installed = true;

  const proto = ChildProcess.prototype as unknown as { spawn(options: { stdio?: unknown }): unknown };
  const realSpawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: { stdio?: unknown }) {
    const stdio = options && typeof options === "object" ? options.stdio : undefined;
    const list = typeof stdio === "string" ? (stdio === "inherit" ? ["inherit", "inherit", "inherit"] : undefined) : Array.isArray(stdio) ? stdio : undefined;
    if (!list || !list.some((entry, i) => named(entry, i))) return realSpawn.call(this, options);
    const fd = capture();
    if (fd === undefined) return realSpawn.call(this, options);
    return realSpawn.call(this, { ...options, stdio: list.map((entry, i) => (named(entry, i) ? fd : entry)) });
  };

  // process.binding warns under --pending-deprecation; this use is deliberate (see above).
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  let binding: { spawn(options: { stdio?: SyncStdio[] }): unknown } | undefined;
  try {
    binding = (process as unknown as { binding(name: string): typeof binding }).binding("spawn_sync");
  } catch {
    binding = undefined; // a node without it: synchronous children keep the descriptors (README)
  } finally {
    process.noDeprecation = quiet;
  }
  if (!binding || typeof binding.spawn !== "function") return;
  const realSync = binding.spawn;
  const inherited = (s: SyncStdio | undefined, i: number) => i >= 1 && !!s && (s.type === "fd" || s.type === "inherit") && (s.fd === 1 || s.fd === 2);
  binding.spawn = function (options: { stdio?: SyncStdio[] }) {
    const stdio = options?.stdio;
    if (!Array.isArray(stdio) || !stdio.some(inherited)) return realSync.call(this, options);
    const fd = capture();
    if (fd === undefined) return realSync.call(this, options);
    return realSync.call(this, { ...options, stdio: stdio.map((s, i) => (inherited(s, i) ? { type: "fd", fd } : s)) });
  };
}
