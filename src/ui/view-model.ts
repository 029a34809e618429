/**
 * The UI's view of a build: a pure reducer from core events to a `BuildView`.
 *
 * Every reporter that needs state (the Ink view, the plain reporter's summary) folds events
 * through `reduce`. It never reads the clock: the caller passes `now` (ms) with each event,
 * so tests drive time explicitly. States are immutable: `reduce` returns a new object and
 * copies only the small collections it changes (running targets, warnings). What grows with
 * the build (the targets that finished, the feed) lives in append-only logs that share their
 * storage between states, so an event costs the same at the 10,000th target as at the first.
 *
 * Targets planned as up-to-date are counted as done when `build-started` arrives, because
 * the core may or may not send a `target-finished` for each of them; a later
 * `target-finished {status: "up-to-date"}` for such a target is not counted twice.
 */
import { wouldWord, type PipeEvent, type PlannedTarget, type TargetStatus } from "../events.ts";
import type { SummaryInput } from "./format.ts";
import { AppendLog } from "../util/append-log.ts";
import { FeedLog } from "./feed-log.ts";

/** How much the reporters show: `quiet` = failures and summary; `verbose` adds logs and up-to-date lines. */
export type Detail = "quiet" | "normal" | "verbose";

/** A target that is running now. */
export interface RunningView {
  id: string;
  /** `now` when its `target-started` arrived. */
  startedAt: number;
  reason: string;
  estimateMs?: number;
  logPath?: string;
  /** Last `target-progress`: `total` absent means `done` is a fraction in [0, 1] when ≤ 1, else a bare count. */
  progress?: { done: number; total?: number; message?: string };
  /** The last log line it printed (shown dimmed when there is no progress message). */
  lastLine?: string;
}

/** A target that finished in this build. */
export interface FinishedView {
  id: string;
  status: TargetStatus;
  durationMs: number;
  reason: string;
  error?: string;
  logTail?: string[];
  logPath?: string;
  cause?: string;
}

/** A file being hashed (only big files report progress). */
export interface HashingView {
  path: string;
  doneBytes: number;
  totalBytes: number;
}

/** What a finished build looked like, for the summary. */
export interface SummaryView extends SummaryInput {
  failures: FinishedView[];
  /** Durations of the critical path's targets, when they finished in this build. */
  durations: Record<string, number>;
}

/** Things printed once, above the live area (Ink `<Static>`), in order. `seq` increases by one per item. */
export type FeedItem = { seq: number } & (
  /** `failureIndex`: for a failure, how many targets failed in this build up to this one (1 for the first). */
  | { kind: "finished"; target: FinishedView; failureIndex?: number }
  | { kind: "log"; target: string; stream: "stdout" | "stderr" | "ctx"; line: string }
  | { kind: "warning"; message: string; target?: string; kept?: true }
  | { kind: "error"; message: string }
  | { kind: "notice"; message: string }
  | { kind: "watch-change"; paths: string[] }
  | { kind: "summary"; summary: SummaryView }
);

/** Watch mode, waiting for changes. */
export interface WatchView {
  watched: number;
  lastRunOk?: boolean;
  polling?: boolean;
}

