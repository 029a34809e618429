/**
 * `pipe watch --json` end to end: the real CLI, real chokidar, a real project. One watch
 * process goes through the scenarios in order (each test leaves it idle for the next).
 *
 *   data/*.csv ──► combine ──► data/all.txt   (an output inside the globbed folder)
 *   flag.txt   ──► check   ──► out/check.txt  (fails when flag.txt says "fail")
 *   sentinel.txt ──► mark  ──► out/mark.txt   (the unrelated file for quiescence checks)
 *
 * Quiescence without sleeping: change sentinel.txt and require that the very next thing the
 * watcher does is the run for that change, with nothing in between.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CliRun, is, makeProject, type JsonEvent } from "./cli-rig.ts";

const PIPELINEFILE = `
import { target } from "pipefile";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

export const combine = target({
  inputs: ["data/*.csv"],
  outputs: ["data/all.txt"],
  run: (ctx) => {
    const rows = (f: string) => readFileSync(f, "utf8").trim().split("\\n").length - 1;
    writeFileSync(ctx.outputs[0], ctx.inputs.map((f: string) => basename(f) + " " + rows(f)).join("\\n") + "\\n");
  },
});

export const check = target({
  inputs: ["flag.txt"],
  outputs: ["out/check.txt"],
  run: (ctx) => {
    const flag = readFileSync(ctx.inputs[0], "utf8");
    if (flag.includes("fail")) throw new Error("flag.txt says fail");
    writeFileSync(ctx.outputs[0], flag);
  },
});

export const mark = target({
  inputs: ["sentinel.txt"],
  outputs: ["out/mark.txt"],
  run: (ctx) => writeFileSync(ctx.outputs[0], readFileSync(ctx.inputs[0])),
});

export default [combine, check, mark];
`;

const csv = (n: number) => "id,v\n" + Array.from({ length: n }, (_, i) => `${i},${i * i}\n`).join("");

describe("pipe watch --json (real CLI)", () => {
  let dir = "";
  let run: CliRun;
  let quietCount = 0;
  const read = (rel: string) => readFileSync(join(dir, rel), "utf8");

  /** One run: its watch-change paths, and every event up to and including its watch-idle. */
  async function nextRun(what: string): Promise<{ paths: string[]; events: JsonEvent[]; skipped: JsonEvent[] }> {
    const change = await run.next(is.change, `watch-change for ${what}`);
    const idle = await run.next(is.idle, `watch-idle after ${what}`);
    return { paths: change.event.paths, events: [...idle.skipped, idle.event], skipped: change.skipped };
  }

  /** Asserts nothing ran since the last consumed event; returns the sentinel's own run. */
  async function assertQuiet(): Promise<JsonEvent[]> {
    writeFileSync(join(dir, "sentinel.txt"), `quiet ${++quietCount}\n`);
    const r = await nextRun("the sentinel");
    assert.deepEqual(r.skipped, [], "nothing happened before the sentinel's change");
    assert.deepEqual(r.paths, ["sentinel.txt"], "the sentinel's run is for the sentinel alone");
    return r.events;
  }

  before(() => {
    dir = makeProject({ "Pipelinefile.ts": PIPELINEFILE, "data/a.csv": csv(1), "flag.txt": "ok\n", "sentinel.txt": "quiet 0\n" });
    run = new CliRun(dir, ["watch", "--json", "-k", "-j", "2", "--debounce", "250"]);
  });

  after(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("the first build builds everything, then pipe waits", async () => {
    const finished = await run.next(is.buildFinished, "the first build-finished");
    assert.equal(finished.event.ok, true, run.stderr);
    assert.equal(finished.event.counts.built, 3);
    const idle = await run.next(is.idle, "the first watch-idle");
    assert.deepEqual(idle.skipped, []);
    assert.equal(idle.event.lastRunOk, true);
    assert.equal(read("data/all.txt"), "a.csv 1\n");
  });

  test("(1) a CSV dropped into the globbed folder by atomic rename rebuilds exactly once", async () => {
    writeFileSync(join(dir, "data/.c.csv.tmp"), csv(2));
    renameSync(join(dir, "data/.c.csv.tmp"), join(dir, "data/c.csv"));
    const r = await nextRun("data/c.csv");
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.paths, ["data/c.csv"]);
    assert.deepEqual(r.events.filter(is.buildStarted).length, 1);
    assert.deepEqual(r.events.filter((e) => e.type === "target-started").map((e) => e.target), ["combine"]);
    assert.equal(read("data/all.txt"), "a.csv 1\nc.csv 2\n");
    await assertQuiet();
  });

  test("(2) a file written slowly, in chunks, is built once, complete", async () => {
    const p = join(dir, "data/d.csv");
    const chunks = csv(4).split(/(?<=\n)/);
    for (const [i, chunk] of chunks.entries()) {
      appendFileSync(p, chunk);
      if (i < chunks.length - 1) await delay(40); // the writer's pace, well within the quiet period
    }
    const r = await nextRun("data/d.csv");
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.paths, ["data/d.csv"]);
    assert.equal(r.events.filter(is.buildStarted).length, 1);
    assert.equal(read("data/all.txt"), "a.csv 1\nc.csv 2\nd.csv 4\n", "the build saw the whole file");
    await assertQuiet();
  });

  test("(3) 100 rapid edits give a bounded number of runs and the right final output", async () => {
    const p = join(dir, "data/a.csv");
    for (let i = 1; i <= 100; i++) writeFileSync(p, csv(i === 100 ? 12 : (i % 9) + 1));
    let runs = 0;
    while (!read("data/all.txt").startsWith("a.csv 12\n")) {
      const r = await nextRun("the edits of data/a.csv");
      runs += r.events.filter(is.buildStarted).length;
      assert.ok(runs <= 3, `${runs} runs for one burst`);
    }
    assert.ok(runs >= 1 && runs <= 3, `${runs} runs`);
    assert.equal(read("data/all.txt"), "a.csv 12\nc.csv 2\nd.csv 4\n");
  });

  test("(4) after the last change, nothing more runs", async () => {
    await assertQuiet();
  });

  test("(5) pipe's own writes inside watched folders (builds, restores) trigger nothing", async () => {
    rmSync(join(dir, "data/all.txt")); // an output: removing it is not a source change
    const events = await assertQuiet();
    const combine = events.find((e) => e.type === "target-finished" && e.target === "combine");
    assert.equal(combine?.status, "restored", "the sentinel's build restored the output into data/");
    assert.equal(read("data/all.txt"), "a.csv 12\nc.csv 2\nd.csv 4\n");
    await assertQuiet(); // and that restore did not trigger a run either
  });

  test("saving a file without changing it runs nothing", async () => {
    writeFileSync(join(dir, "flag.txt"), "ok\n");
    await assertQuiet();
  });

  test("(6) a failing recipe is not retried until its input changes again", async () => {
    writeFileSync(join(dir, "flag.txt"), "fail\n");
    const r = await nextRun("flag.txt");
    assert.deepEqual(r.paths, ["flag.txt"]);
    const failed = r.events.find((e) => e.type === "target-finished" && e.target === "check");
    assert.equal(failed?.status, "failed");
    assert.equal(r.events.at(-1)?.lastRunOk, false);
    // No loop: the next thing that happens is the sentinel's run, and it leaves "check" alone.
    const quiet = await assertQuiet();
    assert.deepEqual(quiet.filter((e) => e.type === "target-started").map((e) => e.target), ["mark"]);
    assert.ok(quiet.some((e) => e.type === "warning" && e.target === "check"), "it says why check was not retried");
    // The run built what it was asked to, but a requested target is still failed: not ok.
    assert.deepEqual(quiet.find(is.buildStarted)?.notRetried, ["check"]);
    const held = quiet.find(is.buildFinished);
    assert.equal(held?.ok, false, "build-finished is not ok while check is still failed");
    assert.deepEqual(held?.notRetried, ["check"]);
    assert.equal(held?.counts.failed, 0, "counts are this run's own");
    writeFileSync(join(dir, "flag.txt"), "fixed\n");
    const fixed = await nextRun("the fixed flag.txt");
    assert.equal(fixed.events.find((e) => e.type === "target-finished" && e.target === "check")?.status, "built");
    assert.equal(fixed.events.at(-1)?.lastRunOk, true);
  });

  test("a Pipelinefile that stops loading is reported, and watching goes on until it is fixed", async () => {
    const pf = join(dir, "Pipelinefile.ts");
    writeFileSync(pf, PIPELINEFILE + "\nexport const broken = ;\n");
    const bad = await nextRun("the broken Pipelinefile");
    const error = bad.events.find((e) => e.type === "error");
    assert.match(error?.message ?? "", /^error: Pipelinefile does not compile/);
    assert.equal(bad.events.at(-1)?.lastRunOk, false);
    writeFileSync(pf, PIPELINEFILE);
    const good = await nextRun("the fixed Pipelinefile");
    assert.equal(good.events.find(is.buildFinished)?.ok, true);
    await assertQuiet();
  });

  test("Ctrl-C stops it cleanly with exit code 130", async () => {
    run.child.kill("SIGINT");
    const { code } = await run.exited;
    assert.equal(code, 130, run.stderr);
    assert.deepEqual(run.unread, []);
  });
});

