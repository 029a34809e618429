import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { quoteDot, toDot } from "../../src/export/dot.ts";
import type { GraphView } from "../../src/graph/view.ts";
import { NASTY_IDS, generatedView, nastyView, shuffled, smallView } from "./views.ts";

const hasDot = !spawnSync("dot", ["-V"], { stdio: "ignore" }).error;

/** Runs `dot -Tsvg` on the text; returns exit status, stdout and stderr. */
function renderSvg(dot: string): { status: number | null; svg: string; stderr: string } {
  const r = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, svg: r.stdout, stderr: r.stderr };
}

function countNodes(svg: string): number {
  return svg.match(/class="node"/g)?.length ?? 0;
}

test("quoteDot escapes quotes, backslashes and newlines", () => {
  const cases: Array<[string, string]> = [
    ["plain", '"plain"'],
    ["trend[attribute=recovered]", '"trend[attribute=recovered]"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["ends\\", '"ends\\\\"'],
    ['\\"', '"\\\\\\""'],
    ["a\nb", '"a\\nb"'],
  ];
  for (const [input, expected] of cases) assert.equal(quoteDot(input), expected, JSON.stringify(input));
});

test("the small view renders as the expected DOT", () => {
  // clean ─► features ─► model ─► report ◄─ trend[...] ◄─ clean
  const expected = [
    "digraph pipe {",
    '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [color="#757575", arrowsize=0.7];',
    '  "clean" [label="clean", fillcolor="#c8e6c9", color="#2e7d32", tooltip="up to date\\ndrop bad rows"];',
    '  "features" [label="features", fillcolor="#ffe0b2", color="#ef6c00", tooltip="stale: input data/raw.csv changed"];',
    '  "model" [label="model", fillcolor="#ffe0b2", color="#ef6c00", tooltip="stale: dependency \\"features\\" is stale"];',
    '  "report" [label="report", fillcolor="#ffe0b2", color="#ef6c00", tooltip="stale: dependency \\"model\\" is stale"];',
    '  subgraph "cluster_trend" {',
    '    graph [label="trend", style="rounded,dashed", color="#9e9e9e"];',
    '    "trend[attribute=confirmed]" [label="trend[attribute=confirmed]", fillcolor="#bbdefb", color="#1565c0", tooltip="restorable from cache: output in cache"];',
    '    "trend[attribute=recovered]" [label="trend[attribute=recovered]", fillcolor="#ffcdd2", color="#c62828", tooltip="failed: recipe exited with code 1"];',
    "  }",
    '  "clean" -> "features";',
    '  "clean" -> "trend[attribute=confirmed]";',
    '  "clean" -> "trend[attribute=recovered]";',
    '  "features" -> "model";',
    '  "model" -> "report";',
    '  "trend[attribute=confirmed]" -> "report";',
    '  "trend[attribute=recovered]" -> "report";',
    '  "legend" [shape=plaintext, style="", label=<<table border="0" cellborder="1" cellspacing="0" cellpadding="4"><tr><td><b>legend</b></td></tr><tr><td bgcolor="#c8e6c9">up to date</td></tr><tr><td bgcolor="#bbdefb">restorable from cache</td></tr><tr><td bgcolor="#ffe0b2">stale</td></tr><tr><td bgcolor="#ffcdd2">failed</td></tr></table>>];',
    "}",
    "",
  ].join("\n");
  assert.equal(toDot(smallView()), expected);
});

test("with files, each source file is one note node with edges to the targets reading it", () => {
  const dot = toDot(smallView(), { files: true });
  assert.match(dot, /^ {2}"file:data\/raw\.csv" \[label="data\/raw\.csv", shape="note", /m);
  assert.equal(dot.match(/"file:data\/raw\.csv" \[/g)?.length, 1);
  assert.match(dot, /^ {2}"file:data\/raw\.csv" -> "clean" \[style=dashed\];$/m);
  assert.match(dot, /^ {2}"file:data\/raw\.csv" -> "report" \[style=dashed\];$/m);
  assert.match(dot, /<td>source file<\/td>/);
  assert.doesNotMatch(toDot(smallView()), /file:/);
});

test("output does not depend on the order of targets, deps or files", () => {
  for (const view of [smallView(), nastyView(), generatedView(200)]) {
    const expected = toDot(view, { files: true });
    for (const seed of [1, 2, 3]) assert.equal(toDot(shuffled(view, seed), { files: true }), expected);
  }
});

test("invented node names never collide with target ids", () => {
  const view: GraphView = {
    defaults: [],
    targets: [
      { id: "legend", state: "up-to-date", files: ["data/raw.csv"], outputs: [], deps: [] },
      { id: "file:data/raw.csv", state: "stale", files: [], outputs: [], deps: ["legend"] },
    ],
  };
  const dot = toDot(view, { files: true });
  assert.match(dot, /^ {2}"legend~2" \[shape=plaintext/m);
  assert.match(dot, /^ {2}"file:data\/raw\.csv~2" \[label="data\/raw\.csv", shape="note"/m);
  assert.match(dot, /^ {2}"file:data\/raw\.csv~2" -> "legend" \[style=dashed\];$/m);
});

test("dependencies outside the view are drawn as dashed nodes", () => {
  const view: GraphView = { defaults: [], targets: [{ id: "report", state: "stale", files: [], outputs: [], deps: ["model"] }] };
  const dot = toDot(view);
  assert.match(dot, /^ {2}"model" \[label="model", style="rounded,dashed", color="#9e9e9e", tooltip="not in this selection"\];$/m);
  assert.match(dot, /^ {2}"model" -> "report";$/m);
});

test("dot renders the small view to SVG", { skip: hasDot ? false : "graphviz `dot` is not installed" }, () => {
  for (const files of [false, true]) {
    const r = renderSvg(toDot(smallView(), { files }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.svg, /<svg/);
    // 6 targets + legend (+ 5 distinct files): no two ids merged into one node.
    assert.equal(countNodes(r.svg), files ? 12 : 7);
  }
});

test("dot renders ids that need quoting, each as its own node with its id as label", { skip: hasDot ? false : "graphviz `dot` is not installed" }, () => {
  const r = renderSvg(toDot(nastyView()));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.svg, /<svg/);
  assert.equal(countNodes(r.svg), NASTY_IDS.length + 1);
  const texts = [...r.svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
  for (const id of NASTY_IDS) {
    for (const line of id.split("\n")) assert.ok(texts.includes(line), `label ${JSON.stringify(line)} missing from SVG`);
  }
});

test("dot renders a generated 1,000-target view to SVG", { skip: hasDot ? false : "graphviz `dot` is not installed", timeout: 120_000 }, () => {
  const r = renderSvg(toDot(generatedView(1000)));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.svg, /<svg/);
  assert.equal(countNodes(r.svg), 1001);
});
