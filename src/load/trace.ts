/**
 * What the Pipelinefile's own code looked at while pipe loaded it: files read, folders listed,
 * paths checked, env vars read. The no-op snapshot (src/fast/) may answer "up to date" without
 * loading the Pipelinefile only if all of these are unchanged, so a Pipelinefile that declares
 * targets from `readdirSync("data")` or `process.env.SET` still gets a correct answer.
 *
 * How: `node:fs` (and `fs.promises`, `child_process`) functions are wrapped once per process
 * (`installFsTrace`; `syncBuiltinESMExports()` makes `import { readFileSync } from "node:fs"`
 * see them), and for the duration of a load `process.env` is a proxy and `Date` a subclass. The wrappers record only while
 * user code runs (`user()` around module evaluation and around the inputs/outputs functions the
 * graph builder calls), so pipe's own stats of 10,000 inputs are not recorded twice. What cannot
 * be replayed cheaply (opening file descriptors, streams, child processes, the clock, fetch)
 * marks the trace `opaque`: no snapshot is written and every build loads the Pipelinefile.
 */
import fs, { type Dirent } from "node:fs";
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { hashBytes, hashString } from "../hash/xxh.ts";
import { statSeen } from "../fast/snapshot.ts";

export { statSeen };

/** What a stat-like call saw (see fast/snapshot.ts `statSeen`). */
export type StatSeen = string;

export interface LoadTrace {
  /** Absolute path -> content hash (xxh128 of the bytes) when first read. */
  reads: Map<string, string>;
  /** Absolute folder -> listing hash (see `listingHash`) when first listed. */
  lists: Map<string, string>;
  /** Absolute path -> what stat/exists/access/realpath saw. */
  stats: Map<string, StatSeen>;
  /** Env var names read (or tested with `in`). */
  env: Set<string>;
  /** Why the load cannot be replayed, when it cannot. */
  opaque: string[];
}

/**
 * A folder's listing: its entries' names and kinds (a folder replaced by a file of the same name
 * is a different listing), without pipe's own staging files.
 */
export function listingHash(entries: Iterable<Dirent>): string {
  const kept: string[] = [];
  for (const e of entries) if (!e.name.startsWith(".pipe-tmp-")) kept.push(`${e.isDirectory() ? "d" : e.isFile() ? "f" : e.isSymbolicLink() ? "l" : "o"} ${e.name}`);
  return hashString(kept.sort().join("\n"));
}

/** The listing hash of folder `abs`, read now (with node's own readdir, never a wrapper). */
export function listFolder(abs: string): string {
  return listingHash(realFs.readdirSync(abs, { withFileTypes: true }));
}


function contentHash(abs: string): string | undefined {
  try {
    return hashBytes(realFs.readFileSync(abs));
  } catch {
    return undefined;
  }
}

/** Names an import may resolve to without naming them whole: esbuild's and node's extensions. */
const MODULE_NAME = /(?:^|\.)(?:[cm]?[jt]sx?|json|node|wasm|css)$|^[^.]*$/;

/**
 * The part of folder `abs`'s listing that can change where an import resolves, for the compile
 * cache: files and links with a module's extension or none (`./lib` tries `lib` as it is, then
 * `lib.ts`, `lib.js`, ... and only then the folder `lib/`), and `node_modules` folders. Other
 * folders and files cannot take an import over: an import that resolved keeps its file, and one
 * that did not failed the compile, which is never cached. So `.pipe/`, `build/` or a new
 * `notes.md` at the root no longer make the second build compile the Pipelinefile again (they
 * did, once per new name). Undefined when the folder cannot be listed.
 */
export function resolutionListing(abs: string): string | undefined {
  let entries: Dirent[];
  try {
    entries = realFs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return undefined;
  }
  return listingHash(entries.filter((e) => (e.isDirectory() ? e.name === "node_modules" : MODULE_NAME.test(e.name))));
}

/**
 * A folder fact of the no-op snapshot that holds only its resolution listing: marked "r:" so
 * that the check compares the same kind of listing. "-" when it cannot be listed.
 */
export function resolutionFact(abs: string): string {
  return `r:${resolutionListing(abs) ?? "-"}`;
}

