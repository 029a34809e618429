// End-to-end behaviour of `pipe build`, `status`, `why`, `clean` on small projects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { finished, Project } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

// words <- data/*.txt ; report <- words (TS recipe, param window)
const BASIC = {
  "data/a.txt": "one two three\n",
  "data/b.txt": "four five\n",
  "Pipelinefile.ts":
    HEAD +
    `export const window = param.int("window", { default: 7, min: 1 });\n` +
    `export const words = target({ inputs: ["data/*.txt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} | wc -w > \${outputs[0]}\` });\n` +
    `export const report = target({\n  inputs: { w: words },\n  outputs: { out: "build/report.txt" },\n  params: { window },\n  run: async (ctx) => {\n    const fs = await import("node:fs");\n    const n = Number(fs.readFileSync(ctx.inputs.w[0], "utf8").trim());\n    fs.writeFileSync(ctx.outputs.out, \`words=\${n} window=\${ctx.params.window}\\n\`);\n  },\n});\n` +
    `export default [report];\n`,
};

test("a first build runs everything; an immediate second build runs nothing", async () => {
  const p = new Project(BASIC);
  const r1 = await p.run(["build", "--json"]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.deepEqual(finished(r1.events, "built"), ["report", "words"]);
  assert.equal(p.read("build/report.txt"), "words=5 window=7\n");
  const r2 = await p.run(["build", "--json"]);
  assert.equal(r2.code, 0);
  assert.deepEqual(finished(r2.events, "built"), []);
  assert.deepEqual(finished(r2.events, "up-to-date"), ["report", "words"]);
  const fin = r2.events.at(-1)!;
  assert.equal(fin.type, "build-finished");
});

test("params A -> B -> A: the third build runs no recipe and restores from the cache", async () => {
  // Each recipe counts its runs in runs.log itself: "no recipe ran" does not rest on pipe's events.
  const p = new Project({
    ...BASIC,
    "Pipelinefile.ts": BASIC["Pipelinefile.ts"]
      .replace("sh\`cat \${inputs} | wc -w > \${outputs[0]}\`", "sh\`cat \${inputs} | wc -w > \${outputs[0]}; echo words >> runs.log\`")
      .replace('const fs = await import("node:fs");', 'const fs = await import("node:fs");\n    fs.appendFileSync("runs.log", "report\\n");'),
  });
  const runs = () => (p.exists("runs.log") ? p.read("runs.log").split("\n").filter(Boolean) : []);
  const a1 = await p.run(["build", "--json"]);
  assert.equal(a1.code, 0, a1.stdout + a1.stderr);
  assert.deepEqual(runs(), ["words", "report"]);
  const b = await p.run(["build", "--json", "--param", "window=14"]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.deepEqual(finished(b.events, "built"), ["report"]);
  assert.deepEqual(runs(), ["words", "report", "report"]);
  assert.equal(p.read("build/report.txt"), "words=5 window=14\n");
  const a = await p.run(["build", "--json"]);
  assert.equal(a.code, 0, a.stdout + a.stderr);
  assert.deepEqual(runs(), ["words", "report", "report"], "no recipe ran (their own count)");
  assert.deepEqual(finished(a.events, "built"), [], "no recipe ran");
  assert.deepEqual(finished(a.events, "restored"), ["report"]);
  assert.equal(p.read("build/report.txt"), "words=5 window=7\n");
});

test("touch changes nothing; a same-size content change with the old mtime restored rebuilds", async () => {
  const p = new Project(BASIC);
  await p.run(["build"]);
  const future = new Date(Date.now() + 86_400_000);
  utimesSync(p.path("data/a.txt"), future, future);
  const t = await p.run(["build", "--json"]);
  assert.deepEqual(finished(t.events, "built"), []);
  const st = statSync(p.path("data/b.txt"));
  writeFileSync(p.path("data/b.txt"), "four fiv3\n"); // same size, same word count
  utimesSync(p.path("data/b.txt"), st.atime, st.mtime);
  const c = await p.run(["build", "--json"]);
  assert.deepEqual(finished(c.events, "built"), ["words"], "words reruns; report is cut off early (same count)");
  assert.deepEqual(finished(c.events, "up-to-date"), ["report"]);
});

test("a new file matching a glob input makes the target stale, and status/why say so", async () => {
  const p = new Project(BASIC);
  await p.run(["build"]);
  p.write({ "data/c.txt": "six\n" });
  const s = await p.run(["status"]);
  assert.match(s.stdout, /stale\s+words\s+input data\/c.txt added/);
  assert.match(s.stdout, /stale\s+report\s+dependency "words" will rebuild/);
  const w = await p.run(["why", "words"]);
  assert.match(w.stdout, /words is stale:\n  input data\/c.txt added/);
  const before = p.snapshot(".pipe");
  const ex = await p.run(["status", "--exit-code"]);
  assert.equal(ex.code, 1);
  assert.deepEqual(p.snapshot(".pipe"), before, "status writes nothing under .pipe/");
  const b = await p.run(["build", "--json"]);
  assert.deepEqual(finished(b.events, "built"), ["report", "words"]);
  assert.equal((await p.run(["status", "--exit-code"])).code, 0);
});

test("why names the param value change, the edited recipe module and the env change", async () => {
  const p = new Project({
    "data/in.txt": "x\n",
    "recipes/fmt.ts": `import type { RecipeContext } from "pipefile";\nimport { writeFileSync, readFileSync } from "node:fs";\nexport async function fmt(ctx: RecipeContext) {\n  writeFileSync(ctx.outputs[0], readFileSync(ctx.inputs[0], "utf8") + ctx.params.window + (ctx.env.MODE ?? ""));\n}\n`,
    "Pipelinefile.ts": HEAD + `import { fmt } from "./recipes/fmt.ts";\nconst window = param.int("window", { default: 7 });\nexport const f = target({ inputs: ["data/in.txt"], outputs: ["build/f.txt"], params: { window }, env: ["MODE"], run: fmt });\n`,
  });
  assert.equal((await p.run(["build", "f"])).code, 0);
  p.write({ "recipes/fmt.ts": p.read("recipes/fmt.ts").replace('+ ctx.params.window', '+ "!" + ctx.params.window') });
  const w = await p.run(["why", "f", "--param", "window=14"], { env: { MODE: "fast" } });
  assert.match(w.stdout, /f is stale:/);
  assert.match(w.stdout, /recipe code .*recipes\/fmt.ts.* changed/);
  assert.match(w.stdout, /param window 7 -> 14/);
  assert.match(w.stdout, /env MODE was unset, now set/);
  const back = await p.run(["why", "f"]);
  assert.doesNotMatch(back.stdout, /env MODE/, "unset as in the record");
  assert.equal((await p.run(["build", "f"], { env: { MODE: "fast" } })).code, 0);
  assert.match((await p.run(["why", "f"])).stdout, /env MODE was set, now unset/);
  assert.match((await p.run(["why", "f"], { env: { MODE: "slow" } })).stdout, /env MODE changed/);
});

test("an output edited by hand is restored, and the edited bytes are kept in the cache", async () => {
  const p = new Project(BASIC);
  await p.run(["build"]);
  p.write({ "build/words.txt": "999\n" });
  const s = await p.run(["status"]);
  assert.match(s.stdout, /restorable\s+words\s+output build\/words.txt differs from the recorded build \(edited outside pipe\?\)/);
  const b = await p.run(["build", "--json"]);
  assert.deepEqual(finished(b.events, "built"), []);
  assert.deepEqual(finished(b.events, "restored"), ["words"]);
  assert.equal(p.read("build/words.txt").trim(), "5");
  const warn = b.events.find((e) => e.type === "warning");
  assert.ok(warn && warn.type === "warning");
  const m = /to get them back: cp (\S+) build\/words.txt/.exec(warn.message);
  assert.ok(m, warn.message);
  assert.equal(p.read(m[1]), "999\n");
});

test("an output edited by hand whose target reruns (an input changed too): the edited bytes are kept, and the printed command gives them back", async () => {
  // Catches publish() replacing an output without keepEdited (a restore keeps them; a run must too).
  const p = new Project(BASIC);
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "build/words.txt": "999 edited by hand\n", "data/a.txt": "one two three four\n" });
  const mode = statSync(p.path("build/words.txt")).mode & 0o777;
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.deepEqual(finished(b.events, "built"), ["report", "words"]);
  assert.equal(p.read("build/words.txt").trim(), "6");
  const warnings = b.events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
  // The event names its target, as other per-target warnings do (reporters group by it).
  assert.deepEqual(b.events.flatMap((e) => (e.type === "warning" && /kept those bytes/.test(e.message) ? [e.target] : [])), ["words"]);
  const m = warnings.map((w) => /^output build\/words\.txt of "words" was changed outside pipe; pipe kept those bytes before replacing them \(to get them back: (.+)\)$/.exec(w)).find(Boolean);
  assert.ok(m, JSON.stringify(warnings));
  // The command is pasteable: run it as a user would, in the project folder.
  const back = spawnSync("/bin/sh", ["-c", m[1]], { cwd: p.dir, encoding: "utf8" });
  assert.equal(back.status, 0, back.stderr);
  assert.equal(p.read("build/words.txt"), "999 edited by hand\n");
  assert.equal(statSync(p.path("build/words.txt")).mode & 0o777, mode, "with the edited file's mode");
});

