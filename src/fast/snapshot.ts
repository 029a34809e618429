/**
 * The no-op snapshot (`.pipe/noop/<request>.json`): after a build in which every requested
 * target ended up to date, what that conclusion rested on, as (stat -> content) facts a later
 * `pipe build` of the same request can check with one stat per file, without loading the
 * Pipelinefile (ninja's trick, made safe for a program that declares the build):
 *
 *   - every input and output file of every target in the build, with the stat it had when its
 *     hash (the one the fingerprint or the record used) was read;
 *   - the Pipelinefile's local modules and the package.json files whose versions entered a code
 *     hash; what the Pipelinefile's code read, listed or stat-ed while loading (see
 *     load/trace.ts); the folders globs listed;
 *   - env vars read while loading and declared by the targets (as an HMAC), today's date (for
 *     `"today"` params), the records journal and env key (any other build invalidates it),
 *     pipe's own version and build.
 *
 * A stat that differs (or is too close to when its content was read: the racy rule) is not a
 * miss yet: the file is hashed (the folder listed) again, and only different content sends the
 * build down the normal path. So `touch` costs a hash of the touched files, not a full plan.
 * When anything cannot be checked this way (a Pipelinefile that reads the clock or runs a
 * command), no snapshot is written.
 *
 * Light on purpose: `pipe build` imports this before anything else.
 */
import { createHash, createHmac } from "node:crypto";
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { isRacy } from "../hash/racy.ts";
import { pipeVersion } from "../util/own-version.ts";

export const SNAPSHOT_FORMAT = "pipe-noop";
export const SNAPSHOT_VERSION = 6;
/** Snapshots kept per project (one per distinct request: targets, params, Pipelinefile). */
export const SNAPSHOTS_KEPT = 16;

/**
 * [path, dev, ino, size, mtimeMs, ctimeMs, content hash, when the content was read (ms), exec].
 * exec: 1 or 0 for a file inside a folder input or output (its exec bit is part of the folder's
 * hash), -1 where it does not count.
 */
export type FileFact = [string, number, number, number, number, number, string, number, number];
/**
 * File facts in columns: parsing 20,000 small arrays cost more than the stats they describe.
 * `nums` holds FILE_NUMS numbers per file (dev, ino, size, mtimeMs, ctimeMs, read at, exec);
 * `hashes` the 32-hex content hashes, concatenated. On disk `nums` is the base64 of their
 * float64 bytes: parsing 120,000 numbers as JSON text was most of the time to open a snapshot.
 */
export interface FileTable {
  paths: string[];
  nums: number[] | Float64Array;
  hashes: string;
}

export const FILE_NUMS = 7;
export const HASH_LEN = 32;

/**
 * Whether fact `i` still vouches for its file's content, given the file's stat now: the same
 * file (dev, ino), size and times, and not racy (changed too close to when it was read).
 */
export function factHolds(t: FileTable, i: number, st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): boolean {
  const n = t.nums;
  const k = i * FILE_NUMS;
  return st.dev === n[k] && st.ino === n[k + 1] && st.size === n[k + 2] && st.mtimeMs === n[k + 3] && st.ctimeMs === n[k + 4] && !isRacy(st.mtimeMs, n[k + 5]);
}

/** Refreshes the stat part of fact `i` (same content, read again at `at`). */
export function refreshFact(t: FileTable, i: number, st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }, at: number): void {
  const k = i * FILE_NUMS;
  t.nums[k] = st.dev;
  t.nums[k + 1] = st.ino;
  t.nums[k + 2] = st.size;
  t.nums[k + 3] = st.mtimeMs;
  t.nums[k + 4] = st.ctimeMs;
  t.nums[k + 5] = at;
}

/**
 * [path, ino, mtimeMs, listing hash (names and kinds), when listed (ms), ctimeMs, dev]. ctime
 * too: a tool that restores mtimes (rsync -a, tar) cannot restore it.
 */
