// What a TypeScript recipe prints and logs reaches pipe from its worker thread in order, as it
// happens when it must (a line before a long computation), and without holding up the recipe
// (write callbacks, timers, abort). Found by two reviews of the batched, bounded channel
// (src/run/recipe-worker.ts); the memory bound itself is tested in big-output.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PipeEvent } from "../../src/events.ts";
import { collect, finished, Project, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target } from "pipefile";\nimport { writeFileSync } from "node:fs";\n`;

function logOf(p: Project, id: string): string {
  const dir = p.path(".pipe/logs");
  return readFileSync(join(dir, readdirSync(dir).find((f) => f.startsWith(`${id}-`))!), "utf8");
}

test("lines longer than what may be on its way at once (5 and 6 MB) pass; the build does not wait for itself", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const big = target({ outputs: ["build/big.txt"], run: (ctx) => { console.log("before"); console.log("x".repeat(5_000_000)); ctx.log("y".repeat(6_000_000)); process.stdout.write("z".repeat(5_000_000)); console.log(); console.log("after"); writeFileSync(ctx.outputs[0], "ok\\n"); } });\n`,
  });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = logOf(p, "big").split("\n");
    assert.deepEqual(lines.map((l) => l.length), [6, 5_000_000, 6_000_000, 5_000_000, 5, 0]);
  } finally {
    p.remove();
  }
});

test("with --json, progress events come between the lines they came between; only repeats in a row are merged", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const order = target({ outputs: ["build/o.txt"], run: async (ctx) => {\n` +
      `  ctx.log("shard 1 start"); ctx.progress(1, 3); ctx.log("shard 2 start");\n` +
      `  console.log("printed"); ctx.progress(2, 3); ctx.progress(3, 3); ctx.log("all shards");\n` +
      `  await new Promise((r) => setTimeout(r, 50)); writeFileSync(ctx.outputs[0], "ok\\n");\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const seen = r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [e.line] : e.type === "target-progress" ? [`${e.done}/${e.total}`] : []));
    // 2/3 may be merged into 3/3 (in a row); nothing moves across a line.
    assert.deepEqual(
      seen.filter((s) => s !== "2/3"),
      ["shard 1 start", "1/3", "shard 2 start", "printed", "3/3", "all shards"],
    );
  } finally {
    p.remove();
  }
});

test("a recipe that awaits its write callbacks in a loop still lets its timers run and hears Ctrl-C (ctx.signal): it stops cleanly", { timeout: 30_000 }, async () => {
  // Callbacks called in a microtask never let the event loop turn: no timer, no abort message.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const rows = target({ outputs: ["build/rows.txt"], run: async (ctx) => {\n` +
      `  let i = 0; let beats = 0; const hb = setInterval(() => beats++, 5);\n` +
      `  while (!ctx.signal.aborted) { await new Promise<void>((r) => process.stdout.write("row " + i++ + "\\n", () => r())); if (beats === 3) ctx.log("heartbeat seen"); }\n` +
      `  clearInterval(hb); writeFileSync("stopped.txt", "stopped cleanly after " + i + " rows\\n");\n` +
      `} });\n`,
  });
  try {
    const child = p.spawn(["build", "--verbose"]);
    const result = collect(child);
    await waitForLine(child, (l) => l === "[rows] heartbeat seen");
    process.kill(child.pid!, "SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(p.read("stopped.txt"), /^stopped cleanly after \d+ rows\n$/);
    assert.equal(p.exists("build/rows.txt"), false);
  } finally {
    p.remove();
  }
});

test("a ctx.log line before a long computation that never yields is shown during it, even after others in the same turn", { timeout: 30_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { existsSync } from "node:fs";\n` +
      `export const busy = target({ outputs: ["build/busy.txt"], run: (ctx) => {\n` +
      `  ctx.log("reading config"); ctx.log("config ok"); ctx.progress(1, 2); ctx.log("computing embeddings");\n` +
      `  while (!existsSync("release")) { /* computing */ }\n` +
      `  writeFileSync(ctx.outputs[0], "done\\n");\n` +
      `} });\n`,
  });
  try {
    const child = p.spawn(["build", "--verbose"]);
    const result = collect(child);
    // The recipe spins until the test has seen its last line: held back, it would never end.
    await waitForLine(child, (l) => l === "[busy] computing embeddings");
    p.write({ release: "" });
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
  } finally {
    p.remove();
  }
});

test("a last line without its newline is kept when the recipe calls process.exit() or throws from a timer", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const quits = target({ outputs: ["build/q.txt"], run: () => { process.stderr.write("error: config.yaml is missing the 'model' key"); process.exit(2); } });\n` +
      `export const throws = target({ outputs: ["build/t.txt"], run: () => new Promise(() => { setTimeout(() => { process.stdout.write("processing shard 17 ... "); throw new Error("shard 17 is corrupt"); }, 5); }) });\n`,
  });
  try {
    const r = await p.run(["build", "-k"]);
    assert.equal(r.code, 1);
    assert.match(logOf(p, "quits"), /^error: config\.yaml is missing the 'model' key\n/);
    assert.match(logOf(p, "throws"), /^processing shard 17 \.\.\. \n/);
  } finally {
    p.remove();
  }
});

