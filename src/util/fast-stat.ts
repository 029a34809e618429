/**
 * stat(2) for the no-op check, without building a `fs.Stats` object per call.
 *
 * Why: the no-op check stats every file a build depends on (20,000 at 10,000 targets), and
 * `statSync` makes a Stats object with four Date objects for each: measured in a loop of
 * 20,000, 42-55 ms with statSync against 34 ms reading the numbers node's fs binding fills in
 * (a Float64Array it reuses, the same one statSync reads), out of a no-op of about 180 ms.
 *
 * The binding is node's internal API (`process.binding("fs")`), so it is used only where its
 * shape is known and proven: node 20.19+ (this project's engines), 22 and 24, where
 * process.binding is not wrapped to print a deprecation warning (`--pending-deprecation`), and
 * only after a first call agreed with statSync on the same file, number for number (mtimeMs as
 * node computes it). Anything else, and any doubt, uses statSync: the numbers are the same
 * either way, only their cost differs.
 */
import { statSync } from "node:fs";

/** The numbers of one stat; `mtimeMs` and `ctimeMs` exactly as fs.Stats has them. */
export interface StatNumbers {
  dev: number;
  ino: number;
  mode: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

type BindingStat = (path: string, bigint: false, req: undefined, throwIfNoEntry: false) => Float64Array | undefined;

/** Indices in the binding's array (node's src/node_file.h FsStatsOffset). */
const DEV = 0;
const MODE = 1;
const INO = 7;
const SIZE = 8;
const MTIME_SEC = 12;
const MTIME_NSEC = 13;
const CTIME_SEC = 14;
const CTIME_NSEC = 15;

/** undefined: not decided yet; null: statSync. */
let bindingStat: BindingStat | null | undefined;
/** Tests: force statSync. */
let disabled = false;

/**
 * Whether this node's fs binding is one whose stat() is known here (see the module comment),
 * reachable without a deprecation warning: with --pending-deprecation (or --pending_deprecation,
 * or NODE_PENDING_DEPRECATION=1) node wraps process.binding in its deprecate() function, named
 * "deprecated", which warns (and with --throw-deprecation throws, on a later tick: a review found
 * the underscore spelling got past a check of the flags, and crashed pipe).
 */
function knownNode(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (!((major === 20 && minor >= 19) || major === 22 || major === 24)) return false;
  const binding = (process as unknown as { binding?: { name?: string } }).binding;
  return typeof binding === "function" && binding.name === "binding";
}

function read(a: Float64Array, out: StatNumbers): StatNumbers {
  out.dev = a[DEV];
  out.ino = a[INO];
  out.mode = a[MODE];
  out.size = a[SIZE];
  // As node's msFromTimeSpec: sec * 1e3 + nsec / 1e6.
  out.mtimeMs = a[MTIME_SEC] * 1e3 + a[MTIME_NSEC] / 1e6;
  out.ctimeMs = a[CTIME_SEC] * 1e3 + a[CTIME_NSEC] / 1e6;
  return out;
}

/** The binding's stat, once a call on `probe` agreed with statSync; else null. */
function decide(probe: string): BindingStat | null {
  if (disabled || !knownNode()) return null;
  try {
    const binding = (process as unknown as { binding: (name: string) => { stat?: unknown } }).binding("fs");
    if (typeof binding.stat !== "function") return null;
    const fn = binding.stat.bind(binding) as BindingStat;
    const want = statSync(probe, { throwIfNoEntry: false });
    const got = fn(probe, false, undefined, false);
    if (!want || !(got instanceof Float64Array) || got.length < 18) return null;
    const n = read(got, { dev: 0, ino: 0, mode: 0, size: 0, mtimeMs: 0, ctimeMs: 0 });
    const same = n.dev === want.dev && n.ino === want.ino && n.mode === want.mode && n.size === want.size && n.mtimeMs === want.mtimeMs && n.ctimeMs === want.ctimeMs;
    return same ? fn : null;
  } catch {
    return null;
  }
}

/**
 * Stats `path` (following symlinks, as statSync) into `out`, which it returns; undefined when
 * nothing is there (ENOENT). Other errors (ENOTDIR: a part of the path is a file) throw, as
 * statSync's do. `out` is overwritten by the next call that is given it.
 */
export function statNumbers(path: string, out: StatNumbers): StatNumbers | undefined {
  if (bindingStat === undefined) bindingStat = decide(path);
  if (bindingStat) {
    const a = bindingStat(path, false, undefined, false);
    return a === undefined ? undefined : read(a, out);
  }
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  out.dev = st.dev;
  out.ino = st.ino;
  out.mode = st.mode;
  out.size = st.size;
  out.mtimeMs = st.mtimeMs;
  out.ctimeMs = st.ctimeMs;
  return out;
}

/** Tests: which way statNumbers goes ("binding" or "statSync"), deciding on `probe` if it has not yet. */
export function statWay(probe: string): "binding" | "statSync" {
  if (bindingStat === undefined) bindingStat = decide(probe);
  return bindingStat ? "binding" : "statSync";
}

/** Tests: use statSync from now on (true), or decide again at the next call (false). */
export function forceStatSync(on: boolean): void {
  disabled = on;
  bindingStat = undefined;
}
