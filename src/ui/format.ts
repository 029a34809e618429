/**
 * Text helpers shared by the plain and Ink reporters: durations, byte sizes, middle
 * truncation, count phrases and the build summary. Pure, no I/O, and no React or Ink imports
 * (the plain and JSON reporters load this module and must stay fast to start).
 */
import type { TargetStatus } from "../events.ts";

/** Display order of statuses in count phrases and headers. */
export const STATUS_ORDER: readonly TargetStatus[] = ["built", "restored", "up-to-date", "failed", "skipped"];

/** Human label of a status in a count phrase ("3 up to date"). */
export function statusLabel(status: TargetStatus): string {
  return status === "up-to-date" ? "up to date" : status;
}

/**
 * A duration for people: `340ms`, `1.2s`, `2m05s`, `1h02m`.
 * Negative or non-finite input is treated as zero.
 */
export function formatDuration(ms: number): string {
  const t = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (t < 1000) return `${Math.round(t)}ms`;
  if (t < 59_950) return `${(t / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(t / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${m}m${String(s).padStart(2, "0")}s`;
  }
  const totalMinutes = Math.round(t / 60_000);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${h}h${String(m).padStart(2, "0")}m`;
}

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"] as const;

function byteUnit(n: number): number {
  let i = 0;
  while (i < BYTE_UNITS.length - 1 && n >= 1000 ** (i + 1)) i++;
  return i;
}

/** A byte count in decimal units: `4.0 GB`, `512 B`. */
export function formatBytes(n: number): string {
  const i = byteUnit(n);
  return i === 0 ? `${Math.round(n)} B` : `${(n / 1000 ** i).toFixed(1)} ${BYTE_UNITS[i]}`;
}

/** Progress of a byte count, both numbers in the total's unit: `1.2/4.0 GB`. */
export function formatBytesProgress(done: number, total: number): string {
  const i = byteUnit(total);
  if (i === 0) return `${Math.round(done)}/${Math.round(total)} B`;
  const d = 1000 ** i;
  return `${(done / d).toFixed(1)}/${(total / d).toFixed(1)} ${BYTE_UNITS[i]}`;
}

/**
 * Columns a string takes in a terminal. Counts code points, with East Asian wide and emoji
 * ranges as two columns and combining marks as zero. An approximation of `string-width`
 * that is good enough for target ids and paths (Ink's own truncation is the last defence).
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp >= 0x300 && cp <= 0x36f) return 0; // combining diacritics
  if (cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0; // ZWJ, variation selectors
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/**
 * Shortens `s` to at most `max` columns by replacing its middle with `…`, keeping both ends
 * (ids like `trend[attribute=recovered]` differ at the end as often as at the start).
 */
export function truncateMiddle(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  if (max <= 0) return "";
  if (max === 1) return "…";
  const chars = [...s];
  const budget = max - 1;
  const headBudget = Math.ceil(budget / 2);
  let head = "";
  let hw = 0;
  for (const ch of chars) {
    const cw = charWidth(ch.codePointAt(0) ?? 0);
    if (hw + cw > headBudget) break;
    head += ch;
    hw += cw;
  }
  let tail = "";
  let tw = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const cw = charWidth(chars[i].codePointAt(0) ?? 0);
    if (hw + tw + cw > budget) break;
    tail = chars[i] + tail;
    tw += cw;
  }
  return `${head}…${tail}`;
}

/** Cuts `s` to at most `max` columns, ending with `…` when something was cut. */
export function truncateEnd(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  if (max <= 0) return "";
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0) ?? 0);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** `3 built, 2 restored, 45 up to date`: non-zero counts in STATUS_ORDER; `nothing to do` if none. */
export function formatCounts(counts: Partial<Record<TargetStatus, number>>): string {
  const parts = STATUS_ORDER.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${statusLabel(s)}`);
  return parts.length > 0 ? parts.join(", ") : "nothing to do";
}

/** What `build-finished` says, as the reporters need it. */
export interface SummaryInput {
  ok: boolean;
  interrupted: boolean;
  durationMs: number;
  counts: Record<TargetStatus, number>;
  criticalPath: { targets: string[]; durationMs: number };
  dryRun?: boolean;
  /**
   * A dry run's plan: what would run and be restored (those targets end as skipped); `maybe`
   * of the `run` ones run only if a dependency's outputs change (early cutoff).
   */
  would?: { run: number; restore: number; maybe?: number };
  /** Watch mode: requested targets still failed from an earlier run, not retried in this one. */
  notRetried?: string[];
}

