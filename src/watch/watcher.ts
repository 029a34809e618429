/**
 * The watch loop: build, then keep the targets up to date as their sources change. An explicit
 * state machine (style.md principle 10, after google/wireit:src/watcher.ts), driven by an
 * injected file watcher, clock and build function, so every transition is testable without
 * real time.
 *
 *                 start()
 *                    │
 *                    ▼
 *   ┌──────────► running ─────────── change ──────────► running-queued ◄──┐
 *   │               │                                    │       │       │ change
 *   │   run ends,   │                                    │       └───────┘
 *   │   no change   │                          run ends  │
 *   │               ▼                                    ▼
 *   │             idle ──────────── change ─────────► debouncing ◄──┐
 *   │               ▲                                  │  │  │      │ change (timer restarts),
 *   │               └── quiet, but no content changed ─┘  │  └──────┘ or a file still being written
 *   │                   (a save without changes)          │
 *   └──────────── quiet, and some content changed ────────┘
 *
 *   stop(): idle, debouncing ──► stopped
 *           running, running-queued ──► stopping ── run ends ──► stopped
 *
 * Why debounce, then check: a burst (a checkout, an editor's save dance, a slow copy) arrives
 * as many events; each one restarts the quiet timer, so the burst becomes one run. When the
 * timer fires, a file whose stat signature moved since its last event is still being written
 * (its event may not have reached us yet, or the watcher polls): wait another quiet period.
 * Then changes whose content equals what the last build saw are dropped (a save without
 * changes runs nothing), unless they arrived during a run: those always get exactly one
 * follow-up run, since the build may have read the file before or after the change.
 * "running" covers the build and re-arming the watcher for the new watch set, so a change
 * that lands while the watch set is updated still queues a run.
 */
import { posix } from "node:path";
import type { EventSink } from "../events.ts";
import type { Clock, ContentOracle, FsWatcher, FsWatcherFactory, TimerHandle, WatcherNotice } from "./ports.ts";
import { SourceMatcher, watchRoots, type WatchSet } from "./watch-set.ts";

/** What a build reports back to the loop. */
export interface RunOutcome {
  /** False when a target failed or the Pipelinefile did not load. */
  ok: boolean;
  /** What to watch from now on (the last good set when the Pipelinefile did not load). */
  watch: WatchSet;
  /** Input files (absolute) that changed while a recipe reading them ran (inside a directory input: the files written since the run started). */
  changedDuringRun?: string[];
}

/** Everything the loop needs, injected. */
export interface WatchLoopOptions {
  clock: Clock;
  createWatcher: FsWatcherFactory;
  content: ContentOracle;
  /**
   * Builds once (reloading the Pipelinefile). `changed`: the absolute paths that triggered it,
   * [] for the first build. Reports user mistakes as events and resolves; a rejection is a bug.
   */
  runBuild(changed: string[]): Promise<RunOutcome>;
  /** Sources under newly watched `roots` that changed before the watcher saw them. */
  catchUp(roots: string[]): string[];
  emit: EventSink;
  /** Quiet period (ms) after the last change before a run starts. */
  debounceMs: number;
}

/** The loop's states; see the diagram in the module comment. */
export type WatchState =
  | { kind: "idle" }
  | { kind: "debouncing"; timer: TimerHandle }
  | { kind: "running" }
  | { kind: "running-queued" }
  | { kind: "stopping" }
  | { kind: "stopped" };

/** A change waiting for the quiet period to end. */
interface Pending {
  /** Stat signature when its last event was handled. */
  sig: string;
  /** Run for it even if its content looks unchanged (arrived during a run, or found by a catch-up). */
  forced: boolean;
}

/** For exhaustive switches: a compile error when a case is missing, a bug report at run time. */
export function unreachable(x: never): never {
  throw new Error(`internal error: unexpected ${JSON.stringify(x)}; this is a bug, please report it with the output of pipe --version`);
}

