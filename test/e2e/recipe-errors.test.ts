// A TypeScript recipe that throws: the failure says the message once and shows the recipe's own
// frames (file:line in the Pipelinefile), not pipe's or node's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Project } from "../helpers/rig.ts";

test("a recipe's error shows its message once and the recipe's frames only", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `function helper(n: number) { if (n > 1) throw new Error("boom: bad n"); return n; }\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: async () => { helper(2); } });\n`,
  });
  const r = await p.run(["build", "t"]);
  assert.equal(r.code, 1);
  const out = r.stdout + r.stderr;
  assert.match(out, /FAILED t \(recipe failed: boom: bad n\)/);
  assert.match(out, /at helper \(.*Pipelinefile\.ts:2:\d+\)/);
  assert.equal(out.split("boom: bad n").length - 1, 1, "the message is said once");
  assert.doesNotMatch(out, /call-recipe|recipe-worker|node:internal/);
  const logs = p.path(".pipe/logs");
  const log = readFileSync(join(logs, readdirSync(logs)[0]), "utf8");
  assert.match(log, /at helper \(.*Pipelinefile\.ts:2:\d+\)/);
  assert.doesNotMatch(log, /call-recipe|recipe-worker|node:internal/);
  p.remove();
});

//  a (outputs csv, json) --> viaMain (sh on the main thread)
//                        --> viaWorker (async: sh in a worker thread)
test("sh given an object names the ${}, the value and the fix, and shows the recipe's frame only", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\n` +
      `export const a = target({ outputs: { csv: "build/a.csv", json: "build/a.json" }, run: ({ outputs }) => sh\`touch \${outputs.csv} \${outputs.json}\` });\n` +
      `export const viaMain = target({ inputs: { a }, outputs: ["build/m.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs.a} > \${outputs[0]}\` });\n` +
      `export const viaWorker = target({ inputs: { a }, outputs: ["build/w.txt"], run: async ({ inputs, outputs }) => sh\`cat \${inputs.a} > \${outputs[0]}\` });\n`,
  });
  try {
    // A recipe that only builds the command is called while planning: its mistake is the
    // Pipelinefile's, said before anything runs (exit 2; see the test below).
    const planned = await p.run(["build", "viaMain"]);
    assert.equal(planned.code, 2, planned.stdout + planned.stderr);
    assert.match(planned.stderr, /^error: the command of "viaMain" cannot be built: the 1st \$\{\} in sh`cat \$\{…\} > \$\{…\}` is an object with keys csv, json; /);
    // One that does more (async) is called only when it runs.
    const r = await p.run(["build", "-k", "--json", "viaWorker"]);
    assert.equal(r.code, 1);
    for (const [id, line] of [["viaWorker", 4]] as const) {
      const f = r.events.find((e) => e.type === "target-finished" && e.target === id);
      assert.ok(f && f.type === "target-finished" && f.status === "failed", id);
      assert.equal(
        f.error,
        "recipe failed: the 1st ${} in sh`cat ${…} > ${…}` is an object with keys csv, json; sh takes a string, number, boolean or an array of them\n" +
          "  hint: pick one of its paths, e.g. ${….csv}, or pass all of its values as an array: Object.values(…)",
        id,
      );
      const frames = (f.logTail ?? []).filter((l) => /^\s*at /.test(l));
      assert.equal(frames.length, 1, `${id}: one frame, the recipe's\n${frames.join("\n")}`);
      assert.match(frames[0], new RegExp(`^\\s*at .*Pipelinefile\\.ts:${line}:\\d+\\)?$`), id);
    }
  } finally {
    p.remove();
  }
});

test("a command too long for the system (E2BIG) says so with what to do, and the failure's tail cuts the megabyte line", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`d/${"x".repeat(200)}-${i}.txt`] = "a\n";
  const long = "y".repeat(3_000_000);
  const p = new Project({
    ...files,
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ inputs: ["d/*.txt"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} \${${JSON.stringify("y")}.repeat(${long.length})} > \${outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /recipe could not start: its command is too long for the system \(E2BIG: [\d,]+ bytes of arguments\); pass long lists another way/);
    assert.ok(r.stdout.length < 20_000, `the output stays short (${r.stdout.length} characters)`);
    assert.match(r.stdout, /… \(\d+ more characters; the whole line is in \.pipe\/logs\/t-[0-9a-f]{6}\.log\)/);
  } finally {
    p.remove();
  }
});

