/**
 * Opening a project: find and load the Pipelinefile, build the graph, open the state folder.
 * Read-only commands open it without writing anything under `.pipe/`.
 */
import { refuseStateLinks } from "../state/links.ts";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { buildGraph, type BuildOptions, type BuiltGraph } from "../graph/build.ts";
import type { Graph } from "../graph/graph.ts";
import { todayFor } from "../graph/today.ts";
import { startTrace, type LoadTrace } from "../load/trace.ts";
import { FileHasher, type HashProgress, type StatEntry, type StatLike } from "../hash/file-hasher.ts";
import { initHasher } from "../hash/xxh.ts";
import { CodeHasher } from "../load/code-hash.ts";
import { findPipelinefile, loadPipelinefile, type PipelineSpec } from "../load/load.ts";
import { Evaluator } from "../plan/evaluate.ts";
import { ensureKeptList, OutputCache, sweepCacheTemps } from "../state/cache.ts";
import { finishCacheGc } from "../state/cache-gc.ts";
import { RecordStore } from "../state/records.ts";
import { ProjectLock } from "../state/lock.ts";
import { loadStatCache, saveStatCache } from "../state/stat-cache.ts";
import { stateTrackedByGit } from "../state/git-tracked.ts";
import { UserError, writeRefusedHint } from "../util/errors.ts";
import { siteWasMissed } from "../api/site.ts";
import { STAGING_PREFIX, type PublishContext } from "../run/publish.ts";
import { sweepKept } from "../state/kept.ts";
import { sweepTemps, writeFileAtomic } from "../state/atomic.ts";
import { removeProblem, removeTree } from "../util/remove-tree.ts";

export interface ProjectOptions {
  cwd: string;
  file?: string;
  paramText: Map<string, string>;
  requested: string[];
  readOnly: boolean;
  env: NodeJS.ProcessEnv;
  onHashProgress?: HashProgress;
  /**
   * Leave the stat cache alone (neither read nor written): a build the no-op snapshot mostly
   * vouches for hashes a few files, and reading and rewriting 20,000 entries costs more.
   */
  skipStatCache?: boolean;
  /** With skipStatCache: (stat -> hash) facts to start from instead (the no-op snapshot's). */
  seedStats?: Map<string, StatEntry>;
  /** See BuildOptions.lenient (`pipe params`). */
  lenient?: boolean;
  /** See LoadOptions.knownToFinish: the no-op snapshot vouched for the load's code and reads. */
  loadKnownToFinish?: boolean;
}

export interface Project {
  root: string;
  file: string;
  stateDir: string;
  spec: PipelineSpec;
  graph: Graph;
  selected: string[];
  evaluator: Evaluator;
  records: RecordStore;
  hasher: FileHasher;
  warnings: string[];
  /** Saves the stat cache (mutating commands only). */
  saveState(): void;
}

/** What publishing and restoring need of a project, for commands outside a build (clean, hooks). */
export function publishContextOf(project: Project, warn: PublishContext["warn"], scratch: () => string): PublishContext {
  return { root: project.root, stateDir: project.stateDir, cache: project.evaluator.cache, hasher: project.hasher, records: project.records, warn, scratch };
}

/** The Pipelinefile loaded and its graph built: every user mistake is found here, before any state is touched. */
export interface Definition {
  root: string;
  file: string;
  spec: PipelineSpec;
  graph: Graph;
  selected: string[];
  stats: Map<string, StatLike>;
  /** What the Pipelinefile's code read while loading, and the folders globs listed (for the no-op snapshot). */
  trace: LoadTrace;
  globLists: Map<string, string>;
  today: string;
  /** Warnings about the request (param values that change nothing), shown with the state's. */
  warnings: string[];
  /**
   * Set when the graph holds only `subset` (see BuildOptions.subset): `whole()` builds the full
   * graph from the same load when the partial plan cannot be trusted after all.
   */
  partial?: { whole: () => Definition };
}

/**
 * `trace`: record what the Pipelinefile's code reads while loading (the no-op snapshot needs it;
 * only `pipe build` writes one). Without it fs is not patched, and the trace says so (opaque).
 */