/** The whole UI state. Build fields reset on each `build-started` (watch mode runs many builds). */
export interface BuildView {
  readonly detail: Detail;
  phase: "idle" | "building" | "finished";
  /** `now` at `build-started`. */
  startedAt?: number;
  jobs: number;
  dryRun: boolean;
  requested: string[];
  plan: PlannedTarget[];
  planById: ReadonlyMap<string, PlannedTarget>;
  /** Targets in the plan (at least done + running). */
  total: number;
  /** Targets with a final status, up-to-date ones included. */
  done: number;
  counts: Record<TargetStatus, number>;
  /** In start order. */
  running: RunningView[];
  /** Targets that finished with an entry of their own (not the ones counted up to date at the start). */
  finished: AppendLog<FinishedView>;
  /** In the order they failed (an append-only log: `-k` may see thousands). */
  failures: AppendLog<FinishedView>;
  hashing: HashingView[];
  /** Last MAX_MESSAGES warnings. */
  warnings: { message: string; target?: string }[];
  /** Last MAX_MESSAGES errors (watch mode: a Pipelinefile that no longer loads). */
  errors: string[];
  lockWaiting?: { holder: string; lockPath: string };
  /** Ctrl-C was pressed; the core is stopping the running targets. */
  interrupting: boolean;
  /** Ctrl-C was pressed again: the running recipes are killed at once. */
  killing?: boolean;
  /**
   * The last build's summary. Shown in the live area until something else is fed or the next
   * build starts, which moves it to the feed (a closed view ends with it; watch mode keeps all).
   */
  summary?: SummaryView;
  /** The summary was moved to the feed (by a later feed item or the next build); the live area drops it. */
  summaryPrinted: boolean;
  /** Set while watch mode waits for changes; cleared when a build starts. */
  watch?: WatchView;
  /**
   * The newest MAX_FEED items (oldest dropped) of everything printed above the live area;
   * see FeedItem. Readers remember the last `seq` they printed and take what follows.
   */
  feed: FeedLog<FeedItem>;
}

/**
 * Feed items kept in the state. The Ink view prints new items at least a few times a second,
 * so only a flood (verbose log lines, a dry run's list of 10,000 targets) can outrun it; the
 * view then says how many it did not print.
 */
export const MAX_FEED = 2000;

/**
 * Failures shown in full (error, last log lines, log path) above the live area or in plain
 * output; later failures in the same build get one line each (id, error, log path), so that
 * `-k` with 1,000 failing targets prints 1,000 lines, not 14,000.
 */
export const MAX_FAILURE_BLOCKS = 10;
const MAX_MESSAGES = 50;

/** The empty view, before any event. */
export function createView(options: { detail?: Detail; jobs?: number } = {}): BuildView {
  return {
    detail: options.detail ?? "normal",
    phase: "idle",
    jobs: options.jobs ?? 1,
    dryRun: false,
    requested: [],
    plan: [],
    planById: new Map(),
    total: 0,
    done: 0,
    counts: zeroCounts(),
    running: [],
    finished: AppendLog.empty(),
    failures: AppendLog.empty(),
    hashing: [],
    warnings: [],
    errors: [],
    interrupting: false,
    summaryPrinted: false,
    feed: FeedLog.empty(MAX_FEED),
  };
}

function zeroCounts(): Record<TargetStatus, number> {
  return { built: 0, restored: 0, "up-to-date": 0, failed: 0, skipped: 0 };
}

type FeedPayload = FeedItem extends infer T ? (T extends { seq: number } ? Omit<T, "seq"> : never) : never;

/** Whether a feed item is shown at this level of detail (items that are not shown are not stored). */
export function isShown(detail: Detail, item: FeedPayload): boolean {
  switch (item.kind) {
    case "summary":
    case "error":
      return true;
    case "finished":
      if (item.target.status === "failed") return true;
      if (detail === "quiet") return false;
      return item.target.status !== "up-to-date" || detail === "verbose";
    case "log":
      return detail === "verbose";
    case "warning":
      // Where bytes the user had were kept is never hidden: --quiet must not lose them.
      return detail !== "quiet" || item.kept === true;
    case "notice":
    case "watch-change":
      return detail !== "quiet";
  }
}

type FeedPart = Pick<BuildView, "feed" | "summaryPrinted">;

/**
 * Appends `item` to the feed if the level of detail shows it (O(1), see FeedLog). A finished
 * build's summary that is still in the live area goes first, so the feed stays in the order
 * things happened.
 */
function append(view: Pick<BuildView, "detail" | "feed" | "summary" | "summaryPrinted">, item: FeedPayload): FeedPart {
  if (!isShown(view.detail, item)) return { feed: view.feed, summaryPrinted: view.summaryPrinted };
  if (view.summary && !view.summaryPrinted && item.kind !== "summary") {
    return { feed: view.feed.append({ kind: "summary", summary: view.summary }, item), summaryPrinted: true };
  }
  return { feed: view.feed.append(item), summaryPrinted: view.summaryPrinted || item.kind === "summary" };
}