test("what a TypeScript recipe printed just before process.exit() or an error nothing caught is in its log and its failure, in order", async () => {
  // Lines wait in the worker to go out together (recipe-worker.ts): a review found the last
  // ones lost when the thread died, the very lines that explain why.
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `export const quits = target({ outputs: ["build/q.txt"], run: (ctx) => { for (let i = 0; i < 3; i++) console.log("step " + i); ctx.log("giving up"); console.error("on stderr"); process.exit(3); } });\n` +
      `export const crashes = target({ outputs: ["build/c.txt"], run: () => new Promise(() => { setTimeout(() => { console.log("in the timer"); console.log("about to crash"); throw new Error("boom in a timer"); }, 5); }) });\n`,
  });
  try {
    const r = await p.run(["build", "-k"]);
    assert.equal(r.code, 1);
    const logs = p.path(".pipe/logs");
    const log = (id: string) => readFileSync(join(logs, readdirSync(logs).find((f) => f.startsWith(`${id}-`))!), "utf8").split("\n");
    assert.deepEqual(log("quits").slice(0, 5), ["step 0", "step 1", "step 2", "giving up", "on stderr"]);
    assert.deepEqual(log("crashes").slice(0, 2), ["in the timer", "about to crash"]);
    // The failure's tail shows them too.
    assert.match(r.stdout, /giving up\n\s*on stderr\n/);
    assert.match(r.stdout, /about to crash/);
  } finally {
    p.remove();
  }
});

test("a sh template that cannot be built (an object where a path goes) is the Pipelinefile's error before anything runs, also in a dry run; targets alike but for paths are each named", async () => {
  // It failed only when the recipe's turn came, after everything upstream had run (a review:
  // 34 training targets first), and a dry run said all was well.
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\n` +
      `import { writeFileSync } from "node:fs";\n` +
      `export const s = target({ outputs: { json: "out/s.json" }, run: async (ctx) => { writeFileSync(ctx.outputs.json, "{}"); } });\n` +
      `export const t = target({ outputs: ["out/t.txt"], run: ({ outputs }) => sh\`echo t > \${outputs[0]}\` });\n` +
      `export const r = target({ inputs: { s, t }, outputs: ["out/r.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs.t} \${inputs.s as any} > \${outputs[0]}\` });\n` +
      `export const q = target({ inputs: { s, t }, outputs: ["out/q.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs.t} \${inputs.s as any} > \${outputs[0]}\` });\n` +
      `export const ok = target({ inputs: { s, t }, outputs: ["out/ok.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs.t} \${inputs.s.json} > \${outputs[0]}\` });\n`,
  });
  try {
    for (const args of [["build", "--dry-run", "r", "q", "ok"], ["build", "r", "q", "ok"]]) {
      const r = await p.run(args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      for (const id of ["q", "r"]) assert.match(r.stderr, new RegExp(`^error: the command of "${id}" cannot be built: the 2nd \\$\\{\\} in sh\`cat \\$\\{…\\} \\$\\{…\\} > \\$\\{…\\}\` is an object with key json; .*\\n  at Pipelinefile\\.ts:\\d+:\\d+\\n  hint: pick one of its paths`, "m"), id);
      assert.doesNotMatch(r.stderr, /"ok"/);
      assert.equal(p.exists("out"), false, "nothing ran");
    }
    const good = await p.run(["build", "ok"]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(p.read("out/ok.txt"), "t\n{}");
  } finally {
    p.remove();
  }
});

test("a recipe that removes its input is warned about when it ran, not only by the next build's missing input", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const del = target({ inputs: ["data/in"], outputs: ["out/d.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}; rm \${inputs}\` });\n`,
    "data/in": "x\n",
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const w = r.events.find((e) => e.type === "warning" && e.target === "del");
    assert.ok(w && w.type === "warning" && /^after "del" ran, its inputs could not be read again \(.*data\/in.*\); a recipe must not remove or rename what it reads$/.test(w.message), JSON.stringify(r.events));
    assert.equal(p.read("out/d.txt"), "x\n");
  } finally {
    p.remove();
  }
});

test("a declared env var that is not set, interpolated by a sh template: said before anything runs, with how to give it a default; set, it builds", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ env: ["PIPE_TEST_UNSET_VAR"], outputs: ["out/t.txt"], run: (c) => sh\`echo \${c.env.PIPE_TEST_UNSET_VAR} > \${c.outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: the command of "t" cannot be built: the 1st \$\{\} in sh`echo \$\{…\} > \$\{…\}` is undefined; .*\n  at Pipelinefile\.ts:2:\d+\n  hint: .*a declared env var that is not set: give it a default, e\.g\. \$\{ctx\.env\.X \?\? ''\}\)\n$/);
    const ok = await p.run(["build"], { env: { PIPE_TEST_UNSET_VAR: "on" } });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(p.read("out/t.txt"), "on\n");
  } finally {
    p.remove();
  }
});
