/**
 * Content hashes of files and directories, with a stat cache so unchanged files are not re-read.
 *
 * Stat cache rule (design.md): an entry is reused only when dev, ino, size, mtime and ctime
 * all match, and the file was not modified "too close" to when it was hashed: a
 * write in the same timestamp tick as the hash could leave mtime unchanged (git's racy rule).
 * Such entries are re-hashed next time. Deleting the cache changes no decision.
 *
 * Directory identity (P17): sorted relative paths, entry type, exec bit, symlink target text,
 * file content hashes and empty subdirectories.
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import { BIG_FILE, hashBytes, hashFd } from "./xxh.ts";
import { treeHash, treeLine } from "./tree.ts";
import { isRacy } from "./racy.ts";
import { UserError } from "../util/errors.ts";

/**
 * Times are the float milliseconds Node gives (sub-microsecond precision today): bigint stats
 * cost a BigInt per field per file, and at 20,000 files that garbage dominated a no-op.
 */
export interface StatEntry {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  hash: string;
  /** Wall-clock ms when the content was read. */
  hashedAt: number;
}


/** What the hasher needs of a stat: a real one, or a fact the no-op check just confirmed. */
export type StatLike = Pick<Stats, "dev" | "ino" | "size" | "mtimeMs" | "ctimeMs" | "isFile" | "isDirectory">;

export type PathHash = { kind: "file" | "dir"; hash: string } | { kind: "missing" } | { kind: "dangling"; link: string };

export interface HashProgress {
  (path: string, doneBytes: number, totalBytes: number): void;
}

export class FileHasher {
  readonly #root: string;
  readonly #cache: Map<string, StatEntry>;
  #dirty = false;
  /** Number of files whose content was read (for tests and the bench). */
  reads = 0;
  readonly #onProgress?: HashProgress;

  /** Stats someone took a moment ago (the graph builder); each is used once, then dropped. */
  readonly #fresh: Map<string, StatLike>;

  constructor(root: string, cache: Map<string, StatEntry>, onProgress?: HashProgress, freshStats: Map<string, StatLike> = new Map()) {
    this.#root = root;
    this.#cache = cache;
    this.#onProgress = onProgress;
    this.#fresh = freshStats;
  }

