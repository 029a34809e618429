/**
 * The build: decide each target as its dependencies finish, restore or run what is needed,
 * in parallel, longest remaining path first.
 *
 * Why decide late: a target's fingerprint sees its dependencies' output hashes, which are
 * known only once they are built (early cutoff: a rebuilt dependency with identical outputs
 * leaves its dependents up to date). So the loop is: when a target's dependencies are all
 * done, evaluate it at once (hashing is cheap with the stat cache); up to date and restorable
 * targets finish inline; stale ones queue for a job slot, ordered by the longest chain of
 * estimated work still behind them (ninja's critical-path scheduling).
 */
import { appendFileSync, linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { totalmem } from "node:os";
import { wouldWord, type PipeEvent, type PlannedTarget, type TargetStatus } from "../events.ts";
import { closure, type Graph, type GraphTarget } from "../graph/graph.ts";
import type { Evaluation, Evaluator } from "../plan/evaluate.ts";
import { nameSome } from "../plan/reasons.ts";
import { predict } from "../plan/evaluate.ts";
import { commandProblem } from "../plan/command.ts";
import { siteInText } from "../load/text-site.ts";
import { UserError, type Diagnostic } from "../util/errors.ts";
import type { OutputRecord } from "../state/records.ts";
import type { ProjectLock } from "../state/lock.ts";
import { Heap } from "../util/heap.ts";
import { runTarget, type RunContext } from "./run-target.ts";
import { Lane, Ticket } from "./lanes.ts";
import { recipesCanQueue } from "./shell.ts";
import { buildsShellCommand } from "./call-recipe.ts";
import { restoreTarget, type PublishContext } from "./publish.ts";
import { WorkerPool } from "./worker-pool.ts";
import { describeProcesses, type StopResult } from "./recipe-processes.ts";
import { removeTree } from "../util/remove-tree.ts";

export interface BuildOptions {
  graph: Graph;
  /** Targets to build (with their dependencies). */
  selected: string[];
  evaluator: Evaluator;
  stateDir: string;
  entryUrl: string;
  pipelinefile: string;
  jobs: number;
  keepGoing: boolean;
  /** Refuse (fail the target) rather than replace an output whose bytes pipe did not produce. */
  keepEdited?: boolean;
  /** Bytes the running recipes' `resources.mem` may add up to (default: the machine's RAM). */
  memBudget?: number;
  /**
   * Whether a cheap shell recipe may wait in the helper behind a running one, to start the
   * moment that one exits (lanes.ts). Default: when the python helper starts recipes.
   */
  queueRecipes?: boolean;
  /**
   * Targets known up to date without evaluating them (the no-op snapshot vouched for their
   * files, and they depend on no target that changed): see fast/partial.ts.
   */
  trusted?: Set<string>;
  /**
   * A partial build whose graph holds only the targets it plans (and what they read): the whole
   * request's plan ([id, ...deps], dependencies first) as the no-op snapshot recorded it. Targets
   * not in the graph are reported up to date; the plan event lists every target in this order.
   */
  fullPlan?: string[][];
  /** With `fullPlan`: build-started's `targets` (the request as the snapshot recorded it). */
  requested?: string[];
  /**
   * Watch mode: failed targets held back from this run (not retried), sorted. They are reported
   * in build-started and build-finished, and the build is not ok while there are any.
   */
  notRetried?: string[];
  /**
   * Trusted targets in the graph with their outputs only (no inputs resolved): their outputs'
   * hashes, as the snapshot recorded them, stand in for an evaluation.
   */
  trustedOutputs?: Map<string, OutputRecord[]>;
  dryRun: boolean;
  emit: (e: PipeEvent) => void;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  graceMs: number;
  lock?: ProjectLock;
  /** Shuffle equal-priority ready targets (tests: results must not depend on order). */
  shuffle?: boolean;
}

export interface BuildResult {
  ok: boolean;
  interrupted: boolean;
  counts: Record<TargetStatus, number>;
  statuses: Map<string, TargetStatus>;
  /**
   * For each target that ended up to date, restored or built: the input hashes its fingerprint
   * was computed from and the outputs of its record (the no-op snapshot is made of these).
   */
  settled: Map<string, { inputs: [string, string][]; outputs: OutputRecord[] }>;
  /** Inputs (project-relative) that changed while a recipe reading them ran. */
  changedDuringRun?: string[];
}

const median = (xs: number[]) => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export async function build(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { graph, evaluator: ev } = o;
  const notRetried = o.notRetried?.length ? { notRetried: o.notRetried } : {};
  const ids = closure(graph, o.selected);
  const estimate = new Map<string, number | undefined>(ids.map((id) => [id, median(ev.records.durations(id))]));

  // The plan users see first: a prediction (early cutoff may spare some "run" targets).
  // Trusted targets are not evaluated, except those an untrusted target reads from (their
  // records give the dependents' inputs).
  const trusted = o.trusted ?? new Set<string>();
  const needed = new Set<string>();
  for (const id of ids) if (!trusted.has(id)) for (const d of graph.targets.get(id)!.deps) if (trusted.has(d) && !o.trustedOutputs?.has(d)) needed.add(d);
  const predictions = predict(ev, trusted.size ? ids.filter((id) => !trusted.has(id) || needed.has(id)) : ids);
  const planned = (id: string, deps: string[]): PlannedTarget => {
    const p = predictions.get(id) ?? { state: "up-to-date" as const, reasons: [] };
    // Runs only if a dependency's outputs change (else nothing, or a restore of its outputs).
    const onlyDeps = p.state === "stale" && p.own !== undefined && (p.own.length === 0 || p.ownRestorable === true);
    return { target: id, action: p.state === "stale" ? "run" : p.state === "restorable" ? "restore" : "up-to-date", reason: p.reasons.join("; ") || undefined, estimateMs: estimate.get(id), deps, ...(onlyDeps ? { ifDepsChange: true as const } : {}) };
  };
  // A sh template that cannot be built for a target about to run is the Pipelinefile's mistake:
  // said now, with every other one, before anything runs (exit 2).
  const commandProblems: Diagnostic[] = [];
  for (const [id, p] of predictions) {
    if (p.state !== "stale") continue;
    const t = graph.targets.get(id)!;
    const problem = commandProblem(graph, t, o.env);
    if (problem === undefined) continue;
    const [message, hint] = problem.split("\n  hint: ");
    commandProblems.push({ message: `the command of ${JSON.stringify(id)} cannot be built: ${message}`, location: t.location ?? t.decl.site.location() ?? siteInText(graph.root, relative(graph.root, o.pipelinefile), new RegExp(String.raw`\b(?:const|let|var)\s+${t.name.replace(/[^\w$]/g, "\\$&")}\s*=`)), hint });
  }
  if (commandProblems.length) throw new UserError(commandProblems);
  const inGraph = new Set(ids);
  const plan: PlannedTarget[] = o.fullPlan
    ? o.fullPlan.map(([id, ...deps]) => (inGraph.has(id) ? planned(id, deps) : { target: id, action: "up-to-date", deps }))
    : ids.map((id) => planned(id, graph.targets.get(id)!.deps));
  o.emit({ type: "build-started", targets: o.requested ?? o.selected, plan, jobs: o.jobs, dryRun: o.dryRun, time: started, ...(trusted.size ? { trustedFromSnapshot: trusted.size } : {}), ...(o.fullPlan ? { partialGraph: true } : {}), ...notRetried });
  const counts: Record<TargetStatus, number> = { "up-to-date": 0, built: 0, restored: 0, failed: 0, skipped: 0 };
  const statuses = new Map<string, TargetStatus>();
  const durations = new Map<string, number>();
  const finish = (e: Extract<PipeEvent, { type: "target-finished" }>) => {
    counts[e.status]++;
    statuses.set(e.target, e.status);
    if (e.status === "built") durations.set(e.target, e.durationMs);
    o.emit(e);
  };
  // Targets outside a partial graph: the snapshot vouched for them.
  if (o.fullPlan) for (const [id] of o.fullPlan) if (!inGraph.has(id)) finish({ type: "target-finished", target: id, status: "up-to-date", durationMs: 0, reason: "up to date" });

  if (o.dryRun) {
    // Nothing is run or restored: those targets are skipped, with what would have happened.
    for (const p of plan) if (!statuses.has(p.target)) finish({ type: "target-finished", target: p.target, status: p.action === "up-to-date" ? "up-to-date" : "skipped", durationMs: 0, reason: p.action === "up-to-date" ? "up to date" : `${wouldWord(p)}: ${p.reason}` });
    const result = { ok: true, interrupted: false, counts, statuses, settled: new Map() };
    o.emit({ type: "build-finished", ok: true, interrupted: false, durationMs: Date.now() - started, counts, criticalPath: { targets: [], durationMs: 0 } });
    return result;
  }

  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const runDir = join(".pipe", "staging", runId);
  let scratchN = 0;
  // Replaced outputs wait in the run's folder, each as a second link, until a background unlink
  // frees them (publish.ts moveIntoPlace); what is left is removed with the folder at the end.
  let asideDir: string | undefined;
  let asideN = 0;
  const freeing = new Set<Promise<void>>();
  const pub: PublishContext = {
    root: graph.root,
    stateDir: o.stateDir,
    cache: ev.cache,
    hasher: ev.hasher,
    records: ev.records,
    warn: (message, target, kept) => o.emit({ type: "warning", message, ...(target === undefined ? {} : { target }), ...(kept ? { kept: true as const } : {}) }),
    scratch: () => join(".pipe", "staging", runId, `s${scratchN++}`),
    setAside: (abs) => {
      try {
        if (asideDir === undefined) {
          const dir = join(graph.root, runDir, "aside");
          mkdirSync(dir, { recursive: true });
          asideDir = dir;
        }
        const aside = join(asideDir, String(asideN++));
        linkSync(abs, aside);
        return {
          path: aside,
          free: () => {
            const done: Promise<void> = unlink(aside).then(
              () => void freeing.delete(done),
              () => void freeing.delete(done),
            );
            freeing.add(done);
          },
        };
      } catch {
        return undefined; // another filesystem, or no hard links: a plain rename then
      }
    },
  };

  const pool = new WorkerPool({ entryUrl: o.entryUrl, root: graph.root, pipelinefile: o.pipelinefile });
  const rc: RunContext = { ...pub, pool, emit: o.emit, env: o.env, signal: o.signal, graceMs: o.graceMs, lock: o.lock, runTag: runId, madeDirs: new Set(), recipeEnvs: new Map(), records: ev.records, entryUrl: o.entryUrl, pipelinefile: o.pipelinefile, evaluator: ev };
  // While recipes may stage outputs, a marker says so: if pipe dies, the next build removes
  // the staged leftovers next to the outputs (see cleanStaleStaging).
  const marker = join(o.stateDir, "active", runId);
  if (plan.some((p) => p.action === "run")) {
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, "");
    // The marker lists each folder the run stages in, before it does: the next build's sweep
    // looks there too, also when its own graph has none of them (another param value's
    // instance: a killed run's 300 MB staged file stayed for good).
    rc.stagingIn = (dir) => appendFileSync(marker, dir + "\n");
  }

  // Priority: estimated duration of the longest chain of work from the target to a sink.
  const want = new Set(ids);
  const rank = new Map<string, number>();
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i];
    // A loop, not Math.max(...): a target can have more dependents than a call takes arguments.
    let below = 0;
    for (const d of graph.dependents.get(id) ?? []) if (want.has(d)) below = Math.max(below, rank.get(d) ?? 0);
    rank.set(id, (estimate.get(id) ?? 100) + below);
  }
  const waiting = new Map<string, number>();
  for (const id of ids) waiting.set(id, graph.targets.get(id)!.deps.filter((d) => want.has(d)).length);
  const settled = new Map<string, { inputs: [string, string][]; outputs: OutputRecord[] }>();
  const changedDuringRun = new Set<string>();
  const runQueue = new Heap<{ t: GraphTarget; e: Evaluation }>((a, b) => rank.get(b.t.id)! - rank.get(a.t.id)! || (o.shuffle ? Math.random() - 0.5 : a.t.id < b.t.id ? -1 : 1));
  const ready: string[] = ids.filter((id) => waiting.get(id) === 0);
  let active = 0;
  let slotsUsed = 0;
  let memUsed = 0;
  const memBudget = o.memBudget ?? totalmem();
  let stopping = false;
  let wake: (() => void) | undefined;

  const release = (id: string) => {
    for (const d of graph.dependents.get(id) ?? []) {
      if (!want.has(d)) continue;
      const n = waiting.get(d)! - 1;
      waiting.set(d, n);
      if (n === 0) ready.push(d);
    }
  };
  const skipDownstream = (id: string, cause: string) => {
    const stack = [...(graph.dependents.get(id) ?? [])];
    while (stack.length) {
      const d = stack.pop()!;
      if (!want.has(d) || statuses.has(d)) continue;
      finish({ type: "target-finished", target: d, status: "skipped", durationMs: 0, reason: `dependency ${JSON.stringify(cause)} failed`, cause });
      for (const x of graph.dependents.get(d) ?? []) stack.push(x);
    }
  };
  // Slots a recipe may wait for in the helper (lanes.ts): one per running cheap shell recipe.
  const queueing = o.queueRecipes ?? recipesCanQueue();
  const laneable = (t: GraphTarget) => queueing && t.cpu === 1 && t.mem === 0 && buildsShellCommand((t.decl.options as { run?: unknown }).run);
  const openLanes: Lane[] = [];
  const tickets = new Set<Ticket>();
  const cancelTickets = () => {
    for (const tk of tickets) tk.cancel();
  };
  /** A failure without -k: no recipe starts any more, and none waiting for a slot will. */
  const stopAfterFailure = () => {
    if (o.keepGoing) return;
    stopping = true;
    cancelTickets();
  };
  const fail = (id: string, message: string, extra: Partial<Extract<PipeEvent, { type: "target-finished" }>> = {}) => {
    finish({ type: "target-finished", target: id, status: "failed", durationMs: 0, reason: message, error: message, ...extra });
    skipDownstream(id, id);
    stopAfterFailure();
  };

  /** Decides every ready target; finishes the ones that need no recipe. */
  const drainReady = () => {
    while (ready.length) {
      const id = ready.shift()!;
      if (statuses.has(id)) continue;
      const t = graph.targets.get(id)!;
      if (stopping || o.signal.aborted) continue;
      if (trusted.has(id) && !predictions.has(id)) {
        const outputs = o.trustedOutputs?.get(id);
        if (outputs) settled.set(id, { inputs: [], outputs });
        finish({ type: "target-finished", target: id, status: "up-to-date", durationMs: 0, reason: "up to date" });
        release(id);
        continue;
      }
      // The plan's prediction already evaluated this target against its dependencies' records;
      // it still holds when none of them ran (they are up to date or restored from those records).
      const predicted = predictions.get(id)?.evaluation;
      let e: Evaluation | { problem: string };
      if (predicted && t.deps.every((d) => statuses.get(d) === "up-to-date" || statuses.get(d) === "restored")) e = predicted;
      else {
        const produced = new Map<string, OutputRecord>();
        for (const d of t.deps) for (const out of settled.get(d)?.outputs ?? []) produced.set(out.path, out);
        try {
          e = ev.evaluate(t, produced);
        } catch (err) {
          e = { problem: (err as Error).message };
        }
      }
      if ("problem" in e) {
        fail(id, e.problem);
        continue;
      }
      const d = e.decision;
      if (d.kind !== "up-to-date" && o.keepEdited) {
        const edited = ev.editedOutputs(t);
        if (edited.length) {
          fail(id, `${edited.map((p) => `output ${p}`).join(", ")} of ${JSON.stringify(id)} ${edited.length === 1 ? "was" : "were"} changed outside pipe; --keep-edited: not overwriting ${edited.length === 1 ? "it" : "them"} (move ${edited.length === 1 ? "it" : "them"} aside, or build without --keep-edited to keep a copy and replace ${edited.length === 1 ? "it" : "them"})`);
          continue;
        }
      }
      if (d.kind === "up-to-date") {
        settled.set(id, { inputs: e.parts.inputs, outputs: d.record.outputs });
        finish({ type: "target-finished", target: id, status: "up-to-date", durationMs: 0, reason: "up to date" });
        release(id);
      } else if (d.kind === "restorable") {
        const t0 = Date.now();
        const current = ev.outputState(t);
        const restored = restoreTarget(pub, t, d.record.outputs, current);
        if ("problem" in restored) {
          // Fails this target, as a run would.
          fail(id, `cannot restore the outputs of ${JSON.stringify(id)}: ${restored.problem}`);
          continue;
        }
        const { failed } = restored;
        if (failed.length) {
          // A damaged cache entry: run the recipe instead.
          runQueue.push({ t, e: { ...e, decision: { kind: "stale", reasons: [`cached bytes of ${nameSome(failed)} are missing or damaged`] } } });
          continue;
        }
        settled.set(id, { inputs: e.parts.inputs, outputs: d.record.outputs });
        finish({ type: "target-finished", target: id, status: "restored", durationMs: Date.now() - t0, reason: d.reasons.join("; ") });
        release(id);
      } else runQueue.push({ t, e });
    }
  };

  /** Whether `id`'s end makes ready a target (it waits for `id` alone) whose remaining path is longer than `than`. */
  const readiesAbove = (id: string, than: number) => (graph.dependents.get(id) ?? []).some((d) => want.has(d) && !statuses.has(d) && waiting.get(d) === 1 && rank.get(d)! > than);

  const startRuns = () => {
    while (!stopping && !o.signal.aborted && runQueue.size > 0) {
      const next = runQueue.peek()!;
      const need = Math.min(next.t.cpu, o.jobs);
      let ticket: Ticket | undefined;
      // Memory: declared sizes add up to at most the budget; one bigger than it runs alone.
      if (slotsUsed + need > o.jobs || (memUsed > 0 && memUsed + next.t.mem > memBudget)) {
        // Every slot is taken: a cheap shell recipe may wait for one behind a running one. Not
        // behind one whose end readies a target of a longer remaining path (the next link of a
        // chain): queued there, it would take the slot before that target is known (a review
        // saw zc2 wait while a2 and a3 ran: longest-path-first broken).
        const mine = rank.get(next.t.id)!;
        let at = laneable(next.t) ? openLanes.length - 1 : -1;
        while (at >= 0 && readiesAbove(openLanes[at].target!, mine)) at--;
        const behind = at >= 0 ? openLanes.splice(at, 1)[0] : undefined;
        if (!behind) break;
        tickets.add((ticket = new Ticket(behind)));
      } else {
        slotsUsed += need;
        memUsed += next.t.mem;
      }
      runQueue.pop();
      active++;
      const reason = next.e.decision.kind === "stale" ? next.e.decision.reasons.join("; ") : "";
      const lane = ticket?.lane ?? new Lane();
      lane.target = next.t.id;
      if (!ticket && laneable(next.t)) openLanes.push(lane);
      // The slot is free when the recipe is over: the next one starts before this target's
      // outputs are stored and published (runTarget's recipeEnded). A target that waited for
      // a slot and never got one (cancelled, or done without a command) frees none.
      let freed = false;
      const free = (more: boolean) => {
        if (freed) return;
        freed = true;
        lane.ended = true;
        const i = openLanes.indexOf(lane);
        if (i >= 0) openLanes.splice(i, 1);
        if (ticket) {
          tickets.delete(ticket);
          if (!ticket.holdsSlot) {
            ticket.state = "cancelled";
            return;
          }
        }
        // This slot passes to the target waiting for it: the helper started it already, or it
        // starts now; during a stop it is cancelled and the slot frees.
        const heir = lane.next;
        if (heir && (heir.state === "started" || (heir.pending && !stopping && !o.signal.aborted))) {
          tickets.delete(heir);
          heir.go();
          // The heir may be over already (its recipe ended before this target's checks did).
          if (!heir.lane.ended) openLanes.push(heir.lane);
        } else {
          heir?.cancel();
          slotsUsed -= need;
          memUsed -= next.t.mem;
        }
        // Early (before this target's outputs are published), unless its end readies a target of
        // a longer path than any queued one: the freed slot is then that target's, once it is
        // ready (the engine's loop starts it), not the queue's.
        const best = more ? runQueue.peek() : undefined;
        if (best && !readiesAbove(next.t.id, rank.get(best.t.id)!)) startRuns();
        // A slot still free goes to a target waiting behind another recipe (a slot no ticket
        // waited for: a declared-mem target's): two cheap recipes queued behind one lane ran one
        // after the other while it stood empty (found by a review). Not when this target's end
        // readies one of a longer path: the slot is that one's.
        for (const w of tickets) {
          if (slotsUsed >= o.jobs || stopping || o.signal.aborted) break;
          if (!w.pending || readiesAbove(next.t.id, rank.get(w.lane.target!)!)) continue;
          tickets.delete(w);
          if (w.behind.next === w) w.behind.next = undefined;
          slotsUsed += 1;
          w.go();
          if (!w.lane.ended) openLanes.push(w.lane);
        }
      };
      void runTarget(rc, next.t, next.e, reason, estimate.get(next.t.id), () => free(true), { lane, ticket }).then((r) => {
        // A failure stops the build before its slot passes on: the target waiting for it is cancelled.
        if (!r.ok && !r.cancelled) stopAfterFailure();
        free(false);
        active--;
        if (!r.ok && r.cancelled) {
          wake?.();
          return;
        }
        if (r.ok) {
          for (const p of r.changedDuringRun ?? []) changedDuringRun.add(p);
          settled.set(next.t.id, { inputs: r.inputs, outputs: r.outputs });
          finish({ type: "target-finished", target: next.t.id, status: "built", durationMs: r.durationMs, reason, logPath: r.logPath });
          release(next.t.id);
        } else fail(next.t.id, r.error, { durationMs: r.durationMs, logTail: r.logTail, logPath: r.logPath });
        wake?.();
      });
    }
  };

  // What TypeScript recipes started is pipe's own child, in no recipe group: on an interrupt
  // it gets SIGTERM now, with the recipes' ctx.signal, and SIGKILL after the grace period.
  let stoppingProcesses: Promise<StopResult> | undefined;
  const onAbort = () => {
    cancelTickets();
    wake?.();
    stoppingProcesses ??= pool.processes?.stop(o.graceMs);
  };
  o.signal.addEventListener("abort", onAbort);
  try {
    for (;;) {
      drainReady();
      startRuns();
      if (active === 0 && (ready.length === 0 || stopping || o.signal.aborted) && (runQueue.size === 0 || stopping || o.signal.aborted)) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    await pool.close();
    await stopRecipeProcesses(o, pool, stoppingProcesses);
    await Promise.all(freeing);
    try {
      removeTree(join(graph.root, runDir));
    } catch {
      // Something another user owns: publish named it, and the next build's sweep names it again.
    }
    rmSync(marker, { force: true });
  }

  const interrupted = o.signal.aborted;
  const notRun = ids.filter((id) => !statuses.has(id));
  for (const id of notRun) finish({ type: "target-finished", target: id, status: "skipped", durationMs: 0, reason: interrupted ? "interrupted" : "not started after an earlier failure; use -k to keep going" });
  const ok = counts.failed === 0 && !interrupted && counts.skipped === 0 && !notRetried.notRetried;
  o.emit({ type: "build-finished", ok, interrupted, durationMs: Date.now() - started, counts, criticalPath: criticalPath(graph, ids, durations), ...notRetried });
  return { ok, interrupted, counts, statuses, settled, changedDuringRun: [...changedDuringRun].sort() };
}

