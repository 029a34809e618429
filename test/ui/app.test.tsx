import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import type { PipeEvent } from "../../src/events.ts";
import { App } from "../../src/ui/ink/App.tsx";
import { spinnerFrame } from "../../src/ui/ink/components/progress.ts";
import { createView, MAX_FEED, reduce, type BuildView } from "../../src/ui/view-model.ts";
import { finish, finished, start, started, stripAnsi, viewOf } from "./fixtures.ts";

afterEach(() => cleanup());

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

function frameOf(view: BuildView, t: number, columns = 80): string {
  const { lastFrame } = render(<App view={view} now={() => t} color={false} tickMs={0} columns={columns} />);
  return lastFrame() ?? "";
}

//   prepare ──► words ──► trend[attribute=recovered]     (jobs 4)
const inProgress: Array<[number, PipeEvent]> = [
  [0, started([["old", "up-to-date"], ["cached", "restore"], ["prepare", "run", 2_000], ["words", "run", 4_000], ["train", "run", 10_000]], { jobs: 4 })],
  [100, finish("cached", "restored", 80, { reason: "output in cache" })],
  [200, start("prepare")],
  [200, start("words", "input data/a.csv changed")],
  [1_000, { type: "target-progress", target: "words", done: 3, total: 5, message: "tokenizing" }],
  [1_100, { type: "hash-progress", path: "data/big.csv", doneBytes: 1.2e9, totalBytes: 4e9 }],
];

