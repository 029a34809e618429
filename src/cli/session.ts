/**
 * One whole build, from opening the project to releasing the lock: what `pipe build` does, and
 * what `pipe watch` does on every change (so watch has no staleness logic of its own).
 */
import type { PipeEvent } from "../events.ts";
import { build, type BuildResult } from "../run/engine.ts";
import { closure, sourceFiles, type Graph } from "../graph/graph.ts";
import { ProjectLock } from "../state/lock.ts";
import { assertRecordsVersion } from "../state/records.ts";
import { join } from "node:path";
import { loadDefinition, openProject, cleanStaleStaging, prepareStateDir, type Definition, type Project } from "./project.ts";
import { saveLastRun } from "./last-run.ts";
import { requestKey } from "../fast/snapshot.ts";
import { dropSnapshot, writeSnapshot } from "../fast/write-snapshot.ts";
import { partialGraphPlan, subsetFor, trustedTargets, type PartialGraphPlan, type Trust } from "../fast/partial.ts";
import type { PartialHint } from "./fast-noop.ts";

export interface SessionOptions {
  cwd: string;
  file?: string;
  paramText: Map<string, string>;
  requested: string[];
  jobs: number;
  keepGoing: boolean;
  keepEdited?: boolean;
  /** `--mem`, in bytes. */
  memBudget?: number;
  dryRun: boolean;
  shuffle?: boolean;
  env: NodeJS.ProcessEnv;
  emit: (e: PipeEvent) => void;
  signal: AbortSignal;
  /** How the lock holder is described to a waiting pipe. */
  command: string;
  /** Write the no-op snapshot after a successful build (`pipe build`; not watch). */
  snapshot?: boolean;
  /** Exit at once (LockBusy) instead of waiting when another pipe holds the lock. */
  noWait?: boolean;
  /** What the no-op snapshot still vouches for (fast-noop.ts), checked again under the lock. */
  noopHint?: PartialHint;
  /** Watch mode: failed targets held back from this run (see `BuildOptions.notRetried`). */
  notRetried?: string[];
  /** Record what the Pipelinefile reads while loading (watch watches it) without writing a snapshot. */
  trace?: boolean;
  /**
   * Evaluate the Pipelinefile's modules anew even if this process loaded the same code before
   * (watch, when what its load read changed: node keeps a module instance per URL).
   */
  freshLoad?: boolean;
}

export interface SessionResult {
  result: BuildResult | undefined;
  /** The project as loaded (watch uses it to know what to watch). */
  project: Project;
  /** What the Pipelinefile read while loading (with `trace` or `snapshot`). */
  loadTrace: Definition["trace"];
}

/** Opens the project (throws UserError on Pipelinefile mistakes), locks, builds, saves state. */
export async function buildOnce(o: SessionOptions): Promise<SessionResult> {
  // Pipelinefile mistakes are found before .pipe/ is touched. Then lock before reading any
  // state: a second pipe that waited must see the first one's records.
  const hint = o.noopHint;
  const subset = hint && !o.dryRun ? subsetFor(hint) : undefined;
  // A hint means the snapshot checked the Pipelinefile's code and what its load read: that load
  // finished last time, so this one will (no loop watchdog).
  const def = await loadDefinition({ ...o, readOnly: o.dryRun, knownStats: hint?.stats, trace: (o.snapshot === true || o.trace === true) && !o.dryRun, fresh: o.freshLoad, subset, loadKnownToFinish: hint !== undefined });
  let lock: ProjectLock | undefined;
  let waited = false;
  if (!o.dryRun) {
    const stateDir = join(def.root, ".pipe");
    assertRecordsVersion(stateDir);
    prepareStateDir(stateDir);
    lock = await ProjectLock.acquire(stateDir, {
      command: o.command,
      noWait: o.noWait,
      signal: o.signal,
      onWait: (holder) => {
        waited = true;
        o.emit({ type: "lock-waiting", holder, lockPath: ".pipe/lock" });
      },
    });
    o.emit({ type: "lock-acquired", ...(lock.recovered ? { recovered: `${lock.recovered}, ended without releasing it (killed?)` } : {}) });
  }
  try {
    // The load's stats of the inputs are from before the wait: a file edited meanwhile would be
    // matched against the stat cache by its old stat (found by a review). Stat them again.
    return await buildLocked(o, lock, waited ? { ...def, stats: new Map() } : def);
  } finally {
    await lock?.release();
  }
}

