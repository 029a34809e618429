/**
 * Runs one stale target: stage, invoke the recipe (worker thread; a returned `sh` command runs
 * in its own process group), check the declared outputs, guard against inputs that changed
 * during the run, store outputs in the cache, commit the record, and then publish them (a run
 * killed in between is restored by the next build: its bytes are in the cache).
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { PipeEvent } from "../events.ts";
import type { GraphTarget, InputItem } from "../graph/graph.ts";
import type { Evaluation, Evaluator } from "../plan/evaluate.ts";
import type { OutputRecord, RecordStore } from "../state/records.ts";
import type { ProjectLock } from "../state/lock.ts";
import type { StatEntry } from "../hash/file-hasher.ts";
import { fingerprintOf } from "../plan/fingerprint.ts";
import { nameSome } from "../plan/reasons.ts";
import { logPathFor } from "./log-path.ts";
import { crashPoint } from "../util/crash-point.ts";
import { formatValue } from "../graph/param-values.ts";
import { recipeEnv, type Invocation } from "./invocation.ts";
import { buildsShellCommand, callRecipe } from "./call-recipe.ts";
import { contextShapes } from "../plan/command.ts";
import { checkStaged, makeOutputFolder, publish, restore, stagingPaths, storeStaged, type PublishContext } from "./publish.ts";
import { runShell } from "./shell.ts";
import type { Lane, Ticket } from "./lanes.ts";
import type { WorkerPool } from "./worker-pool.ts";
import { removeTree } from "../util/remove-tree.ts";

export interface RunContext extends PublishContext {
  pool: WorkerPool;
  emit: (e: PipeEvent) => void;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  graceMs: number;
  lock?: ProjectLock;
  /** Unique per build: staged names carry it. */
  runTag: string;
  /** Folders known to exist (made once per build). */
  madeDirs: Set<string>;
  /** Called once per folder before the build first stages an output there (engine.ts: the run's marker lists them). */
  stagingIn?: (dir: string) => void;
  /**
   * Recipe envs by declared names: computed once per distinct set, not per target, and the
   * same object each time (the spawner sends an env to perl once per object).
   */
  recipeEnvs?: Map<string, Record<string, string>>;
  /** Names in .pipe/logs/ when the build's first silent run ended (read once, then kept). */
  oldLogs?: Set<string>;
  /**
   * Families whose instances were warned about leaving params unread in this build, with the
   * set they left (family name, then the params, joined by NULs): the other instances leaving
   * the same set are not warned about again (made on first use).
   */
  unreadWarned?: Set<string>;
  records: RecordStore;
  entryUrl: string;
  pipelinefile: string;
  evaluator: Evaluator;
}

export type RunOutcome =
  /** `inputs`: the input hashes the record holds (the no-op snapshot vouches for these only). */
  | { ok: true; outputs: OutputRecord[]; inputs: [string, string][]; durationMs: number; logPath?: string; changedDuringRun?: string[] }
  | { ok: false; error: string; durationMs: number; logTail: string[]; logPath?: string; cancelled?: false }
  /** It waited for a slot (lanes.ts) and the build stopped first: it never started. */
  | { ok: false; cancelled: true };

const TAIL = 20;
/** Characters of a log line kept in the tail a failure shows. */
const TAIL_LINE = 2000;
let seq = 0;

export { logPathFor } from "./log-path.ts";

/**
 * `recipeEnded` is called once the recipe itself is over and succeeded (exit 0, every declared
 * output staged, nothing written in place), before its outputs are stored and published: the engine
 * starts the next recipe in that slot meanwhile, so pipe's own work per target overlaps the
 * next recipe instead of adding to it.
 */
