import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PipeEvent } from "../../src/events.ts";
import { createPlainReporter } from "../../src/ui/plain-reporter.ts";
import { outputClosed, releaseOutput, resetOutputGate, whenOutputOpen } from "../../src/util/output-gate.ts";
import type { Detail } from "../../src/ui/view-model.ts";
import { fakeClock, finish, finished, MemoryStream, slowStream, start, started } from "./fixtures.ts";

//   prepare ──► words ──► trend[attribute=recovered]
//   cached (restored), old (up to date)
const build: PipeEvent[] = [
  started(
    [
      ["old", "up-to-date"],
      ["cached", "restore", undefined, "output in cache"],
      ["prepare", "run", 1_000, "no record"],
      ["words", "run", 1_500, "input data/a.csv changed"],
      ["trend[attribute=recovered]", "run", 2_000, "input data/a.csv changed"],
    ],
    { jobs: 8 },
  ),
  finish("cached", "restored", 40, { reason: "output in cache" }),
  start("prepare"),
  { type: "log", target: "prepare", stream: "stdout", line: "read 1461 rows" },
  { type: "target-progress", target: "prepare", done: 0.5 },
  finish("prepare", "built", 1_234),
  start("words", "input data/a.csv changed"),
  { type: "warning", message: "column \"date\" has 3 empty cells", target: "words" },
  finish("words", "built", 1_500, { reason: "input data/a.csv changed" }),
  start("trend[attribute=recovered]", "input data/a.csv changed"),
  { type: "log", target: "trend[attribute=recovered]", stream: "stderr", line: "\x1b[31mValueError\x1b[0m: bad row 12" },
  finish("trend[attribute=recovered]", "failed", 800, {
    error: "exit code 3",
    logTail: ["Traceback (most recent call last):", "ValueError: bad row 12"],
    logPath: ".pipe/logs/trend[attribute=recovered].log",
  }),
  finish("report", "skipped", 0, { reason: "", cause: "trend[attribute=recovered]" }),
  finished({ built: 2, restored: 1, "up-to-date": 1, failed: 1, skipped: 1 }, 3_600, ["prepare", "words", "trend[attribute=recovered]"], 3_534, { ok: false }),
];

function run(events: PipeEvent[], options: { detail?: Detail; color?: boolean } = {}): MemoryStream {
  const out = new MemoryStream();
  const clock = fakeClock(0);
  const r = createPlainReporter({ stdout: out, color: options.color ?? false, detail: options.detail ?? "normal", now: clock.now });
  for (const e of events) r.onEvent(e);
  // Lines are batched until a timer or close(); close() writes them before its first await.
  void r.close();
  return out;
}

