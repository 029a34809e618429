// Interrupts in the ways a user's shell delivers them, and concurrent builds on disjoint targets
// (reliability.md A3, F2, B2).
//
// A3: Ctrl-C during a -j4 build where 2 recipes have finished and 2 block, with pipe's output
//     going to pipes, through `| cat`, or to a file; the SIGINT goes to the whole foreground
//     process group (what a terminal's Ctrl-C does) or to pipe's pid alone.
// F2: a recipe that ignores SIGTERM is killed after PIPE_KILL_GRACE_MS, and a second Ctrl-C
//     kills it at once; a program that handles SIGTERM gets that grace period for its cleanup
//     even when the shell that started it exits at once.
// B2: two builds of disjoint targets started together lose neither one's records.
//
// No sleeps: the tests wait on pipe's own output lines (recipe lines with --verbose, "built …"),
// on file-change events for output redirected to a file, and on process exits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, watch } from "node:fs";
import { writeFile } from "node:fs/promises";
import { collect, finished, pgrep, PIPE_BIN, Project, Reaper, testEnv, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target, sh } from "pipefile";\n`;
/** A hang guard: generous, each test takes seconds. */
const GUARD = { timeout: 60_000 };

// $1 output, $2 name (its run counter is runs/<name>), $3 a token every process of the recipe
// carries in its command line. Until the test creates "release" it starts a background job that
// never ends on its own, says READY and waits: only a stop of its whole group ends it.
const BLOCK = `echo run >> "runs/$2"\nif [ -e release ]; then echo "$2" > "$1"; exit 0; fi\necho partial > "$1"\nsh -c 'sleep 100000; true' "$3" &\necho READY\nwait\n`;
const QUICK = `echo run >> "runs/$2"\necho "$2" > "$1"\n`;

/** 2 quick and 2 blocking independent targets. */
function a3Project(token: string): Project {
  const blocking = (name: string) => `export const ${name} = target({ outputs: ["build/${name}.txt"], run: (c) => sh\`sh scripts/block.sh \${c.outputs[0]} ${name} ${token}\` });\n`;
  const quick = (name: string) => `export const ${name} = target({ outputs: ["build/${name}.txt"], run: (c) => sh\`sh scripts/quick.sh \${c.outputs[0]} ${name}\` });\n`;
  return new Project({
    "scripts/block.sh": BLOCK,
    "scripts/quick.sh": QUICK,
    "runs/.keep": "",
    "Pipelinefile.ts": HEAD + blocking("b1") + blocking("b2") + quick("q1") + quick("q2"),
  });
}

/** How many times each recipe ran (lines of runs/<name>). */
function runs(p: Project, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, p.exists(`runs/${n}`) ? p.read(`runs/${n}`).split("\n").filter(Boolean).length : 0]));
}

/** The text of target `name`'s log (.pipe/logs/<name>-<hash>.log). */
function logOf(p: Project, name: string): string {
  const file = readdirSync(p.path(".pipe/logs")).find((f) => f.startsWith(`${name}-`));
  assert.ok(file, `a log for ${name}`);
  return p.read(`.pipe/logs/${file}`);
}

/** The A3 moment: both blocking recipes run their background job, both quick targets are built. */
function allReady(text: string): boolean {
  const lines = text.split("\n");
  return ["[b1] READY", "[b2] READY", "built q1 ", "built q2 "].every((s) => lines.some((l) => l.startsWith(s)));
}

/** Resolves when the file at `path` (written by another process) holds text satisfying `pred`: on change events, no polling. */
function waitForFile(path: string, pred: (text: string) => boolean, exited: Promise<unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const watcher = watch(path);
    let done = false;
    const check = () => {
      if (done) return;
      const text = readFileSync(path, "utf8");
      if (!pred(text)) return;
      done = true;
      watcher.close();
      resolve(text);
    };
    watcher.on("change", check);
    // The process may have written everything before the watch began, or may end without it.
    check();
    void exited.then(() => {
      check();
      if (done) return;
      done = true;
      watcher.close();
      reject(new Error(`process exited before the expected output; it wrote:\n${readFileSync(path, "utf8")}`));
    });
  });
}

