/**
 * Event builders, a fake clock and an in-memory output stream for the UI tests.
 */
import { Writable } from "node:stream";
import type { PipeEvent, PlannedTarget, TargetStatus } from "../../src/events.ts";
import { createView, reduce, type BuildView, type Detail } from "../../src/ui/view-model.ts";

/** A clock the test moves by hand. */
export function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

/** A writable stream that records what was written. `isTTY`, `columns` and `rows` are settable. */
export class MemoryStream extends Writable {
  chunks: string[] = [];
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;
  constructor(options: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
    super({ decodeStrings: false });
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns;
    this.rows = options.rows;
  }
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    if (text !== "") this.chunks.push(text);
    callback();
  }
  get text(): string {
    return this.chunks.join("");
  }
  /** Written text split into lines (the trailing newline does not make an empty last line). */
  get lines(): string[] {
    const t = this.text;
    return t === "" ? [] : t.replace(/\n$/, "").split("\n");
  }
}

/** Removes ANSI escape sequences. */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-_]/g, "");
}

/** `build-started` for a plan given as `[id, action, estimateMs?, reason?]` rows. */
export function started(
  rows: Array<[string, PlannedTarget["action"], number?, string?]>,
  options: { jobs?: number; dryRun?: boolean; targets?: string[] } = {},
): PipeEvent {
  const plan: PlannedTarget[] = rows.map(([target, action, estimateMs, reason]) => ({
    target,
    action,
    ...(reason !== undefined ? { reason } : {}),
    ...(estimateMs !== undefined ? { estimateMs } : {}),
  }));
  return {
    type: "build-started",
    targets: options.targets ?? [rows[rows.length - 1]?.[0] ?? "all"],
    plan,
    jobs: options.jobs ?? 2,
    dryRun: options.dryRun ?? false,
    time: 0,
  };
}

/** `target-started`. */
export function start(target: string, reason = "no record"): PipeEvent {
  return { type: "target-started", target, reason };
}

/** `target-finished` with sensible defaults. */
export function finish(
  target: string,
  status: TargetStatus,
  durationMs: number,
  extra: Partial<Extract<PipeEvent, { type: "target-finished" }>> = {},
): PipeEvent {
  return { type: "target-finished", target, status, durationMs, reason: extra.reason ?? "no record", ...extra };
}

/** `build-finished`. */
export function finished(
  counts: Partial<Record<TargetStatus, number>>,
  durationMs: number,
  criticalPath: string[] = [],
  pathMs = 0,
  extra: { ok?: boolean; interrupted?: boolean } = {},
): PipeEvent {
  const all: Record<TargetStatus, number> = { built: 0, restored: 0, "up-to-date": 0, failed: 0, skipped: 0, ...counts };
  return {
    type: "build-finished",
    ok: extra.ok ?? all.failed === 0,
    interrupted: extra.interrupted ?? false,
    durationMs,
    counts: all,
    criticalPath: { targets: criticalPath, durationMs: pathMs },
  };
}

/** Folds `[atMs, event]` pairs into a view (each event at its own clock value). */
export function viewOf(events: Array<[number, PipeEvent]>, options: { detail?: Detail; jobs?: number } = {}): BuildView {
  let v = createView(options);
  for (const [t, e] of events) v = reduce(v, e, t);
  return v;
}

/** A stdout whose reader takes nothing until told (call the held callbacks): what is written waits in the stream. */
export function slowStream(): { slow: Writable; taken: string[]; held: (() => void)[] } {
  const taken: string[] = [];
  const held: (() => void)[] = [];
  const slow = new Writable({
    decodeStrings: false,
    write(chunk, _enc, cb) {
      taken.push(String(chunk));
      held.push(cb);
    },
  });
  return { slow, taken, held };
}
