/**
 * A build after the no-op snapshot found that only some targets' project files changed: which
 * targets it may still trust, and what it knew of their files (for the next snapshot).
 *
 * Sound because everything else the snapshot holds was checked (the Pipelinefile and what it
 * read, env, folders, the journal), so the graph is the one the snapshot was made from, and a
 * target that reads and writes only unchanged files, and depends only on such targets, has the
 * fingerprint and outputs it had then: up to date. This is checked again under the lock (the
 * journal and the plan must still be the snapshot's). Snapshots of builds with folder inputs or
 * outputs know no per-target files (their facts are per file inside the tree): such builds plan
 * in full.
 *
 * Two ways to build on it:
 *   - `trustedTargets`: the whole graph was built; the trusted targets are not evaluated.
 *   - `subsetFor` + `partialGraphPlan`: only the affected targets and the targets they read
 *     from were built (graph/build.ts `subset`); the rest are reported from the snapshot.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Graph } from "../graph/graph.ts";
import type { PartialHint } from "../cli/fast-noop.ts";
import type { StatEntry } from "../hash/file-hasher.ts";
import type { OutputRecord } from "../state/records.ts";
import type { GraphTarget } from "../graph/graph.ts";
import { exactFactsHold, factHolds, FILE_NUMS, hashAt, runsInProgress, type Snapshot } from "./snapshot.ts";

export interface Trust {
  trusted: Set<string>;
  /** The snapshot the trust comes from: its rows about trusted targets' files carry over. */
  snapshot: Snapshot;
  /** Each plan entry's rows in the snapshot's file table, by plan index (the plan is the build's). */
  rows: number[][];
  /**
   * The graph holds only the affected targets and what they read: what the others declared
   * (env vars, globbed folders, what their declarations read) is carried over too.
   */
  partialGraph: boolean;
}

/** Whether a plan entry ([id, ...deps]) is the graph target, edge by edge. */
function sameEntry(planned: string[], t: GraphTarget): boolean {
  if (planned[0] !== t.id || planned.length !== t.deps.length + 1) return false;
  for (let j = 0; j < t.deps.length; j++) if (planned[j + 1] !== t.deps[j]) return false;
  return true;
}

/** Whether the plan the graph gives is the snapshot's, target by target and edge by edge. */
function samePlan(snap: Snapshot, graph: Graph, ids: string[]): boolean {
  if (snap.plan.length !== ids.length) return false;
  for (let i = 0; i < ids.length; i++) if (!sameEntry(snap.plan[i], graph.targets.get(ids[i])!)) return false;
  return true;
}

/** A whole graph's build: the targets it may trust, checked under the lock. */
export function trustedTargets(hint: PartialHint, graph: Graph, ids: string[]): Trust | undefined {
  const snap = hint.snapshot;
  if (!hint.affected || !hint.rows || !exactFactsHold(snap.exact) || !samePlan(snap, graph, ids)) return undefined;
  const affected = new Set(hint.affected);
  const trusted = new Set<string>();
  for (const id of ids) if (!affected.has(id)) trusted.add(id);
  return { trusted, snapshot: snap, rows: hint.rows, partialGraph: false };
}

export interface Subset {
  /** The affected targets, built whole. */
  plan: string[];
  /** The targets they read from: created for their outputs only. */
  outputsOnly: string[];
  /** Their keys as the snapshot recorded them (null: a plain target). */
  keys: Map<string, Record<string, unknown> | null>;
}

/** Which targets a partial graph holds (undefined: build the whole graph). */
export function subsetFor(hint: PartialHint): Subset | undefined {
  if (!hint.affected || hint.gone) return undefined;
  const snap = hint.snapshot;
  const hit = new Set(hint.affected);
  const outputsOnly = new Set<string>();
  for (const entry of snap.plan) if (hit.has(entry[0])) for (let j = 1; j < entry.length; j++) if (!hit.has(entry[j])) outputsOnly.add(entry[j]);
  const keys = new Map<string, Record<string, unknown> | null>();
  for (let i = 0; i < snap.plan.length; i++) {
    const id = snap.plan[i][0];
    if (hit.has(id) || outputsOnly.has(id)) keys.set(id, snap.keys?.[i] ?? null);
  }
  return { plan: hint.affected, outputsOnly: [...outputsOnly], keys };
}

export interface PartialGraphPlan {
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
 * every target's outputs), the partial graph has exactly the snapshot's edges, and the outputs
 * the affected targets read are the files the no-op check saw. Sound because everything the
 * graph is made from was checked against the snapshot, and the affected targets were planned
 * from the declarations again.
 */
export function partialGraphPlan(hint: PartialHint, graph: Graph, root: string): PartialGraphPlan | undefined {
  const snap = hint.snapshot;
  const rows = hint.rows;
  if (!rows || !hint.affected || !exactFactsHold(snap.exact) || runsInProgress(join(root, ".pipe"))) return undefined;
  const affected = new Set(hint.affected);
  const trusted = new Set<string>();
  let inGraph = 0;
  for (const entry of snap.plan) {
    const id = entry[0];
    const t = graph.targets.get(id);
    if (t) inGraph++;
    if (!affected.has(id)) {
      trusted.add(id);
      continue;
    }
    if (!t || !sameEntry(entry, t)) return undefined;
  }
  // A target the partial graph made that the plan does not list (an edge the snapshot lacks).
  if (inGraph !== graph.targets.size) return undefined;
  const read = new Set<string>();
  for (const t of graph.targets.values()) {
    if (affected.has(t.id)) continue;
    for (const out of t.outputs) {
      if (out.dir) return undefined;
      read.add(out.path);
    }
  }
  // The affected targets read these outputs by their recorded hashes (not from disk): they must
  // still be the files the no-op check saw before the lock (a `pipe clean` may have run since).
  // Racy (changed within the clock's granularity of when it was read): the stat cannot vouch.
  const hashes = new Map<string, string>();
  const { paths, nums } = snap.files;
  for (let i = 0; i < paths.length; i++) {
    if (!read.has(paths[i])) continue;
    const st = statSync(join(root, paths[i]), { throwIfNoEntry: false });
    if (!st || !st.isFile() || !factHolds(snap.files, i, st)) return undefined;
    hashes.set(paths[i], hashAt(snap.files, i));
  }
  const outputs = new Map<string, OutputRecord[]>();
  for (const t of graph.targets.values()) {
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
      if (hint.changed.has(paths[r])) continue;
      const k = r * FILE_NUMS;
      seed.set(paths[r], { dev: nums[k], ino: nums[k + 1], size: nums[k + 2], mtimeMs: nums[k + 3], ctimeMs: nums[k + 4], hashedAt: nums[k + 5], hash: hashAt(snap.files, r) });
    }
  }
  return { trust: { trusted, snapshot: snap, rows, partialGraph: true }, outputs, seed };
}