export type DirFact = [string, number, number, string, number, number, number];
/** [path, ino, size, mtimeMs, ctimeMs]: must match exactly (append-only state files). */
export type ExactFact = [string, number, number, number, number];

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  /** The request, as `requestKey` made it. */
  key: string;
  /** pipe's version, node's version, and the stat of pipe's compiled CLI. */
  runtime: string;
  today: string;
  envNames: string[];
  envMac: string;
  exact: ExactFact[];
  /** File facts, by column (see FileTable). Paths without a leading "/" are project-relative. */
  files: FileTable;
  dirs: DirFact[];
  /** [absolute path, what a stat saw] (load/trace.ts `StatSeen`). */
  stats: [string, string][];
  /** The build-started event's targets and plan (id, then its deps; stored as JSON text, parsed when first read). */
  targets: string[];
  plan: string[][];
  /** How many entries the plan has (a no-op's counts, without parsing the plan). */
  planSize: number;
  /**
   * Which rows of `files` each plan entry reads or writes, in plan order: a count, then that
   * many row numbers (base64 of int32s). A partial build uses it to find the targets a changed
   * file touches without building the graph. Empty when some target has a folder input or
   * output (their facts are per file inside the tree): such builds plan in full.
   */
  targetRows: string;
  /**
   * Each plan entry's key, for family instances (null for plain targets): a partial build makes
   * an instance from this, not from its id's text, which can read back as another key. Stored
   * as JSON text, parsed when first read.
   */
  keys: (Record<string, unknown> | null)[];
  /** Not stored: the seal of the file this was read from (set by the reader). */
  seal?: string;
  /** Not stored: the rows a delta changed since that file (set by applyDelta). */
  deltaRows?: number[];
}

export const DELTA_FORMAT = "pipe-noop-delta";
export const DELTA_VERSION = 1;
/** A changed fact: [row, path, dev, ino, size, mtimeMs, ctimeMs, read at, exec, content hash]. */
export type DeltaRow = [number, string, number, number, number, number, number, number, number, string];

/**
 * What a build that trusted all but a few targets changed in the snapshot it started from
 * (`<request>.delta` next to it): those targets' file facts, row by row, and the state facts.
 * Rewriting 2.7 MB to change a few rows was 50 ms of a 10,000-target change build. It names
 * the snapshot it applies to by its seal; a delta for another one is not used.
 */
export interface Delta {
  format: typeof DELTA_FORMAT;
  version: number;
  base: string;
  exact: ExactFact[];
  rows: DeltaRow[];
}

export function deltaPath(snapshot: string): string {
  return snapshot.replace(/\.json$/, ".delta");
}

/** A sealed file's text: an HMAC (machine key) of the JSON, a newline, the JSON. */
function sealText(json: string, key: string): string {
  return `${createHmac("sha256", key).update(json).digest("hex")}\n${json}`;
}

/** The JSON of a sealed file's text, or undefined when it does not verify. */
function unsealText(text: string, key: string): string | undefined {
  const nl = text.indexOf("\n");
  if (nl !== SEAL_LEN) return undefined;
  const json = text.slice(nl + 1);
  return createHmac("sha256", key).update(json).digest("hex") === text.slice(0, nl) ? json : undefined;
}

export function sealDelta(d: Delta, key: string): string {
  return sealText(JSON.stringify(d), key);
}

/** The delta in `text`, or undefined when it does not verify or is of another format. */
export function openDelta(text: string, key: string): Delta | undefined {
  const json = unsealText(text, key);
  if (json === undefined) return undefined;
  const d = JSON.parse(json) as Delta;
  return d.format === DELTA_FORMAT && d.version === DELTA_VERSION && Array.isArray(d.rows) && Array.isArray(d.exact) ? d : undefined;
}

/**
 * Applies a delta to the snapshot it was made for (`seal`: that snapshot's). False, changing
 * nothing, when it was made for another one or a row's path is not the snapshot's.
 */