test("a deleted output is restored without running; clean removes outputs and build restores them", async () => {
  const p = new Project(BASIC);
  await p.run(["build"]);
  const c = await p.run(["clean"]);
  assert.equal(c.code, 0);
  assert.equal(p.exists("build/words.txt"), false);
  assert.equal(p.exists("build/report.txt"), false);
  const b = await p.run(["build", "--json"]);
  assert.deepEqual(finished(b.events, "built"), []);
  assert.deepEqual(finished(b.events, "restored"), ["report", "words"]);
});

test("clean -p: the outputs of the instance a param picks; without it, those of the default value", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const region = param.enum(["north", "south"], { default: "north" });\n` +
      `export const part = family({ key: { region }, outputs: ({ region }) => [\`build/\${region}.txt\`], run: (c) => sh\`echo \${c.params.region} > \${c.outputs[0]}\` });\n` +
      `export const report = target({ params: { region }, inputs: ({ region }) => [part({ region })], outputs: ["build/report.txt"], run: (c) => sh\`cat \${c.inputs} > \${c.outputs[0]}\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal((await p.run(["build", "-p", "region=south"])).code, 0);
  assert.ok(p.exists("build/north.txt") && p.exists("build/south.txt"));
  const plain = await p.run(["clean"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(p.exists("build/north.txt"), false);
  assert.equal(p.exists("build/south.txt"), true, "another value's output stays without -p");
  const picked = await p.run(["clean", "-p", "region=south"]);
  assert.equal(picked.code, 0, picked.stderr);
  assert.equal(p.exists("build/south.txt"), false);
  const bad = await p.run(["clean", "-p", "region=east"]);
  assert.equal(bad.code, 2);
});

test("clean <target> removes that target's outputs only; --deps removes its dependencies' too", async () => {
  // Catches clean taking the dependency closure without --deps.
  const p = new Project(BASIC);
  assert.equal((await p.run(["build"])).code, 0);
  const c = await p.run(["clean", "report"]);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.equal(p.exists("build/report.txt"), false);
  assert.equal(p.read("build/words.txt").trim(), "5", "the dependency's output stays");
  assert.match(c.stdout, /^1 output removed/m);
  const d = await p.run(["clean", "report", "--deps"]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.equal(p.exists("build/words.txt"), false, "--deps: the dependency's output goes too");
  assert.match(d.stdout, /^removed build\/words\.txt$/m);
  const b = await p.run(["build", "--json"]);
  assert.deepEqual(finished(b.events, "restored"), ["report", "words"]);
});

test("status marks a target whose last build failed \"(failed last time)\" until it builds", async () => {
  const p = new Project({
    "data/in.txt": "bad\n",
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ inputs: ["data/in.txt"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`grep -q good \${inputs[0]} && cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const other = target({ outputs: ["build/other.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [t, other];\n`,
  });
  const r = await p.run(["build", "-k"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const s = await p.run(["status"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^stale\s+t \(failed last time\)/m);
  assert.match(s.stdout, /^up to date\s+other$/m, "a target that built is not marked");
  const why = await p.run(["why", "t"]);
  assert.match(why.stdout, /^last successful run: never\nthe last build that ran it failed \(log: \.pipe\/logs\/t-[0-9a-f]{6}\.log\)$/m, why.stdout);
  const history = await p.run(["history", "t"]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /^no successful run of "t" is recorded: its last build failed \(log: \.pipe\/logs\/t-[0-9a-f]{6}\.log\)$/m);
  p.write({ "data/in.txt": "good\n" });
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "data/in.txt": "good again\n" });
  const after = await p.run(["status"]);
  assert.match(after.stdout, /^stale\s+t\s+input data\/in\.txt changed/m);
  assert.doesNotMatch(after.stdout, /failed last time/, "it built since");
});

test("a failed target skips only its dependents; -k goes on with other branches; exit 1", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const bad = target({ outputs: ["build/bad"], run: () => sh\`sh -c 'echo half > build/bad; echo oops >&2; exit 3'\` });\n` +
      `export const after = target({ inputs: [bad], outputs: ["build/after"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const other = target({ outputs: ["build/other"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [after, other];\n`,
  });
  const r = await p.run(["build", "-k", "--json", "-j", "1"]);
  assert.equal(r.code, 1);
  assert.deepEqual(finished(r.events, "failed"), ["bad"]);
  assert.deepEqual(finished(r.events, "skipped"), ["after"]);
  assert.deepEqual(finished(r.events, "built"), ["other"]);
  const fail = r.events.find((e) => e.type === "target-finished" && e.status === "failed");
  assert.ok(fail && fail.type === "target-finished");
  assert.match(fail.reason, /exited with code 3/);
  assert.ok(fail.logTail?.includes("oops"), "the failure shows the last log lines");
  assert.match(p.read(fail.logPath!), /oops/);
  assert.equal(p.exists("build/bad"), false, "a partial output written in place by a misbehaving recipe is removed");
  assert.match(p.read(fail.logPath!), /removed partial output build\/bad, written directly by the recipe/);
  const again = await p.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "failed"), ["bad"], "the failed target runs again");
});

test("a recipe that reads an undeclared param fails naming it; an unused declared param is a warning", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const window = param.int("window", { default: 7 });\nconst days = param.int("days", { default: 3 });\n` +
      `export const greedy = target({ outputs: ["build/g"], params: { window }, run: async (ctx) => { void (ctx.params as Record<string, unknown>).days; } });\n` +
      `export const lazy = target({ outputs: ["build/l"], params: { window, days }, run: async (ctx) => { const fs = await import("node:fs"); fs.writeFileSync(ctx.outputs[0], String(ctx.params.window)); } });\n` +
      `export default [greedy, lazy];\n`,
  });
  const r = await p.run(["build", "-k", "--json"]);
  const g = r.events.find((e) => e.type === "target-finished" && e.target === "greedy");
  assert.ok(g && g.type === "target-finished");
  assert.equal(g.status, "failed");
  assert.match(g.reason, /read param "days", which the target does not declare; add it to the target's params: \{ days \}/);
  const w = r.events.find((e) => e.type === "warning" && e.target === "lazy");
  assert.ok(w && w.type === "warning");
  assert.equal(w.message, `did not read param "days" in this run (days=3, window=7); if no run needs it, remove it from params (a declared param is in the fingerprint: changing it reruns the recipe)`);
});

test("an unread param is named as -p takes it, with its key in ctx.params when that differs", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const scale = param.int("scale", { default: 2 });\nconst day = param.string("day", { default: "mon" });\n` +
      `export const t = target({ outputs: ["build/t"], params: { s: scale, day }, run: (c) => sh\`echo \${c.params.day} > \${c.outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const warnings = r.events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
    assert.deepEqual(warnings, [`did not read param "scale" (s in this target) in this run (day=mon, scale=2); if no run needs it, remove it from params (a declared param is in the fingerprint: changing it reruns the recipe)`]);
  } finally {
    p.remove();
  }
});

test("a param the recipe reads only in some runs: the warning says it was not read in this run, with the run's values, and not that it is never read", async () => {
  // Before: '"t" declares param "beta" but its recipe never reads it; remove it from params',
  // and removing it breaks the runs with alpha > 1.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const alpha = param.int("alpha", { default: 1 });\nconst beta = param.string("beta", { default: "b" });\n` +
      `export const t = target({ outputs: ["build/t"], params: { alpha, beta }, run: (c) => (c.params.alpha > 1 ? sh\`echo \${c.params.beta} > \${c.outputs[0]}\` : sh\`touch \${c.outputs[0]}\`) });\n`,
  });
  const once = await p.run(["build", "--json"]);
  assert.equal(once.code, 0, once.stdout + once.stderr);
  const warnings = once.events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
  assert.deepEqual(warnings, [`did not read param "beta" in this run (alpha=1, beta=b); if no run needs it, remove it from params (a declared param is in the fingerprint: changing it reruns the recipe)`]);
  assert.doesNotMatch(once.stdout + once.stderr, /never reads/);
  const other = await p.run(["build", "--json", "-p", "alpha=2"]);
  assert.equal(other.code, 0, other.stdout + other.stderr);
  assert.deepEqual(other.events.filter((e) => e.type === "warning"), [], "a run that reads it: no warning");
  assert.equal(p.read("build/t"), "b\n");
});

