// Ctrl-C, concurrent runs and kill -9: nothing leaks, nothing half-built counts as built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { collect, finished, Project, Reaper, survivors, waitForLine } from "../helpers/rig.ts";
import { availableHelpers } from "../../src/run/shell.ts";
import type { PipeEvent } from "../../src/events.ts";

const HELPERS = availableHelpers();
const HEAD = `import { target, param, sh } from "pipefile";\n`;
// $1: output path, $2: a token that every process of the recipe carries in its command line.
// The background sleeps never end on their own: only a stop of the whole group ends them, so
// a pipe that signals the leader alone waits for them forever (the tests' timeouts then fail
// it, and the Reaper stops what is left). With a file "release" the recipe just succeeds.
// Every process it starts (the two subshells and the sleep under each) writes its pid to
// pids.txt: the test checks those pids, not only what a search by command line finds.
const SLOW =
  `if [ -e release ]; then echo done > "$1"; exit 0; fi\necho partial > "$1"\n` +
  `sh -c 'sleep 100000 & echo $! >> pids.txt; wait' "$2" &\necho $! >> pids.txt\n` +
  `sh -c 'sleep 100000 & echo $! >> pids.txt; wait' "$2" &\necho $! >> pids.txt\n` +
  `while [ "$(wc -l < pids.txt)" -lt 4 ]; do sleep 0.01; done\necho READY\nwait\n`;

/** The pids in pids.txt still running (a zombie, dead but not yet reaped by init, is not). */
function running(p: Project): number[] {
  const pids = p.read("pids.txt").split("\n").filter(Boolean).map(Number);
  assert.equal(pids.length, 4, "the recipe wrote its four pids");
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
      try {
        process.kill(pid, 0); // no /proc: alive if it can be signalled
        return process.platform !== "linux";
      } catch {
        return false;
      }
    }
  });
}
/** A hang guard: generous, these tests take seconds. */
const GUARD = { timeout: 60_000 };

function parse(line: string): PipeEvent | undefined {
  return line.startsWith("{") ? (JSON.parse(line) as PipeEvent) : undefined;
}

