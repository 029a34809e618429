/**
 * The seams of watch mode: a clock, a file watcher and the content checks. The real ones are
 * `systemClock`, `ChokidarWatcher` (chokidar-watcher.ts) and `ContentLedger`; tests inject
 * fakes so that no test waits on real time.
 */

/** An opaque timer handle (whatever the clock's setTimeout returns). */
export type TimerHandle = unknown;

/** Time, injectable. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What happened to a path, as the watcher reports it. */
export type FsEventKind = "add" | "change" | "unlink" | "addDir" | "unlinkDir";

/** Everything a file watcher reports. */
export type WatcherNotice =
  | { type: "fs"; kind: FsEventKind; path: string }
  /**
   * The OS ran out of watches (ENOSPC: inotify max_user_watches) or descriptors (EMFILE):
   * the watcher has switched to polling and is watching everything again.
   */
  | { type: "fallback"; code: "ENOSPC" | "EMFILE"; limit?: number; intervalMs: number; root: string }
  /** Any other watcher error: reported, watching goes on. */
  | { type: "error"; message: string };

/** Receives notices. */
export type WatcherListener = (notice: WatcherNotice) => void;

/** A file watcher adapter (chokidar, or a fake in tests). Paths are absolute. */
export interface FsWatcher {
  /** Starts watching `paths`; resolves once changes to them are reported. */
  add(paths: string[]): Promise<void>;
  /** Stops watching `paths`. */
  unwatch(paths: string[]): void;
  /** Stops everything; no notice is delivered after it resolves. */
  close(): Promise<void>;
  /** True when polling (forced, or after a fallback). */
  readonly polling: boolean;
}

/** Creates the watcher: `isIgnored(path, isDir)` prunes paths that can never count. */
export type FsWatcherFactory = (listener: WatcherListener, filter: { isIgnored(path: string, isDir: boolean | undefined): boolean }) => FsWatcher;

/** Content questions the watcher asks before it runs a build. */
export interface ContentOracle {
  /** A cheap stat signature; a file whose signature still changes is still being written. */
  signature(path: string): string;
  /** True when `path` holds exactly what the last build saw (a save without changes). */
  unchanged(path: string): boolean;
  /**
   * True when `path` was last written while the last build ran (its ctime falls between the
   * run's start and the build's end). Judged by the file, not by when the watcher reported
   * the change: a polling watcher may tell it only after the build ended.
   */
  writtenDuringLastRun(path: string): boolean;
  /** The target whose recipe wrote `path` during the last build, when exactly one can have. */
  writerOf(path: string): string | undefined;
}
