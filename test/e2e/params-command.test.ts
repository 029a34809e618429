// `pipe params`: what a build reads, the value each param would get and from where. Read-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { Project } from "../helpers/rig.ts";

const PIPELINEFILE = `import { target, family, param, sh } from "pipefile";
export const n = param.int("n", { min: 1, max: 9, doc: "how many copies" });
export const colour = param.enum("colour", ["red", "green"], { default: "red" });
export const spare = param.boolean("spare", { default: false });
export const day = param.date("day", { default: "today" });
export const base = target({ params: { day }, outputs: ["build/base.txt"], run: ({ outputs, params }) => sh\`echo \${params.day} > \${outputs[0]}\` });
export const f = family({
  key: { k: param.enum(["a", "b"], { default: "a" }), colour },
  params: { n },
  inputs: [base],
  outputs: ["build/f-{k}-{colour}.txt"],
  run: ({ outputs, params }) => sh\`echo \${params.n} > \${outputs[0]}\`,
});
export const fb = f({ k: "b", colour: "green" });
export const plain = target({ outputs: ["build/plain.txt"], run: ({ outputs }) => sh\`echo hi > \${outputs[0]}\` });
`;

interface Row {
  name: string;
  type: string;
  value?: string;
  source: string;
  default?: unknown;
  usedBy: string[];
  declaredAt?: string;
  doc?: string;
  values?: string[];
  min?: unknown;
  max?: unknown;
}

test("pipe params lists every declared param: value and source, type, doc, users, declaration; a required one unset is not an error", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  const r = await p.run(["params"], { env: { PIPE_TODAY: "2026-03-04" } });
  assert.equal(r.code, 0, r.stderr);
  // n is required and unset: listed as such (a build would stop on it, listing params must not).
  assert.match(r.stdout, /^n = \(not set\)  \(required: set it with --param\)\n  how many copies\n  an integer, min 1, max 9\n  used by f\[colour=green,k=b\]\n  declared at Pipelinefile\.ts:2:/m);
  assert.match(r.stdout, /^day = 2026-03-04  \(default: today\)$/m);
  assert.match(r.stdout, /^  used by base$/m);
  assert.match(r.stdout, /^spare = false  \(default\)\n  true, false, yes, no, 1 or 0\n  used by no target: setting it changes nothing$/m);
  // colour is only a key here: it is listed among the family's keys, not as a param to set.
  assert.doesNotMatch(r.stdout, /^colour = /m);
  assert.match(r.stdout, /^  f\[k, colour\]  \(1 instance here\)\n    k: one of a, b; default a$/m);
  assert.match(r.stdout, /^    colour: one of red, green; default red$/m);
  const json = await p.run(["params", "--json", "-p", "n=3"], { env: { PIPE_TODAY: "2026-03-04" } });
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { params: Row[]; keys: { family: string; instances: number; keys: { name: string; param?: string; values?: string[]; default?: unknown }[] }[] };
  assert.deepEqual(doc.params.map((x) => x.name), ["day", "n", "spare"]);
  const n = doc.params.find((x) => x.name === "n")!;
  assert.deepEqual({ ...n, declaredAt: undefined }, { name: "n", type: "int", value: "3", source: "--param", usedBy: ["f[colour=green,k=b]"], min: 1, max: 9, doc: "how many copies", declaredAt: undefined });
  assert.match(n.declaredAt!, /^Pipelinefile\.ts:2:\d+$/);
  assert.deepEqual(doc.params.find((x) => x.name === "day")!.default, "today");
  assert.deepEqual(doc.keys, [{ family: "f", instances: 1, keys: [{ name: "k", type: "enum", values: ["a", "b"], default: "a" }, { name: "colour", type: "enum", values: ["red", "green"], default: "red" }] }]);
  // Read-only: no state folder.
  assert.equal(readdirSync(p.dir).includes(".pipe"), false);
});

