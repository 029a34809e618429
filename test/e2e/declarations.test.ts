// What counts as declared: exported targets, families, and family instances (directly or in
// exported arrays and objects). Declared means listed, checked and built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { finished, Project } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;
const FAMILY =
  `export const ef = family({ key: { attribute: param.enum(["total_positive", "recovered"]) }, outputs: ["build/e-{attribute}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`;

test("exported family instances count as declared: listed, built by a bare build and by family name", async () => {
  // No default export: a bare build builds every target nothing depends on.
  const p = new Project({
    "Pipelinefile.ts": HEAD + FAMILY +
      `export const one = ef({ attribute: "total_positive" });\n` +
      `export const arr = [ef({ attribute: "recovered" })];\n` +
      `export const plain = target({ outputs: ["build/plain.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  const status = await p.run(["status"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /ef\[attribute=recovered\]/);
  assert.match(status.stdout, /ef\[attribute=total_positive\]/);
  assert.match(status.stdout, /3 targets/);
  const graph = await p.run(["graph"]);
  assert.equal(graph.code, 0, graph.stderr);
  assert.match(graph.stdout, /ef\[attribute=recovered\]/);
  const fam = await p.run(["build", "ef", "--json"]);
  assert.equal(fam.code, 0, fam.stderr);
  assert.deepEqual(finished(fam.events, "built").sort(), ["ef[attribute=recovered]", "ef[attribute=total_positive]"]);
  const bare = await p.run(["build", "--json"]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.deepEqual(finished(bare.events, "built"), ["plain"]);
  assert.ok(p.exists("build/e-recovered.txt") && p.exists("build/e-total_positive.txt") && p.exists("build/plain.txt"));
});

test("an exported family instance with a bad key value is a Pipelinefile error at its line", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + FAMILY +
      `export const good = ef({ attribute: "recovered" });\n` +
      `export const bad = ef({ attribute: "recoverd" });\n` +
      `export const byName = { worse: ef({ attribute: "totl" }) };\n`,
  });
  for (const cmd of [["status"], ["build"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, cmd.join(" ") + r.stdout + r.stderr);
    assert.match(r.stderr, /error: bad key attribute for "ef": "recoverd" is not one of "total_positive", "recovered"\n  at Pipelinefile\.ts:4:\d+/);
    assert.match(r.stderr, /error: bad key attribute for "ef": "totl" is not one of "total_positive", "recovered"\n  at Pipelinefile\.ts:5:\d+/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  }
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("two declarations with one name do not hide other problems: bad key values of both families are reported in the same run", async () => {
  // Before: only "two targets are named" was reported; the bad key values came after renaming.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = family({ name: "o:a", key: { k: param.enum(["x", "y"]) }, outputs: ["build/a-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const b = family({ name: "o:a", key: { k: param.enum(["x", "y"]) }, outputs: ["build/b-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export default [a({ k: "z" }), b({ k: "w" })];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: two families are named "o:a"\n  at Pipelinefile\.ts:3:\d+\n  the other one is at .*Pipelinefile\.ts:2:\d+\n  the messages below call it "o:a \(2\)"\n  hint: rename one of them \(in a loop: /);
  assert.match(r.stderr, /error: bad key k for "o:a": "z" is not one of "x", "y"\n  at Pipelinefile\.ts:4:\d+/);
  assert.match(r.stderr, /error: bad key k for "o:a \(2\)": "w" is not one of "x", "y"\n  at Pipelinefile\.ts:4:\d+/);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a placeholder in a path template must name a key of the family: a typo, a param, or a target's param are errors at the declaration", async () => {
  // Before: build/f-{kk} was built as a file of that name, and data/{k}.csv read nothing.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const w = param.int("w", { default: 1 });\n` +
      `export const f = family({ key: { k: param.enum(["a", "b"]) }, outputs: { o: "build/f-{kk}" }, run: (c) => sh\`touch \${c.outputs.o}\` });\n` +
      `export const g = family({ key: { k: param.enum(["a", "b"]) }, params: { w }, inputs: ["data/{k}-{w}.csv"], outputs: ["build/g-{k}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const t = target({ params: { w }, outputs: ["build/t-{w}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [f({ k: "a" }), g({ k: "b" }), t];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: output "build\/f-\{kk\}" of family "f" has a placeholder \{kk\}, which is not one of its keys; did you mean "k"\?\n  at Pipelinefile\.ts:3:\d+\n  hint: keys: k\n/);
  assert.match(r.stderr, /error: input "data\/\{k\}-\{w\}.csv" of family "g" has a placeholder \{w\}, which is a param, not a key: paths may name only keys\n  at Pipelinefile\.ts:4:\d+\n/);
  assert.match(r.stderr, /error: output "build\/t-\{w\}.txt" of target "t" has a placeholder \{w\}, but a target's paths are not templates\n  at Pipelinefile\.ts:5:\d+\n/);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a family's input paths may name its keys, as its outputs do", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const c = family({ key: { k: param.enum(["a", "b"]) }, inputs: { src: "data/{k}.csv" }, outputs: { o: "build/{k}.txt" }, run: (x) => sh\`cp \${x.inputs.src} \${x.outputs.o}\` });\n` +
      `export default [c({ k: "b" })];\n`,
    "data/b.csv": "bee\n",
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["c[k=b]"]);
  assert.equal(p.read("build/b.txt"), "bee\n");
  const missing = await p.run(["build", "c[k=a]"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error: "data\/a.csv", needed by "c\[k=a\]", is missing and no target produces it/);
});

test("an inputs or outputs function that reads a name it is not given is an error naming it and the declaration", async () => {
  // Before: the function got undefined, and the build failed on "data/undefined.txt" is missing.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const w = param.int("w", { default: 1 });\n` +
      `export const f = family({ key: { k: param.enum(["a", "b"]) }, params: { w }, inputs: (v: any) => [\`data/\${v.k}-\${v.window}.txt\`], outputs: (x: any) => [\`build/\${x.k}-\${x.w}.txt\`], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const t = target({ inputs: (v: any) => [\`data/\${v.attribute}.txt\`], outputs: ["build/t.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [f({ k: "a" }), f({ k: "b" }), t];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: the outputs function of family "f" reads "w", which is a param, not a key\n  at Pipelinefile\.ts:3:\d+\n  hint: an instance's outputs depend on its key only: make w a key \(key: \{ k, w \}\)\n/);
  assert.match(r.stderr, /error: the inputs function of family "f" reads param "window", which the family does not declare\n  at Pipelinefile\.ts:3:\d+\n  it is given keys: k; params: w\n  hint: add it to the family's params: \{ window \}\n/);
  assert.match(r.stderr, /error: the inputs function of target "t" reads param "attribute", which the target does not declare\n  at Pipelinefile\.ts:4:\d+\n  hint: add it to the target's params: \{ attribute \}\n/);
  assert.equal(r.stderr.match(/inputs function of family "f"/g)?.length, 1, "once per family, not per instance");
  assert.doesNotMatch(r.stderr, /undefined|declares no outputs/);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
});

test("two targets a loop named alike (a.csv and sub/a.csv both \"prep:a\") are said to come from one place, not each to be at the other's line", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const preps = ["d/a.csv", "d/sub/a.csv"].map((f) => target({ name: \`prep:\${f.split("/").pop()!.replace(".csv", "")}\`, inputs: [f], outputs: [\`out/\${f}\`], run: ({ inputs, outputs }) => sh\`cp \${inputs} \${outputs[0]}\` }));\n`,
    "d/a.csv": "",
    "d/sub/a.csv": "",
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: two targets are named "prep:a"\n  at Pipelinefile\.ts:2:\d+\n  both are declared here: the loop gave two of its items the same name\n/m);
    assert.doesNotMatch(r.stderr, /the other one is at/);
    const help = await p.run(["help", "bild"]);
    assert.equal(help.code, 2);
    assert.equal(help.stdout, "");
    assert.match(help.stderr, /^error: unknown command "bild"; did you mean "build"\?\n/);
  } finally {
    p.remove();
  }
});
