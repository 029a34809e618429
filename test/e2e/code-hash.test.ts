// The recipe code hash follows names through the Pipelinefile's top level and its imports; names
// every object has (toString, constructor, valueOf, hasOwnProperty) are not imports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { symlinkSync } from "node:fs";
import { finished, Project } from "../helpers/rig.ts";

test("recipe code that uses toString, constructor or valueOf builds, and its edits still count", async () => {
  const pf = (suffix: string) =>
    `import { target, param, sh } from "pipefile";\n` +
    `import { join } from "node:path";\n` +
    `export const n = param.int("n", { default: 3 });\n` +
    `const label = (x: number) => x.toString() + ${JSON.stringify(suffix)};\n` +
    `export const c = target({ params: { n }, outputs: ["build/c.txt"],\n` +
    `  run: (ctx) => sh\`printf '%s %s %s\\n' \${label(ctx.params.n)} \${String(ctx.params.n.valueOf())} \${ctx.constructor === Object ? join("a", "b") : "x"} > \${ctx.outputs[0]}\`,\n` +
    `});\n` +
    `export const d = target({ outputs: ["build/d.txt"], run: ({ outputs }) => sh\`echo \${Object.prototype.hasOwnProperty.call({ a: 1 }, "a")} > \${outputs[0]}\` });\n`;
  const p = new Project({ "Pipelinefile.ts": pf("!") });
  let r = await p.run(["build", "--json", "c", "d"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/c.txt"), "3! 3 a/b\n");
  assert.equal(p.read("build/d.txt"), "true\n");
  assert.doesNotMatch(r.stdout + r.stderr, /internal error|is not a function/);
  // An edit of the helper the recipe calls reruns it (and only it), and pipe why says so.
  p.write({ "Pipelinefile.ts": pf("?") });
  const before = await p.run(["why", "c", "d"]);
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, /^c is stale:\n  recipe code Pipelinefile\.ts changed\n/m);
  assert.match(before.stdout, /^d is up to date\n/m);
  r = await p.run(["build", "--json", "c", "d"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["c"]);
  assert.equal(p.read("build/c.txt"), "3? 3 a/b\n");
  const why = await p.run(["why", "c"]);
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /^c is up to date\n/);
  p.remove();
});

test("a recipe edited to use node's own modules (node:path, fs): pipe why says its code changed, and names no package", async () => {
  const pf = (body: string, imports = "") =>
    `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n${imports}` +
    `export const t = target({ outputs: ["build/t.txt"], run: async ({ outputs }) => { writeFileSync(outputs[0], ${body} + "\\n"); } });\n`;
  const p = new Project({ "Pipelinefile.ts": pf(`"a/b"`) });
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "Pipelinefile.ts": pf(`basename("a/b") + sep`, `import { basename } from "node:path";\nimport { sep } from "path";\n`) });
  const why = await p.run(["why", "t"]);
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /^t is stale:\n  recipe code Pipelinefile\.ts changed\n/m);
  assert.doesNotMatch(why.stdout, /package|node:path|@\?/);
  const r = await p.run(["build"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(p.read("build/t.txt"), "b/\n");
  const history = await p.run(["history", "t"]);
  assert.doesNotMatch(history.stdout, /package|@\?/);
  p.remove();
});

