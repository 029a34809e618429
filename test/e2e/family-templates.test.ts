// A family's input given as a path that another family's output template makes is a dependency
// on that instance, made as if the Pipelinefile had named it (graph/templates.ts). Before, it
// was one only when the instance happened to be in the same run; otherwise the path was a plain
// source file, and a stale target was reported up to date.
import { test } from "node:test";
import assert from "node:assert/strict";
import { finished, Project } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\nconst country = param.enum(["it", "fr", "de"]);\n`;
const RAW =
  `export const raw = family({ key: { country }, inputs: ["data/{country}.csv"], outputs: ["build/raw/{country}.csv"],\n` +
  `  run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
const MODEL =
  `export const model = family({ key: { country }, inputs: { raw: "build/raw/{country}.csv" }, outputs: ["build/model/{country}.txt"],\n` +
  `  run: ({ inputs, outputs }) => sh\`cp \${inputs.raw} \${outputs[0]}\` });\n`;
const DATA = { "data/it.csv": "it\n", "data/fr.csv": "fr\n", "data/de.csv": "de\n" };

interface GraphJson {
  targets: { id: string; deps: string[] }[];
}

test("an input path another family's output template makes is that instance: planned, built, and rebuilt when its input changes", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + RAW + MODEL + `export default [model({ country: "it" }), raw({ country: "it" })];\n`, ...DATA });
  try {
    // Before: exit 2, "build/raw/de.csv ... is missing and no target produces it".
    const first = await p.run(["build", "model[country=de]", "--json"]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(finished(first.events, "built"), ["model[country=de]", "raw[country=de]"]);
    assert.equal(p.read("build/model/de.txt"), "de\n");

    const graph = await p.run(["graph", "--json", "model[country=de]"]);
    assert.equal(graph.code, 0, graph.stderr);
    const g = JSON.parse(graph.stdout) as GraphJson;
    assert.deepEqual(g.targets.find((t) => t.id === "model[country=de]")?.deps, ["raw[country=de]"]);

    // Before: "1 up to date", with build/model/de.txt stale.
    p.write({ "data/de.csv": "de-v2\n" });
    const status = await p.run(["status", "model[country=de]"]);
    assert.match(status.stdout, /stale\s+raw\[country=de\]/);
    const second = await p.run(["build", "model[country=de]", "--json"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(finished(second.events, "built"), ["model[country=de]", "raw[country=de]"]);
    assert.equal(p.read("build/model/de.txt"), "de-v2\n");

    // The no-op snapshot (and a partial build from it) knows the made instance too.
    const again = await p.run(["build", "model[country=de]", "--json"]);
    assert.deepEqual(finished(again.events, "built"), []);
    p.write({ "data/de.csv": "de-v3\n" });
    const third = await p.run(["build", "model[country=de]", "--json"]);
    assert.deepEqual(finished(third.events, "built"), ["model[country=de]", "raw[country=de]"]);
    assert.equal(p.read("build/model/de.txt"), "de-v3\n");
    const last = await p.run(["build", "model[country=de]", "--json"]);
    assert.deepEqual(finished(last.events, "built"), []);
  } finally {
    p.remove();
  }
});

test("a template-made instance is rebuilt in a partial build that trusts the rest of the graph", { timeout: 60_000 }, async () => {
  // Building both countries, then changing one: the snapshot vouches for the other one.
  const p = new Project({ "Pipelinefile.ts": HEAD + RAW + MODEL, ...DATA });
  try {
    const targets = ["model[country=de]", "model[country=it]"];
    const first = await p.run(["build", ...targets, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(finished(first.events, "built"), ["model[country=de]", "model[country=it]", "raw[country=de]", "raw[country=it]"]);
    await p.run(["build", ...targets]);
    p.write({ "data/de.csv": "de-v2\n" });
    const second = await p.run(["build", ...targets, "--json"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(finished(second.events, "built"), ["model[country=de]", "raw[country=de]"]);
    assert.equal(p.read("build/model/de.txt"), "de-v2\n");
    const third = await p.run(["build", ...targets, "--json"]);
    assert.deepEqual(finished(third.events, "built"), []);
  } finally {
    p.remove();
  }
});

test("a path two families' output templates make is an error naming both declarations and the path", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + RAW +
      `export const other = family({ key: { country }, outputs: ["build/raw/{country}.csv"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const other2 = family({ key: { c: param.string({ default: "x" }) }, outputs: ["elsewhere/{c}.csv"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      MODEL,
    ...DATA,
  });
  try {
    const r = await p.run(["build", "model[country=de]"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /error: "build\/raw\/de\.csv", needed by "model\[country=de\]", matches the output templates of 2 instances: .*\n  at Pipelinefile\.ts:7:\d+/);
    assert.match(r.stderr, /"raw\[country=de\]" \("build\/raw\/\{country\}\.csv"\)/);
    assert.match(r.stderr, /"other\[country=de\]" \("build\/raw\/\{country\}\.csv"\)/);
    assert.match(r.stderr, /family "raw" is declared at Pipelinefile\.ts:3:\d+/);
    assert.match(r.stderr, /family "other" is declared at Pipelinefile\.ts:5:\d+/);
    assert.match(r.stderr, /hint: declare the input as an instance/);
    assert.doesNotMatch(r.stderr, /is missing and no target produces it/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
    assert.equal(p.exists("build"), false, "nothing was built");
  } finally {
    p.remove();
  }
});

test("outputs given by a function are not matched: the input stays missing; a value the family would write differently is no match", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const raw = family({ key: { country }, inputs: ["data/{country}.csv"], outputs: ({ country }) => [\`build/raw/\${country}.csv\`],\n` +
      `  run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      MODEL +
      `export const step = family({ key: { k: param.int() }, outputs: ["build/step-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const padded = target({ inputs: ["build/step-007.txt"], outputs: ["build/padded.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const plain = target({ inputs: ["build/step-7.txt"], outputs: ["build/plain.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
    ...DATA,
  });
  try {
    const r = await p.run(["build", "model[country=de]"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /"build\/raw\/de\.csv", needed by "model\[country=de\]", is missing and no target produces it/);
    const padded = await p.run(["build", "padded"]);
    assert.equal(padded.code, 2, padded.stdout + padded.stderr);
    assert.match(padded.stderr, /"build\/step-007\.txt", needed by "padded", is missing and no target produces it/);
    // A plain target's input path is matched too.
    const plain = await p.run(["build", "plain", "--json"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(finished(plain.events, "built"), ["plain", "step[k=7]"]);
  } finally {
    p.remove();
  }
});

test("a family reading a source next to its own outputs (data/{name}.raw.csv -> data/{name}.csv) is not matched against its own template", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { family, param, sh } from "pipefile";\n` +
      `export const clean = family({ key: { name: param.string() }, inputs: ["data/{name}.raw.csv"], outputs: ["data/{name}.csv"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
    "data/de.raw.csv": "x\n",
  });
  try {
    const r = await p.run(["build", "clean[name=de]", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["clean[name=de]"]);
  } finally {
    p.remove();
  }
});

const LOOP =
  `import { family, param, sh } from "pipefile";\n` +
  `export const loop: any = family({ key: { k: param.int() }, inputs: ({ k }) => [loop({ k: k - 1 })], outputs: ["build/loop-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`;

test("a recursive family with no base case is an error naming the family, its line and the chain, not a crash after minutes", { timeout: 120_000 }, async () => {
  // Before: ~110 s, then V8 "JavaScript heap out of memory" with a native stack (exit 134).
  const p = new Project({ "Pipelinefile.ts": LOOP });
  try {
    const r = await p.run(["build", "loop[k=0]"], { env: { PIPE_MAX_INSTANCES: "2000" } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /error: family "loop" keeps making new instances: resolving inputs made more than 2,000 \(the limit, PIPE_MAX_INSTANCES\)\n  at Pipelinefile\.ts:2:\d+/);
    assert.match(r.stderr, /loop\[k=0\] -> loop\[k=-1\] -> loop\[k=-2\] -> … \(\d[\d,]* more\) … -> loop\[k=-1999\] -> loop\[k=-2000\] -> loop\[k=-2001\]/);
    assert.match(r.stderr, /hint: give the inputs function of "loop" a base case that names no further instance \(k > 0 \? \[loop\(\{ k: k - 1 \}\)\] : \[\]\); a Pipelinefile/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
    assert.doesNotMatch(r.stderr, /heap|FATAL/);
    assert.equal(p.exists("build"), false, "nothing was built");
  } finally {
    p.remove();
  }
});

test("a recursive family with no base case ends at the default bound too", { timeout: 120_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": LOOP });
  try {
    const r = await p.run(["status", "loop[k=0]"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /family "loop" keeps making new instances: resolving inputs made more than 100,000/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  } finally {
    p.remove();
  }
});

test("a recursive family with a base case (min: 0) still builds", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { family, param, sh } from "pipefile";\n` +
      `export const cum: any = family({ key: { k: param.int({ min: 0 }) }, inputs: ({ k }) => (k > 0 ? [cum({ k: k - 1 })] : []), outputs: ["build/cum-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build", "cum[k=20]", "--json"], { env: { PIPE_MAX_INSTANCES: "100" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(finished(r.events, "built").length, 21);
  } finally {
    p.remove();
  }
});
