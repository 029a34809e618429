// `pipe history`: the recorded runs, what changed between them, and where their outputs are.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Project } from "../helpers/rig.ts";

const PIPELINEFILE = `import { target, family, param, sh } from "pipefile";
const n = param.int("n", { default: 1 });
export const base = target({ inputs: ["data/in.txt"], params: { n }, outputs: ["build/base.txt"], run: ({ inputs, outputs, params }) => sh\`sh -c \${'cat "$1"; echo "$2"'} _ \${inputs[0]} \${String(params.n)} > \${outputs[0]}\` });
export const f = family({ key: { k: param.enum(["a", "b"]) }, inputs: [base], outputs: ["build/f-{k}.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
export default [f({ k: "a" }), f({ k: "b" })];
`;

interface Run {
  target: string;
  time: number;
  durationMs: number;
  fingerprint: string;
  params: Record<string, unknown>;
  outputs: { path: string; kind: string; hash: string }[];
  where: string;
  changes?: string[];
}

async function built(p: Project, args: string[]): Promise<void> {
  const r = await p.run(["build", "-q", ...args]);
  assert.equal(r.code, 0, r.stderr);
}

test("pipe history <target>: every run newest first, its params, what changed since the run before (as pipe why says it), and where its outputs are", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE, "data/in.txt": "hello\n" });
  await built(p, []); // n=1, hello
  await built(p, ["-p", "n=2"]); // n=2, hello
  p.write({ "data/in.txt": "bye\n" });
  await built(p, ["-p", "n=2"]); // n=2, bye
  await built(p, []); // n=1, bye
  const before = p.snapshot(".pipe");
  const json = await p.run(["history", "base", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const runs = (JSON.parse(json.stdout) as { runs: Run[] }).runs;
  assert.deepEqual(
    runs.map((r) => [r.params, r.where, r.changes]),
    [
      [{ n: 1 }, "on-disk", ["param n 2 -> 1"]],
      [{ n: 2 }, "cached", ["input data/in.txt changed"]],
      [{ n: 2 }, "cached", ["param n 1 -> 2"]],
      [{ n: 1 }, "cached", undefined],
    ],
  );
  assert.ok(runs.every((r, i) => i === 0 || r.time <= runs[i - 1].time), "newest first");
  assert.deepEqual(runs[0].outputs.map((o) => o.path), ["build/base.txt"]);
  assert.equal(new Set(runs.map((r) => r.fingerprint)).size, 4);

  const text = await p.run(["history", "base"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^base\n  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  took \d+ms  outputs on disk now\n    params: n=1\n    since the run before: param n 2 -> 1\n/);
  assert.match(text.stdout, /\n    params: n=1\n    the oldest recorded run\n$/);
  // -n limits the runs; the oldest shown still says what changed before it.
  const one = JSON.parse((await p.run(["history", "base", "-n", "1", "--json"])).stdout) as { runs: Run[] };
  assert.deepEqual(one.runs.map((r) => r.changes), [["param n 2 -> 1"]]);
  assert.deepEqual(p.snapshot(".pipe"), before, "history writes nothing under .pipe/");
  // Going back to n=2 with the same input restores what history said was in the cache.
  const back = await p.run(["build", "--json", "-p", "n=2"]);
  assert.deepEqual(back.events.filter((e) => e.type === "target-finished").map((e) => [e.target, e.status]).sort(), [["base", "restored"], ["f[k=a]", "restored"], ["f[k=b]", "restored"]]);
  const after = (JSON.parse((await p.run(["history", "base", "--json"])).stdout) as { runs: Run[] }).runs;
  assert.deepEqual(after.map((r) => r.where), ["cached", "on-disk", "cached", "cached"], "the restored run's outputs are the ones on disk now");
});

test("pipe history: a family name means every instance recorded, also one the Pipelinefile no longer declares, and it works while the Pipelinefile does not load", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE, "data/in.txt": "hello\n" });
  await built(p, []);
  p.write({ "Pipelinefile.ts": PIPELINEFILE.replace('export default [f({ k: "a" }), f({ k: "b" })];', 'export default [f({ k: "a" })];') });
  await built(p, []);
  p.write({ "Pipelinefile.ts": "export const broken = ;\n" });
  const before = p.snapshot(".pipe");
  const fam = await p.run(["history", "f", "--json"]);
  assert.equal(fam.code, 0, fam.stderr);
  assert.deepEqual([...new Set((JSON.parse(fam.stdout) as { runs: Run[] }).runs.map((r) => r.target))].sort(), ["f[k=a]", "f[k=b]"]);
  const all = await p.run(["history"]);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split("\n");
  assert.equal(lines.length, 4, all.stdout);
  for (const l of lines.slice(0, 3)) assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d+ms  (base|f\[k=a\]|f\[k=b\]) +on disk$/);
  assert.match(lines[3], /^\(3 newest runs of 3 targets; pipe history <target> shows/);
  assert.deepEqual(p.snapshot(".pipe"), before, "history writes nothing under .pipe/");
});

