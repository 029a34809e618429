/**
 * `pipe gc`: removes from the output cache the entries no record names. Records are kept for
 * the 32 newest runs of each target (records.ts compaction), but the bytes of the runs a
 * compaction dropped stayed in the cache for good: a pipeline whose model files change every
 * run grew `.pipe/cache` by a model per run, forever.
 *
 * What stays: every output (file, or directory manifest and its members) that a record in the
 * journal names, or only those of the records `keep` wants (pipe gc --keep-runs); and every object
 * pipe kept for the user (an edited output it replaced: KEPT_LIST, KEPT_EARLIER), which no
 * record names.
 * `.pipe/kept/` (edited directory outputs) is not the cache and is not touched.
 *
 * Crash safety (reliability.md A5): loose objects and manifests are unlinked one by one (each
 * is whole or gone). The pack is rewritten beside the live one (`objects.pack.gc`,
 * `objects.idx.gc`, each synced), then a commit marker is written, then the two are renamed over
 * the live ones and the marker removed. Killed before the marker: the `.gc` files are leftovers,
 * removed by the next writer. Killed after it: the next writer finishes the renames
 * (finishCacheGc), and a reader meanwhile reads the compacted pair (cache.ts Pack). Every entry
 * copied is re-hashed first: damaged bytes are dropped, never carried into the new pack.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { hashBytes } from "../hash/xxh.ts";
import { crashPoint } from "../util/crash-point.ts";
import { ensureKeptList, GC_COMMIT, GC_SUFFIX, HASH_NAME as HASH, INDEX_FILE as IDX, KEPT_EARLIER, KEPT_LIST, PACK_FILE as PACK, PACK_HEADER, parseLine, readKeptList, type TreeEntry } from "./cache.ts";
import { fsyncDir, type BuildRecord, type Keep } from "./records.ts";

export interface GcTally {
  entries: number;
  bytes: number;
}

export interface GcResult {
  /** What stays: entries (pack entries, loose objects, manifests) and their bytes. */
  kept: GcTally;
  /** What was (or, in a dry run, would be) removed. */
  removed: GcTally;
  /** Pack entries whose bytes no longer hash to their name: dropped (counted in removed too). */
  damaged: number;
  /** Objects kept for the user that stay whatever the records say. */
  keptForUser: number;
}

/**
 * Finishes or undoes a `pipe gc` that was killed while it rewrote the pack (call with the
 * project lock held, before anything reads or writes the pack).
 */
export function finishCacheGc(stateDir: string): void {
  const dir = join(stateDir, "cache", "pack");
  if (!existsSync(dir)) return;
  if (existsSync(join(dir, GC_COMMIT))) {
    // Committed: the compacted pair is whole; move whatever is not in place yet.
    for (const name of [PACK, IDX]) if (existsSync(join(dir, name + GC_SUFFIX))) renameSync(join(dir, name + GC_SUFFIX), join(dir, name));
    fsyncDir(dir);
    unlinkSync(join(dir, GC_COMMIT));
    return;
  }
  // Not committed: the live pair was never touched; what was being written is a leftover.
  for (const name of [PACK, IDX]) rmSync(join(dir, name + GC_SUFFIX), { force: true });
}

/**
 * The bytes kept for the user (`all`): KEPT_LIST's, and those of KEPT_EARLIER (an earlier pipe's
 * loose objects) that no record names (`earlier`; a record names a build's output: those go with
 * their runs). Undefined when a list exists and cannot be read: gc must not guess.
 */
export function keptForUser(stateDir: string, records: BuildRecord[]): { all: Set<string>; earlier: Set<string> } | undefined {
  const cacheDir = join(stateDir, "cache");
  const all = readKeptList(join(cacheDir, KEPT_LIST));
  const listed = readKeptList(join(cacheDir, KEPT_EARLIER));
  if (!all || !listed) return undefined;
  // A dry run over a cache no pipe listed kept bytes for yet counts them as the real run would.
  for (const h of ensureKeptList(stateDir, true)) listed.add(h);
  const earlier = new Set<string>();
  if (listed.size) {
    const named = new Set<string>();
    for (const r of records) for (const o of r.outputs) named.add(o.hash);
    for (const h of listed) if (!named.has(h)) earlier.add(h);
  }
  for (const h of earlier) all.add(h);
  return { all, earlier };
}