describe("pipe watch: Ctrl-C during a build", () => {
  test("interrupts the running recipe, reports the build as interrupted and exits with 130", async () => {
    const dir = makeProject({
      "Pipelinefile.ts": `
import { target } from "pipefile";
import { readFileSync, writeFileSync } from "node:fs";
export const slow = target({
  inputs: ["slow.txt"],
  outputs: ["out/slow.txt"],
  run: async (ctx) => {
    const text = readFileSync(ctx.inputs[0], "utf8");
    // "hang" waits until the build is interrupted.
    if (text.includes("hang")) await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    writeFileSync(ctx.outputs[0], text);
  },
});
export default [slow];
`,
      "slow.txt": "quick\n",
    });
    const run = new CliRun(dir, ["watch", "--json", "--debounce", "50"]);
    try {
      await run.next(is.idle, "the first watch-idle");
      writeFileSync(join(dir, "slow.txt"), "hang\n");
      await run.next((e) => e.type === "target-started" && e.target === "slow", "the hanging recipe to start");
      run.child.kill("SIGINT");
      const finished = await run.next(is.buildFinished, "the interrupted build-finished");
      assert.equal(finished.event.interrupted, true);
      const { code } = await run.exited;
      assert.equal(code, 130, run.stderr);
      assert.deepEqual(run.unread.filter((e) => e.type !== "log"), [], "no run after the interrupt");
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
