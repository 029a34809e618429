import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeMermaidLabel, toMermaid } from "../../src/export/mermaid.ts";
import type { GraphView } from "../../src/graph/view.ts";
import { NASTY_IDS, generatedView, nastyView, shuffled, smallView } from "./views.ts";

const LABEL = String.raw`"[^"]*"`;
const LINE_FORMS: Array<[string, RegExp]> = [
  ["classDef", /^ {2}classDef [A-Za-z]+ [^\s,]+(,[^,]+)*$/],
  ["node", new RegExp(`^\\s+(n\\d+)\\[${LABEL}\\]$`)],
  ["file node", new RegExp(`^\\s+(n\\d+)\\[/${LABEL}/\\]$`)],
  ["subgraph", new RegExp(`^ {2}subgraph (f\\d+|legend) \\[${LABEL}\\]$`)],
  ["end", /^ {2}end$/],
  ["edge", /^\s+n\d+ --> n\d+$/],
  ["class", /^ {2}class n\d+(,n\d+)* [A-Za-z]+$/],
];

/**
 * Structural check of a Mermaid flowchart as toMermaid writes it: a header, then only the
 * line forms above; every node declared once before use; subgraph/end balanced and not nested;
 * every class statement names declared nodes and a declared class.
 */
function checkMermaid(text: string): { nodes: Map<string, string>; edges: Array<[string, string]> } {
  const lines = text.split("\n");
  assert.equal(lines[0], "flowchart LR");
  assert.equal(lines.at(-1), "", "ends with a newline");
  const nodes = new Map<string, string>();
  const classes = new Set<string>();
  const edges: Array<[string, string]> = [];
  let depth = 0;
  for (const line of lines.slice(1, -1)) {
    const form = LINE_FORMS.find(([, re]) => re.test(line));
    assert.ok(form, `unexpected line: ${JSON.stringify(line)}`);
    const [name] = form;
    if (name === "classDef") classes.add(line.trim().split(" ")[1]);
    if (name === "node" || name === "file node") {
      const id = /n\d+/.exec(line)![0];
      assert.ok(!nodes.has(id), `${id} declared twice`);
      nodes.set(id, /"([^"]*)"/.exec(line)![1]);
    }
    if (name === "subgraph") {
      assert.equal(depth, 0, "subgraphs are not nested");
      depth++;
    }
    if (name === "end") {
      assert.equal(depth, 1, "end without subgraph");
      depth--;
    }
    if (name === "edge") {
      const [from, to] = line.trim().split(" --> ");
      assert.ok(nodes.has(from) && nodes.has(to), `edge ${line.trim()} uses an undeclared node`);
      edges.push([from, to]);
    }
    if (name === "class") {
      const [, list, cls] = line.trim().split(" ");
      assert.ok(classes.has(cls), `class ${cls} has no classDef`);
      for (const id of list.split(",")) assert.ok(nodes.has(id), `class names undeclared ${id}`);
    }
  }
  assert.equal(depth, 0, "subgraph/end balanced");
  return { nodes, edges };
}

test("escapeMermaidLabel leaves nothing the parser or the HTML renderer would interpret", () => {
  const cases: Array<[string, string]> = [
    ["trend[attribute=recovered]", "trend[attribute=recovered]"],
    ['say "hi"', "say #quot;hi#quot;"],
    ["#quot;", "#35;quot;"],
    ["<b>&", "#60;b#62;#38;"],
    ["`md`", "#96;md#96;"],
    ["a\nb", "a#10;b"],
    ["ünï ☃", "ünï ☃"],
  ];
  for (const [input, expected] of cases) assert.equal(escapeMermaidLabel(input), expected, JSON.stringify(input));
});

