/**
 * Writes the no-op snapshot after a build (see snapshot.ts for what it holds and why). Every
 * fact is checked as it is taken: a file whose bytes are no longer the ones the build's
 * fingerprints used, or a folder whose listing is not the one a glob saw, means no snapshot
 * (the next build plans normally, which is always correct).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { PlannedTarget } from "../events.ts";
import type { Graph } from "../graph/graph.ts";
import type { FileHasher } from "../hash/file-hasher.ts";
import { hashBytes, hashString } from "../hash/xxh.ts";
import type { Compiled } from "../load/compile.ts";
import { listFolder, listingHash, resolutionFact, statSeen, type LoadTrace } from "../load/trace.ts";
import type { OutputRecord } from "../state/records.ts";
import { machineKey } from "../state/machine-key.ts";
import { deltaPath, encodeRows, envMac, eventsPath, hashAt, exactFact, FILE_NUMS, HASH_LEN, runtimeId, sealDelta, sealSnapshot, snapshotPath, DELTA_FORMAT, DELTA_VERSION, SEAL_LEN, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, SNAPSHOTS_KEPT, type Delta, type DeltaRow, type DirFact, type ExactFact, type FileFact, type FileTable, type Snapshot } from "./snapshot.ts";
import type { Trust } from "./partial.ts";
import { removeFile, writeFileAtomic } from "../state/atomic.ts";

export interface SnapshotSource {
  root: string;
  stateDir: string;
  key: string;
  today: string;
  env: NodeJS.ProcessEnv;
  graph: Graph;
  hasher: FileHasher;
  compiled: Compiled;
  packageFiles: Iterable<string>;
  trace: LoadTrace;
  globLists: Map<string, string>;
  /** The build-started event's targets and plan. */
  targets: string[];
  plan: PlannedTarget[];
  settled: Map<string, { inputs: [string, string][]; outputs: OutputRecord[] }>;
  /** Targets this build trusted from the previous snapshot, and that snapshot's facts. */
  carried?: Trust;
}

class NoSnapshot extends Error {}

/** Removes the snapshot of a request (a build that cannot vouch for a no-op). */
export function dropSnapshot(root: string, key: string): void {
  const path = snapshotPath(root, key);
  removeFile(path);
  removeFile(eventsPath(path));
  removeFile(deltaPath(path));
}

/**
 * Writes the snapshot for `src.key`, or removes a stale one when this build cannot vouch for
 * a no-op. Returns why not, for tests (undefined when written).
 */
export function writeSnapshot(src: SnapshotSource): string | undefined {
  const path = snapshotPath(src.root, src.key);
  const key = () => machineKey(process.env, src.stateDir).key;
  let delta: Delta | undefined;
  try {
    delta = deltaFor(src, path);
  } catch {
    delta = undefined; // write the whole snapshot instead
  }
  if (delta) {
    writeFileAtomic(deltaPath(path), sealDelta(delta, key()));
    return undefined;
  }
  dropSnapshot(src.root, src.key);
  let snap: Snapshot;
  try {
    snap = collect(src);
  } catch (e) {
    if (e instanceof NoSnapshot) return e.message;
    // The snapshot is only a shortcut: a bug in making it must not fail a good build (the
    // next build plans in full, which is always correct).
    return `internal error: ${(e as Error)?.stack ?? String(e)}`;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, sealSnapshot(snap, key()));
  prune(dirname(path));
  return undefined;
}

/** Temp files in .pipe/noop/ older than this are a killed pipe's leftovers. */
const STALE_TMP_MS = 10 * 60_000;

/** Deltas bigger than this fraction of the snapshot's rows are written as a whole snapshot. */
const DELTA_FRACTION = 8;

/**
 * A delta to the snapshot this build started from, when that is all that changed: a build from
 * a partial graph (the plan and every other target's files are the snapshot's), each rebuilt
 * target read and wrote the same files as before (only their facts changed), the load read
 * nothing the snapshot does not hold, and that snapshot is still the file on disk. Undefined
 * otherwise: the caller writes the whole snapshot.
 */
