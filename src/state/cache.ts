/**
 * The output cache: content-addressed bytes of every output pipe published (and of outputs
 * edited by hand before pipe replaced them).
 *
 * Layout (`.pipe/cache/`):
 *   pack/objects.pack            small outputs (under 64 KiB), appended one after another
 *   pack/objects.idx             one line per packed object, `<hash> <offset> <length>`, written
 *                                after its bytes: an entry exists only when complete
 *   objects/<2 hex>/<hash>       bigger files and bytes kept for the user (edited outputs),
 *                                read-only (0444); written to a temp name and renamed
 *   trees/<hash>.json            directory manifests: [{ path, type: "f"|"l"|"d"|"m", hash?, exec?, mode?, link? }]
 *   tmp/                         objects and manifests being written, renamed into place when whole
 * Why a pack: a file per small output made creating inodes the largest cost of a cheap recipe
 * (a cold build of 10,000 `cp` recipes spent a third of its time there on an ext4 VM).
 * Entries are copied in and out (reflink where the filesystem can), never hard-linked, so
 * editing a restored output can never corrupt the cache. Every restore re-hashes the bytes
 * before publishing them: a damaged entry is dropped and its target rebuilds.
 */
import { spawnSync } from "node:child_process";
import { withDefaultSignals } from "../util/signals.ts";
import { appendFileSync, closeSync, openSync, chmodSync, constants, copyFileSync, existsSync, fstatSync, ftruncateSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { hashBytes, hashFd } from "../hash/xxh.ts";
import { treeHash, treeLine } from "../hash/tree.ts";
import { openFile } from "./atomic.ts";
import { crashPoint, type CrashPoint } from "../util/crash-point.ts";
import { removeTree } from "../util/remove-tree.ts";
import { endsWithNewline } from "../util/read-text.ts";

export interface TreeEntry {
  path: string;
  /**
   * "m": a folder's permission bits (`mode`; path "" is the output folder itself), restored
   * after its members. Not a member: the tree hash leaves it out, as it leaves out every mode.
   */
  type: "f" | "l" | "d" | "m";
  hash?: string;
  exec?: boolean;
  /**
   * A file's or folder's permission bits, restored with it (not in the tree hash, which counts
   * the exec bit only: a mode changed by hand is not a change). Absent in older manifests (a
   * folder then gets the default, as made under the umask).
   */
  mode?: number;
  link?: string;
}

let tmpCounter = 0;

/**
 * Runs `create` (which makes a file in `dir`), making `dir` first only if it is missing: a
 * build stores thousands of objects into 256 folders that exist after the first few.
 */
function inFolder(dir: string, create: () => void): void {
  try {
    create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dir, { recursive: true });
    create();
  }
}

/** Hashes of the objects kept for the user (OutputCache.putFile), a line each: `pipe gc` keeps them. */
export const KEPT_LIST = "kept.list";
/**
 * The loose objects a cache held when it first got KEPT_LIST: made by an earlier pipe, which
 * did not list the bytes it kept for the user. `pipe gc` keeps those no record names.
 */
export const KEPT_EARLIER = "kept-earlier.list";

/**
 * Makes sure KEPT_LIST exists (call with the project lock held). A cache made by a pipe that did
 * not list the bytes it kept for the user first gets its loose objects listed in KEPT_EARLIER
 * (which of them held edits was not recorded). Returns the hashes listed so; with `dryRun`,
 * writes nothing and returns the hashes that would be listed.
 */
export function ensureKeptList(stateDir: string, dryRun = false): string[] {
  return keptListIn(join(stateDir, "cache"), dryRun);
}