export function applyDelta(snap: Snapshot, d: Delta, seal: string): boolean {
  if (d.base !== seal) return false;
  const { paths } = snap.files;
  const sorted = [...d.rows].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    if (!Array.isArray(r) || r.length !== 10 || !Number.isInteger(r[0]) || r[0] < 0 || r[0] >= paths.length || paths[r[0]] !== r[1] || typeof r[9] !== "string" || r[9].length !== HASH_LEN) return false;
    if (i > 0 && sorted[i - 1][0] === r[0]) return false; // one fact per row
    for (let j = 2; j < 9; j++) if (typeof r[j] !== "number") return false;
  }
  const nums = snap.files.nums;
  const parts: string[] = [];
  let from = 0;
  for (const [row, , dev, ino, size, mtimeMs, ctimeMs, readAt, exec, hash] of sorted) {
    const k = row * FILE_NUMS;
    nums[k] = dev;
    nums[k + 1] = ino;
    nums[k + 2] = size;
    nums[k + 3] = mtimeMs;
    nums[k + 4] = ctimeMs;
    nums[k + 5] = readAt;
    nums[k + 6] = exec;
    parts.push(snap.files.hashes.slice(from, row * HASH_LEN), hash);
    from = (row + 1) * HASH_LEN;
  }
  parts.push(snap.files.hashes.slice(from));
  snap.files.hashes = parts.join("");
  snap.exact = d.exact;
  snap.deltaRows = sorted.map((r) => r[0]);
  return true;
}

export function encodeRows(rows: readonly number[]): string {
  return Buffer.from(Int32Array.from(rows).buffer).toString("base64");
}

/**
 * The rows of each plan entry (`targetRows` decoded), or undefined when there are none or they
 * do not fit the plan and the table (a damaged or hand-made snapshot is ignored, not trusted).
 */
export function decodeRows(snap: Snapshot): number[][] | undefined {
  if (!snap.targetRows) return undefined;
  const bytes = Buffer.from(snap.targetRows, "base64");
  if (bytes.length % 4 !== 0) return undefined;
  const ints = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out: number[][] = [];
  const n = snap.files.paths.length;
  let k = 0;
  for (let i = 0; i < snap.plan.length; i++) {
    if (k >= ints.length) return undefined;
    const count = ints[k++];
    if (count < 0 || k + count > ints.length) return undefined;
    const rows: number[] = [];
    for (let j = 0; j < count; j++) {
      const r = ints[k++];
      if (r < 0 || r >= n) return undefined;
      rows.push(r);
    }
    out.push(rows);
  }
  return k === ints.length ? out : undefined;
}

/** What identifies a request: the Pipelinefile and what the command line asked for. */
export function requestKey(pipelinefile: string, requested: string[], paramText: Map<string, string>): string {
  return JSON.stringify([pipelinefile, requested, [...paramText].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))]);
}

export function snapshotPath(root: string, key: string): string {
  return join(root, ".pipe", "noop", `${createHash("sha256").update(key).digest("hex").slice(0, 24)}.json`);
}

/** The no-op's rendered NDJSON events kept next to a snapshot (cli/fast-noop.ts). */
export function eventsPath(snapshot: string): string {
  return snapshot.replace(/\.json$/, ".events");
}

/** Length of a sealed snapshot's first line: the hex HMAC. */
export const SEAL_LEN = 64;

/** pipe's own identity: a rebuilt pipe (same version, new code) must not trust old snapshots. */
export function runtimeId(): string {
  const main = new URL("../cli/main.js", import.meta.url);
  const st = statSync(main, { throwIfNoEntry: false });
  return `${pipeVersion()}:${process.version}:${st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "-"}`;
}

/** HMAC of the named env vars' values with the project's env key (secrets never stored in clear). */
export function envMac(names: string[], env: NodeJS.ProcessEnv, key: string): string {
  const h = createHmac("sha256", key);
  for (const n of names) h.update(`${n}\u0000${env[n] === undefined ? "\u0001unset" : env[n]}\u0000`);
  return h.digest("hex").slice(0, 32);
}

/**
 * The file's text: an HMAC (machine key) of the JSON, a newline, the JSON. A snapshot that does
 * not verify (copied, committed, crafted) is ignored like a missing one.
 */
export function sealSnapshot(snap: Snapshot, key: string): string {
  const nums = Buffer.from(Float64Array.from(snap.files.nums).buffer).toString("base64");
  const { seal: _seal, deltaRows: _rows, plan, keys, ...stored } = snap;
  // The plan and the keys as JSON text inside the JSON: a no-op that finds its events file does
  // not need them, and parsing 10,000 small arrays was half of opening the snapshot (8 -> 4 ms).
  return sealText(JSON.stringify({ ...stored, plan: JSON.stringify(plan), keys: JSON.stringify(keys), files: { ...snap.files, nums } }), key);
}