function deltaFor(src: SnapshotSource, path: string): Delta | undefined {
  const carried = src.carried;
  const old = carried?.snapshot;
  if (!carried?.partialGraph || !old?.seal || src.trace.opaque.length || old.today !== src.today || old.runtime !== runtimeId()) return undefined;
  if (src.plan.length !== old.plan.length || JSON.stringify(src.targets) !== JSON.stringify(old.targets)) return undefined;
  // The snapshot on disk must still be the one this build trusted.
  const fd = openSync(path, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(SEAL_LEN);
    head = buf.subarray(0, readSync(fd, buf, 0, SEAL_LEN, 0)).toString("latin1");
  } finally {
    closeSync(fd);
  }
  if (head !== old.seal) return undefined;
  // What the load read, listed, stat-ed and globbed must be facts the snapshot holds already.
  const envNames = new Set(old.envNames);
  for (const n of src.trace.env) if (!envNames.has(n)) return undefined;
  const loose = new Set<string>();
  for (const p of old.files.paths) if (p.charCodeAt(0) === 47) loose.add(p);
  const dirs = new Set(old.dirs.map((d) => d[0]));
  const stats = new Set(old.stats.map((x) => x[0]));
  for (const [abs, hash] of src.trace.reads) if (!(hash === "-" ? stats : loose).has(abs)) return undefined;
  for (const [abs, listing] of [...src.trace.lists, ...src.globLists]) if (!(listing === "-" ? stats : dirs).has(abs)) return undefined;
  for (const [abs] of src.trace.stats) if (!stats.has(abs)) return undefined;
  for (const [abs] of src.compiled.sources) if (!loose.has(abs)) return undefined;
  for (const abs of src.packageFiles) if (!loose.has(abs)) return undefined;
  // The rebuilt targets' facts, row by row; the rows of earlier deltas keep theirs.
  const rows = new Map<number, DeltaRow>();
  const { paths, nums } = old.files;
  // Rows a trusted target reads or writes: their bytes must be the ones its run used.
  const trustedRow = new Uint8Array(paths.length);
  for (let i = 0; i < old.plan.length; i++) if (carried.trusted.has(old.plan[i][0])) for (const r of carried.rows[i]) trustedRow[r] = 1;
  const fact = (row: number): DeltaRow => {
    const k = row * FILE_NUMS;
    return [row, paths[row], nums[k], nums[k + 1], nums[k + 2], nums[k + 3], nums[k + 4], nums[k + 5], nums[k + 6], hashAt(old.files, row)];
  };
  for (const row of old.deltaRows ?? []) rows.set(row, fact(row));
  const fresh = new Map<number, string>();
  for (let i = 0; i < src.plan.length; i++) {
    const id = src.plan[i].target;
    if (old.plan[i]?.[0] !== id) return undefined;
    if (carried.trusted.has(id)) continue;
    const s = src.settled.get(id);
    const t = src.graph.targets.get(id);
    if (!s || !t) return undefined;
    for (const n of t.env) if (!envNames.has(n)) return undefined;
    const files: [string, string][] = [...s.inputs];
    for (const o of s.outputs) {
      if (o.kind !== "file") return undefined;
      files.push([o.path, o.hash]);
    }
    const before = carried.rows[i];
    if (before.length !== files.length) return undefined;
    for (let j = 0; j < files.length; j++) {
      const [rel, hash] = files[j];
      const row = before[j];
      if (rel.endsWith("/") || paths[row] !== rel) return undefined;
      if (fresh.has(row)) {
        if (fresh.get(row) !== hash) return undefined;
        continue;
      }
      // Changed after the no-op check, and a trusted target uses it: not a delta, and the whole
      // snapshot will not be written either (collect: "has two hashes").
      if (trustedRow[row] && hash !== hashAt(old.files, row)) return undefined;
      const f = projectFact(src, rel, hash);
      if (!f) return undefined;
      fresh.set(row, hash);
      rows.set(row, [row, rel, f[1], f[2], f[3], f[4], f[5], f[7], f[8], hash]);
    }
  }
  if (rows.size * DELTA_FRACTION > paths.length) return undefined;
  return { format: DELTA_FORMAT, version: DELTA_VERSION, base: old.seal, exact: stateFacts(src.stateDir), rows: [...rows.values()] };
}

