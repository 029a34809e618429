import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { computeEta } from "../../src/ui/eta.ts";
import { formatSummaryHeadline } from "../../src/ui/format.ts";
import { createView, elapsedMs, markInterrupting, MAX_FAILURE_BLOCKS, MAX_FEED, reduce, type BuildView } from "../../src/ui/view-model.ts";
import { finish, finished, start, started, viewOf } from "./fixtures.ts";

describe("view-model reducer", () => {
  test("build-started counts planned up-to-date targets as done", () => {
    const v = viewOf([[0, started([["a", "up-to-date"], ["b", "run", 1000], ["c", "restore"]], { jobs: 4 })]]);
    assert.equal(v.phase, "building");
    assert.equal(v.total, 3);
    assert.equal(v.done, 1);
    assert.equal(v.counts["up-to-date"], 1);
    assert.equal(v.jobs, 4);
    assert.equal(v.startedAt, 0);
  });

  test("a running target has its start time, plan estimate, progress and last log line", () => {
    const v = viewOf([
      [0, started([["a", "run", 5000]])],
      [100, { type: "target-started", target: "a", reason: "input data/a.csv changed", logPath: ".pipe/logs/a.log" }],
      [200, { type: "target-progress", target: "a", done: 3, total: 10, message: "epoch 3" }],
      [300, { type: "log", target: "a", stream: "stdout", line: "loss=0.3" }],
    ]);
    assert.deepEqual(v.running, [
      {
        id: "a",
        startedAt: 100,
        reason: "input data/a.csv changed",
        estimateMs: 5000,
        logPath: ".pipe/logs/a.log",
        progress: { done: 3, total: 10, message: "epoch 3" },
        lastLine: "loss=0.3",
      },
    ]);
  });

  test("a finished target leaves running, is counted, and a failure keeps its log tail and path", () => {
    const v = viewOf([
      [0, started([["a", "run"], ["b", "run"]])],
      [0, { type: "target-started", target: "a", reason: "r", logPath: ".pipe/logs/a.log" }],
      [0, start("b")],
      [1000, finish("a", "failed", 1000, { error: "exit code 3", logTail: ["x", "y"] })],
      [1500, finish("b", "built", 1500)],
    ]);
    assert.equal(v.running.length, 0);
    assert.equal(v.done, 2);
    assert.deepEqual(v.counts, { built: 1, restored: 0, "up-to-date": 0, failed: 1, skipped: 0 });
    assert.deepEqual(
      v.finished.toArray().map((f) => [f.id, f.status]),
      [["a", "failed"], ["b", "built"]],
    );
    assert.equal(v.failures.length, 1);
    assert.deepEqual(v.failures.at(0)!.logTail, ["x", "y"]);
    assert.equal(v.failures.at(0)!.logPath, ".pipe/logs/a.log", "log path remembered from target-started");
    assert.equal(v.failures.at(0)!.error, "exit code 3");
  });

  test("an up-to-date target reported again by the core is not counted twice", () => {
    const v = viewOf([
      [0, started([["a", "up-to-date"], ["b", "run"]])],
      [1, finish("a", "up-to-date", 0)],
    ]);
    assert.equal(v.done, 1);
    assert.equal(v.counts["up-to-date"], 1);
  });

  test("hash progress is tracked per file and dropped when the file is done", () => {
    let v = viewOf([[0, { type: "hash-progress", path: "data/big.csv", doneBytes: 1e9, totalBytes: 4e9 }]]);
    v = reduce(v, { type: "hash-progress", path: "data/big.csv", doneBytes: 2e9, totalBytes: 4e9 }, 1);
    v = reduce(v, { type: "hash-progress", path: "data/other.csv", doneBytes: 1, totalBytes: 10 }, 1);
    assert.deepEqual(v.hashing, [
      { path: "data/big.csv", doneBytes: 2e9, totalBytes: 4e9 },
      { path: "data/other.csv", doneBytes: 1, totalBytes: 10 },
    ]);
    v = reduce(v, { type: "hash-progress", path: "data/big.csv", doneBytes: 4e9, totalBytes: 4e9 }, 2);
    assert.deepEqual(v.hashing.map((h) => h.path), ["data/other.csv"]);
  });

  test("build-finished keeps the summary with the durations of the critical path", () => {
    const v = viewOf([
      [0, started([["a", "run"], ["b", "run"], ["c", "up-to-date"]])],
      [0, start("a")],
      [1000, finish("a", "built", 1000)],
      [1000, start("b")],
      [3000, finish("b", "built", 2000)],
      [3100, finished({ built: 2, "up-to-date": 1 }, 3100, ["a", "b"], 3000)],
    ]);
    assert.equal(v.phase, "finished");
    assert.equal(v.summary?.ok, true);
    assert.deepEqual(v.summary?.durations, { a: 1000, b: 2000 });
    assert.deepEqual(v.summary?.criticalPath, { targets: ["a", "b"], durationMs: 3000 });
    assert.equal(elapsedMs(v, 99_999), 3100, "a finished build reports its own duration");
  });

  test("the next build moves the previous summary into the feed and clears the watch state", () => {
    let v = viewOf([
      [0, started([["a", "run"]])],
      [0, finished({ built: 1 }, 10)],
      [20, { type: "watch-idle", watched: 3, lastRunOk: true }],
    ]);
    assert.deepEqual(v.watch, { watched: 3, lastRunOk: true, polling: undefined });
    assert.equal(v.feed.toArray().filter((i) => i.kind === "summary").length, 0, "the summary stays in the live area");
    v = reduce(v, started([["a", "run"]]), 40);
    assert.equal(v.watch, undefined);
    assert.equal(v.summary, undefined);
    assert.deepEqual(v.feed.toArray().map((i) => i.kind), ["summary"]);
  });

  test("a feed item after the summary pushes the summary into the feed first, keeping the order", () => {
    let v = viewOf([
      [0, started([["a", "run"]])],
      [0, finished({ built: 1 }, 10)],
    ]);
    v = reduce(v, { type: "watch-change", paths: ["data/a.csv"] }, 30);
    assert.equal(v.summaryPrinted, true);
    v = reduce(v, started([["a", "run"]]), 40);
    assert.deepEqual(v.feed.toArray().map((i) => i.kind), ["summary", "watch-change"]);
  });

  test("the feed stores only what the level of detail shows", () => {
    const events: Array<[number, Parameters<typeof reduce>[1]]> = [
      [0, started([["a", "run"], ["b", "run"], ["u", "up-to-date"]])],
      [0, start("a")],
      [0, { type: "log", target: "a", stream: "stdout", line: "hello" }],
      [0, finish("a", "built", 5)],
      [0, finish("u", "up-to-date", 0)],
      [0, finish("b", "failed", 5)],
      [0, { type: "warning", message: "careful" }],
      [0, { type: "error", message: "Pipelinefile.ts does not load" }],
    ];
    const kinds = (detail: "quiet" | "normal" | "verbose") =>
      viewOf(events, { detail }).feed.toArray().map((i) => (i.kind === "finished" ? `${i.kind}:${i.target.status}` : i.kind));
    assert.deepEqual(kinds("quiet"), ["finished:failed", "error"]);
    assert.deepEqual(kinds("normal"), ["finished:built", "finished:failed", "warning", "error"]);
    assert.deepEqual(kinds("verbose"), ["log", "finished:built", "finished:up-to-date", "finished:failed", "warning", "error"]);
  });

  test("the feed is bounded and its sequence numbers keep counting", () => {
    let v = viewOf([[0, started([["a", "run"]])], [0, start("a")]], { detail: "verbose" });
    for (let i = 0; i < MAX_FEED + 10; i++) v = reduce(v, { type: "log", target: "a", stream: "stdout", line: `l${i}` }, 0);
    assert.equal(v.feed.length, MAX_FEED);
    assert.equal(v.feed.at(0)!.seq, 11);
    assert.equal(v.feed.at(-1)!.seq, MAX_FEED + 10);
  });

  test("20,000 events: the feed stays bounded and is never copied whole", () => {
    // Before, each event copied the feed (up to MAX_FEED items) into a new array: 20,000 events
    // made about 40 million element copies and a new 2,000-item array per state.
    let v = viewOf([[0, started([["a", "run"]])], [0, start("a")]], { detail: "verbose" });
    const slice = Array.prototype.slice;
    let bigCopies = 0;
    Array.prototype.slice = function (this: unknown[], ...args: [number?, number?]) {
      if (this.length >= MAX_FEED / 2) bigCopies++;
      return slice.apply(this, args);
    } as typeof slice;
    try {
      for (let i = 0; i < 10_000; i++) {
        v = reduce(v, { type: "log", target: "a", stream: "stdout", line: `l${i}` }, i);
        v = reduce(v, finish(`t${i}`, "built", 1), i);
      }
    } finally {
      Array.prototype.slice = slice;
    }
    assert.ok(bigCopies <= 20_000 / MAX_FEED + 1, `${bigCopies} copies of a long array for 20,000 events`);
    assert.equal(v.feed.length, MAX_FEED);
    assert.ok(v.feed.retained <= 2 * MAX_FEED + 2, `${v.feed.retained} items retained`);
    assert.equal(v.feed.nextSeq, 20_001);
    const last = v.feed.since(19_998).items.map((i) => (i.kind === "finished" ? i.target.id : i.kind === "log" ? i.line : i.kind));
    assert.deepEqual(last, ["l9999", "t9999"]);
  });

  test("a reader that fell behind learns how many items were dropped", () => {
    let v = viewOf([[0, started([["a", "run"]])], [0, start("a")]], { detail: "verbose" });
    for (let i = 0; i < MAX_FEED + 5; i++) v = reduce(v, { type: "log", target: "a", stream: "stdout", line: `l${i}` }, 0);
    const { items, dropped } = v.feed.since(0);
    assert.equal(dropped, 5);
    assert.equal(items.length, MAX_FEED);
    assert.equal(items[0].seq, 6);
    assert.deepEqual(v.feed.since(MAX_FEED + 3), { items: [v.feed.at(-2), v.feed.at(-1)], dropped: 0 });
    assert.equal(v.feed.appended.log, MAX_FEED + 5);
  });

  test("-k: after MAX_FAILURE_BLOCKS failures, each failure is marked to be shown on one line", () => {
    const ids = Array.from({ length: 25 }, (_, i) => `part${i}`);
    let v = viewOf([[0, started(ids.map((id) => [id, "run"] as [string, "run"]))]]);
    for (const id of ids) v = reduce(v, finish(id, "failed", 1, { logTail: ["x"] }), 0);
    const indexes = v.feed.toArray().map((i) => (i.kind === "finished" ? i.failureIndex : undefined));
    assert.deepEqual(indexes, ids.map((_, i) => i + 1));
    assert.equal(MAX_FAILURE_BLOCKS, 10);
    assert.equal(v.failures.length, 25);
  });

  test("dry run lists what would run in the feed", () => {
    const v = viewOf([[0, started([["a", "run", undefined, "no record"], ["b", "restore"], ["c", "up-to-date"]], { dryRun: true })]]);
    assert.deepEqual(
      v.feed.toArray().map((i) => (i.kind === "notice" ? i.message : i.kind)),
      ["would run a (no record)", "would restore b"],
    );
  });

  test("a dry run's target that runs only if a dependency's outputs change \"may run\", and the summary counts it so", () => {
    const ev = started([["a", "run", undefined, "input x changed"], ["b", "run", undefined, 'dependency "a" will rebuild']], { dryRun: true });
    if (ev.type === "build-started") ev.plan[1].ifDepsChange = true;
    const v = viewOf([[0, ev]]);
    assert.deepEqual(
      v.feed.toArray().map((i) => (i.kind === "notice" ? i.message : i.kind)),
      ["would run a (input x changed)", 'may run b (dependency "a" will rebuild)'],
    );
    const done = reduce(v, { type: "build-finished", ok: true, interrupted: false, durationMs: 4, counts: { "up-to-date": 0, built: 0, restored: 0, failed: 0, skipped: 2 }, criticalPath: { targets: [], durationMs: 0 } }, 4);
    assert.equal(done.summary ? formatSummaryHeadline(done.summary) : "no summary", "ok (dry run): would run 1, may run 1 (checked in 4ms)");
  });

  test("reduce does not modify the state it is given", () => {
    const before = viewOf([[0, started([["a", "run", 100], ["b", "run"]])], [0, start("a")]]);
    // structuredClone keeps no class: compare the append-only logs by their items.
    const plain = (v: BuildView) => ({ ...v, finished: v.finished.toArray(), failures: v.failures.toArray(), feed: v.feed.toArray() });
    const snapshot = structuredClone(plain(before));
    reduce(before, { type: "target-progress", target: "a", done: 0.5 }, 1);
    reduce(before, { type: "log", target: "a", stream: "stderr", line: "x" }, 1);
    const failed = reduce(before, finish("a", "failed", 1), 1);
    const built = reduce(before, finish("a", "built", 1), 1);
    reduce(before, finished({ failed: 1 }, 1), 1);
    markInterrupting(before);
    assert.deepEqual(plain(before), snapshot);
    // Two futures of one view each see only their own finished target.
    assert.deepEqual(failed.finished.toArray().map((f) => f.status), ["failed"]);
    assert.deepEqual(built.finished.toArray().map((f) => f.status), ["built"]);
  });

  test("an interrupt is noted with the number of running targets; the second one says they are killed; later ones add nothing", () => {
    let v = viewOf([[0, started([["a", "run"], ["b", "run"]])], [0, start("a")], [0, start("b")]]);
    v = markInterrupting(v);
    assert.equal(v.interrupting, true);
    assert.equal(v.killing, false);
    let last = v.feed.at(-1)!;
    assert.equal(last.kind === "notice" && last.message, "interrupt: stopping 2 running targets");
    v = markInterrupting(v);
    assert.equal(v.killing, true);
    last = v.feed.at(-1)!;
    assert.equal(last.kind === "notice" && last.message, "interrupt again: killing 2 running targets");
    assert.equal(markInterrupting(v), v);
  });
});