describe("plain reporter", () => {
  test("a build prints one line per start and finish, the failure's log tail, and a summary", () => {
    assert.deepEqual(run(build).lines, [
      "plan: 3 to run, 1 to restore, 1 up to date (jobs 8, about 2.0s)",
      "restored cached",
      "start prepare (no record)",
      "built prepare 1.2s",
      "start words (input data/a.csv changed)",
      'warning: [words] column "date" has 3 empty cells',
      "built words 1.5s",
      "start trend[attribute=recovered] (input data/a.csv changed)",
      "FAILED trend[attribute=recovered] (exit code 3) log: .pipe/logs/trend[attribute=recovered].log",
      "  Traceback (most recent call last):",
      "  ValueError: bad row 12",
      "skipped report (trend[attribute=recovered] failed)",
      "FAILED: 2 built, 1 restored, 1 up to date, 1 failed, 1 skipped in 3.6s; critical path 3.5s: prepare 1.2s -> words 1.5s -> trend[attribute=recovered] 800ms",
      "failed: trend[attribute=recovered] (log: .pipe/logs/trend[attribute=recovered].log)",
    ]);
  });

  test("--quiet prints only failures and the summary", () => {
    assert.deepEqual(run(build, { detail: "quiet" }).lines, [
      "FAILED trend[attribute=recovered] (exit code 3) log: .pipe/logs/trend[attribute=recovered].log",
      "  Traceback (most recent call last):",
      "  ValueError: bad row 12",
      "FAILED: 2 built, 1 restored, 1 up to date, 1 failed, 1 skipped in 3.6s; critical path 3.5s: prepare 1.2s -> words 1.5s -> trend[attribute=recovered] 800ms",
      "failed: trend[attribute=recovered] (log: .pipe/logs/trend[attribute=recovered].log)",
    ]);
  });

  test("--verbose adds each log line prefixed with its target, cleaned of escape codes, and up-to-date targets", () => {
    const lines = run([...build.slice(0, 4), finish("old", "up-to-date", 0, { reason: "" }), ...build.slice(4)], { detail: "verbose" }).lines;
    assert.ok(lines.includes("[prepare] read 1461 rows"));
    assert.ok(lines.includes("[trend[attribute=recovered]] ValueError: bad row 12"));
    assert.ok(lines.includes("up-to-date old"));
  });

  test("up-to-date targets get no line of their own by default", () => {
    const lines = run([started([["a", "up-to-date"], ["b", "up-to-date"]]), finish("a", "up-to-date", 0), finish("b", "up-to-date", 0), finished({ "up-to-date": 2 }, 12)]).lines;
    assert.deepEqual(lines, ["plan: 2 up to date (jobs 2)", "ok: 2 up to date in 12ms"]);
  });

  test("no escape sequence is ever written without colour, whatever CI says", () => {
    for (const ci of ["true", "false", undefined]) {
      const saved = process.env.CI;
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
      try {
        for (const detail of ["quiet", "normal", "verbose"] as const) {
          const out = run([...build, { type: "hash-progress", path: "data/big.csv", doneBytes: 1, totalBytes: 4e9 }], { detail });
          assert.doesNotMatch(out.text, /\x1b\[/, `CI=${ci} ${detail}`);
          assert.doesNotMatch(out.text, /\r/, `CI=${ci} ${detail}`);
        }
      } finally {
        if (saved === undefined) delete process.env.CI;
        else process.env.CI = saved;
      }
    }
  });

  test("with colour on, statuses are coloured and the text is unchanged", () => {
    const out = run(build, { color: true });
    assert.match(out.text, /\x1b\[31;1mFAILED\x1b\[0m trend/);
    assert.equal(out.text.replace(/\x1b\[[0-9;]*m/g, ""), run(build).text);
  });

  test("watch mode: a run that holds back failed targets ends FAILED, naming how many are still failed", () => {
    const held = { ...finished({ built: 1 }, 21, ["other"], 18), ok: false, notRetried: ["bad"] } as PipeEvent;
    const lines = run([{ ...started([["other", "run", undefined, "input data/other.txt changed"]]), notRetried: ["bad"] } as PipeEvent, start("other"), finish("other", "built", 18), held]).lines;
    assert.equal(lines.at(-1), "FAILED: 1 built, 1 still failed (not retried: its sources did not change) in 21ms; critical path 18ms: other 18ms");
    const two = run([started([["other", "run"]]), finish("other", "built", 18), { ...finished({ built: 1 }, 21), ok: false, notRetried: ["a", "b"] } as PipeEvent]).lines;
    assert.equal(two.at(-1), "FAILED: 1 built, 2 still failed (not retried: their sources did not change) in 21ms");
  });

  test("the summary of a 1,000-deep chain names its first and last targets and how many are between, on one short line", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    const events: PipeEvent[] = [started(ids.map((id) => [id, "run"] as [string, "run"])), ...ids.flatMap((id) => [start(id), finish(id, "built", 2)]), finished({ built: 1000 }, 2_500, ids, 2_000)];
    const last = run(events).lines.at(-1)!;
    assert.equal(last, "ok: 1000 built in 2.5s; critical path 2.0s: c0 2ms -> c1 2ms -> c2 2ms -> c3 2ms -> c4 2ms -> c5 2ms -> … 988 more -> c994 2ms -> c995 2ms -> c996 2ms -> c997 2ms -> c998 2ms -> c999 2ms");
  });

  test("watch mode prints the idle line and the changes", () => {
    const lines = run([
      { type: "watch-idle", watched: 12, lastRunOk: true },
      { type: "watch-change", paths: ["data/a.csv", "data/b.csv", "data/c.csv", "data/d.csv"] },
      { type: "error", message: "error: Pipelinefile.ts:3:1: unexpected token\n  hint: fix the syntax" },
      { type: "watch-idle", watched: 12, lastRunOk: false, polling: true },
    ]).lines;
    assert.deepEqual(lines, [
      "watching 12 paths; last run ok; waiting for changes",
      "changed: data/a.csv, data/b.csv, data/c.csv (+1 more)",
      "error: Pipelinefile.ts:3:1: unexpected token",
      "  hint: fix the syntax",
      "watching 12 paths (polling); last run failed; waiting for changes",
    ]);
  });

  test("lock waits, big-file hashing and dry runs each get one line", () => {
    const lines = run([
      { type: "lock-waiting", holder: "pid 4242 on ci-7", lockPath: ".pipe/lock" },
      { type: "lock-acquired" },
      { type: "hash-progress", path: "data/big.csv", doneBytes: 1e9, totalBytes: 4e9 },
      { type: "hash-progress", path: "data/big.csv", doneBytes: 2e9, totalBytes: 4e9 },
      { type: "hash-progress", path: "data/big.csv", doneBytes: 4e9, totalBytes: 4e9 },
      started([["a", "run", undefined, "no record"], ["b", "restore", undefined, "cached"], ["c", "up-to-date"]], { dryRun: true }),
      { type: "target-finished", target: "a", status: "skipped", durationMs: 0, reason: "would run: no record" },
      { type: "target-finished", target: "b", status: "skipped", durationMs: 0, reason: "would restore: cached" },
      { type: "target-finished", target: "c", status: "up-to-date", durationMs: 0, reason: "up to date" },
      finished({ "up-to-date": 1, skipped: 2 }, 5),
    ]).lines;
    assert.deepEqual(lines, [
      "waiting for lock .pipe/lock (held by pid 4242 on ci-7)",
      "hashing data/big.csv (4.0 GB)",
      "dry run: 1 to run, 1 to restore, 1 up to date (jobs 2)",
      "would run a (no record)",
      "would restore b (cached)",
      "ok (dry run): would run 1, would restore 1, 1 up to date (checked in 5ms)",
    ]);
  });

  test("-k with 1,000 failures: log tails for the first 10, one line for each other, and a summary that names them, capped", () => {
    // 2,000 targets; the odd ones fail with 12 log lines each (as in the review: 17,005 lines before).
    const ids = Array.from({ length: 2_000 }, (_, i) => `part${i}`);
    const tail = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const events: PipeEvent[] = [started(ids.map((id, i) => [id, i % 2 ? "run" : "up-to-date"] as [string, "run" | "up-to-date"]))];
    for (const id of ids.filter((_, i) => i % 2)) {
      events.push(finish(id, "failed", 3, { error: "recipe exited with code 1", logTail: tail, logPath: `.pipe/logs/${id}-0a1b2c.log` }));
    }
    events.push(finished({ "up-to-date": 1_000, failed: 1_000 }, 1_000, [], 0, { ok: false }));
    for (const detail of ["normal", "quiet"] as const) {
      const lines = run(events, { detail }).lines;
      assert.equal(lines.filter((l) => l.startsWith("  line ")).length, 10 * 12, "the first 10 failures keep their log tails");
      assert.ok(lines.includes("FAILED part21 (recipe exited with code 1) log: .pipe/logs/part21-0a1b2c.log"), "a failure after the 10th: one line with its error and log");
      assert.equal(lines.filter((l) => l.startsWith("FAILED part")).length, 1_000);
      assert.equal(lines.filter((l) => l.startsWith("more than 10 targets failed")).length, 1);
      assert.ok(lines.length <= 1_000 + 10 * 12 + 5, `${lines.length} lines (${detail})`);
      assert.deepEqual(lines.slice(-2), [
        "FAILED: 1000 up to date, 1000 failed in 1.0s",
        "failed: part1, part3, part5, part7, part9 and 995 more (logs in .pipe/logs/)",
      ]);
    }
  });

  test("the plan line does not count a restore as a run of its recipe; a dry run's summary does not give its own time as the build's", () => {
    // The core sends the recipe's median duration as estimateMs for every planned target.
    const lines = run([
      started([["model", "restore", 5_000, "output in cache"]], { dryRun: true }),
      { type: "target-finished", target: "model", status: "skipped", durationMs: 0, reason: "would restore: output in cache" },
      finished({ skipped: 1 }, 6),
    ]).lines;
    assert.deepEqual(lines, ["dry run: 1 to restore (jobs 2)", "would restore model (output in cache)", "ok (dry run): would restore 1 (checked in 6ms)"]);
  });

  test("lines share writes: none before close() (or a short timer), one write for many; 64 KiB goes out at once", async () => {
    const out = new MemoryStream();
    const r = createPlainReporter({ stdout: out, color: false, detail: "verbose", now: () => 0 });
    r.onEvent(started([["a", "run"]]));
    r.onEvent(start("a"));
    for (let i = 0; i < 3; i++) r.onEvent({ type: "log", target: "a", stream: "stdout", line: `line ${i}` });
    assert.equal(out.chunks.length, 0, "held until the batch ends");
    // A chatty recipe: 2,000 lines of 40 characters pass 64 KiB, which is written then.
    for (let i = 0; i < 2000; i++) r.onEvent({ type: "log", target: "a", stream: "stdout", line: `${String(i).padStart(4, "0")} ${"x".repeat(35)}` });
    assert.equal(out.chunks.length, 1, "one write for the first 64 KiB");
    assert.ok(out.chunks[0].length > 65536);
    r.onEvent(finish("a", "built", 5));
    r.onEvent(finished({ built: 1 }, 6, ["a"], 5));
    await r.close();
    assert.equal(out.chunks.length, 2, "the rest in one more write, at close");
    const lines = out.lines;
    assert.deepEqual(lines.slice(0, 5), ["plan: 1 to run (jobs 2)", "start a (no record)", "[a] line 0", "[a] line 1", "[a] line 2"]);
    assert.equal(lines.length, 2 + 3 + 2000 + 2);
    assert.equal(lines[2004], `[a] 1999 ${"x".repeat(35)}`);
    assert.deepEqual(lines.slice(-2), ["built a 5ms", "ok: 1 built in 6ms; critical path 5ms: a 5ms"]);
  });

  test("--verbose behind a reader that fell behind: past 8 MiB waiting the output gate closes (the readers of recipe output pause), every line still goes out, the gate opens once stdout drained", async () => {
    resetOutputGate();
    const { slow, taken, held } = slowStream();
    const r = createPlainReporter({ stdout: slow, color: false, detail: "verbose", now: () => 0 });
    r.onEvent(started([["a", "run"]]));
    r.onEvent(start("a"));
    const line = "x".repeat(1000);
    let closedAt = -1;
    for (let i = 0; i < 12_000; i++) {
      r.onEvent({ type: "log", target: "a", stream: "stdout", line });
      if (closedAt < 0 && outputClosed()) closedAt = i;
    }
    // The gate closed once about 8 MiB waited; the lines the readers had on their way still go out.
    assert.ok(closedAt > 8000 && closedAt < 8500, String(closedAt));
    assert.ok(outputClosed());
    let resumed = false;
    whenOutputOpen(() => (resumed = true));
    r.onEvent(finish("a", "built", 5));
    // The reader catches up: the gate opens, and the waiting readers go on.
    while (held.length) held.shift()!();
    assert.equal(resumed, true);
    assert.equal(outputClosed(), false);
    r.onEvent(finished({ built: 1 }, 6, ["a"], 5));
    const closing = r.close();
    while (held.length) held.shift()!();
    await closing;
    const lines = taken.join("").replace(/\n$/, "").split("\n");
    assert.equal(lines.filter((l) => l.startsWith("[a] ")).length, 12_000, "no line left out");
    assert.equal(lines.filter((l) => l.startsWith("warning:")).length, 0);
    assert.deepEqual(lines.slice(-2), ["built a 5ms", "ok: 1 built in 6ms; critical path 5ms: a 5ms"]);
  });

  test("--verbose while pipe stops (the gate released) behind a reader that fell behind: lines past 8 MiB are left out, and that is said once it catches up", async () => {
    resetOutputGate();
    releaseOutput();
    try {
      const { slow, taken, held } = slowStream();
      const r = createPlainReporter({ stdout: slow, color: false, detail: "verbose", now: () => 0 });
      r.onEvent(started([["a", "run"]]));
      r.onEvent(start("a"));
      const line = "x".repeat(1000);
      for (let i = 0; i < 20_000; i++) r.onEvent({ type: "log", target: "a", stream: "stdout", line });
      // About 8 MiB of lines wait in the stream; the rest of the 20 MB were not kept.
      assert.ok(slow.writableLength <= 8 * 1024 * 1024 + 70_000, String(slow.writableLength));
      assert.ok(slow.writableLength > 8 * 1024 * 1024 - 70_000, String(slow.writableLength));
      assert.equal(outputClosed(), false, "a released gate never closes");
      r.onEvent(finish("a", "built", 5));
      // The reader catches up: the note comes after what it had been given.
      while (held.length) held.shift()!();
      r.onEvent(finished({ built: 1 }, 6, ["a"], 5));
      const closing = r.close();
      while (held.length) held.shift()!();
      await closing;
      const lines = taken.join("").replace(/\n$/, "").split("\n");
      const shown = lines.filter((l) => l.startsWith("[a] ")).length;
      assert.ok(shown > 8000 && shown < 8500, String(shown));
      const note = `warning: ${(20_000 - shown).toLocaleString("en-US")} lines of recipe output not shown here: pipe was stopping and the reader of its output was behind (every line is in the targets' logs, .pipe/logs/)`;
      assert.deepEqual(lines.slice(-3), ["built a 5ms", note, "ok: 1 built in 6ms; critical path 5ms: a 5ms"]);
      assert.equal(lines.filter((l) => l.startsWith("warning:")).length, 1);
    } finally {
      resetOutputGate();
    }
  });

  test("pipe watch behind a stalled reader: one drain listener however many builds stall; every line goes out; the gate is open after each build's reporter is done with it", async () => {
    resetOutputGate();
    const { slow, taken, held } = slowStream();
    const r = createPlainReporter({ stdout: slow, color: false, detail: "verbose", now: () => 0 });
    const line = "y".repeat(1000);
    for (let b = 0; b < 15; b++) {
      r.onEvent(started([["a", "run"]]));
      r.onEvent(start("a"));
      for (let i = 0; i < 9000; i++) r.onEvent({ type: "log", target: "a", stream: "stdout", line });
      r.onEvent(finish("a", "built", 5));
      r.onEvent(finished({ built: 1 }, 6, ["a"], 5));
      assert.ok(slow.listenerCount("drain") <= 1, `build ${b}: ${slow.listenerCount("drain")} drain listeners`);
      r.onEvent({ type: "watch-change", paths: ["x.txt"] });
    }
    assert.ok(outputClosed());
    const closing = r.close();
    assert.equal(outputClosed(), false, "a closed reporter leaves the gate open");
    while (held.length) held.shift()!();
    await closing;
    assert.equal(slow.listenerCount("drain"), 0);
    const lines = taken.join("").split("\n");
    assert.equal(lines.filter((l) => l.startsWith("[a] ")).length, 15 * 9000);
  });

  test("a watch change is written at once, before pipe reloads the Pipelinefile (not after the batch's timer)", () => {
    const out = new MemoryStream();
    const r = createPlainReporter({ stdout: out, color: false, detail: "normal", now: () => 0 });
    r.onEvent({ type: "watch-change", paths: ["data/a.csv"] });
    assert.equal(out.lines.length, 1);
    assert.match(out.lines[0], /data\/a\.csv/);
    void r.close();
  });

  test("an interrupt is announced, a second one too (recipes are killed), later ones not; nothing is written after close", async () => {
    const out = new MemoryStream();
    const r = createPlainReporter({ stdout: out, color: false, detail: "normal", now: () => 0 });
    r.onEvent(started([["a", "run"]]));
    r.onEvent(start("a"));
    r.noteInterrupt();
    r.noteInterrupt();
    r.noteInterrupt();
    r.onEvent(finished({ failed: 1 }, 10, [], 0, { ok: false, interrupted: true }));
    await r.close();
    await r.close();
    r.onEvent({ type: "warning", message: "late" });
    assert.deepEqual(out.lines.slice(2), ["interrupt: stopping 1 running target", "interrupt again: killing 1 running target", "interrupted: 1 failed in 10ms"]);
  });
});