export async function loadDefinition(o: Pick<ProjectOptions, "cwd" | "file" | "paramText" | "requested" | "readOnly" | "env" | "lenient" | "loadKnownToFinish"> & { knownStats?: ReadonlyMap<string, StatLike>; trace?: boolean; fresh?: boolean; subset?: BuildOptions["subset"] }): Promise<Definition> {
  const file = findPipelinefile(o.cwd, o.file);
  const root = dirname(file);
  process.chdir(root);
  await initHasher();
  const today = todayFor(o.env);
  const traced = o.trace ? startTrace(root) : undefined;
  const trace: LoadTrace = traced?.trace ?? { reads: new Map(), lists: new Map(), stats: new Map(), env: new Set(), opaque: ["nothing (no trace was taken)"] };
  try {
    // Fresh: from a copy of the compiled folder (with declaration sites), so every module is
    // evaluated again rather than taken from node's module cache.
    return await define(o.fresh === true);
  } catch (e) {
    if (!(e instanceof UserError) || !siteWasMissed()) throw e;
    // The first load records no declaration sites (api/site.ts), and a message needed one: the
    // mistake is looked for again with them, so that its message names the lines. Only the
    // same answer is taken (the same messages); anything else the second time (a Pipelinefile
    // that reads the clock, a package that will not load twice) gets the first, without lines.
    const again = await define(true).then(
      () => undefined,
      (e2: unknown) => e2,
    );
    throw again instanceof UserError && sameMessages(again, e) ? again : e;
  } finally {
    traced?.stop();
  }

  async function define(sites: boolean): Promise<Definition> {
    const spec = await loadPipelinefile(file, { write: !o.readOnly, sites, timeoutMs: loadTimeoutMs(o.env), knownToFinish: o.loadKnownToFinish === true });
    const options = { paramText: o.paramText, requested: o.requested, today, knownStats: o.knownStats, lenient: o.lenient, maxInstances: maxInstances(o.env) };
    if (o.subset) {
      let part: BuiltGraph | undefined;
      try {
        part = buildGraph(spec, { ...options, subset: o.subset });
      } catch {
        // Anything unexpected (an id that names nothing now, a user error): the whole graph
        // below finds and reports it.
      }
      if (part) {
        const whole = (): Definition => {
          // Built after the load's trace ended: what user code reads here is not traced, so
          // this build writes no snapshot (the next one does).
          const g = buildGraph(spec, options);
          const untraced = { ...trace, opaque: [...trace.opaque, "files while planning in full after a partial plan"] };
          return { root, file, spec, graph: g.graph, selected: g.selected, stats: g.stats, trace: untraced, globLists: g.globLists, today, warnings: g.warnings };
        };
        return { root, file, spec, graph: part.graph, selected: part.selected, stats: part.stats, trace, globLists: part.globLists, today, partial: { whole }, warnings: part.warnings };
      }
    }
    const { graph, selected, stats, globLists, warnings } = buildGraph(spec, options);
    return { root, file, spec, graph, selected, stats, trace, globLists, today, warnings };
  }
}

export async function openProject(o: ProjectOptions, def?: Definition): Promise<Project> {
  const loaded = def ?? (await loadDefinition(o));
  const { root, file, spec, graph, selected, stats } = loaded;
  const stateDir = join(root, ".pipe");
  if (!o.readOnly) prepareStateDir(stateDir);
  const records = RecordStore.load(stateDir, { readOnly: o.readOnly });
  // A warning keeps the no-op snapshot from being written (cli/session.ts), so it is shown every time.
  const warnings = [...loaded.warnings, ...records.warnings];
  const tracked = stateTrackedByGit(root);
  if (tracked) warnings.push(tracked);
  const statCache = o.skipStatCache ? (o.seedStats ?? new Map()) : loadStatCache(stateDir, warnings, o.readOnly);
  const hasher = new FileHasher(root, statCache, o.onHashProgress, stats);
  const cache = new OutputCache(stateDir);
  const evaluator = new Evaluator({
    graph,
    records,
    cache,
    hasher,
    code: new CodeHasher(root, spec.compiled, spec.exportedBy, () => [...spec.decls.values()].map((d) => (d.options as { run?: unknown }).run), () => new Set(spec.decls.keys())),
    envKey: envKey(stateDir, o.readOnly),
    env: o.env,
  });
  return {
    root,
    file,
    stateDir,
    spec,
    graph,
    selected,
    evaluator,
    records,
    hasher,
    warnings,
    saveState: () => {
      cache.close();
      if (!o.readOnly && !o.skipStatCache && hasher.dirty) saveStatCache(stateDir, hasher.cache);
    },
  };
}

/**
 * Loads the Pipelinefile, takes the project lock, and only then reads the state (records, stat
 * cache): what a command that changes outputs sees is what the last holder left. `pipe clean`
 * read the journal before waiting for a build, and took the outputs that build had just made
 * for hand edits (copying them to the kept bytes).
 */