  get cache(): Map<string, StatEntry> {
    return this.#cache;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  /** Hash of a project-relative path: a file's content or a directory's tree. Follows symlinks. */
  hashPath(rel: string): PathHash {
    const abs = join(this.#root, rel);
    let st: StatLike;
    const fresh = this.#fresh.get(rel);
    try {
      if (fresh) this.#fresh.delete(rel);
      st = fresh ?? statSync(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        try {
          const l = lstatSync(abs);
          if (l.isSymbolicLink()) return { kind: "dangling", link: readlinkSync(abs) };
        } catch {
          // truly missing
        }
        this.#cache.delete(rel);
        return { kind: "missing" };
      }
      if (code === "ELOOP") throw Object.assign(new Error(`${rel} is a symlink loop`), { code });
      throw e;
    }
    if (st.isDirectory()) return { kind: "dir", hash: this.#hashDir(rel, abs, 0) };
    // Reading a FIFO blocks the main thread until a writer comes (forever, deaf to Ctrl-C), and a
    // device or socket has no content to hash: refuse them, never read.
    if (!st.isFile()) throw Object.assign(new Error(`${JSON.stringify(rel)} is ${oddKind(abs)}, not a regular file or folder; pipe hashes contents and cannot read it (use a regular file, or a target that writes one)`), { code: NOT_REGULAR });
    return { kind: "file", hash: this.#hashFile(rel, abs, st) };
  }

  /**
   * Hashes, in a worker thread, the big files among `rels` that the stat cache cannot vouch for,
   * so the synchronous `hashPath` calls of planning find them cached (reliability.md P18: the
   * main thread stays free for signals while gigabytes are read). Stops early when `signal`
   * aborts. Small files are left to `hashPath`: a worker costs more than reading them.
   */
  async prehash(rels: Iterable<string>, signal: AbortSignal): Promise<void> {
    const todo: { rel: string; abs: string; st: StatLike }[] = [];
    for (const rel of rels) {
      const abs = join(this.#root, rel);
      const st = this.#fresh.get(rel) ?? statSync(abs, { throwIfNoEntry: false });
      if (!st || !st.isFile() || st.size < BIG_FILE) continue;
      if (this.known(rel, st) === undefined) todo.push({ rel, abs, st });
    }
    if (todo.length === 0 || signal.aborted) return;
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(new URL("../hash/hash-worker.js", import.meta.url));
    const stop = () => void worker.terminate();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for (const [id, f] of todo.entries()) {
        if (signal.aborted) return;
        const hashedAt = Date.now();
        const hash = await new Promise<string | undefined>((resolve) => {
          const onMessage = (m: { id: number; done?: number; total?: number; hash?: string; error?: string }) => {
            if (m.id !== id) return;
            if (m.done !== undefined) return this.#onProgress?.(f.rel, m.done, m.total ?? f.st.size);
            worker.off("message", onMessage);
            worker.off("exit", onExit);
            resolve(m.hash);
          };
          const onExit = () => {
            worker.off("message", onMessage);
            resolve(undefined);
          };
          worker.on("message", onMessage);
          worker.once("exit", onExit);
          worker.postMessage({ id, path: f.abs });
        });
        if (hash === undefined) continue; // aborted or unreadable: hashPath will say what is wrong
        this.reads++;
        this.#onProgress?.(f.rel, f.st.size, f.st.size);
        this.#remember(f.rel, f.abs, f.st, hash, hashedAt);
      }
    } finally {
      signal.removeEventListener("abort", stop);
      await worker.terminate();
    }
  }

  /**
   * Records the hash of a file pipe just wrote (its content is known), so it is not re-read.
   * `mtimeMs`, when the caller knows it, spares the stat of a file written so recently that
   * the entry would be distrusted anyway (racy): most cheap recipes' outputs.
   */
  remember(rel: string, hash: string, mtimeMs?: number): void {
    if (mtimeMs !== undefined && isRacy(mtimeMs, Date.now())) return;
    try {
      const st = statSync(join(this.#root, rel));
      if (st.isFile()) this.#put(rel, st, hash);
    } catch {
      // not there: nothing to remember
    }
  }

  /** Forgets `rel` (after a restore or publish replaced it), and everything under it if a folder. */
  forget(rel: string, isDir = false): void {
    this.#cache.delete(rel);
    if (isDir) {
      const prefix = rel + "/";
      for (const k of this.#cache.keys()) if (k.startsWith(prefix)) this.#cache.delete(k);
    }
    this.#dirty = true;
  }

  #put(rel: string, st: StatLike, hash: string): void {
    this.#cache.set(rel, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, hash, hashedAt: Date.now() });
    this.#dirty = true;
  }

  /** The cached hash of `rel` when the stat cache vouches for it (same stat, not racy); no read. */
  known(rel: string, st: StatLike): string | undefined {
    const e = this.#cache.get(rel);
    if (e && e.size === st.size && e.ino === st.ino && e.dev === st.dev && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs && !isRacy(st.mtimeMs, e.hashedAt)) return e.hash;
    return undefined;
  }

  /**
   * Caches `hash` for `rel` as read at `hashedAt` with stat `st`, unless the file changed while
   * it was read (a stat now differs: the hash may be torn), in which case the entry is dropped.
   */
  #remember(rel: string, abs: string, st: StatLike, hash: string, hashedAt: number): void {
    const after = statSync(abs, { throwIfNoEntry: false });
    if (after && after.mtimeMs === st.mtimeMs && after.size === st.size && after.ctimeMs === st.ctimeMs) {
      this.#cache.set(rel, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, hash, hashedAt });
      this.#dirty = true;
    } else this.#cache.delete(rel);
  }

  #hashFile(rel: string, abs: string, st: StatLike): string {
    const known = this.known(rel, st);
    if (known !== undefined) return known;
    const hashedAt = Date.now();
    const hash = this.#read(rel, abs, st.size);
    this.reads++;
    this.#remember(rel, abs, st, hash, hashedAt);
    return hash;
  }

  #read(rel: string, abs: string, size: number): string {
    if (size < BIG_FILE) return hashBytes(readFileSync(abs));
    // Big files: constant memory, progress for the UI.
    const fd = openSync(abs, "r");
    try {
      return hashFd(fd, this.#onProgress && ((done) => this.#onProgress!(rel, done, size)));
    } finally {
      closeSync(fd);
    }
  }

  #hashDir(rel: string, abs: string, depth: number): string {
    if (depth > 64) throw new Error(`${rel}: directory nesting too deep (a symlink loop?)`);
    const lines: string[] = [];
    const walk = (relDir: string, absDir: string, prefix: string) => {
      const entries = readdirSync(absDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (entries.some((e) => e.name.includes("\uFFFD"))) refuseUndecodable(relDir, absDir);
      if (entries.length === 0 && prefix !== "") lines.push(treeLine({ type: "d", path: prefix.slice(0, -1) }));
      for (const ent of entries) {
        const childRel = `${relDir}/${ent.name}`;
        const childAbs = join(absDir, ent.name);
        const name = prefix + ent.name;
        if (ent.isSymbolicLink()) lines.push(treeLine({ type: "l", path: name, link: readlinkSync(childAbs) }));
        else if (ent.isDirectory()) walk(childRel, childAbs, name + "/");
        else if (ent.isFile()) {
          const st = statSync(childAbs);
          lines.push(treeLine({ type: "f", path: name, exec: (st.mode & 0o111) !== 0, hash: this.#hashFile(childRel, childAbs, st) }));
        } else lines.push(treeLine({ type: "o", path: name }));
      }
    };
    walk(rel, abs, "");
    return treeHash(lines);
  }
}

/**
 * A folder holding a name that is not valid UTF-8 (bytes a Latin-1 tool or an archive left):
 * node reads it as text with U+FFFD in place of the bytes, a name no file has, so hashing it
 * failed with an internal error on every command (a review). pipe names files by their text,
 * so such a file can be neither hashed, cached nor restored: the user's error, named with its
 * bytes. (A name that holds U+FFFD itself is valid, and passes.)
 */
function refuseUndecodable(relDir: string, absDir: string): void {
  for (const raw of readdirSync(absDir, { encoding: "buffer" })) {
    const text = raw.toString("utf8");
    if (Buffer.from(text, "utf8").equals(raw)) continue;
    const shown = [...raw].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
    throw new UserError({
      message: `${relDir}/${shown} has a name that is not valid UTF-8; pipe names the files it hashes, keeps and restores by their UTF-8 text`,
      hint: `rename it (e.g. mv ${relDir}/$'${shown}' ${relDir}/<new name>, or convmv -f latin1 -t utf8), or move it out of ${relDir}`,
    });
  }
}

/** The error code of hashPath for a FIFO, socket or device: its message names the path and what it is. */
export const NOT_REGULAR = "ERR_PIPE_NOT_REGULAR";

/** What a path that is neither a regular file nor a folder is (its stat is taken again: error path only). */
function oddKind(abs: string): string {
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) return "gone";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device file";
  return "not a regular file";
}