test("a recipe that pipes a stream into process.stdout (which ends it) finishes, and the next recipe on the same worker is logged as usual", { timeout: 30_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { Readable } from "node:stream";\nimport { pipeline } from "node:stream/promises";\n` +
      `export const piped = target({ outputs: ["build/p.txt"], run: async (ctx) => { await pipeline(Readable.from(["a\\n", "b\\n", "c"]), process.stdout); writeFileSync(ctx.outputs[0], "ok\\n"); } });\n` +
      `export const after = target({ inputs: [piped], outputs: ["build/a.txt"], run: (ctx) => { console.log("next recipe"); writeFileSync(ctx.outputs[0], "ok\\n"); } });\n`,
  });
  try {
    const r = await p.run(["build", "-j", "1", "after"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(logOf(p, "piped"), "a\nb\nc\n");
    assert.equal(logOf(p, "after"), "next recipe\n");
  } finally {
    p.remove();
  }
});

test("a recipe writing to descriptors 1 and 2 itself (fs.writeSync, fs.write, writev, a WriteStream on fd 1, writeFileSync(1): what loggers such as pino do) writes into its log, not into --json's NDJSON", { timeout: 30_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\nimport fs, { writeSync } from "node:fs";\nimport { promisify } from "node:util";\n` +
      `export const direct = target({ outputs: ["build/d.txt"], run: async (ctx) => {\n` +
      `  const n = writeSync(1, "sync to fd 1\\n");\n` +
      `  writeSync(2, Buffer.from("xxsync to fd 2\\nyy"), 2, 13);\n` +
      `  const [err, written] = await new Promise((r) => fs.write(1, Buffer.from("async to fd 1\\n"), (e, w) => r([e, w])));\n` +
      `  fs.writeSync(1, Buffer.from("hex: \\u00e9\\n").toString("hex"), null, "hex");\n` +
      // A WriteStream on fd 1 starts with writev; writeFileSync/appendFileSync take the descriptor as the file.
      `  const ws = fs.createWriteStream("", { fd: 1, autoClose: false });\n` +
      `  for (const k of [1, 2, 3]) ws.write("stream " + k + "\\n");\n` +
      `  await new Promise((r) => ws.end(r));\n` +
      `  fs.writevSync(2, [Buffer.from("vec"), Buffer.from("tor\\n")]);\n` +
      `  fs.writeFileSync(1, "whole file\\n");\n` +
      `  fs.appendFileSync(2, "appended\\n");\n` +
      // Arguments node refuses are still refused, and nothing is written.
      `  let range = "none";\n` +
      `  try { writeSync(1, Buffer.from("0123456789\\n"), 0, 100); } catch (e) { range = e.code; }\n` +
      // A recipe making stdout synchronous through fs.writeSync(1) (a common trick) does not loop.
      `  const keep = process.stdout.write;\n` +
      `  process.stdout.write = ((c) => { writeSync(1, c); return true; });\n` +
      `  console.log("through the trick");\n` +
      `  process.stdout.write = keep;\n` +
      // promisify(fs.write) on a file still resolves to { bytesWritten, buffer }.
      `  const fd = fs.openSync(ctx.outputs[0] + ".tmp", "w");\n` +
      `  const r = await promisify(fs.write)(fd, Buffer.from("12 bytes....."), 0, 12, null);\n` +
      `  fs.closeSync(fd); fs.rmSync(ctx.outputs[0] + ".tmp");\n` +
      // Awaiting fs.write callbacks in a loop lets timers in (callbacks on a later turn, not in microtasks).
      `  let stop = false; setTimeout(() => (stop = true), 30);\n` +
      `  while (!stop) await new Promise((res) => fs.write(2, "", res));\n` +
      `  fs.writeFileSync(ctx.outputs[0], JSON.stringify({ n, err, written, range, promised: r.bytesWritten }));\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.split("\n").filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `not NDJSON: ${JSON.stringify(line)}`);
    const lines = r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [e.line] : []));
    const want = ["sync to fd 1", "sync to fd 2", "async to fd 1", "hex: \u00e9", "stream 1", "stream 2", "stream 3", "vector", "whole file", "appended", "through the trick"];
    assert.deepEqual(lines, want);
    assert.deepEqual(JSON.parse(p.read("build/d.txt")), { n: 13, err: null, written: 14, range: "ERR_OUT_OF_RANGE", promised: 12 });
    assert.equal(logOf(p, "direct"), want.join("\n") + "\n");
  } finally {
    p.remove();
  }
});

test("children a TypeScript recipe starts with stdout or stderr inherited (spawn, spawnSync, execSync's stderr, fork, descriptors by number or process.stdout, /dev/stdout) write into its log in the order written, not into --json's NDJSON", { timeout: 60_000 }, async () => {
  const p = new Project({
    "child.cjs": `console.log("forked out");\n`,
    "Pipelinefile.ts":
      HEAD +
      `import { spawn, spawnSync, execSync, execFileSync, fork } from "node:child_process";\n` +
      `const closed = (c: any) => new Promise((res, rej) => c.on("close", res).on("error", rej));\n` +
      `export const kids = target({ outputs: ["build/k.json"], run: async (ctx) => {\n` +
      `  const facts: Record<string, unknown> = {};\n` +
      `  facts.syncStdout = spawnSync("sh", ["-c", "echo sync out"], { stdio: "inherit" }).stdout;\n` +
      `  spawnSync("sh", ["-c", "echo sync err >&2"], { stdio: ["ignore", "inherit", "inherit"] });\n` +
      // The caller's own pipe is left alone; its stderr given as descriptor 1 goes to the log.
      `  facts.piped = String(spawnSync("sh", ["-c", "echo kept; echo sync to 1 >&2"], { stdio: ["ignore", "pipe", 1] }).stdout);\n` +
      `  execSync("echo exec err >&2");\n` +
      // Reopening /dev/stdout or /dev/stderr (with O_TRUNC) loses nothing; stdout and stderr keep their order.
      `  execSync("echo one; echo two > /dev/stdout; echo three; echo four > /dev/stderr; echo five >&2", { stdio: "inherit" });\n` +
      `  spawnSync("sh", ["-c", "echo compiling a.c; echo a.c:1: error >&2; echo compiling b.c; echo b.c:2: error >&2"], { stdio: "inherit" });\n` +
      `  const c = spawn("sh", ["-c", "echo async out"], { stdio: "inherit" });\n` +
      `  facts.asyncStdout = c.stdout;\n` +
      `  facts.code = await closed(c);\n` +
      `  await closed(spawn("sh", ["-c", "echo async err >&2"], { stdio: ["ignore", process.stdout, process.stderr] }));\n` +
      `  await closed(fork("child.cjs"));\n` +
      // Past node's 1 MiB limit for a synchronous child's pipes, on the inherited stream and
      // beside a pipe of the caller's own (a pipe node makes in place of the descriptor failed with ENOBUFS).
      `  const big = spawnSync("sh", ["-c", "head -c 1500000 /dev/zero | tr '\\\\0' x | fold -w 1000; echo"], { stdio: "inherit" });\n` +
      `  facts.bigError = big.error ? String(big.error) : null;\n` +
      `  facts.mixed = String(execFileSync("sh", ["-c", "echo mine; head -c 2000000 /dev/zero | tr '\\\\0' y | fold -w 1000 >&2; echo >&2"], { stdio: ["ignore", "pipe", "inherit"] }));\n` +
      `  writeFileSync(ctx.outputs[0], JSON.stringify(facts));\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "nothing reaches pipe's own stderr");
    for (const line of r.stdout.split("\n").filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `not NDJSON: ${JSON.stringify(line.slice(0, 200))}`);
    const lines = r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [e.line] : []));
    const head = ["sync out", "sync err", "sync to 1", "exec err", "one", "two", "three", "four", "five", "compiling a.c", "a.c:1: error", "compiling b.c", "b.c:2: error", "async out", "async err", "forked out"];
    const want = [...head, ...Array.from({ length: 1500 }, () => "x".repeat(1000)), ...Array.from({ length: 2000 }, () => "y".repeat(1000))];
    assert.deepEqual(lines.slice(0, head.length), head);
    assert.equal(lines.length, want.length);
    assert.deepEqual(lines, want);
    assert.deepEqual(JSON.parse(p.read("build/k.json")), { syncStdout: null, piped: "kept\n", asyncStdout: null, code: 0, bigError: null, mixed: "mine\n" });
    assert.equal(logOf(p, "kids"), want.join("\n") + "\n");
    assert.deepEqual(readdirSync(p.path(".pipe/staging")).filter((f) => f.startsWith("child-output")), [], "no FIFO is left");
  } finally {
    p.remove();
  }
});