/** The median of recorded durations, as the core computes `estimateMs` from its run records. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

describe("ETA from recorded durations", () => {
  // Recorded runs of each target in earlier builds (ms).
  const recorded = { prepare: [9_000, 10_000, 14_000], words: [19_000, 20_000, 22_000, 21_000], train: [30_000] };
  const plan = started(
    [
      ["prepare", "run", median(recorded.prepare)], // 10 s
      ["words", "run", median(recorded.words)], // 20.5 s
      ["train", "run", median(recorded.train)], // 30 s
      ["old", "up-to-date"],
    ],
    { jobs: 2 },
  );

  test("with dependency edges in the plan, a chain of recorded durations is not spread over the jobs", () => {
    //  prepare (10 s) -> words (20.5 s) -> train (30 s): one after another, whatever -j says
    const chained = started([["prepare", "run", 10_000], ["words", "run", 20_500], ["train", "run", 30_000]], { jobs: 2 });
    if (chained.type !== "build-started") throw new Error("fixture");
    chained.plan[1].deps = ["prepare"];
    chained.plan[2].deps = ["words"];
    const eta = computeEta(viewOf([[0, chained]]), 0)!;
    assert.equal(eta.longestMs, 60_500);
    assert.equal(eta.etaMs, 60_500);
  });

  test("before anything runs: remaining work over the jobs, but never less than the longest target", () => {
    const v = viewOf([[0, plan]]);
    const eta = computeEta(v, 0)!;
    assert.equal(eta.workMs, 60_500);
    assert.equal(eta.parallelism, 2);
    assert.equal(eta.longestMs, 30_000);
    assert.equal(eta.etaMs, 30_250); // max(60.5 s / 2, 30 s)
    const serial = computeEta(viewOf([[0, { ...plan, jobs: 1 } as typeof plan]]), 0)!;
    assert.equal(serial.etaMs, 60_500);
  });

  test("running targets count only their time left", () => {
    const v = viewOf([[0, plan], [0, start("train")], [0, start("prepare")]]);
    // At 4 s: train has 26 s left, prepare 6 s, words 20.5 s queued → W = 52.5 s, p = 2, L = 26 s.
    assert.equal(computeEta(v, 4_000)!.etaMs, 26_250);
    assert.equal(computeEta(v, 4_000)!.overrun, false);
    assert.equal(computeEta(v, 4_000)!.guessed, false);
    // At 12 s prepare overran its estimate: it adds nothing; train 18 s, words 20.5 s.
    const later = computeEta(v, 12_000)!;
    assert.equal(later.workMs, 38_500);
    assert.equal(later.etaMs, 20_500);
    assert.equal(later.overrun, false, "2 s late on 10 s: still a number");
    // At 21 s it has run more than twice its 10 s: what is left of it is not known ("ETA ?").
    assert.equal(computeEta(v, 21_000)!.overrun, true);
  });

  test("finished targets leave the estimate", () => {
    const v = viewOf([[0, plan], [0, start("prepare")], [9_000, finish("prepare", "built", 9_000)], [9_000, start("words")]]);
    const eta = computeEta(v, 10_000)!;
    assert.equal(eta.workMs, 19_500 + 30_000);
    assert.equal(eta.etaMs, 30_000);
  });

  test("targets without a record use the median of the known estimates and this build's durations", () => {
    const v = viewOf(
      [
        [0, started([["a", "run", 10_000], ["b", "run"], ["c", "run"]], { jobs: 1 })],
        [0, start("a")],
        [14_000, finish("a", "built", 14_000)],
      ],
      {},
    );
    const eta = computeEta(v, 14_000)!;
    assert.equal(eta.fallbackMs, 12_000); // median(10 s estimate, 14 s actual)
    assert.equal(eta.etaMs, 24_000);
    assert.equal(eta.guessed, true, "shown as ~24s: b and c have no run of their own");
  });

  test("restores without an estimate count as free; nothing known means no ETA", () => {
    const withRestore = viewOf([[0, started([["a", "run", 5_000], ["r", "restore"]], { jobs: 4 })]]);
    assert.equal(computeEta(withRestore, 0)!.etaMs, 5_000);
    const unknown = viewOf([[0, started([["a", "run"], ["b", "run"]])]]);
    assert.equal(computeEta(unknown, 0), undefined);
    assert.equal(computeEta(createView(), 0), undefined, "no build yet");
    const done = viewOf([[0, plan], [1, finished({ built: 3 }, 1)]]);
    assert.equal(computeEta(done, 2), undefined, "finished build");
  });

  test("a planned restore is not estimated as a run of its recipe, even when the core sends the recipe's duration", () => {
    // The core sends the recipe's median duration as estimateMs for every planned target.
    const v = viewOf([[0, started([["r", "restore", 5_000], ["s", "restore", 5_000], ["t", "restore", 5_000]], { jobs: 2 })]]);
    assert.equal(computeEta(v, 0)!.etaMs, 0, "no restore finished yet: about nothing");
    // Later, the restores finished in this build tell how long one takes: 40 ms here.
    const later = viewOf([
      [0, started([["r", "restore", 5_000], ["s", "restore", 5_000], ["t", "restore", 5_000]], { jobs: 1 })],
      [0, start("r")],
      [40, finish("r", "restored", 40)],
      [40, start("s")],
    ]);
    assert.equal(computeEta(later, 50)!.etaMs, 70); // s: 40 - 10 elapsed; t: 40 queued
  });

  test("target-started's own estimate overrides the plan's", () => {
    const v = viewOf([
      [0, started([["a", "run", 10_000]], { jobs: 1 })],
      [0, { type: "target-started", target: "a", reason: "r", estimateMs: 3_000 }],
    ]);
    assert.equal(computeEta(v, 1_000)!.etaMs, 2_000);
  });
});