function keptListIn(cacheDir: string, dryRun = false): string[] {
  const list = join(cacheDir, KEPT_LIST);
  if (existsSync(list)) return [];
  const earlier: string[] = [];
  const objectsDir = join(cacheDir, "objects");
  for (const sub of namesIn(objectsDir)) for (const hash of namesIn(join(objectsDir, sub))) if (HASH_NAME.test(hash)) earlier.push(hash);
  if (dryRun) return earlier;
  mkdirSync(cacheDir, { recursive: true });
  // The earlier objects first: killed before the list exists, this runs again (a superset).
  if (earlier.length) writeWhole(join(cacheDir, KEPT_EARLIER), earlier.map((h) => `${h}\n`).join(""));
  writeWhole(list, "");
  return earlier;
}

function writeWhole(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * The hashes a kept list names, or undefined when it exists and cannot be read. Lenient about
 * the text (a list edited by hand): every run of hex digits counts, one joined to the next
 * without its newline too (hashes are 32 digits).
 */
export function readKeptList(path: string): Set<string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? new Set() : undefined;
  }
  const out = new Set<string>();
  for (const run of text.toLowerCase().split(/[^0-9a-f]+/)) {
    if (run.length === 0) continue;
    if (run.length > 32 && run.length % 32 === 0) for (let i = 0; i < run.length; i += 32) out.add(run.slice(i, i + 32));
    else out.add(run);
  }
  return out;
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** An object's name: its content hash (hex). */
export const HASH_NAME = /^[0-9a-f]{8,64}$/;
/** The pack's two files, under cache/pack/. */
export const PACK_FILE = "objects.pack";
export const INDEX_FILE = "objects.idx";

/** Outputs smaller than this go into the pack. */
export const PACK_MAX = 64 * 1024;
/** The index's first line: its format and version (design.md: every format carries one). */
export const PACK_HEADER = "pipe-pack 1\n";
/**
 * `pipe gc` writes a compacted pack and index next to the live ones (these suffixes), then this
 * marker, then renames them over the live ones and removes it (state/cache-gc.ts). While the
 * marker exists the compacted pair is the pack: each file under its `.gc` name while that
 * exists, else under its live name (renamed already).
 */
export const GC_SUFFIX = ".gc";
export const GC_COMMIT = "gc-commit";

interface PackEntry {
  offset: number;
  length: number;
}

/**
 * Lookups answered by searching the index text before it is parsed into a map. A search of a
 * hash that is not there reads the whole text (0.2 ms at 10,000 lines); the map costs about 50
 * of those.
 */
const LOOKUPS_BEFORE_MAP = 16;

/** An index line, or undefined when it is not one (torn, sealed with `!`, damaged). */
export function parseLine(line: string): { hash: string; entry: PackEntry } | undefined {
  const m = /^([0-9a-f]{8,64}) (\d{1,15}) (\d{1,15})$/.exec(line);
  return m ? { hash: m[1], entry: { offset: Number(m[2]), length: Number(m[3]) } } : undefined;
}

/**
 * The pack: small objects appended to one file, found through an append-only index. One writer
 * at a time (the build holding the project lock); readers ignore an index line still being
 * written. A line torn by a crash is sealed with `!` before the next append, so it never parses.
 * An index of another format or version (a newer pipe) is left alone: nothing is read from it,
 * and small outputs are then stored as files of their own.
 */
