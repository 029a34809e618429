/**
 * Writes the no-op snapshot after a build (see snapshot.ts for what it holds and why). Every
 * fact is checked as it is taken: a file whose bytes are no longer the ones the build's
 * fingerprints used, or a folder whose listing is not the one a glob saw, means no snapshot
 * (the next build plans normally, which is always correct).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PlannedTarget } from "../events.ts";
import type { Graph } from "../graph/graph.ts";
import type { FileHasher } from "../hash/file-hasher.ts";
import { hashBytes, hashString } from "../hash/xxh.ts";
import type { Compiled } from "../load/compile.ts";
import { listFolder, listingHash, statSeen, type LoadTrace } from "../load/trace.ts";
import type { OutputRecord } from "../state/records.ts";
import { machineKey } from "../state/machine-key.ts";
import { encodeRows, envMac, eventsPath, hashAt, exactFact, FILE_NUMS, HASH_LEN, runtimeId, sealSnapshot, snapshotPath, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, SNAPSHOTS_KEPT, type DirFact, type ExactFact, type FileFact, type FileTable, type Snapshot } from "./snapshot.ts";
import type { Trust } from "./partial.ts";

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
  rmSync(path, { force: true });
  rmSync(eventsPath(path), { force: true });
}

/**
 * Writes the snapshot for `src.key`, or removes a stale one when this build cannot vouch for
 * a no-op. Returns why not, for tests (undefined when written).
 */
export function writeSnapshot(src: SnapshotSource): string | undefined {
  const path = snapshotPath(src.root, src.key);
  rmSync(path, { force: true });
  rmSync(eventsPath(path), { force: true });
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
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, sealSnapshot(snap, machineKey(process.env, src.stateDir).key), { mode: 0o600 });
  renameSync(tmp, path);
  prune(dirname(path));
  return undefined;
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

  // A project file whose hash must be `hash`: the stat cache holds the (stat -> hash) fact.
  const fileFact = (rel: string, hash: string): number => {
    const known = files.rowOf(rel);
    if (known !== undefined) {
      if (files.hashAt(known) !== hash) no(`${rel} has two hashes`);
      return known;
    }
    const e = src.hasher.cache.get(rel);
    if (e && e.hash === hash) return files.set([rel, e.dev, e.ino, e.size, e.mtimeMs, e.ctimeMs, hash, e.hashedAt, -1]);
    // No (stat -> hash) fact yet: an output written a moment ago (too recent to trust by stat).
    // Record the hash the build used, read at time 0: the next check reads the file, and any
    // other bytes send it down the full path.
    const st = statSync(join(src.root, rel), { throwIfNoEntry: false });
    if (!st || !st.isFile()) no(`${rel} is gone`);
    return files.set([rel, st!.dev, st!.ino, st!.size, st!.mtimeMs, st!.ctimeMs, hash, 0, -1]);
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
  const dirFact = (abs: string, listing: string | undefined) => {
    const at = Date.now();
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st || !st.isDirectory()) return no(`${abs} is not a folder any more`);
    const now = listFolder(abs);
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
    // A new file next to a module could change what an import resolves to.
    if (!dirs.has(dirname(abs))) dirFact(dirname(abs), undefined);
  }
  for (const abs of src.packageFiles) looseFact(abs);
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
  const exact: ExactFact[] = [];
  // Absent is a fact too (ino -1): a journal that appears later voids the snapshot.
  for (const p of [join(src.stateDir, "records.jsonl"), keyPath]) exact.push(exactFact(p) ?? [p, -1, -1, -1, -1]);
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
    targetRows: byTarget ? encodeRows(byTarget) : "",
    keys,
  };
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
    if (known !== undefined) return known;
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
  if (names.length > SNAPSHOTS_KEPT) {
    const aged = names.map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => b.t - a.t);
    for (const { n } of aged.slice(SNAPSHOTS_KEPT)) rmSync(join(dir, n), { force: true });
  }
  // A snapshot's events file goes with it.
  for (const n of all) if (n.endsWith(".events") && !existsSync(join(dir, n.replace(/\.events$/, ".json")))) rmSync(join(dir, n), { force: true });
}
