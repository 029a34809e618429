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
import type { Graph } from "../graph/graph.ts";
import type { PartialHint } from "../cli/fast-noop.ts";
import { exactFactsHold, factAt, type FileFact } from "./snapshot.ts";

export interface Trust {
  trusted: Set<string>;
  /** The snapshot's facts about project files, by path (carried over for trusted targets). */
  facts: Map<string, FileFact>;
  /** Each target's project files (targetFiles), computed once here for the snapshot writer too. */
  files: Map<string, string[]>;
}

export function trustedTargets(hint: PartialHint, graph: Graph, ids: string[]): Trust | undefined {
  const snap = hint.snapshot;
  if (!exactFactsHold(snap.exact)) return undefined;
  if (snap.plan.length !== ids.length) return undefined;
  const files = new Map<string, string[]>();
  for (let i = 0; i < ids.length; i++) {
    const [id, ...deps] = snap.plan[i];
    const t = graph.targets.get(ids[i])!;
    if (id !== t.id || deps.length !== t.deps.length || deps.some((d, j) => d !== t.deps[j])) return undefined;
    if (t.outputs.some((o) => o.dir) || t.inputs.some((g) => g.items.some((it) => it.kind === "dir"))) return undefined;
    files.set(id, targetFiles(graph, id));
  }
  const affected = new Set<string>();
  for (const id of ids) {
    const t = graph.targets.get(id)!;
    if (files.get(id)!.some((f) => hint.changed.has(f)) || t.deps.some((d) => affected.has(d))) affected.add(id);
  }
  const trusted = new Set(ids.filter((id) => !affected.has(id)));
  if (trusted.size === 0) return undefined;
  const facts = new Map<string, FileFact>();
  for (let i = 0; i < snap.files.paths.length; i++) if (snap.files.paths[i].charCodeAt(0) !== 47) facts.set(snap.files.paths[i], factAt(snap.files, i));
  return { trusted, facts, files };
}

/** The project files of a graph target (what a trusted target's snapshot facts are about). */
export function targetFiles(graph: Graph, id: string): string[] {
  const t = graph.targets.get(id)!;
  return [...t.inputs.flatMap((g) => g.items.flatMap((it) => it.files)), ...t.outputs.map((o) => o.path)];
}