class Pack {
  readonly #dir: string;
  /** The index file as read (whole lines only), searched directly until it is worth a map. */
  #text: string | undefined;
  /** Every entry, once LOOKUPS_BEFORE_MAP lookups were made (or after forget). */
  #index: Map<string, PackEntry> | undefined;
  /** Entries appended by this process (newer than any line of #text). */
  readonly #added = new Map<string, PackEntry>();
  #lookups = 0;
  #packFd: number | undefined;
  /** The pack file's size when an entry of the index read at start was first looked up. */
  #packSize: number | undefined;
  #idxFd: number | undefined;
  #readFd: number | undefined;
  /** False when the index is of another format or version: not read, not written. */
  #ours = true;
  /** A `pipe gc` was cut short after its commit (see GC_COMMIT): read the compacted pair, write nothing. */
  #midGc = false;
  #packName = PACK_FILE;
  #idxName = INDEX_FILE;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #load(): string {
    if (this.#text !== undefined) return this.#text;
    if (existsSync(join(this.#dir, GC_COMMIT))) {
      // Only a reader gets here (a writer finishes the gc first, holding the lock: finishCacheGc).
      this.#midGc = true;
      if (existsSync(join(this.#dir, this.#packName + GC_SUFFIX))) this.#packName += GC_SUFFIX;
      if (existsSync(join(this.#dir, this.#idxName + GC_SUFFIX))) this.#idxName += GC_SUFFIX;
    }
    let text = "";
    try {
      text = readFileSync(join(this.#dir, this.#idxName), "latin1");
    } catch {
      // no pack yet
    }
    // Empty, or a header cut short by a crash: a new pack. Another header: not ours.
    if (PACK_HEADER.startsWith(text)) text = "";
    else if (!text.startsWith(PACK_HEADER)) {
      this.#ours = false;
      text = "";
    } else text = text.slice(0, text.lastIndexOf("\n") + 1); // only whole lines count
    this.#text = text;
    return text;
  }

  /**
   * The entry for `hash`: a later line for the same hash wins (a re-stored damaged entry). A
   * small build looks up a few hashes, and searching the index text for each costs far less
   * than parsing a 10,000-line index into a map (8 ms); a big one gets the map.
   */
  #get(hash: string): PackEntry | undefined {
    const added = this.#added.get(hash);
    if (added) return added;
    if (this.#index) return this.#within(this.#index.get(hash));
    const text = this.#load();
    if (++this.#lookups > LOOKUPS_BEFORE_MAP) return this.#within(this.#map().get(hash));
    if (!HASH_NAME.test(hash)) return undefined;
    // Every line starts after a newline (the header ends with one).
    const needle = `\n${hash} `;
    for (let at = text.lastIndexOf(needle); at >= 0; at = at === 0 ? -1 : text.lastIndexOf(needle, at - 1)) {
      const e = parseLine(text.slice(at + 1, text.indexOf("\n", at + 1)));
      if (e) return this.#within(e.entry);
    }
    return undefined;
  }

  /**
   * An entry of the index read at start, if the pack file reaches its end: an index whose pack
   * was deleted or cut short (by hand, a restore of a backup) named bytes that were not there,
   * and a build replaced a recorded result without keeping it (found by a review). Entries
   * this process appended are in #added and not checked.
   */
  #within(e: PackEntry | undefined): PackEntry | undefined {
    if (!e) return undefined;
    if (this.#packSize === undefined) {
      try {
        this.#packSize = statSync(join(this.#dir, this.#packName)).size;
      } catch {
        this.#packSize = 0;
      }
    }
    return e.offset + e.length <= this.#packSize ? e : undefined;
  }

  #map(): Map<string, PackEntry> {
    if (this.#index) return this.#index;
    const index = new Map<string, PackEntry>();
    for (const line of this.#load().slice(PACK_HEADER.length).split("\n")) {
      const e = parseLine(line);
      if (e) index.set(e.hash, e.entry);
    }
    for (const [h, e] of this.#added) index.set(h, e);
    this.#added.clear();
    this.#index = index;
    return index;
  }

  has(hash: string): boolean {
    return this.#get(hash) !== undefined;
  }

  /** Stores the bytes; false when this index is not ours to write (the caller stores a file). */
  put(bytes: Uint8Array, hash: string): boolean {
    this.#load();
    if (!this.#ours || this.#midGc) return false;
    // Stored already: only if those bytes are intact. A damaged entry (found here, or by a
    // restore earlier in this process) is superseded by appending the good bytes: a later line
    // for a hash wins. Before, a rebuild matched the damaged entry and kept it, so every later
    // restore of those bytes failed and ran the recipe again. Comparing costs one read of at
    // most PACK_MAX bytes, and only for bytes the cache has already.
    const had = this.#get(hash);
    if (had && had.length === bytes.length && this.read(hash)?.equals(bytes)) return true;
    if (this.#packFd === undefined || this.#idxFd === undefined) {
      mkdirSync(this.#dir, { recursive: true });
      this.#packFd = openFile(join(this.#dir, PACK_FILE), "a", 0o600);
      const idx = join(this.#dir, INDEX_FILE);
      this.#idxFd = openFile(idx, "a+", 0o600);
      const size = fstatSync(this.#idxFd).size;
      if (size < PACK_HEADER.length) {
        // New, or its header was cut short (the check above saw a prefix of it): start over.
        ftruncateSync(this.#idxFd, 0);
        writeSync(this.#idxFd, PACK_HEADER);
      } else {
        const last = Buffer.alloc(1);
        readSync(this.#idxFd, last, 0, 1, size - 1);
        if (last[0] !== 10) writeSync(this.#idxFd, "!\n");
      }
    }
    // The offset is the pack's size now: the lock makes this process its only writer.
    const offset = fstatSync(this.#packFd).size;
    let done = 0;
    while (done < bytes.length) done += writeSync(this.#packFd, bytes, done, bytes.length - done);
    crashPoint("cache-pack-append");
    writeSync(this.#idxFd, `${hash} ${offset} ${bytes.length}\n`);
    (this.#index ?? this.#added).set(hash, { offset, length: bytes.length });
    this.#packSize = offset + bytes.length;
    return true;
  }

  /** The bytes stored for `hash` (not verified), or undefined. */
  read(hash: string): Buffer | undefined {
    const e = this.#get(hash);
    if (!e) return undefined;
    // Only objects under PACK_MAX are packed: a longer entry is damage (or a crafted index),
    // read as nothing so that its hash fails, never as a huge allocation.
    if (e.length >= PACK_MAX) return Buffer.alloc(0);
    try {
      this.#readFd ??= openSync(join(this.#dir, this.#packName), "r");
    } catch {
      return undefined; // the index without its pack: nothing is there
    }
    const buf = Buffer.alloc(e.length);
    let got = 0;
    while (got < e.length) {
      const n = readSync(this.#readFd, buf, got, e.length - got, e.offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === e.length ? buf : buf.subarray(0, got);
  }

  /** Forgets a damaged entry, so the next store of these bytes appends them again. */
  forget(hash: string): void {
    this.#map().delete(hash);
  }

  close(): void {
    for (const fd of [this.#packFd, this.#idxFd, this.#readFd]) if (fd !== undefined) closeSync(fd);
    this.#packFd = this.#idxFd = this.#readFd = undefined;
  }
}

export class OutputCache {
  readonly #dir: string;
  readonly #pack: Pack;
  /** Whether `tmp/` was made and emptied by this process (#tmp). */
  #tmpReady = false;
  /**
   * Entries (object and tree hashes) a restore found missing or damaged in this process. The
   * target then runs, and storing its outputs must replace them: a tree whose manifest exists
   * was taken as stored whole, so its damaged member stayed, and every later restore of it
   * failed and ran the recipe again.
   */
  readonly #dropped = new Set<string>();

  constructor(stateDir: string) {
    this.#dir = join(stateDir, "cache");
    this.#pack = new Pack(join(this.#dir, "pack"));
  }

  /** Where a file object lives when it is not packed (bigger files, edited outputs). */
  objectPath(hash: string): string {
    return join(this.#dir, "objects", hash.slice(0, 2), hash);
  }

  has(hash: string, kind: "file" | "dir"): boolean {
    if (kind === "file") return this.#pack.has(hash) || existsSync(this.objectPath(hash));
    return existsSync(join(this.#dir, "trees", `${hash}.json`));
  }

  /** Closes the pack's files (a long-lived process: watch). */
  close(): void {
    this.#pack.close();
  }

  /**
   * A new temp path for an object or manifest being written. Temps live in one folder, `tmp/`,
   * which every build empties when it starts (sweepCacheTemps, from cleanStaleStaging): every
   * writer of the cache holds the project lock, so a temp found there is one that a killed pipe
   * wrote and never renamed (reliability.md A5). Made next to its object, as temps were before,
   * it stayed for good (a whole copy of a big output).
   */
  #tmp(): string {
    const dir = join(this.#dir, "tmp");
    if (!this.#tmpReady) {
      mkdirSync(dir, { recursive: true });
      this.#tmpReady = true;
    }
    return join(dir, `${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);
  }

  /**
   * Writes an entry at `dst` through a temp that `fill` writes and a rename: an entry is at its
   * name only when whole. A temp that could not be filled or renamed (a full disk) is removed.
   */
  #store(dst: string, at: CrashPoint, fill: (tmp: string) => void): void {
    const tmp = this.#tmp();
    try {
      fill(tmp);
      crashPoint(at);
      inFolder(dirname(dst), () => renameSync(tmp, dst));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Stores a file whose content hash is known; `loose`: bytes kept for the user (an edited
   * output), as a file of its own even when the pack holds them (a path to show), and listed in
   * KEPT_LIST so that `pipe gc` never removes them (no record names them).
   */
  putFile(src: string, hash: string, o: { loose?: boolean } = {}): void {
    const dst = this.objectPath(hash);
    if (o.loose) {
      // A cache an earlier pipe made gets its list first (`pipe clean` keeps bytes without a build's start).
      keptListIn(this.#dir);
      const list = join(this.#dir, KEPT_LIST);
      // A list edited by hand may end without its newline: the hash starts a line of its own.
      appendFileSync(list, `${endsWithNewline(list) ? "" : "\n"}${hash}\n`, { mode: 0o600 });
    }
    if ((!o.loose && this.#pack.has(hash)) || existsSync(dst)) return;
    this.#store(dst, "cache-file-rename", (tmp) => {
      copyBytes(src, tmp);
      chmodSync(tmp, 0o444);
    });
    this.#dropped.delete(hash);
  }

  /**
   * Stores bytes already in memory (an output that was read to hash it): small ones into the
   * pack, others with the same temp-and-rename as putFile.
   */
  putBytes(bytes: Uint8Array, hash: string): void {
    if (bytes.length < PACK_MAX && this.#pack.put(bytes, hash)) {
      this.#dropped.delete(hash);
      return;
    }
    const dst = this.objectPath(hash);
    if (existsSync(dst)) return;
    // Created read-only (0444): a file mode is only ever narrowed by the umask.
    this.#store(dst, "cache-bytes-rename", (tmp) => writeFileSync(tmp, bytes, { flag: "wx", mode: 0o444 }));
    this.#dropped.delete(hash);
  }

  /** Stores a directory tree (its files as objects plus a manifest); `hash` is its tree hash. */
  putDir(src: string, hash: string, hashFile: (abs: string) => string): void {
    const manifest = join(this.#dir, "trees", `${hash}.json`);
    // Stored already, unless a restore in this process found part of it bad (see #dropped):
    // then every member is stored again (those still good are skipped) and the manifest rewritten.
    if (this.#dropped.size === 0 && existsSync(manifest)) return;
    const entries: TreeEntry[] = [];
    // `mode`: the folder's own, from the stat its parent made (a private 0700 folder comes back private).
    const walk = (abs: string, rel: string, mode: number) => {
      const names = readdirSync(abs).sort();
      if (names.length === 0 && rel !== "") entries.push({ path: rel, type: "d" });
      entries.push({ path: rel, type: "m", mode: mode & 0o777 });
      for (const name of names) {
        const p = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(p);
        if (st.isSymbolicLink()) entries.push({ path: r, type: "l", link: readlinkSync(p) });
        else if (st.isDirectory()) walk(p, r, st.mode);
        else if (st.isFile()) {
          const h = hashFile(p);
          // Small members go into the pack too, when the bytes read are the ones hashed.
          const bytes = st.size < PACK_MAX ? readFileSync(p) : undefined;
          if (bytes && hashBytes(bytes) === h) this.putBytes(bytes, h);
          else this.putFile(p, h);
          entries.push({ path: r, type: "f", hash: h, exec: (st.mode & 0o111) !== 0, mode: st.mode & 0o777 });
        }
      }
    };
    walk(src, "", lstatSync(src).mode);
    if (existsSync(manifest) && !this.#dropped.has(hash)) return;
    this.#store(manifest, "cache-tree-rename", (tmp) => writeFileSync(tmp, JSON.stringify(entries)));
    this.#dropped.delete(hash);
  }

  /**
   * Materialises a cached output at `dest` (a temp path next to the final one; the caller
   * renames it into place). Returns false when the entry is missing or damaged.
   */
  materialize(hash: string, kind: "file" | "dir", dest: string, mode?: number): boolean {
    try {
      if (kind === "file") return this.#copyVerified(hash, dest, mode ?? 0o644);
      const manifest = join(this.#dir, "trees", `${hash}.json`);
      const entries = JSON.parse(readFileSync(manifest, "utf8")) as TreeEntry[];
      // A manifest must describe the tree it is named after, as a file's bytes must hash to its
      // name: a damaged one (an exec bit or a link target changed, still valid JSON) was restored
      // as it was, found by a review. It is dropped and the target rebuilds.
      if (!Array.isArray(entries) || manifestHash(entries) !== hash) {
        rmSync(manifest, { force: true });
        throw new Error(`cache tree ${hash} is damaged`);
      }
      mkdirSync(dest, { recursive: true });
      const rootAbs = resolve(dest);
      const folderModes: [string, number][] = [];
      for (const e of entries) {
        if (e.type === "m") {
          const target = resolve(dest, e.path);
          if ((target !== rootAbs && !target.startsWith(rootAbs + sep)) || typeof e.mode !== "number") throw new Error(`cache entry rejected: folder mode ${JSON.stringify(e.path)}`);
          folderModes.push([target, e.mode & 0o777]);
          continue;
        }
        // A manifest is data: refuse members that would land outside the folder.
        const target = resolve(dest, e.path);
        if (!target.startsWith(rootAbs + sep) || e.path.includes("\0")) throw new Error(`cache entry rejected: member ${JSON.stringify(e.path)} escapes its folder`);
        mkdirSync(e.type === "d" ? target : dirname(target), { recursive: true });
        if (e.type === "f") {
          // Its mode as stored (a 0600 file stays private), else (older manifests) from the exec bit.
          const mode = typeof e.mode === "number" ? e.mode & 0o777 : e.exec ? 0o755 : 0o644;
          if (!this.#copyVerified(e.hash!, target, mode)) throw new Error(`missing object ${e.hash}`);
        } else if (e.type === "l") symlinkSync(e.link!, target);
      }
      // Last, deepest first: a folder that may not be written (0500) is filled before. Modes are
      // not in the hash that vouches for the manifest: only a real folder of this tree is
      // changed (no link on the way: a crafted "m" entry under a member link would reach out).
      folderModes.sort((a, b) => b[0].length - a[0].length);
      const realRoot = realpathSync(rootAbs);
      for (const [folder, mode] of folderModes) {
        if (realpathSync(folder) !== join(realRoot, relative(rootAbs, folder)) || !lstatSync(folder).isDirectory()) throw new Error(`cache entry rejected: folder mode of ${JSON.stringify(folder)}`);
        chmodSync(folder, mode);
      }
      return true;
    } catch {
      removeTree(dest);
      this.#dropped.add(hash);
      return false;
    }
  }

  #copyVerified(hash: string, dest: string, mode: number): boolean {
    const bytes = this.#pack.read(hash);
    if (bytes !== undefined) {
      if (hashBytes(bytes) === hash) {
        writeFileSync(dest, bytes, { mode });
        chmodSync(dest, mode);
        return true;
      }
      this.#pack.forget(hash); // damaged: the target rebuilds and stores it again
      this.#dropped.add(hash);
    }
    const src = this.objectPath(hash);
    if (!existsSync(src)) {
      this.#dropped.add(hash);
      return false;
    }
    // A loose object may be gigabytes: copied and read back with Ctrl-C ending pipe at once.
    const good = withDefaultSignals(() => {
      copyBytes(src, dest);
      chmodSync(dest, mode);
      // In chunks: an output may be bigger than memory (a restore must not read it whole).
      return hashFileStreaming(dest) === hash;
    });
    if (!good) {
      unlinkSync(dest);
      try {
        unlinkSync(src); // damaged: drop it so the target rebuilds and re-stores it
      } catch {
        // already gone
      }
      this.#dropped.add(hash);
      return false;
    }
    return true;
  }

  /**
   * Checks one entry (`pipe status --verify`): undefined when it is there and its bytes hash to
   * its name, else what is wrong. Reads only; a damaged entry is reported, not dropped.
   */
  verify(hash: string, kind: "file" | "dir"): string | undefined {
    if (kind === "file") {
      const p = this.objectPath(hash);
      const packed = this.#pack.read(hash);
      if (packed === undefined && !existsSync(p)) return `cache object ${hash} is missing`;
      // Every copy there is must be intact (a packed one is what restores read first).
      const got = packed !== undefined ? hashBytes(packed) : hashFileStreaming(p);
      if (got !== hash) return `cache object ${hash} is damaged: its bytes hash to ${got}`;
      if (packed !== undefined && existsSync(p)) {
        const loose = hashFileStreaming(p);
        if (loose !== hash) return `cache object ${hash} is damaged: its bytes hash to ${loose}`;
      }
      return undefined;
    }
    const manifest = join(this.#dir, "trees", `${hash}.json`);
    let entries: TreeEntry[];
    try {
      entries = JSON.parse(readFileSync(manifest, "utf8")) as TreeEntry[];
    } catch (e) {
      return existsSync(manifest) ? `cache tree ${hash} is damaged: ${(e as Error).message}` : `cache tree ${hash} is missing`;
    }
    const got = manifestHash(entries);
    if (got !== hash) return `cache tree ${hash} is damaged: its manifest hashes to ${got}`;
    for (const e of entries) {
      if (e.type !== "f") continue;
      const problem = this.verify(e.hash!, "file");
      if (problem) return `${problem} (member ${e.path} of tree ${hash})`;
    }
    return undefined;
  }

  /** A short path to show users for a cached file ("pipe keeps the edited bytes at ..."). */
  displayPath(hash: string, root: string): string {
    return relative(root, this.objectPath(hash));
  }
}

/** The tree hash a manifest describes (its name, when it is intact). */
function manifestHash(entries: TreeEntry[]): string {
  return treeHash(entries.filter((e) => e.type !== "m").map((e) => treeLine(e.type === "d" ? { type: "d", path: e.path } : e.type === "l" ? { type: "l", path: e.path, link: e.link ?? "" } : { type: "f", path: e.path, exec: e.exec === true, hash: e.hash ?? "" })));
}

function hashFileStreaming(path: string): string {
  const fd = openSync(path, "r");
  try {
    return hashFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes the cache temps killed pipes left (call with the project lock held; see OutputCache #tmp). */
export function sweepCacheTemps(stateDir: string): void {
  const dir = join(stateDir, "cache", "tmp");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) removeTree(join(dir, name));
}

/** A file with this much less allocated than its size is sparse (mostly holes). */
const SPARSE_SLACK = 1 << 20;

/**
 * Copies a file's bytes (reflink where the filesystem can). A sparse file (a `truncate -s 5G`
 * image, an np.memmap) goes through `cp --sparse=always`: node's copy writes its holes as zeros,
 * and a 4 KB output took 5 GB in the cache and again when restored. Without GNU cp, node's copy.
 */
export function copyBytes(src: string, dest: string): void {
  const st = statSync(src);
  if (st.blocks * 512 + SPARSE_SLACK < st.size && spawnSync("cp", ["--sparse=always", "--", src, dest], { stdio: "ignore" }).status === 0) return;
  copyFileSync(src, dest, constants.COPYFILE_FICLONE);
}
