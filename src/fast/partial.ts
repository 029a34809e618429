/**
 * A build after the no-op snapshot found that only some targets' project files changed: which
 * targets it may still trust, and what it knew of their files (for the next snapshot).
 *
 * Sound because everything else the snapshot holds was checked (the Pipelinefile and what it
 * read, env, folders, the journal), so the graph is the one the snapshot was made from, and a
 * target that reads and writes only unchanged files, and depends only on such targets, has the
 * fingerprint and outputs it had then: up to date. This is checked again under the lock (the
 * journal and the plan must still be the snapshot's). Targets with folder inputs or outputs
 * make the whole build plan in full (their facts are per file inside the tree).
 */
import type { Graph, GraphTarget } from "../graph/graph.ts";
import type { PartialHint } from "../cli/fast-noop.ts";
import { exactFactsHold, type Snapshot } from "./snapshot.ts";

export interface Trust {
  trusted: Set<string>;
  /** The snapshot the trust comes from: the rows of its file table about trusted targets' files carry over. */
  snapshot: Snapshot;
  /** Row of each project file in the snapshot's file table, by project-relative path. */
  rows: Map<string, number>;
  /**
   * A build that planned only the affected targets (the graph holds just those and their
   * dependencies): each plan entry's rows in the snapshot's file table, by plan index.
   * Undefined when the graph is whole.
   */
  lazy?: number[][];
}

export function trustedTargets(hint: PartialHint, graph: Graph, ids: string[]): Trust | undefined {
  const snap = hint.snapshot;
  if (!exactFactsHold(snap.exact)) return undefined;
  if (snap.plan.length !== ids.length) return undefined;
  const affected = new Set<string>();
  for (let i = 0; i < ids.length; i++) {
    const planned = snap.plan[i];
    const t = graph.targets.get(ids[i])!;
    if (planned[0] !== t.id || planned.length !== t.deps.length + 1) return undefined;
    for (let j = 0; j < t.deps.length; j++) if (planned[j + 1] !== t.deps[j]) return undefined;
    // ids are in dependency order: a target's deps were classified before it.
    let hit = false;
    for (const g of t.inputs) {
      for (const it of g.items) {
        if (it.kind === "dir") return undefined;
        for (const f of it.files) if (hint.changed.has(f)) hit = true;
      }
    }
    for (const o of t.outputs) {
      if (o.dir) return undefined;
      if (hint.changed.has(o.path)) hit = true;
    }
    if (hit || t.deps.some((d) => affected.has(d))) affected.add(t.id);
  }
  if (affected.size === ids.length) return undefined;
  const trusted = new Set<string>();
  for (const id of ids) if (!affected.has(id)) trusted.add(id);
  const rows = new Map<string, number>();
  const { paths } = snap.files;
  for (let i = 0; i < paths.length; i++) if (paths[i].charCodeAt(0) !== 47) rows.set(paths[i], i);
  return { trusted, snapshot: snap, rows };
}

/** Calls `f` with each project file of a graph target (what a trusted target's facts are about). */
export function forTargetFiles(t: GraphTarget, f: (path: string) => void): void {
  for (const g of t.inputs) for (const it of g.items) for (const p of it.files) f(p);
  for (const o of t.outputs) f(o.path);
}
