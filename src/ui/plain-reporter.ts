/**
 * The plain reporter: one line per thing that happened, for pipes, CI logs and dumb
 * terminals. It never writes cursor movement, spinners or erase sequences, whatever `CI`
 * says; colour (SGR) sequences are written only when `color` is true, a choice the caller
 * makes from NO_COLOR/FORCE_COLOR and the stream.
 *
 *   plan: 3 to run, 1 to restore, 45 up to date (jobs 8, about 1m20s)
 *   start trend[attribute=recovered] (input data/a.csv changed)
 *   built words 1.2s
 *   restored x
 *   FAILED y (exit code 3) log: .pipe/logs/y.log
 *     last log lines, indented
 *   warning: …
 *   FAILED: 3 built, 1 restored, 45 up to date, 1 failed in 4.0s; critical path 3.1s: a 1.0s -> y 2.1s
 *   failed: y (log: .pipe/logs/y.log)
 *
 * After MAX_FAILURE_BLOCKS failures in a build (`-k`), each further one is a single line
 * (`FAILED z (exit code 1) log: …`), and the last line names the failed targets, capped:
 * `failed: a, b, c, d, e and 995 more (logs in .pipe/logs/)`.
 *
 * Up-to-date targets are only counted in the summary, except with `verbose`, which also
 * prints each recipe log line as `[target] line`. `quiet` keeps failures, errors, the
 * watch idle line and the summary.
 */
import { wouldWord, type PipeEvent, type TargetStatus } from "../events.ts";
import { computeEta } from "./eta.ts";
import {
  cleanLine,
  formatBytes,
  formatCriticalPath,
  formatDuration,
  formatFailedIds,
  formatFailureCapNote,
  formatFailureLogs,
  formatSummaryHeadline,
  formatWatchChange,
  formatWatchIdle,
} from "./format.ts";
import { flush, outputBacklog, type InterruptibleReporter } from "./reporter.ts";
import { createView, interruptMessage, markInterrupting, MAX_FAILURE_BLOCKS, reduce, type BuildView, type Detail, type FinishedView } from "./view-model.ts";

/** Options of the plain reporter. */
export interface PlainReporterOptions {
  stdout: NodeJS.WritableStream;
  /** Write SGR colour sequences. */
  color: boolean;
  detail: Detail;
  /** Clock for the plan's time estimate; defaults to Date.now. */
  now?: () => number;
}

/** How long a line may wait for others to share its write. */
const BATCH_MS = 10;


/** Hops of the critical path written out in the summary line; a longer path shows its ends. */
const MAX_PATH_HOPS = 12;

const SGR = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
type Style = keyof typeof SGR;

