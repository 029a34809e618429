// A user's mistake gets a message naming the thing, where it was declared and the fix;
// exit code 2; no stack trace; every problem at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { finished, PIPE_BIN, Project, testEnv } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

/**
 * "first" and "second" both declare build/x.txt: exit 2, the message names second's line (4 of
 * the Pipelinefile) and where first is declared, no stack, and the second load's copy of the
 * compiled modules (cli/project.ts) is removed.
 */
function bothSitesNamed(p: Project, r: { code: number | null; stderr: string }, first: RegExp) {
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`error: targets "first" and "second" both declare output "build/x.txt"\\n  at Pipelinefile\\.ts:4:\\d+\\n  "first" is declared at .*${first.source}`));
  noStack(r.stderr);
  assert.deepEqual(readdirSync(p.path("node_modules/.cache/pipe")).filter((n) => n.startsWith(".sites-")), [], "the copy of the compiled modules is removed");
}

function noStack(stderr: string) {
  assert.doesNotMatch(stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  assert.doesNotMatch(stderr, /internal error/);
}

test("a dependency cycle is reported with its whole trail and where it was declared", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["build/c.txt"], outputs: ["build/a.txt"], run: () => sh\`true\` });\n` +
      `export const b = target({ inputs: [a], outputs: ["build/b.txt"], run: () => sh\`true\` });\n` +
      `export const c = target({ inputs: [b], outputs: ["build/c.txt"], run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build", "c"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: dependency cycle: "a" -> "c" -> "b" -> "a"/);
  assert.match(r.stderr, /at Pipelinefile\.ts:2:\d+/);
  // Each link, with the input that makes it and where its target is declared.
  assert.match(r.stderr, /\n  "a" reads "build\/c.txt", an output of "c" \("a" is declared at Pipelinefile\.ts:2:\d+\)\n  "c" reads the outputs of "b" \("c" is declared at Pipelinefile\.ts:4:\d+\)\n  "b" reads the outputs of "a" \("b" is declared at Pipelinefile\.ts:3:\d+\)\n  hint: /);
  noStack(r.stderr);
  assert.equal(p.exists(".pipe"), false, "nothing was written");
});

test("a target that reads its own output (a file, or a file in its folder output, or an instance naming itself) is a cycle: exit 2, nothing run; a glob leaves its own outputs out", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const self = target({ inputs: ["build/self.txt"], outputs: ["build/self.txt"], run: ({ inputs, outputs }) => sh\`sh -c \${'cat "$0" > "$1"; echo more >> "$1"'} \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const d = target({ inputs: ["build/d/x.txt"], outputs: ["build/d/"], run: ({ outputs }) => sh\`mkdir \${outputs[0]}\` });\n` +
      `export const f = family({ key: { k: param.enum(["a", "b"]) }, inputs: ({ k }) => (k === "a" ? [f({ k: "a" })] : []), outputs: ["build/f-{k}.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export default [self, d, f({ k: "a" })];\n`,
    // The file exists: before, every build read it, appended to it and was stale again.
    "build/self.txt": "x\n",
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: dependency cycle: "self" -> "self": input "build\/self\.txt" is its own output\n {2}at Pipelinefile\.ts:2:\d+\n {2}the recipe would read what its previous run wrote, so it would never be up to date\n {2}hint: remove "build\/self\.txt" from the inputs/m);
  assert.match(r.stderr, /^error: dependency cycle: "d" -> "d": input "build\/d\/x\.txt" is inside its own output "build\/d\/"\n {2}at Pipelinefile\.ts:3:\d+/m);
  assert.match(r.stderr, /^error: dependency cycle: "f\[k=a\]" -> "f\[k=a\]"$/m);
  noStack(r.stderr);
  assert.equal(p.read("build/self.txt"), "x\n", "nothing ran");
  assert.equal(p.exists(".pipe"), false, "nothing was written");

  // A glob over a folder that holds the target's own folder output reads only the other files.
  const g = new Project({
    "Pipelinefile.ts": HEAD + `export const g = target({ inputs: ["build/**"], outputs: ["build/g/"], run: ({ inputs, outputs }) => sh\`sh -c \${'mkdir "$0" && ls "$@" > "$0/list"'} \${outputs[0]} \${inputs}\` });\n`,
    "build/in.txt": "x\n",
  });
  const first = await g.run(["build", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(g.read("build/g/list"), "build/in.txt\n");
  const again = await g.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "up-to-date"), ["g"], "its own output does not make it stale");
});

test("two targets with the same output are both named", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const one = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n` +
      `export const two = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: targets "one" and "two" both declare output "build\/x.txt"/);
  assert.match(r.stderr, /at Pipelinefile\.ts:3:\d+/);
  assert.match(r.stderr, /"one" is declared at .*Pipelinefile\.ts:2:\d+/);
  noStack(r.stderr);
});

test("one target declaring an output twice (also as build/./x or under two names) is a declaration error; nothing is built or published", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const g = target({ outputs: ["build/h.txt", "build/./h.txt"], run: ({ outputs }) => sh\`echo 1 > \${outputs[0]}; echo 2 > \${outputs[1]}\` });\n` +
      `export const n = target({ outputs: { a: "build/n.txt", b: "build/n.txt" }, run: ({ outputs }) => sh\`echo 1 > \${outputs.a}\` });\n` +
      `export const d = target({ outputs: ["build/d", "build/d/"], run: () => sh\`true\` });\n`,
  });
  try {
    for (let i = 0; i < 2; i++) {
      const r = await p.run(["build"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /error: target "g" declares output "build\/h.txt" twice\n  at Pipelinefile\.ts:2:\d+\n  hint: list each output once/);
      assert.match(r.stderr, /error: target "n" declares output "build\/n.txt" twice\n  at Pipelinefile\.ts:3:\d+/);
      assert.match(r.stderr, /error: target "d" declares output "build\/d" twice\n  at Pipelinefile\.ts:4:\d+/);
      noStack(r.stderr);
      assert.equal(p.exists("build"), false, "nothing ran, nothing was published");
    }
  } finally {
    p.remove();
  }
});

test("a param without a name, shared by two targets under two names, is an error naming both (a value set by one name was dropped)", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const q = param.enum(["x", "y"], { default: "x" });\n` +
      `export const t = target({ params: { mode: q }, outputs: ["build/t.txt"], run: ({ params, outputs }) => sh\`echo \${params.mode} > \${outputs[0]}\` });\n` +
      `export const t2 = target({ params: { other: q }, outputs: ["build/t2.txt"], run: ({ params, outputs }) => sh\`echo \${params.other} > \${outputs[0]}\` });\n` +
      // The same param under one name everywhere is fine.
      `const w = param.int({ default: 3 });\n` +
      `export const u = target({ params: { w }, outputs: ["build/u.txt"], run: ({ params, outputs }) => sh\`echo \${params.w} > \${outputs[0]}\` });\n` +
      `export const u2 = target({ params: { w }, outputs: ["build/u2.txt"], run: ({ params, outputs }) => sh\`echo \${params.w} > \${outputs[0]}\` });\n`,
  });
  try {
    for (const args of [["build", "-p", "mode=y"], ["params"]]) {
      const r = await p.run(args);
      assert.equal(r.code, 2, args.join(" ") + "\n" + r.stderr);
      assert.match(r.stderr, /error: a param without a name is used as "(mode|other)" by target "t2?" and as "(mode|other)" by target "t2?"\n  at Pipelinefile\.ts:[34]:\d+\n  target "t2?" is declared at Pipelinefile\.ts:[34]:\d+\n  the param is declared at Pipelinefile\.ts:2:\d+\n  hint: give the param one name/);
      assert.doesNotMatch(r.stderr, /"w"/);
      noStack(r.stderr);
    }
    assert.equal(p.exists("build"), false);
  } finally {
    p.remove();
  }
});

