/**
 * Child processes a TypeScript recipe starts with its standard output or error "inherited"
 * (`spawn(cmd, { stdio: "inherit" })`, `spawnSync(...)` likewise, `fork(...)`, whose default
 * inherits both, or the descriptors 1 and 2 given by number): in a worker thread those are
 * pipe's own descriptors, so the child's lines went into the NDJSON of `--json`, across the live
 * view, and into no log. Here such a child gets a pipe in their place instead, and what it
 * writes goes to the recipe's own line writers (its log, in order with what the recipe prints);
 * to the code that started it, the streams look inherited as before (`child.stdout` is null,
 * `spawnSync(...).stdout` is null).
 *
 * Every asynchronous start (spawn, exec, execFile, fork) goes through
 * `ChildProcess.prototype.spawn`, and every synchronous one (spawnSync, execSync, execFileSync)
 * through the `spawn_sync` binding's `spawn`, which node's own code looks up on each call: the
 * two places are wrapped once per worker. A synchronous child's output reaches the log when it
 * has exited (it cannot be read while the thread waits), without node's 1 MiB limit for pipes
 * when every pipe is one made here (an inherited descriptor had none).
 */
import { ChildProcess } from "node:child_process";

type Writer = (chunk: Uint8Array) => void;

/** What a stdio entry at index 1 or 2 becomes: undefined when it does not name pipe's descriptors. */
function target(entry: unknown, index: number): 1 | 2 | undefined {
  if (entry === "inherit") return index === 1 || index === 2 ? index : undefined;
  if (entry === 1 || entry === 2) return entry;
  if (entry === process.stdout) return 1;
  if (entry === process.stderr) return 2;
  return undefined;
}

/** The async form's stdio as an array with pipes where pipe's descriptors were; the redirected indices. */
function rewrite(stdio: unknown): { stdio: unknown; routed: Map<number, 1 | 2> } | undefined {
  const list = typeof stdio === "string" ? (stdio === "inherit" ? ["inherit", "inherit", "inherit"] : undefined) : Array.isArray(stdio) ? stdio : undefined;
  if (!list) return undefined;
  const routed = new Map<number, 1 | 2>();
  const out = list.map((entry, i) => {
    const to = i >= 1 ? target(entry, i) : undefined;
    if (to === undefined) return entry;
    routed.set(i, to);
    return "pipe";
  });
  return routed.size ? { stdio: out, routed } : undefined;
}

interface SyncStdio {
  type: string;
  fd?: number;
  readable?: boolean;
  writable?: boolean;
}
interface SyncOptions {
  stdio?: SyncStdio[];
  maxBuffer?: number;
}
interface SyncResult {
  output?: (Uint8Array | null)[] | null;
}

let installed = false;

/** Routes children's inherited stdout/stderr to `writers[0]` / `writers[1]` from now on (once per thread). */
export function routeChildStdio(writers: readonly Writer[]): void {
  if (installed) return;
  installed = true;
  const write = (to: 1 | 2, chunk: Uint8Array) => writers[to - 1](chunk);

  const proto = ChildProcess.prototype as unknown as { spawn(options: { stdio?: unknown }): unknown };
  const realSpawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: { stdio?: unknown }) {
    const r = options && typeof options === "object" ? rewrite(options.stdio) : undefined;
    if (!r) return realSpawn.call(this, options);
    const result = realSpawn.call(this, { ...options, stdio: r.stdio });
    const self = this as unknown as { stdio: unknown[]; stdout: unknown; stderr: unknown };
    for (const [i, to] of r.routed) {
      const stream = self.stdio?.[i] as NodeJS.ReadableStream | null | undefined;
      if (stream) stream.on("data", (chunk: Uint8Array) => write(to, chunk));
      if (self.stdio) self.stdio[i] = null;
      if (i === 1) self.stdout = null;
      if (i === 2) self.stderr = null;
    }
    return result;
  };

  // process.binding warns under --pending-deprecation; this use is deliberate (see above).
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  let binding: { spawn(options: SyncOptions): SyncResult } | undefined;
  try {
    binding = (process as unknown as { binding(name: string): { spawn(options: SyncOptions): SyncResult } }).binding("spawn_sync");
  } catch {
    binding = undefined; // a node without it: synchronous children keep the descriptors (README)
  } finally {
    process.noDeprecation = quiet;
  }
  if (!binding || typeof binding.spawn !== "function") return;
  const realSync = binding.spawn;
  binding.spawn = function (options: SyncOptions): SyncResult {
    const stdio = options?.stdio;
    const routed = new Map<number, 1 | 2>();
    if (Array.isArray(stdio)) {
      stdio.forEach((s, i) => {
        if (i >= 1 && s && (s.type === "fd" || s.type === "inherit") && (s.fd === 1 || s.fd === 2)) routed.set(i, s.fd);
      });
    }
    if (routed.size === 0) return realSync.call(this, options);
    const ours = stdio!.map((s, i) => (routed.has(i) ? { type: "pipe", readable: false, writable: true } : s));
    const onlyOurs = stdio!.every((s, i) => routed.has(i) || s.type !== "pipe");
    const result = realSync.call(this, { ...options, stdio: ours, ...(onlyOurs ? { maxBuffer: Infinity } : {}) });
    const output = result?.output;
    if (Array.isArray(output)) {
      for (const [i, to] of routed) {
        const bytes = output[i];
        if (bytes && bytes.byteLength) write(to, bytes);
        output[i] = null;
      }
    }
    return result;
  };
}