test("pipe why names the code file that changed, not every file the recipe's code covers", async () => {
  const p = new Project({
    "lib/helper.ts": `export const shout = (s: string) => s.toUpperCase();\n`,
    "lib/other.ts": `export const tag = "v1";\n`,
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nimport { shout } from "./lib/helper.ts";\nimport { tag } from "./lib/other.ts";\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: ({ outputs }) => sh\`echo \${shout("hi")} \${tag} > \${outputs[0]}\` });\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  const reasonAfter = async (files: Record<string, string>) => {
    p.write(files);
    const r = await p.run(["why", "t"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await p.run(["build"])).code, 0);
    return r.stdout;
  };
  assert.match(await reasonAfter({ "lib/helper.ts": `export const shout = (s: string) => s.toUpperCase() + "!";\n` }), /recipe code lib\/helper\.ts changed/);
  assert.match(await reasonAfter({ "lib/other.ts": `export const tag = "v2";\n` }), /recipe code lib\/other\.ts changed/);
  const own = await reasonAfter({ "Pipelinefile.ts": p.read("Pipelinefile.ts").replace('shout("hi")', 'shout("ho")') });
  assert.match(own, /recipe code Pipelinefile\.ts changed/);
  assert.doesNotMatch(own, /lib\//);
  assert.equal(p.read("build/t.txt"), "HO! v2\n");
  p.remove();
});

test("an edit of a module the Pipelinefile imports only through another one reruns the recipe, and pipe why names it", async () => {
  const p = new Project({
    "lib/b.ts": `export const suffix = (s: string) => s + "-b1";\n`,
    "lib/a.ts": `import { suffix } from "./b.ts";\nexport const label = (s: string) => suffix(s.toUpperCase());\n`,
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nimport { label } from "./lib/a.ts";\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: ({ outputs }) => sh\`echo \${label("hi")} > \${outputs[0]}\` });\n` +
      `export const u = target({ outputs: ["build/u.txt"], run: ({ outputs }) => sh\`echo u > \${outputs[0]}\` });\n`,
  });
  let r = await p.run(["build", "--json", "t", "u"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/t.txt"), "HI-b1\n");
  p.write({ "lib/b.ts": `export const suffix = (s: string) => s + "-b2";\n` });
  const why = await p.run(["why", "t"]);
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /^t is stale:\n  recipe code lib\/b\.ts changed\n/);
  assert.doesNotMatch(why.stdout, /lib\/a\.ts|Pipelinefile\.ts/, "only the file that changed is named");
  r = await p.run(["build", "--json", "t", "u"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["t"], "the recipe that uses it runs again, and only it");
  assert.equal(p.read("build/t.txt"), "HI-b2\n");
  p.remove();
});

test("top-level statements that change a value a recipe uses count as its code (hyper.lr = ..., m.set(...), n = ..., setup()); those of other targets and property names do not", async () => {
  const pf = (v: { lr: string; cat: string; epochs: string; a: string; log: string; doc: string; loop: string }) =>
    [
      `import { writeFileSync } from "node:fs";`,
      `import { target, param } from "pipefile";`,
      `const hyper: Record<string, number> = { lr: 0.1 };`,
      `hyper.lr = ${v.lr};`,
      `const labels = new Map<string, number>();`,
      `labels.set("cat", ${v.cat});`,
      `let epochs = 10;`,
      `epochs = ${v.epochs};`,
      `const cfg = { a: 1 };`,
      `function setup() { cfg.a = ${v.a}; }`,
      `setup();`,
      `function log() { return ${v.log}; }`,
      `const fmt = (x: unknown) => String(x);`,
      `export const scale = param.number("scale", { default: 1.5${v.doc} });`,
      `export const m = target({ outputs: ["out/m.txt"], run: (c) => { writeFileSync(c.outputs[0], fmt([labels.get("cat"), hyper.lr, epochs, cfg.a].join(" "))); } });`,
      `export const n = target({ params: { scale }, outputs: ["out/n.txt"], run: (c) => { c.log("hi"); writeFileSync(c.outputs[0], fmt(c.params.scale)); } });`,
      // A loop declaring more targets with the shared helper changes nothing m or n use.
      `export const more = [1, 2].map((i) => target({ name: \`more\${i}\`, outputs: [\`out/more\${i}.txt\`], run: (c) => { writeFileSync(c.outputs[0], fmt(i) + "${v.loop}"); } }));`,
      "",
    ].join("\n");
  const base = { lr: "0.01", cat: "1", epochs: "20", a: "2", log: "1", doc: "", loop: "" };
  const p = new Project({ "Pipelinefile.ts": pf(base) });
  let r = await p.run(["build", "--json", "m", "n", "more1", "more2"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("out/m.txt"), "1 0.01 20 2");
  let v = base;
  const builtAfter = async (change: Partial<typeof base>) => {
    v = { ...v, ...change };
    p.write({ "Pipelinefile.ts": pf(v) });
    const res = await p.run(["build", "--json", "m", "n", "more1", "more2"]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    return finished(res.events, "built");
  };
  assert.deepEqual(await builtAfter({ lr: "0.5" }), ["m"], "a property assigned at top level");
  assert.deepEqual(await builtAfter({ cat: "7" }), ["m"], "a method called at top level");
  assert.deepEqual(await builtAfter({ epochs: "99" }), ["m"], "a let assigned again");
  assert.deepEqual(await builtAfter({ a: "3" }), ["m"], "a function called at top level that assigns");
  assert.equal(p.read("out/m.txt"), "7 0.5 99 3");
  assert.deepEqual(await builtAfter({ log: "2" }), [], "c.log is ctx's method, not the top-level log()");
  assert.deepEqual(await builtAfter({ doc: `, doc: "how much"` }), [], "c.params.scale is the param's value, not the declaration's text");
  assert.deepEqual(await builtAfter({ loop: "!" }), ["more1", "more2"], "the loop's own recipe");
  p.remove();
});

test("targets declared in a loop: the values the loop hands the recipe count (configs.map((cfg) => ... cfg.lr ...)); the loop's targets are not tied to a target that reads them", async () => {
  const pf = (fast: string, slow: string) =>
    `import { target, sh } from "pipefile";\n` +
    `const configs = [{ name: "fast", lr: ${fast} }, { name: "slow", lr: ${slow} }];\n` +
    `export const fits = configs.map((cfg) => target({ name: \`fit:\${cfg.name}\`, outputs: [\`build/\${cfg.name}.txt\`], run: ({ outputs }) => sh\`echo lr=\${cfg.lr} > \${outputs[0]}\` }));\n` +
    `export const both = target({ inputs: fits, outputs: ["build/both.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n`;
  const p = new Project({ "Pipelinefile.ts": pf("0.1", "0.01") });
  let r = await p.run(["build", "--json", "both"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  p.write({ "Pipelinefile.ts": pf("0.5", "0.01") });
  const why = await p.run(["why", "both"]);
  assert.match(why.stdout, /^both is stale:\n  dependency "fit:fast" will rebuild/m);
  assert.doesNotMatch(why.stdout, /recipe code/, "both's own code did not change");
  r = await p.run(["build", "--json", "both"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/fast.txt"), "lr=0.5\n");
  assert.equal(p.read("build/both.txt"), "lr=0.5\nlr=0.01\n");
  // A sh template's command counts per target: only fit:fast's changed.
  assert.deepEqual(finished(r.events, "built").sort(), ["both", "fit:fast"]);
  p.remove();
});

test("targets declared in a loop with a TypeScript recipe: the array the loop goes over counts as their code; targets declared in one array literal are not tied to each other's helpers", async () => {
  const pf = (lr: string, fmtY: string) =>
    `import { target } from "pipefile";
import { writeFileSync } from "node:fs";
` +
    `const configs = [{ name: "fast", lr: ${lr} }, { name: "slow", lr: 0.01 }];
` +
    `export const fits = configs.map((cfg) => target({ name: \`fit:\${cfg.name}\`, outputs: [\`build/\${cfg.name}.txt\`], run: (c) => { writeFileSync(c.outputs[0], \`lr=\${cfg.lr}\`); } }));
` +
    `const fmtX = (v: number) => \`x=\${v}\`;
` +
    `const fmtY = (v: number) => \`${fmtY}\${v}\`;
` +
    `export const pair = [\n  target({ name: "x", outputs: ["build/x.txt"], run: (c) => { writeFileSync(c.outputs[0], fmtX(1)); } }),\n  target({ name: "y", outputs: ["build/y.txt"], run: (c) => { writeFileSync(c.outputs[0], fmtY(2)); } }),\n];\n`;
  const p = new Project({ "Pipelinefile.ts": pf("0.1", "y=") });
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  p.write({ "Pipelinefile.ts": pf("0.5", "y=") });
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built").sort(), ["fit:fast", "fit:slow"], "the array is the loop targets' code");
  assert.equal(p.read("build/fast.txt"), "lr=0.5");
  p.write({ "Pipelinefile.ts": pf("0.5", "Y:") });
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["y"], "y's helper only");
  assert.equal(p.read("build/y.txt"), "Y:2");
  p.remove();
});

test("a JSON module the Pipelinefile imports (with { type: \"json\" }) loads, and its value counts as the code of the recipes that use it (its formatting does not)", async () => {
  const p = new Project({
    "cfg.json": `{ "lr": 0.1 }\n`,
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nimport cfg from "./cfg.json" with { type: "json" };\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: ({ outputs }) => sh\`echo lr=\${cfg.lr} > \${outputs[0]}\` });\n` +
      `export const u = target({ outputs: ["build/u.txt"], run: ({ outputs }) => sh\`echo u > \${outputs[0]}\` });\n`,
  });
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/t.txt"), "lr=0.1\n");
  p.write({ "cfg.json": `{"lr":0.1}` });
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), [], "formatting only");
  p.write({ "cfg.json": `{ "lr": 0.2 }\n` });
  const why = await p.run(["why", "t"]);
  assert.match(why.stdout, /^t is stale:\n  recipe code cfg\.json changed\n/);
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["t"]);
  assert.equal(p.read("build/t.txt"), "lr=0.2\n");
  // Not valid JSON: a Pipelinefile error naming the file.
  p.write({ "cfg.json": `{ "lr": 0.2, }\n` });
  r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /cfg\.json/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*\(.*:\d+:\d+\)/);
  p.remove();
});

test("a package linked from a folder (npm install ../utils, a workspace) counts by its files, not only its version", async () => {
  const p = new Project({
    "utils/package.json": `{ "name": "myutils", "version": "1.0.0", "type": "module", "main": "index.js" }\n`,
    "utils/index.js": `export const clean = (s) => s.toUpperCase();\n`,
    "Pipelinefile.ts":
      `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\nimport { clean } from "myutils";\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: (c) => { writeFileSync(c.outputs[0], clean("hello")); } });\n` +
      `export const u = target({ outputs: ["build/u.txt"], run: (c) => { writeFileSync(c.outputs[0], "u"); } });\n`,
  });
  symlinkSync("../utils", p.path("node_modules/myutils"));
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/t.txt"), "HELLO");
  p.write({ "utils/index.js": `export const clean = (s) => s.toLowerCase();\n` });
  const why = await p.run(["why", "t"]);
  assert.match(why.stdout, /^t is stale:\n  package myutils@1\.0\.0\+local\.\w+ changed \(was myutils@1\.0\.0\+local\.\w+\)\n/);
  // Through the no-op snapshot too (the first build may have written one).
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["t"]);
  assert.equal(p.read("build/t.txt"), "hello");
  p.write({ "utils/index.js": `export const clean = (s) => s.toLowerCase() + "!";\n` });
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["t"]);
  assert.equal(p.read("build/t.txt"), "hello!");
  p.remove();
});

test("a shell recipe's command after interpolation is part of its fingerprint: values read while loading and loop variables count, per target; the record keeps only its hash", async () => {
  const p = new Project({
    "ver.txt": "1\n",
    "configs.json": `[{"name":"fast","lr":0.1},{"name":"slow","lr":0.01}]`,
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nimport { readFileSync } from "node:fs";\n` +
      `const ver = readFileSync("ver.txt", "utf8").trim();\n` +
      `const configs = JSON.parse(readFileSync("configs.json", "utf8")) as { name: string; lr: number }[];\n` +
      `export const fits = configs.map((cfg) => target({ name: \`fit:\${cfg.name}\`, outputs: [\`build/\${cfg.name}.txt\`], env: ["SECRET_TOKEN"], run: ({ outputs, env }) => sh\`echo lr=\${cfg.lr} ver=\${ver} token=\${env.SECRET_TOKEN ?? "none"} > \${outputs[0]}\` }));\n`,
  });
  const build = async (env: Record<string, string> = {}) => {
    const r = await p.run(["build", "--json"], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return finished(r.events, "built").sort();
  };
  assert.deepEqual(await build(), ["fit:fast", "fit:slow"]);
  // One value in the file read at load: only its target.
  p.write({ "configs.json": `[{"name":"fast","lr":0.5},{"name":"slow","lr":0.01}]` });
  const why = await p.run(["why", "fit:fast"]);
  assert.match(why.stdout, /^fit:fast is stale:\n  recipe command changed \(a value it interpolates changed while its code did not/);
  assert.deepEqual(await build(), ["fit:fast"]);
  assert.equal(p.read("build/fast.txt"), "lr=0.5 ver=1 token=none\n");
  // A value every command uses: both.
  p.write({ "ver.txt": "2\n" });
  assert.deepEqual(await build(), ["fit:fast", "fit:slow"]);
  // Back to the first file contents: restored, nothing runs.
  p.write({ "ver.txt": "1\n", "configs.json": `[{"name":"fast","lr":0.1},{"name":"slow","lr":0.01}]` });
  const back = await p.run(["build", "--json"]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(finished(back.events, "built"), []);
  assert.deepEqual(finished(back.events, "restored").sort(), ["fit:fast", "fit:slow"]);
  assert.equal(p.read("build/fast.txt"), "lr=0.1 ver=1 token=none\n");
  // A value in the command never reaches the records in clear.
  assert.deepEqual(await build({ SECRET_TOKEN: "hunter2-secret" }), ["fit:fast", "fit:slow"]);
  assert.doesNotMatch(p.read(".pipe/records.jsonl"), /hunter2-secret/);
  p.remove();
});

test("a sh template that reads env or a file while its command is built: every build plans it (the no-op snapshot cannot see those change)", async () => {
  const p = new Project({
    "v.txt": "one\n",
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nimport { readFileSync } from "node:fs";\n` +
      `export const e = target({ outputs: ["o/env"], run: ({ outputs }) => sh\`echo \${process.env.PIPE_TEST_MODE ?? "none"} > \${outputs[0]}\` });\n` +
      `export const v = target({ outputs: ["o/v"], run: ({ outputs }) => sh\`echo \${readFileSync("v.txt", "utf8").trim()} > \${outputs[0]}\` });\n`,
  });
  const build = async (env: Record<string, string> = {}) => {
    const r = await p.run(["build", "--json"], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return finished(r.events, "built").sort();
  };
  assert.deepEqual(await build(), ["e", "v"]);
  assert.deepEqual(await build(), []);
  assert.deepEqual(await build({ PIPE_TEST_MODE: "x" }), ["e"]);
  assert.equal(p.read("o/env"), "x\n");
  p.write({ "v.txt": "two\n" });
  assert.deepEqual(await build({ PIPE_TEST_MODE: "x" }), ["v"]);
  assert.equal(p.read("o/v"), "two\n");
  p.remove();
});

test("a recipe that returns sh.raw(...) runs that text as its command (it silently ran nothing)", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const r = target({ outputs: ["o/r"], run: ({ outputs }) => sh.raw(\`echo hi > \${outputs[0]}\`) });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["r"]);
  assert.equal(p.read("o/r"), "hi\n");
  p.remove();
});

test("a load-time statement in one module that changes a value another module exports counts for the recipes that use that module", async () => {
  const pf = (lr: string, side: string) => ({
    "config.ts": `export const hyper = { lr: 0.1, extra: 0 };\n`,
    "side.ts": `import { hyper } from "./config.ts";\nhyper.extra = ${side};\n`,
    "recipes/train.ts": `import { writeFileSync } from "node:fs";\nimport { hyper } from "../config.ts";\nexport function train(c: { outputs: string[] }) { writeFileSync(c.outputs[0], \`\${hyper.lr} \${hyper.extra}\`); }\n`,
    "Pipelinefile.ts":
      `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\nimport { hyper } from "./config.ts";\nimport "./side.ts";\nimport { train } from "./recipes/train.ts";\n` +
      `hyper.lr = ${lr};\n` +
      `export const model = target({ outputs: ["o/model"], run: train });\n` +
      `export const other = target({ outputs: ["o/other"], run: (c) => { writeFileSync(c.outputs[0], "x"); } });\n`,
  });
  const p = new Project(pf("0.5", "1"));
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("o/model"), "0.5 1");
  p.write(pf("0.6", "1"));
  const why = await p.run(["why", "model"]);
  assert.match(why.stdout, /^model is stale:\n  recipe code Pipelinefile\.ts changed/m);
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["model"]);
  assert.equal(p.read("o/model"), "0.6 1");
  p.write(pf("0.6", "2"));
  r = await p.run(["build", "--json"]);
  assert.deepEqual(finished(r.events, "built"), ["model"], "side.ts's statement, imported only for its effect");
  assert.equal(p.read("o/model"), "0.6 2");
  p.remove();
});

test("targets made by a factory function with a TypeScript recipe: the call that declares each target counts as its code", async () => {
  const pf = (a: string, b: string, scale: string) =>
    `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n` +
    `const mk = (name: string, n: number) => {\n  const s = n * ${scale};\n  return target({ name, outputs: [\`o/\${name}\`], run: (c) => { writeFileSync(c.outputs[0], String(s)); } });\n};\n` +
    `export const m1 = mk("m1", ${a});\n` +
    `export const m2 = mk("m2", ${b});\n`;
  const p = new Project({ "Pipelinefile.ts": pf("1", "2", "10") });
  const build = async () => {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return finished(r.events, "built").sort();
  };
  assert.deepEqual(await build(), ["m1", "m2"]);
  p.write({ "Pipelinefile.ts": pf("7", "2", "10") });
  assert.deepEqual(await build(), ["m1"], "only the call of m1 changed");
  assert.equal(p.read("o/m1"), "70");
  p.write({ "Pipelinefile.ts": pf("7", "2", "100") });
  assert.deepEqual(await build(), ["m1", "m2"], "the factory's own code");
  assert.equal(p.read("o/m2"), "200");
  p.write({ "Pipelinefile.ts": pf("1", "2", "10") });
  const back = await p.run(["build", "--json"]);
  assert.deepEqual(finished(back.events, "restored").sort(), ["m1", "m2"], "going back restores");
  p.remove();
});

test("more ways top-level code changes a value a recipe uses: a forEach callback, an IIFE, an alias, a destructuring assignment, Object.assign in a declaration, delete, globalThis", async () => {
  const pf = (v: Record<string, string>) =>
    [
      `import { target } from "pipefile";`,
      `import { writeFileSync } from "node:fs";`,
      `const h: Record<string, number> = { lr: 1, drop: 1 };`,
      `["a"].forEach((k) => { h[k] = ${v.each}; });`,
      `(() => { h.iife = ${v.iife}; })();`,
      `const alias = h;`,
      `alias.al = ${v.alias};`,
      `let x = 0, y = 0;`,
      `[x, y] = [${v.destr}, 2];`,
      `const merged = Object.assign(h, { oa: ${v.assign} });`,
      v.del === "1" ? `delete h.drop;` : ``,
      `(globalThis as Record<string, unknown>).LR = ${v.glob};`,
      `export const t = target({ outputs: ["o/t"], run: (c) => { writeFileSync(c.outputs[0], JSON.stringify([h, x, y, merged === h, (globalThis as Record<string, unknown>).LR])); } });`,
      `export const u = target({ outputs: ["o/u"], run: (c) => { writeFileSync(c.outputs[0], "u"); } });`,
      "",
    ].join("\n");
  let v: Record<string, string> = { each: "1", iife: "1", alias: "1", destr: "1", assign: "1", del: "0", glob: "1" };
  const p = new Project({ "Pipelinefile.ts": pf(v) });
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const key of Object.keys(v)) {
    v = { ...v, [key]: "2" === v[key] ? "3" : key === "del" ? "1" : "2" };
    p.write({ "Pipelinefile.ts": pf(v) });
    r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["t"], `a change through ${key}`);
  }
  assert.equal(p.read("o/t"), JSON.stringify([{ lr: 1, a: 2, iife: 2, al: 2, oa: 2 }, 2, 2, true, 2]));
  p.remove();
});

test("a TypeScript recipe that writes ctx.id: renaming its target runs it (the id is part of the fingerprint); renaming back restores", async () => {
  const pf = (name: string) =>
    `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n` +
    `export const ${name} = target({ inputs: ["in/a.txt"], outputs: ["out/report.txt"], run: async (ctx) => { writeFileSync(ctx.outputs[0], \`report by \${ctx.id}\\n\`); } });\n`;
  const p = new Project({ "in/a.txt": "a\n", "Pipelinefile.ts": pf("summary") });
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal(p.read("out/report.txt"), "report by summary\n");
  p.write({ "Pipelinefile.ts": pf("overview") });
  const renamed = await p.run(["build", "--json"]);
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.deepEqual(finished(renamed.events, "built"), ["overview"]);
  assert.equal(p.read("out/report.txt"), "report by overview\n");
  p.write({ "Pipelinefile.ts": pf("summary") });
  const back = await p.run(["build", "--json"]);
  assert.deepEqual(finished(back.events, "restored"), ["summary"]);
  assert.equal(p.read("out/report.txt"), "report by summary\n");
  p.remove();
});

test("a module imported by any specifier TypeScript and node accept counts as recipe code: ./lib/a.js for a.ts, no extension, a folder's index, package.json imports (#lib/...), tsconfig paths", async () => {
  // Before: the import's path was the specifier joined to the importer's folder, a file that
  // does not exist for all of these: the module's code never counted, and an edit left the
  // outputs stale, "up to date".
  const lib = (n: number) => `export const V = ${n};\n`;
  const p = new Project({
    "package.json": JSON.stringify({ name: "t", type: "module", imports: { "#lib/*": "./lib/*" } }),
    "tsconfig.json": JSON.stringify({ compilerOptions: { baseUrl: ".", paths: { "@lib/*": ["lib/*"] } } }),
    "lib/js.ts": lib(1),
    "lib/bare.ts": lib(1),
    "lib/folder/index.ts": lib(1),
    "lib/hash.ts": lib(1),
    "lib/alias.ts": lib(1),
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `import { writeFile } from "node:fs/promises";\n` +
      `import { V as js } from "./lib/js.js";\n` +
      `import { V as bare } from "./lib/bare";\n` +
      `import { V as folder } from "./lib/folder";\n` +
      `import { V as hash } from "#lib/hash.ts";\n` +
      `import { V as alias } from "@lib/alias";\n` +
      Object.entries({ js: "js", bare: "bare", folder: "folder", hash: "hash", alias: "alias" })
        .map(([t, v]) => `export const ${t}T = target({ outputs: ["build/${t}.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], String(${v})); } });\n`)
        .join(""),
  });
  try {
    const first = await p.run(["build", "--json"]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    for (const [t, file] of [["js", "lib/js.ts"], ["bare", "lib/bare.ts"], ["folder", "lib/folder/index.ts"], ["hash", "lib/hash.ts"], ["alias", "lib/alias.ts"]]) {
      p.write({ [file]: lib(2) });
      const why = await p.run(["why", `${t}T`]);
      assert.match(why.stdout, new RegExp(`^${t}T is stale:\\n  recipe code ${file.replace(/[./]/g, "\\$&")} changed\\n`, "m"), why.stdout + why.stderr);
      const r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(finished(r.events, "built"), [`${t}T`], `${file}: only its target runs`);
      assert.equal(p.read(`build/${t}.txt`), "2");
    }
  } finally {
    p.remove();
  }
});

test("a template literal over several lines counts whole (an edit of its last line reruns the recipe), and a variable declared without a value counts with the statements that set it", async () => {
  // Before: a line of a template at column 0 was taken for a new statement, and `let t;` for
  // a statement declaring nothing: edits there left the outputs stale, "up to date".
  const pf = (word: string, threshold: string) =>
    `import { target } from "pipefile";\n` +
    `import { writeFile } from "node:fs/promises";\n` +
    `import { page } from "./recipes/page.ts";\n` +
    "const GREETING = `hello\n" +
    `${word}\`;\n` +
    `let threshold: number;\n` +
    `if (Math.PI > 3) { threshold = ${threshold}; } else { threshold = 0.1; }\n` +
    `export const g = target({ outputs: ["build/g.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], GREETING); } });\n` +
    `export const t = target({ outputs: ["build/t.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], String(threshold)); } });\n` +
    `export const r = target({ outputs: ["build/r.html"], run: page });\n`;
  const mod = (tail: string) =>
    `import { writeFile } from "node:fs/promises";\n` +
    "const TEMPLATE = `<html>\n<body>\n" +
    `${tail}\`;\n` +
    `export async function page(ctx: { outputs: string[] }) { await writeFile(ctx.outputs[0], TEMPLATE); }\n`;
  const p = new Project({ "Pipelinefile.ts": pf("world", "0.7"), "recipes/page.ts": mod("</body></html>") });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    const steps: [Record<string, string>, string, string, string][] = [
      [{ "Pipelinefile.ts": pf("planet", "0.7") }, "g", "build/g.txt", "hello\nplanet"],
      [{ "Pipelinefile.ts": pf("planet", "0.9") }, "t", "build/t.txt", "0.9"],
      [{ "recipes/page.ts": mod("</body></html><!-- v2 -->") }, "r", "build/r.html", "<html>\n<body>\n</body></html><!-- v2 -->"],
    ];
    for (const [files, target, out, bytes] of steps) {
      p.write(files);
      const r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(finished(r.events, "built"), [target], JSON.stringify(files));
      assert.equal(p.read(out), bytes);
    }
  } finally {
    p.remove();
  }
});

test("recipes made by another module's function count the call that made them: a wrapper (run: timed(async (ctx) => ...)), a factory (mk(\"m1\", 1)), and a setup call at load (configure({ lr })); editing one exported recipe reruns only its target", async () => {
  // Before: the wrapper's text alone was hashed (every wrapped target alike, the inner function
  // never), a factory's arguments and an imported setup call counted for nothing, and an edit
  // of one recipe function of a module reran every recipe that module exports.
  const pf = (inner: string, m1: number, lr: number) =>
    `import { target } from "pipefile";\n` +
    `import { writeFile } from "node:fs/promises";\n` +
    `import { timed } from "./recipes/wrap.ts";\n` +
    `import { mk } from "./recipes/factory.ts";\n` +
    `import { configure } from "./recipes/config.ts";\n` +
    `import { train, recA, recB } from "./recipes/train.ts";\n` +
    `configure({ lr: ${lr} });\n` +
    `export const w1 = target({ outputs: ["build/w1.txt"], run: timed(async (ctx) => { await writeFile(ctx.outputs[0], ${JSON.stringify(inner)}); }) });\n` +
    `export const w2 = target({ outputs: ["build/w2.txt"], run: timed(async (ctx) => { await writeFile(ctx.outputs[0], "w2"); }) });\n` +
    `export const m1 = mk("m1", ${m1});\n` +
    `export const m2 = mk("m2", 2);\n` +
    `export const t = target({ outputs: ["build/t.txt"], run: train });\n` +
    `export const a = target({ outputs: ["build/a.txt"], run: recA });\n` +
    `export const b = target({ outputs: ["build/b.txt"], run: recB });\n`;
  const trainMod = (b: string) =>
    `import { writeFile } from "node:fs/promises";\n` +
    `import { cfg } from "./config.ts";\n` +
    `export async function train(ctx: { outputs: string[] }) { await writeFile(ctx.outputs[0], "lr=" + cfg.lr); }\n` +
    `export async function recA(ctx: { outputs: string[] }) { await writeFile(ctx.outputs[0], "A"); }\n` +
    `export async function recB(ctx: { outputs: string[] }) { await writeFile(ctx.outputs[0], ${JSON.stringify(b)}); }\n`;
  const p = new Project({
    "recipes/wrap.ts": `export function timed(fn: (ctx: any) => Promise<void>) { return async (ctx: any) => { const t0 = Date.now(); await fn(ctx); ctx.log("took " + (Date.now() - t0) + "ms"); }; }\n`,
    "recipes/factory.ts": `import { target } from "pipefile";\nimport { writeFile } from "node:fs/promises";\nexport function mk(name: string, n: number) { return target({ name, outputs: [\`build/\${name}.txt\`], run: async (ctx) => { await writeFile(ctx.outputs[0], String(n * 10)); } }); }\n`,
    "recipes/config.ts": `export const cfg = { lr: 0.1 };\nexport function configure(o: { lr: number }) { Object.assign(cfg, o); }\n`,
    "recipes/train.ts": trainMod("B1"),
    "Pipelinefile.ts": pf("v1", 1, 0.5),
  });
  try {
    const first = await p.run(["build", "--json"]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const steps: [Record<string, string>, string[], [string, string]][] = [
      [{ "Pipelinefile.ts": pf("v2", 1, 0.5) }, ["w1"], ["build/w1.txt", "v2"]],
      [{ "Pipelinefile.ts": pf("v2", 5, 0.5) }, ["m1"], ["build/m1.txt", "50"]],
      [{ "Pipelinefile.ts": pf("v2", 5, 0.9) }, ["t"], ["build/t.txt", "lr=0.9"]],
      [{ "recipes/train.ts": trainMod("B2") }, ["b"], ["build/b.txt", "B2"]],
    ];
    for (const [files, ran, [out, bytes]] of steps) {
      p.write(files);
      const r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(finished(r.events, "built"), ran, JSON.stringify(files));
      assert.equal(p.read(out), bytes);
    }
  } finally {
    p.remove();
  }
});

test("a factory call in the Pipelinefile counts what it hands over from there: mk(\"m1\", base.n) reruns when base changes, and only m1", async () => {
  const pf = (n: number) =>
    `import { mk } from "./recipes/factory.ts";\n` +
    `const base = { n: ${n} };\n` +
    `const other = { n: 7 };\n` +
    `export const m1 = mk("m1", base.n);\n` +
    `export const m2 = mk("m2", other.n);\n`;
  const p = new Project({
    "recipes/factory.ts": `import { target } from "pipefile";\nimport { writeFile } from "node:fs/promises";\nexport function mk(name: string, n: number) { return target({ name, outputs: [\`build/\${name}.txt\`], run: async (ctx) => { await writeFile(ctx.outputs[0], String(n)); } }); }\n`,
    "Pipelinefile.ts": pf(1),
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    p.write({ "Pipelinefile.ts": pf(2) });
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["m1"]);
    assert.equal(p.read("build/m1.txt"), "2");
  } finally {
    p.remove();
  }
});

test("comments never count, also the ones esbuild keeps by default (// @license, /*! ... */)", async () => {
  const mod = (comment: string) => `import { writeFile } from "node:fs/promises";\nexport async function rec(ctx: { outputs: string[] }) {\n  await writeFile(ctx.outputs[0], "x"); ${comment}\n}\n`;
  const p = new Project({
    "recipes/r.ts": mod(""),
    "Pipelinefile.ts": `import { target } from "pipefile";\nimport { rec } from "./recipes/r.ts";\nexport const r = target({ outputs: ["build/r.txt"], run: rec });\n`,
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    for (const c of ["// @license MIT", "/*! keep me */", "/** @preserve */"]) {
      p.write({ "recipes/r.ts": mod(c) });
      const r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(finished(r.events, "built"), [], c);
    }
  } finally {
    p.remove();
  }
});

test("a name that reaches another target's declaration (a key of a params object, a word in a doc string) does not tie a recipe to that declaration: editing it reruns only its own target (early cutoff spares the reader)", async () => {
  // The case study's shape: the report's recipe reaches `p` (the params object); its keys and
  // doc strings name the families `window` and `trend`. A review found every declaration of the
  // case study in the report's code hash, so a refactor of trend's recipe reran the report.
  const pf = (v: { trendRun: string; note: string }) =>
    [
      `import { readFileSync, writeFileSync } from "node:fs";`,
      `import { target, param } from "pipefile";`,
      `const p = { window: param.int("window", { default: 7, doc: "days the trend and window see" }), note: "${v.note}" };`,
      `export const window = target({ params: { window: p.window }, outputs: ["out/window.txt"], run: (c) => { writeFileSync(c.outputs[0], String(c.params.window)); } });`,
      `export const trend = target({ outputs: ["out/trend.txt"], run: ${v.trendRun} });`,
      `export const report = target({ inputs: { trend, window }, outputs: ["out/report.txt"], run: (c) => { writeFileSync(c.outputs[0], readFileSync(c.inputs.trend[0], "utf8") + readFileSync(c.inputs.window[0], "utf8") + p.note); } });`,
      "",
    ].join("\n");
  let v = { trendRun: `(c) => { writeFileSync(c.outputs[0], "T"); }`, note: "!" };
  const p = new Project({ "Pipelinefile.ts": pf(v) });
  let r = await p.run(["build", "--json", "report"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("out/report.txt"), "T7!");
  const builtAfter = async (change: Partial<typeof v>) => {
    v = { ...v, ...change };
    p.write({ "Pipelinefile.ts": pf(v) });
    r = await p.run(["build", "--json", "report"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return finished(r.events, "built");
  };
  // trend's recipe refactored (same bytes out): trend reruns, the report is spared.
  assert.deepEqual(await builtAfter({ trendRun: `(c) => { writeFileSync(c.outputs[0], ["T"].join("")); }` }), ["trend"]);
  const why = await p.run(["why", "report"]);
  assert.match(why.stdout, /^report is up to date\n/);
  // What the recipe does use from the object still counts.
  assert.deepEqual(await builtAfter({ note: "?" }), ["report"]);
  assert.equal(p.read("out/report.txt"), "T7?");
  p.remove();
});

test("families with TypeScript recipes and params declared in their keys: editing another target, a param's doc, a module only one family imports, or adding a consumer reruns only what changed", async () => {
  // A review's ML project: every split/train instance reran on any of these edits (param.int()
  // in a key counted as a change of `param`, and every statement making an instance as a change
  // of what the family's declaration mentions).
  const pf = (v: { reportText: string; tagDoc: string; extra: string }) =>
    [
      `import { readFile, writeFile } from "node:fs/promises";`,
      `import { target, family, param, sh } from "pipefile";`,
      `import { train as fit } from "./recipes/train.ts";`,
      `export const tag = param.string("tag", { default: "x"${v.tagDoc} });`,
      `export const split = family({ key: { fold: param.int() }, outputs: ["build/split-{fold}.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], "fold " + ctx.params.fold); } });`,
      `export const train = family({ key: { fold: param.int(), seed: param.int() }, inputs: ({ fold }: { fold: number }) => [split({ fold })], outputs: ["build/train-{fold}-{seed}.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], fit(await readFile(ctx.inputs[0], "utf8"), ctx.params.seed)); } });`,
      `export const report = target({ params: { tag }, inputs: [train({ fold: 0, seed: 1 }), train({ fold: 1, seed: 1 })], outputs: ["build/report.txt"], run: ({ inputs, outputs, params }) => sh\`cat \${inputs} > \${outputs[0]} && echo ${v.reportText} \${params.tag} >> \${outputs[0]}\` });`,
      v.extra,
      `export default [report];`,
      "",
    ].join("\n");
  let v = { reportText: "one", tagDoc: "", extra: "" };
  const p = new Project({ "Pipelinefile.ts": pf(v), "recipes/train.ts": `export const train = (text: string, seed: number): string => text + " seed " + seed;\n` });
  let r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(p.read("build/report.txt"), "fold 0 seed 1fold 1 seed 1one x\n");
  const builtAfter = async (change: Partial<typeof v>, files: Record<string, string> = {}) => {
    v = { ...v, ...change };
    p.write({ "Pipelinefile.ts": pf(v), ...files });
    r = await p.run(["build", "--json", "report", "other"].slice(0, v.extra ? 4 : 3));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return finished(r.events, "built");
  };
  assert.deepEqual(await builtAfter({ reportText: "two" }), ["report"], "the report's own command");
  assert.deepEqual(await builtAfter({ tagDoc: `, doc: "a free-form label"` }), [], "a param's doc");
  assert.deepEqual(await builtAfter({ extra: `export const other = target({ inputs: [train({ fold: 0, seed: 1 })], outputs: ["build/other.txt"], run: async (ctx) => { await writeFile(ctx.outputs[0], "other"); } });` }), ["other"], "a new consumer of an instance");
  assert.deepEqual(await builtAfter({}, { "recipes/train.ts": `export const train = (text: string, seed: number): string => text + " seed " + (seed + 0);\n` }), ["train[fold=0,seed=1]", "train[fold=1,seed=1]"], "a module only train imports (same bytes out: nothing below reruns)");
  p.remove();
});

test("code a recipe uses is not missed by the narrowing of what counts (a review): another target's options (its recipe reused, its description), a family's options through an instance, functions of the user's named family or target, a statement of two declarators with a nested template, a Greek identifier, a class's static block", { timeout: 120_000 }, async () => {
  const cases: { name: string; v1: string; v2: string; built: string[]; files: Record<string, string> }[] = [
  {
    "name": "reuse",
    "v1": "import { target } from \"pipefile\";\nimport { readFileSync, writeFileSync } from \"node:fs\";\nexport const normTrain = target({ inputs: [\"train.csv\"], outputs: [\"norm-train.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], readFileSync(ctx.inputs[0], \"utf8\").toLowerCase());\n} });\n// the same recipe on other data\nexport const normTest = target({ inputs: [\"test.csv\"], outputs: [\"norm-test.txt\"], run: (ctx) => normTrain.options.run(ctx) });\n",
    "v2": "import { target } from \"pipefile\";\nimport { readFileSync, writeFileSync } from \"node:fs\";\nexport const normTrain = target({ inputs: [\"train.csv\"], outputs: [\"norm-train.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], readFileSync(ctx.inputs[0], \"utf8\").toLowerCase().trim() + \"!\\n\");\n} });\n// the same recipe on other data\nexport const normTest = target({ inputs: [\"test.csv\"], outputs: [\"norm-test.txt\"], run: (ctx) => normTrain.options.run(ctx) });\n",
    "built": [
      "normTest",
      "normTrain"
    ],
    "files": {
      "train.csv": "A,B\n",
      "test.csv": "C,D\n"
    }
  },
  {
    "name": "opts",
    "v1": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nexport const clean = target({ outputs: [\"clean.txt\"], description: \"Drop empty rows\", run: async (ctx) => { writeFileSync(ctx.outputs[0], \"c\\n\"); } });\nexport const docs = target({ outputs: [\"docs.txt\"], run: async (ctx) => { writeFileSync(ctx.outputs[0], `## clean\\n${clean.options.description}\\n`); } });\n",
    "v2": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nexport const clean = target({ outputs: [\"clean.txt\"], description: \"Drop empty and duplicate rows\", run: async (ctx) => { writeFileSync(ctx.outputs[0], \"c\\n\"); } });\nexport const docs = target({ outputs: [\"docs.txt\"], run: async (ctx) => { writeFileSync(ctx.outputs[0], `## clean\\n${clean.options.description}\\n`); } });\n",
    "built": [
      "docs"
    ],
    "files": {}
  },
  {
    "name": "famopts",
    "v1": "import { target, family, param } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nexport const evaluate = family({ key: { ds: param.enum([\"iris\", \"wine\"]) }, outputs: [\"eval-{ds}.txt\"],\n  run: async (ctx) => { writeFileSync(ctx.outputs[0], `${ctx.params.ds}\\n`); } });\nexport const e1 = evaluate({ ds: \"iris\" });\nexport const table = target({ inputs: [e1], outputs: [\"table.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `datasets: ${e1.family.options.key.ds.values.join(\",\")}\\n`);\n} });\n",
    "v2": "import { target, family, param } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nexport const evaluate = family({ key: { ds: param.enum([\"iris\", \"wine\", \"digits\"]) }, outputs: [\"eval-{ds}.txt\"],\n  run: async (ctx) => { writeFileSync(ctx.outputs[0], `${ctx.params.ds}\\n`); } });\nexport const e1 = evaluate({ ds: \"iris\" });\nexport const table = target({ inputs: [e1], outputs: [\"table.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `datasets: ${e1.family.options.key.ds.values.join(\",\")}\\n`);\n} });\n",
    "built": [
      "table"
    ],
    "files": {}
  },
  {
    "name": "fontfam",
    "v1": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\n// a font family: its name and the weights to build\nconst family = (name: string, weights: number[]) => ({ name, weights });\nconst inter = family(\"Inter\", [400, 700]);\nexport const css = target({ outputs: [\"fonts.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], inter.weights.map((w) => `@font-face { font-family: ${inter.name}; font-weight: ${w}; }`).join(\"\\n\") + \"\\n\");\n} });\n",
    "v2": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\n// a font family: its name and the weights to build\nconst family = (name: string, weights: number[]) => ({ name, weights });\nconst inter = family(\"Inter\", [400, 500, 700]);\nexport const css = target({ outputs: [\"fonts.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], inter.weights.map((w) => `@font-face { font-family: ${inter.name}; font-weight: ${w}; }`).join(\"\\n\") + \"\\n\");\n} });\n",
    "built": [
      "css"
    ],
    "files": {}
  },
  {
    "name": "crosstgt",
    "v1": "import * as pipe from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\n// a compilation target\nconst target = (triple: string, opt: string) => ({ triple, flags: [`--target=${triple}`, opt] });\nconst arm = target(\"aarch64-linux-gnu\", \"-O2\");\nexport const flags = pipe.target({ outputs: [\"flags.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], arm.flags.join(\" \") + \"\\n\");\n} });\n",
    "v2": "import * as pipe from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\n// a compilation target\nconst target = (triple: string, opt: string) => ({ triple, flags: [`--target=${triple}`, opt] });\nconst arm = target(\"aarch64-linux-gnu\", \"-O3\");\nexport const flags = pipe.target({ outputs: [\"flags.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], arm.flags.join(\" \") + \"\\n\");\n} });\n",
    "built": [
      "flags"
    ],
    "files": {}
  },
  {
    "name": "tmpl",
    "v1": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst title = \"Q3\";\nconst header = `# ${title ? `${title}'s report` : \"report\"}`, precision = 3;\nexport const report = target({ outputs: [\"report.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `${(1 / 3).toFixed(precision)}\\n`);\n} });\n",
    "v2": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst title = \"Q3\";\nconst header = `# ${title ? `${title}'s report` : \"report\"}`, precision = 5;\nexport const report = target({ outputs: [\"report.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `${(1 / 3).toFixed(precision)}\\n`);\n} });\n",
    "built": [
      "report"
    ],
    "files": {}
  },
  {
    "name": "static",
    "v1": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst registry: Record<string, number> = {};\nclass Plugin { static { registry.scale = 2; } }\nexport const t = target({ outputs: [\"t.txt\"], run: async (ctx) => { writeFileSync(ctx.outputs[0], `${registry.scale}\\n`); } });\n",
    "v2": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst registry: Record<string, number> = {};\nclass Plugin { static { registry.scale = 3; } }\nexport const t = target({ outputs: [\"t.txt\"], run: async (ctx) => { writeFileSync(ctx.outputs[0], `${registry.scale}\\n`); } });\n",
    "built": [
      "t"
    ],
    "files": {}
  },
  {
    "name": "greek",
    "v1": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst λ = 0.01; // L2 penalty\nexport const fit = target({ outputs: [\"fit.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `lambda=${λ}\\n`);\n} });\n",
    "v2": "import { target } from \"pipefile\";\nimport { writeFileSync } from \"node:fs\";\nconst λ = 0.05; // L2 penalty\nexport const fit = target({ outputs: [\"fit.txt\"], run: async (ctx) => {\n  writeFileSync(ctx.outputs[0], `lambda=${λ}\\n`);\n} });\n",
    "built": [
      "fit"
    ],
    "files": {}
  }
];
  for (const c of cases) {
    const p = new Project({ "Pipelinefile.ts": c.v1, ...c.files });
    try {
      let r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, `${c.name}: ${r.stdout}${r.stderr}`);
      p.write({ "Pipelinefile.ts": c.v2 });
      r = await p.run(["build", "--json"]);
      assert.equal(r.code, 0, `${c.name}: ${r.stdout}${r.stderr}`);
      assert.deepEqual(finished(r.events, "built").sort(), [...c.built].sort(), c.name);
    } finally {
      p.remove();
    }
  }
});

test("a word in a string, a template's text or a regex names no function: editing train() reruns only its target, not one that writes \"train.csv\"; in a module that uses eval, a string still counts", async () => {
  const ml = (trainBody: string, helperBody: string) =>
    `import { writeFile, mkdir } from "node:fs/promises";\n` +
    // prepare mentions train and helper only inside literals: a string, a template's text, a regex.
    `export async function prepare(ctx: any) {\n` +
    `  await mkdir(ctx.outputs[0], { recursive: true });\n` +
    "  const note = `made for train and ${ctx.id}`;\n" +
    `  const odd = /helper|"/.test(note);\n` +
    `  if (!odd) await writeFile(ctx.outputs[0] + "/train.csv", note);\n` +
    `}\n` +
    `export async function train(ctx: any) { await writeFile(ctx.outputs[0], ${JSON.stringify(trainBody)}); }\n` +
    `function helper() { return ${JSON.stringify(helperBody)}; }\n` +
    // uses helper for real, after a regex literal with a quote in it that follows a return
    `export async function uses(ctx: any) { const check = () => { return /"/.test(ctx.id) }; await writeFile(ctx.outputs[0], check() ? "" : helper()); }\n`;
  const evalMod = (body: string) =>
    `import { writeFile } from "node:fs/promises";\n` +
    `function secret() { return ${JSON.stringify(body)}; }\n` +
    `export async function viaEval(ctx: any) { await writeFile(ctx.outputs[0], eval("secret()")); }\n`;
  const p = new Project({
    "recipes/ml.ts": ml("m1", "h1"),
    "recipes/ev.ts": evalMod("e1"),
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `import { prepare, train, uses } from "./recipes/ml.ts";\n` +
      `import { viaEval } from "./recipes/ev.ts";\n` +
      `export const prep = target({ outputs: ["build/prep/"], run: prepare });\n` +
      `export const model = target({ outputs: ["build/m.txt"], run: train });\n` +
      `export const user = target({ outputs: ["build/u.txt"], run: uses });\n` +
      `export const ev = target({ outputs: ["build/e.txt"], run: viaEval });\n`,
  });
  try {
    let r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("build/prep/train.csv"), "made for train and prep");
    p.write({ "recipes/ml.ts": ml("m2", "h1") });
    r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["model"], "prep only mentions train in literals");
    p.write({ "recipes/ml.ts": ml("m2", "h2") });
    r = await p.run(["build", "--json"]);
    assert.deepEqual(finished(r.events, "built"), ["user"], "helper is used after a regex holding a quote");
    assert.equal(p.read("build/u.txt"), "h2");
    p.write({ "recipes/ev.ts": evalMod("e2") });
    r = await p.run(["build", "--json"]);
    assert.deepEqual(finished(r.events, "built"), ["ev"], "eval reaches secret through a string");
    assert.equal(p.read("build/e.txt"), "e2");
  } finally {
    p.remove();
  }
});