/**
 * `ok: …`, `FAILED: …` or `interrupted: …`, followed by the counts and total time; in watch
 * mode, also the failed targets not retried (`FAILED: 1 built, 1 still failed (not retried: …)`).
 */
export function formatSummaryHeadline(s: SummaryInput): string {
  const word = s.interrupted ? "interrupted" : s.ok ? "ok" : "FAILED";
  const dry = s.dryRun ? " (dry run)" : "";
  if (s.dryRun && s.would) {
    const { run, restore } = s.would;
    const maybe = s.would.maybe ?? 0;
    const rest = formatCounts({ ...s.counts, skipped: Math.max(0, s.counts.skipped - run - restore) });
    const parts = [run > maybe ? `would run ${run - maybe}` : "", maybe > 0 ? `may run ${maybe}` : "", restore > 0 ? `would restore ${restore}` : "", run + restore === 0 || rest !== "nothing to do" ? rest : ""].filter(Boolean);
    // The time is the dry run's own (planning), not the build's: printed "in 6ms" right after
    // a plan line saying "about 5.0s", it read as the build's duration.
    return `${word}${dry}: ${parts.join(", ")} (checked in ${formatDuration(s.durationMs)})`;
  }
  const n = s.notRetried?.length ?? 0;
  const held = n > 0 ? `, ${n} still failed (not retried: ${n === 1 ? "its" : "their"} sources did not change)` : "";
  return `${word}${dry}: ${formatCounts(s.counts)}${held} in ${formatDuration(s.durationMs)}`;
}

/**
 * `critical path 10.1s: prepare 1.0s -> words 2.0s -> trend 7.1s`, or undefined when no target ran.
 * Per-target durations come from `durations` when known. With `maxWidth`, hops in the middle
 * are replaced by `…` until the text fits (the first and last hops stay); if even that is too
 * wide, the remaining ids are shortened in the middle, keeping their durations.
 */
export function formatCriticalPath(
  path: { targets: string[]; durationMs: number },
  options: { durations?: ReadonlyMap<string, number>; arrow?: string; maxWidth?: number; maxHops?: number } = {},
): string | undefined {
  if (path.targets.length === 0) return undefined;
  const arrow = options.arrow ?? " -> ";
  const head = `critical path ${formatDuration(path.durationMs)}: `;
  type Hop = { id: string; suffix: string } | string;
  const hop = (id: string) => {
    const d = options.durations?.get(id);
    return { id, suffix: d === undefined ? "" : ` ${formatDuration(d)}` };
  };
  const join = (list: Hop[]): string => head + list.map((h) => (typeof h === "string" ? h : h.id + h.suffix)).join(arrow);
  /** The first and last of `keep` hops, the middle said by `gap` (how many it hides). */
  const elide = (keep: number, gap: (hidden: number) => string): Hop[] => {
    const front = Math.ceil(keep / 2);
    const back = keep - front;
    const n = path.targets.length;
    return [...path.targets.slice(0, front).map(hop), gap(n - keep), ...path.targets.slice(n - back).map(hop)];
  };
  // A chain of 1,000 targets is not a line to read: the first and last few, and how many between.
  const hops: Hop[] = options.maxHops !== undefined && path.targets.length > options.maxHops ? elide(Math.max(2, options.maxHops), (hidden) => `… ${hidden} more`) : path.targets.map(hop);
  const max = options.maxWidth;
  let text = join(hops);
  if (max === undefined || displayWidth(text) <= max) return text;
  // Each hop takes at least an arrow and a character: no more than that many can fit.
  const real = hops.filter((h) => typeof h !== "string").length;
  let elided: Hop[] = hops;
  for (let keep = Math.min(real - 1, Math.floor(max / (arrow.length + 1))); keep >= 2; keep--) {
    elided = elide(keep, () => "…");
    text = join(elided);
    if (displayWidth(text) <= max) return text;
  }
  // Still too wide: share the room left among the ids that remain.
  const ids = elided.filter((h) => typeof h !== "string");
  const fixed = displayWidth(join(elided.map((h) => (typeof h === "string" ? h : { id: "", suffix: h.suffix }))));
  const share = Math.max(4, Math.floor((max - fixed) / ids.length));
  text = join(elided.map((h) => (typeof h === "string" ? h : { id: truncateMiddle(h.id, share), suffix: h.suffix })));
  return displayWidth(text) <= max ? text : truncateEnd(text, max);
}

