/**
 * Fakes for the watch loop's seams: a clock that only moves when told, a file watcher whose
 * events the test sends, content answers from tables, and builds the test finishes on command.
 */
import type { PipeEvent } from "../../src/events.ts";
import type { Clock, ContentOracle, FsWatcher, FsWatcherFactory, WatcherListener, WatcherNotice } from "../../src/watch/ports.ts";
import type { RunOutcome } from "../../src/watch/watcher.ts";
import { globSource, type WatchSet } from "../../src/watch/watch-set.ts";

/** A clock that moves only on `advance`, firing due timers in order. */
export class FakeClock implements Clock {
  #now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Number of armed timers. */
  get armed(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that comes due, earliest first. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

/** A watcher that records what it is asked to watch; the test delivers notices. */
export class FakeWatcher implements FsWatcher {
  listener!: WatcherListener;
  filter!: { isIgnored(path: string, isDir: boolean | undefined): boolean };
  readonly watched = new Set<string>();
  readonly calls: string[] = [];
  polling = false;
  closed = false;

  readonly factory: FsWatcherFactory = (listener, filter) => {
    this.listener = listener;
    this.filter = filter;
    return this;
  };

  async add(paths: string[]): Promise<void> {
    this.calls.push(`add ${paths.join(",")}`);
    for (const p of paths) this.watched.add(p);
  }

  unwatch(paths: string[]): void {
    this.calls.push(`unwatch ${paths.join(",")}`);
    for (const p of paths) this.watched.delete(p);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Delivers a change to `path` (as chokidar would). */
  change(path: string, kind: "add" | "change" | "unlink" = "change"): void {
    this.listener({ type: "fs", kind, path });
  }

  notice(n: WatcherNotice): void {
    this.listener(n);
  }
}

/**
 * Content answers from tables: signatures default to "s0"; `same` lists saves without changes;
 * `written` the files last written during the last build (by `writers`' recipe, when named).
 */
export class FakeContent implements ContentOracle {
  readonly sigs = new Map<string, string>();
  readonly same = new Set<string>();
  readonly written = new Set<string>();
  readonly writers = new Map<string, string>();

  writtenDuringLastRun(path: string): boolean {
    return this.written.has(path);
  }

  writerOf(path: string): string | undefined {
    return this.writers.get(path);
  }

  signature(path: string): string {
    return this.sigs.get(path) ?? "s0";
  }

  unchanged(path: string): boolean {
    return this.same.has(path);
  }
}

/** A build the test finishes on command. */
export interface PendingBuild {
  changed: string[];
  finish(outcome?: Partial<RunOutcome>): Promise<void>;
  fail(error: Error): Promise<void>;
}

/** Records builds; each waits until the test calls `finish`. */
export class FakeBuilds {
  readonly started: PendingBuild[] = [];
  #set: WatchSet;

  constructor(set: WatchSet) {
    this.#set = set;
  }

  readonly runBuild = (changed: string[]): Promise<RunOutcome> =>
    new Promise((resolve, reject) => {
      this.started.push({
        changed,
        finish: async (o = {}) => {
          if (o.watch) this.#set = o.watch;
          resolve({ ok: o.ok ?? true, watch: this.#set, ...(o.changedDuringRun ? { changedDuringRun: o.changedDuringRun } : {}) });
          await flush();
        },
        fail: async (e) => {
          reject(e);
          await flush();
        },
      });
    });

  /** The most recent build. */
  get last(): PendingBuild {
    const b = this.started[this.started.length - 1];
    if (!b) throw new Error("no build started");
    return b;
  }
}

/** Lets promise chains (the loop's awaits) run to completion. Not a sleep: no time passes. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Collects events. */
export function eventLog(): { events: PipeEvent[]; emit: (e: PipeEvent) => void; types: () => string[] } {
  const events: PipeEvent[] = [];
  return { events, emit: (e) => events.push(e), types: () => events.map((e) => e.type) };
}

/**
 * The watch set the loop tests use:
 *
 *   /p/Pipelinefile.ts          (code)
 *   /p/sentinel.txt, /p/flag.txt (file inputs)
 *   /p/data/*.csv               (glob; data/all.csv is an output)
 *   /p/.pipe, /p/node_modules/.cache (pipe's own)
 */
export function sampleSet(extra: Partial<WatchSet> = {}): WatchSet {
  return {
    root: "/p",
    files: ["/p/Pipelinefile.ts", "/p/flag.txt", "/p/sentinel.txt"],
    code: ["/p/Pipelinefile.ts"],
    dirs: [],
    globs: [globSource("/p", "data/*.csv", ["/p/data/a.csv"])],
    ignored: ["/p/.pipe", "/p/data/all.csv", "/p/node_modules/.cache"],
    ...extra,
  };
}
