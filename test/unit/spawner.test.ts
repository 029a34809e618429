// The spawners that start shell recipes (src/run/spawner.ts), both helpers (python and perl),
// each checked against node's own spawn where they must agree: argv and env bytes, output
// lines, exit codes and signals, exec failures; then what only a spawner does: a grandchild
// holding the pipes, EOF on its stdin or SIGTERM (pipe died), and the fallback when a helper is
// missing or does not answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { availableHelpers, currentSpawner, runShell, runShellNode, type ShellResult, type ShellRun } from "../../src/run/shell.ts";
import { Spawner, type HelperKind } from "../../src/run/spawner.ts";
import { execFileSync } from "node:child_process";
import { pgrep, Reaper, survivors } from "../helpers/rig.ts";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Line = [stream: "stdout" | "stderr", line: string];

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

// Every helper this machine has (python needs Linux and the system python3; perl is everywhere).
const HELPERS = availableHelpers();

function job(how: HelperKind | "node", o: Partial<ShellRun> & { script?: string }, lines: Line[] = []): Promise<ShellResult> {
  return runShell({
    script: o.script ?? "",
    argv: o.argv,
    stdout: o.stdout,
    cwd: o.cwd ?? process.cwd(),
    env: o.env ?? ENV,
    signal: o.signal ?? new AbortController().signal,
    graceMs: o.graceMs ?? 5000,
    onLine: o.onLine ?? ((line, stream) => lines.push([stream, line])),
    onGroup: o.onGroup ?? (() => undefined),
    spawner: how,
  });
}

