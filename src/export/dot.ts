/**
 * `pipe graph --format dot`: the graph as Graphviz DOT, for `dot -Tsvg`.
 *
 * Node names are the target ids as users type them (`trend[attribute=recovered]`), always
 * quoted, so `gvpr` filters and the SVG <title> elements speak the user's vocabulary. Names the
 * exporter invents (the legend, `file:<path>` nodes) are checked against the target ids and
 * renamed on a clash (`claimName`). Output order is sorted, never the view's order
 * (see common.ts).
 */
import type { GraphView, TargetState, TargetView } from "../graph/view.ts";
import { STATES, STATE_COLORS, STATE_LABELS, claimName, orderGraph } from "./common.ts";
import type { DiagramOptions } from "./common.ts";

/** Options for toDot. */
export type DotOptions = DiagramOptions;

/**
 * Quotes text as a DOT string that is also safe as a label (an escString).
 *
 * Why every backslash is doubled: the DOT lexer reads `\"` as a quote and keeps `\\` as two
 * characters, so doubling is the only encoding that lets an id end in a backslash without
 * swallowing the closing quote. Labels then render `\\` as one backslash, and ids still map
 * one-to-one to node names. Newlines become `\n` (a line break in labels) so every statement
 * stays on one line of output.
 */
export function quoteDot(text: string): string {
  const body = text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, "\\n");
  return `"${body}"`;
}

function attrs(list: Array<[string, string]>): string {
  return `[${list.map(([k, v]) => `${k}=${quoteDot(v)}`).join(", ")}]`;
}

function stateAttrs(state: TargetState): Array<[string, string]> {
  const c = STATE_COLORS[state];
  return [
    ["fillcolor", c.fill],
    ["color", c.stroke],
  ];
}

function targetNode(t: TargetView, indent: string): string {
  const tip = t.reason ? `${STATE_LABELS[t.state]}: ${t.reason}` : STATE_LABELS[t.state];
  const list: Array<[string, string]> = [["label", t.id], ...stateAttrs(t.state), ["tooltip", t.description ? `${tip}\n${t.description}` : tip]];
  return `${indent}${quoteDot(t.id)} ${attrs(list)};`;
}

function legendNode(name: string, withFiles: boolean): string {
  const rows = STATES.map((s) => `<tr><td bgcolor="${STATE_COLORS[s].fill}">${STATE_LABELS[s]}</td></tr>`);
  if (withFiles) rows.push(`<tr><td>source file</td></tr>`);
  const table = `<table border="0" cellborder="1" cellspacing="0" cellpadding="4"><tr><td><b>legend</b></td></tr>${rows.join("")}</table>`;
  return `  ${quoteDot(name)} [shape=plaintext, style="", label=<${table}>];`;
}

/**
 * Renders the view as a Graphviz digraph: a node per target coloured by state (with a legend),
 * family instances inside `subgraph "cluster_<family>"`, edges dependency -> dependent, and with
 * `files: true` a note-shaped node per source file with edges file -> target. Dependencies
 * outside the view are drawn dashed. The same view always gives the same bytes.
 */
export function toDot(view: GraphView, options: DotOptions = {}): string {
  const g = orderGraph(view, options);
  const taken = new Set<string>([...view.targets.map((t) => t.id), ...g.external]);
  const legend = claimName("legend", taken);
  const fileNames = new Map(g.files.map((f) => [f, claimName(`file:${f}`, taken)]));

  const out: string[] = [
    "digraph pipe {",
    '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [color="#757575", arrowsize=0.7];',
  ];
  for (const t of g.plain) out.push(targetNode(t, "  "));
  for (const f of g.families) {
    out.push(`  subgraph ${quoteDot(`cluster_${f.name}`)} {`);
    out.push(`    graph [label=${quoteDot(f.name)}, style="rounded,dashed", color="#9e9e9e"];`);
    for (const t of f.instances) out.push(targetNode(t, "    "));
    out.push("  }");
  }
  for (const id of g.external) {
    out.push(`  ${quoteDot(id)} ${attrs([["label", id], ["style", "rounded,dashed"], ["color", "#9e9e9e"], ["tooltip", "not in this selection"]])};`);
  }
  for (const [path, name] of fileNames) {
    out.push(`  ${quoteDot(name)} ${attrs([["label", path], ["shape", "note"], ["style", "filled"], ["fillcolor", "#f5f5f5"], ["color", "#757575"]])};`);
  }
  for (const e of g.targetEdges) out.push(`  ${quoteDot(e.from)} -> ${quoteDot(e.to)};`);
  for (const e of g.fileEdges) out.push(`  ${quoteDot(fileNames.get(e.from)!)} -> ${quoteDot(e.to)} [style=dashed];`);
  out.push(legendNode(legend, options.files === true));
  out.push("}");
  return out.join("\n") + "\n";
}