test("the small view renders as the expected flowchart", () => {
  const expected = [
    "flowchart LR",
    "  classDef upToDate fill:#c8e6c9,stroke:#2e7d32,color:#212121",
    "  classDef restorable fill:#bbdefb,stroke:#1565c0,color:#212121",
    "  classDef stale fill:#ffe0b2,stroke:#ef6c00,color:#212121",
    "  classDef failed fill:#ffcdd2,stroke:#c62828,color:#212121",
    "  classDef external fill:#ffffff,stroke:#9e9e9e,color:#616161,stroke-dasharray: 5 5",
    '  n0["clean"]',
    '  n1["features"]',
    '  n2["model"]',
    '  n3["report"]',
    '  subgraph f0 ["trend"]',
    '    n4["trend[attribute=confirmed]"]',
    '    n5["trend[attribute=recovered]"]',
    "  end",
    '  subgraph legend ["legend"]',
    '    n6["up to date"]',
    '    n7["restorable from cache"]',
    '    n8["stale"]',
    '    n9["failed"]',
    "  end",
    "  n0 --> n1",
    "  n0 --> n4",
    "  n0 --> n5",
    "  n1 --> n2",
    "  n2 --> n3",
    "  n4 --> n3",
    "  n5 --> n3",
    "  class n0,n6 upToDate",
    "  class n1,n2,n3,n8 stale",
    "  class n4,n7 restorable",
    "  class n5,n9 failed",
    "",
  ].join("\n");
  const text = toMermaid(smallView());
  assert.equal(text, expected);
  checkMermaid(text);
});

test("with files, each source file is one parallelogram with edges to its readers", () => {
  const { nodes, edges } = checkMermaid(toMermaid(smallView(), { files: true }));
  const raw = [...nodes].find(([, label]) => label === "data/raw.csv")![0];
  const idOf = (label: string) => [...nodes].find(([, l]) => l === label)![0];
  assert.deepEqual(edges.filter(([from]) => from === raw).map(([, to]) => nodes.get(to)), ["clean", "report"]);
  assert.ok(edges.some(([from, to]) => from === idOf("recipes/model.py") && to === idOf("model")));
  assert.match(toMermaid(smallView(), { files: true }), /^ {2}n\d+\[\/"data\/raw\.csv"\/\]$/m);
});

test("every edge of the view appears once, between the right labels", () => {
  for (const view of [smallView(), nastyView(), generatedView(1000)]) {
    const { nodes, edges } = checkMermaid(toMermaid(view, { files: true }));
    const got = edges.map(([a, b]) => `${nodes.get(a)} -> ${nodes.get(b)}`).sort();
    const want = view.targets
      .flatMap((t) => [...t.deps.map((d) => `${escapeMermaidLabel(d)} -> ${escapeMermaidLabel(t.id)}`), ...t.files.map((f) => `${escapeMermaidLabel(f)} -> ${escapeMermaidLabel(t.id)}`)])
      .sort();
    assert.deepEqual(got, [...new Set(want)]);
  }
});

test("ids that need escaping become quoted labels with entity codes", () => {
  const text = toMermaid(nastyView());
  const { nodes } = checkMermaid(text);
  const labels = new Set(nodes.values());
  for (const id of NASTY_IDS) assert.ok(labels.has(escapeMermaidLabel(id)), id);
  assert.match(text, /^ {2}subgraph f0 \["fam #quot;x#quot;\\"\]$/m);
  for (const label of labels) assert.doesNotMatch(label, /[<>`\n]/);
});

test("dependencies outside the view are declared as external nodes", () => {
  const view: GraphView = { defaults: [], targets: [{ id: "report", state: "stale", files: [], outputs: [], deps: ["model"] }] };
  const text = toMermaid(view);
  checkMermaid(text);
  assert.match(text, /^ {2}n1\["model"\]$/m);
  assert.match(text, /^ {2}class n1 external$/m);
  assert.match(text, /^ {2}n1 --> n0$/m);
});

test("output does not depend on the order of targets, deps or files", () => {
  for (const view of [smallView(), nastyView(), generatedView(200)]) {
    const expected = toMermaid(view, { files: true });
    for (const seed of [1, 2, 3]) assert.equal(toMermaid(shuffled(view, seed), { files: true }), expected);
  }
});