function collect(src: SnapshotSource): Snapshot {
  const no = (why: string): never => {
    throw new NoSnapshot(why);
  };
  if (src.trace.opaque.length) no(`the Pipelinefile read ${src.trace.opaque.join(", ")} while loading`);
  const files = new TableBuilder();
  // Each plan entry's rows (a count, then the rows), while no target has a folder input or output.
  let byTarget: number[] | undefined = [];
  const dirs = new Map<string, DirFact>();
  const stats = new Map<string, string>();

  // A project file whose hash must be `hash`.
  const fileFact = (rel: string, hash: string): number => {
    const known = files.rowOf(rel);
    if (known !== undefined) {
      if (files.hashAt(known) !== hash) no(`${rel} has two hashes`);
      return known;
    }
    return files.set(projectFact(src, rel, hash) ?? no(`${rel} is gone`));
  };
  // A folder input or output: its tree, file by file, folder by folder.
  const treeFacts = (rel: string, hash: string) => {
    byTarget = undefined;
    const h = src.hasher.hashPath(rel);
    if (h.kind !== "dir" || h.hash !== hash) no(`${rel}/ changed during the build`);
    const walk = (relDir: string) => {
      const abs = join(src.root, relDir);
      const at = Date.now();
      const st = statSync(abs);
      const entries = readdirSync(abs, { withFileTypes: true });
      dirs.set(relDir, [relDir, st.ino, st.mtimeMs, listingHash(entries), at, st.ctimeMs, st.dev]);
      for (const d of entries) {
        const child = `${relDir}/${d.name}`;
        if (d.isDirectory()) walk(child);
        else if (d.isFile()) {
          const e = src.hasher.cache.get(child);
          if (!e) no(`${child} was not hashed`);
          // The exec bit is part of the folder's hash: the fact keeps it, a chmod voids it.
          const now = statSync(join(src.root, child), { throwIfNoEntry: false });
          if (!now || now.ino !== e!.ino || now.mtimeMs !== e!.mtimeMs || now.ctimeMs !== e!.ctimeMs) no(`${child} changed during the build`);
          files.set([child, e!.dev, e!.ino, e!.size, e!.mtimeMs, e!.ctimeMs, e!.hash, e!.hashedAt, (now!.mode & 0o111) !== 0 ? 1 : 0]);
        } else if (d.name.startsWith(".pipe-tmp-")) continue;
        // A symlink's target text is part of the folder's hash; no fact here covers it.
        else no(`${child} is not a regular file or folder`);
      }
    };
    walk(rel);
  };
  // A file outside the graph (a source, a package.json, a file the Pipelinefile read).
  const looseFact = (abs: string, expect?: (bytes: Buffer) => boolean) => {
    const at = Date.now();
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st || !st.isFile()) return no(`${abs} is gone`);
    const bytes = readFileSync(abs);
    if (expect && !expect(bytes)) no(`${abs} changed during the build`);
    files.set([abs, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, hashBytes(bytes), at, -1]);
  };
  /** A folder's listing as a fact: whole, or (`resolution`) only what can change where an import resolves. */
  const dirFact = (abs: string, listing: string | undefined, resolution = false) => {
    const at = Date.now();
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st || !st.isDirectory()) return no(`${abs} is not a folder any more`);
    const now = resolution ? resolutionFact(abs) : listFolder(abs);
    if (listing !== undefined && now !== listing) no(`${abs} gained or lost entries during the build`);
    dirs.set(abs, [abs, st.ino, st.mtimeMs, now, at, st.ctimeMs, st.dev]);
  };

  // The targets: the inputs their fingerprints used, the outputs their records hold.
  const envNames = new Set(src.trace.env);
  const carried = src.carried;
  const old = carried?.snapshot;
  if (carried?.partialGraph) {
    // The graph holds only the targets this build planned: what the others declared (env
    // vars, globbed folders, files stat-ed) is the previous snapshot's, which was checked.
    for (const n of old!.envNames) envNames.add(n);
    for (const d of old!.dirs) dirs.set(d[0], d);
    for (const [abs, seen] of old!.stats) stats.set(abs, seen);
    // Files outside the project (what the Pipelinefile's code read, packages): fresh facts
    // below replace these where this build looked again.
    const { paths } = old!.files;
    for (let i = 0; i < paths.length; i++) if (paths[i].charCodeAt(0) === 47) files.copy(old!.files, i);
  }
  const rows: number[] = [];
  const keys: (Record<string, unknown> | null)[] = [];
  for (let i = 0; i < src.plan.length; i++) {
    const p = src.plan[i];
    rows.length = 0;
    const inGraph = src.graph.targets.get(p.target);
    keys.push(inGraph ? (inGraph.key ?? null) : (old?.keys?.[i] ?? null));
    if (carried?.trusted.has(p.target)) {
      // Its files are unchanged since the previous snapshot, which vouched for it (and the plan
      // is that snapshot's, so its rows are at the same index).
      if (old!.plan[i]?.[0] !== p.target) no(`the plan moved ${p.target}`);
      for (const r of carried.rows[i]) rows.push(files.copy(old!.files, r));
      for (const n of inGraph?.env ?? []) envNames.add(n);
    } else {
      const s = src.settled.get(p.target);
      if (!s) no(`${p.target} did not finish`);
      for (const [path, hash] of s!.inputs) {
        if (path.endsWith("/")) treeFacts(path.slice(0, -1), hash);
        else rows.push(fileFact(path, hash));
      }
      for (const o of s!.outputs) {
        if (o.kind === "dir") treeFacts(o.path, o.hash);
        else rows.push(fileFact(o.path, o.hash));
      }
      for (const n of inGraph?.env ?? []) envNames.add(n);
    }
    if (byTarget) {
      // A loop: a target can read more files than a call takes arguments.
      byTarget.push(rows.length);
      for (const r of rows) byTarget.push(r);
    }
  }

  // The Pipelinefile and what it depends on.
  for (const [abs, textHash] of src.compiled.sources) {
    looseFact(abs, (b) => hashString(b.toString("utf8")) === textHash);
    // A new module file next to a module could change what an import resolves to; a log or a
    // note cannot (the compile cache's own test: load/trace.ts resolutionListing). A whole
    // listing here voided the snapshot whenever any file came or went beside the Pipelinefile.
    if (!dirs.has(dirname(abs))) dirFact(dirname(abs), undefined, true);
  }
  for (const abs of src.packageFiles) {
    looseFact(abs);
    // Where the package's folder leads: a copy from the registry replaced by a link to a
    // checkout of the same version (`npm link`) left package.json the same, and the snapshot
    // then vouched for every later edit of the linked code (found by a review).
    if (abs.endsWith(`${sep}package.json`)) stats.set(dirname(abs), statSeen(dirname(abs)));
  }
  for (const [abs, hash] of src.trace.reads) {
    if (hash === "-") stats.set(abs, "-");
    else looseFact(abs, (b) => hashBytes(b) === hash);
  }
  for (const [abs, listing] of [...src.trace.lists, ...src.globLists]) {
    if (listing === "-") stats.set(abs, "-");
    else dirFact(abs, listing);
  }
  for (const [abs, seen] of src.trace.stats) {
    if (statSeen(abs) !== seen) no(`${abs} changed during the build`);
    stats.set(abs, seen);
  }

  const keyPath = join(src.stateDir, "env-key");
  const envKey = existsSync(keyPath) ? readFileSync(keyPath, "utf8").trim() : no("no env key");
  // Absent is a fact too (ino -1): a journal that appears later voids the snapshot.
  const exact = stateFacts(src.stateDir);
  const names = [...envNames].sort();
  const table = files.table();
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    key: src.key,
    runtime: runtimeId(),
    today: src.today,
    envNames: names,
    envMac: envMac(names, src.env, envKey as string),
    exact,
    files: table,
    dirs: [...dirs.values()],
    stats: [...stats],
    targets: src.targets,
    plan: src.plan.map((p) => [p.target, ...(p.deps ?? [])]),
    planSize: src.plan.length,
    targetRows: byTarget ? encodeRows(byTarget) : "",
    keys,
  };
}

