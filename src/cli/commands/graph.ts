/** `pipe graph [targets]`: the target graph as text, DOT, Mermaid or JSON. Read-only. */
import { sourceFiles } from "../../graph/graph.ts";
import { formatValue } from "../../graph/param-values.ts";
import type { GraphView, TargetView } from "../../graph/view.ts";
import { UserError } from "../../util/errors.ts";
import { hasFlag } from "../args.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { inspect } from "../inspect.ts";
import { loadLastRun } from "../last-run.ts";

export const command: Command = {
  name: "graph",
  summary: "Show the target graph: a text tree (default), Graphviz DOT, a Mermaid flowchart or JSON. Nodes are coloured by state. Writes nothing.",
  usage: "pipe graph [targets...] [--dot | --mermaid | --json] [--files]",
  details: "Render DOT with Graphviz: pipe graph --dot | dot -Tsvg > graph.svg",
  flags: [
    { name: "dot", help: "Graphviz DOT" },
    { name: "mermaid", help: "a Mermaid flowchart" },
    { name: "json", help: "JSON (round-trips: fromJson(toJson(g)))" },
    { name: "files", help: "also show source files as nodes" },
    PARAM,
    PARAMS_FILE,
    ...COMMON,
  ],
  run: async (ctx) => {
    const formats = ["dot", "mermaid", "json"].filter((f) => hasFlag(ctx.args, f));
    if (formats.length > 1) throw new UserError({ message: `choose one of --${formats.join(", --")}` });
    const { project, ids, predictions } = await inspect(ctx, { all: true });
    const last = loadLastRun(project.stateDir);
    const targets: TargetView[] = ids.map((id) => {
      const t = project.graph.targets.get(id)!;
      const p = predictions.get(id)!;
      const failed = last.get(id) === "failed" && p.state !== "up-to-date";
      const view: TargetView = {
        id,
        state: failed ? "failed" : p.state,
        // What a target makes is a dependency, not a source: also a folder output ("build/split/")
        // and a file inside one.
        files: sourceFiles(t).filter((f) => !madeByTarget(project.graph.outputOwner, f)),
        outputs: t.outputs.map((o) => (o.dir ? o.path + "/" : o.path)),
        deps: t.deps.filter((d) => ids.includes(d)),
      };
      if (t.family) view.family = t.family;
      if (t.key) view.key = Object.fromEntries(Object.entries(t.key).map(([k, v]) => [k, formatValue(v)]));
      const params = t.params.filter((u) => !u.isKey && u.cli !== undefined && u.value !== undefined);
      if (params.length) view.params = Object.fromEntries(params.map((u) => [u.cli!, formatValue(u.value)]));
      if (p.reasons.length) view.reason = p.reasons.join("; ");
      if (t.description) view.description = t.description;
      return view;
    });
    const view: GraphView = { targets, defaults: project.graph.defaults.filter((d) => ids.includes(d)) };
    const files = hasFlag(ctx.args, "files");
    const ex = await import("../../export/index.ts");
    const out = formats[0] === "dot" ? ex.toDot(view, { files }) : formats[0] === "mermaid" ? ex.toMermaid(view, { files }) : formats[0] === "json" ? ex.toJson(view) : ex.toText(view, { width: ctx.stdout.columns, files, first: ctx.args.positional.length ? project.selected : undefined });
    for (const w of project.warnings) ctx.stderr.write(`warning: ${w}\n`);
    ctx.stdout.write(out.endsWith("\n") ? out : out + "\n");
    return EXIT.ok;
  },
};

/** Whether a target's outputs hold `path` (a file, a folder given as "dir/", or a path inside a folder output). */
function madeByTarget(owners: ReadonlyMap<string, string>, path: string): boolean {
  const p = path.replace(/\/$/, "");
  if (owners.has(p)) return true;
  for (let at = p.lastIndexOf("/"); at > 0; at = p.lastIndexOf("/", at - 1)) if (owners.has(p.slice(0, at))) return true;
  return false;
}