test("Ctrl-C during a build whose recipe starts background grandchildren: none survive, exit 130, nothing published; the next build reruns it", GUARD, async (t) => {
  const token = `pipe-orphan-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = new Project({
    "scripts/slow.sh": SLOW,
    "Pipelinefile.ts":
      HEAD +
      // The recipe starts background jobs (which ignore SIGINT in a non-interactive sh), says it is ready, and waits.
      `export const slow = target({ outputs: ["build/slow.txt"], run: (c) => sh\`sh scripts/slow.sh \${c.outputs[0]} \${"${token}"}\` });\n` +
      `export const fast = target({ outputs: ["build/fast.txt"], run: (c) => sh\`echo done > \${c.outputs[0]}\` });\n` +
      `export default [slow, fast];\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--json", "--verbose", "-j", "2"]));
    const result = collect(child);
    // Interrupted once slow's grandchildren run and fast has finished.
    let ready = false;
    let fastDone = false;
    await waitForLine(child, (l) => {
      const e = parse(l);
      if (e?.type === "log" && e.line === "READY") ready = true;
      if (e?.type === "target-finished" && e.target === "fast") fastDone = true;
      return ready && fastDone;
    });
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    // At once, as pipe exits: it reaps every descendant before it does.
    assert.deepEqual(running(p), [], "none of the recipe's processes (by pid) survives pipe");
    assert.deepEqual(await survivors(token, 1), [], "no recipe process survives pipe");
    assert.equal(p.exists("build/slow.txt"), false, "the interrupted target published nothing");
    const fin = r.events.find((e) => e.type === "build-finished");
    assert.ok(fin && fin.type === "build-finished" && fin.interrupted === true);
    assert.equal(finished(r.events, "built").concat(finished(r.events, "up-to-date")).includes("slow"), false);
    // The next build reruns the interrupted target and keeps the finished one.
    p.write({ release: "" });
    const next = await p.run(["build", "--json"]);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.deepEqual(finished(next.events, "built"), ["slow"]);
    assert.deepEqual(finished(next.events, "up-to-date"), ["fast"]);
    assert.equal(p.read("build/slow.txt"), "done\n");
    p.remove();
  } finally {
    reaper.stop();
  }
});

test("a recipe that traps the interrupt, writes its output and exits 0 publishes and records nothing: exit 130, the next build runs it", GUARD, async (t) => {
  const reaper = new Reaper(t.signal);
  const p = new Project({
    // On TERM (pipe stops the group) it writes its staged output and exits 0, as if it had finished.
    "scripts/trap.sh": `if [ -e release ]; then echo fine > "$1"; exit 0; fi\nout="$1"\ntrap 'echo late > "$out"; exit 0' TERM\necho READY\nwhile :; do sleep 0.1; done\n`,
    "Pipelinefile.ts": HEAD + `export const t = target({ outputs: ["build/t.txt"], run: (c) => sh\`sh scripts/trap.sh \${c.outputs[0]}\` });\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--json"]));
    const result = collect(child);
    await waitForLine(child, (l) => {
      const e = parse(l);
      return e?.type === "log" && e.line === "READY";
    });
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    const f = r.events.find((e) => e.type === "target-finished" && e.target === "t");
    assert.ok(f && f.type === "target-finished" && f.status === "failed" && f.error === "interrupted", JSON.stringify(f));
    assert.equal(p.exists("build/t.txt"), false, "the output written after the interrupt is not published");
    assert.deepEqual(readdirSync(p.path("build")), [], "nor left staged");
    p.write({ release: "" });
    const next = await p.run(["build", "--json"]);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.deepEqual(finished(next.events, "built"), ["t"], "nothing was recorded: it runs again");
    assert.equal(p.read("build/t.txt"), "fine\n");
    p.remove();
  } finally {
    reaper.stop();
  }
});

test("an interrupted TypeScript recipe's log ends with \"interrupted\", with no stray stack frame", async () => {
  // Each recipe waits on its signal, as a well-behaved one does; each throws a different error when aborted.
  const wait = {
    timer: `await sleep(300_000, undefined, { signal: c.signal });`,
    reason: `await new Promise((_, reject) => c.signal.addEventListener("abort", () => reject(c.signal.reason)));`,
    check: `await new Promise((resolve) => c.signal.addEventListener("abort", resolve)); c.signal.throwIfAborted();`,
  };
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `import { setTimeout as sleep } from "node:timers/promises";\n` +
      Object.entries(wait)
        .map(([name, body]) => `export const ${name} = target({ outputs: ["build/${name}.txt"], run: async (c) => { c.log("READY ${name}"); ${body} } });\n`)
        .join(""),
  });
  try {
    const child = p.spawn(["build", "--json", "-j", "3", ...Object.keys(wait)]);
    const result = collect(child);
    const ready = new Set<string>();
    await waitForLine(child, (l) => {
      const m = /"line":"READY (\w+)"/.exec(l);
      if (m) ready.add(m[1]);
      return ready.size === Object.keys(wait).length;
    });
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    for (const name of Object.keys(wait)) {
      const f = r.events.find((e) => e.type === "target-finished" && e.target === name);
      assert.ok(f && f.type === "target-finished" && f.status === "failed" && f.error === "interrupted", `${name}: ${JSON.stringify(f)}`);
      assert.deepEqual(f.logTail, [`READY ${name}`], name);
      assert.equal(p.read(f.logPath!), `READY ${name}\npipe: interrupted\n`, name);
    }
  } finally {
    p.remove();
  }
});

test("SIGTERM to pipe only (not its group) also reaps recipe groups; exit 130", GUARD, async (t) => {
  const token = `pipe-term-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = new Project({
    "scripts/slow.sh": SLOW,
    "Pipelinefile.ts": HEAD + `export const slow = target({ outputs: ["build/slow.txt"], run: (c) => sh\`sh scripts/slow.sh \${c.outputs[0]} \${"${token}"}\` });\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--verbose"]));
    const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    await waitForLine(child, (l) => l.includes("READY"));
    child.kill("SIGTERM");
    assert.equal(await exit, 130);
    assert.deepEqual(running(p), [], "none of the recipe's processes (by pid) survives pipe");
    assert.deepEqual(await survivors(token, 1), []);
    p.remove();
  } finally {
    reaper.stop();
  }
});

test("two concurrent builds on one project: each recipe runs once, both exit 0", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      Array.from({ length: 6 }, (_, i) => `export const t${i} = target({ outputs: ["build/t${i}"], run: (c) => sh\`sh -c \${"echo $$ >> runs.log; echo ${i} > \\"$0\\""} \${c.outputs[0]}\` });\n`).join("") +
      `export default [${Array.from({ length: 6 }, (_, i) => `t${i}`).join(", ")}];\n`,
  });
  const [a, b] = await Promise.all([p.run(["build", "--json"]), p.run(["build", "--json"])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const runs = p.read("runs.log").trim().split("\n");
  assert.equal(runs.length, 6, "each recipe ran exactly once");
  const built = [...finished(a.events, "built"), ...finished(b.events, "built")].sort();
  assert.deepEqual(built, ["t0", "t1", "t2", "t3", "t4", "t5"]);
  const waited = [...a.events, ...b.events].filter((e) => e.type === "lock-waiting");
  for (const w of waited) assert.ok(w.type === "lock-waiting" && /pid \d+: pipe build/.test(w.holder), "the waiter names the holder");
});

test("two builds of the same targets, the second started while the first runs them: it waits for the lock, then finds all up to date; each recipe ran once (their own count)", async (t) => {
  // The race above may not overlap: here the first build holds the lock (its t0 waits for
  // "release") until the second has said it waits.
  const reaper = new Reaper(t.signal);
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t0 = target({ outputs: ["build/t0"], run: (c) => sh\`sh -c \${'echo t0 >> runs.log; for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done; echo 0 > "$0"'} \${c.outputs[0]}\` });\n` +
      Array.from({ length: 5 }, (_, i) => `export const t${i + 1} = target({ inputs: [t${i}], outputs: ["build/t${i + 1}"], run: (c) => sh\`sh -c \${"echo t${i + 1} >> runs.log; cat \\"$0\\" > \\"$1\\"; echo ${i + 1} >> \\"$1\\""} \${c.inputs[0]} \${c.outputs[0]}\` });\n`).join("") +
      `export default [t5];\n`,
  });
  try {
    const first = reaper.add(p.spawn(["build", "--json"]));
    const firstDone = collect(first);
    await waitForLine(first, (l) => l.includes('"target-started"'));
    const second = reaper.add(p.spawn(["build", "--json"]));
    const secondDone = collect(second);
    const waiting = JSON.parse(await waitForLine(second, (l) => l.includes('"lock-waiting"')));
    assert.match(waiting.holder, /pid \d+: pipe build/, "the waiter names the holder");
    writeFileSync(p.path("release"), "");
    const [a, b] = await Promise.all([firstDone, secondDone]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.deepEqual(finished(a.events, "built"), ["t0", "t1", "t2", "t3", "t4", "t5"]);
    assert.deepEqual(finished(b.events, "built"), []);
    assert.deepEqual(finished(b.events, "up-to-date"), ["t0", "t1", "t2", "t3", "t4", "t5"]);
    assert.deepEqual(p.read("runs.log").trim().split("\n").sort(), ["t0", "t1", "t2", "t3", "t4", "t5"], "each recipe ran once");
    assert.equal(p.read("build/t5"), "0\n1\n2\n3\n4\n5\n");
  } finally {
    reaper.stop();
    p.remove();
  }
});

// Each recipe helper (spawner.ts): the lock's supervisor watches the helper, which stops its
// recipes' groups when pipe dies, before the lock is released.
for (const helper of HELPERS) {
test(`kill -9 during a build (${helper} helper): the lock is recovered and no orphan recipe survives, not even one that ignores TERM`, GUARD, async (t) => {
  const token = `pipe-kill9-${helper}-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  // Background members that ignore TERM (an ignored signal stays ignored across exec): only
  // the KILL after the grace period stops them.
  // READY only once the trap is set (the subshell says so through a FIFO).
  const stubborn = `echo partial > "$1"\nsh -c 'sleep 100000; true' "$2" &\nmkfifo "$1.ready"\n(trap '' TERM; echo > "$1.ready"; exec sh -c 'sleep 100000; true' "$2") &\nread x < "$1.ready"\nrm "$1.ready"\necho READY\nwait\n`;
  const p = new Project({
    "scripts/slow.sh": stubborn,
    "Pipelinefile.ts":
      HEAD +
      `export const slow = target({ outputs: ["build/slow.txt"], run: (c) => sh\`sh scripts/slow.sh \${c.outputs[0]} \${"${token}"}\` });\n` +
      // The processes alive at the moment the next build holds the lock (ps runs directly, so
      // its own command line does not carry the token).
      `export const quick = target({ outputs: ["build/ps.txt"], run: (c) => sh\`ps -eo stat=,args= > \${c.outputs[0]}\` });\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--verbose", "slow"], { env: { PIPE_SPAWNER: helper } }));
    await waitForLine(child, (l) => l.includes("READY"));
    const exited = new Promise((r) => child.on("close", r));
    child.kill("SIGKILL");
    await exited;
    // The next pipe gets the lock without any manual unlock. The lock is released only after the
    // supervisor has stopped the dead build's recipes, so by then none may be left.
    const s = await p.run(["build", "--json", "quick"]);
    assert.equal(s.code, 0, s.stderr);
    const atLock = p.read("build/ps.txt").split("\n").filter((l) => l.includes(token) && !l.startsWith("Z"));
    assert.deepEqual(atLock, [], "no recipe process is alive when the next build holds the lock");
    assert.deepEqual(await survivors(token), []);
    assert.equal(p.exists("build/slow.txt"), false);
    p.remove();
  } finally {
    reaper.stop();
  }
});
}

test("Ctrl-C while a huge input is being hashed: pipe stops at once (hashing is off the main thread), exit 130, nothing planned", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["big.bin"], outputs: ["out.txt"], run: (c) => sh\`wc -c < \${c.inputs[0]} > \${c.outputs[0]}\` });\n`,
    "big.bin": "",
  });
  // 4 GiB, sparse: no disk space, but every byte is read and hashed.
  truncateSync(p.path("big.bin"), 4 * 1024 ** 3);
  const child = p.spawn(["build", "--json"]);
  const done = collect(child);
  const first = JSON.parse(await waitForLine(child, (l) => l.includes('"hash-progress"')));
  assert.equal(first.path, "big.bin");
  child.kill("SIGINT");
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  const progress = r.events.filter((e) => e.type === "hash-progress");
  assert.ok(progress.every((e) => e.type === "hash-progress" && e.doneBytes < e.totalBytes), "stopped before the hash finished");
  assert.equal(r.events.some((e) => e.type === "build-started"), false, "nothing was planned");
  assert.equal(p.exists("out.txt"), false);
  p.remove();
});

test("Ctrl-C: a process a shell recipe started in a session of its own (setsid) does not survive either", GUARD, async (t) => {
  const token = `pipe-setsid-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = new Project({
    "Pipelinefile.ts":
      HEAD + `export const s = target({ outputs: ["build/s.txt"], run: (c) => sh\`sh -c \${"setsid sh -c 'sleep 300; true' " + ${JSON.stringify(token)} + " & echo READY; sleep 300"} && touch \${c.outputs[0]}\` });\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--json", "--verbose"]));
    const result = collect(child);
    await waitForLine(child, (l) => parse(l)?.type === "log" && (parse(l) as { line: string }).line === "READY");
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(await survivors(token), [], "the setsid process is stopped by the helper that adopted it");
  } finally {
    reaper.stop();
    p.remove();
  }
});

test("a Ctrl-C that arrives while the last target is being recorded (the thread busy, as in a long copy) still ends the build with 130, its outputs whole and recorded", GUARD, async () => {
  // Before: a restore or store of a big file held the thread; the Ctrl-C was taken once the
  // build had finished, and pipe exited 0 after "ok: 2 restored ... interrupt: stopping".
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const a = target({ outputs: ["build/a.txt"], run: ({ outputs }) => sh\`echo a > \${outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build", "--json"], { env: { PIPE_TEST_SIGNAL_AT: "after-record" } });
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.equal(p.read("build/a.txt"), "a\n");
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0);
    assert.equal(again.events.filter((e) => e.type === "target-finished" && e.status === "built").length, 0, "what was recorded counts");
  } finally {
    p.remove();
  }
});

test("a Ctrl-C while pipe copies a big output into the cache ends it at once (the copy holds the thread); the next build finishes the job, the one after runs nothing", GUARD, async () => {
  // Before: the signal waited for the copy and the hash to finish (5 s for 3 GB). The crash
  // point inside the copy sends the SIGINT, as a Ctrl-C arriving mid-copy would.
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const big = target({ outputs: ["build/big.bin"], run: ({ outputs }) => sh\`head -c 3000000 /dev/zero > \${outputs[0]}\` });\n`,
  });
  try {
    const r = await p.run(["build", "--json"], { env: { PIPE_TEST_SIGNAL_AT: "cache-file-rename" } });
    assert.equal(r.signal, "SIGINT", `ended by the signal itself: ${r.code} ${r.stderr}`);
    assert.equal(r.events.some((e) => e.type === "target-finished"), false, "it ended inside the copy");
    assert.equal(p.exists("build/big.bin"), false, "nothing published");
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(finished(again.events, "built"), ["big"]);
    assert.equal(readdirSync(p.path("build")).join(","), "big.bin", "no staged leftover");
    const third = await p.run(["build", "--json"]);
    assert.deepEqual(finished(third.events, "built"), []);
  } finally {
    p.remove();
  }
});