/** Moves a finished build's summary from the live area to the feed (when the next build starts). */
function flushSummary(view: BuildView): FeedPart {
  if (!view.summary || view.summaryPrinted) return { feed: view.feed, summaryPrinted: view.summaryPrinted };
  return append(view, { kind: "summary", summary: view.summary });
}

function keepLast<T>(list: readonly T[], item: T): T[] {
  const out = list.length >= MAX_MESSAGES ? list.slice(list.length - MAX_MESSAGES + 1) : list.slice();
  out.push(item);
  return out;
}

/**
 * Folds one event into the view. `now` is the time the event was received (ms, any epoch,
 * as long as the caller uses the same clock for every call and for the ETA).
 */
export function reduce(view: BuildView, event: PipeEvent, now: number): BuildView {
  switch (event.type) {
    case "build-started": {
      const planById = new Map(event.plan.map((p) => [p.target, p]));
      const upToDate = event.plan.filter((p) => p.action === "up-to-date").length;
      // The previous build's summary (watch mode) moves from the live area to the feed.
      let fed = flushSummary(view);
      if (event.dryRun) {
        for (const p of event.plan) {
          if (p.action === "up-to-date") continue;
          const message = `${wouldWord(p)} ${p.target}${p.reason ? ` (${p.reason})` : ""}`;
          fed = append({ detail: view.detail, summary: view.summary, ...fed }, { kind: "notice", message });
        }
      }
      return {
        ...view,
        ...fed,
        phase: "building",
        startedAt: now,
        jobs: Math.max(1, event.jobs),
        dryRun: event.dryRun,
        requested: event.targets,
        plan: event.plan,
        planById,
        total: event.plan.length,
        done: upToDate,
        counts: { ...zeroCounts(), "up-to-date": upToDate },
        running: [],
        finished: AppendLog.empty(),
        failures: AppendLog.empty(),
        hashing: [],
        lockWaiting: undefined,
        interrupting: false,
        killing: false,
        summary: undefined,
        summaryPrinted: false,
        watch: undefined,
      };
    }
    case "lock-waiting":
      return { ...view, lockWaiting: { holder: event.holder, lockPath: event.lockPath } };
    case "lock-acquired": {
      const next: BuildView = { ...view, lockWaiting: undefined };
      if (event.recovered === undefined) return next;
      return { ...next, ...append(view, { kind: "notice", message: `recovered a stale lock (${event.recovered})` }) };
    }
    case "hash-progress": {
      const rest = view.hashing.filter((h) => h.path !== event.path);
      if (event.doneBytes >= event.totalBytes) return { ...view, hashing: rest };
      const entry = { path: event.path, doneBytes: event.doneBytes, totalBytes: event.totalBytes };
      const i = view.hashing.findIndex((h) => h.path === event.path);
      const hashing = i < 0 ? [...view.hashing, entry] : view.hashing.map((h, j) => (j === i ? entry : h));
      return { ...view, hashing };
    }
    case "target-started": {
      const planned = view.planById.get(event.target);
      const entry: RunningView = {
        id: event.target,
        startedAt: now,
        reason: event.reason,
        estimateMs: event.estimateMs ?? planned?.estimateMs,
        logPath: event.logPath,
      };
      const running = [...view.running.filter((r) => r.id !== event.target), entry];
      return { ...view, phase: "building", running, total: Math.max(view.total, view.done + running.length) };
    }
    case "target-progress": {
      const progress = { done: event.done, total: event.total, message: event.message };
      return { ...view, running: view.running.map((r) => (r.id === event.target ? { ...r, progress } : r)) };
    }
    case "log": {
      const i = view.running.findIndex((r) => r.id === event.target);
      const running = i < 0 ? view.running : view.running.map((r, j) => (j === i ? { ...r, lastLine: event.line } : r));
      const fed = append(view, { kind: "log", target: event.target, stream: event.stream, line: event.line });
      return { ...view, running, ...fed };
    }
    case "target-finished": {
      // A planned-up-to-date target that is confirmed changes nothing a reader sees (it is
      // counted at build-started and listed only in verbose mode): 10,000 of them in a no-op.
      if (event.status === "up-to-date" && view.detail !== "verbose" && view.planById.get(event.target)?.action === "up-to-date" && !view.running.some((r) => r.id === event.target)) return view;
      const target: FinishedView = {
        id: event.target,
        status: event.status,
        durationMs: event.durationMs,
        reason: event.reason,
        error: event.error,
        logTail: event.logTail,
        logPath: event.logPath ?? view.running.find((r) => r.id === event.target)?.logPath,
        cause: event.cause,
      };
      const precounted = event.status === "up-to-date" && view.planById.get(event.target)?.action === "up-to-date";
      const done = precounted ? view.done : view.done + 1;
      const counts = precounted ? view.counts : { ...view.counts, [event.status]: view.counts[event.status] + 1 };
      const running = view.running.filter((r) => r.id !== event.target);
      const failures = event.status === "failed" ? view.failures.append(target) : view.failures;
      return {
        ...view,
        done,
        counts,
        running,
        total: Math.max(view.total, done + running.length),
        // Planned-up-to-date targets are counted already and need no entry: copying this list on
        // each of 10,000 such events made a no-op quadratic.
        finished: precounted ? view.finished : view.finished.append(target),
        failures,
        // A dry run's "would run/restore" targets were listed at the start; not again as skipped.
        ...(view.dryRun && event.status === "skipped"
          ? {}
          : append(view, { kind: "finished", target, ...(event.status === "failed" ? { failureIndex: failures.length } : {}) })),
      };
    }
    case "warning":
      return {
        ...view,
        warnings: keepLast(view.warnings, { message: event.message, target: event.target }),
        ...append(view, { kind: "warning", message: event.message, target: event.target, ...(event.kept ? { kept: true as const } : {}) }),
      };
    case "error":
      return { ...view, errors: keepLast(view.errors, event.message), ...append(view, { kind: "error", message: event.message }) };
    case "watch-idle":
      return { ...view, watch: { watched: event.watched, lastRunOk: event.lastRunOk, polling: event.polling } };
    case "watch-change":
      return { ...view, ...append(view, { kind: "watch-change", paths: event.paths }) };
    case "build-finished": {
      const wanted = new Set(event.criticalPath.targets);
      const durations: Record<string, number> = {};
      for (const f of view.finished) if (wanted.has(f.id)) durations[f.id] = f.durationMs;
      const summary: SummaryView = {
        ok: event.ok,
        interrupted: event.interrupted,
        durationMs: event.durationMs,
        counts: event.counts,
        criticalPath: event.criticalPath,
        dryRun: view.dryRun,
        ...(event.notRetried?.length ? { notRetried: event.notRetried } : {}),
        ...(view.dryRun ? { would: { run: view.plan.filter((p) => p.action === "run").length, restore: view.plan.filter((p) => p.action === "restore").length, maybe: view.plan.filter((p) => p.ifDepsChange).length } } : {}),
        failures: view.failures.toArray(),
        durations,
      };
      return {
        ...view,
        phase: "finished",
        running: [],
        hashing: [],
        lockWaiting: undefined,
        interrupting: false,
        killing: false,
        counts: event.counts,
        summary,
        summaryPrinted: false,
      };
    }
  }
}

/**
 * Marks that Ctrl-C was pressed (not a core event: the reporter sees the signal first). The
 * second press is noted too (the CLI then kills the running recipes at once); later ones not.
 */
export function markInterrupting(view: BuildView): BuildView {
  if (view.killing) return view;
  const message = interruptMessage(view.running.length, view.interrupting);
  return { ...view, interrupting: true, killing: view.interrupting, ...append(view, { kind: "notice", message }) };
}

/** `interrupt: stopping 3 running targets`; again: `interrupt again: killing 3 running targets`. */
export function interruptMessage(running: number, again = false): string {
  const [head, verb] = again ? ["interrupt again", "killing"] : ["interrupt", "stopping"];
  if (running === 0) return `${head}: ${verb}`;
  return `${head}: ${verb} ${running} running ${running === 1 ? "target" : "targets"}`;
}

/** Time since the build started, or its final duration once it finished. */
export function elapsedMs(view: BuildView, now: number): number {
  if (view.summary) return view.summary.durationMs;
  return view.startedAt === undefined ? 0 : Math.max(0, now - view.startedAt);
}
