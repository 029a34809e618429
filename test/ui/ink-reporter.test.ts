import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { displayWidth } from "../../src/ui/format.ts";
import { createReporter } from "../../src/ui/index.ts";
import { fakeClock, finish, finished, MemoryStream, start, started, stripAnsi } from "./fixtures.ts";

// Ink reads CI / CONTINUOUS_INTEGRATION once, when it is first imported, and then renders only
// its final frame. It is imported lazily by createReporter, so clearing them here (this file runs
// in its own process) lets these tests see the live frames even when the suite runs in CI.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

/** Lets the reporter's batched redraw (setImmediate) run. Not a sleep: one turn of the event loop. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function inkReporter(options: { quiet?: boolean; verbose?: boolean; tickMs?: number } = {}) {
  const stdout = new MemoryStream({ isTTY: true, columns: 80, rows: 24 });
  const stderr = new MemoryStream({ isTTY: true });
  const clock = fakeClock(0);
  const reporter = await createReporter({
    mode: "ink",
    stdout,
    stderr,
    color: false,
    quiet: options.quiet ?? false,
    verbose: options.verbose ?? false,
    jobs: 2,
    now: clock.now,
    // Frames come from events and the fake clock only: the real-time ticker could fire while
    // a test awaits a turn on a slow machine and draw a frame between two events.
    tickMs: options.tickMs ?? 0,
  });
  return { reporter, stdout, stderr, clock };
}

describe("Ink reporter", () => {
  test("loading the live view leaves the user's NODE_ENV as it was (recipes inherit it)", async () => {
    // React's production build is loaded by setting NODE_ENV for the import only.
    const saved = process.env.NODE_ENV;
    try {
      for (const value of ["development", undefined]) {
        if (value === undefined) delete process.env.NODE_ENV;
        else process.env.NODE_ENV = value;
        const { reporter } = await inkReporter();
        assert.equal(process.env.NODE_ENV, value);
        await reporter.close();
        assert.equal(process.env.NODE_ENV, value);
      }
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });

  test("draws the live view, then close() leaves the summary as plain text and shows the cursor", async () => {
    const consoleLog = console.log;
    const { reporter, stdout, stderr, clock } = await inkReporter();
    reporter.onEvent(started([["prepare", "run", 1_000], ["words", "run", 2_000]]));
    reporter.onEvent(start("prepare"));
    clock.advance(300);
    reporter.onEvent({ type: "target-progress", target: "prepare", done: 1, total: 2 });
    await turn();
    const live = stripAnsi(stdout.text);
    assert.match(live, /0\/2 done · 1 running · 300ms · ETA 2\.0s/);
    assert.match(live, /prepare\s+300ms {2}\[█████░░░░░\] 1\/2/);

    clock.advance(700);
    reporter.onEvent(finish("prepare", "built", 1_000));
    reporter.onEvent(start("words"));
    reporter.onEvent(finish("words", "built", 2_000));
    reporter.onEvent(finished({ built: 2 }, 3_000, ["prepare", "words"], 3_000));
    const beforeClose = stdout.chunks.length;
    await reporter.close();

    const all = stdout.text;
    assert.match(stripAnsi(all), /✔ built prepare 1\.0s · no record\n✔ built words 2\.0s · no record\n/);
    const tail = stdout.chunks.slice(beforeClose).join("");
    assert.match(stripAnsi(tail), /✔ ok: 2 built in 3\.0s\n {2}critical path 3\.0s: prepare 1\.0s → words 2\.0s\n$/);
    assert.ok(all.lastIndexOf("\x1b[?25h") > all.lastIndexOf("\x1b[?25l"), "cursor shown again after the last hide");
    assert.equal(stderr.text, "", "nothing on stderr");
    assert.equal(console.log, consoleLog, "console restored");

    const written = stdout.chunks.length;
    reporter.onEvent({ type: "warning", message: "late" });
    await reporter.close();
    await turn();
    assert.equal(stdout.chunks.length, written, "nothing is written after close");
  });

  test("events in one tick are drawn once", async () => {
    const { reporter, stdout, clock } = await inkReporter({ verbose: true });
    reporter.onEvent(started([["a", "run"]]));
    reporter.onEvent(start("a"));
    await turn();
    const before = stdout.chunks.length;
    clock.advance(100); // a frame is due (frames are at least 33 ms apart)
    for (let i = 0; i < 500; i++) reporter.onEvent({ type: "log", target: "a", stream: "stdout", line: `line ${i}` });
    await turn();
    const drawn = stdout.chunks.slice(before).join("");
    assert.ok(stdout.chunks.length - before < 10, `${stdout.chunks.length - before} writes for 500 log lines`);
    assert.match(stripAnsi(drawn), /\[a\] line 0\n[^]*\[a\] line 499\n/);
    await reporter.close();
  });

  test("an interrupt is shown in the header until the build finishes", async () => {
    const stdout = new MemoryStream({ isTTY: true, columns: 80 });
    let interrupted = 0;
    const reporter = await createReporter({
      mode: "ink",
      stdout,
      stderr: new MemoryStream(),
      color: false,
      quiet: false,
      verbose: false,
      jobs: 2,
      now: () => 0,
      onInterrupt: () => interrupted++,
    });
    reporter.onEvent(started([["a", "run"]]));
    reporter.onEvent(start("a"));
    process.emit("SIGINT");
    await turn();
    assert.equal(interrupted, 1);
    assert.match(stripAnsi(stdout.text), /interrupt: stopping 1 running target\n/);
    assert.match(stripAnsi(stdout.text), /interrupting…/);
    reporter.onEvent(finished({ failed: 1 }, 5, [], 0, { ok: false, interrupted: true }));
    await reporter.close();
    assert.match(stripAnsi(stdout.text), /■ interrupted: 1 failed in 5ms\n$/);
  });

  test("closing before the build finished leaves a note, not spinners", async () => {
    const { reporter, stdout } = await inkReporter();
    reporter.onEvent(started([["a", "run"], ["b", "run"]]));
    reporter.onEvent(start("a"));
    await turn();
    const before = stdout.chunks.length;
    await reporter.close();
    const tail = stripAnsi(stdout.chunks.slice(before).join(""));
    assert.match(tail, /stopped: 0\/2 done; were running: a\n$/);
    assert.doesNotMatch(tail, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });

  test("on a short terminal fewer running rows are shown, so Ink never clears the screen", async () => {
    const stdout = new MemoryStream({ isTTY: true, columns: 80, rows: 8 });
    const reporter = await createReporter({ mode: "ink", stdout, stderr: new MemoryStream(), color: false, quiet: false, verbose: false, jobs: 8, now: () => 0 });
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    reporter.onEvent(started(ids.map((id) => [id, "run"] as [string, "run"]), { jobs: 8 }));
    for (const id of ids) reporter.onEvent(start(id));
    await turn();
    const frame = stripAnsi(stdout.text);
    assert.match(frame, /t3 .*\n {2}… \+4 more running\n/);
    assert.doesNotMatch(frame, /t4 /);
    assert.doesNotMatch(stdout.text, /\x1b\[2J/, "no clear-screen");
    await reporter.close();
  });

  test("20,000 targets: React's production build, each line printed once, frames and memory bounded", async () => {
    // Before: React's development build recorded a performance.measure (with a diff of the
    // changed props: the whole 2,000-item feed once it was full) for every render, kept forever
    // by Node; one frame per event loop turn. A 3,000-target build reached 2.9 GB.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const { reporter, stdout, clock } = await inkReporter();
    const n = 20_000;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    reporter.onEvent(started(ids.map((id) => [id, "run", 5] as [string, "run", number])));
    let heapBefore = 0;
    for (let i = 0; i < n; i++) {
      reporter.onEvent(start(ids[i]));
      reporter.onEvent(finish(ids[i], "built", 1));
      clock.advance(1); // 20 s of build, by the reporter's clock
      if (i % 10 === 9) await turn();
      if (i === 999) {
        assert.equal(performance.getEntriesByType("measure").length, 0, "React's development build records a measure per render");
        gc();
        heapBefore = process.memoryUsage().heapUsed;
      }
    }
    gc();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    reporter.onEvent(finished({ built: n }, n));
    await reporter.close();
    const text = stripAnsi(stdout.text);
    const built = text.match(/✔ built t\d+ /g) ?? [];
    assert.equal(built.length, n, "every finished target is printed");
    assert.equal(new Set(built).size, n, "and printed once");
    // One frame per 33 ms of the clock at most (about 600 here), not one per turn (2,000).
    const frames = text.split(" done · ").length - 1;
    assert.ok(frames < 1_000, `${frames} frames for 2,000 turns of the event loop`);
    assert.ok(grown < 40e6, `the heap grew by ${Math.round(grown / 1e6)} MB over 19,000 targets`);
    assert.match(text, /✔ ok: 20000 built in 20\.0s\n$/);
  });

  test("stdin is never put in raw mode", async () => {
    const wasRaw = process.stdin.isTTY ? process.stdin.isRaw : undefined;
    const { reporter } = await inkReporter();
    reporter.onEvent(started([["a", "run"]]));
    await turn();
    if (process.stdin.isTTY) assert.equal(process.stdin.isRaw, wasRaw);
    assert.equal(process.stdin.listenerCount("data"), 0);
    assert.equal(process.stdin.listenerCount("readable"), 0);
    await reporter.close();
  });

  test("after the terminal narrows, every frame is cut to the new width (none wraps into stale rows)", async () => {
    const stdout = new MemoryStream({ isTTY: true, columns: 120, rows: 24 });
    const reporter = await createReporter({ mode: "ink", stdout, stderr: new MemoryStream(), color: false, quiet: false, verbose: false, jobs: 2, now: fakeClock(0).now });
    reporter.onEvent(started([["a", "up-to-date"]]));
    reporter.onEvent(finished({ "up-to-date": 1 }, 1));
    reporter.onEvent({ type: "watch-idle", watched: 1234, lastRunOk: true, polling: true });
    await turn();
    assert.match(stripAnsi(stdout.text), /◌ watching 1234 paths \(polling\); last run ok; waiting for changes/);
    const before = stdout.chunks.length;
    stdout.columns = 40;
    stdout.emit("resize");
    await turn();
    const after = stripAnsi(stdout.chunks.slice(before).join(""));
    assert.match(after, /^◌ watching 1234 paths \(polling\); last r…$/m, after);
    for (const line of after.split("\n")) assert.ok(displayWidth(line) <= 40, `${JSON.stringify(line)} is wider than 40 columns`);
    await reporter.close();
  });
});