for (const helper of HELPERS) {
/** Runs the same job with the helper and with node's spawn and checks they agree; returns the helper's result and lines. */
async function both(o: Partial<ShellRun> & { script?: string }): Promise<{ r: ShellResult; out: string[]; err: string[] }> {
  const helperLines: Line[] = [];
  const nodeLines: Line[] = [];
  const [r, n] = await Promise.all([job(helper, o, helperLines), job("node", o, nodeLines)]);
  const pick = (ls: Line[], s: string) => ls.filter(([st]) => st === s).map(([, l]) => l);
  assert.deepEqual(r, n, `${helper} and node give the same result`);
  assert.deepEqual(pick(helperLines, "stdout"), pick(nodeLines, "stdout"), "same stdout lines");
  assert.deepEqual(pick(helperLines, "stderr"), pick(nodeLines, "stderr"), "same stderr lines");
  return { r, out: pick(helperLines, "stdout"), err: pick(helperLines, "stderr") };
}

test(`${helper}: argv elements and env values reach the recipe byte for byte`, async () => {
  const odd = ["a b", "new\nline", "tab\tand 'quotes' \"too\"", "$HOME `id` $(id) \\", "é€😀", "", "-rf", "=x=y"];
  const { r, out } = await both({ argv: ["/bin/sh", "-c", `for a in "$@"; do printf '<%s>' "$a" | od -An -c | tr -s ' \\n' ' '; echo; done`, "sh", ...odd] });
  assert.equal(r.code, 0);
  // perl really ran it: a spawner that failed (say, a syntax error in its script) would have
  // handed the job to node's spawn, and the comparison above would prove nothing.
  assert.equal(currentSpawner(helper)?.alive, true);
  assert.equal(out.length, odd.length);
  const env = { ...ENV, WEIRD: "x\ny=z é 'q' $HOME", EMPTY: "", "DOTTED.NAME": "1" };
  const e = await both({ env, script: `printf '<%s>\\n' "$WEIRD" "$EMPTY"; env | grep -c '^EMPTY=$'` });
  assert.deepEqual(e.out, ["<x", "y=z é 'q' $HOME>", "<>", "1"]);
  // A name sh would not export still reaches a program started directly.
  const direct: Line[] = [];
  await job(helper, { env, argv: ["env"] }, direct);
  assert.ok(direct.some(([, l]) => l === "DOTTED.NAME=1"));
  // Only what the job declares: nothing of pipe's own env leaks.
  const only = await both({ env: { PATH: ENV.PATH }, script: "env | sort | cut -d= -f1" });
  assert.deepEqual(only.out.filter((k) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(k)), ["PATH"]);
});

test(`${helper}: cwd, stdin from /dev/null, own process group`, async () => {
  const lines: Line[] = [];
  const r = await job(helper, { cwd: "/", script: `pwd; cat; ps -o pgid= -p $$ | tr -d ' '; echo $$` }, lines);
  const out = lines.map(([, l]) => l);
  assert.equal(r.code, 0);
  assert.equal(out[0], "/");
  assert.equal(out.length, 3, "stdin is empty");
  assert.equal(out[1], out[2], "the recipe leads its own process group");
});

test(`${helper}: stdout opened on a path (sh's \`>\`): created or truncated, relative to cwd; stderr still read; an unopenable path is named`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-spawner-"));
  try {
    for (const how of [helper, "node"] as const) {
      const out = `out ${how}.txt`;
      writeFileSync(join(dir, out), "old content that is longer than the new one\n");
      const lines: Line[] = [];
      const argv = ["/bin/sh", "-c", `printf 'a\\nb\\n'; echo oops >&2`];
      const r = await job(how, { cwd: dir, argv, stdout: out }, lines);
      assert.deepEqual(r, { code: 0, signal: null, killed: false }, how);
      assert.equal(readFileSync(join(dir, out), "utf8"), "a\nb\n", `${how}: truncated, then written`);
      assert.deepEqual(lines, [["stderr", "oops"]], `${how}: stderr is still the recipe's`);
      const fresh = `new ${how}.txt`;
      assert.equal((await job(how, { cwd: dir, argv: ["echo", "x"], stdout: fresh })).code, 0);
      assert.equal(readFileSync(join(dir, fresh), "utf8"), "x\n", `${how}: created`);
      assert.equal(statSync(join(dir, fresh)).mode & 0o777, 0o666 & ~process.umask(), `${how}: mode as sh's >`);
    }
    const bad = await both({ cwd: dir, argv: ["echo", "x"], stdout: "no/such/folder/o.txt" });
    assert.deepEqual(bad.r, { code: 127, signal: null, killed: false, spawnError: `cannot open "no/such/folder/o.txt" for the command's output (ENOENT)` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${helper}: large output: every line, long lines and multibyte characters across chunk boundaries`, async () => {
  const lines: Line[] = [];
  const r = await job(helper, {
    script: `i=0; while [ $i -lt 3000 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done; head -c 200000 /dev/zero | tr '\\0' b; echo; awk 'BEGIN { for (i = 0; i < 70000; i++) printf "€"; printf "\\n" }'; printf 'no newline at the end'`,
  }, lines);
  assert.equal(r.code, 0);
  const out = lines.filter(([s]) => s === "stdout").map(([, l]) => l);
  const err = lines.filter(([s]) => s === "stderr").map(([, l]) => l);
  assert.equal(err.length, 3000);
  assert.deepEqual(out.slice(0, 3000), Array.from({ length: 3000 }, (_, i) => `line ${i}`));
  assert.equal(out[3000], "b".repeat(200000));
  assert.equal(out[3001], "€".repeat(70000));
  assert.equal(out[3002], "no newline at the end");
  assert.equal(out.length, 3003);
});

test(`${helper}: line endings as readline: \\n, \\r\\n and a lone \\r end a line`, async () => {
  const { out } = await both({ script: `printf 'a\\r\\nb\\rc\\n\\nd'` });
  assert.deepEqual(out, ["a", "b", "c", "", "d"]);
});

test(`${helper}: exit codes and signals`, async () => {
  assert.deepEqual((await both({ script: "exit 3" })).r, { code: 3, signal: null, killed: false });
  assert.deepEqual((await both({ script: "exit 0" })).r, { code: 0, signal: null, killed: false });
  assert.deepEqual((await both({ script: "kill -TERM $$" })).r, { code: null, signal: "SIGTERM", killed: false });
  assert.deepEqual((await both({ script: "kill -KILL $$" })).r, { code: null, signal: "SIGKILL", killed: false });
  assert.deepEqual((await both({ argv: ["false"] })).r, { code: 1, signal: null, killed: false });
});

test(`${helper}: a command that cannot start: command not found, permission denied`, async () => {
  const missing = await both({ argv: ["no-such-command-for-pipe-tests", "x"] });
  assert.deepEqual(missing.r, { code: 127, signal: null, killed: false, spawnError: "command not found: no-such-command-for-pipe-tests" });
  const denied = await both({ argv: ["/"] });
  assert.equal(denied.r.code, 127);
  assert.match(denied.r.spawnError ?? "", /EACCES/);
});

test(`${helper}: a script without #!, named by path or found on PATH, runs under sh (as execvp does); cwd is looked up for every job`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-noshebang-"));
  try {
    writeFileSync(join(dir, "noshebang"), 'echo "ran-by-sh $1"\n', { mode: 0o755 });
    const env = { PATH: `${dir}:${ENV.PATH}` };
    assert.deepEqual((await both({ env, argv: ["noshebang", "a"] })).out, ["ran-by-sh a"]);
    assert.deepEqual((await both({ env, argv: [join(dir, "noshebang"), "b"] })).out, ["ran-by-sh b"]);
    // The job's folder removed and made again: the same path is another folder.
    const work = join(dir, "work");
    for (const round of [1, 2]) {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work);
      const r = await both({ cwd: work, script: `touch made && ls` });
      assert.deepEqual(r.out, ["made"], `round ${round}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${helper}: a background grandchild holding the pipes does not hang the job; its group is reaped (the helper and node's spawn)`, { timeout: 60_000 }, async (t) => {
  // The grandchild never ends on its own: a group that is not stopped whole (a signal to the
  // leader's pid alone) keeps the job waiting, and the timeout fails the test; the Reaper then
  // stops the group, so the test file still ends.
  const reaper = new Reaper(t.signal);
  for (const how of [helper, "node"] as const) {
    if (t.signal.aborted) break;
    const token = `pipe-grandchild-${how}-${process.pid}-${Date.now()}`;
    const lines: Line[] = [];
    // The recipe's shell leads its group: its pid is the group's id.
    const r = await job(how, {
      script: `sh -c 'sleep 100000; true' ${token} & echo $$`,
      onLine: (line, stream) => {
        lines.push([stream, line]);
        reaper.group(Number(line));
      },
    });
    assert.deepEqual(r, { code: 0, signal: null, killed: false }, how);
    assert.equal(lines.length, 1, how);
    const pgid = Number(lines[0][1]);
    assert.ok(pgid > 1, how);
    assert.throws(() => process.kill(-pgid, 0), /ESRCH/, `${how}: the sleep was reaped with its group`);
    assert.deepEqual(await survivors(token), [], `${how}: the grandchild is gone`);
  }
});

test(`${helper}: abort: the group gets SIGTERM, also when the abort came before the start (the helper and node's spawn)`, async () => {
  for (const how of [helper, "node"] as const) {
    const ac = new AbortController();
    const r = await job(how, { signal: ac.signal, script: "echo READY; exec sleep 300", onLine: () => ac.abort() });
    assert.deepEqual(r, { code: null, signal: "SIGTERM", killed: false }, how);
    const early = new AbortController();
    early.abort();
    assert.deepEqual(await job(how, { signal: early.signal, script: "exec sleep 300" }), { code: null, signal: "SIGTERM", killed: false }, how);
    // A recipe that ignores SIGTERM is killed after the grace period.
    const stubborn = new AbortController();
    const k = await job(how, { signal: stubborn.signal, graceMs: 50, script: "trap '' TERM; echo READY; while :; do sleep 1; done", onLine: () => stubborn.abort() });
    assert.equal(k.killed, true, how);
  }
});

test(`${helper}: many jobs at once keep their output apart`, async () => {
  const all = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const lines: Line[] = [];
      const r = await job(helper, { argv: ["/bin/sh", "-c", `echo "job $0"; echo "done $0" >&2; exit $(($0 % 7))`, String(i)] }, lines);
      return { i, r, lines };
    }),
  );
  for (const { i, r, lines } of all) {
    assert.equal(r.code, i % 7);
    assert.deepEqual(lines.sort(), [["stderr", `done ${i}`], ["stdout", `job ${i}`]]);
  }
});

test(`${helper}: an env is sent to the helper once per content, not once per object (a long pipe watch makes new ones each build)`, async () => {
  const sp = Spawner.start({ kind: helper, fallback: runShellNode });
  assert.ok(sp, `${helper} is available here`);
  try {
    const run = async (env: Record<string, string>) => {
      const lines: string[] = [];
      const r = await sp.run({ script: 'echo "$GREETING"', cwd: process.cwd(), env, signal: new AbortController().signal, graceMs: 5000, onLine: (l) => lines.push(l), onGroup: () => undefined });
      assert.equal(r.code, 0);
      return lines;
    };
    for (let i = 0; i < 5; i++) assert.deepEqual(await run({ ...ENV, GREETING: "hello" }), ["hello"]);
    assert.equal(sp.envsDefined, 1, "five equal envs, one definition");
    assert.deepEqual(await run({ ...ENV, GREETING: "bye" }), ["bye"]);
    assert.deepEqual(await run({ ...ENV, GREETING: "hello" }), ["hello"]);
    assert.equal(sp.envsDefined, 2);
  } finally {
    // Idle, the spawner keeps nothing alive: closing its input lets the helper exit on its own.
    sp.closeInput();
  }
});

for (const how of ["EOF on its stdin", "SIGTERM"] as const) {
  test(`${helper}: ${how} (pipe died; the lock's supervisor sends TERM): it stops the running groups and exits`, async () => {
    const sp = Spawner.start({ kind: helper, fallback: runShellNode });
    assert.ok(sp, `${helper} is available here`);
    let helperPid = 0;
    let helperGone = 0;
    const groups: number[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const run = (script: string, onLine: (l: string) => void) =>
      sp.run({ script, cwd: process.cwd(), env: ENV, signal: new AbortController().signal, graceMs: 5000, onLine, onGroup: () => undefined, onHelper: (pid, alive) => (alive ? (helperPid = pid) : (helperGone = pid)) });
    const result = run("sleep 300 & echo $$; wait", (l) => {
      groups.push(Number(l));
      ready();
    });
    await isReady;
    if (how === "SIGTERM") process.kill(sp.pid, "SIGTERM");
    else sp.closeInput();
    await sp.exited();
    assert.equal(helperPid, sp.pid, "the lock is told of the helper, not of each recipe's group");
    for (const g of groups) assert.throws(() => process.kill(-g, 0), /ESRCH/, `no member of group ${g} survives the helper`);
    const r = await result;
    assert.match(r.spawnError ?? "", new RegExp(`recipe runner \\(${helper}\\)`));
    assert.equal(helperGone, sp.pid, "once its recipes' groups are confirmed gone, the lock is told the helper is gone");
  });
}

test(`${helper}: helper missing: no spawner; runShell's node path and a spawner that never answers both still run the job`, async () => {
  assert.equal(Spawner.start({ kind: helper, program: `/nonexistent/${helper}`, fallback: runShellNode }), undefined);
  const lines: Line[] = [];
  const n = await job("node", { script: "echo via node; exit 4" }, lines);
  assert.deepEqual(n, { code: 4, signal: null, killed: false });
  assert.deepEqual(lines, [["stdout", "via node"]]);
  // A helper that exits at once without a word: the jobs it was given run another way, and it
  // says it is unusable (runShell then stops starting it for every recipe).
  let unusable = false;
  const mute = Spawner.start({ kind: helper, program: "/bin/false", fallback: runShellNode, onUnusable: () => (unusable = true) });
  assert.ok(mute);
  const got: Line[] = [];
  const r = await mute.run({ script: "echo fallback; exit 5", cwd: process.cwd(), env: ENV, signal: new AbortController().signal, graceMs: 1000, onLine: (l, s) => got.push([s, l]), onGroup: () => undefined });
  assert.deepEqual(r, { code: 5, signal: null, killed: false });
  assert.deepEqual(got, [["stdout", "fallback"]]);
  assert.equal(unusable, true);
});

test(`${helper}: a group whose leader exited with members left is still stopped when pipe dies before reaping it`, async () => {
  // The helper alone, spoken to in its protocol: node's side (which reaps such a group right
  // after the exit) never sees the exit here.
  const sp = Spawner.start({ kind: helper, fallback: runShellNode });
  assert.ok(sp);
  const script = "sleep 300 & echo $$";
  const payload = `${process.cwd()}\0\0/bin/sh\0-c\0${script}`;
  const env = `PATH=${ENV.PATH}`;
  const said = sp.rawExchange(`E1 ${Buffer.byteLength(env)}\n${env}J1 1 ${Buffer.byteLength(payload)}\n${payload}`, /^X1 /m);
  const text = await said;
  const pgid = Number(/^O1 1 \d+\n(\d+)/m.exec(text)?.[1]);
  assert.ok(pgid > 1, text);
  assert.match(text, /^X1 0 0 0( 0)?$/m, "exit 0, group not empty (python adds: nothing queued behind it was started)");
  process.kill(-pgid, 0); // the background sleep is alive
  sp.closeInput();
  await sp.exited();
  assert.throws(() => process.kill(-pgid, 0), /ESRCH/, "the lingering group is gone with the helper");
});

test(`${helper}: SIGTERM while a burst of recipes is starting: not one of them outlives the helper`, async () => {
  // The TERM lands between spawning a child and recording it, for some job of the burst (the
  // delays spread it over the burst): the helper must stop from its loop, with every started
  // child recorded.
  for (let trial = 0; trial < 6; trial++) {
    const sp = Spawner.start({ kind: helper, fallback: runShellNode });
    assert.ok(sp);
    const token = `pipe-burst-${helper}-${process.pid}-${trial}`;
    const env = `PATH=${ENV.PATH}`;
    const job = (i: number, script: string) => {
      const payload = `${process.cwd()}\0\0/bin/sh\0-c\0${script}`;
      return `J${i} 1 ${Buffer.byteLength(payload)}\n${payload}`;
    };
    // Ready: it has answered a first job.
    await sp.rawExchange(`E1 ${Buffer.byteLength(env)}\n${env}` + job(1000, "true"), /^X1000 /m);
    let burst = "";
    for (let i = 1; i <= 60; i++) burst += job(i, `sleep 300; : ${token}`);
    void sp.rawExchange(burst, /(?!)/); // never answered: the helper is stopped first
    setTimeout(() => process.kill(sp.pid, "SIGTERM"), trial);
    await sp.exited();
    assert.deepEqual(pgrep(token), [], `trial ${trial}: no recipe survives`);
  }
});

test(`${helper}: a \`>\` path that is a FIFO nobody reads: that job alone is held up or fails, and an abort stops it`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-fifo-"));
  try {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    const sp = Spawner.start({ kind: helper, fallback: runShellNode });
    assert.ok(sp);
    const token = `pipe-fifo-${helper}-${process.pid}`;
    const run = (o: Partial<ShellRun>) => sp.run({ script: "", cwd: dir, env: ENV, signal: new AbortController().signal, graceMs: 5000, onLine: () => undefined, onGroup: () => undefined, ...o });
    // A long recipe that ignores TERM, started first: nothing below may touch it.
    let longReady!: () => void;
    const longStarted = new Promise<void>((r) => (longReady = r));
    const long = run({ script: `trap '' TERM; echo up; sleep 300; : ${token}`, onLine: () => longReady() });
    await longStarted;
    const ac = new AbortController();
    const stuck = run({ argv: ["echo", "x"], stdout: "fifo", signal: ac.signal });
    // Another job still runs at once: the helper is not blocked by the FIFO.
    assert.equal((await run({ argv: ["true"] })).code, 0);
    ac.abort();
    const r = await stuck;
    if (helper === "python") assert.match(r.spawnError ?? "", /cannot open "fifo" for the command's output \(ENXIO\)/);
    else assert.deepEqual(r, { code: null, signal: "SIGTERM", killed: false }, "the blocked child dies of the TERM, as any recipe would");
    assert.equal(pgrep(token).length, 1, "the long recipe was not touched");
    sp.closeInput();
    const l = await long;
    assert.match(l.spawnError ?? "", /recipe runner/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${helper}: the helper killed just after starting a recipe (before pipe heard of it): that recipe is stopped too`, async () => {
  for (let trial = 0; trial < 4; trial++) {
    const sp = Spawner.start({ kind: helper, fallback: runShellNode });
    assert.ok(sp);
    const run = (script: string) => sp.run({ script, cwd: process.cwd(), env: ENV, signal: new AbortController().signal, graceMs: 5000, onLine: () => undefined, onGroup: () => undefined });
    assert.equal((await run("true")).code, 0, "heard from");
    const token = `pipe-orphan-${helper}-${process.pid}-${trial}`;
    const job = run(`sleep 300; : ${token}`);
    setTimeout(() => process.kill(sp.pid, "SIGKILL"), trial);
    const r = await job;
    assert.match(r.spawnError ?? "", /recipe runner/);
    assert.deepEqual(pgrep(token), [], `trial ${trial}: the recipe is not left running`);
  }
});
}