test("pipe history: outputs whose bytes left the cache are reported gone; mistakes are exit 2 with the fix", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE, "data/in.txt": "hello\n" });
  await built(p, []);
  await built(p, ["-p", "n=5"]);
  rmSync(p.path(".pipe/cache"), { recursive: true, force: true });
  const runs = (JSON.parse((await p.run(["history", "base", "--json"])).stdout) as { runs: Run[] }).runs;
  assert.deepEqual(runs.map((r) => [r.params.n, r.where]), [[5, "on-disk"], [1, "gone"]]);
  const typo = await p.run(["history", "bsae"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^error: no recorded run of "bsae"; did you mean "base"\?$/m);
  const two = await p.run(["history", "bsae", "nope"]);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /"bsae".*\n(.*\n)*error: no recorded run of "nope"/, "every problem at once");
  const bad = await p.run(["history", "-n", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-n needs a whole number of runs, at least 1; got "0"/);
  const fresh = new Project({ "Pipelinefile.ts": PIPELINEFILE, "data/in.txt": "x\n" });
  const none = await fresh.run(["history"]);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, "no recorded runs yet: `pipe build` records every successful run\n");
});

test("pipe history names params as -p takes them, not by the recipe's key for them", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";\nexport const t = target({ params: { s: param.number("scale", { default: 1 }) }, outputs: ["build/t.txt"], run: ({ outputs, params }) => sh\`echo \${String(params.s)} > \${outputs[0]}\` });\n`,
  });
  await built(p, []);
  await built(p, ["-p", "scale=2"]);
  const text = await p.run(["history", "t"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /params: scale=2\n    since the run before: param scale \(s in this target\) 1 -> 2\n/);
  const json = await p.run(["history", "t", "--json"]);
  const runs = (JSON.parse(json.stdout) as { runs: Run[] }).runs;
  assert.deepEqual(runs.map((r) => r.params), [{ scale: 2 }, { scale: 1 }]);
  p.remove();
});

test("pipe history -n counts runs in all, and params are listed on a target's first run shown and its oldest, three by name", async () => {
  // Before: `-n 1 f` showed one run of each of the 12 instances, and every run listed all 8
  // params (2.6 KB lines on the review's 500-instance family; 10 KB for a 200-param target).
  const knobs = Array.from({ length: 8 }, (_, k) => `const k${k} = param.int("knob_${k}", { default: ${k} });`).join("\n");
  const p = new Project({
    "Pipelinefile.ts":
      `import { family, param, sh } from "pipefile";\n${knobs}\n` +
      `export const f = family({ key: { i: param.int({ min: 0, max: 100 }) }, params: { knob_0: k0, knob_1: k1, knob_2: k2, knob_3: k3, knob_4: k4, knob_5: k5, knob_6: k6, knob_7: k7 }, outputs: ["build/f-{i}.txt"], run: ({ outputs, params }) => sh\`echo \${String(params.knob_0)} > \${outputs[0]}\` });\n` +
      `export default Array.from({ length: 12 }, (_, i) => f({ i }));\n`,
  });
  for (const v of ["0", "1", "2"]) await built(p, ["-p", `knob_0=${v}`]);
  const one = await p.run(["history", "f", "-n", "1"]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(
    one.stdout,
    /^f\[i=\d+\]\n {2}\S+ \S+ {2}took \d+ms {2}outputs on disk now\n {4}params: i=\d+ knob_0=2 knob_1=1 and 6 more \(--verbose lists them\)\n {4}since the run before: param knob_0 1 -> 2\n\n\(the newest 1 of 36 recorded runs of 12 targets; -n N shows more\)\n$/,
  );
  assert.equal((JSON.parse((await p.run(["history", "f", "-n", "1", "--json"])).stdout) as { runs: Run[] }).runs.length, 1);
  // Without -n: at most 20 in all. A run between the first shown and the oldest says only what changed.
  const runs = (JSON.parse((await p.run(["history", "f", "--json"])).stdout) as { runs: Run[] }).runs;
  assert.equal(runs.length, 20);
  const all = await p.run(["history", "f[i=3]"]);
  const lines = all.stdout.split("\n");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("    ")),
    [
      "    params: i=3 knob_0=2 knob_1=1 and 6 more (--verbose lists them)",
      "    since the run before: param knob_0 1 -> 2",
      "    since the run before: param knob_0 0 -> 1",
      "    params: i=3 knob_0=0 knob_1=1 and 6 more (--verbose lists them)",
      "    the oldest recorded run",
    ],
  );
  const verbose = await p.run(["history", "f[i=3]", "--verbose"]);
  assert.equal(verbose.stdout.split("\n").filter((l) => l.startsWith("    params: i=3 knob_0=1 knob_1=1 knob_2=2 knob_3=3 knob_4=4 knob_5=5 knob_6=6 knob_7=7")).length, 1, verbose.stdout);
});
