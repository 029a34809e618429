// What a TypeScript recipe leaves running when it returns (a stream it did not await, a timer)
// must not write its outputs after pipe checked and published them; a recipe whose promise can
// never settle is said to be stuck instead of waiting in silence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { collect, Project, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target } from "pipefile";\nimport { createWriteStream, writeFile, writeFileSync } from "node:fs";\n`;
const LINES = 20000;

test("a stream ended but not awaited: pipe waits for its writes, the output is whole, and a warning says to await it", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ outputs: ["build/t.txt"], run: async (ctx) => {\n` +
      `  const s = createWriteStream(ctx.outputs[0]);\n` +
      `  for (let i = 0; i < ${LINES}; i++) s.write("line " + i + "\\n");\n` +
      `  s.end(); // not awaited\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json", "t"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const text = p.read("build/t.txt");
    assert.equal(text.split("\n").length - 1, LINES);
    assert.ok(text.endsWith(`line ${LINES - 1}\n`));
    const logs = r.events.filter((e) => e.type === "log").map((e) => (e as { line: string }).line);
    assert.ok(logs.some((l) => /returned before file operations it started had finished; pipe waited/.test(l)), logs.join("\n"));
    const again = await p.run(["build", "--json", "t"]);
    assert.equal(again.code, 0);
    assert.equal(again.events.filter((e) => e.type === "target-finished" && e.status === "built").length, 0, "up to date, with the whole file");
  } finally {
    p.remove();
  }
});

test("a timer that writes the output after the recipe returned: its write counts (pipe waited), no stray staging file", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ outputs: ["build/t.txt"], run: async (ctx) => {\n` +
      `  writeFileSync(ctx.outputs[0], "first");\n` +
      `  setTimeout(() => writeFile(ctx.outputs[0], "LATE", () => {}), 200);\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "t"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("build/t.txt"), "LATE");
    assert.deepEqual(readdirSync(p.path("build")), ["t.txt"], "nothing staged is left next to the output");
  } finally {
    p.remove();
  }
});

test("an interval left running: after a second the worker is stopped with a warning, the target is built and pipe exits", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ outputs: ["build/t.txt"], run: async (ctx) => {\n` +
      `  writeFileSync(ctx.outputs[0], "done");\n` +
      `  setInterval(() => writeFileSync(ctx.outputs[0], "tick " + Date.now()), 1500);\n` +
      `} });\n` +
      `export const u = target({ inputs: [t], outputs: ["build/u.txt"], run: async (ctx) => { writeFileSync(ctx.outputs[0], "u"); } });\n`,
  });
  try {
    const r = await p.run(["build", "--json", "u"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("build/t.txt"), "done", "the interval never wrote: its worker was stopped first");
    assert.equal(p.read("build/u.txt"), "u", "the next recipe runs on a new worker");
    const logs = r.events.filter((e) => e.type === "log" && e.target === "t").map((e) => (e as { line: string }).line);
    assert.ok(logs.some((l) => /left Timeout running; pipe stopped its worker thread/.test(l)), logs.join("\n"));
  } finally {
    p.remove();
  }
});

test("a recipe awaiting a promise nothing will settle is said to be stuck; Ctrl-C still ends the build (exit 130)", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const t = target({ outputs: ["build/t.txt"], run: async () => { await new Promise(() => {}); } });\n`,
  });
  try {
    const child = p.spawn(["build", "--json", "t"]);
    const done = collect(child);
    await waitForLine(child, (l) => l.includes("nothing it started is still running"));
    child.kill("SIGINT");
    const r = await done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.equal(p.exists("build/t.txt"), false);
  } finally {
    p.remove();
  }
});

test("what a recipe threw, said in full: the error's name, its causes, an object thrown as inspect shows it", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `export const a = target({ outputs: ["build/a"], run: async () => { try { JSON.parse("{"); } catch (e) { throw new Error("could not parse config", { cause: e }); } } });\n` +
      `export const b = target({ outputs: ["build/b"], run: async () => { throw { code: 42 }; } });\n` +
      `export const c = target({ outputs: ["build/c"], run: async () => { null!.x; } });\n`,
  });
  try {
    const r = await p.run(["build", "-k", "--json", "a", "b", "c"]);
    assert.equal(r.code, 1);
    const error = (id: string) => (r.events.find((e) => e.type === "target-finished" && e.target === id) as { error?: string }).error;
    assert.match(error("a")!, /^recipe failed: could not parse config; caused by SyntaxError: /);
    assert.equal(error("b"), "recipe failed: { code: 42 }");
    assert.match(error("c")!, /^recipe failed: TypeError: Cannot read properties of null/);
  } finally {
    p.remove();
  }
});

test("a recipe that returns a value, or reads ctx.outputs[0] of named outputs, is told what to write", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n` +
      `export const a = target({ outputs: ["build/a"], run: async () => 42 });\n` +
      `export const b = target({ outputs: { svg: "build/b.svg" }, run: async (ctx) => { writeFileSync((ctx.outputs as any)[0], "x"); } });\n`,
  });
  try {
    const r = await p.run(["build", "-k", "--json", "a", "b"]);
    assert.equal(r.code, 1);
    const error = (id: string) => (r.events.find((e) => e.type === "target-finished" && e.target === id) as { error?: string }).error;
    assert.match(error("a")!, /; it returned 42: a TypeScript recipe writes its outputs to the paths in ctx\.outputs and returns nothing/);
    assert.match(error("b")!, /^recipe failed: ctx\.outputs\[0\]: the outputs of "b" are named: ctx\.outputs\.svg$/);
  } finally {
    p.remove();
  }
});

test("everything a TypeScript recipe prints reaches its log, also what it printed just before returning", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: async (ctx) => { for (let i = 0; i < 3000; i++) console.log("line " + i); process.stderr.write("no newline at the end"); writeFileSync(ctx.outputs[0], "x"); } });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const f = r.events.find((e) => e.type === "target-finished") as { logPath?: string };
    const log = p.read(f.logPath!).split("\n");
    assert.equal(log.filter((l) => /^line \d+$/.test(l)).length, 3000, "every line (2,000 lines kept one)");
    assert.ok(log.includes("line 2999"));
    assert.ok(log.includes("no newline at the end"));
    assert.equal(r.events.filter((e) => e.type === "log" && e.target === "t").length, 3001);
  } finally {
    p.remove();
  }
});