async function buildLocked(o: SessionOptions, lock: ProjectLock | undefined, loaded: Definition): Promise<SessionResult> {
  // What the no-op snapshot still vouches for, checked under the lock (tryNoop gives no hint
  // for a dry run). Only a build that trusts targets skips the stat cache: one that plans in
  // full needs it.
  let def = loaded;
  let trust: Trust | undefined;
  let lazy: PartialGraphPlan | undefined;
  if (def.partial) {
    lazy = partialGraphPlan(o.noopHint!, def.graph, def.root);
    if (lazy) trust = lazy.trust;
    else def = def.partial.whole();
  }
  const ids = closure(def.graph, def.selected);
  if (!lazy && o.noopHint) trust = trustedTargets(o.noopHint, def.graph, ids);
  const project = await openProject({
    cwd: o.cwd,
    file: o.file,
    paramText: o.paramText,
    requested: o.requested,
    readOnly: o.dryRun,
    env: o.env,
    onHashProgress: (path, doneBytes, totalBytes) => o.emit({ type: "hash-progress", path, doneBytes, totalBytes }),
    skipStatCache: trust !== undefined,
    seedStats: lazy?.seed,
    // A partial plan's hasher stats every file itself: the seeded facts are checked against
    // the disk as it is now, under the lock, not as the no-op check saw it before.
  }, lazy ? { ...def, stats: new Map() } : def);
  for (const w of project.warnings) o.emit({ type: "warning", message: w });
  // A snapshot vouches for a build that would print nothing but "up to date": not after
  // warnings about the state, which a full plan would repeat.
  let stateWarnings = project.warnings.length;
  project.records.onWarning = (message) => {
    stateWarnings++;
    o.emit({ type: "warning", message });
  };
  let started: Extract<PipeEvent, { type: "build-started" }> | undefined;
  const emit = (e: PipeEvent) => {
    if (e.type === "build-started") started = e;
    o.emit(e);
  };
  {
    if (!o.dryRun) for (const message of cleanStaleStaging(project.stateDir, project.graph)) o.emit({ type: "warning", message });
    // Big source files are hashed in a worker first, so Ctrl-C works while they are read.
    // Targets the snapshot vouches for read nothing: only the others' big files are hashed.
    await project.hasher.prehash(bigFileCandidates(project.graph, trust ? ids.filter((id) => !trust.trusted.has(id)) : ids), o.signal);
    if (o.signal.aborted) return { result: undefined, project, loadTrace: def.trace };
    const result = await build({
      graph: project.graph,
      selected: project.selected,
      evaluator: project.evaluator,
      stateDir: project.stateDir,
      entryUrl: project.spec.compiled.entryUrl,
      pipelinefile: project.file,
      jobs: o.jobs,
      keepGoing: o.keepGoing,
      keepEdited: o.keepEdited,
      memBudget: o.memBudget,
      trusted: trust?.trusted,
      fullPlan: lazy?.trust.snapshot.plan,
      requested: lazy?.trust.snapshot.targets,
      trustedOutputs: lazy?.outputs,
      dryRun: o.dryRun,
      emit,
      env: o.env,
      signal: o.signal,
      graceMs: Number(o.env.PIPE_KILL_GRACE_MS ?? 10_000),
      lock,
      shuffle: o.shuffle,
      notRetried: o.notRetried,
    });
    if (!o.dryRun) {
      project.records.close();
      project.saveState();
      saveLastRun(project.stateDir, result.statuses);
      const key = requestKey(project.file, o.requested, o.paramText);
      if (!(o.snapshot && result.ok && !result.interrupted && stateWarnings === 0 && started)) dropSnapshot(project.root, key);
      else {
        writeSnapshot({
          root: project.root,
          stateDir: project.stateDir,
          key,
          today: def.today,
          env: o.env,
          graph: project.graph,
          hasher: project.hasher,
          compiled: project.spec.compiled,
          packageFiles: project.evaluator.code.allPackageFiles(),
          trace: project.evaluator.commandsReadingState.size === 0 ? def.trace : { ...def.trace, opaque: [...def.trace.opaque, `env, files or the clock in the sh command of ${[...project.evaluator.commandsReadingState].slice(0, 3).join(", ")} (while planning)`] },
          globLists: def.globLists,
          targets: started.targets,
          plan: started.plan,
          settled: result.settled,
          carried: trust,
        });
      }
    }
    return { result, project, loadTrace: def.trace };
  }
}

/** Files the targets read that no target produces (folders are hashed when planned). */
function bigFileCandidates(graph: Graph, ids: string[]): Set<string> {
  const out = new Set<string>();
  for (const id of ids) for (const f of sourceFiles(graph.targets.get(id)!)) if (!f.endsWith("/") && !graph.outputOwner.has(f)) out.add(f);
  return out;
}
