/**
 * What content the last build saw, per source file, so that a save that changes nothing (the
 * same bytes written again, a `touch`) does not trigger a run (P15, E3(iii)).
 *
 * Why this is delicate: a baseline recorded too late hides a change the build never saw (a
 * lost save); one recorded too early only costs a run that finds everything up to date. So a
 * baseline is only ever recorded from content that the build is known to have seen:
 *  - `snapshot()`, just before a run, for the paths that triggered it: the build reads them
 *    after this, so it sees this content or newer (newer content sends its own event);
 *  - `adopt()`, just after a run, for files whose ctime is older than the run's start (minus
 *    a margin for the kernel's coarse timestamp clock): nothing wrote them while the build
 *    ran, so what is on disk is what it read. The core's stat cache supplies their hashes
 *    without a second read when its stat fields still match.
 * The watcher never asks the ledger about changes that arrived during a run (those always
 * get their follow-up run), which rules out A→B→A edits hiding behind an equal hash.
 *
 * Hashes are the core's (src/hash/xxh.ts), so they compare with its stat cache entries.
 */
import { readFileSync, statSync, openSync, readSync, closeSync, type BigIntStats } from "node:fs";
import { createHasher, hashBytes } from "../hash/xxh.ts";
import type { StatEntry } from "../hash/file-hasher.ts";

/** One stat-cache entry of the core's file hasher (the fields the ledger reads). */
export type HashedEntry = Omit<StatEntry, "hashedAt">;

interface Baseline {
  /** `signatureOf` at the time the hash was taken. */
  sig: string;
  /** Content hash, or "missing" when the file did not exist. */
  hash: string;
}

/** Writes this close (ms) before a run's start may not have been seen by it (ctime granularity). */
export const CTIME_MARGIN_MS = 50;
const BIG = 8 << 20;
const CHUNK = 1 << 20;

/** A stat signature that changes whenever a write, rename or chmod touches the file. */
export function signatureOf(st: BigIntStats | undefined): string {
  if (!st) return "missing";
  if (st.isDirectory()) return `dir:${st.ino}:${st.mtimeNs}`;
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function statOf(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** The core's content hash of a file (same function as its stat cache), or undefined when unreadable. */
export function hashFile(path: string, size: number): string | undefined {
  try {
    if (size < BIG) return hashBytes(readFileSync(path));
    const h = createHasher();
    const buf = Buffer.allocUnsafe(CHUNK);
    const fd = openSync(path, "r");
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n <= 0) break;
        h.update(n === CHUNK ? buf : buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    return h.digest();
  } catch {
    return undefined;
  }
}

/** Baselines of source files' content, keyed by absolute path. Call `initHasher()` first. */
export class ContentLedger {
  readonly #baselines = new Map<string, Baseline>();

  /** The stat signature of `path` now ("missing" when absent): cheap, for "still being written?". */
  signature(path: string): string {
    return signatureOf(statOf(path));
  }

  /** True when `path` holds exactly the content the last build saw (false when unknown). */
  unchanged(path: string): boolean {
    const b = this.#baselines.get(path);
    if (!b) return false;
    const st = statOf(path);
    const sig = signatureOf(st);
    if (sig === b.sig) return true;
    if (!st || st.isDirectory() || b.hash === "missing") return false;
    const hash = hashFile(path, Number(st.size));
    if (hash !== b.hash) return false;
    // Same bytes, new stat (a touch or an identical save): remember the new stat.
    this.#baselines.set(path, { sig, hash });
    return true;
  }

  /** Records the current content of `paths` just before a run that will read them. */
  snapshot(paths: Iterable<string>): void {
    for (const p of paths) {
      const st = statOf(p);
      if (!st) this.#baselines.set(p, { sig: "missing", hash: "missing" });
      else if (st.isDirectory()) this.#baselines.delete(p);
      else {
        const hash = hashFile(p, Number(st.size));
        if (hash === undefined) this.#baselines.delete(p);
        else this.#baselines.set(p, { sig: signatureOf(st), hash });
      }
    }
  }

  /**
   * After a run that started at `runStartedAt` (wall-clock ms): records baselines for files
   * nobody wrote while it ran. `entries` are the core's stat cache (absolute path -> entry),
   * used when their stat fields still match; `files` are read when no entry matches (small
   * files such as the Pipelinefile, or sources of targets the build did not reach).
   */
  adopt(o: { entries: Iterable<[string, HashedEntry]>; files: Iterable<string>; runStartedAt: number; isSource: (path: string) => boolean }): void {
    const cutoffNs = BigInt(Math.floor(o.runStartedAt - CTIME_MARGIN_MS)) * 1_000_000n;
    const done = new Set<string>();
    for (const [path, e] of o.entries) {
      if (!o.isSource(path)) continue;
      const st = statOf(path);
      if (!st || !st.isFile() || st.ctimeNs >= cutoffNs) continue;
      const ms = statSync(path, { throwIfNoEntry: false });
      if (!ms || ms.dev !== e.dev || ms.ino !== e.ino || ms.size !== e.size || ms.mtimeMs !== e.mtimeMs || ms.ctimeMs !== e.ctimeMs) continue;
      this.#baselines.set(path, { sig: signatureOf(st), hash: e.hash });
      done.add(path);
    }
    for (const path of o.files) {
      if (done.has(path)) continue;
      const st = statOf(path);
      if (!st) {
        this.#baselines.set(path, { sig: "missing", hash: "missing" });
        continue;
      }
      if (!st.isFile() || st.ctimeNs >= cutoffNs) continue;
      const sig = signatureOf(st);
      if (this.#baselines.get(path)?.sig === sig) continue;
      const hash = hashFile(path, Number(st.size));
      if (hash !== undefined) this.#baselines.set(path, { sig, hash });
    }
  }

  /** True when `path` has a baseline. */
  has(path: string): boolean {
    return this.#baselines.has(path);
  }

  /** Paths with a baseline inside folder `dir` (at any depth). */
  pathsUnder(dir: string): string[] {
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    return [...this.#baselines.keys()].filter((p) => p.startsWith(prefix));
  }

  /** Number of files with a baseline (for tests). */
  get size(): number {
    return this.#baselines.size;
  }
}