export async function openProjectLocked(o: ProjectOptions, lockOptions: { command: string; onWait?: (holder: string) => void }): Promise<{ project: Project; lock: ProjectLock }> {
  const def = await loadDefinition(o);
  let waited = false;
  const lock = await ProjectLock.acquire(join(def.root, ".pipe"), {
    command: lockOptions.command,
    onWait: (holder) => {
      waited = true;
      lockOptions.onWait?.(holder);
    },
  });
  try {
    // The load's stats are from before the wait: files the holder wrote meanwhile are stat'ed again.
    return { project: await openProject(o, waited ? { ...def, stats: new Map() } : def), lock };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/** `.pipe/` with mode 0700 and its own .gitignore, so it is never committed by accident. */
export function prepareStateDir(stateDir: string): void {
  refuseStateLinks(stateDir);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // Writable? Checked here, before the lock, the records or the cache run into it halfway.
    accessSync(stateDir, fsConstants.W_OK);
    const gi = join(stateDir, ".gitignore");
    if (!existsSync(gi)) writeFileSync(gi, "# pipe's state folder: never commit it\n*\n");
  } catch (e) {
    throw stateDirError(stateDir, e as NodeJS.ErrnoException);
  }
}

/** pipe's state folder cannot be made or written: what it is, and what to do. */
export function stateDirError(stateDir: string, e: NodeJS.ErrnoException): UserError {
  const rel = ".pipe/";
  const notDir = e.code === "EEXIST" || e.code === "ENOTDIR";
  return new UserError({
    message: notDir ? `${rel} (${stateDir}) is not a folder: pipe keeps its records and cache there` : `cannot write pipe's state folder ${rel} (${e.code ?? e.message}: ${stateDir})`,
    hint: notDir ? `move it aside (mv .pipe .pipe.old) and build again` : writeRefusedHint(e.code),
  });
}

/** Whether two errors report the same mistakes (locations and "declared at" lines aside). */
function sameMessages(a: UserError, b: UserError): boolean {
  // Messages only: a hint may use the declaration site itself (the name a target is assigned to).
  const text = (e: UserError) => JSON.stringify(e.diagnostics.map((d) => d.message));
  return text(a) === text(b);
}

/**
 * Removes what runs that died left behind (call with the lock held): scratch folders under
 * .pipe/staging/, half-made copies under .pipe/kept/ and cache entries under .pipe/cache/tmp/,
 * a pack compaction a killed `pipe gc` committed (finished) or did not (its files removed),
 * the list of kept bytes made (listing every loose object of a cache an earlier pipe made),
 * temps of .pipe/'s own files, and, when a run's marker in .pipe/active/ says it may have staged outputs,
 * the `.pipe-tmp-*` siblings in every output folder of the graph. Nothing there ever counted.
 */
export function cleanStaleStaging(stateDir: string, graph: Graph): string[] {
  sweepKept(stateDir);
  sweepTemps(stateDir);
  sweepCacheTemps(stateDir);
  finishCacheGc(stateDir);
  ensureKeptList(stateDir);
  // What cannot be removed (owned by another user) is named, not fatal: a build that failed here
  // failed every build after it (found by a review).
  const problems: string[] = [];
  const remove = (abs: string) => {
    try {
      removeTree(abs);
    } catch (e) {
      problems.push(removeProblem(relative(graph.root, abs), e));
    }
  };
  const dir = join(stateDir, "staging");
  if (existsSync(dir)) for (const name of readdirSync(dir)) remove(join(dir, name));
  const active = join(stateDir, "active");
  const markers = existsSync(active) ? readdirSync(active) : [];
  if (markers.length === 0) return problems;
  const folders = new Set<string>();
  for (const t of graph.targets.values()) for (const o of t.outputs) folders.add(dirname(join(graph.root, o.path)));
  // And the folders the dead runs listed (project-relative; anything else in a marker is ignored).
  for (const m of markers) {
    let text = "";
    try {
      text = readFileSync(join(active, m), "utf8");
    } catch {
      continue;
    }
    for (const rel of text.split("\n")) if (rel !== "" && !isAbsolute(rel) && !rel.split("/").includes("..") && !rel.includes("\0")) folders.add(join(graph.root, rel));
  }
  for (const f of folders) {
    let names: string[];
    try {
      names = readdirSync(f);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(STAGING_PREFIX)) remove(join(f, n));
  }
  for (const m of markers) rmSync(join(active, m), { force: true });
  return problems;
}

/** The per-project key for hashing env values (secrets never reach the store in clear). */
function envKey(stateDir: string, readOnly: boolean): string {
  const p = join(stateDir, "env-key");
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    if (readOnly) return "no-key";
    const key = randomBytes(32).toString("hex");
    writeFileAtomic(p, key);
    return key;
  }
}

/** How long the Pipelinefile may take to load: `PIPE_LOAD_TIMEOUT_MS`, default 30 s. */
/** `PIPE_MAX_INSTANCES`: how many instances resolving inputs may make (graph/build.ts). */
function maxInstances(env: NodeJS.ProcessEnv): number | undefined {
  const v = Number(env.PIPE_MAX_INSTANCES);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

function loadTimeoutMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env.PIPE_LOAD_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}