test("an inherited child's lines are shown while it runs, also while the recipe waits in spawnSync", { timeout: 60_000 }, async () => {
  // The child prints, then waits on a FIFO this test opens only once it saw the line.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { spawnSync, execSync } from "node:child_process";\n` +
      `export const live = target({ outputs: ["build/l.txt"], run: (ctx) => {\n` +
      `  execSync("rm -f go.fifo; mkfifo go.fifo");\n` +
      `  spawnSync("sh", ["-c", "echo step 1 of 2 done; read x < go.fifo; echo step 2 done"], { stdio: "inherit" });\n` +
      `  writeFileSync(ctx.outputs[0], "l\\n");\n` +
      `} });\n`,
  });
  try {
    const child = p.spawn(["build", "--json"]);
    const result = collect(child);
    await waitForLine(child, (l) => l.includes(`"line":"step 1 of 2 done"`));
    writeFileSync(p.path("go.fifo"), "go\n");
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [e.line] : [])), ["step 1 of 2 done", "step 2 done"]);
  } finally {
    p.remove();
  }
});

test("an inherited child printing without end is held up at pipe's pace: the recipe's timers still run and stop it", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { spawn } from "node:child_process";\n` +
      `export const chatty = target({ outputs: ["build/c.txt"], run: async (ctx) => {\n` +
      `  const c = spawn("yes", ["chat"], { stdio: "inherit" });\n` +
      `  let ticks = 0;\n` +
      `  const t = setInterval(() => { if (++ticks === 5) c.kill(); }, 20);\n` +
      `  await new Promise((r) => c.on("close", r));\n` +
      `  clearInterval(t);\n` +
      `  writeFileSync(ctx.outputs[0], "ticks " + ticks + "\\n");\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.read("build/c.txt"), "ticks 5\n");
    const lines = r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [e.line] : []));
    assert.ok(lines.length > 0 && lines.every((l) => l === "chat"), `only its lines: ${JSON.stringify(lines.filter((l) => l !== "chat").slice(0, 3))}`);
  } finally {
    p.remove();
  }
});

