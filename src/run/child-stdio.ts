/**
 * Child processes a TypeScript recipe starts with its standard output or error "inherited"
 * (`spawn(cmd, { stdio: "inherit" })`, `spawnSync(...)` likewise, `fork(...)`, whose default
 * inherits both, descriptors 1 and 2 given by number, or `process.stdout`): in a worker thread
 * those are pipe's own descriptors, so the child's bytes went into the NDJSON of `--json`, across
 * the live view, and into no log.
 *
 * Such a child gets a file in their place: one per stream and recipe, opened in `.pipe/staging/`
 * and unlinked at once (nothing is left behind, whatever happens). Its bytes are read from that
 * file and go to the recipe's own line writers (its log, masked, shown, in --json): when a
 * synchronous child returns, when an asynchronous one exits, every 50 ms while the recipe runs,
 * and when it ends. A file, not a pipe (an earlier version, taken back): a file never fills,
 * so a child printing 400 MB needs no memory here and meets no `maxBuffer`; a background process
 * the child leaves holding it (`execSync("server &")`) keeps nothing waiting; and one that
 * outlives its recipe writes into that recipe's unlinked file, never into the next one's log.
 * To the code that started it the streams look inherited, as before (`child.stdout` is null,
 * `spawnSync(...).stdout` is null).
 *
 * Every asynchronous start (spawn, exec, execFile, fork) goes through
 * `ChildProcess.prototype.spawn`, and every synchronous one (spawnSync, execSync, execFileSync)
 * through the `spawn_sync` binding's `spawn`, which node's own code looks up on each call: the
 * two places are wrapped once per worker thread.
 */
import { ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";

type Writer = (chunk: Uint8Array) => void;
type Std = 1 | 2;

/** How often the files are read while the recipe runs (a child's lines are shown as it goes). */
const POLL_MS = 50;
const CHUNK = 64 * 1024;

/** Which of pipe's descriptors a stdio entry at `index` names, if any. */
function named(entry: unknown, index: number): Std | undefined {
  if (entry === "inherit") return index === 1 || index === 2 ? index : undefined;
  if (entry === 1 || entry === 2) return entry;
  if (entry === process.stdout) return 1;
  if (entry === process.stderr) return 2;
  return undefined;
}

interface Capture {
  fd: number;
  /** Bytes read so far (the file only grows: its writers append). */
  read: number;
}

export interface ChildStdio {
  /** Reads what the children wrote so far into the writers. */
  drain(): void;
  /** The recipe is over: reads the rest, closes its files (a child still running writes on into nothing). */
  end(): void;
}

/**
 * Routes children's inherited stdout/stderr to `writers[0]` / `writers[1]`, through files in
 * `dir`. Installs the wrappers once per thread; call `end()` after every recipe.
 */
export function routeChildStdio(writers: readonly Writer[], dir: string): ChildStdio {
  const captures: (Capture | undefined)[] = [undefined, undefined];
  let timer: NodeJS.Timeout | undefined;
  let serial = 0;
  const buf = Buffer.allocUnsafe(CHUNK);

  const fdFor = (to: Std): number => {
    let c = captures[to - 1];
    if (!c) {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `child-output-${process.pid}-${threadId}-${serial++}`);
      const fd = openSync(path, "a+", 0o600);
      unlinkSync(path);
      c = captures[to - 1] = { fd, read: 0 };
      // Unref'd: it shows lines while the recipe runs, and keeps nothing alive (nor counts as
      // something the recipe left running).
      timer ??= setInterval(drain, POLL_MS).unref();
    }
    return c.fd;
  };

  function drain(): void {
    captures.forEach((c, i) => {
      if (!c) return;
      for (;;) {
        const n = readSync(c.fd, buf, 0, CHUNK, c.read);
        if (n <= 0) return;
        c.read += n;
        // A copy: the writer may keep the bytes (a line not ended yet).
        writers[i](Uint8Array.prototype.slice.call(buf, 0, n));
      }
    });
  }

  install(fdFor, drain);
  return {
    drain,
    end() {
      drain();
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const c of captures) if (c) closeSync(c.fd);
      captures[0] = captures[1] = undefined;
    },
  };
}

let installed = false;

interface SyncStdio {
  type: string;
  fd?: number;
}

function install(fdFor: (to: Std) => number, drain: () => void): void {
  if (installed) return;
  installed = true;

  const proto = ChildProcess.prototype as unknown as { spawn(options: { stdio?: unknown }): unknown };
  const realSpawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: { stdio?: unknown }) {
    const stdio = options && typeof options === "object" ? options.stdio : undefined;
    const list = typeof stdio === "string" ? (stdio === "inherit" ? ["inherit", "inherit", "inherit"] : undefined) : Array.isArray(stdio) ? stdio : undefined;
    let routed = false;
    const rewritten = list?.map((entry, i) => {
      const to = i >= 1 ? named(entry, i) : undefined;
      if (to === undefined) return entry;
      routed = true;
      return fdFor(to);
    });
    if (!routed) return realSpawn.call(this, options);
    // Its lines come before what the recipe does once it saw the child exit.
    this.once("exit", drain);
    return realSpawn.call(this, { ...options, stdio: rewritten });
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
  binding.spawn = function (options: { stdio?: SyncStdio[] }) {
    const stdio = options?.stdio;
    let routed = false;
    const rewritten = Array.isArray(stdio)
      ? stdio.map((s, i) => {
          if (i < 1 || !s || (s.type !== "fd" && s.type !== "inherit") || (s.fd !== 1 && s.fd !== 2)) return s;
          routed = true;
          return { type: "fd", fd: fdFor(s.fd) };
        })
      : stdio;
    if (!routed) return realSync.call(this, options);
    try {
      return realSync.call(this, { ...options, stdio: rewritten });
    } finally {
      drain();
    }
  };
}
