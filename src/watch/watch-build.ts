/**
 * The bridge between the watch loop and the core: each run is one whole build through the
 * injected `build` (the CLI passes `buildOnce`), so watch mode has no staleness logic of its
 * own. Around it, this module keeps what the loop needs between runs:
 *  - the watch set of the last Pipelinefile that loaded (kept when a later one does not load,
 *    plus the file the load error points at, so fixing it counts);
 *  - which targets failed, so they are not retried until one of their sources changes
 *    (retry.ts);
 *  - the content the builds saw (content-ledger.ts), so a save without changes runs nothing.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { posix } from "node:path";
import fg from "fast-glob";
import type { EventSink, PipeEvent, TargetStatus } from "../events.ts";
import type { Graph } from "../graph/graph.ts";
import { formatDiagnostics, UserError } from "../util/errors.ts";
import { guardLoops } from "../util/glob-loops.ts";
import { LockWaitAborted } from "../state/lock.ts";
import { listingOf } from "../load/trace.ts";
import { CTIME_MARGIN_MS, type ContentLedger, type HashedEntry } from "./content-ledger.ts";
import type { ContentOracle } from "./ports.ts";
import { planRetries } from "./retry.ts";
import type { RunOutcome } from "./watcher.ts";
import { globSource, pipelinefileOnly, SourceMatcher, watchSetOf, withFiles, type WatchSet } from "./watch-set.ts";

/** What watch mode reads from a loaded project (a structural slice of the CLI's `Project`). */
export interface LoadedProject {
  root: string;
  file: string;
  stateDir: string;
  graph: Graph;
  selected: string[];
  spec: { compiled: { modules: Record<string, unknown> } };
  hasher: { cache: Map<string, HashedEntry> };
}

/** What one build returns (the CLI's `SessionResult`, structurally). */
export interface BuildSession {
  /** Undefined when the build was interrupted before it started. */
  result:
    | {
        ok: boolean;
        statuses: Map<string, TargetStatus>;
        changedDuringRun?: string[];
        /** Per target that ended up to date, restored or built: the inputs (project-relative; a folder ends in "/") it was fingerprinted with. */
        settled?: Map<string, { inputs: [string, string][] }>;
      }
    | undefined;
  project: LoadedProject;
  /**
   * What the Pipelinefile's code read while loading: files (absolute path -> hash) and folders
   * it listed (a target per file of a folder). A change there can change the graph.
   */
  loadTrace?: { reads: Map<string, string>; lists: Map<string, string>; stats: Map<string, string> };
}

/** Options of `WatchBuild`. */
export interface WatchBuildOptions {
  /** The project root and its Pipelinefile (found before the first load). */
  root: string;
  pipelinefile: string;
  /** The targets the user asked for ([] = the Pipelinefile's default). */
  requested: string[];
  /**
   * One whole build: load, lock, build, save. Throws `UserError` on Pipelinefile mistakes.
   * `notRetried`: failed targets held back from this run; the build reports them and is not ok.
   * `emit`: where the build's events go (the options' `emit`, after watch has noted when each
   * recipe ran, to name the one that writes a file among the inputs).
   */
  build(requested: string[], options: { notRetried: string[]; fresh: boolean; emit: EventSink }): Promise<BuildSession>;
  /**
   * Files that configure the build besides the code (a `--params` file): a change reloads, as
   * a change of the Pipelinefile does. Absolute.
   */
  config?: string[];
  ledger: ContentLedger;
  emit: EventSink;
  /** Wall clock in ms (compared with file ctimes). */
  now?: () => number;
}

const CODE_GLOB_OPTIONS = { dot: false, onlyFiles: true, absolute: true, ignore: [".pipe/**", "node_modules/**"], followSymbolicLinks: true };

/** A glob's matches now; a symbolic link loop is not followed (the build names it: glob-loops.ts). */
function globNow(pattern: string, cwd: string): string[] {
  return fg.sync(pattern, { ...CODE_GLOB_OPTIONS, cwd, fs: { readdirSync: guardLoops(cwd).readdirSync } });
}

/**
 * The build names a directory input that changed while its recipe ran as a whole (`raw/`), but
 * the watch loop tells a recipe rewriting its own input (a log it appends to inside that
 * folder) by the file: it compares the paths that started a build with those that changed
 * during it. So a folder is replaced by its entries written since the run started (ctime, which
 * `cp -p` or `touch -d` cannot set back; the recipe's writes come well after the start, which
 * is taken before the Pipelinefile loads). Links are not followed, as the build does not.
 * Only folders that changed during a run are walked, and only then.
 */