/**
 * The outputs that stay: those of the records `keep` wants (every record without it), and how
 * many records it does not want (the runs RecordStore.retain then forgets).
 */
export function liveOutputs(records: BuildRecord[], keep?: Keep): { files: Set<string>; trees: Set<string>; forgotten: number } {
  const byTarget = new Map<string, BuildRecord[]>();
  for (const r of records) {
    let list = byTarget.get(r.target);
    if (!list) byTarget.set(r.target, (list = []));
    list.push(r);
  }
  const files = new Set<string>();
  const trees = new Set<string>();
  let forgotten = 0;
  for (const [target, list] of byTarget) {
    // Newest last (journal order, as RecordStore.retain counts them).
    list.forEach((r, i) => {
      if (keep && !keep(target, r.fingerprint, list.length - 1 - i)) return void forgotten++;
      for (const o of r.outputs) (o.kind === "dir" ? trees : files).add(o.hash);
    });
  }
  return { files, trees, forgotten };
}

/**
 * Removes (or with `dryRun` only counts) what `live` does not name. Call with the project lock
 * held (no build writes the cache meanwhile) and after finishCacheGc.
 */
export function collectGarbage(stateDir: string, live: { files: Set<string>; trees: Set<string>; user: Set<string> }, options: { dryRun: boolean }): GcResult {
  const cacheDir = join(stateDir, "cache");
  const result: GcResult = { kept: { entries: 0, bytes: 0 }, removed: { entries: 0, bytes: 0 }, damaged: 0, keptForUser: 0 };
  const files = new Set(live.files);
  const user = live.user;

  // Directory manifests: the live ones name their members, which stay too.
  const treesDir = join(cacheDir, "trees");
  for (const name of listDir(treesDir)) {
    const hash = name.endsWith(".json") ? name.slice(0, -".json".length) : "";
    const abs = join(treesDir, name);
    const size = sizeOf(abs);
    if (!HASH.test(hash)) continue; // not an entry (nothing pipe writes): left alone
    if (live.trees.has(hash)) {
      count(result.kept, size);
      try {
        for (const e of JSON.parse(readFileSync(abs, "utf8")) as TreeEntry[]) if (e.type === "f" && typeof e.hash === "string") files.add(e.hash);
      } catch {
        // A damaged manifest restores nothing (cache.ts drops it when it is used): no members to keep for it.
      }
      continue;
    }
    count(result.removed, size);
    if (!options.dryRun) rmSync(abs, { force: true });
  }

  // Loose objects: bigger outputs, and the bytes kept for the user.
  const objectsDir = join(cacheDir, "objects");
  for (const sub of listDir(objectsDir)) {
    const dir = join(objectsDir, sub);
    for (const hash of listDir(dir)) {
      if (!HASH.test(hash)) continue;
      const abs = join(dir, hash);
      const size = sizeOf(abs);
      if (user.has(hash)) {
        result.keptForUser++;
        count(result.kept, size);
      } else if (files.has(hash)) count(result.kept, size);
      else {
        count(result.removed, size);
        if (!options.dryRun) rmSync(abs, { force: true });
      }
    }
    if (!options.dryRun && listDir(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  }

  compactPack(join(cacheDir, "pack"), (hash) => files.has(hash) || user.has(hash), options.dryRun, result);
  return result;
}

/** Rewrites the pack with the entries `keep` wants (see the top of this file); counts both ways. */
function compactPack(dir: string, keep: (hash: string) => boolean, dryRun: boolean, result: GcResult): void {
  // After a gc killed past its commit (only a dry run sees this: a real one finished it first),
  // the committed pair is the pack, as for any reader (cache.ts Pack).
  const committed = existsSync(join(dir, GC_COMMIT));
  const named = (name: string) => (committed && existsSync(join(dir, name + GC_SUFFIX)) ? name + GC_SUFFIX : name);
  let text: string;
  try {
    text = readFileSync(join(dir, named(IDX)), "latin1");
  } catch {
    return; // no pack
  }
  // An index of another format or version (a newer pipe) is not ours to rewrite.
  if (!text.startsWith(PACK_HEADER)) return;
  let packSize: number;
  try {
    packSize = statSync(join(dir, named(PACK))).size;
  } catch {
    packSize = 0;
  }
  // A later line for a hash wins (a damaged entry stored again), as when the pack is read.
  const entries = new Map<string, { offset: number; length: number }>();
  for (const line of text.slice(PACK_HEADER.length, text.lastIndexOf("\n") + 1).split("\n")) {
    const e = parseLine(line);
    if (e && e.entry.offset + e.entry.length <= packSize) entries.set(e.hash, e.entry);
  }
  const wanted = [...entries].filter(([hash]) => keep(hash)).sort((a, b) => a[1].offset - b[1].offset);
  const wantedBytes = wanted.reduce((n, [, e]) => n + e.length, 0);
  const dead = entries.size - wanted.length;
  if (dead === 0 && wantedBytes === packSize) {
    count(result.kept, packSize, wanted.length);
    return;
  }
  if (dryRun) {
    count(result.kept, wantedBytes, wanted.length);
    count(result.removed, packSize - wantedBytes, dead);
    return;
  }
  const tmpPack = join(dir, PACK + GC_SUFFIX);
  const tmpIdx = join(dir, IDX + GC_SUFFIX);
  const src = openSync(join(dir, PACK), "r");
  const outPack = openSync(tmpPack, "w", 0o600);
  const outIdx = openSync(tmpIdx, "w", 0o600);
  let offset = 0;
  let kept = 0;
  try {
    let lines = PACK_HEADER;
    for (const [hash, e] of wanted) {
      const buf = Buffer.alloc(e.length);
      let got = 0;
      while (got < e.length) {
        const n = readSync(src, buf, got, e.length - got, e.offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got !== e.length || hashBytes(buf) !== hash) {
        result.damaged++;
        continue;
      }
      for (let done = 0; done < buf.length; ) done += writeSync(outPack, buf, done, buf.length - done);
      lines += `${hash} ${offset} ${e.length}\n`;
      offset += e.length;
      kept++;
    }
    writeSync(outIdx, lines);
    fsyncSync(outPack);
    fsyncSync(outIdx);
  } catch (e) {
    closeSync(outPack);
    closeSync(outIdx);
    closeSync(src);
    rmSync(tmpPack, { force: true });
    rmSync(tmpIdx, { force: true });
    throw e;
  }
  closeSync(outPack);
  closeSync(outIdx);
  closeSync(src);
  crashPoint("gc-pack-written");
  // The commit point: from here the compacted pair is the pack (readers and finishCacheGc).
  const marker = openSync(join(dir, GC_COMMIT), "w", 0o600);
  fsyncSync(marker);
  closeSync(marker);
  fsyncDir(dir);
  crashPoint("gc-commit");
  renameSync(tmpPack, join(dir, PACK));
  crashPoint("gc-pack-renamed");
  renameSync(tmpIdx, join(dir, IDX));
  fsyncDir(dir);
  unlinkSync(join(dir, GC_COMMIT));
  count(result.kept, offset, kept);
  count(result.removed, packSize - offset, entries.size - kept);
}

function count(t: GcTally, bytes: number, entries = 1): void {
  t.entries += entries;
  t.bytes += bytes;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function sizeOf(abs: string): number {
  try {
    return lstatSync(abs).size;
  } catch {
    return 0;
  }
}