test("a background process an inherited child leaves behind holds nothing up, and what it prints after its recipe ended goes into no log", { timeout: 60_000 }, async () => {
  // The grandchild waits on a FIFO that the next target opens, then prints and says so on a
  // second FIFO: if pipe waited for it (as node does for a pipe it holds open), the build never ended.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { execSync } from "node:child_process";\nimport { readFileSync } from "node:fs";\n` +
      `export const first = target({ outputs: ["build/a.txt"], run: (ctx) => {\n` +
      `  execSync("rm -f go.fifo done.fifo; mkfifo go.fifo done.fifo");\n` +
      `  execSync("echo a starts; (read x < go.fifo; echo late from a; echo bye > done.fifo) &", { stdio: "inherit" });\n` +
      `  writeFileSync(ctx.outputs[0], "a\\n");\n` +
      `} });\n` +
      `export const second = target({ inputs: [first], outputs: ["build/b.txt"], run: (ctx) => {\n` +
      `  writeFileSync("go.fifo", "go\\n");\n` +
      `  const said = readFileSync("done.fifo", "utf8");\n` +
      `  console.log("b heard " + said.trim());\n` +
      `  writeFileSync(ctx.outputs[0], "b\\n");\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "-j", "1", "--json", "second"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const logs = r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [`${e.target}: ${e.line}`] : []));
    assert.deepEqual(logs, ["first: a starts", "second: b heard bye"]);
    assert.equal(logOf(p, "second"), "b heard bye\n");
    assert.ok(!r.stdout.includes("late from a"));
  } finally {
    p.remove();
  }
});

test("what an inherited child printed is in the log when its recipe then calls process.exit() or throws from a timer", { timeout: 60_000 }, async () => {
  const kid = `spawnSync("sh", ["-c", "seq 1 3000; echo 'error: missing semicolon' >&2"], { stdio: "inherit" })`;
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { spawnSync } from "node:child_process";\n` +
      Array.from({ length: 4 }, (_, i) => `export const exit${i} = target({ outputs: ["build/e${i}.txt"], run: () => { ${kid}; process.exit(1); } });\n`).join("") +
      `export const thrown = target({ outputs: ["build/t.txt"], run: () => new Promise(() => { ${kid}; setTimeout(() => { throw new Error("late"); }, 0); }) });\n`,
  });
  try {
    const r = await p.run(["build", "-k", "--json", "exit0", "exit1", "exit2", "exit3", "thrown"]);
    assert.equal(r.code, 1, r.stderr);
    for (const id of ["exit0", "exit1", "exit2", "exit3", "thrown"]) {
      const lines = logOf(p, id).split("\n");
      assert.deepEqual(lines.slice(0, 3001), [...Array.from({ length: 3000 }, (_, k) => String(k + 1)), "error: missing semicolon"], id);
    }
  } finally {
    p.remove();
  }
});