export async function runTarget(rc: RunContext, t: GraphTarget, e: Evaluation, reason: string, estimateMs: number | undefined, recipeEnded?: () => void, slot?: { lane: Lane; ticket?: Ticket }): Promise<RunOutcome> {
  let t0 = Date.now();
  const logRel = logPathFor(t.id);
  let logFd: number | undefined;
  const tail: string[] = [];
  // The log file is opened at the recipe's first line of output: most cheap recipes print
  // nothing, and a file per target was a large part of their cost. The command line itself is
  // kept until then (and written for every failure).
  let pending: string[] = [];
  // A log that cannot be written (disk full, permissions) is not the recipe's failure: say so
  // once and keep the lines in the events and the failure's tail.
  let logBroken = false;
  // Lines are written in batches: once per turn of the event loop (a chunk of the recipe's
  // output is many lines), or at 64 KiB. A write per line was 7.6 s of an 8 s build whose
  // recipe printed 3 million lines.
  let unwritten = "";
  let flushing: NodeJS.Immediate | undefined;
  const flushLog = () => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    if (logBroken || unwritten === "") return;
    const text = unwritten;
    unwritten = "";
    try {
      if (logFd === undefined) {
        mkdirSync(join(rc.root, dirname(logRel)), { recursive: true });
        logFd = openSync(join(rc.root, logRel), "w", 0o600);
      }
      writeSync(logFd, text);
    } catch (err) {
      logBroken = true;
      emit({ type: "warning", target: t.id, message: `cannot write the log ${logRel}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; its lines are shown but not kept` });
    }
  };
  const logWrite = (text: string) => {
    if (logBroken) return;
    if (logFd === undefined && unwritten === "" && pending.length) {
      unwritten = pending.join("\n") + "\n";
      pending = [];
    }
    unwritten += text;
    if (unwritten.length >= 65536) flushLog();
    else flushing ??= setImmediate(flushLog);
  };
  const mask = secretMasker(t.env, rc.env);
  const log = (raw: string, stream: "stdout" | "stderr" | "ctx", quiet = false) => {
    const line = mask(raw);
    if (quiet && logFd === undefined && unwritten === "" && !logBroken) pending.push(line);
    else logWrite(line + "\n");
    // The tail is shown in the terminal: a line of a megabyte (a command with 35,000 paths) is cut there, not in the log.
    tail.push(line.length > TAIL_LINE ? `${line.slice(0, TAIL_LINE)}… (${line.length - TAIL_LINE} more characters; the whole line is in ${logRel})` : line);
    if (tail.length > TAIL) tail.shift();
    emit({ type: "log", target: t.id, stream, line });
  };
  // A target waiting for a slot (lanes.ts) starts when its recipe does: what it says before
  // (its command line, a recipe function's ctx.log) follows its start event, and a target
  // cancelled before it started says nothing. Its final outputs are looked at again then: what
  // was written there while it waited is not the recipe's doing.
  let announced = false;
  let early: PipeEvent[] | undefined = slot?.ticket ? [] : undefined;
  let takeBefore: (() => void) | undefined;
  const emit = (event: PipeEvent) => (early ? early.push(event) : rc.emit(event));
  const announce = () => {
    if (announced) return;
    announced = true;
    t0 = Date.now();
    takeBefore?.();
    rc.emit({ type: "target-started", target: t.id, reason, estimateMs, logPath: logRel });
    const held = early ?? [];
    early = undefined;
    for (const event of held) rc.emit(event);
  };
  if (slot?.ticket) slot.ticket.onStart = announce;
  else announce();
  const staged = stagingPaths(`${rc.runTag}-${seq++}`, t);
  let published = false;
  const failure = (why: string): RunOutcome => {
    announce();
    // The message may quote the recipe (its returned text, its error): no secret in it.
    const error = mask(why);
    logWrite(`pipe: ${error}\n`);
    // Written now: a log that could not be written (a full disk) is not named as the place to look.
    flushLog();
    return { ok: false, error, durationMs: Date.now() - t0, logTail: tail, logPath: logBroken ? undefined : logRel };
  };
  try {
    for (const [out, p] of staged) {
      const dir = dirname(p);
      if (!rc.madeDirs.has(dir)) {
        // A file of an earlier build where this folder belongs is removed (or named): D7.
        makeOutputFolder(rc, t, dir, out);
        rc.madeDirs.add(dir);
        rc.stagingIn?.(dir);
      }
    }
    const inv = invocationFor(rc, t, staged);
    const inputStats = sourceInputStats(rc, t, e);
    // What each final path held before the recipe: its stat, and the content hash the stat
    // cache vouches for at that stat (no read), to put those bytes back if the recipe writes
    // the path directly.
    const takeStats = () =>
      t.outputs.map((o) => {
        const st = lstatSync(join(rc.root, o.path), { throwIfNoEntry: false });
        return [o.path, sigOf(st), st?.isFile() ? rc.evaluator.hasher.known(o.path, st) : undefined] as const;
      });
    let before = takeStats();
    takeBefore = () => (before = takeStats());
    // A recipe must write its staging paths; one that wrote a final path directly is a bug
    // (style.md): its bytes never count, and a partial file is removed or restored.
    const directWrites = () => before.filter(([p, sig]) => statSig(join(rc.root, p)) !== sig).map(([p]) => p);
    const undoDirect = (paths: string[]) => {
      for (const p of paths) {
        const [, was, hash] = before.find(([q]) => q === p)!;
        if (was === "missing") {
          removeTree(join(rc.root, p));
          log(`pipe: removed partial output ${p}, written directly by the recipe`, "ctx");
          continue;
        }
        // The bytes that were there, not the newest record's (after A -> B -> A the path held A's,
        // and a review found B's put back): a file's as the stat cache knew them at the recipe's
        // start (a record of this target names their mode; bytes no run made, such as kept edits,
        // come back as a file), else the record whose outputs were on disk when the target was
        // decided (a folder too).
        const named = (r: { outputs: OutputRecord[] } | undefined) => r?.outputs.find((o) => o.path === p && o.hash === hash);
        let rec: OutputRecord | undefined;
        if (hash !== undefined) rec = named(rc.records.find(t.id, (r) => named(r) !== undefined)) ?? (rc.cache.has(hash, "file") ? { path: p, kind: "file", hash } : undefined);
        else if (e.decision.kind === "stale") rec = e.decision.onDisk?.outputs.find((o) => o.path === p);
        if (rec && restore(rc, t, [rec], new Map(), "was written directly by its recipe (not to ctx.outputs)").length === 0) log(`pipe: restored ${p} from the cache; the recipe had written it directly`, "ctx");
        else log(`pipe: ${p} was written directly by the recipe, and pipe cannot put back what it held before (its bytes are not in the cache): left as the recipe left it; it does not count as built`, "ctx");
      }
    };
    // A glob that matched nothing is legal (data not there yet) but is how a typo in a pattern
    // shows: said when the recipe runs on the empty list (found by a new user's review: the
    // quick start counted 0 words silently). Not at load: a warning there would stop the no-op
    // snapshot for as long as the glob stays empty.
    const empty: InputItem[] = [];
    for (const g of t.inputs) for (const i of g.items) if (i.kind === "glob" && i.files.length === 0) empty.push(i);
    if (empty.length) emit({ type: "warning", target: t.id, message: `input ${empty.map((i) => JSON.stringify(i.spec)).join(", ")} matches no file: the recipe runs without ${empty.length === 1 ? "it" : "them"} (a typo in the pattern, or the data not there yet?)` });
    crashPoint("before-recipe");
    const options = t.decl.options as { run?: unknown };
    const result = buildsShellCommand(options.run)
      ? await callRecipe(options, inv, { signal: rc.signal, log: (line) => log(line, "ctx"), progress: (done, total) => emit({ type: "target-progress", target: t.id, done, total }) })
      : await rc.pool.run(inv, {
          onLog: (line) => log(line, "ctx"),
          onProgress: (done, total) => emit({ type: "target-progress", target: t.id, done, total }),
          signal: rc.signal,
          graceMs: Math.min(rc.graceMs, 2000),
        });
    if (result.kind !== "shell") announce();
    if (result.kind === "error") {
      // Interrupted: what the recipe threw is the abort itself (its signal's reason, an
      // AbortError), or its worker stopped. Its frames would stand in the log without their
      // message (the failure says "interrupted"), so the log ends with that line alone.
      if (result.stack && !rc.signal.aborted) for (const line of result.stack.split("\n")) log(line, "stderr");
      undoDirect(directWrites());
      return failure(rc.signal.aborted ? "interrupted" : `recipe failed: ${result.message}`);
    }
    if (result.kind === "shell") {
      log(`$ ${result.script}`, "ctx", true);
      if (slot) slot.lane.paths = [...staged.values()].map((p) => join(rc.root, p));
      const r = await runShell({
        lane: slot?.lane,
        ticket: slot?.ticket,
        script: result.script,
        argv: result.argv,
        stdout: result.stdout,
        cwd: rc.root,
        env: inv.env,
        signal: rc.signal,
        graceMs: rc.graceMs,
        onLine: (line, stream) => log(line, stream),
        onGroup: (pgid, alive) => (alive ? rc.lock?.watchGroup(pgid) : rc.lock?.unwatchGroup(pgid)),
        onHelper: (pid, alive) => (alive ? rc.lock?.watchHelper(pid) : rc.lock?.unwatchHelper(pid)),
      });
      if (r.cancelled) return { ok: false, cancelled: true };
      if (rc.signal.aborted || r.spawnError || r.code !== 0) undoDirect(directWrites());
      if (rc.signal.aborted) return failure(r.killed ? `interrupted; recipe did not exit after SIGTERM, killed` : "interrupted");
      if (r.spawnError) {
        const tooLong = /\bE2BIG\b/.test(r.spawnError);
        const size = (result.argv ?? [result.script]).reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
        return failure(tooLong ? `recipe could not start: its command is too long for the system (E2BIG: ${size.toLocaleString("en-US")} bytes of arguments); pass long lists another way: let a tool find the files (sh\`find data -name '*.txt' -exec cat {} +\`), or write the list to a file for xargs` : `recipe could not start: ${r.spawnError}`);
      }
      if (r.code !== 0) return failure(r.signal ? `recipe was killed by ${r.signal}` : `recipe exited with code ${r.code}`);
    }
    // Looked at before the final paths: a recipe that links its input into its output moves
    // the input's metadata, which the checks below would blame on something else.
    const stagedStats = new Map<string, Stats>();
    const problems = checkStaged(rc.root, t, staged, stagedStats);
    const linked = hardLinkedInputs(rc.root, t, e, staged, stagedStats);
    if (linked.length) {
      undoDirect(directWrites());
      return failure(`recipe made ${linked.join(", ")}; an output must be a file of its own (an edit of either would change both, and linking moves the input's ctime, so every build would see the input rewritten and run again): copy the bytes instead (cp)`);
    }
    const direct = directWrites();
    if (direct.length) {
      undoDirect(direct);
      // Most often the recipe's doing; an edit by hand meanwhile looks the same from here.
      return failure(`recipe wrote ${direct.join(", ")} directly; write to ctx.outputs instead (temp paths that pipe moves into place on success); if the recipe never writes there, something else changed ${direct.length === 1 ? "it" : "them"} while it ran: build again`);
    }
    // Interrupted: nothing is recorded, even for a recipe that finished anyway (design.md).
    if (rc.signal.aborted) {
      undoDirect(directWrites());
      return failure("interrupted");
    }
    crashPoint("after-recipe");
    const declared = new Set(t.params.filter((p) => !p.isKey).map((p) => p.local));
    const unused = [...declared].filter((p) => !result.readParams.includes(p) && !t.paramsReadByInputs.includes(p));
    if (unused.length) warnUnreadParams(rc, t, unused);
    if (problems.length) {
      const text =
        result.kind === "done" && result.returnedText !== undefined
          ? `; it returned the text ${JSON.stringify(result.returnedText)}: to run a shell command, return sh\`...\` (import { sh } from "pipefile")`
          : result.kind === "done" && result.returnedValue !== undefined
            ? `; it returned ${result.returnedValue}: a TypeScript recipe writes its outputs to the paths in ctx.outputs and returns nothing (or returns sh\`...\` to run a command)`
            : "";
      return failure(`recipe finished but ${problems.join("; ")}${text}`);
    }
    // The recipe succeeded: its slot goes to the next one while its outputs are stored.
    recipeEnded?.();
    // Store first: the cache must hold the bytes before they count as built.
    let outputs: OutputRecord[];
    try {
      outputs = storeStaged(rc, t, staged, stagedStats);
    } catch (err) {
      // "ENOSPC: no space left on device, write" named neither the place nor the way out.
      const e = err as NodeJS.ErrnoException;
      if (!e.code) throw err;
      throw Object.assign(new Error(`cannot store the outputs in pipe's cache (.pipe/cache/): ${e.message}${e.code === "ENOSPC" || e.code === "EDQUOT" ? "; free some space on that disk (pipe gc removes cached outputs no kept run needs)" : ""}`), { code: e.code });
    }
    crashPoint("after-cache-store");
    // Inputs that changed while the recipe ran: record against the old content; next build reruns.
    const produced = new Map<string, OutputRecord>();
    for (const [p, h] of e.parts.inputs) {
      const path = p.replace(/\/$/, "");
      if (isProducedByDep(t, path, rc)) produced.set(path, { path, kind: p.endsWith("/") ? "dir" : "file", hash: h });
    }
    const after = rc.evaluator.inputHashes(t, produced);
    /** Inputs written while the recipe ran (watch mode tells a recipe writing its own input by them). */
    let changedDuringRun: string[] = [];
    let fingerprint = e.fingerprint;
    let parts = e.parts;
    if (!("problem" in after)) {
      const before = new Map(e.parts.inputs);
      const moved = after.filter(([p, h]) => before.get(p) !== h).map(([p]) => p);
      // The output may have been made from either content: recorded against the old one, it
      // passed for up to date once the input was put back (A -> B while it ran, then A again),
      // holding what B made. So such an input is recorded with a hash no file has, as below.
      if (moved.length) rc.emit({ type: "warning", target: t.id, message: `input ${moved.join(", ")} changed while ${JSON.stringify(t.id)} ran; its result is not recorded as up to date for any content of ${moved.length === 1 ? "that input" : "those inputs"}, so the next build runs it again${SELF_WRITE_HINT}` });
      // Same content now, but written during the run (P7): it may have been changed and changed
      // back (A -> B -> A) with the recipe reading B. Recorded against A, the output made from B
      // would pass for up to date; the rehash above refreshed the stat cache, so comparing its
      // entries costs no syscall. Such an input is recorded with a hash no file has, so the
      // fingerprint cannot match and the next build runs the target again; the engine hands
      // these recorded inputs to the no-op snapshot, which then cannot vouch for it either.
      const rewritten = inputStats.filter(([p, st]) => !moved.includes(p) && !sameStat(st, rc.evaluator.hasher.cache.get(p))).map(([p]) => p);
      if (rewritten.length) {
        rc.emit({ type: "warning", target: t.id, message: `input ${rewritten.join(", ")} changed while ${JSON.stringify(t.id)} ran (written again; its content now is as before, but the recipe may have read other bytes); its result is not recorded as up to date, so the next build runs it again${SELF_WRITE_HINT}` });
      }
      const unsure = [...moved, ...rewritten];
      changedDuringRun = unsure;
      if (unsure.length) {
        parts = { ...parts, inputs: parts.inputs.map(([p, h]): [string, string] => [p, unsure.includes(p) ? CHANGED_DURING_RUN : h]) };
        fingerprint = fingerprintOf(parts);
      }
    } else {
      // Gone (a recipe that removes what it read): recorded against what it read, said now
      // rather than only as the next build's missing input.
      rc.emit({ type: "warning", target: t.id, message: `after ${JSON.stringify(t.id)} ran, its inputs could not be read again (${after.problem}); a recipe must not remove or rename what it reads` });
    }
    // Outputs still absent now (taken here, not before storing: the next recipe runs meanwhile)
    // need no check for edited bytes and nothing moved aside.
    const missing = new Set(before.filter(([p, sig]) => sig === "missing" && statSig(join(rc.root, p)) === "missing").map(([p]) => p));
    // Recorded before it is published: the cache holds the bytes, so a run killed between the
    // two is restored by the next build (its outputs are missing or another build's). Published
    // first, the outputs stood there with no record naming them: the next build took them for an
    // edit by hand, kept a copy (a whole folder output's) and ran the recipe again.
    rc.records.append({ target: t.id, fingerprint, outputs, parts, durationMs: Date.now() - t0, time: Date.now() });
    crashPoint("after-record");
    publish(rc, t, staged, outputs, { missing, madeDirs: rc.madeDirs, stats: stagedStats });
    published = true;
    crashPoint("after-publish");
    // The log holds the latest run's output (README): a run that printed nothing removes the
    // log an earlier run left (a failure's output would otherwise pass for this run's).
    flushLog();
    if (logFd === undefined) dropLog(rc, logRel);
    announce();
    return { ok: true, outputs, inputs: parts.inputs, durationMs: Date.now() - t0, logPath: logFd === undefined ? undefined : logRel, ...(changedDuringRun.length ? { changedDuringRun } : {}) };
  } catch (err) {
    const e2 = err as NodeJS.ErrnoException;
    return failure(e2.code ? `${e2.message}` : `internal error: ${e2.stack ?? e2}; this is a bug, please report it with the output of pipe --version`);
  } finally {
    // Nothing here may throw: an exception from a finally block replaces the outcome and
    // escapes the engine, so the whole build would stop with other targets unfinished.
    flushLog();
    if (logFd !== undefined) {
      try {
        closeSync(logFd);
      } catch {
        // the lines were written; a failing close loses nothing more
      }
    }
    // Whatever was not published (a failure, an interrupt) is removed; published paths are gone already.
    if (!published) {
      for (const p of staged.values()) {
        try {
          removeTree(join(rc.root, p));
        } catch (err) {
          // ENOTDIR: a part of its path is not a folder, so nothing was staged there.
          if ((err as NodeJS.ErrnoException).code === "ENOTDIR") continue;
          rc.emit({ type: "warning", target: t.id, message: `cannot remove the staged output ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; it never counted as built: remove it by hand` });
        }
      }
    }
  }
}

