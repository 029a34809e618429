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
import { trustedTargets, type Trust } from "../fast/partial.ts";
import { exactFactsHold, FILE_NUMS, HASH_LEN, type Snapshot } from "../fast/snapshot.ts";
import type { StatEntry } from "../hash/file-hasher.ts";
import { isRacy } from "../hash/racy.ts";
import type { OutputRecord } from "../state/records.ts";
import { readdirSync, statSync } from "node:fs";
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
}

export interface SessionResult {
  result: BuildResult | undefined;
  /** The project as loaded (watch uses it to know what to watch). */
  project: Project;
}

/** Opens the project (throws UserError on Pipelinefile mistakes), locks, builds, saves state. */
export async function buildOnce(o: SessionOptions): Promise<SessionResult> {
  // Pipelinefile mistakes are found before .pipe/ is touched. Then lock before reading any
  // state: a second pipe that waited must see the first one's records.
  const hint = o.noopHint;
  const subset = hint?.affected && !o.dryRun ? subsetOf(hint.snapshot, hint.affected) : undefined;
  const def = await loadDefinition({ ...o, readOnly: o.dryRun, knownStats: hint?.stats, trace: o.snapshot === true && !o.dryRun, subset });
  let lock: ProjectLock | undefined;
  if (!o.dryRun) {
    const stateDir = join(def.root, ".pipe");
    assertRecordsVersion(stateDir);
    prepareStateDir(stateDir);
    lock = await ProjectLock.acquire(stateDir, {
      command: o.command,
      noWait: o.noWait,
      onWait: (holder) => o.emit({ type: "lock-waiting", holder, lockPath: ".pipe/lock" }),
    });
    o.emit({ type: "lock-acquired" });
  }
  try {
    return await buildLocked(o, lock, def);
  } finally {
    lock?.release();
  }
}

async function buildLocked(o: SessionOptions, lock: ProjectLock | undefined, loaded: Definition): Promise<SessionResult> {
  // What the no-op snapshot still vouches for, checked under the lock (tryNoop gives no hint
  // for a dry run). Only a build that trusts targets skips the stat cache: one that plans in
  // full needs it.
  let def = loaded;
  let trust: Trust | undefined;
  let lazy: LazyPlan | undefined;
  if (def.partial) {
    lazy = lazyPlan(o.noopHint!, def);
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
    if (!o.dryRun) cleanStaleStaging(project.stateDir, project.graph);
    // Big source files are hashed in a worker first, so Ctrl-C works while they are read.
    // Targets the snapshot vouches for read nothing: only the others' big files are hashed.
    await project.hasher.prehash(bigFileCandidates(project.graph, trust ? ids.filter((id) => !trust.trusted.has(id)) : ids), o.signal);
    if (o.signal.aborted) return { result: undefined, project };
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
          trace: def.trace,
          globLists: def.globLists,
          targets: started.targets,
          plan: started.plan,
          settled: result.settled,
          carried: trust,
        });
      }
    }
    return { result, project };
  }
}

/**
 * A partial build's graph: the affected targets (planned in full) and the targets they read
 * from (outputs only), by the snapshot's plan.
 */
function subsetOf(snap: Snapshot, affected: string[]): { plan: string[]; outputsOnly: string[]; keys: Map<string, Record<string, unknown> | null> } {
  const hit = new Set(affected);
  const outputsOnly = new Set<string>();
  for (const entry of snap.plan) if (hit.has(entry[0])) for (let j = 1; j < entry.length; j++) if (!hit.has(entry[j])) outputsOnly.add(entry[j]);
  const keys = new Map<string, Record<string, unknown> | null>();
  for (let i = 0; i < snap.plan.length; i++) {
    const id = snap.plan[i][0];
    if (hit.has(id) || outputsOnly.has(id)) keys.set(id, snap.keys?.[i] ?? null);
  }
  return { plan: affected, outputsOnly: [...outputsOnly], keys };
}

interface LazyPlan {
  trust: Trust;
  /**
   * The snapshot's (stat -> hash) facts about the affected targets' files (those that did not
   * change), for the hasher: an unchanged input or an output about to be replaced is not read.
   */
  seed: Map<string, StatEntry>;
  /** The outputs of the trusted targets the graph holds (what the affected ones read). */
  outputs: Map<string, OutputRecord[]>;
}