test("a child that makes its inherited output non-blocking (as python's asyncio or node do) and fills it does not fail its recipe", { timeout: 60_000, skip: existsSync("/usr/bin/python3") ? false : "needs /usr/bin/python3" }, async () => {
  // The child writes until the FIFO is full, says so, and writes on for 2 s: the end marker
  // meets a full FIFO whose open file is non-blocking for the children.
  const py = [
    "import os, time",
    "os.set_blocking(1, False)",
    "line = b'x' * 4095 + b'\\\\n'",
    "told = False",
    "end = time.time() + 2",
    "while time.time() < end:",
    "    try: os.write(1, line)",
    "    except BlockingIOError:",
    "        if not told: open('full.fifo', 'w').write('x'); told = True",
  ].join("\\n");
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { execSync, spawn } from "node:child_process";\nimport { readFileSync } from "node:fs";\n` +
      `export const b = target({ outputs: ["build/b.txt"], run: (ctx) => {\n` +
      `  execSync("rm -f full.fifo; mkfifo full.fifo");\n` +
      `  spawn("/usr/bin/python3", ["-c", "${py}"], { stdio: "inherit" });\n` +
      `  readFileSync("full.fifo");\n` +
      `  writeFileSync(ctx.outputs[0], "x\\n");\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stdout.slice(-2000) + r.stderr);
    assert.deepEqual(finished(r.events, "built"), ["b"]);
  } finally {
    p.remove();
  }
});

test("a recipe that runs with a PATH without mkfifo still gets its inherited children's lines, and so does the next one on the worker", { timeout: 60_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { spawnSync } from "node:child_process";\n` +
      `export const a = target({ outputs: ["build/a.txt"], run: (ctx) => {\n` +
      `  process.env.PATH = "/nonexistent/bin";\n` +
      `  spawnSync("/bin/echo", ["from a"], { stdio: "inherit" });\n` +
      `  writeFileSync(ctx.outputs[0], "x\\n");\n` +
      `} });\n` +
      `export const b = target({ inputs: [a], outputs: ["build/b.txt"], run: (ctx) => {\n` +
      `  spawnSync("echo", ["from b"], { stdio: "inherit" });\n` +
      `  writeFileSync(ctx.outputs[0], "x\\n");\n` +
      `} });\n`,
  });
  try {
    const r = await p.run(["build", "-j", "1", "--json", "b"]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.split("\n").filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `not NDJSON: ${JSON.stringify(line)}`);
    assert.deepEqual(r.events.flatMap((e: PipeEvent) => (e.type === "log" ? [`${e.target}: ${e.line}`] : [])), ["a: from a", "b: from b"]);
  } finally {
    p.remove();
  }
});

test("a line ctx.log writes after its recipe returned (an unref'd timer) is said to be that recipe's, not taken for the next recipe's on the same worker", { timeout: 30_000 }, async () => {
  // a's timer logs, then leaves a marker; b (next on the one worker, -j1) waits for the marker.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { existsSync } from "node:fs";\n` +
      `export const a = target({ outputs: ["out/a.txt"], run: (ctx) => { setTimeout(() => { ctx.log("late line from a"); writeFileSync("late-done", ""); }, 20).unref(); writeFileSync(ctx.outputs[0], "a"); } });\n` +
      `export const b = target({ inputs: [a], outputs: ["out/b.txt"], run: async (ctx) => { ctx.log("b starts"); for (let i = 0; i < 2000 && !existsSync("late-done"); i++) await new Promise((r) => setTimeout(r, 5)); writeFileSync(ctx.outputs[0], String(existsSync("late-done"))); } });\n`,
  });
  try {
    const r = await p.run(["build", "-j1", "--json", "b"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("out/b.txt"), "true", "a's timer ran while b ran");
    const lines = r.events.flatMap((e) => (e.type === "log" ? [e.line] : []));
    assert.ok(lines.includes(`pipe: "a" wrote with ctx.log after its recipe returned: late line from a`), lines.join("\n"));
    assert.ok(!lines.includes("late line from a"), lines.join("\n"));
  } finally {
    p.remove();
  }
});
