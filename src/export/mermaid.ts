/**
 * `pipe graph --format mermaid`: the graph as a Mermaid flowchart, for Markdown files and
 * GitHub comments.
 *
 * Mermaid node ids cannot hold most of what target ids hold (`[`, `=`, spaces, and words such
 * as `end` break the parser), so nodes get synthetic ids `n0, n1, ...` in sorted order and the
 * target id goes into a quoted label. Labels are escaped with Mermaid entity codes, which
 * leaves nothing in them that the parser or the HTML renderer would interpret.
 *
 * Limits of Mermaid itself, not of this exporter: renderers refuse diagrams over `maxEdges`
 * (default 500) or `maxTextSize` (default 50,000 characters), and both settings are "secure",
 * so a diagram cannot raise them with an init directive. Use DOT for large graphs.
 */
import type { GraphView, TargetState } from "../graph/view.ts";
import { STATES, STATE_COLORS, STATE_LABELS, orderGraph } from "./common.ts";
import type { DiagramOptions } from "./common.ts";

/** Options for toMermaid. */
export type MermaidOptions = DiagramOptions;

/** The Mermaid class name used for each state (Mermaid class names cannot hold `-`). */
export const MERMAID_CLASSES: Readonly<Record<TargetState, string>> = {
  "up-to-date": "upToDate",
  restorable: "restorable",
  stale: "stale",
  failed: "failed",
};

/**
 * Escapes text for a quoted Mermaid label: `"` becomes `#quot;`, and `#` itself, `<`, `>`, `&`,
 * backticks and control characters become numeric entity codes (`#35;`...), so a literal
 * `#quot;` in an id survives, HTML tags are shown rather than rendered, and a leading backtick
 * does not turn the label into Markdown.
 */
export function escapeMermaidLabel(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += "#quot;";
    else if (ch === "#" || ch === "<" || ch === ">" || ch === "&" || ch === "`" || code < 0x20 || code === 0x7f) out += `#${code};`;
    else out += ch;
  }
  return out;
}

function quoted(text: string): string {
  return `"${escapeMermaidLabel(text)}"`;
}

/**
 * Renders the view as a `flowchart LR`: one node per target with its id as a quoted label, a
 * classDef per state, a `subgraph` per family, a legend, dependencies outside the view as
 * dashed nodes, and with `files: true` a parallelogram per source file with edges file ->
 * target. Edge lines are exactly `nA --> nB`. The same view always gives the same text.
 */
export function toMermaid(view: GraphView, options: MermaidOptions = {}): string {
  const g = orderGraph(view, options);
  const ids = new Map<string, string>(); // target id -> n<i>
  const fileIds = new Map<string, string>(); // path -> n<i>
  const byClass = new Map<string, string[]>();
  let next = 0;
  const nodeId = (cls: string): string => {
    const id = `n${next++}`;
    const list = byClass.get(cls) ?? [];
    list.push(id);
    byClass.set(cls, list);
    return id;
  };

  const out: string[] = ["flowchart LR"];
  for (const s of STATES) {
    const c = STATE_COLORS[s];
    out.push(`  classDef ${MERMAID_CLASSES[s]} fill:${c.fill},stroke:${c.stroke},color:#212121`);
  }
  out.push("  classDef external fill:#ffffff,stroke:#9e9e9e,color:#616161,stroke-dasharray: 5 5");
  if (options.files) out.push("  classDef file fill:#f5f5f5,stroke:#757575,color:#212121");

  for (const t of g.plain) {
    const id = nodeId(MERMAID_CLASSES[t.state]);
    ids.set(t.id, id);
    out.push(`  ${id}[${quoted(t.id)}]`);
  }
  g.families.forEach((f, i) => {
    out.push(`  subgraph f${i} [${quoted(f.name)}]`);
    for (const t of f.instances) {
      const id = nodeId(MERMAID_CLASSES[t.state]);
      ids.set(t.id, id);
      out.push(`    ${id}[${quoted(t.id)}]`);
    }
    out.push("  end");
  });
  for (const ext of g.external) {
    const id = nodeId("external");
    ids.set(ext, id);
    out.push(`  ${id}[${quoted(ext)}]`);
  }
  for (const path of g.files) {
    const id = nodeId("file");
    fileIds.set(path, id);
    out.push(`  ${id}[/${quoted(path)}/]`);
  }
  out.push(`  subgraph legend [${quoted("legend")}]`);
  for (const s of STATES) out.push(`    ${nodeId(MERMAID_CLASSES[s])}[${quoted(STATE_LABELS[s])}]`);
  out.push("  end");

  for (const e of g.targetEdges) out.push(`  ${ids.get(e.from)} --> ${ids.get(e.to)}`);
  for (const e of g.fileEdges) out.push(`  ${fileIds.get(e.from)} --> ${ids.get(e.to)}`);
  for (const [cls, list] of byClass) out.push(`  class ${list.join(",")} ${cls}`);
  return out.join("\n") + "\n";
}