/** The listing of a snapshot's folder fact, read now, of the kind the fact holds. */
export function folderFactNow(abs: string, fact: string): string {
  return fact.startsWith("r:") ? resolutionFact(abs) : listFolder(abs);
}

/** The listing hash of folder `abs`, or undefined when it cannot be listed. */
export function listingOf(abs: string): string | undefined {
  try {
    return listFolder(abs);
  } catch {
    return undefined;
  }
}

// The originals, captured before any patching.
const realFs = {
  readFileSync: fs.readFileSync,
  readdirSync: fs.readdirSync,
};

/**
 * Inside node_modules, what module loading reads (code, package.json, the compile cache), which
 * the packages' versions and the compiled sources account for. Anything else there (a data
 * package's list.json read with readFileSync) is the user's data: a review found an upgraded one
 * passed for unchanged.
 */
function moduleFile(abs: string): boolean {
  return /\.(?:[cm]?js|node|wasm|map|d\.[cm]?ts)$/.test(abs) || abs.endsWith(`${sep}package.json`) || abs.includes(`${sep}node_modules${sep}.cache${sep}`);
}

let current: LoadTrace | undefined;
let depth = 0;
let nested = false;
/** Paths that are not the user's data: packages and compiled modules (node's module loader reads them through fs). */
let ignored: (abs: string) => boolean = () => false;

const toPath = (p: unknown): string | undefined => {
  if (typeof p === "string") return resolve(p);
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  if (p instanceof URL && p.protocol === "file:") return resolve(decodeURIComponent(p.pathname));
  return undefined;
};

function noteRead(p: unknown): void {
  const abs = toPath(p);
  if (abs === undefined) return opaque("a file read by descriptor");
  if (ignored(abs)) return;
  if (!current!.reads.has(abs)) current!.reads.set(abs, contentHash(abs) ?? "-");
}
function noteList(p: unknown, options?: unknown): void {
  const abs = toPath(p);
  if (abs === undefined) return opaque("a folder listed by descriptor");
  if (ignored(abs)) return;
  // `{ recursive: true }` lists the whole tree: every folder in it counts (as node walks it,
  // not into symlinked folders). A review found a file added to a subfolder went unseen.
  const recursive = typeof options === "object" && options !== null && (options as { recursive?: unknown }).recursive;
  if (!recursive) {
    if (!current!.lists.has(abs)) current!.lists.set(abs, listingOf(abs) ?? "-");
  } else {
    const stack = [abs];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = realFs.readdirSync(dir, { withFileTypes: true });
      } catch {
        // The top folder missing is a fact too ("-"); a subfolder gone meanwhile changed its parent's listing.
        if (dir === abs && !current!.lists.has(abs)) current!.lists.set(abs, "-");
        continue;
      }
      if (!current!.lists.has(dir)) current!.lists.set(dir, listingHash(entries));
      for (const e of entries) if (e.isDirectory()) stack.push(join(dir, e.name));
    }
  }
}
function noteStat(p: unknown): void {
  const abs = toPath(p);
  if (abs === undefined) return opaque("a stat by descriptor");
  if (ignored(abs)) return;
  if (!current!.stats.has(abs)) current!.stats.set(abs, statSeen(abs));
}
function opaque(why: string): void {
  if (!current!.opaque.includes(why)) current!.opaque.push(why);
}

type AnyFn = (...args: unknown[]) => unknown;
type Patch = [target: Record<string, unknown>, name: string, note: (arg: unknown, options?: unknown) => void];

const recording = () => current !== undefined && depth > 0;