function filesWrittenDuringRun(paths: string[], runStartedAt: number): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    if (lstatSync(p, { throwIfNoEntry: false })?.isDirectory()) {
      walkFiles(p, () => true, (f, st) => {
        if (st.ctimeMs >= runStartedAt) out.add(f);
      });
    } else out.add(p);
  }
  return [...out].sort();
}

/**
 * Calls `visit` with every file (anything but a folder) under `dir` that `keep` admits, with its
 * lstat (links are not followed, as the build does not); folders `keep` refuses are not entered.
 * At most 64 folders deep; an unreadable folder is skipped.
 */
function walkFiles(dir: string, keep: (path: string) => boolean, visit: (path: string, st: Stats) => void, depth = 0): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = posix.join(dir, name);
    if (!keep(p)) continue;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (!st.isDirectory()) visit(p, st);
    else if (depth < 64) walkFiles(p, keep, visit, depth + 1);
  }
}

/** What the last build did, for telling a recipe's writes among the inputs from the user's edits. */
interface RunWindow {
  /**
   * Wall clock ms: when `runBuild` was called, and when the build itself returned (0 until
   * then). Not when `runBuild` returns: a user's save right after the build could otherwise
   * get a ctime inside the window (the kernel's file clock lags the wall clock by up to a tick).
   */
  startedAt: number;
  endedAt: number;
  /** Each recipe that ran: from target-started to target-finished (no end: it never finished). */
  recipes: Map<string, { startedAt: number; endedAt?: number }>;
  /** The project root: `settled` paths are relative to it. */
  root: string;
  /** Per target that settled: the inputs it was fingerprinted with (its readers). */
  settled: Map<string, { inputs: [string, string][] }>;
  /** Files a recipe that reads them saw change while it ran (absolute). */
  seenByReader: Set<string>;
}

/** The ctime of `path` in ms (links not followed, as the build does not), or undefined when absent. */
function ctimeOf(path: string): number | undefined {
  return lstatSync(path, { throwIfNoEntry: false })?.ctimeMs;
}

/** Runs builds for the watch loop and answers its content questions. */
export class WatchBuild implements ContentOracle {
  readonly #o: WatchBuildOptions;
  #set: WatchSet | undefined;
  #matcher: SourceMatcher | undefined;
  /** The last project that loaded, and what the user's request resolved to in it. */
  #last: { graph: Graph; stateDir: string; selected: string[] } | undefined;
  #loadFailed = false;
  /** What the last evaluation of the Pipelinefile read and listed while loading (absolute). */
  #loadDeps: { files: string[]; dirs: string[]; listings: Map<string, string> } = { files: [], dirs: [], listings: new Map() };
  /** When the last run started (wall clock ms): a file no build hashed counts as changed if written since. */
  #lastRunStartedAt = 0;
  /** The last build's window and recipe runs (undefined before the first build ended). */
  #lastRun: RunWindow | undefined;
  readonly #failed = new Set<string>();
  #requestError: UserError | undefined;

  constructor(options: WatchBuildOptions) {
    this.#o = options;
  }