/** Creates the plain line reporter. */
export function createPlainReporter(options: PlainReporterOptions): InterruptibleReporter {
  const { stdout, color, detail } = options;
  const now = options.now ?? Date.now;
  let view: BuildView = createView({ detail });
  let closed = false;

  const paint = (style: Style | Style[], text: string): string => {
    if (!color || text === "") return text;
    const codes = (Array.isArray(style) ? style : [style]).map((s) => SGR[s]).join(";");
    return `\x1b[${codes}m${text}\x1b[0m`;
  };
  // Lines are batched for a few milliseconds (or 64 KiB), as the NDJSON reporter does: a write
  // per line made `--verbose` with a chatty recipe print about 10,000 lines a second on the
  // development VM (a write(2) to the pipe each), and a chain's "built a" and "start b" took a
  // write each. The delay is far below what a person or a test waiting for a line notices;
  // close() writes what is left.
  let buffer = "";
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === "") return;
    const out = buffer;
    buffer = "";
    stdout.write(out);
  };
  const write = (lines: string[]): void => {
    if (closed || lines.length === 0) return;
    for (const l of lines) buffer += `${l}\n`;
    if (buffer.length > 65536) drain();
    else timer ??= setTimeout(drain, BATCH_MS).unref();
  };
  // Far behind its reader, stdout holds up the recipes' output (reporter.ts outputBacklog); only
  // while pipe stops are lines left out instead.
  const backlog = outputBacklog(stdout, () => buffer.length, (n) =>
    write([`${paint("yellow", "warning:")} ${n.toLocaleString("en-US")} line${n === 1 ? "" : "s"} of recipe output not shown here: pipe was stopping and the reader of its output was behind (every line is in the targets' logs, .pipe/logs/)`]),
  );
  const writeLogLine = (line: string): void => {
    if (backlog.admit()) write([line]);
  };
  const quiet = detail === "quiet";
  const verbose = detail === "verbose";

  /** Built once (10,000 finishes used to build them each). */
  const labels: Record<TargetStatus, string> = {
    built: paint("green", "built"),
    restored: paint("cyan", "restored"),
    "up-to-date": paint("dim", "up-to-date"),
    failed: paint(["red", "bold"], "FAILED"),
    skipped: paint("yellow", "skipped"),
  };

  /** `failureIndex`: for a failure, how many failed in this build so far (this one included). */
  function finishedLines(t: FinishedView, failureIndex = 0): string[] {
    switch (t.status) {
      case "built":
        return quiet ? [] : [`${labels.built} ${t.id} ${paint("dim", formatDuration(t.durationMs))}`];
      case "restored":
        return quiet ? [] : [`${labels.restored} ${t.id}`];
      case "up-to-date":
        return verbose ? [`${labels["up-to-date"]} ${t.id}`] : [];
      case "skipped": {
        if (quiet) return [];
        const why = t.reason || (t.cause ? `${t.cause} failed` : "");
        return [`${labels.skipped} ${t.id}${why ? ` (${cleanLine(why)})` : ""}`];
      }
      case "failed": {
        const [first = "", ...more] = (t.error ?? "").split("\n").map(cleanLine);
        const head = `${labels.failed} ${t.id}${first ? ` (${first})` : ""}${t.logPath ? ` log: ${t.logPath}` : ""}`;
        if (failureIndex > MAX_FAILURE_BLOCKS) {
          return failureIndex === MAX_FAILURE_BLOCKS + 1 ? [paint("dim", formatFailureCapNote(MAX_FAILURE_BLOCKS)), head] : [head];
        }
        const tail = (t.logTail ?? []).map((l) => `  ${paint("dim", cleanLine(l))}`);
        return [head, ...more.filter((l) => l !== "").map((l) => `  ${l}`), ...tail];
      }
    }
  }

  function prefixed(prefix: "warning" | "error", style: Style, message: string, target?: string): string[] {
    const lines = message.split("\n").map(cleanLine);
    const already = lines[0].toLowerCase().startsWith(`${prefix}:`);
    const first = already ? lines[0].slice(prefix.length + 1).trimStart() : lines[0];
    const who = target !== undefined ? `[${target}] ` : "";
    return [`${paint(style, `${prefix}:`)} ${who}${first}`, ...lines.slice(1)];
  }

  function planLine(v: BuildView, t: number): string[] {
    let run = 0;
    let maybe = 0;
    let restore = 0;
    for (const p of v.plan) {
      if (p.action === "run") run++;
      else if (p.action === "restore") restore++;
      if (p.ifDepsChange) maybe++;
    }
    const upToDate = v.plan.length - run - restore;
    const parts = [
      run > maybe ? `${run - maybe} to run` : "",
      maybe > 0 ? `${maybe} may run` : "",
      restore > 0 ? `${restore} to restore` : "",
      upToDate > 0 ? `${upToDate} up to date` : "",
    ].filter(Boolean);
    const eta = run + restore > 0 ? computeEta(v, t) : undefined;
    const extra = [`jobs ${v.jobs}`, eta && eta.etaMs > 0 ? `about ${formatDuration(eta.etaMs)}` : ""].filter(Boolean);
    const lines = [`${v.dryRun ? "dry run" : "plan"}: ${parts.join(", ") || "no targets"} (${extra.join(", ")})`];
    if (v.dryRun) {
      for (const p of v.plan) {
        if (p.action === "up-to-date") continue;
        lines.push(`${wouldWord(p)} ${p.target}${p.reason ? ` (${cleanLine(p.reason)})` : ""}`);
      }
    }
    return lines;
  }

  function linesFor(e: PipeEvent, before: BuildView, after: BuildView, t: number): string[] {
    switch (e.type) {
      case "build-started":
        return quiet ? [] : planLine(after, t);
      case "lock-waiting":
        return quiet ? [] : [`waiting for lock ${e.lockPath} (held by ${e.holder})`];
      case "lock-acquired":
        return quiet || e.recovered === undefined ? [] : [`recovered a stale lock (${cleanLine(e.recovered)})`];
      case "hash-progress": {
        const isNew = !before.hashing.some((h) => h.path === e.path) && e.doneBytes < e.totalBytes;
        return quiet || !isNew ? [] : [`hashing ${e.path} (${formatBytes(e.totalBytes)})`];
      }
      case "target-started":
        return quiet ? [] : [`start ${e.target}${e.reason ? ` (${cleanLine(e.reason)})` : ""}`];
      case "target-progress":
        return [];
      case "log":
        return []; // written by onEvent
      case "target-finished":
        // A dry run lists what would run or be restored at its start: not again as skipped.
        if (after.dryRun && e.status === "skipped") return [];
        return finishedLines(
          after.finished.at(-1)?.id === e.target ? after.finished.at(-1)! : { id: e.target, status: e.status, durationMs: e.durationMs, reason: e.reason, error: e.error, logTail: e.logTail, logPath: e.logPath, cause: e.cause },
          e.status === "failed" ? after.failures.length : 0,
        );
      case "warning":
        return quiet && !e.kept ? [] : prefixed("warning", "yellow", e.message, e.target);
      case "error":
        return prefixed("error", "red", e.message);
      case "watch-idle":
        return [formatWatchIdle(e)];
      case "watch-change":
        return quiet ? [] : [formatWatchChange(e.paths)];
      case "build-finished": {
        const s = after.summary!;
        const style: Style[] = s.ok ? ["green"] : ["red", "bold"];
        const headline = formatSummaryHeadline(s);
        const colon = headline.indexOf(":");
        const durations = new Map(Object.entries(s.durations));
        const path = formatCriticalPath(s.criticalPath, { durations, maxHops: MAX_PATH_HOPS });
        const lines = [`${paint(style, headline.slice(0, colon + 1))}${headline.slice(colon + 1)}${path ? `; ${path}` : ""}`];
        // The failure blocks may have scrolled far up (or been cut to one line each): name them.
        if (s.failures.length > 0) {
          const logs = formatFailureLogs(s.failures);
          lines.push(`${paint("red", "failed:")} ${formatFailedIds(s.failures.map((f) => f.id))}${logs ? ` (${logs})` : ""}`);
        }
        return lines;
      }
    }
  }

  return {
    onEvent(event) {
      if (closed) return;
      // A recipe's output line changes nothing else these lines show (the view keeps it for the
      // live view only): shown with --verbose, never folded in (a recipe printing a million
      // lines spent a second in the view's reducer for nothing).
      if (event.type === "log") {
        if (verbose) writeLogLine(`${paint("dim", `[${event.target}]`)} ${cleanLine(event.line)}`);
        return;
      }
      // What was left out is said before the summary, which stays the last line.
      if (event.type === "build-finished") backlog.note();
      const t = now();
      const before = view;
      view = reduce(view, event, t);
      // A planned-up-to-date target confirmed: nothing to show unless verbose (10,000 in a no-op).
      if (view === before && event.type === "target-finished" && event.status === "up-to-date" && !verbose) return;
      write(linesFor(event, before, view, t));
      // Lines after which pipe may be busy or waiting for a while go out now, not after it:
      // `pipe watch` reloads the Pipelinefile (seconds of work, its own output) after "changed: ...".
      if (event.type === "watch-change" || event.type === "watch-idle" || event.type === "lock-waiting" || event.type === "build-finished") drain();
    },
    noteInterrupt() {
      if (closed || view.killing) return;
      const message = interruptMessage(view.running.length, view.interrupting);
      view = markInterrupting(view);
      if (!quiet) write([message]);
    },
    async close() {
      if (closed) return;
      backlog.stop();
      backlog.note();
      drain();
      closed = true;
      await flush(stdout);
    },
  };
}