/**
 * The fact about a project file whose hash the build used: the stat cache's (stat -> hash) when
 * it holds that hash; else (an output written a moment ago, too recent to trust by stat) the
 * stat now with the build's hash, read at time 0: the next check reads the file, and any other
 * bytes send it down the full path. Undefined when it is no longer a regular file.
 */
function projectFact(src: SnapshotSource, rel: string, hash: string): FileFact | undefined {
  const e = src.hasher.cache.get(rel);
  if (e && e.hash === hash) return [rel, e.dev, e.ino, e.size, e.mtimeMs, e.ctimeMs, hash, e.hashedAt, -1];
  const st = statSync(join(src.root, rel), { throwIfNoEntry: false });
  return st && st.isFile() ? [rel, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, hash, 0, -1] : undefined;
}

/** The state facts: the records journal and the env key (ino -1: absent). */
function stateFacts(stateDir: string): ExactFact[] {
  return [join(stateDir, "records.jsonl"), join(stateDir, "env-key")].map((p) => exactFact(p) ?? [p, -1, -1, -1, -1]);
}

/**
 * The file facts being collected, straight into the snapshot's columns (one row per path):
 * a build that trusted most targets copies their rows from the previous table.
 */
class TableBuilder {
  readonly #paths: string[] = [];
  readonly #nums: number[] = [];
  readonly #hashes: string[] = [];
  readonly #rows = new Map<string, number>();