/** Declared env vars whose names say they are secrets; their values never reach logs or events. */
export const SECRET_NAME = /(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

/** Shorter pieces are not masked: "***" in place of every "a" would hide the output, not the secret. */
const MIN_SECRET = 4;

/**
 * Replaces the values of secret-looking declared env vars with *** (P14). Output is masked line
 * by line, so a multi-line value (a PEM key) never matches whole: each of its lines (of at least
 * MIN_SECRET characters, trailing \r removed) is masked on its own as well.
 */
export function secretMasker(declared: string[], env: NodeJS.ProcessEnv): (line: string) => string {
  const values = new Set<string>();
  for (const n of declared) {
    const v = env[n];
    if (!SECRET_NAME.test(n) || typeof v !== "string") continue;
    if (v.length >= MIN_SECRET) values.add(v);
    if (v.includes("\n")) for (const l of v.split("\n")) if (l.replace(/\r$/, "").trim().length >= MIN_SECRET) values.add(l.replace(/\r$/, ""));
  }
  if (values.size === 0) return (line) => line;
  const sorted = [...values].sort((a, b) => b.length - a.length);
  return (line) => sorted.reduce((acc, v) => acc.split(v).join("***"), line);
}

/**
 * Removes a target's old log, if the logs folder had one: the folder is listed once per build
 * (most cheap recipes print nothing, and an unlink per recipe was a syscall each for nothing).
 */
function dropLog(rc: RunContext, logRel: string): void {
  if (!rc.oldLogs) {
    try {
      rc.oldLogs = new Set(readdirSync(join(rc.root, dirname(logRel))));
    } catch {
      rc.oldLogs = new Set();
    }
  }
  if (!rc.oldLogs.delete(basename(logRel))) return;
  try {
    unlinkSync(join(rc.root, logRel));
  } catch {
    // one that cannot be removed: the next run with output replaces it
  }
}

/** The end of the warning about an input written while its recipe ran: it may be the recipe's own doing. */
const SELF_WRITE_HINT = " (if the recipe writes it itself, declare it as an output, or write it outside the inputs: every build would run it again)";

/** The hash recorded for an input written while its recipe ran: no content hashes to it. */
const CHANGED_DURING_RUN = "changed-during-run";

type StatId = Pick<StatEntry, "ino" | "size" | "mtimeMs" | "ctimeMs">;

/**
 * For each input file that no target produces, its stat when its hash was taken for `e` (the
 * stat cache's entry: no syscall). Undefined when the cache holds none: the file changed while
 * it was hashed. Folder inputs are not covered (their files would need a walk).
 */
function sourceInputStats(rc: RunContext, t: GraphTarget, e: Evaluation): [string, StatId | undefined][] {
  const out: [string, StatId | undefined][] = [];
  const cache = rc.evaluator.hasher.cache;
  for (const [p] of e.parts.inputs) {
    if (p.endsWith("/") || isProducedByDep(t, p, rc)) continue;
    const st = cache.get(p);
    out.push([p, st && { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs }]);
  }
  return out;
}

/**
 * The output files a recipe made as hard links to one of its input files (`ln in out`, `cp -l`),
 * named with that input: a file output, or a file in a folder output. Only a file with more than
 * one link is compared (`stats` are the staged outputs' lstats), so a file output costs no
 * syscall; a folder output is walked (an lstat per member) when the target has file inputs.
 */
function hardLinkedInputs(root: string, t: GraphTarget, e: Evaluation, staged: Map<string, string>, stats: Map<string, Stats>): string[] {
  const found: string[] = [];
  const files = e.parts.inputs.filter(([p]) => !p.endsWith("/"));
  if (files.length === 0) return found;
  let inputs: [string, Stats][] | undefined;
  const twinOf = (st: Stats): string | undefined => {
    inputs ??= files.flatMap(([p]): [string, Stats][] => {
      const s = statSync(join(root, p), { throwIfNoEntry: false });
      return s ? [[p, s]] : [];
    });
    return inputs.find(([, s]) => s.ino === st.ino && s.dev === st.dev)?.[0];
  };
  const say = (path: string, input: string) => found.push(`output ${JSON.stringify(path)} a hard link to its input ${JSON.stringify(input)}`);
  for (const o of t.outputs) {
    const st = stats.get(o.path);
    if (!o.dir) {
      const twin = st?.isFile() && st.nlink > 1 ? twinOf(st) : undefined;
      if (twin) say(o.path, twin);
      continue;
    }
    if (!st?.isDirectory()) continue;
    const walk = (abs: string, rel: string): boolean => {
      for (const ent of readdirSync(abs, { withFileTypes: true })) {
        const p = join(abs, ent.name);
        const r = `${rel}/${ent.name}`;
        if (ent.isDirectory()) {
          if (walk(p, r)) return true;
        } else if (ent.isFile()) {
          const m = lstatSync(p);
          const twin = m.nlink > 1 ? twinOf(m) : undefined;
          if (twin) {
            say(r, twin);
            return true; // one is enough to say what to change
          }
        }
      }
      return false;
    };
    walk(join(root, staged.get(o.path)!), o.path);
  }
  return found;
}

function sameStat(a: StatId | undefined, b: StatId | undefined): boolean {
  return a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** A cheap identity of what is at a path (not its content): changes when anything writes it. */
function statSig(abs: string): string {
  return sigOf(lstatSync(abs, { throwIfNoEntry: false }));
}

function sigOf(st: Stats | undefined): string {
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : "missing";
}

function isProducedByDep(t: GraphTarget, path: string, rc: RunContext): boolean {
  const owner = rc.evaluator.graph.outputOwner.get(path);
  return owner !== undefined && owner !== t.id;
}

/** The serialisable invocation: ctx values shaped like the declarations. */
function invocationFor(rc: RunContext, t: GraphTarget, staged: Map<string, string>): Invocation {
  const { inputs, outputs } = contextShapes(rc.evaluator.graph, t, (p) => staged.get(p)!);
  const params: Record<string, unknown> = {};
  for (const p of t.params) params[p.local] = p.value;
  return {
    entryUrl: rc.entryUrl,
    pipelinefile: rc.pipelinefile,
    root: rc.root,
    id: t.id,
    name: t.name,
    inputs,
    outputs,
    params,
    keyParams: t.params.filter((p) => p.isKey).map((p) => p.local),
    env: envFor(rc, t.env),
  };
}

function envFor(rc: RunContext, declared: string[]): Record<string, string> {
  if (!rc.recipeEnvs) return recipeEnv(declared, rc.env);
  const key = declared.join("\0");
  let env = rc.recipeEnvs.get(key);
  if (!env) rc.recipeEnvs.set(key, (env = recipeEnv(declared, rc.env)));
  return env;
}

/**
 * Warns that `t` left params unread, once per family and unread set in a build: 500 instances
 * of a family running one command each warned 500 times, each naming the same params. The one
 * warning says the others are not repeated (a warning is an event: the engine has no
 * end-of-build hook here to count them, and one line per family is what a reader needs).
 */
function warnUnreadParams(rc: RunContext, t: GraphTarget, unread: string[]): void {
  let others = 0;
  if (t.family !== undefined) {
    const key = [t.family, ...unread].join("\0");
    rc.unreadWarned ??= new Set();
    if (rc.unreadWarned.has(key)) return;
    rc.unreadWarned.add(key);
    for (const o of rc.evaluator.graph.targets.values()) if (o.family === t.family && o.id !== t.id) others++;
  }
  const message = unreadParamsWarning(t, unread) + (others ? `; not repeated for the other instances of ${JSON.stringify(t.family)} that leave the same params unread in this build` : "");
  rc.emit({ type: "warning", target: t.id, message });
}

/**
 * What was observed, not a verdict: a recipe may read a param only in some runs
 * (`if (ctx.params.alpha > 1) use(ctx.params.beta)`), so "never reads it; remove it" would break
 * the others. Names this run's param values, so the user can tell which runs those were. The
 * target is the warning's (reporters print it before the message), so the text does not name it.
 */
export function unreadParamsWarning(t: Pick<GraphTarget, "params">, unread: string[]): string {
  const many = unread.length > 1;
  const them = many ? "them" : "it";
  const values = t.params.filter((p) => !p.isKey).map((p) => {
    const v = formatValue(p.value);
    return `${p.cli ?? p.local}=${v.length > 40 ? `${v.slice(0, 37)}...` : v}`;
  });
  const shown = values.length > 6 ? `${values.slice(0, 6).join(", ")} and ${values.length - 6} more` : values.join(", ");
  // Named as -p takes it, with its key in ctx.params when that differs (as pipe why does).
  const named = unread.map((u) => {
    const p = t.params.find((q) => q.local === u);
    return p?.cli !== undefined && p.cli !== u ? `${JSON.stringify(p.cli)} (${u}${many ? "" : " in this target"})` : JSON.stringify(u);
  });
  return `did not read param${many ? "s" : ""} ${nameSome(named)} in this run (${shown}); if no run needs ${them}, remove ${them} from params (a declared param is in the fingerprint: changing it reruns the recipe)`;
}
