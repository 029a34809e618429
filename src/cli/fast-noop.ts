/**
 * `pipe build` when nothing changed, answered from the no-op snapshot (src/fast/snapshot.ts)
 * without loading the Pipelinefile, the records or the graph: one stat per file it depends on.
 * When only some targets' project files changed, it hands the full build a PartialHint (what
 * the snapshot still vouches for; fast/partial.ts). Otherwise (no snapshot, the Pipelinefile or
 * what it read changed, an option it does not handle, anything unexpected) it returns
 * undefined and the full build runs; so this module may be wrong only by being too cautious.
 *
 * It takes no lock: it writes nothing a concurrent build relies on (only its own snapshot, by
 * rename), and files are published by rename, so each one it stats is either before or after.
 */
import { closeSync, constants as fsConstants, lstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { dirname, join } from "node:path";
import { createHmac } from "node:crypto";
import type { PipeEvent, PlannedTarget, TargetStatus } from "../events.ts";
import type { StatLike } from "../hash/file-hasher.ts";
import { isRacy } from "../hash/racy.ts";
import { findPipelinefile } from "../load/find.ts";
import { todayFor } from "../graph/today.ts";
import { readMachineKey } from "../state/machine-key.ts";
import { decodeRows, envMac, exactFactsHold, factHolds, hashAt, runsInProgress, FILE_NUMS, openSnapshot, refreshFact, statSeen, requestKey, runtimeId, sealSnapshot, snapshotPath, eventsPath, deltaPath, openDelta, applyDelta, SEAL_LEN, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type Snapshot } from "../fast/snapshot.ts";
import { flagValue, hasFlag, parseArgs } from "./args.ts";
import { BUILD_FLAGS, wholeNumber } from "./flags.ts";
import { paramTextFrom } from "./param-text.ts";
import { parseSize } from "../util/size.ts";
import { colorWanted } from "./color.ts";
import { toJsonLine } from "../ui/json-reporter.ts";
import { readText } from "../util/read-text.ts";
import { statNumbers, type StatNumbers } from "../util/fast-stat.ts";

const NO_THROW = { throwIfNoEntry: false } as const;
const { S_IFMT, S_IFREG } = fsConstants;
/** Files read again (stat differs or racy) from which a no-op rewrites the snapshot: this many, or 1/REWRITE_FRACTION of its files. */
const REWRITE_AT = 64;
const REWRITE_FRACTION = 8;

export interface FastContext {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * What the snapshot still vouches for when only the project files of some targets changed:
 * the build may trust every target that neither reads nor writes a changed file nor depends on
 * one that does (see fast/partial.ts). `changed` holds project-relative paths.
 */
export interface PartialHint {
  snapshot: Snapshot;
  changed: Set<string>;
  /**
   * The stats the check just took of the project's files, by project-relative path: loading
   * the graph and finding big inputs use them instead of stat-ing every file again.
   */
  stats: Map<string, StatLike>;
  /**
   * The targets the changed files touch, with everything downstream of them, in plan order;
   * unset when the snapshot does not know each target's files (a folder input or output) or
   * every target is touched: nothing can be trusted then.
   */
  affected?: string[];
  /** Each plan entry's rows in the snapshot's file table (with `affected`). */
  rows?: number[][];
  /** A changed file is no longer a regular file (deleted, now a folder): plan the whole graph. */
  gone: boolean;
}

/**
 * Exit code 0 when the snapshot proved every requested target up to date; a PartialHint when
 * it proved all but some targets' files; else undefined.
 */
export async function tryNoop(ctx: FastContext): Promise<number | PartialHint | undefined> {
  const started = Date.now();
  if (ctx.env.PIPE_NO_SNAPSHOT) return undefined;
  let snap: Snapshot;
  let path: string;
  let root: string;
  let jobs: number | undefined;
  let machine: string | undefined;
  let seal: string;
  const args = (() => {
    try {
      return parseArgs(ctx.argv, BUILD_FLAGS, "build");
    } catch {
      return undefined; // the normal path reports it
    }
  })();
  if (!args || hasFlag(args, "help") || hasFlag(args, "dry-run")) return undefined;
  try {
    const file = findPipelinefile(ctx.cwd, flagValue(args, "file"));
    root = dirname(file);
    const paramText = paramTextFrom(args, ctx.cwd);
    // Values the full build would reject must be rejected there, with its message.
    const memText = flagValue(args, "mem");
    if (memText !== undefined && !((parseSize(memText) ?? 0) > 0)) return undefined;
    const jobsText = flagValue(args, "jobs");
    if (jobsText !== undefined) {
      jobs = wholeNumber(jobsText);
      if (!Number.isInteger(jobs) || jobs < 1) return undefined;
    }
    const key = requestKey(file, args.positional, paramText);
    path = snapshotPath(root, key);
    // The snapshot's temps are written in .pipe/noop/: through a link, outside the project. The
    // full path names such a link and stops (state/links.ts).
    if (!realFolder(join(root, ".pipe")) || !realFolder(dirname(path))) return undefined;
    machine = readMachineKey(ctx.env, join(root, ".pipe"));
    const text = machine === undefined ? undefined : readText(path);
    const opened = text === undefined ? undefined : openSnapshot(text, machine!);
    if (!opened) return undefined;
    snap = opened;
    seal = text!.slice(0, SEAL_LEN);
    if (snap.format !== SNAPSHOT_FORMAT || snap.version !== SNAPSHOT_VERSION || snap.key !== key) return undefined;
    snap.seal = seal;
    // What builds since changed in it (fast/snapshot.ts Delta). One that does not apply: the
    // full path, which writes the snapshot whole.
    const deltaText = readIfThere(deltaPath(path));
    if (deltaText !== undefined) {
      const delta = openDelta(deltaText, machine!);
      if (!delta || !applyDelta(snap, delta, seal)) return undefined;
    }
  } catch {
    return undefined;
  }
  const cwd = process.cwd();
  let result: ReturnType<typeof check>;
  try {
    process.chdir(root);
    result = check(snap, root, ctx.env);
  } catch {
    return undefined;
  } finally {
    process.chdir(cwd);
  }
  if (result === false) return undefined;
  const { again, changed, gone } = result;
  if (again.length) {
    if (!(await recheck(snap, root, again, changed))) return undefined;
  }
  if (changed.size) {
    const rows = decodeRows(snap);
    const hit = rows && affectedTargets(snap, rows, changed);
    // A file whose stat matched its fact exactly has the fact's numbers as its stat: keeping
    // the 20,000 Stats objects themselves made every no-op slower (GC) for this rarer case.
    // Only the affected targets' files when the build will load just those targets (fast/partial.ts
    // subsetFor; the few other files it looks at, it stats): all 20,000 cost 17 ms.
    const stats = new Map<string, StatLike>();
    const { paths, nums } = snap.files;
    const took = new Map(again.filter((a) => a.i >= 0).map((a) => [a.i, a.st]));
    const put = (i: number) => {
      if (paths[i].charCodeAt(0) === 47 || changed.has(paths[i])) return;
      const k = i * FILE_NUMS;
      stats.set(paths[i], took.get(i) ?? new FactStat(nums[k], nums[k + 1], nums[k + 2], nums[k + 3], nums[k + 4]));
    };
    if (hit && !gone) for (const e of hit.entries) for (const r of rows![e]) put(r);
    else for (let i = 0; i < paths.length; i++) put(i);
    return { snapshot: snap, changed, stats, gone, ...(hit ? { affected: hit.ids, rows } : {}) };
  }
  // Refreshed facts save the next no-op those reads. Rewriting the whole snapshot (2.6 MB at
  // 10,000 targets) costs more than reading a few small files again, so a handful of them (a
  // touched file, the outputs of a small build) are simply read again next time.
  if (again.length && (again.length >= REWRITE_AT || again.length * REWRITE_FRACTION >= snap.files.paths.length)) {
    try {
      const tmp = `${path}.${process.pid}.tmp`;
      const text = sealSnapshot(snap, machine!);
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, path);
      // The snapshot now holds what the delta said (the delta names the old seal anyway).
      rmSync(deltaPath(path), { force: true });
      seal = text.slice(0, SEAL_LEN);
    } catch {
      // only a cache: the next run re-checks the same files
    }
  }
  await report(ctx, args, snap, jobs, started, { path: eventsPath(path), seal, key: machine! });
  return 0;
}

/** A file's text; undefined when there is none (other errors throw). */
/** Whether `path` is a folder itself, not a link to one (nor missing). */
function realFolder(path: string): boolean {
  return lstatSync(path, NO_THROW)?.isDirectory() === true;
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Cheap checks: false on a difference that voids the whole snapshot (the Pipelinefile, what it
 * read, env, folders, state); else the files and folders whose stat differs or is racy, whose
 * content must be looked at (`again`), and the project files already known to differ.
 */
function check(snap: Snapshot, root: string, env: NodeJS.ProcessEnv): { again: Again[]; changed: Set<string>; gone: boolean } | false {
  if (snap.runtime !== runtimeId() || snap.today !== todayFor(env)) return false;
  const stateDir = join(root, ".pipe");
  // A run that died left staged files behind: the normal path cleans them up.
  if (runsInProgress(stateDir)) return false;
  if (!exactFactsHold(snap.exact)) return false;
  let key: string;
  try {
    key = readFileSync(join(stateDir, "env-key"), "utf8").trim();
  } catch {
    return false;
  }
  if (envMac(snap.envNames, env, key) !== snap.envMac) return false;
  for (const [p, seen] of snap.stats) if (statSeen(p) !== seen) return false;
  const again: Again[] = [];
  const changed = new Set<string>();
  // A changed file that is no longer a regular file (deleted, now a folder): plan in full.
  let gone = false;
  // Content read after this moment: a conservative "read at" time for refreshed facts.
  const at = Date.now();
  // Project paths are relative: stat them from the root (the caller made it the cwd).
  const { paths, nums } = snap.files;
  const buf: StatNumbers = { dev: 0, ino: 0, mode: 0, size: 0, mtimeMs: 0, ctimeMs: 0 };
  for (let i = 0, k = 0; i < paths.length; i++, k += FILE_NUMS) {
    const path = paths[i];
    // The numbers without a Stats object per file (util/fast-stat.ts); `buf` is reused.
    const st = statNumbers(path, buf);
    // nums: dev, ino, size, mtimeMs, ctimeMs, read at, exec (-1: does not count)
    // The mode's file type, not st.isFile(): a method call per file was 2-3 ms of 20,000.
    const regular = st !== undefined && (st.mode & S_IFMT) === S_IFREG;
    if (!regular || st.size !== nums[k + 2] || (nums[k + 6] >= 0 && ((st.mode & 0o111) !== 0 ? 1 : 0) !== nums[k + 6])) {
      // A target's file: only that target (and what depends on it) needs planning.
      if (path.charCodeAt(0) === 47) return false;
      changed.add(path);
      if (!regular) gone = true;
      continue;
    }
    if (!factHolds(snap.files, i, st)) again.push({ i, st: new FactStat(st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs), at });
  }
  for (let i = 0; i < snap.dirs.length; i++) {
    const d = snap.dirs[i];
    const st = statSync(d[0], NO_THROW);
    if (!st || !st.isDirectory()) return false;
    if (st.ino !== d[1] || st.mtimeMs !== d[2] || st.ctimeMs !== d[5] || st.dev !== d[6] || isRacy(st.mtimeMs, d[4])) again.push({ i: -1 - i, st, at });
  }
  return { again, changed, gone };
}

/**
 * The plan entries that read or write a changed file, and everything downstream of them (the
 * plan lists dependencies first), in plan order, by id and by index; undefined when that is
 * every target.
 */
function affectedTargets(snap: Snapshot, rows: number[][], changed: Set<string>): { ids: string[]; entries: number[] } | undefined {
  const changedRows = new Set<number>();
  const { paths } = snap.files;
  for (let i = 0; i < paths.length; i++) if (changed.has(paths[i])) changedRows.add(i);
  const hit = new Set<string>();
  const entries: number[] = [];
  for (let i = 0; i < snap.plan.length; i++) {
    const entry = snap.plan[i];
    let touched = false;
    for (const r of rows[i]) if (changedRows.has(r)) touched = true;
    for (let j = 1; j < entry.length && !touched; j++) if (hit.has(entry[j])) touched = true;
    if (touched) {
      hit.add(entry[0]);
      entries.push(i);
    }
  }
  return hit.size === 0 || hit.size === snap.plan.length ? undefined : { ids: [...hit], entries };
}

/** A regular file's stat as a fact recorded it (the check found the same numbers). */
class FactStat implements StatLike {
  constructor(
    readonly dev: number,
    readonly ino: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
  ) {}
  isFile(): boolean {
    return true;
  }
  isDirectory(): boolean {
    return false;
  }
}

/** A fact to look at again: index (files >= 0, folders -1 - index), its stat just taken, and when. */
interface Again {
  i: number;
  st: StatLike;
  at: number;
}

/**
 * Reads what the stats could not vouch for and refreshes the facts that still hold. False when
 * something that voids the snapshot differs; a project file with other bytes goes to `changed`.
 */
async function recheck(snap: Snapshot, root: string, which: Again[], changed: Set<string>): Promise<boolean> {
  const { initHasher, hashBytes, BIG_FILE } = await import("../hash/xxh.ts");
  await initHasher();
  const abs = (p: string) => (p.charCodeAt(0) === 47 ? p : join(root, p));
  // Touching every input is a common case: one reused buffer, and no fstat after the read. The
  // stat recorded is the one check() took before the read: if the file changed after it, its
  // bytes differ (a change, planned in full) or its next stat differs (read again then), and
  // "read at" is from before that stat, so a change within the clock's granularity stays racy.
  let buf = Buffer.alloc(1 << 16);
  const { paths } = snap.files;
  for (const { i, st, at } of which) {
    try {
      if (i >= 0) {
        const path = paths[i];
        const fd = openSync(abs(path), "r");
        let hash: string;
        try {
          // Small files at once, into one reused buffer. A big one is left to the build, which
          // hashes it in a worker (progress shown, Ctrl-C at once), as a changed file.
          if (st.size >= BIG_FILE) {
            if (path.charCodeAt(0) === 47) return false;
            changed.add(path);
            continue;
          } else {
            if (st.size > buf.length) buf = Buffer.alloc(st.size);
            let n = 0;
            for (let got = 1; n < st.size && got > 0; n += got) got = readSync(fd, buf, n, st.size - n, n);
            hash = n === st.size ? hashBytes(buf.subarray(0, n)) : "";
          }
        } finally {
          closeSync(fd);
        }
        if (hash !== hashAt(snap.files, i)) {
          if (path.charCodeAt(0) === 47) return false;
          changed.add(path);
          continue;
        }
        refreshFact(snap.files, i, st, at);
      } else {
        const d = snap.dirs[-1 - i];
        const { folderFactNow } = await import("../load/trace.ts");
        if (folderFactNow(abs(d[0]), d[3]) !== d[3]) return false;
        const after = statSync(abs(d[0]));
        if (after.mtimeMs !== st.mtimeMs || after.ino !== st.ino || after.ctimeMs !== st.ctimeMs) return false;
        snap.dirs[-1 - i] = [d[0], st.ino, st.mtimeMs, d[3], at, st.ctimeMs, st.dev];
      }
    } catch {
      return false;
    }
  }
  return true;
}

/** The events of a build in which every target was up to date, through the usual reporter. */
async function report(ctx: FastContext, args: ReturnType<typeof parseArgs>, snap: Snapshot, jobs: number | undefined, started: number, events: EventsFile): Promise<void> {
  // The build's time is the check's, not the reporter's loading (a full build's excludes it too).
  const durationMs = Date.now() - started;
  const { pickMode } = await import("../ui/mode.ts");
  const json = hasFlag(args, "json");
  const picked = pickMode({ isTTY: ctx.stdout.isTTY, env: ctx.env, json , columns: ctx.stdout.columns });
  const color = colorWanted({ args, env: ctx.env, stdout: ctx.stdout });
  const j = jobs ?? (await import("node:os")).availableParallelism();
  const counts: Record<TargetStatus, number> = { "up-to-date": snap.planSize, built: 0, restored: 0, failed: 0, skipped: 0 };
  if (picked === "ink" && !hasFlag(args, "verbose")) {
    // The live view's final frame of a no-op is its summary line: print that line, without
    // loading Ink and React. (--verbose lists every target: that goes through the live view.)
    const { formatSummaryHeadline } = await import("../ui/format.ts");
    const line = `✔ ${formatSummaryHeadline({ ok: true, interrupted: false, durationMs, counts, criticalPath: { targets: [], durationMs: 0 } })}`;
    ctx.stdout.write(`${color ? `\x1b[1;32m${line}\x1b[0m` : line}\n`);
    return;
  }
  if (picked === "json") {
    // The NDJSON reporter's lines (JSON.stringify of each event), written directly: 10,000
    // identical events through the reporter cost as much as the rest of this answer. The
    // parts that only depend on the snapshot come from its events file when it has one.
    const { plan, finished } = cachedEvents(events) ?? renderEvents(snap, events);
    const head: PipeEvent = { type: "build-started", targets: snap.targets, plan: [], jobs: j, dryRun: false, time: started, fromSnapshot: true };
    const [before, after] = JSON.stringify(head).split('"plan":[]');
    const tail = JSON.stringify({ type: "build-finished", ok: true, interrupted: false, durationMs, counts, criticalPath: { targets: [], durationMs: 0 } } satisfies PipeEvent);
    await new Promise<void>((resolve) => ctx.stdout.write(`${before}"plan":${plan}${after}\n${finished}${tail}\n`, () => resolve()));
    return;
  }
  const mode = picked;
  const ui = await import("../ui/index.ts");
  const reporter = await ui.createReporter({ mode, stdout: ctx.stdout, stderr: ctx.stderr, color, quiet: hasFlag(args, "quiet"), verbose: hasFlag(args, "verbose"), jobs: j });
  const emit = (e: PipeEvent) => reporter.onEvent(e);
  emit({ type: "build-started", targets: snap.targets, plan: upToDatePlan(snap), jobs: j, dryRun: false, time: started, fromSnapshot: true });
  // Below --verbose a confirmed up-to-date target that was planned up to date shows nothing
  // (ui/view-model.ts): 10,000 such events cost a tenth of a no-op.
  if (hasFlag(args, "verbose")) for (const [target] of snap.plan) emit(upToDate(target));
  emit({ type: "build-finished", ok: true, interrupted: false, durationMs, counts, criticalPath: { targets: [], durationMs: 0 } });
  await reporter.close();
}

/**
 * The NDJSON lines of a no-op that depend only on the snapshot, kept next to it
 * (`<request>.events`): the build-started event's plan and every target-finished line. Rendering
 * them was 12 ms of a 10,000-target `--json` no-op; reading them back is about 2. The file is
 * tied to the snapshot's seal and carries its own HMAC (machine key), so one left from an older
 * snapshot, copied or crafted is rendered afresh instead.
 */
interface EventsFile {
  path: string;
  /** The snapshot's seal (its HMAC) as it is on disk now. */
  seal: string;
  key: string;
}

const EVENTS_HEADER = "pipe-noop-events 1";

function eventsMac(e: EventsFile, body: string): string {
  return createHmac("sha256", e.key).update(e.seal).update(body).digest("hex");
}

function cachedEvents(e: EventsFile): { plan: string; finished: string } | undefined {
  let text: string;
  try {
    text = readFileSync(e.path, "utf8");
  } catch {
    return undefined;
  }
  // Line 1: header, seal, mac. Line 2: the plan (a JSON array). Then the finished lines.
  const nl1 = text.indexOf("\n");
  const nl2 = nl1 < 0 ? -1 : text.indexOf("\n", nl1 + 1);
  if (nl2 < 0) return undefined;
  const [header, version, seal, mac] = text.slice(0, nl1).split(" ");
  if (`${header} ${version}` !== EVENTS_HEADER || seal !== e.seal) return undefined;
  const body = text.slice(nl1 + 1);
  if (mac !== eventsMac(e, body)) return undefined;
  return { plan: text.slice(nl1 + 1, nl2), finished: text.slice(nl2 + 1) };
}

function renderEvents(snap: Snapshot, e: EventsFile): { plan: string; finished: string } {
  const plan = JSON.stringify(upToDatePlan(snap));
  let finished = "";
  for (const [target] of snap.plan) finished += toJsonLine(upToDate(target));
  const body = `${plan}\n${finished}`;
  try {
    const tmp = `${e.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${EVENTS_HEADER} ${e.seal} ${eventsMac(e, body)}\n${body}`, { mode: 0o600 });
    renameSync(tmp, e.path);
  } catch {
    // only a cache: rendered again next time
  }
  return { plan, finished };
}

/** The plan of a build in which every target is up to date. */
function upToDatePlan(snap: Snapshot): PlannedTarget[] {
  return snap.plan.map(([target, ...deps]) => ({ target, action: "up-to-date", deps }));
}

function upToDate(target: string): PipeEvent {
  return { type: "target-finished", target, status: "up-to-date", durationMs: 0, reason: "up to date" };
}