/** Replaces a property holding JSON text with its value, parsed when first read. */
function parseWhenRead(o: object, name: string, text: string): void {
  const settle = (value: unknown) => Object.defineProperty(o, name, { value, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(o, name, {
    enumerable: true,
    configurable: true,
    get() {
      const value: unknown = JSON.parse(text);
      settle(value);
      return value;
    },
    set: settle,
  });
}

/**
 * The snapshot in `text`, or undefined when it does not verify. Read as text
 * (\`readFileSync(path, "utf8")\`): node decodes that natively without a Buffer, and 2.7 MB of
 * Buffer (external memory) made V8 run a full collection during a 10,000-target no-op.
 */
export function openSnapshot(text: string, key: string): Snapshot | undefined {
  const json = unsealText(text, key);
  if (json === undefined) return undefined;
  const snap = JSON.parse(json) as Snapshot;
  const raw: unknown = snap.files?.nums;
  const planText: unknown = snap.plan;
  const keysText: unknown = snap.keys;
  if (typeof raw !== "string" || typeof planText !== "string" || typeof keysText !== "string" || !Number.isInteger(snap.planSize)) return undefined;
  parseWhenRead(snap, "plan", planText);
  parseWhenRead(snap, "keys", keysText);
  const nums = Buffer.from(raw, "base64");
  if (nums.length % 8 !== 0) return undefined;
  // Float64Array needs an 8-byte aligned offset: copy unless the buffer already is.
  snap.files.nums = nums.byteOffset % 8 === 0 ? new Float64Array(nums.buffer, nums.byteOffset, nums.length / 8) : new Float64Array(nums.buffer.slice(nums.byteOffset, nums.byteOffset + nums.length));
  return snap;
}

/**
 * What a stat-like call of the Pipelinefile saw: "-" for absent, "l>target" for a dangling link,
 * else "<kind>:<size>:<mtimeMs>", and "@<real path>" after it when symlinks lead there. The real
 * path counts because `realpathSync`, `readlinkSync` and `lstatSync` are traced with this too:
 * a "current" link moved from data/v1 to data/v2 (a review found it kept the old data) changes
 * it, as does a file link swapped for one of the same size and mtime.
 */
export function statSeen(abs: string): string {
  let st;
  try {
    st = statSync(abs, { throwIfNoEntry: false });
  } catch {
    return "-"; // ENOTDIR, ELOOP: as absent to user code
  }
  if (!st) {
    try {
      return lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() ? `l>${readlinkSync(abs)}` : "-";
    } catch {
      return "-"; // a part of the path is not a folder, or the link went meanwhile
    }
  }
  let real = abs;
  try {
    real = realpathSync.native(abs);
  } catch {
    // gone meanwhile: the kind and times below still differ from what was seen
  }
  const where = real === abs ? "" : `@${real}`;
  const kind = st.isFile() ? "f" : st.isDirectory() ? "d" : "o";
  // A folder's size and mtime change with every entry: what a stat of a folder tells user code
  // is mostly that it exists; the listing, if read, is traced separately.
  return kind === "d" ? `d${where}` : `${kind}:${st.size}:${st.mtimeMs}${where}`;
}

/** Whether a build has (or a dead one had) recipes staging outputs: markers in `.pipe/active/`. */
export function runsInProgress(stateDir: string): boolean {
  try {
    return readdirSync(join(stateDir, "active")).length > 0;
  } catch {
    return false; // no folder: nothing active
  }
}

/** The content hash of row `i` of a file table. */
export function hashAt(t: FileTable, i: number): string {
  return t.hashes.slice(i * HASH_LEN, (i + 1) * HASH_LEN);
}

/** Whether every exact fact still holds (ino -1: the path must not exist). */
export function exactFactsHold(facts: ExactFact[]): boolean {
  for (const [p, ino, size, mtimeMs, ctimeMs] of facts) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (ino === -1 ? st !== undefined : !st || st.ino !== ino || st.size !== size || st.mtimeMs !== mtimeMs || st.ctimeMs !== ctimeMs) return false;
  }
  return true;
}

export function exactFact(path: string): ExactFact | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? [path, st.ino, st.size, st.mtimeMs, st.ctimeMs] : undefined;
}