interface Started {
  /** The group to Ctrl-C (the shell's, or pipe's when pipe is the foreground job itself). */
  pgid: number;
  /** Resolves once the moment to interrupt has come. */
  ready: Promise<unknown>;
  /** pipe's own pid (known once ready). */
  pipePid: () => number;
  /** pipe's exit code and everything it printed that the test could see, once all of it has exited. */
  result: Promise<{ code: number | null; output: string }>;
}

const A3_ARGS = ["build", "-j4", "--verbose"];

type Output = "pipes" | "| cat" | "> file";

/** Starts `pipe build -j4 --verbose` in its own process group, its output going the way `how` says. */
function startA3(p: Project, how: Output, reaper: Reaper): Started {
  if (how === "pipes") {
    const child = reaper.add(p.spawn(A3_ARGS, { detached: true }), { group: true });
    const r = collect(child);
    let seen = "";
    return {
      pgid: child.pid!,
      ready: waitForLine(child, (l) => allReady((seen += `${l}\n`))),
      pipePid: () => child.pid!,
      result: r.then((x) => ({ code: x.code, output: x.stdout + x.stderr })),
    };
  }
  if (how === "| cat") {
    // As typed at a prompt: `pipe build … 2>&1 | cat`, the shell and cat in the same foreground
    // group as pipe. The inner sh records its pid and execs pipe (so the pid is pipe's); the
    // brace group records pipe's own exit status (the pipeline's is cat's).
    const script = `{ sh -c 'echo $$ > pipe.pid; exec "$@"' sh "$0" "$1" ${A3_ARGS.join(" ")}; echo $? > pipe.status; } 2>&1 | cat`;
    const child: ChildProcess = reaper.add(spawn("bash", ["-c", script, process.execPath, PIPE_BIN], { cwd: p.dir, env: testEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] }), { group: true });
    const r = collect(child);
    let seen = "";
    return {
      pgid: child.pid!,
      ready: waitForLine(child, (l) => allReady((seen += `${l}\n`))),
      pipePid: () => Number(p.read("pipe.pid").trim()),
      result: r.then((x) => {
        assert.ok(p.exists("pipe.status"), `the shell recorded pipe's exit status: ${x.stdout}${x.stderr}`);
        return { code: Number(p.read("pipe.status").trim()), output: x.stdout + x.stderr };
      }),
    };
  }
  // `pipe build … > out.log`: the reporter writes to a file, stderr stays a pipe.
  const log = p.path("out.log");
  const fd = openSync(log, "w");
  const child = reaper.add(spawn(process.execPath, [PIPE_BIN, ...A3_ARGS], { cwd: p.dir, env: testEnv(), detached: true, stdio: ["ignore", fd, "pipe"] }), { group: true });
  closeSync(fd);
  const r = collect(child);
  return {
    pgid: child.pid!,
    ready: waitForFile(log, allReady, r),
    pipePid: () => child.pid!,
    result: r.then((x) => ({ code: x.code, output: readFileSync(log, "utf8") + x.stderr })),
  };
}

