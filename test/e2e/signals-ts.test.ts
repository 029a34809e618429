// Processes that TypeScript recipes start (node:child_process in a worker thread) are pipe's own
// children, in pipe's process group: no recipe group holds them. P11 holds for them too
// (reliability.md A3, F2): an interrupt sent to pipe alone (kill -INT <pid>, a CI runner's
// SIGTERM, SIGHUP) stops every one of them (SIGTERM, then SIGKILL after PIPE_KILL_GRACE_MS) before
// pipe exits, and a process a recipe leaves running when it returns is stopped at the end of the
// build, with a warning.
//
// No sleeps: the tests wait on pipe's own output lines (recipe lines with --verbose) and on
// process exits. Every recipe process carries the token in its command line: the sleeps last
// a unique, fractional number of seconds.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { collect, finished, pgrep, Project, Reaper, waitForLine } from "../helpers/rig.ts";

/** A hang guard: generous, each test takes seconds. */
const GUARD = { timeout: 60_000 };

let n = 0;
/** A unique sleep duration: `sleep <token>` and `sh -c '...' <token>` both show it. */
const newToken = () => `99999.${process.pid}${Date.now() % 100000}${n++}`;

/**
 * A Pipelinefile whose recipes start `sh -c <script> <token>` and say READY (ctx.log) once the
 * script printed READY, i.e. its background jobs run. With a file "release" they just succeed.
 */
/**
 * pipe's exit code once pipe itself exited: its output may never close, as a process it left
 * running could hold it open (the recipes' children inherit its stderr).
 */
function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function project(token: string, recipes: string): Project {
  return new Project({
    "runs/.keep": "",
    "Pipelinefile.ts": `import { target, sh } from "pipefile";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
const T = "${token}";
function start(c: { log: (...a: unknown[]) => void }, script: string, detached = false) {
  const child = spawn("sh", ["-c", script, T], { stdio: ["ignore", "pipe", "inherit"], detached });
  return new Promise<typeof child>((resolve) => {
    child.stdout!.on("data", (d) => {
      if (String(d).includes("READY")) {
        c.log("READY");
        resolve(child);
      }
    });
  });
}
function done(c: { id: string; outputs: string[] }): boolean {
  appendFileSync("runs/" + c.id, "run\\n");
  if (!existsSync("release")) return false;
  writeFileSync(c.outputs[0], c.id);
  return true;
}
${recipes}`,
  });
}

// awaits: the reviewer's case, a child awaited (stdio inherited in part), with background jobs.
// grouped: a child in its own process group (detached) with a background job, and a recipe
// that never settles and ignores ctx.signal (its worker is terminated).
// shell: a shell recipe with a background job, in the same build.
const INTERRUPTED = `
export const awaits = target({ outputs: ["build/awaits.txt"], run: async (c) => {
  if (done(c)) return;
  const child = await start(c, "sleep $0 & sleep $0 & echo READY; wait");
  await new Promise((r) => child.on("exit", r));
  writeFileSync(c.outputs[0], "partial");
} });
export const grouped = target({ outputs: ["build/grouped.txt"], run: async (c) => {
  if (done(c)) return;
  (await start(c, "sh -c 'sleep $0; true' $0 & echo READY; wait", true)).unref();
  await new Promise(() => undefined);
} });
export const shell = target({ outputs: ["build/shell.txt"], run: (c) => sh\`sh -c \${"if [ -e release ]; then echo ok > $1; exit 0; fi; sleep $0 & echo READY; wait"} \${T} \${c.outputs[0]}\` });
`;