/** Builds, then rebuilds on source changes until `stop()`. */
export class WatchLoop {
  readonly #o: WatchLoopOptions;
  #state: WatchState = { kind: "idle" };
  readonly #pending = new Map<string, Pending>();
  #watcher: FsWatcher | undefined;
  #matcher: SourceMatcher | undefined;
  #roots = new Set<string>();
  /** Every folder above a watch root (see the filter in `start()`). */
  #above = new Set<string>();
  #lastRunOk: boolean | undefined;
  /** Inputs that changed while the last build's recipes read them (see #run). */
  #selfWritten = new Set<string>();
  /**
   * Inputs found rewritten by a recipe that reads them (named in the warning), with their
   * stat signature after the last build that rewrote them. Until the Pipelinefile changes,
   * their changes during a build start nothing, nor does the late report of such a change
   * (the watcher may tell it only after the build ended: the signature is still the same).
   */
  readonly #rewrittenByRecipe = new Map<string, string>();
  /** Whether `watch-idle` was emitted since the last run ended. */
  #announced = false;
  #started = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(options: WatchLoopOptions) {
    this.#o = options;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** The current state (for tests and diagnostics). */
  get state(): WatchState["kind"] {
    return this.#state.kind;
  }

  /** Resolves once the loop has stopped and the watcher is closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Runs the first build, then watches. Call once. */
  start(): void {
    if (this.#started) throw new Error("internal error: WatchLoop.start() called twice; this is a bug");
    this.#started = true;
    this.#watcher = this.#o.createWatcher((n) => this.#onNotice(n), {
      isIgnored: (path, isDir) => {
        const m = this.#matcher;
        if (!m) return false;
        if (m.isIgnored(path)) return true;
        // A folder above a root is never pruned: when a watched file (or folder) is deleted,
        // chokidar waits for it to come back by watching its parent, for that one name only.
        // Pruning the parent would leave the path unwatched forever.
        return isDir === true && !this.#roots.has(path) && !this.#above.has(path) && !m.shouldDescend(path);
      },
    });
    void this.#run([]);
  }

  /** Stops watching; a running build is left to finish (abort it through its signal). */
  stop(): Promise<void> {
    const s = this.#state;
    switch (s.kind) {
      case "idle":
        void this.#finish();
        break;
      case "debouncing":
        this.#o.clock.clearTimeout(s.timer);
        void this.#finish();
        break;
      case "running":
      case "running-queued":
        this.#pending.clear();
        this.#state = { kind: "stopping" };
        break;
      case "stopping":
      case "stopped":
        break;
      default:
        unreachable(s);
    }
    return this.#done;
  }

  async #run(changed: string[]): Promise<void> {
    this.#state = { kind: "running" };
    this.#announced = false;
    const { content } = this.#o;
    // Whether only the last build's own writes started this one: asked before it starts, as
    // the answer is about the last build's window. By the file's ctime, not by when its change
    // was reported (a polling watcher reports it late); an edit made since is the user's.
    const startedByWrites = changed.length > 0 && changed.every((p) => this.#selfWritten.has(p) || content.writtenDuringLastRun(p));
    let outcome: RunOutcome | undefined;
    try {
      outcome = await this.#o.runBuild(changed);
    } catch (e) {
      this.#o.emit({ type: "error", message: `internal error: ${(e as Error)?.stack ?? String(e)}\nthis is a bug; please report it with the output of \`pipe --version\`` });
    }
    // A recipe that writes an input (its own log into its globbed data folder, or a file a
    // downstream recipe drops into an upstream target's folder): every build changes it, and
    // that change starts the next build, forever (reviews counted 45 and 39 builds in 10 s).
    // Once a build that only such writes started wrote the same files again, their changes
    // during builds start nothing more. "Written during the build": seen changing by a recipe
    // that reads it, or its ctime inside the build's window (a downstream recipe writes it
    // after its readers ran, so they never see it change).
    const during = new Set(outcome?.changedDuringRun ?? []);
    const writtenNow = (p: string) => during.has(p) || content.writtenDuringLastRun(p);
    // Declaring the file an output or writing it elsewhere takes a Pipelinefile edit: look again.
    if (changed.some((p) => this.#matcher?.isCode(p))) this.#rewrittenByRecipe.clear();
    const looping = startedByWrites && changed.every(writtenNow);
    // (Said once: a save made just as a build ended can pass for its write, see WatchBuild.)
    if (looping && changed.some((p) => !this.#rewrittenByRecipe.has(p))) {
      this.#o.emit({ type: "warning", message: loopMessage(changed.map((p) => ({ name: posix.relative(this.#matcher?.set.root ?? "", p) || p, byReader: during.has(p), writer: content.writerOf(p) }))) });
      for (const p of changed) this.#rewrittenByRecipe.set(p, "");
    }
    // Once named, the file's changes during any later build (a real edit of another input
    // runs the recipes, which write it again) start nothing, and the warning is not repeated.
    for (const p of this.#rewrittenByRecipe.keys()) {
      if (!writtenNow(p)) continue;
      this.#pending.delete(p);
      this.#rewrittenByRecipe.set(p, content.signature(p));
    }
    this.#selfWritten = looping ? new Set() : during;
    this.#lastRunOk = outcome?.ok ?? false;
    // (Read through the getter: stop() may have changed the state while the build ran.)
    if (outcome && this.state !== "stopping") await this.#rewatch(outcome.watch);
    if (!this.#matcher) {
      // Nothing to watch (the first build crashed): give up rather than hang.
      this.#pending.clear();
      this.#state = { kind: "stopping" };
    }
    this.#afterRun();
  }

  #afterRun(): void {
    const s = this.#state;
    switch (s.kind) {
      case "running":
        if (this.#pending.size > 0) this.#debounce();
        else this.#toIdle();
        break;
      case "running-queued":
        this.#debounce();
        break;
      case "stopping":
        void this.#finish();
        break;
      case "idle":
      case "debouncing":
      case "stopped":
        throw new Error(`internal error: a run ended in state ${s.kind}; this is a bug`);
      default:
        unreachable(s);
    }
  }

  /** Points the watcher at the new watch set; changes it could not see become pending changes. */
  async #rewatch(set: WatchSet): Promise<void> {
    const next = new Set(watchRoots(set));
    const added = [...next].filter((p) => !this.#roots.has(p));
    const removed = [...this.#roots].filter((p) => !next.has(p));
    this.#matcher = new SourceMatcher(set);
    this.#roots = next;
    this.#above = foldersAbove(next);
    if (removed.length) this.#watcher!.unwatch(removed);
    if (added.length === 0) return;
    try {
      await this.#watcher!.add(added);
    } catch (e) {
      this.#o.emit({ type: "warning", message: `could not watch ${added.length} path${added.length === 1 ? "" : "s"}: ${(e as Error).message}` });
    }
    for (const p of this.#o.catchUp(added)) this.#noteChange(p, true);
  }

  #onNotice(n: WatcherNotice): void {
    switch (n.type) {
      case "fs":
        if (this.#matcher?.isSource(n.path)) this.#noteChange(n.path, false);
        break;
      case "fallback":
        this.#o.emit({ type: "warning", message: fallbackMessage(n) });
        // Changes made while the watcher was being replaced were not seen: look for them.
        for (const p of this.#o.catchUp([...this.#roots])) this.#noteChange(p, true);
        break;
      case "error":
        this.#o.emit({ type: "warning", message: `file watcher: ${n.message}` });
        break;
      default:
        unreachable(n);
    }
  }

  #noteChange(path: string, forced: boolean): void {
    const s = this.#state;
    switch (s.kind) {
      case "idle":
      case "debouncing": {
        // The late report of a recipe's own rewrite (see #rewrittenByRecipe): no change since.
        const rewritten = this.#rewrittenByRecipe.get(path);
        if (!forced && rewritten !== undefined && rewritten === this.#o.content.signature(path)) break;
        const prev = this.#pending.get(path);
        this.#pending.set(path, { sig: this.#o.content.signature(path), forced: forced || (prev?.forced ?? false) });
        this.#debounce();
        break;
      }
      case "running":
      case "running-queued":
        this.#pending.set(path, { sig: this.#o.content.signature(path), forced: true });
        this.#state = { kind: "running-queued" };
        break;
      case "stopping":
      case "stopped":
        break;
      default:
        unreachable(s);
    }
  }

  /** Enters (or restarts) the quiet period. */
  #debounce(): void {
    const s = this.#state;
    if (s.kind === "debouncing") this.#o.clock.clearTimeout(s.timer);
    this.#state = { kind: "debouncing", timer: this.#o.clock.setTimeout(() => this.#onQuiet(), this.#o.debounceMs) };
  }

  #onQuiet(): void {
    if (this.#state.kind !== "debouncing") return;
    let moving = false;
    for (const [path, p] of this.#pending) {
      const sig = this.#o.content.signature(path);
      if (sig !== p.sig) {
        p.sig = sig;
        moving = true;
      }
    }
    if (moving) {
      this.#debounce();
      return;
    }
    const changed = [...this.#pending].filter(([path, p]) => p.forced || !this.#o.content.unchanged(path)).map(([path]) => path).sort();
    this.#pending.clear();
    if (changed.length === 0) {
      this.#toIdle();
      return;
    }
    const root = this.#matcher!.set.root;
    this.#o.emit({ type: "watch-change", paths: changed.map((p) => posix.relative(root, p) || p) });
    void this.#run(changed);
  }

  #toIdle(): void {
    this.#state = { kind: "idle" };
    if (this.#announced) return;
    this.#announced = true;
    this.#o.emit({ type: "watch-idle", watched: this.#roots.size, lastRunOk: this.#lastRunOk, ...(this.#watcher?.polling ? { polling: true } : {}) });
  }

  async #finish(): Promise<void> {
    this.#state = { kind: "stopped" };
    this.#pending.clear();
    try {
      await this.#watcher?.close();
    } finally {
      this.#resolveDone();
    }
  }
}

/**
 * The warning for inputs that recipes keep writing: a recipe that reads the file saw it change
 * (it writes it itself), or another one, named when watch can tell which.
 */
export function loopMessage(files: { name: string; byReader: boolean; writer: string | undefined }[]): string {
  const it = files.length === 1 ? "it" : "them";
  const names = files.map((f) => f.name).join(", ");
  const writers = [...new Set(files.map((f) => f.writer))];
  const who = files.every((f) => f.byReader)
    ? `each time while a recipe that reads ${it} ran: it seems to write ${it} itself`
    : writers.length === 1 && writers[0] !== undefined
      ? `each time while the recipe of ${JSON.stringify(writers[0])} ran: it seems to write ${it}`
      : files.some((f) => f.byReader)
        ? `each time while a recipe ran: recipes seem to write ${it}`
        : `each time while no recipe that reads ${it} ran: another recipe seems to write ${it}`;
  return `${names} changed while the last two builds ran, ${who}. pipe watch does not build again for those changes; declare such a file as an output of the target that writes it, or write it outside the inputs`;
}

/** The folders above `paths` (up to `/`), excluding the paths themselves unless one holds another. */
function foldersAbove(paths: Iterable<string>): Set<string> {
  const above = new Set<string>();
  for (const p of paths) {
    for (let d = posix.dirname(p); !above.has(d); d = posix.dirname(d)) {
      above.add(d);
      if (d === "/" || d === ".") break;
    }
  }
  return above;
}

/** The warning for a watcher that ran out of OS resources and now polls. */
export function fallbackMessage(n: Extract<WatcherNotice, { type: "fallback" }>): string {
  const every = `falling back to polling every ${n.intervalMs} ms (changes are still seen, a little later)`;
  if (n.code === "ENOSPC") {
    const want = Math.max(524288, (n.limit ?? 0) * 2);
    return [
      `the file watcher hit the inotify watch limit (ENOSPC: fs.inotify.max_user_watches = ${n.limit ?? "unknown"}) while watching ${n.root}; ${every}`,
      `  hint: raise the limit: sudo sysctl fs.inotify.max_user_watches=${want} (add it to /etc/sysctl.conf to keep it)`,
    ].join("\n");
  }
  return [
    `the file watcher ran out of file descriptors or inotify instances (EMFILE${n.limit !== undefined ? `: open files limit ${n.limit}` : ""}) while watching ${n.root}; ${every}`,
    `  hint: raise the limits: ulimit -n 65536, and sudo sysctl fs.inotify.max_user_instances=1024 (add it to /etc/sysctl.conf to keep it)`,
  ].join("\n");
}