describe("Ink App", () => {
  test("a build in progress shows counts, running rows with spinner, elapsed time and progress", () => {
    const frame = frameOf(viewOf(inProgress), 1_400);
    const lines = frame.split("\n");
    assert.match(frame, /^↓ restored cached 80ms · output in cache$/m);
    const header = lines.find((l) => l.includes("done"))!;
    assert.equal(header, "2/5 done · 2 running · 1 restored · 1 up to date · 1.4s · ETA 10.0s");
    const prepare = lines.find((l) => l.includes("prepare"))!;
    assert.match(prepare, SPINNER);
    assert.match(prepare, /prepare\s+1\.2s$/);
    const words = lines.find((l) => l.includes("words"))!;
    assert.match(words, /^. words\s+1\.2s  \[██████░░░░\] 3\/5  tokenizing$/);
    assert.match(frame, /hashing data\/big\.csv 1\.2\/4\.0 GB  \[███░░░░░░░\]/);
    assert.equal(frame.includes(spinnerFrame(1_400)), true, "spinner frame follows the injected clock");
  });

  test("a fractional progress shows a percentage", () => {
    const v = viewOf([...inProgress, [1_200, { type: "target-progress", target: "prepare", done: 0.4 }]]);
    assert.match(frameOf(v, 1_400), /prepare\s+1\.2s  \[████░░░░░░\] 40%/);
  });

  test("a failure shows the error, the last log lines and the log path", () => {
    const v = viewOf([
      ...inProgress,
      [1_500, finish("words", "failed", 1_300, { error: "exit code 3", logTail: ["Traceback (most recent call last):", "ValueError: bad row 12"], logPath: ".pipe/logs/words.log" })],
    ]);
    const frame = frameOf(v, 1_600);
    assert.match(frame, /✖ FAILED words \(exit code 3\) 1\.3s\n  │ Traceback \(most recent call last\):\n  │ ValueError: bad row 12\n  log: \.pipe\/logs\/words\.log/);
    assert.match(frame, /1 failed/);
  });

  test("a restore from cache is one line with its status, id, duration and reason", () => {
    const v = viewOf([[0, started([["model", "restore"]])], [0, finish("model", "restored", 250, { reason: "same inputs as a cached run" })]]);
    assert.match(frameOf(v, 300), /^↓ restored model 250ms · same inputs as a cached run$/m);
  });

  test("the summary shows the counts, the total time and the critical path with its duration", () => {
    const v = viewOf([
      [0, started([["prepare", "run"], ["words", "run"], ["old", "up-to-date"]])],
      [0, start("prepare")],
      [1_000, finish("prepare", "built", 1_000)],
      [1_000, start("words")],
      [3_500, finish("words", "built", 2_500)],
      [3_600, finished({ built: 2, "up-to-date": 1 }, 3_600, ["prepare", "words"], 3_500)],
    ]);
    const frame = frameOf(v, 4_000);
    assert.match(frame, /^✔ ok: 2 built, 1 up to date in 3\.6s$/m);
    assert.match(frame, /^ {2}critical path 3\.5s: prepare 1\.0s → words 2\.5s$/m);
    assert.doesNotMatch(frame, SPINNER, "no spinner once finished");
  });

  test("a failed build's summary lists failed targets with their logs", () => {
    const v = viewOf([
      [0, started([["a", "run"]])],
      [0, start("a")],
      [5, finish("a", "failed", 5, { logPath: ".pipe/logs/a.log" })],
      [6, finished({ failed: 1 }, 6, ["a"], 5, { ok: false })],
    ]);
    assert.match(frameOf(v, 10), /✖ FAILED: 1 failed in 6ms\n {2}critical path 5ms: a 5ms\n {2}failed: a {2}log: \.pipe\/logs\/a\.log/);
  });

  test("50 targets at -j 8: running rows are capped and the rest counted", () => {
    const ids = Array.from({ length: 50 }, (_, i) => `features[shard=${String(i).padStart(2, "0")}]`);
    const events: Array<[number, PipeEvent]> = [[0, started(ids.map((id) => [id, "run", 1_000] as [string, "run", number]), { jobs: 12 })]];
    for (const id of ids.slice(0, 12)) events.push([0, start(id)]);
    for (const id of ids.slice(20, 40)) events.push([0, finish(id, "built", 900)]);
    const frame = frameOf(viewOf(events), 500);
    const rows = frame.split("\n").filter((l) => SPINNER.test(l));
    assert.equal(rows.length, 8);
    assert.match(frame, /… \+4 more running/);
    assert.match(frame, /20\/50 done · 12 running · 20 built/);
  });

  test("long ids are truncated in the middle and no line is wider than the terminal", () => {
    const long = "trend[attribute=hospitalized_with_symptoms,window=28,model=forest,days=14]";
    const v = viewOf([
      [0, started([[long, "run", 5_000], ["b", "run"]])],
      [0, start(long)],
      [0, { type: "target-progress", target: long, done: 1, total: 4, message: "a long progress message that would not fit at all" }],
      [0, start("b")],
      [0, finish("b", "built", 20, { reason: "a very long reason that explains at length why this target had to run again today" })],
    ]);
    const columns = 50;
    const frame = frameOf(v, 2_000, columns);
    for (const line of frame.split("\n")) assert.ok([...line].length <= columns, `too wide: ${JSON.stringify(line)}`);
    assert.match(frame, /⠴ trend\[attr…t,days=14\]    2\.0s  \[███░░░░░░░\] 1\/4$/m);
  });

  test("feed items are printed once across re-renders", () => {
    let v = createView();
    let t = 0;
    const { lastFrame, rerender } = render(<App view={v} now={() => t} color={false} tickMs={0} />);
    const steps: PipeEvent[] = [started([["a", "run"], ["b", "run"]]), start("a"), finish("a", "built", 10), start("b"), finish("b", "built", 20)];
    for (const e of steps) {
      t += 10;
      v = reduce(v, e, t);
      rerender(<App view={v} now={() => t} color={false} tickMs={0} />);
      rerender(<App view={v} now={() => t + 1} color={false} tickMs={0} />);
    }
    const frame = lastFrame() ?? "";
    assert.equal(frame.match(/built a/g)?.length, 1);
    assert.equal(frame.match(/built b/g)?.length, 1);
  });

  test("items the feed dropped between two frames are counted by what they were, and restores are not said to have logs", () => {
    const ids = Array.from({ length: MAX_FEED + 500 }, (_, i) => `t${i}`);
    let v = reduce(createView(), started(ids.map((id) => [id, "restore"] as [string, "restore"])), 0);
    const { lastFrame, rerender } = render(<App view={v} now={() => 0} color={false} tickMs={0} />);
    for (const id of ids) v = reduce(v, finish(id, "restored", 1, { reason: "output in cache" }), 0);
    rerender(<App view={v} now={() => 0} color={false} tickMs={0} />);
    const frame = lastFrame() ?? "";
    assert.match(frame, /^… 500 more finished targets not listed$/m);
    assert.doesNotMatch(frame, /log/);
    assert.doesNotMatch(frame, /restored t499 /);
    assert.match(frame, /^… 500 more finished targets not listed\n↓ restored t500 1ms/m);
    assert.match(frame, /↓ restored t2499 1ms/);
  });

  test("-k: after 10 failures each further one is a single line, and the summary says how many more failed and where their logs are", () => {
    const ids = Array.from({ length: 13 }, (_, i) => `part${i}`);
    const events: Array<[number, PipeEvent]> = [[0, started(ids.map((id) => [id, "run"] as [string, "run"]))]];
    for (const id of ids) events.push([1, finish(id, "failed", 5, { error: "exit code 1", logTail: ["tail a", "tail b"], logPath: `.pipe/logs/${id}.log` })]);
    events.push([2, finished({ failed: 13 }, 2, [], 0, { ok: false })]);
    const frame = frameOf(viewOf(events), 3, 100);
    assert.equal(frame.match(/│ tail a/g)?.length, 10);
    assert.match(frame, /^more than 10 targets failed: the others are listed one line each, without their log lines\n✖ FAILED part10 \(exit code 1\) 5ms · log: \.pipe\/logs\/part10\.log$/m);
    assert.match(frame, /^✖ FAILED part12 \(exit code 1\) 5ms · log: \.pipe\/logs\/part12\.log$/m);
    assert.match(frame, /^ {2}… and 3 more failed \(logs in \.pipe\/logs\/\)$/m);
  });

  test("watch mode: a run that holds back a failed target shows a failed summary that says so", () => {
    const v = viewOf([
      [0, started([["other", "run"]])],
      [0, start("other")],
      [18, finish("other", "built", 18)],
      [21, { ...finished({ built: 1 }, 21, ["other"], 18), ok: false, notRetried: ["bad"] } as PipeEvent],
      [22, { type: "watch-idle", watched: 3, lastRunOk: false }],
    ]);
    assert.match(frameOf(v, 30, 120), /^✖ FAILED: 1 built, 1 still failed \(not retried: its sources did not change\) in 21ms$/m);
  });

  test("watch mode shows the idle line after the summary", () => {
    const v = viewOf([
      [0, started([["a", "up-to-date"]])],
      [1, finished({ "up-to-date": 1 }, 1)],
      [2, { type: "watch-idle", watched: 7, lastRunOk: true }],
    ]);
    assert.match(frameOf(v, 3), /✔ ok: 1 up to date in 1ms\n◌ watching 7 paths; last run ok; waiting for changes/);
  });

  test("closing mid-build leaves a plain note instead of spinners", () => {
    const v = viewOf(inProgress);
    const { lastFrame } = render(<App view={v} now={() => 1_400} color={false} tickMs={0} closed />);
    const frame = lastFrame() ?? "";
    assert.doesNotMatch(frame, SPINNER);
    assert.match(frame, /stopped: 2\/5 done; were running: prepare, words/);
  });

  test("with colour off no escape sequence is rendered", () => {
    const v = viewOf([...inProgress, [1_500, finish("words", "failed", 1, { logTail: ["x"] })], [1_600, { type: "warning", message: "w" }]]);
    assert.doesNotMatch(frameOf(v, 1_700), /\x1b\[/);
  });

  test("verbose log lines are printed with their target prefix", () => {
    const v = viewOf([[0, started([["a", "run"]])], [0, start("a")], [1, { type: "log", target: "a", stream: "stdout", line: "epoch 1 \x1b[32mok\x1b[0m" }]], { detail: "verbose" });
    assert.match(stripAnsi(frameOf(v, 2)), /^\[a\] epoch 1 ok$/m);
  });
});