  rowOf(path: string): number | undefined {
    return this.#rows.get(path);
  }

  hashAt(row: number): string {
    return this.#hashes[row];
  }

  /** Sets the fact about a path (replacing an earlier one: a folder's member keeps its exec bit); returns its row. */
  set(f: FileFact): number {
    if (f[6].length !== HASH_LEN) throw new NoSnapshot(`${f[0]} has a content hash of ${f[6].length} characters`);
    const row = this.#rows.get(f[0]);
    if (row !== undefined) {
      this.#nums.splice(row * FILE_NUMS, FILE_NUMS, f[1], f[2], f[3], f[4], f[5], f[7], f[8]);
      this.#hashes[row] = f[6];
      return row;
    }
    const added = this.#paths.length;
    this.#rows.set(f[0], added);
    this.#paths.push(f[0]);
    this.#nums.push(f[1], f[2], f[3], f[4], f[5], f[7], f[8]);
    this.#hashes.push(f[6]);
    return added;
  }

  /** Adds row `i` of another table, unless its path is here already; returns its row here. */
  copy(from: FileTable, i: number): number {
    const path = from.paths[i];
    const known = this.#rows.get(path);
    if (known !== undefined) {
      // A trusted target's file that a rebuilt one read with other bytes (it changed after the
      // no-op check): the trusted target's run used the old bytes, so nothing may vouch for it.
      if (this.#hashes[known] !== hashAt(from, i)) throw new NoSnapshot(`${path} has two hashes`);
      return known;
    }
    const added = this.#paths.length;
    this.#rows.set(path, added);
    this.#paths.push(path);
    const n = from.nums;
    for (let k = i * FILE_NUMS, end = k + FILE_NUMS; k < end; k++) this.#nums.push(n[k]);
    this.#hashes.push(hashAt(from, i));
    return added;
  }

  table(): FileTable {
    return { paths: this.#paths, nums: this.#nums, hashes: this.#hashes.join("") };
  }
}

/** Keeps the newest SNAPSHOTS_KEPT snapshots (one per request). */
function prune(dir: string): void {
  let all: string[];
  try {
    all = readdirSync(dir);
  } catch {
    return;
  }
  const names = all.filter((n) => n.endsWith(".json"));
  const mtime = (n: string) => statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (names.length > SNAPSHOTS_KEPT) {
    // A request answered through deltas is as recent as its delta.
    const aged = names.map((n) => ({ n, t: Math.max(mtime(n), mtime(n.replace(/\.json$/, ".delta"))) })).sort((a, b) => b.t - a.t);
    for (const { n } of aged.slice(SNAPSHOTS_KEPT)) rmSync(join(dir, n), { force: true });
  }
  // A snapshot's events file and delta go with it; a temp file a killed pipe left is garbage
  // (a live writer renames its own within milliseconds).
  const now = Date.now();
  for (const n of all) {
    if (/\.(events|delta)$/.test(n) && !existsSync(join(dir, n.replace(/\.(events|delta)$/, ".json")))) rmSync(join(dir, n), { force: true });
    else if (n.endsWith(".tmp") && now - mtime(n) > STALE_TMP_MS) rmSync(join(dir, n), { force: true });
  }
}
