/**
 * What every exporter needs from a GraphView, computed once and in one order: targets sorted
 * by id, families sorted by name, edges sorted by (from, to), and the ids that edges mention but
 * the view does not hold (a selection cut off from its dependencies).
 *
 * Why sort instead of keeping the view's order: the view lists targets "dependencies before
 * dependents", but which topological order the core picks depends on declaration order. Output
 * that users diff or commit must not change when they reorder their Pipelinefile (style B9).
 * Sorting compares UTF-16 code units, never the locale, so it is the same on every machine.
 */
import type { GraphView, TargetState, TargetView } from "../graph/view.ts";

/** Every state, in the order legends list them. */
export const STATES: readonly TargetState[] = ["up-to-date", "restorable", "stale", "failed"];

/** The words a legend shows for each state. */
export const STATE_LABELS: Readonly<Record<TargetState, string>> = {
  "up-to-date": "up to date",
  restorable: "restorable from cache",
  stale: "stale",
  failed: "failed",
};

/** Fill and border colours per state: green, blue, orange, red (Material 100/800 pairs). */
export const STATE_COLORS: Readonly<Record<TargetState, { fill: string; stroke: string }>> = {
  "up-to-date": { fill: "#c8e6c9", stroke: "#2e7d32" },
  restorable: { fill: "#bbdefb", stroke: "#1565c0" },
  stale: { fill: "#ffe0b2", stroke: "#ef6c00" },
  failed: { fill: "#ffcdd2", stroke: "#c62828" },
};

/** Options shared by the diagram exporters. */
export interface DiagramOptions {
  /** Also draw the source files each target reads, with an edge file -> target. */
  files?: boolean;
}

/** A directed edge between two node keys (target ids, or file paths for file edges). */
export interface Edge {
  from: string;
  to: string;
}

/** The view, ordered and indexed for rendering. Invariant: every array is sorted. */
export interface OrderedGraph {
  /** Targets without a family, sorted by id. */
  plain: TargetView[];
  /** Families sorted by name, each with its instances sorted by id. */
  families: Array<{ name: string; instances: TargetView[] }>;
  /** Ids that some target depends on but the view does not contain, sorted. */
  external: string[];
  /** Source files read by any target (only when files were asked for), sorted. */
  files: string[];
  /** dep -> dependent, sorted by (from, to), duplicates removed. */
  targetEdges: Edge[];
  /** file -> target, sorted by (from, to); empty unless files were asked for. */
  fileEdges: Edge[];
}

/** Compares strings by UTF-16 code units: locale-independent and total. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareEdges(a: Edge, b: Edge): number {
  return compareStrings(a.from, b.from) || compareStrings(a.to, b.to);
}

function uniqueEdges(edges: Edge[]): Edge[] {
  edges.sort(compareEdges);
  return edges.filter((e, i) => i === 0 || compareEdges(e, edges[i - 1]) !== 0);
}

/** Orders a view for rendering; see OrderedGraph for the guarantees. */
export function orderGraph(view: GraphView, options: DiagramOptions = {}): OrderedGraph {
  const byId = new Map(view.targets.map((t) => [t.id, t]));
  const sorted = [...byId.values()].sort((a, b) => compareStrings(a.id, b.id));
  const plain: TargetView[] = [];
  const familyMap = new Map<string, TargetView[]>();
  for (const t of sorted) {
    if (t.family === undefined) plain.push(t);
    else {
      const list = familyMap.get(t.family) ?? [];
      list.push(t);
      familyMap.set(t.family, list);
    }
  }
  const families = [...familyMap.keys()].sort(compareStrings).map((name) => ({ name, instances: familyMap.get(name)! }));

  const external = new Set<string>();
  const targetEdges: Edge[] = [];
  const fileEdges: Edge[] = [];
  const files = new Set<string>();
  for (const t of sorted) {
    for (const dep of t.deps) {
      if (!byId.has(dep)) external.add(dep);
      targetEdges.push({ from: dep, to: t.id });
    }
    if (options.files) {
      for (const f of t.files) {
        files.add(f);
        fileEdges.push({ from: f, to: t.id });
      }
    }
  }
  return {
    plain,
    families,
    external: [...external].sort(compareStrings),
    files: [...files].sort(compareStrings),
    targetEdges: uniqueEdges(targetEdges),
    fileEdges: uniqueEdges(fileEdges),
  };
}

/**
 * Returns `base`, or `base` with the smallest numeric suffix that is not in `taken`, and adds the
 * result to `taken`. Used for node names the exporter invents (legend, file nodes) so they can
 * never collide with a target id, whatever users name their targets.
 */
export function claimName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}~${i}`;
  taken.add(name);
  return name;
}