const NAMES = ["awaits", "grouped", "shell"];

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${sig} to pipe's pid alone while TypeScript recipes run child processes (awaited, detached, with background jobs) next to a shell recipe: exit 130, none survives, nothing published, the next build reruns them`, GUARD, async (t) => {
    const token = newToken();
    const reaper = new Reaper(t.signal);
    reaper.token(token);
    const p = project(token, INTERRUPTED);
    try {
      const child = reaper.add(p.spawn(["build", "-j3", "--verbose"], { detached: true }), { group: true });
      const exited = exitOf(child);
      const result = collect(child);
      const ready = new Set<string>();
      await waitForLine(child, (l) => {
        const m = /^\[(\w+)\] READY$/.exec(l);
        if (m) ready.add(m[1]);
        return ready.size === NAMES.length;
      });
      assert.equal(pgrep(token).length >= 6, true, "the recipes' processes run");
      process.kill(child.pid!, sig);
      const code = await exited;
      assert.deepEqual(pgrep(token), [], "no process a recipe started outlives pipe");
      const r = await result;
      assert.equal(code, 130, r.stdout + r.stderr);
      for (const name of NAMES) {
        assert.match(r.stdout, new RegExp(`^FAILED ${name} \\(interrupted`, "m"), r.stdout);
        assert.equal(p.exists(`build/${name}.txt`), false, `${name} published nothing`);
      }
      // Stopped by SIGTERM: nothing needed SIGKILL, so nothing is reported as killed.
      assert.doesNotMatch(r.stdout + r.stderr, /did not exit after SIGTERM/);

      p.write({ release: "" });
      const next = await p.run(["build", "--json"]);
      assert.equal(next.code, 0, next.stdout + next.stderr);
      assert.deepEqual(finished(next.events, "built"), NAMES);
      assert.equal(next.events.some((e) => e.type === "warning"), false, next.stdout);
      const verify = await p.run(["status", "--verify"]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      p.remove();
    } finally {
      reaper.stop();
    }
  });
}

// A child (and its background job) that ignore SIGTERM: only SIGKILL ends them.
const STUBBORN = `
export const stubborn = target({ outputs: ["build/stubborn.txt"], run: async (c) => {
  if (done(c)) return;
  const child = await start(c, "trap '' TERM; sleep $0 & echo READY; wait");
  await new Promise((r) => child.on("exit", r));
} });
`;

/** The STUBBORN build started with the grace period given, once its recipe's child is READY. */
async function startStubborn(t: { signal: AbortSignal }, graceMs: string) {
  const token = newToken();
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  try {
    const p = project(token, STUBBORN);
    const child = reaper.add(p.spawn(["build", "--verbose"], { detached: true, env: { PIPE_KILL_GRACE_MS: graceMs } }), { group: true });
    const exited = exitOf(child);
    const result = collect(child);
    await waitForLine(child, (l) => l === "[stubborn] READY");
    return { token, reaper, p, child, exited, result };
  } catch (e) {
    reaper.stop();
    throw e;
  }
}

