/**
 * The events pipe's core emits. The core never prints: reporters (Ink, plain lines, NDJSON)
 * render these. Field names `type`, `target`, `status`, `durationMs` and `reason` are a stable
 * contract (NDJSON consumers rely on them); add fields, never rename them.
 */

/** What happened to a target in one build. */
export type TargetStatus = "up-to-date" | "built" | "restored" | "failed" | "skipped";

/** What the plan intends for a target before the build starts. */
export type PlannedAction = "run" | "restore" | "up-to-date";

export interface PlannedTarget {
  target: string;
  action: PlannedAction;
  /** Why it will run or be restored ("input data/a.txt changed", "no record"...). */
  reason?: string;
  /** Median duration of this target's recorded runs, when any (for the ETA). */
  estimateMs?: number;
  /** Ids of the planned targets it depends on (for the ETA's longest remaining chain). */
  deps?: string[];
  /**
   * On a "run" target whose only reason is a dependency that will rebuild: early cutoff skips
   * it if that dependency's outputs come out as recorded. Shown as "may run".
   */
  ifDepsChange?: true;
}

/** What a dry run says a planned target would do: "would run", "may run" (ifDepsChange), "would restore". */
export function wouldWord(p: PlannedTarget): string {
  return p.ifDepsChange ? "may run" : `would ${p.action}`;
}

export type PipeEvent =
  | {
      type: "build-started";
      /**
       * Targets the user asked for (ids). In watch mode, a run that holds back failed targets
       * asks for what is left instead; the held targets are in `notRetried`.
       */
      targets: string[];
      /** Every target the build considers, in a dependency-respecting order. */
      plan: PlannedTarget[];
      jobs: number;
      dryRun: boolean;
      time: number;
      /** True when answered from the no-op snapshot, without loading the Pipelinefile. */
      fromSnapshot?: boolean;
      /** How many targets the no-op snapshot vouched for, so they were not evaluated again. */
      trustedFromSnapshot?: number;
      /**
       * True when the graph was built only for the targets the changed files touch (and the
       * targets they read from): the snapshot vouched for the rest without their declarations
       * being planned again.
       */
      partialGraph?: boolean;
      /**
       * Watch mode: targets that failed in an earlier run and are not retried in this one (none of
       * their sources changed since), sorted; they and their dependents are not in the plan.
       * Absent when there are none.
       */
      notRetried?: string[];
    }
  | { type: "lock-waiting"; holder: string; lockPath: string }
  | { type: "lock-acquired"; recovered?: string }
  | { type: "hash-progress"; path: string; doneBytes: number; totalBytes: number }
  | { type: "target-started"; target: string; reason: string; estimateMs?: number; logPath?: string }
  | { type: "target-progress"; target: string; done: number; total?: number; message?: string }
  | {
      type: "log";
      target: string;
      stream: "stdout" | "stderr" | "ctx";
      line: string;
    }
  | {
      type: "target-finished";
      target: string;
      status: TargetStatus;
      durationMs: number;
      /** Why it ran / was restored / was skipped / failed (human readable). A dry run skips what it would run or restore, with the reason "would run: …" / "may run: …" (ifDepsChange) / "would restore: …". */
      reason: string;
      /** For failures: the message and the last lines of the log. */
      error?: string;
      logTail?: string[];
      logPath?: string;
      /** For skipped targets: the failed dependency that caused the skip. */
      cause?: string;
    }
  /** `kept`: bytes the user had were moved aside (with the way back); shown even with --quiet. */
  | { type: "warning"; message: string; target?: string; kept?: true }
  /** A user-facing error that does not end the process (watch mode: a Pipelinefile that no longer loads). */
  | { type: "error"; message: string }
  /** Watch mode: waiting for changes. `watched` counts the watched paths. */
  | { type: "watch-idle"; watched: number; lastRunOk?: boolean; polling?: boolean }
  /** Watch mode: source changes that will trigger a run. */
  | { type: "watch-change"; paths: string[] }
  | {
      type: "build-finished";
      /** False when a target failed, was skipped or was interrupted, and while `notRetried` lists any. */
      ok: boolean;
      interrupted: boolean;
      durationMs: number;
      counts: Record<TargetStatus, number>;
      /** The longest chain of targets that ran in this build, with its total duration. */
      criticalPath: { targets: string[]; durationMs: number };
      /** As in `build-started`: requested targets still failed from an earlier run (not in `counts`). */
      notRetried?: string[];
    };

export type EventType = PipeEvent["type"];

/** Something that receives events: reporters, tests, the watcher. */
export type EventSink = (event: PipeEvent) => void;

/** Renders events for a person or a machine. */
export interface Reporter {
  onEvent(event: PipeEvent): void;
  /** Flushes and restores the terminal. Safe to call twice. */
  close(): Promise<void>;
}