test("a family in the default export is reported at the export default line, naming where the family is declared", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const f = family({ key: { k: param.enum(["a", "b"]) }, outputs: ["build/{k}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `\n` +
      `export default [f];\n`,
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error: the default export lists family "f"; list instances instead\n  at Pipelinefile\.ts:4:1\n  family "f" is declared at Pipelinefile\.ts:2:\d+\n  hint: e\.g\. export default \[trend/);
    noStack(r.stderr);
  } finally {
    p.remove();
  }
});

test("a declaration's site is the Pipelinefile line that made it, also through a helper or a builtin", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const fam = family({ key: { k: param.enum(["a", "b"]) }, outputs: ({ k }) => [\`build/\${k}.txt\`], run: () => sh\`true\` });\n` +
      `export const x = fam({ k: "c" });\n` +
      `export const ys = [{ k: "z" }].map(fam);\n` +
      `export default [x, ...ys];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: bad key k for "fam": "c" is not one of "a", "b"\n  at Pipelinefile\.ts:3:18\n/);
  assert.match(r.stderr, /error: bad key k for "fam": "z" is not one of "a", "b"\n  at Pipelinefile\.ts:4:\d+\n/);
  noStack(r.stderr);
  const q = new Project({
    "Pipelinefile.ts": HEAD +
      `const mk = (name: string) =>\n  target({ name, outputs: ["build/same.txt"], run: () => sh\`true\` });\n` +
      `export const t1 = mk("t1");\n` +
      `export const t2 = ["t2"].map(mk);\n`,
  });
  const r2 = await q.run(["build"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /error: targets "t1" and "t2" both declare output "build\/same.txt"\n  at Pipelinefile\.ts:3:3\n/);
  noStack(r2.stderr);
});

test("sites are found again for a message: also for targets declared in an imported module, without leaving files behind", async () => {
  const p = new Project({
    "targets.ts": HEAD + `\nexport const first = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n`,
    "Pipelinefile.ts": HEAD + `export { first } from "./targets.ts";\n\nexport const second = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n`,
  });
  bothSitesNamed(p, await p.run(["build"]), /targets\.ts:3:\d+/);
});

test("finding sites again from a read-only command writes nothing into .pipe/, also when the compiled Pipelinefile lives there", async () => {
  // No node_modules: the compile cache is .pipe/compiled, which the failed build filled.
  const p = new Project(
    {
      "Pipelinefile.ts": HEAD +
        `export const first = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n` +
        `export const second = target({ outputs: ["build/x.txt"], run: () => sh\`true\` });\n`,
    },
    undefined,
    { link: false },
  );
  assert.equal((await p.run(["build"])).code, 2);
  // Every path, and every folder's mtime: a copy made and removed again changes its folder's.
  const listing = () => execFileSync("find", [".pipe", "-printf", "%p %y %T@\\n"], { cwd: p.dir, encoding: "utf8" }).split("\n").map((l) => (l.includes(" d ") ? l : l.replace(/ [\d.]+$/, ""))).sort().join("\n");
  const before = listing();
  assert.match(before, /\.pipe\/compiled\//);
  for (const cmd of [["status"], ["graph"], ["build", "--dry-run"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, cmd.join(" "));
    assert.match(r.stderr, /both declare output "build\/x.txt"\n  at Pipelinefile\.ts:3:\d+\n  "first" is declared at .*Pipelinefile\.ts:2:\d+/, cmd.join(" "));
    assert.equal(listing(), before, `${cmd.join(" ")} wrote into .pipe/`);
  }
});

test("finding sites again keeps the mistake: a project that imports a package still gets its own message, with lines", async () => {
  const p = new Project({
    "node_modules/somepkg/package.json": JSON.stringify({ name: "somepkg", version: "1.0.0", type: "module", exports: "./index.js" }),
    "node_modules/somepkg/index.js": `export const suffix = ".txt";\n`,
    "Pipelinefile.ts": HEAD + `import { suffix } from "somepkg";\n` +
      `export const first = target({ outputs: ["build/x" + suffix], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  const typo = await p.run(["build", "firts"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /error: unknown target "firts"; did you mean "first"\?/);
  assert.doesNotMatch(typo.stderr, /Cannot find package|failed while loading/);
  p.write({ "Pipelinefile.ts": p.read("Pipelinefile.ts") + `export const second = target({ outputs: ["build/x" + suffix], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` });
  bothSitesNamed(p, await p.run(["build"]), /Pipelinefile\.ts:3:\d+/);
});

test("a message about a target and an instance made while planning still says where the target is declared", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const two = target({ outputs: ["build/a.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const fam = family({ key: { k: param.enum(["a", "b"]) }, outputs: ({ k }) => [\`build/\${k}.txt\`], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const user = target({ inputs: () => [fam({ k: "a" })], outputs: ["build/u.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "user"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /both declare output "build\/a.txt"/);
  assert.match(r.stderr, /is declared at .*Pipelinefile\.ts:2:\d+/, r.stderr);
  noStack(r.stderr);
});

test("a missing source input that no target produces is named with the target that needs it", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const clean = target({ inputs: ["data/raw.csv"], outputs: ["build/clean.csv"], run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: "data\/raw.csv", needed by "clean", is missing and no target produces it/);
  assert.match(r.stderr, /at Pipelinefile\.ts:2:\d+/);
  assert.match(r.stderr, /hint: create data\/raw.csv/);
  noStack(r.stderr);
});

test("an unknown target gets a did-you-mean", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `export const train = target({ outputs: ["build/m"], run: () => sh\`touch \${"build/m"}\` });\n` });
  const r = await p.run(["build", "trian"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: unknown target "trian"; did you mean "train"\?/);
  noStack(r.stderr);
});

test("an unknown param gets a did-you-mean, a badly typed value names the param and the type, all at once", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const window = param.int("window", { default: 7, min: 1 });\nconst day = param.date("day", { default: "today" });\n` +
      `export const m = target({ outputs: ["build/m"], params: { window, day }, run: (c) => sh\`echo \${c.params.window} \${c.params.day} > \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--param", "windw=3", "--param", "day=2024-02-30", "-p", "window=0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: unknown param "windw"; did you mean "window"\?/);
  assert.match(r.stderr, /error: bad value for param "day": "2024-02-30" is not a date YYYY-MM-DD/);
  assert.match(r.stderr, /error: bad value for param "window": 0 is below the minimum 1/);
  assert.match(r.stderr, /at Pipelinefile\.ts:2:\d+/);
  const r2 = await p.run(["build", "--param", "window=seven"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /"seven" is not an integer/);
  noStack(r.stderr + r2.stderr);
});

test("setting a param the Pipelinefile exports but no target uses (or uses only as a family key) is a warning saying so, where it is declared, and the fix; exit code unchanged", async () => {
  // Before: exit 2 with 'param "seed" is declared but no target uses it', against the README's
  // rule that a value changing nothing in the build is a warning.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const seed = param.int("seed", { default: 1 });\n` +
      `export const window = param.int("window", { default: 7 });\n` +
      `export const f = family({ key: { k: param.enum(["a", "b"]), window }, outputs: ["build/f-{k}-{window}"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const m = target({ outputs: ["build/m"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [m];\n`,
    "run.params": "# settings\nseed=5\n",
  });
  const r = await p.run(["build", "--param", "seed=2", "-p", "window=3", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const warnings = r.events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
  assert.deepEqual(warnings, [
    `--param seed=2 changes nothing: no target uses param "seed" (declared at Pipelinefile.ts:2:27); to use it, add it to the params of the targets meant to read it: params: { seed }`,
    `--param window=3 changes nothing: param "window" (declared at Pipelinefile.ts:3:29) is only a key of family "f", which params do not set; name an instance: f[k=<k>,window=3]`,
  ]);
  assert.deepEqual(finished(r.events, "built"), ["m"]);
  const file = await p.run(["build", "--params", "run.params"]);
  assert.equal(file.code, 0, file.stdout + file.stderr);
  assert.match(file.stdout + file.stderr, /^warning: seed=5 \(from run\.params:2\) changes nothing: no target uses param "seed"/m);
  // Its value is still checked, and a name no param has is still an error.
  const bad = await p.run(["build", "-p", "seed=x", "-p", "sed=1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error: bad value for param "seed": "x" is not an integer\n  at Pipelinefile\.ts:2:\d+/);
  assert.match(bad.stderr, /error: unknown param "sed"; did you mean "seed"\?/);
  noStack(bad.stderr);
});

test("outputs outside the project root or inside .pipe/ are refused", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const out = target({ outputs: ["../escape.txt"], run: () => sh\`true\` });\n` +
      `export const state = target({ outputs: [".pipe/x"], run: () => sh\`true\` });\n` +
      `export const abs = target({ outputs: ["/tmp/pipe-abs-escape"], run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: output "..\/escape.txt" of "out" resolves outside the project root/);
  assert.match(r.stderr, /error: output ".pipe\/x" of "state" is inside .pipe\/, pipe's own state folder/);
  assert.match(r.stderr, /error: output "\/tmp\/pipe-abs-escape" of "abs" resolves outside the project root/);
  assert.doesNotMatch(r.stderr, /declares no outputs/, "only the real problem is reported");
  noStack(r.stderr);
});

test("a Pipelinefile that does not compile shows the location and a code frame", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `export const x = target({ outputs: ["a"], run: () => sh\`true\` ;\n` });
  const r = await p.run(["status"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: Pipelinefile does not compile: /);
  assert.match(r.stderr, /at Pipelinefile\.ts:2:\d+/);
  assert.match(r.stderr, /2 \| export const x/);
  noStack(r.stderr);
});

test("a Pipelinefile that throws while loading points at the line", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `\nthrow new Error("boom at load");\n` });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: Pipelinefile failed while loading: boom at load/);
  assert.match(r.stderr, /at Pipelinefile\.ts:3:\d+/);
  noStack(r.stderr);
});

test("no Pipelinefile: says where it looked", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-nopf-"));
  const r = spawnSync(process.execPath, [PIPE_BIN, "build"], { cwd: dir, env: testEnv(), encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`error: no Pipelinefile.ts found in ${dir.replace(/[/\\^$*+?.()|[\]{}]/g, "\\$&")} or any parent folder \\(looked for Pipelinefile.ts, Pipelinefile.mts, Pipelinefile.js, Pipelinefile.mjs\\)`));
  assert.match(r.stderr, /hint: create a Pipelinefile.ts/);
  noStack(r.stderr);
});

test("a recipe that exits 0 without producing a declared output fails its target and names the path", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const lazy = target({ outputs: ["build/made.txt", "build/forgot.txt"], run: (c) => sh\`echo hi > \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 1);
  const fin = r.events.find((e) => e.type === "target-finished");
  assert.ok(fin && fin.type === "target-finished");
  assert.equal(fin.status, "failed");
  assert.match(fin.reason, /declared output "build\/forgot.txt" was not produced/);
  assert.equal(p.exists("build/made.txt"), false, "nothing published for a failed target");
  const plain = await p.run(["build"]);
  assert.equal(plain.code, 1);
  assert.match(plain.stdout, /build\/forgot.txt/);
});

test("two family instances whose keys write the same id are a Pipelinefile error naming both", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const rep = family({ key: { cols: param.list() }, outputs: ({ cols }) => [\`build/\${cols.length}.txt\`], run: (c) => sh\`echo > \${c.outputs[0]}\` });\n` +
      `export const one = rep({ cols: ["a,b"] });\n` +
      `export const two = rep({ cols: ["a", "b"] });\n` +
      `export default [one, two, rep({ cols: ["a", ""] })];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /two instances of "rep" have one id, "rep\[cols=a,b\]": keys \{"cols":\["a","b"\]\} and \{"cols":\["a,b"\]\}/);
  assert.match(r.stderr, /Pipelinefile\.ts:4:\d+/, "where the second was declared");
  assert.match(r.stderr, /"rep\[cols=a,b\]" is declared at .*Pipelinefile\.ts:3:\d+/, "where the first was declared");
  assert.match(r.stderr, /change one key/);
  assert.doesNotMatch(r.stderr, /at .*\((?:node:|\/)/, "no stack trace");
  // An empty list element alone is fine, and an instance can be named with one on the command line.
  p.write({ "Pipelinefile.ts": p.read("Pipelinefile.ts").replace("export const two = rep({ cols: [\"a\", \"b\"] });\n", "").replace("[one, two, ", "[one, ") });
  const ok = await p.run(["build", "rep[cols=a,]", "--json"]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.deepEqual(finished(ok.events, "built"), ["rep[cols=a,]"]);
});

test("a folder output holding a FIFO fails its target, names the entry, and publishes nothing", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const odd = target({ outputs: ["build/tree/"], run: (c) => sh\`mkdir -p \${c.outputs[0]}/sub && echo a > \${c.outputs[0]}/a.txt && mkfifo \${c.outputs[0]}/sub/pipe\` });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const fin = r.events.find((e) => e.type === "target-finished");
  assert.ok(fin && fin.type === "target-finished");
  assert.equal(fin.status, "failed");
  assert.match(fin.reason, /output folder "build\/tree\/" holds a FIFO "build\/tree\/sub\/pipe"; a folder output may hold only regular files, folders and symlinks/);
  assert.equal(p.exists("build/tree"), false, "nothing published for a failed target");
});
test("a folder output holding a name that is not UTF-8 fails its target with a message that says so (not a raw ENOENT)", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `export const d = target({ outputs: ["out/d/"], run: ({ outputs }) => sh\`mkdir -p \${outputs[0]} && touch \${outputs[0]}/ok.txt \${outputs[0]}/"$(printf 'a\\377b')"\` });\n` });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const fin = r.events.find((e) => e.type === "target-finished" && e.target === "d");
  assert.ok(fin && fin.type === "target-finished" && fin.status === "failed");
  assert.match(fin.reason, /output folder "out\/d\/" holds an entry whose name is not valid UTF-8 \(\uFFFD marks the bytes\) "out\/d\/a\uFFFDb"; a folder output may hold only regular files, folders and symlinks, named in UTF-8/);
  assert.doesNotMatch(fin.reason, /ENOENT/);
  assert.equal(p.exists("out/d"), false, "nothing published");
});


test("an output declared a folder but written as a file, or declared a file but made a folder, fails its target and publishes nothing", async () => {
  // Catches checkStaged letting either kind mismatch through (it would be cached and published as the wrong kind).
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const dir = target({ outputs: ["build/d/", "build/dir-ok.txt"], run: (c) => sh\`echo x > \${c.outputs[0]} && echo ok > \${c.outputs[1]}\` });\n` +
      `export const file = target({ outputs: ["build/f.txt", "build/file-ok.txt"], run: (c) => sh\`mkdir -p \${c.outputs[0]} && echo x > \${c.outputs[0]}/in.txt && echo ok > \${c.outputs[1]}\` });\n` +
      `export const link = target({ outputs: ["build/l.txt"], run: (c) => sh\`ln -s /etc/hostname \${c.outputs[0]}\` });\n` +
      `export default [dir, file, link];\n`,
  });
  const r = await p.run(["build", "-k", "--json"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const reason = (id: string) => {
    const f = r.events.find((e) => e.type === "target-finished" && e.target === id);
    assert.ok(f && f.type === "target-finished" && f.status === "failed", `${id}: ${JSON.stringify(f)}`);
    return f.reason;
  };
  assert.match(reason("dir"), /declared output "build\/d\/" is not a directory/);
  assert.match(reason("file"), /declared output "build\/f\.txt" is not a regular file \(declare it with a trailing \/ to make it a directory output\)/);
  assert.match(reason("link"), /declared output "build\/l\.txt" is not a regular file: it is a symlink/);
  assert.deepEqual(readdirSync(p.path("build")), [], "nothing published, no staged output left");
  const again = await p.run(["build", "-k", "--json"]);
  assert.deepEqual(finished(again.events, "failed").sort(), ["dir", "file", "link"], "nothing was recorded as built");
});

test("a wrong command or option is a usage error with a suggestion", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `export const a = target({ outputs: ["build/a"], run: () => sh\`true\` });\n` });
  const r1 = await p.run(["biuld"]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /unknown command "biuld"; did you mean "build"\?/);
  const r2 = await p.run(["build", "--jbos", "2"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /unknown option --jbos/);
  const r3 = await p.run(["build", "trend[attribute=x]"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /unknown target "trend\[attribute=x\]"/);
  // An option before the command, and another command's option: the hint says where it goes.
  const r4 = await p.run(["--jobs", "2", "build"]);
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /unknown command "--jobs"\n  hint: options go after the command: pipe build --jobs 2/);
  const r5 = await p.run(["build", "--dot"]);
  assert.equal(r5.code, 2);
  assert.match(r5.stderr, /build: unknown option --dot\n  hint: --dot is an option of pipe graph \(pipe graph --help\)/);
});

test("a family key value of the wrong type is refused with the allowed values", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const trend = family({ key: { attribute: param.enum(["recovered", "total_positive"]) }, outputs: { svg: "build/{attribute}.svg" }, run: (c) => sh\`touch \${c.outputs.svg}\` });\n` +
      `export default [trend({ attribute: "recovered" })];\n`,
  });
  const r = await p.run(["build", "trend[attribute=recoverd]"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad key attribute for "trend": "recoverd" is not one of "recovered", "total_positive"/);
  const ok = await p.run(["build", "trend[attribute=total_positive]"]);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.ok(p.exists("build/total_positive.svg"));
});

test("writing a file makes no stack trace appear in any bad-input case (sanity on one file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-bad-"));
  writeFileSync(join(dir, "Pipelinefile.ts"), "export default 42;\n");
  const r = spawnSync(process.execPath, [PIPE_BIN, "status"], { cwd: dir, env: testEnv(), encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /the default export must be a target or a list of targets/);
  noStack(r.stderr);
});

test("a copy for sites that a killed pipe left behind is removed by the next second load, a fresh one is not", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `// two targets, one output\n` +
      `export const first = target({ outputs: ["build/x.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const second = target({ outputs: ["build/x.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  // The first run compiles (making node_modules/.cache/pipe); then plant the leftovers.
  bothSitesNamed(p, await p.run(["build"]), /Pipelinefile\.ts:3:\d+/);
  const cache = p.path("node_modules/.cache/pipe");
  mkdirSync(join(cache, ".sites-killed", "sub"), { recursive: true });
  writeFileSync(join(cache, ".sites-killed", "sub", "Pipelinefile.mjs"), "");
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(join(cache, ".sites-killed"), hourAgo, hourAgo);
  mkdirSync(join(cache, ".sites-running"));
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.deepEqual(readdirSync(cache).filter((n) => n.startsWith(".sites-")), [".sites-running"], "the stale copy is gone, one in use (fresh) is kept");
});

test("an unknown option of target() or family() is an error at its line, with a did-you-mean", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const fam = family({ key: { k: param.enum(["a"]) }, ouputs: ["build/{k}.txt"], run: () => sh\`true\` });\n` +
      `export const t = target({ outputs: ["build/t.txt"], parms: {}, bogusOpt: 1, resources: { cpus: 2 }, run: () => sh\`true\` });\n` +
      `export const u = target({ nme: "u2", outputs: ["build/u.txt"], run: () => sh\`true\` } as any);\n`,
  });
  for (const cmd of [["build"], ["status"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /error: family "fam" has an unknown option "ouputs"; did you mean "outputs"\?\n  at Pipelinefile\.ts:2:\d+\n  hint: options: description, env, inputs, key, name, outputs, params, resources, run\n/);
    assert.match(r.stderr, /error: target "t" has an unknown option "parms"; did you mean "params"\?\n  at Pipelinefile\.ts:3:\d+\n/);
    assert.match(r.stderr, /error: target "t" has an unknown option "bogusOpt"\n  at Pipelinefile\.ts:3:\d+\n  hint: options: description, env, inputs, name, outputs, params, resources, run\n/);
    assert.match(r.stderr, /error: target "t" has an unknown resource "resources.cpus"; did you mean "cpu"\?\n  at Pipelinefile\.ts:3:\d+\n/);
    assert.match(r.stderr, /error: target "u" has an unknown option "nme"; did you mean "name"\?\n  at Pipelinefile\.ts:4:\d+\n/);
    noStack(r.stderr);
  }
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a param declaration's unknown option (did you mean), min above max, or an enum without values is an error at its line, all at once", async () => {
  // Before: `defualt` was ignored and the message was 'param "i": it has no default and was not
  // set'; min 5 max 1 and param.enum([]) were accepted, and no value could ever be given.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const i = param.string("i", { defualt: "q" } as any);\n` +
      `const f = param.number("f", { min: 5, max: 1, default: 3 });\n` +
      `const e = param.enum([]);\n` +
      `const d = param.date("d", { doc: "day", min: "2024-02-01", max: "2024-01-01", defalt: "today" } as any);\n` +
      `export const fam = family({ key: { e }, outputs: ["build/f-{e}"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const m = target({ params: { i, f, d }, outputs: ["build/m"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      // Exported, and no target uses it yet: said all the same (it was not, before a target used it).
      `export const q = param.enum(["x", "y"], { default: "z" } as any);\n`,
  });
  for (const cmd of [["build"], ["params"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stderr, [
      `error: param "q" has the default "z", which is not one of its values "x", "y"`,
      `  at Pipelinefile.ts:8:24`,
      `  hint: make the default one of the values, or add "z" to them`,
      `error: param "i" has an unknown option "defualt"; did you mean "default"?`,
      `  at Pipelinefile.ts:2:17`,
      `  hint: options: default, doc, max, min`,
      `error: param "f" has min 5 above its max 1, so no value is allowed`,
      `  at Pipelinefile.ts:3:17`,
      `  hint: swap them (min: 1, max: 5), or fix the one that is wrong`,
      `error: param "d" has an unknown option "defalt"; did you mean "default"?`,
      `  at Pipelinefile.ts:5:17`,
      `  hint: options: default, doc, max, min`,
      `error: param "d" has min "2024-02-01" above its max "2024-01-01", so no value is allowed`,
      `  at Pipelinefile.ts:5:17`,
      `  hint: swap them (min: "2024-01-01", max: "2024-02-01"), or fix the one that is wrong`,
      `error: param of key "e" of family "fam" has no values: an enum param needs the list of values it allows`,
      `  at Pipelinefile.ts:4:17`,
      `  hint: list them: param.enum(["a", "b"])`,
      ``,
    ].join("\n"));
  }
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a param declared with arguments of the wrong shape (options not an object, the name after the values or options) is an error at its line with the call to write", async () => {
  // Before: param.int("window", 7) dropped the 7, and the message was 'param "window": it has no
  // default and was not set ... give it a default where it is declared', under a line with one.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const window = param.int("window", 7 as any);\n` +
      `export const model = param.enum(["linear", "forest"], "model" as any, { default: "linear" } as any);\n` +
      `export const lr = (param.number as any)({ default: 0.1 }, "lr");\n` +
      `export const ok = param.int("ok", { default: 1 });\n` +
      `export const t = target({ params: { window, model, lr, ok }, outputs: ["build/t"], run: (c) => sh\`echo \${c.params.window} \${c.params.model} \${c.params.lr} \${c.params.ok} > \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stderr, [
    `error: param "lr" was given a second argument after its options; the name comes first`,
    `  at Pipelinefile.ts:4:26`,
    `  hint: write param.number("lr", { ... })`,
    `error: param "model" was given its name after its values`,
    `  at Pipelinefile.ts:3:28`,
    `  hint: write param.enum("model", ["linear", "forest"], { ... })`,
    `error: param "window" was given number 7 where its options belong: they are an object`,
    `  at Pipelinefile.ts:2:29`,
    `  hint: write param.int("window", { default: 7 })`,
    ``,
  ].join("\n"));
  noStack(r.stderr);
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a family with the same name as a key and in params is an error at its line (the key's value hid the param's)", async () => {
  // Before: no message; ctx.params.window was the key's value, -p w2=5 changed nothing and said
  // nothing, and `pipe params` listed w2 as used by the instance.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const w2 = param.int("w2", { default: 99 });\n` +
      `export const f = family({ key: { window: param.int({ default: 7 }) }, params: { window: w2 }, outputs: ["build/f-{window}.txt"], run: (c) => sh\`echo \${c.params.window} > \${c.outputs[0]}\` });\n` +
      `export default [f({ window: 3 })];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stderr, [
    `error: family "f" has "window" both as a key and in params`,
    `  at Pipelinefile.ts:3:18`,
    `  hint: a key is already in ctx.params: drop params.window, or give the param another name there (params: { window2: ... })`,
    ``,
  ].join("\n"));
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a bad inputs or outputs item is named by its place, says what it is and how to fix it; a target named with a key gets the id to type", async () => {
  // Before: three identical lines 'an input of "a" is not a path, glob or target', and
  // 'outputs of "g" must be a list ...' or '"x" is a target, not a family' without the fix.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const window = param.int("window", { default: 7 });\n` +
      `export const x = target({ params: { window }, outputs: ["build/x"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const a = target({ inputs: [window, 42, early, x], outputs: ["build/a"], run: (c) => sh\`touch \${c.outputs[0]}\` } as any);\n` +
      `export const g = target({ inputs: { t: x, n: [x, 3] }, outputs: "build/g", run: (c) => sh\`touch \${c.outputs[0]}\` } as any);\n` +
      `export const h = target({ inputs: x, outputs: [undefined], run: (c) => sh\`touch \${c.outputs[0]}\` } as any);\n` +
      `var early = x;\n`,
  });
  const r = await p.run(["build", "a", "g", "h", "x[window=3]"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const blocks = r.stderr.split(/\n(?=error: )/).map((b) => b.trimEnd());
  const expect = [
    `error: outputs of "g" must be a list of paths or named paths, not "build/g" (a string)\n  at Pipelinefile.ts:5:18\n  hint: write outputs: ["build/g"]`,
    `error: outputs[0] of "h" is undefined, not a path\n  at Pipelinefile.ts:6:18\n  undefined usually means it was used before its declaration, or a circular import\n  hint: declare what this item names above this target (or break the import cycle), or leave the item out`,
    `error: "x" is a target, not a family; it takes no [key=value]\n  hint: name it without the brackets, and set its params with --param: x --param window=3`,
    `error: inputs[0] of "a" is param "window", not a path, glob or target\n  at Pipelinefile.ts:4:18\n  hint: a param is not an input: give it to the target (params: { window }) and choose inputs by its value with a function: inputs: ({ window }) => [\`data/\${window}.csv\`]`,
    `error: inputs[1] of "a" is the number 42, not a path, glob or target\n  at Pipelinefile.ts:4:18\n  hint: write a path as a string ("42"), or list a glob or a target`,
    `error: inputs[2] of "a" is undefined, not a path, glob or target\n  at Pipelinefile.ts:4:18\n  undefined usually means it was used before its declaration, or a circular import\n  hint: declare what this item names above this target (or break the import cycle), or leave the item out`,
    `error: inputs.n[1] of "g" is the number 3, not a path, glob or target\n  at Pipelinefile.ts:5:18\n  hint: write a path as a string ("3"), or list a glob or a target`,
    `error: inputs of "h" must be a list or named inputs, not target "x" alone\n  at Pipelinefile.ts:6:18\n  hint: put it in a list: inputs: [x]`,
  ];
  assert.deepEqual(blocks, expect);
  noStack(r.stderr);
  // A target named with a key that is not one of its params: just the id.
  const k = await p.run(["status", "x[k=1]"]);
  assert.equal(k.code, 2);
  assert.match(k.stderr, /error: "x" is a target, not a family; it takes no \[key=value\]\n  hint: name it without the brackets: x\n/);
});

test("an input that is a symlink loop, goes through a file, or is a dangling symlink is a named error, not an internal one", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const d = target({ inputs: ["loop.txt"], outputs: ["out/d.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const e = target({ inputs: ["notes.txt/x"], outputs: ["out/e.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const f = target({ inputs: ["dang.txt"], outputs: ["out/f.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
    "notes.txt": "hi\n",
  });
  symlinkSync("loop.txt", p.path("loop.txt"));
  symlinkSync("nowhere.txt", p.path("dang.txt"));
  for (const cmd of [["build"], ["status"], ["build", "d"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, cmd.join(" ") + r.stdout + r.stderr);
    assert.match(r.stderr, /error: "loop.txt", needed by "d", cannot be read: it is a symlink loop \(ELOOP: too many levels of symbolic links\)\n  at Pipelinefile\.ts:2:\d+\n  hint: /);
    noStack(r.stderr);
    if (cmd.length > 1) continue;
    assert.match(r.stderr, /error: "notes.txt\/x", needed by "e", cannot be read: a part of its path is a file, not a folder \(ENOTDIR\)\n  at Pipelinefile\.ts:3:\d+\n  hint: fix the path/);
    assert.match(r.stderr, /error: "dang.txt", needed by "f", is a dangling symlink: it points to "nowhere.txt", which does not exist\n  at Pipelinefile\.ts:4:\d+\n  hint: create what it points to, or point dang.txt at an existing file/);
  }
  assert.equal(p.exists("out"), false, "nothing was built");
});

test("an output whose folder is a symlink inside the project is refused, naming the link and the real path", async () => {
  // build -> src: "build/in.txt" would rewrite the source src/in.txt; "build/f.txt" and
  // "src/f.txt" would be one file owned by two targets.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["src/in.txt"], outputs: ["build/in.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const x = target({ outputs: ["build/f.txt", "build/deep/g/"], run: () => sh\`true\` });\n` +
      `export const y = target({ outputs: ["src/f.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
    "src/in.txt": "user source\n",
  });
  symlinkSync("src", p.path("build"));
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: output "build\/in.txt" of "a" goes through a symlinked folder \(build -> src\), so it would be written at src\/in.txt\n  at Pipelinefile\.ts:2:\d+\n  hint: declare the real path \("src\/in.txt"\), or replace the link with a folder\n/);
  assert.match(r.stderr, /error: output "build\/f.txt" of "x" goes through a symlinked folder \(build -> src\), so it would be written at src\/f.txt\n/);
  assert.match(r.stderr, /error: output "build\/deep\/g\/" of "x" goes through a symlinked folder \(build -> src\), so it would be written at src\/deep\/g\/\n/);
  assert.doesNotMatch(r.stderr, /declares no outputs/, "only the real problem is reported");
  noStack(r.stderr);
  assert.equal(p.read("src/in.txt"), "user source\n", "the source is untouched");
  assert.equal(p.exists("src/f.txt"), false, "nothing was built");
});

test("problems of different kinds are reported together: a duplicate output, a missing input, a param without a value", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const w = param.int("w");\n` +
      `export const a = target({ inputs: ["missing.txt"], outputs: ["build/a.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const b = target({ inputs: ["x.txt"], outputs: ["build/b.txt"], params: { w }, run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const c = target({ inputs: ["x.txt"], outputs: ["build/b.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      // d reads what e would make, but e's output is refused: only the refusal is reported.
      `export const d = target({ inputs: [".pipe/q"], outputs: ["build/d.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const e = target({ outputs: [".pipe/q"], run: () => sh\`true\` });\n`,
    "x.txt": "x\n",
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: targets "b" and "c" both declare output "build\/b.txt"\n  at Pipelinefile\.ts:5:\d+\n/);
  assert.match(r.stderr, /error: "missing.txt", needed by "a", is missing and no target produces it\n  at Pipelinefile\.ts:3:\d+\n/);
  assert.match(r.stderr, /error: param "w": it has no default and was not set\n  at Pipelinefile\.ts:2:\d+\n/);
  assert.match(r.stderr, /error: output ".pipe\/q" of "e" is inside .pipe\//);
  assert.doesNotMatch(r.stderr, /".pipe\/q", needed by "d"/, "an input a refused output declares is not also 'missing'");
  noStack(r.stderr);
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a directory input that contains the target's own output is refused at load", async () => {
  // Before: rebuilt on every build ("changed while it ran"), reading its own previous output.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["data/"], outputs: ["data/index.txt"], run: ({ outputs }) => sh\`ls data > \${outputs[0]}\` });\n` +
      `export const b = target({ inputs: ["data/**"], outputs: ["data/list.txt"], run: ({ outputs }) => sh\`ls data > \${outputs[0]}\` });\n` +
      `export default [a];\n`,
    "data/x": "1\n",
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: directory input "data\/" of "a" contains the target's own output "data\/index.txt"\n  at Pipelinefile\.ts:2:\d+\n  the recipe would read its previous output, so what it makes would depend on earlier runs\n  hint: write the output outside data\/ \(e\.g\. build\/index.txt\), or list what the recipe reads with a glob \(data\/\*\*\), which leaves its own outputs out\n/);
  noStack(r.stderr);
  assert.equal(p.exists("data/index.txt"), false, "nothing was built");
  // The glob form settles: a second build runs nothing.
  p.write({ "Pipelinefile.ts": p.read("Pipelinefile.ts").replace("export default [a];\n", "export default [b];\n").replace(/export const a = .*\n/, "") });
  const first = await p.run(["build", "--json"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(finished(first.events, "built"), ["b"]);
  const second = await p.run(["build", "--json"]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(finished(second.events, "built"), []);
});

test("importing a local module that does not exist, or a package that is not installed, names the source line and the fix", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `import x from "./nope.ts";\n` + `export const a = target({ outputs: ["build/a.txt"], description: String(x), run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: cannot import "\.\/nope\.ts": there is no file nope\.ts\n  at Pipelinefile\.ts:2:15\n  2 \| import x from "\.\/nope\.ts";\n.*\n  hint: check the path \(it is relative to the importing file's folder\) and the file name, or create the file/);
  assert.doesNotMatch(r.stderr, /syntax error/);
  noStack(r.stderr);
  p.write({
    "lib/h.ts": `\nimport y from "@scope/nope/sub";\nexport const z = String(y);\n`,
    "Pipelinefile.ts": HEAD + `import { z } from "./lib/h.ts";\n\nimport left from "left-pad-nope";\n` + `export const a = target({ outputs: ["build/a.txt"], description: z + String(left), run: () => sh\`true\` });\n`,
  });
  const r2 = await p.run(["status"]);
  assert.equal(r2.code, 2, r2.stdout + r2.stderr);
  assert.match(r2.stderr, /error: package "(@scope\/nope|left-pad-nope)" is not installed\n  at (lib\/h\.ts:2:15|Pipelinefile\.ts:4:18)\n  hint: install it \(npm install (@scope\/nope|left-pad-nope)\) in the project, or check the name/);
  assert.doesNotMatch(r2.stderr, /\.cache\/pipe|Pipelinefile\.mjs/, "no path into the compile cache");
  noStack(r2.stderr);
});

test("an unknown option is reported together with the graph's problems (a cycle elsewhere), in one run", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["b.txt"], outputs: ["a.txt"], run: () => sh\`true\` });\n` +
      `export const b = target({ inputs: ["a.txt"], outputs: ["b.txt"], run: () => sh\`true\` });\n` +
      `export const c = target({ outputs: ["c.txt"], parms: {}, run: () => sh\`true\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: target "c" has an unknown option "parms"; did you mean "params"\?\n {2}at Pipelinefile\.ts:4:\d+/);
  assert.match(r.stderr, /error: dependency cycle: "a" -> "b" -> "a"/);
  noStack(r.stderr);
  assert.equal(p.exists(".pipe"), false, "nothing written");
});

test("naming problems are reported together with the graph's: unnamed targets, an unknown option, a cycle, a missing input, a duplicate output, refused outputs", async () => {
  // Before: only the two unnamed targets and the option were named; the rest came one fix later.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const loop = ["x", "y"].map((n) => target({ outputs: [\`build/\${n}.txt\`, "build/shared.txt"], run: () => sh\`true\` }));\n` +
      `export const opt = target({ outputs: ["build/o.txt"], parms: {}, run: () => sh\`true\` } as any);\n` +
      `export const a = target({ inputs: ["build/b.txt"], outputs: ["build/a.txt"], run: () => sh\`true\` });\n` +
      `export const b = target({ inputs: [a], outputs: ["build/b.txt"], run: () => sh\`true\` });\n` +
      `export const m = target({ inputs: ["missing.txt"], outputs: ["build/m.txt"], run: () => sh\`true\` });\n` +
      `export const d1 = target({ outputs: ["build/dup.txt"], run: () => sh\`true\` });\n` +
      `export const d2 = target({ outputs: ["build/dup.txt"], run: () => sh\`true\` });\n` +
      `export const out = target({ outputs: ["../escape.txt"], run: () => sh\`true\` });\n` +
      `export const st = target({ outputs: [".pipe/x"], run: () => sh\`true\` });\n`,
  });
  for (const cmd of [["build"], ["status"]]) {
    const r = await p.run(cmd);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /error: a target in the exported "loop" has no name\n  at Pipelinefile\.ts:2:\d+\n  the messages below call it "\(unnamed target 1\)"\n  hint: give each one `name: "\.\.\."`/);
    assert.match(r.stderr, /error: a target in the exported "loop" has no name\n  at Pipelinefile\.ts:2:\d+\n  the messages below call it "\(unnamed target 2\)"/);
    assert.match(r.stderr, /error: targets "\(unnamed target 1\)" and "\(unnamed target 2\)" both declare output "build\/shared.txt"/);
    assert.match(r.stderr, /error: target "opt" has an unknown option "parms"/);
    assert.match(r.stderr, /error: dependency cycle: "a" -> "b" -> "a"/);
    assert.match(r.stderr, /error: "missing.txt", needed by "m", is missing/);
    assert.match(r.stderr, /error: targets "d1" and "d2" both declare output "build\/dup.txt"/);
    assert.match(r.stderr, /error: output "..\/escape.txt" of "out" resolves outside the project root/);
    assert.match(r.stderr, /error: output ".pipe\/x" of "st" is inside .pipe\//);
    noStack(r.stderr);
  }
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("option values of the wrong kind are errors at the declaration: env as a string, resources.cpu not a whole number of slots", async () => {
  // Before: env "HOME" was split into H, O, M, E; cpu 0, -1 and 1.5 were taken as 1.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const e = target({ outputs: ["build/e.txt"], env: "HOME" as any, run: () => sh\`true\` });\n` +
      `export const z = target({ outputs: ["build/z.txt"], resources: { cpu: 0 }, run: () => sh\`true\` });\n` +
      `export const n = family({ key: { k: param.enum(["a"]) }, outputs: ["build/n-{k}.txt"], resources: { cpu: -1 }, run: () => sh\`true\` });\n` +
      `export const f = target({ outputs: ["build/f.txt"], resources: { cpu: 1.5, mem: -3 }, env: ["OK", "NOT OK"], run: () => sh\`true\` });\n` +
      `export const r = target({ outputs: ["build/r.txt"], resources: 2 as any, run: () => sh\`true\` });\n` +
      `export default [e, z, n({ k: "a" }), f, r];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: env of target "e" must be a list of env var names, not "HOME" \(a string\)\n  at Pipelinefile\.ts:2:\d+\n  hint: write env: \["HOME"\]\n/);
  assert.match(r.stderr, /error: resources\.cpu of target "z" must be a whole number of -j slots, 1 or more, not 0\n  at Pipelinefile\.ts:3:\d+\n/);
  assert.match(r.stderr, /error: resources\.cpu of family "n" must be a whole number of -j slots, 1 or more, not -1\n  at Pipelinefile\.ts:4:\d+\n/);
  assert.match(r.stderr, /error: resources\.cpu of target "f" must be a whole number of -j slots, 1 or more, not 1\.5\n  at Pipelinefile\.ts:5:\d+\n/);
  assert.match(r.stderr, /error: resources\.mem of target "f" is not a size: -3\n  at Pipelinefile\.ts:5:\d+\n/);
  assert.match(r.stderr, /error: env of target "f" lists "NOT OK" \(a string\), which is not an env var name\n  at Pipelinefile\.ts:5:\d+\n/);
  assert.match(r.stderr, /error: resources of target "r" must be an object, not 2\n  at Pipelinefile\.ts:6:\d+\n/);
  assert.equal(r.stderr.match(/resources\.cpu of family "n"/g)?.length, 1, "a family's bad value is reported once, not per instance");
  noStack(r.stderr);
  assert.equal(p.exists("build"), false, "nothing was built");
});

test("a bad value or an unknown name in a params file is reported at the file's line, with where the param is declared and its doc", async () => {
  // Before: "at Pipelinefile.ts:3" with "set it with --param i=...", and "zz" got "did you mean \"s\"?".
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const s = param.string("s", { default: "x", doc: "a label" });\n` +
      `const i = param.int("i", { default: 1, doc: "how many rows" });\n` +
      `export const t = target({ params: { s, i }, outputs: ["build/t.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
    "run.params": "# values\ni=abc\nzz=1\ns=ok\n",
    "run.json": `{\n  "s": "ok",\n  "i": "abc"\n}\n`,
  });
  const r = await p.run(["build", "--params", "run.params"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: bad value for param "i" in run\.params: "abc" is not an integer\n  at run\.params:2:1\n  i: how many rows\n  param "i" is declared at .*Pipelinefile\.ts:3:\d+\n  hint: fix the value in run\.params, or override it with --param i=<value>\n/);
  assert.match(r.stderr, /error: unknown param "zz" in run\.params\n  at run\.params:3:1\n  params:\n    i \(int, default 1\): how many rows\n    s \(string, default x\): a label\n  hint: set one of the params above \(fix the name in run\.params\)\n/);
  assert.doesNotMatch(r.stderr, /did you mean/);
  const json = await p.run(["build", "--params", "run.json"]);
  assert.equal(json.code, 2, json.stdout + json.stderr);
  assert.match(json.stderr, /error: bad value for param "i" in run\.json: "abc" is not an integer\n  at run\.json:3:1\n/);
  // Overridden on the command line: the file's value does not count, and --param's is the one reported.
  const over = await p.run(["build", "--params", "run.json", "-p", "i=x"]);
  assert.match(over.stderr, /error: bad value for param "i": "x" is not an integer\n  at Pipelinefile\.ts:3:\d+\n  i: how many rows\n  hint: set it with --param i=<value>\n/);
  // A boolean lists what it accepts; an unknown --param lists the params with their docs.
  p.write({ "Pipelinefile.ts": p.read("Pipelinefile.ts").replace(`params: { s, i }`, `params: { s, i, b: param.boolean("b", { default: false }) }`) });
  const bool = await p.run(["build", "-p", "b=maybe", "-p", "rows=3"]);
  assert.equal(bool.code, 2);
  assert.match(bool.stderr, /error: bad value for param "b": "maybe" is not true, false, yes, no, 1 or 0\n/);
  assert.match(bool.stderr, /error: unknown param "rows"\n  params:\n    b \(boolean, default false\)\n    i \(int, default 1\): how many rows\n    s \(string, default x\): a label\n  hint: set one of the params above\n/);
  noStack(r.stderr + json.stderr + over.stderr + bool.stderr);
});

test("a bad default is to be fixed at the declaration; a bad key value in the Pipelinefile gets a Pipelinefile hint", async () => {
  // Before: both hinted at the command line ("set it with --param", "write g[attribute=...,n=...]").
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const w = param.int("w", { default: "seven" as any });\n` +
      `export const g = family({ key: { attribute: param.enum(["a", "b"]), n: param.int({ default: 1 }) }, params: { w }, outputs: ["build/g-{attribute}-{n}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const ok = g({ attribute: "a" });\n` +
      `export const bad = g({ attribute: "c", n: 2 });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: bad default for param "w": "seven" is not an integer\n  at Pipelinefile\.ts:2:\d+\n  hint: fix the default where the param is declared \(the line above\); --param w=<value> overrides it\n/);
  assert.match(r.stderr, /error: bad key attribute for "g": "c" is not one of "a", "b"\n  at Pipelinefile\.ts:5:\d+\n  hint: pass another value where the instance is made: g\(\{ attribute: "a" \}\)\n/);
  assert.equal(r.stderr.match(/bad key attribute/g)?.length, 1, "reported once");
  assert.doesNotMatch(r.stderr, /set it with --param|write g\[/);
  noStack(r.stderr);
});

test("on the command line, an unknown key of an existing family is named as such, with the family's keys", async () => {
  // Before: 'unknown target "f[colour=red]"'.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const f = family({ key: { color: param.enum(["red", "blue"]), size: param.int({ default: 1 }) }, outputs: ["build/{color}-{size}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [f({ color: "red" })];\n`,
  });
  const r = await p.run(["build", "f[colour=red]"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: family "f" has no key "colour"; did you mean "color"\?\n  family "f" is declared at .*Pipelinefile\.ts:2:\d+\n  hint: keys: color, size\n/);
  assert.doesNotMatch(r.stderr, /unknown target|bad key color/);
  const asParam = await p.run(["build", "-p", "color=blue"]);
  assert.equal(asParam.code, 2);
  assert.match(asParam.stderr, /error: unknown param "color"; "color" is a key of family "f"\n  hint: name the instance: f\[color=blue\] \(keys are not set with --param\)\n/);
  noStack(r.stderr + asParam.stderr);
});

test("on the command line, a param written inside an instance id, and a key given with --param, get the command to type with the keys that have no default", async () => {
  // Before: 'bad key attribute for "trend": "recovered,window=3" is not one of ...' with the hint
  // 'write trend[attribute=...]'; and -p k=5 suggested model[k=5], which failed next on country.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const window = param.int("window", { default: 7 });\n` +
      `const country = param.enum(["it", "fr", "de"]);\n` +
      `export const trend = family({ key: { attribute: param.enum(["total_positive", "recovered"]) }, params: { window }, outputs: ["build/t-{attribute}.txt"], run: (c) => sh\`echo \${c.params.window} > \${c.outputs[0]}\` });\n` +
      `export const model = family({ key: { country, k: param.int({ default: 1 }) }, outputs: ["build/m-{country}-{k}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const raw = family({ key: { country }, outputs: ["build/r-{country}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  const inId = await p.run(["build", "trend[attribute=recovered,window=3]"]);
  assert.equal(inId.code, 2, inId.stdout + inId.stderr);
  assert.match(inId.stderr, /\n  hint: window is a param, not a key: write 'trend\[attribute=recovered\]' --param window=3\n/);
  const typo = await p.run(["build", "trend[attribute=recovered,windw=3]"]);
  assert.match(typo.stderr, /\n  hint: trend has no key windw: write 'trend\[attribute=recovered\]'\n/);
  // A key given twice continued the value before it: 'bad key k: "3,country=de" is not an integer'.
  const twice = await p.run(["build", "model[country=it,k=3,country=de]"]);
  assert.equal(twice.code, 2, twice.stdout + twice.stderr);
  assert.match(twice.stderr, /error: bad key k for "model": "3,country=de" is not an integer\n(?:  .*\n)*  hint: country is given twice in the instance name; give each key once: model\[country=\.\.\.,k=\.\.\.\]\n/);
  const key = await p.run(["build", "-p", "k=5"]);
  assert.equal(key.code, 2);
  assert.match(key.stderr, /error: unknown param "k"; "k" is a key of family "model"\n  hint: name the instance: model\[country=\.\.\.,k=5\] \(keys are not set with --param\)\n/);
  const shared = await p.run(["build", "-p", "country=de"]);
  assert.match(shared.stderr, /error: unknown param "country"; "country" is a key of families "model" and "raw"\n  hint: name the instance: model\[country=de\] or raw\[country=de\] \(keys are not set with --param\)\n/);
  // The command it suggests works.
  const ok = await p.run(["build", "trend[attribute=recovered]", "--param", "window=3"]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal(p.read("build/t-recovered.txt"), "3\n");
  noStack(inId.stderr + typo.stderr + key.stderr + shared.stderr);
});

test("on the command line, an instance id written without name=value, with quotes inside the brackets, a misspelt value or a misspelt family gets the id to type", async () => {
  // Before: 'unknown target "trend[recovered]"' with no hint; "Trend[attribute=recovered]"
  // suggested "trend"; a quoted or misspelt value got only 'write trend[attribute=...]'.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const trend = family({ key: { attribute: param.enum(["total_positive", "recovered"]) }, outputs: ["build/t-{attribute}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const model = family({ key: { country: param.enum(["it", "de"]), k: param.int({ default: 1 }) }, outputs: ["build/m-{country}-{k}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const g = family({ key: { country: param.enum("c", ["it", "fr"]) }, outputs: ["build/g-{country}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  const cases: [string, RegExp][] = [
    ["g[c=fr]", /^error: family "g" has no key "c"\n.*\n  hint: "c" names the param of key country; the key is country: write g\[country=fr\]\n$/],
    ["trend[recovered]", /^error: "trend\[recovered\]": a family's keys are written name=value\n  hint: write 'trend\[attribute=recovered\]'\n$/],
    ["model[de,k=2]", /^error: "model\[de,k=2\]": a family's keys are written name=value\n  hint: write 'model\[country=de,k=2\]'\n$/],
    ["trend[attribute]", /^error: "trend\[attribute\]": a family's keys are written name=value\n  hint: write 'trend\[attribute=\.\.\.\]' \(attribute: total_positive, recovered\)\n$/],
    ["Trend[attribute=recovered]", /^error: unknown target "Trend\[attribute=recovered\]"; did you mean "trend\[attribute=recovered\]"\?\n/],
    ["trend[attribute='recovered']", /\n  hint: quotes inside the brackets are part of the value; quote the whole id for the shell: 'trend\[attribute=recovered\]'\n$/],
    ["trend[attribute=recoverd]", /\n  hint: did you mean attribute=recovered\? write 'trend\[attribute=recovered\]'\n$/],
  ];
  for (const [id, expected] of cases) {
    const r = await p.run(["build", id]);
    assert.equal(r.code, 2, id + "\n" + r.stdout + r.stderr);
    assert.match(r.stderr, expected, id);
    noStack(r.stderr);
  }
  // What the hints say to type builds.
  for (const id of ["trend[attribute=recovered]", "model[country=de,k=2]"]) assert.equal((await p.run(["build", id])).code, 0, id);
});

test("a family named on the command line that has no instance says where it is declared and the id to type with its keys", async () => {
  // Before: 'family "raw" has no instances to build' with the hint 'name one: raw[key=value]'.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const raw = family({ key: { country: param.enum(["it", "de"]), year: param.int({ default: 2020 }) }, outputs: ["build/r-{country}-{year}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const other = target({ outputs: ["build/o.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  for (const cmd of ["build", "status", "why", "clean"]) {
    const r = await p.run([cmd, "raw"]);
    assert.equal(r.code, 2, cmd + "\n" + r.stdout + r.stderr);
    assert.equal(r.stderr, [
      `error: family "raw" has no instances here: none is exported, in the default export, or named by another target`,
      `  family "raw" is declared at Pipelinefile.ts:2:20`,
      `  hint: name one by its keys: 'raw[country=...,year=...]'`,
      ``,
    ].join("\n"), cmd);
  }
});

test("two instances of a family writing the same file: the hint names the key the output template leaves out", async () => {
  // Before: only 'each output must have exactly one target'.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const h = family({ key: { p: param.enum(["a", "b"]), q: param.enum(["x", "y"]) }, outputs: ["build/h-{p}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [h({ p: "a", q: "x" }), h({ p: "a", q: "y" })];\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: targets "h\[p=a,q=x\]" and "h\[p=a,q=y\]" both declare output "build\/h-a\.txt"\n/);
  assert.match(r.stderr, /\n  hint: the outputs of family "h" do not name key q, so instances that differ only there write the same files: add \{q\} to them \(e\.g\. "build\/h-\{p\}-\{q\}\.txt"\)\n$/);
});

test("a directory input holding the target's own output suggests a place really outside that folder", async () => {
  // Before: "write the output outside build/ (e.g. build/self.txt)", the same path.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["build/"], outputs: ["build/self.txt"], run: ({ outputs }) => sh\`ls build > \${outputs[0]}\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /hint: write the output outside build\/ \(e\.g\. out\/self\.txt\), or list what the recipe reads with a glob \(build\/\*\*\)/);
  noStack(r.stderr);
});

test("a param value that changes nothing in the build is a warning naming the param and why, and the exit code is unchanged", async () => {
  // Before: `pipe build "f[kind=b]" -p size=3` built f[kind=b,size=1] without a word.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const kind = param.enum("kind", ["a", "b"], { default: "a" });\n` +
      `const size = param.int("size", { default: 1 });\n` +
      `const seed = param.int("seed", { default: 0 });\n` +
      `export const f = family({ key: { kind, size }, outputs: ["build/f-{kind}-{size}.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const rep = target({ params: { kind, size, seed }, inputs: ({ kind, size }) => [f({ kind, size })], outputs: ["build/rep.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const other = target({ outputs: ["build/other.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
    "run.params": "seed=5\n",
  });
  const r = await p.run(["build", "f[kind=b]", "-p", "size=3", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const warnings = r.events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
  assert.deepEqual(warnings, [
    `--param size=3 changes nothing: no target in this build uses param "size"; "f[kind=b,size=1]" has size as a key, which params do not set; name it in the target: f[kind=b,size=3]`,
  ]);
  assert.deepEqual(finished(r.events, "built"), ["f[kind=b,size=1]"]);
  // Used in the build (by rep), but the requested instance left the key out.
  const both = await p.run(["build", "rep", "f[kind=b]", "-p", "size=3"]);
  assert.equal(both.code, 0, both.stdout + both.stderr);
  assert.match(both.stdout + both.stderr, /warning: --param size=3 does not reach "f\[kind=b,size=1\]": size is a key of it, which params do not set \(it took the key's default, 1\); name it in the target: f\[kind=b,size=3\]/);
  assert.doesNotMatch(both.stdout + both.stderr, /kind=b.*changes nothing|"kind"/, "kind was given in the id: nothing to say about it");
  // A param no target of this build uses, set from a file: named with the file and who uses it.
  const file = await p.run(["status", "other", "--params", "run.params"]);
  assert.equal(file.code, 0, file.stdout + file.stderr);
  assert.match(file.stderr, /warning: seed=5 \(from run\.params:1\) changes nothing: no target in this build uses param "seed" \("rep" uses it\)/);
  // A param that does reach the build: no warning.
  const fine = await p.run(["build", "rep", "-p", "size=3"]);
  assert.equal(fine.code, 0);
  assert.doesNotMatch(fine.stdout + fine.stderr, /warning/);
});

test("a param whose value chose which instances a family name builds (a target's inputs function made them) is not said to change nothing", async () => {
  // Before: `pipe build smooth -p window=5` warned "--param window=5 changes nothing", while the
  // instance it built, smooth[...,window=5], existed only because forecast read window=5.
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const attribute = param.enum("attribute", ["total_positive", "recovered", "deaths"], { default: "total_positive" });\n` +
      `export const window = param.int("window", { default: 7, min: 1 });\n` +
      `export const trend = family({ key: { attribute }, outputs: ["build/trend/{attribute}.txt"], run: (c) => sh\`echo \${c.params.attribute} > \${c.outputs[0]}\` });\n` +
      `export const smooth = family({ key: { attribute, window }, inputs: ({ attribute }) => [trend({ attribute })], outputs: ({ attribute, window }) => [\`build/smooth/\${attribute}-\${window}.txt\`], run: (c) => sh\`cat \${c.inputs} > \${c.outputs[0]}\` });\n` +
      `export const forecast = target({ params: { attribute, window }, inputs: ({ attribute, window }) => ({ s: smooth({ attribute, window }) }), outputs: ["build/forecast.txt"], run: (c) => sh\`cat \${c.inputs.s} > \${c.outputs[0]}\` });\n` +
      `export default [forecast, trend({ attribute: "deaths" })];\n`,
  });
  const chose = await p.run(["build", "smooth", "-p", "window=5", "--json"]);
  assert.equal(chose.code, 0, chose.stdout + chose.stderr);
  assert.deepEqual(chose.events.filter((e) => e.type === "warning"), []);
  assert.deepEqual(finished(chose.events, "built").sort(), ["smooth[attribute=total_positive,window=5]", "trend[attribute=total_positive]"]);
  const fewer = await p.run(["build", "trend", "-p", "attribute=recovered", "--json"]);
  assert.deepEqual(fewer.events.filter((e) => e.type === "warning"), []);
  // An instance named with its own window still hears that the param does not reach it.
  // The value handed to an instance under another key's name (pick reads which, makes raw[src=which]).
  const q = new Project({
    "Pipelinefile.ts": HEAD +
      `export const which = param.enum("which", ["a", "b"], { default: "a" });\n` +
      `export const raw = family({ key: { src: param.enum(["a", "b"]) }, outputs: ["build/raw-{src}.txt"], run: (c) => sh\`echo \${c.params.src} > \${c.outputs[0]}\` });\n` +
      `export const pick = target({ params: { which }, inputs: ({ which }) => [raw({ src: which })], outputs: ["build/pick.txt"], run: (c) => sh\`cat \${c.inputs} > \${c.outputs[0]}\` });\n`,
  });
  try {
    const other = await q.run(["build", "raw", "-p", "which=b", "--json"]);
    assert.equal(other.code, 0, other.stdout + other.stderr);
    assert.deepEqual(other.events.filter((e) => e.type === "warning"), []);
    assert.deepEqual(finished(other.events, "built"), ["raw[src=b]"]);
  } finally {
    q.remove();
  }
  const named = await p.run(["build", "smooth[attribute=recovered,window=7]", "-p", "window=14"]);
  assert.equal(named.code, 0, named.stdout + named.stderr);
  assert.match(named.stdout + named.stderr, /warning: --param window=14 changes nothing: no target in this build uses param "window"; "smooth\[attribute=recovered,window=7\]" has window as a key/);
});

test("a node:fs error while the Pipelinefile loads names the Pipelinefile's line, not pipe's fs wrapper", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `import { readdirSync } from "node:fs";\nexport const shards = readdirSync("data/shards").map((f) => target({ name: \`c:\${f}\`, outputs: [\`o/\${f}\`], run: ({ outputs }) => sh\`touch \${outputs[0]}\` }));\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: Pipelinefile failed while loading: ENOENT: no such file or directory, scandir 'data\/shards'\n  at Pipelinefile\.ts:3:\d+\n/);
  noStack(r.stderr);
  p.remove();
});

test("what the Pipelinefile's top-level code prints goes to stderr: --json events and graph --json/--dot stay parseable", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `console.log("dbg", { a: 1 });\nconsole.info("info line");\nexport const a = target({ outputs: ["build/a.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  for (const line of b.stdout.trimEnd().split("\n")) JSON.parse(line);
  assert.match(b.stderr, /^dbg \{ a: 1 \}\ninfo line\n/m);
  const g = await p.run(["graph", "--json"]);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(JSON.parse(g.stdout).targets[0].id, "a");
  const d = await p.run(["graph", "--dot"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^digraph pipe \{/);
  p.remove();
});

test("a Pipelinefile importing a name its module does not export, or throwing a string: the hint fits, no made-up line", async () => {
  const p = new Project({ "recipes/r.ts": "export const yes = 1;\n", "Pipelinefile.ts": `import { target } from "pipefile";\nimport { nope } from "./recipes/r.ts";\nexport const a = target({ outputs: ["build/a"], run: async () => { void nope; } });\n` });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No matching export in "recipes\/r\.ts" for import "nope"/);
    assert.match(r.stderr, /hint: recipes\/r\.ts exports no "nope": export it there, or import a name it exports/);
    p.write({ "Pipelinefile.ts": `import { target } from "pipefile";\n\nthrow "str top";\n` });
    const s = await p.run(["build"]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /^error: Pipelinefile failed while loading: str top\n  hint: its code threw a string, which carries no line: throw new Error\(\.\.\.\) to see where; nothing was run\n$/);
  } finally {
    p.remove();
  }
});

test("a glob inside another target's directory output is refused with the declaration that works (it matched nothing on a first build, then passed for up to date)", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const mk = target({ outputs: ["build/gen/"], run: ({ outputs }) => sh\`mkdir -p \${outputs[0]} && echo 1 > \${outputs[0]}/a.txt\` });\n` +
      `export const byglob = target({ inputs: ["build/gen/*.txt"], outputs: ["out/byglob.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: input "build\/gen\/\*\.txt" of "byglob" is a glob inside "build\/gen\/", the directory output of "mk": what it matches is known only once "mk" has run\n  at Pipelinefile\.ts:3:\d+\n  hint: read the folder as an input instead: inputs: \[mk\]/);
    // The declaration the hint gives works, first build and after.
    p.write({ "Pipelinefile.ts": p.read("Pipelinefile.ts").replace(`inputs: ["build/gen/*.txt"], outputs: ["out/byglob.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\``, `inputs: [mk], outputs: ["out/byglob.txt"], run: ({ outputs }) => sh\`cat build/gen/*.txt > \${outputs[0]}\``) });
    const ok = await p.run(["build"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(p.read("out/byglob.txt"), "1\n");
  } finally {
    p.remove();
  }
});

test("bounds on a param without them (string, enum), or a date bound that is not a date, is an error at its line", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `const s = param.string("s", { min: "m", default: "a" } as any);\n` +
      `const k = param.enum("k", ["a", "b"], { max: "a" } as any);\n` +
      `const d = param.date("d", { default: "2024-01-05", min: "Jan 2020" });\n` +
      `export const m = target({ params: { s, k, d }, outputs: ["build/m"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: param "s" has min "m", but a string param has no bounds\n  at Pipelinefile\.ts:2:\d+\n  hint: remove min\n/);
  assert.match(r.stderr, /error: param "k" has max "a", but an enum param has no bounds\n  at Pipelinefile\.ts:3:\d+\n  hint: remove max \(the values list is what it allows\)\n/);
  assert.match(r.stderr, /error: param "d" has min "Jan 2020", which is not a date\n  at Pipelinefile\.ts:4:\d+\n  hint: write it as YYYY-MM-DD \(min: "2020-01-01"\)\n/);
});

test("a target declared but not exported: a build that sees none names it (exit 2, its line); an unknown target names the unexported ones", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `const a = target({ outputs: ["build/a"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` });
  const r = await p.run(["build"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /error: the Pipelinefile declares a target but exports none: pipe finds targets through its exports\n  at Pipelinefile\.ts:2:\d+\n  hint: export it \(export const a = target\(\{ \.\.\. \}\)\), or list it in the default export \(export default \[a\]\)/);
  noStack(r.stderr);
  // With another target exported: the build works; asking for the hidden one says why it is unknown.
  p.write({ "Pipelinefile.ts": HEAD + `const a = target({ outputs: ["build/a"], run: (c) => sh\`touch \${c.outputs[0]}\` });\nexport const b = target({ outputs: ["build/b"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` });
  assert.equal((await p.run(["build"])).code, 0);
  const u = await p.run(["build", "a"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /error: unknown target "a"\n  not exported: a target declared at Pipelinefile\.ts:2:\d+\n  hint: pipe knows a target by its export name \(or its name: option\): export it \(export const a = target/);
  // Nothing declared at all is no mistake: nothing to do.
  p.write({ "Pipelinefile.ts": HEAD });
  const empty = await p.run(["build"]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /nothing to do/);
});