for (const how of ["pipes", "| cat", "> file"] as const) {
  for (const to of ["group", "pid"] as const) {
    test(`A3: Ctrl-C (SIGINT to ${to === "group" ? "the foreground process group" : "pipe's pid only"}) during a -j4 build, output ${how}: exit 130, the 2 finished targets kept, the 2 running ones rerun, no orphans`, GUARD, async (t) => {
      const token = `pipe-a3-${how === "pipes" ? "pipes" : how === "| cat" ? "cat" : "file"}-${to}-${process.pid}-${Date.now()}`;
      const reaper = new Reaper(t.signal);
      reaper.token(token);
      const p = a3Project(token);
      try {
        const s = startA3(p, how, reaper);
        await s.ready;
        if (to === "group") process.kill(-s.pgid, "SIGINT");
        else process.kill(s.pipePid(), "SIGINT");
        const r = await s.result;
        assert.equal(r.code, 130, r.output);
        // With `| cat` and a Ctrl-C to the whole group, cat is gone and pipe's last words with it;
        // the interrupted recipes' logs still say so.
        if (!(how === "| cat" && to === "group")) assert.match(r.output, /^interrupt: stopping 2 running targets$/m, r.output);
        if (!(how === "| cat" && to === "group")) assert.match(r.output, /^interrupted: 2 built, 2 failed/m, r.output);
        for (const b of ["b1", "b2"]) assert.match(logOf(p, b), /\npipe: interrupted\n$/, b);
        assert.deepEqual(pgrep(token), [], "no recipe process outlives pipe");
        assert.deepEqual(runs(p, ["b1", "b2", "q1", "q2"]), { b1: 1, b2: 1, q1: 1, q2: 1 });
        assert.equal(p.exists("build/b1.txt") || p.exists("build/b2.txt"), false, "the interrupted targets published nothing");

        p.write({ release: "" });
        const next = await p.run(["build", "--json"]);
        assert.equal(next.code, 0, next.stdout + next.stderr);
        assert.deepEqual(finished(next.events, "built"), ["b1", "b2"]);
        assert.deepEqual(finished(next.events, "up-to-date"), ["q1", "q2"]);
        assert.deepEqual(runs(p, ["b1", "b2", "q1", "q2"]), { b1: 2, b2: 2, q1: 1, q2: 1 }, "the finished targets were committed, the interrupted ones were not");
        const verify = await p.run(["status", "--verify"]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        p.remove();
      } finally {
        reaper.stop();
      }
    });
  }
}

// $1 token. The recipe's shell runs a program that handles SIGTERM with a cleanup taking a second
// (`sleep 1` stands for the work, with TERM ignored meanwhile); the shell itself dies on the TERM
// at once, as `sh -c 'a && b'` or `a | b` does. The background job is started before the trap is
// set: a TERM between its fork and its exec would otherwise run the trap in the child, which then
// ignores TERM and execs sleep immune to it (the test waited out the 60 s grace once under load).
const CLEANUP = `sh -c 'sleep 100000 & trap "trap \\"\\" TERM; sleep 1; echo cleaned > cleaned.txt; exit 143" TERM; echo READY; wait' "$1"\necho not reached\n`;

test("Ctrl-C: a recipe's program that handles SIGTERM gets the grace period for its cleanup even when its shell exits at once; exit 130, nothing survives", { timeout: 30_000 }, async (t) => {
  const token = `pipe-cleanup-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = new Project({
    "scripts/cleanup.sh": CLEANUP,
    "Pipelinefile.ts": HEAD + `export const c = target({ outputs: ["build/c.txt"], run: (c) => sh\`sh scripts/cleanup.sh ${token}\` });\n`,
  });
  try {
    const child = reaper.add(p.spawn(["build", "--verbose"], { detached: true, env: { PIPE_KILL_GRACE_MS: "60000" } }), { group: true });
    const result = collect(child);
    await waitForLine(child, (l) => l === "[c] READY");
    process.kill(-child.pid!, "SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    // Before the fix in groups.ts it was TERMed again and KILLed about 0.2 s after its shell exited.
    assert.equal(p.exists("cleaned.txt"), true, `the cleanup ran to its end:\n${r.stdout}`);
    assert.match(r.stdout, /^FAILED c \(interrupted\)/m, r.stdout);
    assert.deepEqual(pgrep(token), [], "no recipe process outlives pipe");
    assert.equal(p.exists("build/c.txt"), false);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// A recipe that ignores TERM (`trap '' TERM`), as do the background job it starts: only SIGKILL ends them.
const STUBBORN = `trap '' TERM\necho run >> "runs/$2"\nif [ -e release ]; then echo "$2" > "$1"; exit 0; fi\nsh -c 'sleep 100000; true' "$3" &\necho READY\nwait\n`;

function f2Project(token: string): Project {
  return new Project({
    "scripts/stubborn.sh": STUBBORN,
    "runs/.keep": "",
    "Pipelinefile.ts": HEAD + `export const stubborn = target({ outputs: ["build/stubborn.txt"], run: (c) => sh\`sh scripts/stubborn.sh \${c.outputs[0]} stubborn ${token}\` });\n`,
  });
}

test("F2: Ctrl-C to a recipe that ignores SIGTERM: killed after PIPE_KILL_GRACE_MS with a message saying so, exit 130, nothing survives", GUARD, async (t) => {
  const token = `pipe-f2-grace-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = f2Project(token);
  try {
    const child = reaper.add(p.spawn(["build", "--verbose"], { detached: true, env: { PIPE_KILL_GRACE_MS: "1000" } }), { group: true });
    const result = collect(child);
    await waitForLine(child, (l) => l === "[stubborn] READY");
    process.kill(-child.pid!, "SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAILED stubborn \(interrupted; recipe did not exit after SIGTERM, killed\)/m, r.stdout);
    assert.deepEqual(pgrep(token), [], "no recipe process outlives pipe");
    assert.equal(p.exists("build/stubborn.txt"), false);
    p.write({ release: "" });
    const next = await p.run(["build", "--json"]);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.deepEqual(finished(next.events, "built"), ["stubborn"]);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// The bound is the test's timeout (30 s), half the grace period: pipe must not wait it out.
test("F2: a second Ctrl-C during the grace period kills a recipe that ignores SIGTERM at once (PIPE_KILL_GRACE_MS=60000): exit 130, nothing survives", { timeout: 30_000 }, async (t) => {
  const token = `pipe-f2-twice-${process.pid}-${Date.now()}`;
  const reaper = new Reaper(t.signal);
  reaper.token(token);
  const p = f2Project(token);
  try {
    const child = reaper.add(p.spawn(["build", "--verbose"], { detached: true, env: { PIPE_KILL_GRACE_MS: "60000" } }), { group: true });
    const result = collect(child);
    await waitForLine(child, (l) => l === "[stubborn] READY");
    process.kill(-child.pid!, "SIGINT");
    // The first one was taken (pipe says so) and the recipe ignored the TERM it got.
    await waitForLine(child, (l) => l.startsWith("interrupt: stopping 1 running target"));
    process.kill(-child.pid!, "SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAILED stubborn \(interrupted/m, r.stdout);
    assert.match(r.stdout, /^interrupt again: killing 1 running target$/m, "the second Ctrl-C is acknowledged");
    assert.deepEqual(pgrep(token), [], "no recipe process outlives pipe");
    assert.equal(p.exists("build/stubborn.txt"), false);
    p.remove();
  } finally {
    reaper.stop();
  }
});

test("B2: two builds of disjoint targets of one project started together: both exit 0, each recipe runs once, neither's records are lost", GUARD, async (t) => {
  const reaper = new Reaper(t.signal);
  const names = ["x1", "x2", "x3", "y1", "y2", "y3"];
  const p = new Project({
    "scripts/quick.sh": QUICK,
    "runs/.keep": "",
    "Pipelinefile.ts": HEAD + names.map((n) => `export const ${n} = target({ outputs: ["build/${n}.txt"], run: (c) => sh\`sh scripts/quick.sh \${c.outputs[0]} ${n}\` });\n`).join(""),
  });
  try {
    const [x, y] = await Promise.all([collect(reaper.add(p.spawn(["build", "--json", "x1", "x2", "x3"]))), collect(reaper.add(p.spawn(["build", "--json", "y1", "y2", "y3"])))]);
    assert.equal(x.code, 0, x.stdout + x.stderr);
    assert.equal(y.code, 0, y.stdout + y.stderr);
    assert.deepEqual(finished(x.events, "built"), ["x1", "x2", "x3"]);
    assert.deepEqual(finished(y.events, "built"), ["y1", "y2", "y3"]);
    assert.deepEqual(runs(p, names), Object.fromEntries(names.map((n) => [n, 1])));
    // A build that waited for the other's lock said for whom.
    for (const e of [...x.events, ...y.events]) if (e.type === "lock-waiting") assert.match(e.holder, /pid \d+: pipe build/);
    // Both builds' records are kept: a third build runs nothing.
    const third = await p.run(["build", "--json"]);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    assert.deepEqual(finished(third.events, "up-to-date"), names);
    assert.deepEqual(runs(p, names), Object.fromEntries(names.map((n) => [n, 1])));
    const verify = await p.run(["status", "--verify"]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    for (const n of names) assert.equal(p.read(`build/${n}.txt`), `${n}\n`);
    p.remove();
  } finally {
    reaper.stop();
  }
});

// $1 input, $2 output, $3 name; with $4 = gate, it says READY and waits for a line on gate.fifo.
const GATED = `echo run >> "runs/$3"\nif [ "$4" = gate ]; then echo READY; read go < gate.fifo; fi\ncat "$1" > "$2"\n`;

test("B2: a build of other targets started while one is mid-build waits for it, and neither's records are lost, cold and incremental", GUARD, async (t) => {
  const reaper = new Reaper(t.signal);
  const names = ["x1", "x2", "y1", "y2"];
  const p = new Project({
    "scripts/gated.sh": GATED,
    "runs/.keep": "",
    ...Object.fromEntries(names.map((n) => [`in/${n}.txt`, `${n} v1\n`])),
    "Pipelinefile.ts":
      HEAD +
      names.map((n) => `export const ${n} = target({ inputs: ["in/${n}.txt"], outputs: ["build/${n}.txt"], run: (c) => sh\`sh scripts/gated.sh \${c.inputs[0]} \${c.outputs[0]} ${n} ${n === "x1" ? "gate" : "none"}\` });\n`).join(""),
  });
  execFileSync("mkfifo", [p.path("gate.fifo")]);
  const parse = (l: string) => (l.startsWith("{") ? (JSON.parse(l) as { type: string; target?: string; line?: string }) : undefined);
  try {
    // Round 1 builds everything from scratch; round 2 after x1's and y1's inputs changed (the
    // second build then plans from its no-op snapshot, made before the first one's commits).
    for (const round of [1, 2]) {
      if (round === 2) p.write({ "in/x1.txt": "x1 v2\n", "in/y1.txt": "y1 v2\n" });
      // X holds the project lock, its x1 recipe blocked on the gate.
      const x = reaper.add(p.spawn(["build", "--json", "--verbose", "x1", "x2"]));
      const xDone = collect(x);
      await waitForLine(x, (l) => { const e = parse(l); return e?.type === "log" && e.target === "x1" && e.line === "READY"; });
      // Y starts now and waits for X.
      const y = reaper.add(p.spawn(["build", "--json", "y1", "y2"]));
      const yDone = collect(y);
      await waitForLine(y, (l) => parse(l)?.type === "lock-waiting");
      await writeFile(p.path("gate.fifo"), "go\n");
      const [xr, yr] = await Promise.all([xDone, yDone]);
      assert.equal(xr.code, 0, xr.stdout + xr.stderr);
      assert.equal(yr.code, 0, yr.stdout + yr.stderr);
      const expected = round === 1 ? [["x1", "x2"], ["y1", "y2"]] : [["x1"], ["y1"]];
      assert.deepEqual(finished(xr.events, "built"), expected[0], `round ${round}`);
      assert.deepEqual(finished(yr.events, "built"), expected[1], `round ${round}`);
      assert.deepEqual(runs(p, names), round === 1 ? { x1: 1, x2: 1, y1: 1, y2: 1 } : { x1: 2, x2: 1, y1: 2, y2: 1 }, `round ${round}`);
      // Both builds' records are kept: a build of everything runs nothing.
      const all = await p.run(["build", "--json"]);
      assert.equal(all.code, 0, all.stdout + all.stderr);
      assert.deepEqual(finished(all.events, "up-to-date"), names, `round ${round}: ${all.stdout}`);
      const verify = await p.run(["status", "--verify"]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    }
    // And each request's own no-op answer agrees.
    for (const req of [["x1", "x2"], ["y1", "y2"]]) {
      const again = await p.run(["build", "--json", ...req]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(finished(again.events, "up-to-date"), req);
    }
    assert.deepEqual(runs(p, names), { x1: 2, x2: 1, y1: 2, y2: 1 });
    for (const n of names) assert.equal(p.read(`build/${n}.txt`), p.read(`in/${n}.txt`));
    p.remove();
  } finally {
    reaper.stop();
  }
});