function patches(): Patch[] {
  const f = fs as unknown as Record<string, unknown>;
  const p = fs.promises as unknown as Record<string, unknown>;
  const cp = childProcess as unknown as Record<string, unknown>;
  const list: Patch[] = [];
  for (const n of ["readFileSync", "readFile"]) list.push([f, n, noteRead]);
  list.push([p, "readFile", noteRead]);
  for (const n of ["readdirSync", "readdir"]) list.push([f, n, noteList]);
  list.push([p, "readdir", noteList]);
  for (const n of ["statSync", "lstatSync", "existsSync", "accessSync", "realpathSync", "stat", "lstat", "exists", "access", "realpath", "readlinkSync", "readlink"]) list.push([f, n, noteStat]);
  for (const n of ["stat", "lstat", "access", "realpath", "readlink"]) list.push([p, n, noteStat]);
  const dark = (why: string) => () => opaque(why);
  for (const n of ["openSync", "open", "opendirSync", "opendir", "createReadStream", "watch", "watchFile"]) list.push([f, n, dark(`fs.${n}`)]);
  for (const n of ["open", "opendir", "watch"]) list.push([p, n, dark(`fs.promises.${n}`)]);
  for (const n of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"]) list.push([cp, n, dark(`child_process.${n}`)]);
  return list;
}

let installed = false;

/**
 * Wraps the `node:fs`, `fs.promises` and `child_process` functions once, for the life of the
 * process. The wrappers only record inside `user(...)` during a trace; otherwise they call
 * through. Once and early (before a command loads its modules), so that packages which keep
 * their own reference to `fs.readdirSync` when they load (fast-glob through @nodelib/fs does)
 * hold the wrapper, and a Pipelinefile that globs with them is traced too.
 */
export function installFsTrace(): void {
  if (installed) return;
  installed = true;
  for (const [target, name, note] of patches()) {
    const orig = target[name];
    if (typeof orig !== "function") continue;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      // Not inside another wrapped call: node's readFileSync calls fs.openSync, and that is not
      // the user's doing.
      if (!recording() || nested) return (orig as AnyFn).apply(this, args);
      nested = true;
      try {
        note(args[0], args[1]);
        return (orig as AnyFn).apply(this, args);
      } finally {
        nested = false;
      }
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    target[name] = wrapped;
  }
  syncBuiltinESMExports();
}

/**
 * Starts recording for one load. Returns the trace and a `stop` that restores the environment
 * and the clock. Recording happens only inside `user(...)`.
 */
export function startTrace(root: string): { trace: LoadTrace; stop: () => void } {
  installFsTrace();
  const trace: LoadTrace = { reads: new Map(), lists: new Map(), stats: new Map(), env: new Set(), opaque: [] };
  if (current) throw new Error("a load trace is already running");
  current = trace;
  const own = fileURLToPath(new URL("../../../", import.meta.url));
  const state = join(root, ".pipe") + sep;
  ignored = (abs) => (abs.includes(`${sep}node_modules${sep}`) && moduleFile(abs)) || abs.startsWith(own) || abs.startsWith(state);
  const undo: (() => void)[] = [];
  const realEnv = process.env;
  process.env = new Proxy(realEnv, {
    get(t, k) {
      if (recording() && typeof k === "string") current!.env.add(k);
      return Reflect.get(t, k);
    },
    has(t, k) {
      if (recording() && typeof k === "string") current!.env.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      if (recording()) opaque("the whole environment (Object.keys(process.env))");
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      if (recording() && typeof k === "string") current!.env.add(k);
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
  undo.push(() => {
    process.env = realEnv;
  });
  const RealDate = Date;
  class TracedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0 && recording()) opaque("the clock (new Date())");
      super(...(args as []));
    }
    static override now(): number {
      if (recording()) opaque("the clock (Date.now())");
      return RealDate.now();
    }
  }
  globalThis.Date = TracedDate as DateConstructor;
  undo.push(() => {
    globalThis.Date = RealDate;
  });
  const g = globalThis as { fetch?: AnyFn };
  const realFetch = g.fetch;
  if (realFetch) {
    g.fetch = (...args: unknown[]) => {
      if (recording()) opaque("the network (fetch)");
      return realFetch(...args);
    };
    undo.push(() => {
      g.fetch = realFetch;
    });
  }
  let stopped = false;
  return {
    trace,
    stop: () => {
      if (stopped) return;
      stopped = true;
      for (const u of undo.reverse()) u();
      current = undefined;
      depth = 0;
      ignored = () => false;
    },
  };
}

/** Runs user code with recording on (a no-op when no trace is running). */
export function user<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/** The async form, for module evaluation: recording stays on until the promise settles. */
export async function userAsync<T>(fn: () => Promise<T>): Promise<T> {
  depth++;
  try {
    return await fn();
  } finally {
    depth--;
  }
}