/**
 * Once the recipes' worker threads are gone: stops what TypeScript recipes started that still
 * runs (after an interrupt, what the stop begun then did not already end; without one, what a
 * recipe left running when it returned, which gets a warning), and waits until it is gone.
 */
async function stopRecipeProcesses(o: BuildOptions, pool: WorkerPool, started: Promise<StopResult> | undefined): Promise<void> {
  const procs = pool.processes;
  if (!procs) return;
  const first = started ? await started : undefined;
  const last = await procs.stop(o.graceMs);
  const found = [...(first?.found ?? []), ...last.found];
  const killed = [...(first?.killed ?? []), ...last.killed];
  // The recipe is known only when one alone ran: the processes are all pipe's children.
  const target = pool.ran.size === 1 ? { target: [...pool.ran][0] } : {};
  const n = (k: number) => (k === 1 ? "1 process" : `${k} processes`);
  if (!o.signal.aborted && found.length) {
    o.emit({ type: "warning", ...target, message: `a TypeScript recipe left ${n(found.length)} running: ${describeProcesses(found)}; pipe stopped ${found.length === 1 ? "it" : "them"} (SIGTERM, then SIGKILL after PIPE_KILL_GRACE_MS). A recipe must wait for the processes it starts` });
  }
  if (killed.length) o.emit({ type: "warning", ...target, message: `${n(killed.length)} started by a TypeScript recipe did not exit after SIGTERM: killed ${describeProcesses(killed)}` });
}

/** The chain of targets that ran in this build whose durations add up to the most. */
export function criticalPath(graph: Graph, ids: string[], durations: Map<string, number>): { targets: string[]; durationMs: number } {
  if (durations.size === 0) return { targets: [], durationMs: 0 };
  const best = new Map<string, { total: number; prev?: string }>();
  let end: string | undefined;
  for (const id of ids) {
    const own = durations.get(id) ?? 0;
    let prev: string | undefined;
    let base = 0;
    for (const d of graph.targets.get(id)!.deps) {
      const b = best.get(d);
      if (b && b.total > base) {
        base = b.total;
        prev = d;
      }
    }
    best.set(id, { total: base + own, prev });
    if (!end || best.get(id)!.total > best.get(end)!.total) end = id;
  }
  const chain: string[] = [];
  for (let id = end; id !== undefined && (best.get(id)?.total ?? 0) > 0; id = best.get(id)!.prev) if (durations.has(id)) chain.unshift(id);
  return { targets: chain, durationMs: end ? best.get(end)!.total : 0 };
}