/**
 * The failed targets of a build, for its summary: `a, b, c and 997 more`. Lists at most
 * `maxIds` ids and stops earlier once the list would pass `maxWidth` columns (at least one id
 * is always named, shortened in the middle if it alone is too wide).
 */
export function formatFailedIds(ids: readonly string[], options: { maxIds?: number; maxWidth?: number } = {}): string {
  const maxIds = Math.max(1, options.maxIds ?? 5);
  const maxWidth = options.maxWidth ?? 100;
  const named: string[] = [];
  let width = 0;
  for (const id of ids) {
    if (named.length >= maxIds) break;
    const w = displayWidth(id) + (named.length > 0 ? 2 : 0);
    if (named.length > 0 && width + w > maxWidth) break;
    named.push(named.length === 0 ? truncateMiddle(id, Math.max(8, maxWidth)) : id);
    width += w;
  }
  const rest = ids.length - named.length;
  return rest > 0 ? `${named.join(", ")} and ${rest} more` : named.join(", ");
}

/**
 * Where the logs of `failures` are: the one log's path when only one target failed, else the
 * directory they share (`.pipe/logs/`); undefined when none has a log.
 */
export function formatFailureLogs(failures: ReadonlyArray<{ logPath?: string }>): string | undefined {
  const paths = failures.map((f) => f.logPath).filter((p): p is string => p !== undefined);
  if (paths.length === 0) return undefined;
  if (failures.length === 1) return `log: ${paths[0]}`;
  const dirs = new Set(paths.map((p) => p.slice(0, p.lastIndexOf("/") + 1)));
  return dirs.size === 1 && !dirs.has("") ? `logs in ${[...dirs][0]}` : "logs in .pipe/logs/";
}

/** The line that says failures after the first `shown` are listed one line each. */
export function formatFailureCapNote(shown: number): string {
  return `more than ${shown} targets failed: the others are listed one line each, without their log lines`;
}

/**
 * What the live view says when more feed items came than it keeps between two frames, by
 * kind: `… 8000 more finished targets not listed`. Only log lines are in log files.
 */
export function formatFeedGap(missed: Readonly<Record<string, number>>): string {
  const names: Record<string, [string, string]> = {
    finished: ["finished target", "finished targets"],
    log: ["log line", "log lines"],
    notice: ["notice", "notices"],
    warning: ["warning", "warnings"],
    error: ["error", "errors"],
  };
  const parts: string[] = [];
  let other = 0;
  for (const [kind, n] of Object.entries(missed)) {
    if (n <= 0) continue;
    const name = names[kind];
    if (name) parts.push(`${n} ${n === 1 ? name[0] : name[1]}`);
    else other += n;
  }
  if (other > 0) parts.push(`${other} other ${other === 1 ? "line" : "lines"}`);
  if (parts.length === 0) return "… some lines not shown";
  const logs = (missed.log ?? 0) > 0 ? " (the log lines are in the log files, .pipe/logs/)" : "";
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  return `… ${list.replace(/^(\d+) /, "$1 more ")} not listed${logs}`;
}

/** The watch-mode idle line: `watching 12 paths; last run ok; waiting for changes`. */
export function formatWatchIdle(w: { watched: number; lastRunOk?: boolean; polling?: boolean }): string {
  const paths = `${w.watched} ${w.watched === 1 ? "path" : "paths"}${w.polling ? " (polling)" : ""}`;
  const last = w.lastRunOk === undefined ? "" : w.lastRunOk ? "; last run ok" : "; last run failed";
  return `watching ${paths}${last}; waiting for changes`;
}

/** `changed: data/a.csv, src/b.ts (+3 more)`. */
export function formatWatchChange(paths: readonly string[], shown = 3): string {
  const head = paths.slice(0, shown).join(", ");
  const more = paths.length > shown ? ` (+${paths.length - shown} more)` : "";
  return `changed: ${head}${more}`;
}

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-character ESC sequences.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]/g;
// C0/C1 controls except tab.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/**
 * Makes a line from a recipe's output safe to print: removes escape sequences and control
 * characters, and keeps only what follows the last carriage return (progress bars such as
 * tqdm redraw a line with `\r`; the terminal would only show the last state too).
 */
export function cleanLine(line: string): string {
  const noAnsi = line.replace(ANSI, "");
  const parts = noAnsi.split("\r").filter((p) => p.length > 0);
  const last = parts.length > 0 ? parts[parts.length - 1] : "";
  return last.replace(CONTROL, "");
}