test("SIGINT to pipe's pid while a TypeScript recipe's child ignores SIGTERM: killed after PIPE_KILL_GRACE_MS with a warning saying so, exit 130, none survives", GUARD, async (t) => {
  const { token, reaper, p, child, exited, result } = await startStubborn(t, "1000");
  try {
    process.kill(child.pid!, "SIGINT");
    const code = await exited;
    assert.deepEqual(pgrep(token), [], "no process a recipe started outlives pipe");
    const r = await result;
    assert.equal(code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /^warning: \[stubborn\] 2 processes started by a TypeScript recipe did not exit after SIGTERM: killed pid \d+ \(sh -c .*\), pid \d+ \(sleep 99999\.\d+\)$/m, r.stdout);
    assert.match(r.stdout, /^FAILED stubborn \(interrupted/m, r.stdout);
    assert.equal(p.exists("build/stubborn.txt"), false);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// The bound is the test's timeout (30 s), half the grace period: pipe must not wait it out.
test("a second SIGINT during the grace period kills a TypeScript recipe's child that ignores SIGTERM at once (PIPE_KILL_GRACE_MS=60000): exit 130, none survives", { timeout: 30_000 }, async (t) => {
  const { token, reaper, p, child, exited, result } = await startStubborn(t, "60000");
  try {
    process.kill(child.pid!, "SIGINT");
    await waitForLine(child, (l) => l.startsWith("interrupt: stopping 1 running target"));
    process.kill(child.pid!, "SIGINT");
    const code = await exited;
    assert.deepEqual(pgrep(token), [], "no process a recipe started outlives pipe");
    const r = await result;
    assert.equal(code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /did not exit after SIGTERM: killed/, r.stdout);
    assert.equal(p.exists("build/stubborn.txt"), false);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// A recipe that returns while its child (and that child's background job) still runs; a shell
// recipe in the same build (its helper is pipe's own, as are the lock's supervisor and esbuild's
// service: none of them is reported or stopped).
const LEAVES = `
export const leaves = target({ outputs: ["build/leaves.txt"], run: async (c) => {
  await start(c, "sleep $0 & echo READY; wait");
  writeFileSync(c.outputs[0], "ok");
} });
export const shell = target({ outputs: ["build/shell.txt"], run: (c) => sh\`sh -c \${"echo ok > $0"} \${c.outputs[0]}\` });
`;

test("a TypeScript recipe that returns leaving a child running: the build succeeds, the child and its background job are stopped before pipe exits, with a warning naming them", GUARD, async (t) => {
  const token = newToken();
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = project(token, LEAVES);
  try {
    const child = reaper.add(p.spawn(["build", "-j2"]));
    const exited = exitOf(child);
    const result = collect(child);
    const code = await exited;
    assert.deepEqual(pgrep(token), [], "no process a recipe started outlives pipe");
    const r = await result;
    assert.equal(code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warning: \[leaves\] a TypeScript recipe left 2 processes running: pid \d+ \(sh -c .*\), pid \d+ \(sleep 99999\.\d+\); pipe stopped them/m, r.stdout);
    assert.equal(p.read("build/leaves.txt"), "ok");
    assert.equal(p.read("build/shell.txt"), "ok\n");
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(finished(again.events, "up-to-date"), ["leaves", "shell"]);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// A recipe printing in a loop forever: what it prints reaches pipe at pipe's pace (recipe-worker.ts),
// and with --verbose each line is written out; the interrupt must still get through. It did not:
// a worker given room as each message was taken refilled node's message queue as fast as this
// thread emptied it, and timers and signals never had their turn.
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  test(`${sig} stops a TypeScript recipe that prints in a loop forever, with --verbose: exit 130, its log kept`, { timeout: 30_000 }, async () => {
    const p = new Project({
      "Pipelinefile.ts": `import { target } from "pipefile";
export const chatty = target({ outputs: ["build/never.txt"], run: () => { for (let i = 0; ; i++) console.log("line " + i); } });
`,
    });
    const child = p.spawn(["build", "--verbose"]);
    try {
      const exited = exitOf(child);
      child.stderr!.resume();
      await waitForLine(child, (l) => l === "[chatty] line 100000");
      // From here the output is only drained: the test keeps none of it.
      child.stdout!.removeAllListeners("data");
      child.stdout!.resume();
      process.kill(child.pid!, sig);
      assert.equal(await exited, 130);
      assert.equal(p.exists("build/never.txt"), false);
      const logs = p.path(".pipe/logs");
      const { readdirSync, readFileSync } = await import("node:fs");
      assert.match(readFileSync(`${logs}/${readdirSync(logs)[0]}`, "utf8"), /^line 0\nline 1\n/);
    } finally {
      child.kill("SIGKILL");
      p.remove();
    }
  });
}

test("a TypeScript recipe's line printed before it computes for a long time without yielding is shown then, not when it ends", { timeout: 30_000 }, async () => {
  // The recipe spins until the test has seen its line: if lines only went out when the
  // recipe yields or returns, this would never end (the test's timeout fails it).
  const p = new Project({
    "Pipelinefile.ts": `import { target } from "pipefile";
import { existsSync, writeFileSync } from "node:fs";
export const busy = target({ outputs: ["build/busy.txt"], run: (ctx) => {
  for (let i = 0; i < 3; i++) console.log("warming up " + i);
  ctx.progress(1, 2);
  while (!existsSync("release")) { /* computing */ }
  writeFileSync(ctx.outputs[0], "done\\n");
} });
`,
  });
  try {
    const child = p.spawn(["build", "--verbose", "--json"]);
    const exited = exitOf(child);
    const result = collect(child);
    await waitForLine(child, (l) => l.includes('"type":"log"') && l.includes("warming up 0"));
    p.write({ release: "" });
    const r = await result;
    assert.equal(await exited, 0, r.stderr);
    const logs = r.stdout.split("\n").filter((l) => l.includes('"type":"log"'));
    assert.ok(logs.some((l) => l.includes("warming up 2")), r.stdout);
  } finally {
    p.remove();
  }
});