test("a param read only by an inputs function counts as used: no \"never reads\" warning, for a target or a family", async () => {
  // Catches the unused-param warning ignoring paramsReadByInputs. "lazy" (reads it nowhere)
  // shows the warning is live in the same build.
  const p = new Project({
    "data/1.txt": "one\n",
    "data/2.txt": "two\n",
    "Pipelinefile.ts":
      HEAD +
      `const n = param.int("n", { default: 1 });\n` +
      `export const pick = target({ params: { n }, inputs: ({ n }) => [\`data/\${n}.txt\`], outputs: ["build/pick.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      `export const fam = family({ key: { tag: param.enum(["x", "y"]) }, params: { n }, inputs: ({ n }) => [\`data/\${n}.txt\`], outputs: ["build/fam-{tag}.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      `export const lazy = target({ params: { n }, inputs: ["data/1.txt"], outputs: ["build/lazy.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      `export default [pick, fam({ tag: "x" }), lazy];\n`,
  });
  for (const [value, text] of [["1", "one\n"], ["2", "two\n"]]) {
    const r = await p.run(["build", "--json", "--param", `n=${value}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["fam[tag=x]", "lazy", "pick"]);
    assert.equal(p.read("build/pick.txt"), text);
    assert.equal(p.read("build/fam-x.txt"), text);
    const warnings = r.events.filter((e) => e.type === "warning").map((e) => (e.type === "warning" ? `${e.target}: ${e.message}` : ""));
    assert.deepEqual(warnings, [`lazy: did not read param "n" in this run (n=${value}); if no run needs it, remove it from params (a declared param is in the fingerprint: changing it reruns the recipe)`]);
  }
});

test("outputs of a failed run never replace the previous good output", async () => {
  const p = new Project({
    "data/in.txt": "good\n",
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["data/in.txt"], outputs: ["build/out.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]} && grep -q good \${inputs[0]}\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "data/in.txt": "bad\n" });
  assert.equal((await p.run(["build"])).code, 1);
  assert.equal(p.read("build/out.txt"), "good\n");
  assert.deepEqual(readdirSync(p.path("build")), ["out.txt"], "no staged output left next to the output");
});

test("a replaced output is renamed into place; after the build it has one link and nothing is left aside", async () => {
  const p = new Project({
    "data/in.txt": "first\n",
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["data/in.txt"], outputs: ["build/out.txt", "build/two.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]} && cp \${inputs[0]} \${outputs[1]}\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  const before = statSync(p.path("build/out.txt"));
  p.write({ "data/in.txt": "second\n" });
  assert.equal((await p.run(["build"])).code, 0);
  for (const f of ["build/out.txt", "build/two.txt"]) {
    assert.equal(p.read(f), "second\n");
    assert.equal(statSync(p.path(f)).nlink, 1, `${f}: the old file's second link is gone`);
  }
  assert.notEqual(statSync(p.path("build/out.txt")).ino, before.ino, "replaced by a rename, not written in place");
  assert.deepEqual(p.exists(".pipe/staging") ? readdirSync(p.path(".pipe/staging")) : [], []);
  assert.deepEqual(readdirSync(p.path("build")).sort(), ["out.txt", "two.txt"]);
});

test("shell values are quoted: a param cannot inject commands", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const name = param.string("name", { default: "x" });\n` +
      `export const t = target({ outputs: ["build/argv.json"], params: { name }, run: (c) => sh\`node -e \${"process.stdout.write(JSON.stringify(process.argv.slice(1)))"} -- \${c.params.name} \${"-rf"} > \${c.outputs[0]}\` });\n`,
  });
  for (const evil of ["x; touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a\nb", "--output=../../x"]) {
    const r = await p.run(["build", "--param", `name=${evil}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(p.read("build/argv.json")), [evil, "-rf"]);
    assert.equal(p.exists("PWNED"), false);
  }
});

test("directory outputs are swapped in whole: no stray files from an earlier run survive", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `const n = param.int("n", { default: 3 });\n` +
      `export const d = target({ outputs: ["build/parts/"], params: { n }, run: (c) => sh\`mkdir -p \${c.outputs[0]} && cd \${c.outputs[0]} && seq 1 \${c.params.n} | xargs touch\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  assert.deepEqual(readdirSync(p.path("build/parts")).sort(), ["1", "2", "3"]);
  assert.equal((await p.run(["build", "--param", "n=2"])).code, 0);
  assert.deepEqual(readdirSync(p.path("build/parts")).sort(), ["1", "2"]);
  const back = await p.run(["build", "--json"]);
  assert.deepEqual(finished(back.events, "restored"), ["d"]);
  assert.deepEqual(readdirSync(p.path("build/parts")).sort(), ["1", "2", "3"]);
});

test(".pipe/ ignores itself for git and is private", async () => {
  const p = new Project(BASIC);
  await p.run(["build"]);
  assert.match(p.read(".pipe/.gitignore"), /^\*$/m);
  assert.equal(statSync(p.path(".pipe")).mode & 0o777, 0o700);
});

test("--dry-run says what would run and writes nothing", async () => {
  const p = new Project(BASIC);
  const r = await p.run(["build", "--dry-run", "--json"]);
  assert.equal(r.code, 0);
  const start = r.events.find((e) => e.type === "build-started");
  assert.ok(start && start.type === "build-started");
  assert.deepEqual(start.plan.map((x) => [x.target, x.action]), [["words", "run"], ["report", "run"]]);
  assert.equal(p.exists(".pipe"), false);
  assert.equal(p.exists("build"), false);
});

test("a recipe that writes its final output path directly (not ctx.outputs) fails, naming the path", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const sloppy = target({ outputs: ["build/s.txt"], run: (c) => sh\`sh -c \${"mkdir -p build && echo x > build/s.txt && echo x > \\"$0\\""} \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 1);
  const fail = r.events.find((e) => e.type === "target-finished");
  assert.ok(fail && fail.type === "target-finished");
  assert.match(fail.reason, /recipe wrote build\/s.txt directly; write to ctx.outputs instead \(temp paths that pipe moves into place on success\); if the recipe never writes there, something else changed it while it ran: build again/);
  assert.equal(p.exists("build/s.txt"), false);
  // With an earlier good output: put back, and the recipe's bytes (kept) are said to be its own.
  p.write({ "Pipelinefile.ts": HEAD + `export const sloppy = target({ outputs: ["build/s.txt"], run: (c) => sh\`echo good > \${c.outputs[0]}\` });\n` });
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "Pipelinefile.ts": HEAD + `export const sloppy = target({ outputs: ["build/s.txt"], run: (c) => sh\`sh -c \${"echo x > build/s.txt && echo x > \\"$0\\""} \${c.outputs[0]}\` });\n` });
  const again = await p.run(["build"]);
  assert.equal(again.code, 1);
  assert.equal(p.read("build/s.txt"), "good\n");
  assert.match(again.stdout, /output build\/s\.txt of "sloppy" was written directly by its recipe \(not to ctx\.outputs\); pipe kept those bytes/);
  assert.doesNotMatch(again.stdout, /changed outside pipe/);
});

test("a failed recipe that wrote its final path directly: the bytes that were there come back, not the newest record's (A -> B -> A, then the sloppy run)", async () => {
  const pf = (sloppy: boolean) =>
    HEAD +
    `const m = param.string("m", { default: "A" });\n` +
    `export const a = target({ params: { m }, outputs: ["out/a.txt"], run: (c) => sh\`sh -c \${${JSON.stringify(sloppy ? 'echo "$1" > "$0"; echo partial > out/a.txt; exit 1' : 'echo "$1" > "$0"')}} \${c.outputs[0]} \${c.params.m}\` });\n`;
  const p = new Project({ "Pipelinefile.ts": pf(false) });
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal((await p.run(["build", "-p", "m=B"])).code, 0);
  const back = await p.run(["build", "--json"]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(finished(back.events, "restored"), ["a"]);
  assert.equal(p.read("out/a.txt"), "A\n");
  p.write({ "Pipelinefile.ts": pf(true) });
  const r = await p.run(["build"]);
  assert.equal(r.code, 1);
  assert.equal(p.read("out/a.txt"), "A\n", "what was there before the failed run, not B (the newest record)");
  // The recipe fixed: its code changed, it runs, and A is what it makes.
  p.write({ "Pipelinefile.ts": pf(false) });
  const s = await p.run(["build", "--json"]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(p.read("out/a.txt"), "A\n");
});

test("a failed recipe that wrote its folder output directly: the folder that was there comes back from the cache", async () => {
  const p = new Project({
    "in/a.txt": "hello\n",
    "Pipelinefile.ts": HEAD + `export const a = target({ inputs: ["in/a.txt"], outputs: ["out/d/"], run: (c) => sh\`sh -c \${'if grep -q bad "$1"; then rm -rf out/d; mkdir out/d; echo junk > out/d/x; exit 1; fi; mkdir "$0"; cp "$1" "$0"/x'} \${c.outputs[0]} \${c.inputs[0]}\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal(p.read("out/d/x"), "hello\n");
  p.write({ "in/a.txt": "bad\n" });
  const r = await p.run(["build"]);
  assert.equal(r.code, 1);
  assert.equal(p.read("out/d/x"), "hello\n", "the folder as it was before the failed run");
  assert.doesNotMatch(p.read(".pipe/logs/" + readdirSync(p.path(".pipe/logs")).find((f) => f.startsWith("a-"))!), /cannot put back/);
});

test("recipe code precision: a helper in the Pipelinefile counts for the recipe that uses it, and for no other", async () => {
  const pf = (helperBody: string, extra = "") =>
    HEAD +
    `function stamp(x: string) {\n  return ${helperBody};\n}\n` +
    `export const a = target({ outputs: ["build/a"], run: (c) => sh\`echo \${stamp("a")} > \${c.outputs[0]}\` });\n` +
    `export const b = target({ outputs: ["build/b"], run: (c) => sh\`echo b > \${c.outputs[0]}\` });\n` +
    extra +
    `export default [a, b];\n`;
  const p = new Project({ "Pipelinefile.ts": pf(`x + "1"`) });
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), ["a", "b"]);
  p.write({ "Pipelinefile.ts": pf(`x + "2"`) });
  const w = await p.run(["why", "a"]);
  assert.match(w.stdout, /recipe code Pipelinefile.ts changed/);
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), ["a"], "only the target whose helper changed");
  p.write({ "Pipelinefile.ts": "// a comment\n" + pf(`x   +   "2" /* formatting only */`) });
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), [], "comments and formatting never count");
  p.write({ "Pipelinefile.ts": pf(`x + "2"`, `export const c = target({ outputs: ["build/c"], run: (c) => sh\`echo c > \${c.outputs[0]}\` });\n`) });
  const add = await p.run(["build", "--json", "a", "b", "c"]);
  assert.deepEqual(finished(add.events, "built"), ["c"], "adding a target makes nothing else stale");
});

test("values of declared secret env vars are masked in logs and events, and changing them reruns the target", async () => {
  const secret = `s3cr3t-${process.pid}-${Date.now()}`;
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const t = target({ outputs: ["build/t"], env: ["API_TOKEN"], run: (c) => sh\`sh -c \${"echo token=$API_TOKEN; echo token=$API_TOKEN >&2; touch \\"$0\\""} \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--json", "--verbose"], { env: { API_TOKEN: secret } });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(secret));
  assert.match(r.stdout, /token=\*\*\*/);
  const grep = spawnSync("grep", ["-r", secret, p.path(".pipe")]);
  assert.equal(grep.status, 1, "the secret appears nowhere under .pipe/");
  const again = await p.run(["build", "--json"], { env: { API_TOKEN: secret + "-rotated" } });
  assert.deepEqual(finished(again.events, "built"), ["t"], "a rotated secret reruns the target");
  // A failure message that quotes the recipe (its returned text) is masked too.
  p.write({ "Pipelinefile.ts": HEAD + "export const t = target({ outputs: [\"build/t\"], env: [\"API_TOKEN\"], run: (c) => `curl -H 'X-Token: ${c.env.API_TOKEN}' > ${c.outputs[0]}` as unknown as void });\n" });
  const quoted = await p.run(["build", "--json"], { env: { API_TOKEN: secret } });
  assert.equal(quoted.code, 1);
  assert.match(quoted.stdout, /it returned the text/);
  assert.doesNotMatch(quoted.stdout + quoted.stderr, new RegExp(secret));
  assert.equal(spawnSync("grep", ["-r", secret, p.path(".pipe")]).status, 1, "nor in the log");
});

test("without -k, a recipe that exits 0 but leaves out an output stops the build: independent targets after it do not start", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ outputs: ["build/a"], run: () => sh\`true\` });\n` +
      `export const b = target({ outputs: ["build/b"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [a, b];\n`,
  });
  const r = await p.run(["build", "-j", "1", "--json"]);
  assert.equal(r.code, 1);
  assert.deepEqual(finished(r.events, "failed"), ["a"]);
  assert.deepEqual(finished(r.events, "built"), []);
  assert.deepEqual(finished(r.events, "skipped"), ["b"]);
});

test("recipes see only declared env vars plus the allowlist (shell and TypeScript)", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const sh1 = target({ outputs: ["build/sh.env"], env: ["MODE"], run: (c) => sh\`sh -c \${"env > \\"$0\\""} \${c.outputs[0]}\` });\n` +
      `export const ts1 = target({ outputs: ["build/ts.json"], env: ["MODE"], run: async (c) => { const fs = await import("node:fs"); fs.writeFileSync(c.outputs[0], JSON.stringify(process.env)); } });\n` +
      `export default [sh1, ts1];\n`,
  });
  const r = await p.run(["build"], { env: { MODE: "fast", SECRET_STUFF: "x", GIT_DIR: "/elsewhere/.git", NODE_OPTIONS: "--max-old-space-size=3000" } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const shEnv = p.read("build/sh.env");
  assert.match(shEnv, /^MODE=fast$/m);
  assert.match(shEnv, /^PATH=/m);
  for (const absent of ["SECRET_STUFF", "GIT_DIR", "NODE_OPTIONS"]) assert.doesNotMatch(shEnv, new RegExp(`^${absent}=`, "m"));
  const tsEnv = JSON.parse(p.read("build/ts.json")) as Record<string, string>;
  assert.equal(tsEnv.MODE, "fast");
  for (const absent of ["SECRET_STUFF", "GIT_DIR", "NODE_OPTIONS"]) assert.equal(tsEnv[absent], undefined);
});

test("a TypeScript recipe that throws, or calls process.exit(), fails only its own target", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const boom = target({ outputs: ["build/boom"], run: async () => { throw new Error("kaboom"); } });\n` +
      `export const quit = target({ outputs: ["build/quit"], run: async () => { process.exit(3); } });\n` +
      `export const fine = target({ outputs: ["build/fine"], run: async (c) => { const fs = await import("node:fs"); fs.writeFileSync(c.outputs[0], "ok"); } });\n` +
      `export default [boom, quit, fine];\n`,
  });
  const r = await p.run(["build", "-k", "--json"]);
  assert.equal(r.code, 1);
  assert.deepEqual(finished(r.events, "failed"), ["boom", "quit"]);
  assert.deepEqual(finished(r.events, "built"), ["fine"]);
  const boom = r.events.find((e) => e.type === "target-finished" && e.target === "boom");
  assert.ok(boom && boom.type === "target-finished" && /recipe failed: kaboom/.test(boom.reason));
  const quit = r.events.find((e) => e.type === "target-finished" && e.target === "quit");
  assert.ok(quit && quit.type === "target-finished" && /process\.exit\(3\)/.test(quit.reason), quit && "reason" in quit ? quit.reason : "");
});

test("ctx.progress and ctx.log reach the events (and the log file)", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ outputs: ["build/t"], run: async (c) => { c.progress(1, 2); c.log("halfway", 50); c.progress(2, 2); const fs = await import("node:fs"); fs.writeFileSync(c.outputs[0], "x"); } });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const progress = r.events.filter((e) => e.type === "target-progress").map((e) => (e.type === "target-progress" ? [e.done, e.total] : []));
  assert.deepEqual(progress, [[1, 2], [2, 2]]);
  assert.ok(r.events.some((e) => e.type === "log" && e.line === "halfway 50"));
  const fin = r.events.find((e) => e.type === "target-finished");
  assert.ok(fin && fin.type === "target-finished" && fin.logPath);
  assert.match(p.read(fin.logPath!), /halfway 50/);
});

test("--keep-edited: an output changed by hand fails its target instead of being replaced; without it, the bytes are kept in the cache and replaced", async () => {
  const p = new Project(BASIC);
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "build/words.txt": "42\n" });
  const refused = await p.run(["build", "--keep-edited", "--json"]);
  assert.equal(refused.code, 1);
  const f = refused.events.find((e) => e.type === "target-finished" && e.target === "words");
  assert.ok(f && f.type === "target-finished" && f.status === "failed");
  assert.match(f.reason, /output build\/words\.txt of "words" was changed outside pipe; --keep-edited: not overwriting it/);
  assert.deepEqual(finished(refused.events, "skipped"), ["report"]);
  assert.equal(p.read("build/words.txt"), "42\n", "the edited bytes are still there");
  const replaced = await p.run(["build", "--json"]);
  assert.equal(replaced.code, 0);
  assert.equal(p.read("build/words.txt").trim(), "5");
  const w = replaced.events.find((e) => e.type === "warning");
  assert.ok(w && w.type === "warning" && /output build\/words\.txt of "words" was changed outside pipe; pipe kept those bytes/.test(w.message));
});

test("an edit whose bytes the cache holds for another reason (the same edit kept before, another target's output) is still an edit: named by status, refused by --keep-edited, kept and said otherwise", async () => {
  const p = new Project({
    "in/a.txt": "alpha\n",
    "in/b.txt": "beta\n",
    "Pipelinefile.ts": HEAD + `export const a = target({ inputs: ["in/a.txt"], outputs: ["out/a.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\nexport const b = target({ inputs: ["in/b.txt"], outputs: ["out/b.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n`,
  });
  assert.equal((await p.run(["build", "a", "b"])).code, 0);
  // The same edit twice: the first is kept in the cache, the second must not pass for pipe's.
  p.write({ "out/a.txt": "zz\n" });
  const first = await p.run(["build", "a"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout + first.stderr, /output out\/a\.txt of "a" was changed outside pipe; pipe kept those bytes/);
  p.write({ "out/a.txt": "zz\n" });
  const status = await p.run(["status", "a"]);
  assert.match(status.stdout, /out\/a\.txt differs from the recorded build \(edited outside pipe\?\)/);
  assert.doesNotMatch(status.stdout, /another build's result/);
  const refused = await p.run(["build", "--keep-edited", "--json", "a"]);
  assert.equal(refused.code, 1);
  assert.equal(p.read("out/a.txt"), "zz\n", "--keep-edited left the edit alone");
  const second = await p.run(["build", "a"]);
  assert.equal(second.code, 0, second.stderr);
  const said = /was changed outside pipe; pipe kept those bytes before replacing them \(to get them back: (cp [^)]*)\)/.exec(second.stdout + second.stderr);
  assert.ok(said, second.stdout + second.stderr);
  assert.equal(p.read("out/a.txt"), "alpha\n");
  // Another target's bytes copied over an output: an edit too, and the printed command gets them back.
  p.write({ "out/a.txt": p.read("out/b.txt") });
  const third = await p.run(["build", "a"]);
  const cmd = /was changed outside pipe; pipe kept those bytes before replacing them \(to get them back: (cp [^)]*)\)/.exec(third.stdout + third.stderr);
  assert.ok(cmd, third.stdout + third.stderr);
  assert.equal(p.read("out/a.txt"), "alpha\n");
  const back = spawnSync("sh", ["-c", cmd[1]], { cwd: p.dir });
  assert.equal(back.status, 0, String(back.stderr));
  assert.equal(p.read("out/a.txt"), "beta\n");
});

test("a renamed target, or an instance whose key gained a default, finds pipe's own bytes at its paths: no \"changed outside pipe\", and --keep-edited builds", async () => {
  const pf = (name: string, key: string) =>
    HEAD +
    `export const ${name} = target({ inputs: ["in/a.txt"], outputs: ["out/a.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
    `export const fam = family({ key: { lang: param.enum(["en", "it"]), ${key} }, outputs: ({ lang }) => [\`out/f-\${lang}.txt\`], run: (c) => sh\`cat in/a.txt > \${c.outputs[0]}\` });\n` +
    `export default [${name}, fam({ lang: "en" })];\n`;
  const p = new Project({ "in/a.txt": "one\n", "Pipelinefile.ts": pf("a", "") });
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "Pipelinefile.ts": pf("c", `v: param.int({ default: 1 })`), "in/a.txt": "two\n" });
  for (const flags of [["--keep-edited"], []]) {
    const r = await p.run(["build", "--json", ...flags]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /changed outside pipe/);
    p.write({ "in/a.txt": flags.length ? "three\n" : "four\n" });
  }
});

test("a glob that matches nothing: the build says so when the recipe runs on the empty list, and not again while it is up to date", async () => {
  const p = new Project({
    "data/a.txt": "one two\n",
    "Pipelinefile.ts": HEAD + `export const words = target({ inputs: ["data/*.txtt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} /dev/null | wc -w > \${outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const w = r.events.find((e) => e.type === "warning");
  assert.ok(w && w.type === "warning", r.stdout);
  assert.equal(w.target, "words");
  assert.match(w.message, /^input "data\/\*\.txtt" matches no file: the recipe runs without it \(a typo in the pattern, or the data not there yet\?\)$/);
  const again = await p.run(["build", "--json"]);
  assert.equal(again.events.filter((e) => e.type === "warning").length, 0, "up to date: nothing runs, nothing said");
  p.write({ "data/b.txtt": "three\n" });
  const fixed = await p.run(["build", "--json"]);
  assert.deepEqual(finished(fixed.events, "built"), ["words"]);
  assert.equal(fixed.events.filter((e) => e.type === "warning").length, 0);
});

test("--params <file>: name=value lines or a JSON object; --param wins; a bad line is named with its line, exit 2", async () => {
  const p = new Project(BASIC);
  p.write({ "run.params": "# tuned on 2024-05-01\nwindow=14\n", "run.json": `{"window": 21}\n`, "bad.params": "window=3\nwindow 4\n" });
  const a = await p.run(["build", "--params", "run.params"]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(p.read("build/report.txt"), "words=5 window=14\n");
  const b = await p.run(["build", "--params", "run.json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(p.read("build/report.txt"), "words=5 window=21\n");
  const c = await p.run(["build", "--params", "run.json", "--param", "window=9", "--json"]);
  assert.equal(p.read("build/report.txt"), "words=5 window=9\n");
  assert.deepEqual(finished(c.events, "built"), ["report"]);
  const s = await p.run(["status", "--params", "run.params", "--json"]);
  assert.equal(s.code, 0, s.stderr);
  assert.ok((JSON.parse(s.stdout).targets as { id: string; state: string }[]).some((t) => t.id === "report" && t.state === "restorable"));
  const bad = await p.run(["build", "--params", "bad.params"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /params file line is not name=value: "window 4"/);
  assert.match(bad.stderr, /bad\.params:2:1/);
  assert.doesNotMatch(bad.stderr, /\.js:\d+/, "no stack trace");
  const missing = await p.run(["build", "--params", "nope.params"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read params file "nope.params": ENOENT/);
});

test("an instance whose key is a list is named on the command line as pipe prints it, commas and all", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const table = family({\n  key: { cols: param.list("cols"), k: param.int("k", { default: 1 }) },\n  outputs: ({ cols, k }) => [\`build/\${cols.join("-")}-\${k}.txt\`],\n  run: ({ outputs, params }) => sh\`echo \${params.cols} \${params.k} > \${outputs[0]}\`,\n});\n` +
      `export default [table({ cols: ["a", "b"], k: 2 })];\n`,
  });
  const first = await p.run(["build", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(finished(first.events, "built"), ["table[cols=a,b,k=2]"]);
  const again = await p.run(["build", "table[cols=a,b,k=2]", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(finished(again.events, "up-to-date"), ["table[cols=a,b,k=2]"]);
  const other = await p.run(["build", "table[cols=x,y,z]", "--json"]);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(finished(other.events, "built"), ["table[cols=x,y,z,k=1]"]);
  assert.equal(p.read("build/x-y-z-1.txt"), "x y z 1\n");
  const why = await p.run(["why", "table[cols=x,y,z,k=1]"]);
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /table\[cols=x,y,z,k=1\] is up to date/);
});

test("a shell recipe that starts with an env assignment (LC_ALL=C sort ...) runs through sh, which sets it", async () => {
  const p = new Project({
    "data/x.txt": "b\nB\na\nA\n",
    "Pipelinefile.ts": HEAD + `export const sorted = target({ inputs: ["data/x.txt"], outputs: ["build/sorted.txt"], run: ({ inputs, outputs }) => sh\`LC_ALL=C sort \${inputs[0]} > \${outputs[0]}\` });\nexport default [sorted];\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/sorted.txt"), "A\nB\na\nb\n");
});

test("a recipe that returns a command as plain text (the sh tag forgotten): its missing output is reported with the text and the fix", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + "export const a = target({ outputs: [\"build/a.txt\"], run: ({ outputs }) => `echo hi > ${outputs[0]}` as unknown as void });\nexport default [a];\n",
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 1);
  const f = r.events.find((e) => e.type === "target-finished" && e.target === "a");
  assert.ok(f && f.type === "target-finished" && f.status === "failed", JSON.stringify(f));
  assert.match(f.reason ?? "", /declared output "build\/a\.txt" was not produced; it returned the text "echo hi > build\/\.pipe-tmp-[^"]*": to run a shell command, return sh`\.\.\.`/);
  assert.equal(p.exists("build/a.txt"), false);
});

test("an exported family instance works whatever the export names' order (namespaces list them sorted)", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      // "one" sorts before "rep": the instance is met before its family's export.
      `export const rep = family({ key: { n: param.int() }, outputs: ({ n }) => [\`build/\${n}.txt\`], run: (c) => sh\`echo \${c.params.n} > \${c.outputs[0]}\` });\n` +
      `export const one = rep({ n: 1 });\n` +
      `export const all = target({ inputs: [one, rep({ n: 2 })], outputs: ["build/all.txt"], run: (c) => sh\`cat \${c.inputs} > \${c.outputs[0]}\` });\n` +
      `export default [all];\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["all", "rep[n=1]", "rep[n=2]"]);
  assert.equal(p.read("build/all.txt"), "1\n2\n");
});

test("renaming a target's declared output in the Pipelinefile rebuilds it, and the new file exists", async () => {
  // Catches declared output paths left out of the fingerprint (the recipe's code is the same).
  const pf = (out: string) => HEAD + `export const t = target({ inputs: ["data/in.txt"], outputs: [${JSON.stringify(out)}], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
  const p = new Project({ "data/in.txt": "x\n", "Pipelinefile.ts": pf("build/old.txt") });
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), ["t"]);
  p.write({ "Pipelinefile.ts": pf("build/new.txt") });
  const w = await p.run(["why", "t"]);
  assert.match(w.stdout, /t is stale/);
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["t"]);
  assert.equal(p.read("build/new.txt"), "x\n");
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "up-to-date"), ["t"]);
});
