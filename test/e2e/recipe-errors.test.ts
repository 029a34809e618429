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
    const r = await p.run(["build", "-k", "--json", "viaMain", "viaWorker"]);
    assert.equal(r.code, 1);
    for (const [id, line] of [["viaMain", 3], ["viaWorker", 4]] as const) {
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