test("pipe params <targets> lists only what building them reads, with values from a params file at their line", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE, "run.params": "# settings\nn=4\n" });
  const plain = await p.run(["params", "plain"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, "no params: none of these targets reads one\n");
  // The instance reads n, and day through its dependency base; spare is read by nothing here.
  const r = await p.run(["params", "f[colour=green,k=b]", "--params", "run.params", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { params: Row[] };
  assert.deepEqual(doc.params.map((x) => [x.name, x.value, x.source, x.usedBy]).filter((x) => x[0] !== "day"), [["n", "4", "run.params:2", ["f[colour=green,k=b]"]]]);
  assert.deepEqual(doc.params.find((x) => x.name === "day")!.usedBy, ["base"]);
  const text = await p.run(["params", "f[colour=green,k=b]", "--params", "run.params", "-p", "n=5"]);
  assert.match(text.stdout, /^n = 5  \(from --param\)$/m, "--param wins over the file");
  // A key that is also a param some target reads (the case study's window) is described once, as
  // the param; the family's line refers to it.
  p.write({ "Pipelinefile.ts": PIPELINEFILE + "export const g = target({ params: { colour }, outputs: ['build/g.txt'], run: ({ outputs, params }) => sh`echo ${params.colour} > ${outputs[0]}` });\n" });
  const both = await p.run(["params", "-p", "n=1"]);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, /^colour = red  \(default\)\n  one of red, green\n  used by g$/m);
  assert.doesNotMatch(both.stdout, /^    colour:/m);
  assert.match(both.stdout, /^  \(a key named like a param above takes the same values\)$/m);
  const bothJson = JSON.parse((await p.run(["params", "-p", "n=1", "--json"])).stdout) as { keys: { keys: { name: string; param?: string }[] }[] };
  assert.deepEqual(bothJson.keys[0].keys.map((k) => [k.name, k.param]), [["k", undefined], ["colour", "colour"]]);
});

test("pipe params: an unknown target, a bad value or a broken Pipelinefile is a user error (exit 2) naming it", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  const unknown = await p.run(["params", "plian"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown target "plian".*did you mean "plain"/s);
  const bad = await p.run(["params", "-p", "n=12"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad value for param "n": .*12/);
  const typo = await p.run(["params", "-p", "colur=red"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown param "colur"/);
  p.write({ "Pipelinefile.ts": PIPELINEFILE + "export const broken = target({ outputs: ['build/base.txt'], run: () => {} });\n" });
  const dup = await p.run(["params"]);
  assert.equal(dup.code, 2);
  // The other declaration's place is given like the location: relative, not /tmp/.../Pipelinefile.ts.
  assert.match(dup.stderr, /both declare output "build\/base\.txt"\n  at Pipelinefile\.ts:16:\d+\n  "base" is declared at Pipelinefile\.ts:6:\d+\n/);
  assert.doesNotMatch(dup.stderr, /node:internal|\.js:\d+/, "no stack trace");
});

test("pipe params without targets lists a param exported only as a family key with that family's keys, also when no instance of it is built", async () => {
  // Before: "no params: none of these targets reads one", and the keys section was empty.
  const p = new Project({
    "Pipelinefile.ts": `import { target, family, param, sh } from "pipefile";
export const window = param.int("window", { default: 7 });
export const f = family({ key: { k: param.enum(["a", "b"]), window }, outputs: ["build/f-{k}-{window}"], run: (c) => sh\`touch \${c.outputs[0]}\` });
export const m = target({ outputs: ["build/m"], run: (c) => sh\`touch \${c.outputs[0]}\` });
`,
  });
  const r = await p.run(["params"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    "no params to set with --param: the Pipelinefile declares only family keys (below)",
    "",
    "family keys: name an instance as family[key=value,...] (keys are not set with --param)",
    "  f[k, window]  (no instance here)",
    "    k: one of a, b",
    "    window: an integer; default 7",
    "",
  ].join("\n"));
  const json = JSON.parse((await p.run(["params", "--json"])).stdout) as { params: unknown[]; keys: { family: string; instances: number }[] };
  assert.deepEqual([json.params, json.keys.map((k) => [k.family, k.instances])], [[], [["f", 0]]]);
  // With targets named, only what building them reads.
  assert.equal((await p.run(["params", "m"])).stdout, "no params: none of these targets reads one\n");
});

test("a key param's doc is shown with the family's keys in pipe params and in a bad key's message", async () => {
  // Before: the doc of a key param was shown nowhere.
  const p = new Project({
    "Pipelinefile.ts": `import { family, param, sh } from "pipefile";
export const f = family({ key: { country: param.enum(["it", "fr"], { doc: "ISO country code" }) }, outputs: ["build/f-{country}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });
export default [f({ country: "it" })];
`,
  });
  const r = await p.run(["params"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n {2}f\[country\] {2}\(1 instance here\)\n {4}country: ISO country code\n {6}one of it, fr\n/);
  const json = JSON.parse((await p.run(["params", "--json"])).stdout) as { keys: { keys: { name: string; doc?: string }[] }[] };
  assert.deepEqual(json.keys[0].keys.map((k) => [k.name, k.doc]), [["country", "ISO country code"]]);
  const bad = await p.run(["build", "f[country=de]"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: bad key country for "f": "de" is not one of "it", "fr"\n {2}family "f" is declared at Pipelinefile\.ts:2:\d+\n {2}country: ISO country code\n/);
});