  /** The current watch set (before anything loaded: the Pipelinefile and the project's code files). */
  get watchSet(): WatchSet {
    return (this.#set ??= this.#fallbackSet());
  }

  /**
   * True when the first build failed on a mistake in the request itself (an unknown target or
   * param on the command line): no edit is awaited for it, so the watch should end (exit 2).
   * The graph marks such diagnostics (`request`); for a Pipelinefile error watch waits for an
   * edit that fixes it.
   */
  get requestError(): UserError | undefined {
    return this.#requestError;
  }

  /** See `ContentOracle.signature`. */
  signature(path: string): string {
    return this.#o.ledger.signature(path);
  }

  /** See `ContentOracle.unchanged`. */
  unchanged(path: string): boolean {
    return this.#o.ledger.unchanged(path);
  }

  /** See `ContentOracle.writtenDuringLastRun`. */
  writtenDuringLastRun(path: string): boolean {
    const w = this.#lastRun;
    const ct = ctimeOf(path);
    return w !== undefined && ct !== undefined && ct >= w.startedAt && ct <= w.endedAt;
  }

  /**
   * See `ContentOracle.writerOf`. The recipes running when the file's ctime was set (kernel
   * timestamps lag the wall clock by up to a tick, hence the margin before each start), less
   * those that read it and did not see it change while they ran (their recipe did not write it).
   */
  writerOf(path: string): string | undefined {
    const w = this.#lastRun;
    const ct = ctimeOf(path);
    if (!w || ct === undefined || !this.writtenDuringLastRun(path)) return undefined;
    const rel = posix.relative(w.root, path);
    const reads = (id: string) => (w.settled.get(id)?.inputs ?? []).some(([p]) => p === rel || (p.endsWith("/") && rel.startsWith(p)));
    const candidates = [...w.recipes]
      .filter(([, r]) => ct >= r.startedAt - CTIME_MARGIN_MS && ct <= (r.endedAt ?? w.endedAt))
      .map(([id]) => id)
      .filter((id) => w.seenByReader.has(path) || !reads(id));
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** One run: builds what is stale, except failed targets none of whose sources changed. */
  async runBuild(changed: string[]): Promise<RunOutcome> {
    const now = this.#o.now ?? Date.now;
    const window: RunWindow = { startedAt: now(), endedAt: 0, recipes: new Map(), root: this.#o.root, settled: new Map(), seenByReader: new Set() };
    const emit = (e: PipeEvent) => {
      if (e.type === "target-started") window.recipes.set(e.target, { startedAt: now() });
      else if (e.type === "target-finished") {
        const r = window.recipes.get(e.target);
        if (r) r.endedAt = now();
      }
      this.#o.emit(e);
    };
    try {
      return await this.#runBuild(changed, window, emit);
    } finally {
      if (window.endedAt === 0) window.endedAt = now();
      this.#lastRun = window;
    }
  }

  async #runBuild(changed: string[], window: RunWindow, tap: EventSink): Promise<RunOutcome> {
    const { emit, ledger } = this.#o;
    ledger.snapshot(changed);
    const { requested, held, codeChanged } = this.#request(changed);
    if (requested === undefined) return { ok: false, watch: this.watchSet };
    const fresh = codeChanged && this.#last !== undefined;
    // Only an evaluation traces what the load reads; a module node had already is not evaluated.
    const evaluated = fresh || this.#last === undefined;
    // One start for the window (writtenDuringLastRun) and the ledger and catch-up's ctime checks.
    const runStartedAt = window.startedAt;
    this.#lastRunStartedAt = runStartedAt;
    let session: BuildSession;
    try {
      // Code or what its load read changed: the Pipelinefile is evaluated anew (node would
      // hand back the module it evaluated before when its code is the same, with the graph
      // made from the folder listing or the file it read then).
      session = await this.#o.build(requested, { notRetried: held, fresh, emit: tap });
      window.endedAt = (this.#o.now ?? Date.now)();
    } catch (e) {
      window.endedAt = (this.#o.now ?? Date.now)();
      // Stopped (Ctrl-C) while another pipe held the lock: nothing was built.
      if (e instanceof LockWaitAborted) return { ok: false, watch: this.watchSet };
      if (!(e instanceof UserError)) {
        emit({ type: "error", message: `internal error: ${(e as Error)?.stack ?? String(e)}\nthis is a bug; please report it with the output of \`pipe --version\`` });
        return { ok: false, watch: this.watchSet };
      }
      if (!this.#last && changed.length === 0 && e.diagnostics.every((d) => d.request)) {
        // Said by the command as `pipe build` says it (stderr, and an error event with --json).
        this.#requestError = e;
        return { ok: false, watch: this.watchSet };
      }
      emit({ type: "error", message: formatDiagnostics(e.diagnostics, this.#o.root) });
      // The Pipelinefile no longer loads: say why, keep watching what we watched.
      this.#loadFailed = true;
      const blamed = e.diagnostics.flatMap((d) => (d.location ? [posix.resolve(this.#o.root, d.location.file)] : []));
      this.#setWatch(withFiles(this.watchSet, blamed), runStartedAt, []);
      return { ok: false, watch: this.#set! };
    }
    const { result, project } = session;
    this.#loadFailed = false;
    // When failed targets were held back, the request was narrowed: keep watching what the user asked for.
    const selected = requested === this.#o.requested || !this.#last ? project.selected : this.#last.selected.filter((id) => project.graph.targets.has(id));
    this.#last = { graph: project.graph, stateDir: project.stateDir, selected };
    for (const [id, status] of result?.statuses ?? []) {
      if (status === "failed") this.#failed.add(id);
      else if (status !== "skipped") this.#failed.delete(id);
    }
    for (const id of this.#failed) if (!project.graph.targets.has(id)) this.#failed.delete(id);
    const code = [...new Set([project.file, ...Object.keys(project.spec.compiled.modules), ...(this.#o.config ?? [])])].map((p) => posix.resolve(project.root, p));
    const trace = session.loadTrace;
    // Files it read, and files it only looked for (existsSync): one appearing counts too.
    if (evaluated) this.#loadDeps = { files: trace ? [...new Set([...trace.reads.keys(), ...trace.stats.keys()])] : [], dirs: trace ? [...trace.lists.keys()] : [], listings: new Map(trace?.lists ?? []) };
    const set = watchSetOf({ root: project.root, stateDir: project.stateDir, graph: project.graph, selected, code, loadFiles: this.#loadDeps.files, loadDirs: this.#loadDeps.dirs });
    const entries = [...project.hasher.cache].map(([rel, e]): [string, HashedEntry] => [posix.resolve(project.root, rel), e]);
    this.#setWatch(set, runStartedAt, entries);
    // Not ok while a failed target is held back, even if everything else built.
    const changedDuringRun = filesWrittenDuringRun(
      (result?.changedDuringRun ?? []).map((p) => posix.resolve(project.root, p)),
      runStartedAt,
    );
    window.root = project.root;
    window.settled = result?.settled ?? new Map();
    window.seenByReader = new Set(changedDuringRun);
    return { ok: (result?.ok ?? false) && this.#failed.size === 0, watch: set, changedDuringRun };
  }

  /**
   * Sources among newly watched `roots` that differ from what the last build saw: changes
   * made before the watcher was watching them (during the first build, or while it switched
   * to polling). Glob folders are listed again, so a file added meanwhile counts; so are
   * directory inputs (walked) and the folders the Pipelinefile listed while loading (a
   * listing unlike the one the load saw reloads it, as an entry added there later does).
   */
  catchUp(roots: string[]): string[] {
    const set = this.watchSet;
    const m = (this.#matcher ??= new SourceMatcher(set));
    const wanted = new Set(roots);
    const out = new Set<string>();
    for (const f of set.files) if (wanted.has(f) && !this.#o.ledger.unchanged(f)) out.add(f);
    for (const g of set.globs) {
      if (!wanted.has(g.base)) continue;
      const now = globNow(g.pattern, set.root);
      for (const p of new Set([...now, ...g.matches])) if (m.isSource(p) && !this.#o.ledger.unchanged(p)) out.add(p);
    }
    for (const d of set.dirs) if (wanted.has(d)) for (const p of this.#changedUnder(d, m)) out.add(p);
    for (const d of set.loadDirs ?? []) {
      const saw = this.#loadDeps.listings.get(d);
      if (wanted.has(d) && saw !== undefined && (listingOf(d) ?? "-") !== saw) out.add(d);
    }
    return [...out].sort();
  }

  /**
   * Sources inside directory input `dir` that differ from what the last build saw: a file with
   * a baseline (the build hashed it and nobody wrote it while the build ran) by content, one
   * without (new, written during the run, or a link: the build hashes a link by its target
   * text) by a ctime since the last run started; a file with a baseline that is gone counts too.
   */
  #changedUnder(dir: string, m: SourceMatcher): string[] {
    const { ledger } = this.#o;
    const out: string[] = [];
    walkFiles(dir, (p) => m.isSource(p), (p, st) => {
      if (ledger.has(p) ? !ledger.unchanged(p) : st.ctimeMs >= this.#lastRunStartedAt) out.push(p);
    });
    for (const p of ledger.pathsUnder(dir)) if (!out.includes(p) && lstatSync(p, { throwIfNoEntry: false }) === undefined && !ledger.unchanged(p)) out.push(p);
    return out;
  }

  /**
   * The user's request, or a narrower one holding back failed targets (`held`); `requested`
   * undefined: nothing to build.
   */
  #request(changed: string[]): { requested: string[] | undefined; held: string[]; codeChanged: boolean } {
    const last = this.#last;
    const codeChanged = this.#loadFailed || !last || changed.some((p) => this.#matcher?.isCode(p) ?? true);
    if (!last) return { requested: this.#o.requested, held: [], codeChanged };
    const plan = planRetries({ root: this.#o.root, stateDir: last.stateDir, graph: last.graph, selected: last.selected, failed: this.#failed, changed, codeChanged });
    for (const id of plan.held) {
      this.#o.emit({
        type: "warning",
        target: id,
        message: "not retried: it failed in an earlier run and none of its sources changed since (edit one of them or the Pipelinefile, or restart pipe watch, to retry; saving the same bytes is no change)",
      });
    }
    if (plan.requested === undefined) return { requested: this.#o.requested, held: plan.held, codeChanged };
    return { requested: plan.requested.length ? plan.requested : undefined, held: plan.held, codeChanged };
  }

  #setWatch(set: WatchSet, runStartedAt: number, entries: [string, HashedEntry][]): void {
    this.#set = set;
    const m = (this.#matcher = new SourceMatcher(set));
    const files = [...set.files, ...set.globs.flatMap((g) => g.matches)];
    this.#o.ledger.adopt({ entries, files, runStartedAt, isSource: (p) => m.isSource(p) });
  }

  /** Before any Pipelinefile loaded: the Pipelinefile, and any code file that may be one of its modules. */
  #fallbackSet(): WatchSet {
    const base = pipelinefileOnly(this.#o.root, this.#o.pipelinefile);
    const globs = base.globs.map((g) => globSource(this.#o.root, g.pattern, globNow(g.pattern, this.#o.root)));
    return { ...base, globs };
  }
}
