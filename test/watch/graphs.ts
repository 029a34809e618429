/** Tiny graphs for watch tests, built from a compact description (no Pipelinefile, no I/O). */
import type { Decl } from "../../src/load/load.ts";
import type { Graph, GraphTarget, InputItem } from "../../src/graph/graph.ts";

/** Inputs: "path", "dir/", "glob/*.csv", or `{ target: "id" }`. Outputs: "path" or "dir/". */
export type GraphSpec = Record<string, { inputs?: (string | { target: string })[]; outputs?: string[] }>;

/** Builds a graph; `globs` gives each glob's matches (project-relative). */
export function graphOf(root: string, spec: GraphSpec, globs: Record<string, string[]> = {}): Graph {
  const targets = new Map<string, GraphTarget>();
  const outputOwner = new Map<string, string>();
  for (const [id, s] of Object.entries(spec)) for (const o of s.outputs ?? []) outputOwner.set(o.replace(/\/$/, ""), id);
  for (const [id, s] of Object.entries(spec)) {
    const deps = new Set<string>();
    const items: InputItem[] = (s.inputs ?? []).map((x) => {
      if (typeof x !== "string") {
        deps.add(x.target);
        return { kind: "target", spec: x.target, target: x.target, files: (spec[x.target].outputs ?? []).map((o) => o.replace(/\/$/, "")) };
      }
      if (/[*?[{]/.test(x)) return { kind: "glob", spec: x, files: globs[x] ?? [] };
      const path = x.replace(/\/$/, "");
      const owner = outputOwner.get(path);
      if (owner && owner !== id) deps.add(owner);
      return { kind: x.endsWith("/") ? "dir" : "file", spec: x, files: [path] };
    });
    // Cast: the core adds fields over time; watch reads only inputs, outputs and deps.
    targets.set(id, {
      id,
      name: id,
      decl: {} as Decl,
      inputsShape: "list",
      inputs: [{ single: false, items }],
      outputsShape: "list",
      outputs: (s.outputs ?? []).map((o) => ({ path: o.replace(/\/$/, ""), dir: o.endsWith("/") })),
      params: [],
      env: [],
      cpu: 1,
      mem: 0,
      deps: [...deps].sort(),
      paramsReadByInputs: [],
    } as GraphTarget);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const d of targets.get(id)!.deps) visit(d);
    order.push(id);
  };
  for (const id of [...targets.keys()].sort()) visit(id);
  const dependents = new Map<string, string[]>();
  for (const id of order) for (const d of targets.get(id)!.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(id);
  return { root, targets, order, dependents, outputOwner, defaults: [] };
}

/**
 *   data/raw.csv ──► clean ──► model          flag.txt ──► check
 *   data/extra/*.csv ─┘                       sentinel.txt ──► mark
 *   assets/ ──► site (writes site/)
 */
export const SAMPLE: GraphSpec = {
  clean: { inputs: ["data/raw.csv", "data/extra/*.csv"], outputs: ["build/clean.csv"] },
  model: { inputs: [{ target: "clean" }, "params.json"], outputs: ["build/model.json"] },
  check: { inputs: ["flag.txt"], outputs: ["out/check.txt"] },
  mark: { inputs: ["sentinel.txt"], outputs: ["out/mark.txt"] },
  site: { inputs: ["assets/"], outputs: ["site/"] },
};