/**
 * Whether a partial graph may be built on, checked under the lock: the snapshot's state facts
 * still hold (no other build in between), no dead run left staged files (cleaning them needs
 * every target's outputs), and the partial graph has exactly the snapshot's edges. Sound
 * because everything the graph is made from was checked against the snapshot (see
 * fast/partial.ts), and the affected targets were planned from the declarations again.
 */
function lazyPlan(hint: PartialHint, def: Definition): LazyPlan | undefined {
  const snap = hint.snapshot;
  const rows = hint.rows;
  if (!rows || !hint.affected || !exactFactsHold(snap.exact)) return undefined;
  try {
    if (readdirSync(join(def.root, ".pipe", "active")).length) return undefined;
  } catch {
    // no folder: no run in progress
  }
  const affected = new Set(hint.affected);
  const trusted = new Set<string>();
  let inGraph = 0;
  for (const entry of snap.plan) {
    const id = entry[0];
    const t = def.graph.targets.get(id);
    if (t) inGraph++;
    if (!affected.has(id)) {
      trusted.add(id);
      continue;
    }
    if (!t || t.deps.length !== entry.length - 1) return undefined;
    for (let j = 0; j < t.deps.length; j++) if (t.deps[j] !== entry[j + 1]) return undefined;
  }
  // A target the partial graph made that the plan does not list (an edge the snapshot lacks).
  if (inGraph !== def.graph.targets.size) return undefined;
  const want = new Map<string, string>();
  for (const t of def.graph.targets.values()) {
    if (affected.has(t.id)) continue;
    for (const out of t.outputs) {
      if (out.dir) return undefined;
      want.set(out.path, t.id);
    }
  }
  // The affected targets read these outputs by their recorded hashes (not from disk): they must
  // still be the files the no-op check saw before the lock (a \`pipe clean\` may have run since).
  const hashes = new Map<string, string>();
  const { paths, hashes: all, nums } = snap.files;
  for (let i = 0; i < paths.length; i++) {
    if (!want.has(paths[i])) continue;
    const st = statSync(join(def.root, paths[i]), { throwIfNoEntry: false });
    const k = i * FILE_NUMS;
    // Racy (changed within the clock's granularity of when it was read): the stat cannot vouch.
    if (!st || !st.isFile() || st.dev !== nums[k] || st.ino !== nums[k + 1] || st.size !== nums[k + 2] || st.mtimeMs !== nums[k + 3] || st.ctimeMs !== nums[k + 4] || isRacy(st.mtimeMs, nums[k + 5])) return undefined;
    hashes.set(paths[i], all.slice(i * HASH_LEN, (i + 1) * HASH_LEN));
  }
  const outputs = new Map<string, OutputRecord[]>();
  for (const t of def.graph.targets.values()) {
    if (affected.has(t.id)) continue;
    const list: OutputRecord[] = [];
    for (const out of t.outputs) {
      const hash = hashes.get(out.path);
      if (hash === undefined) return undefined;
      list.push({ path: out.path, kind: "file", hash });
    }
    outputs.set(t.id, list);
  }
  const seed = new Map<string, StatEntry>();
  for (let i = 0; i < snap.plan.length; i++) {
    if (!affected.has(snap.plan[i][0])) continue;
    for (const r of rows[i]) {
      const path = paths[r];
      if (hint.changed.has(path)) continue;
      const k = r * FILE_NUMS;
      seed.set(path, { dev: nums[k], ino: nums[k + 1], size: nums[k + 2], mtimeMs: nums[k + 3], ctimeMs: nums[k + 4], hashedAt: nums[k + 5], hash: all.slice(r * HASH_LEN, (r + 1) * HASH_LEN) });
    }
  }
  return { trust: { trusted, snapshot: snap, rows: new Map(), lazy: rows }, outputs, seed };
}

/** Files the targets read that no target produces (folders are hashed when planned). */
function bigFileCandidates(graph: Graph, ids: string[]): Set<string> {
  const out = new Set<string>();
  for (const id of ids) for (const f of sourceFiles(graph.targets.get(id)!)) if (!f.endsWith("/") && !graph.outputOwner.has(f)) out.add(f);
  return out;
}
