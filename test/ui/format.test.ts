import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cleanLine,
  displayWidth,
  formatBytesProgress,
  formatCounts,
  formatCriticalPath,
  formatDuration,
  formatWatchIdle,
  truncateMiddle,
} from "../../src/ui/format.ts";

test("durations read naturally at every scale", () => {
  const cases: Array<[number, string]> = [
    [0, "0ms"],
    [340, "340ms"],
    [1_200, "1.2s"],
    [59_900, "59.9s"],
    [59_960, "1m00s"],
    [125_000, "2m05s"],
    [3_720_000, "1h02m"],
    [-5, "0ms"],
    [Number.NaN, "0ms"],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms}`);
});

test("byte progress uses the total's unit for both numbers", () => {
  assert.equal(formatBytesProgress(1.2e9, 4e9), "1.2/4.0 GB");
  assert.equal(formatBytesProgress(500, 900), "500/900 B");
  assert.equal(formatBytesProgress(2e5, 3.5e6), "0.2/3.5 MB");
});

test("long ids are truncated in the middle, keeping both ends", () => {
  const id = "trend[attribute=hospitalized_with_symptoms,window=28]";
  const short = truncateMiddle(id, 20);
  assert.equal(displayWidth(short), 20);
  assert.equal(short, "trend[attr…indow=28]");
  assert.equal(truncateMiddle("short", 20), "short");
  assert.equal(truncateMiddle("abcdef", 1), "…");
  assert.equal(displayWidth(truncateMiddle("数据数据数据数据", 7)) <= 7, true);
});

test("counts list non-zero statuses in a fixed order", () => {
  assert.equal(formatCounts({ failed: 1, built: 3, "up-to-date": 45 }), "3 built, 45 up to date, 1 failed");
  assert.equal(formatCounts({}), "nothing to do");
});

test("a long critical path elides hops in the middle to fit", () => {
  const path = { targets: ["dataset", "preprocess", "window", "model", "forecast", "report"], durationMs: 12_000 };
  assert.equal(formatCriticalPath(path), "critical path 12.0s: dataset -> preprocess -> window -> model -> forecast -> report");
  const fitted = formatCriticalPath(path, { maxWidth: 50 })!;
  assert.equal(fitted, "critical path 12.0s: dataset -> … -> report");
  assert.equal(formatCriticalPath({ targets: [], durationMs: 0 }), undefined);
  const long = { targets: ["trend[attribute=hospitalized_with_symptoms,window=0]", "features[shard=8]", "report[format=html,theme=dark]"], durationMs: 1_234 };
  const durations = new Map([["trend[attribute=hospitalized_with_symptoms,window=0]", 400], ["report[format=html,theme=dark]", 300]]);
  assert.equal(
    formatCriticalPath(long, { durations, maxWidth: 60 }),
    "critical path 1.2s: tren…w=0] 400ms -> … -> repo…ark] 300ms",
  );
});

test("a critical path of a thousand targets shows its first and last hops and how many are between", () => {
  const targets = Array.from({ length: 1000 }, (_, i) => `c${i}`);
  const durations = new Map(targets.map((t) => [t, 2] as [string, number]));
  const text = formatCriticalPath({ targets, durationMs: 2000 }, { durations, maxHops: 6 })!;
  assert.equal(text, "critical path 2.0s: c0 2ms -> c1 2ms -> c2 2ms -> … 994 more -> c997 2ms -> c998 2ms -> c999 2ms");
  // Short paths are written whole.
  assert.equal(formatCriticalPath({ targets: targets.slice(0, 6), durationMs: 12 }, { maxHops: 6 }), "critical path 12ms: c0 -> c1 -> c2 -> c3 -> c4 -> c5");
  // Fitting a terminal: the ends that fit, whatever the length (10,000 hops: one pass per candidate is bounded by the width).
  const many = Array.from({ length: 10_000 }, (_, i) => `t${i}`);
  const fitted = formatCriticalPath({ targets: many, durationMs: 1000 }, { maxWidth: 60 })!;
  assert.ok(displayWidth(fitted) <= 60, fitted);
  assert.match(fitted, /^critical path 1\.0s: t0 -> t1 -> .* -> … -> .*t9999$/);
});

test("the watch idle line says what is watched and how the last run went", () => {
  assert.equal(formatWatchIdle({ watched: 12, lastRunOk: true }), "watching 12 paths; last run ok; waiting for changes");
  assert.equal(formatWatchIdle({ watched: 1, lastRunOk: false, polling: true }), "watching 1 path (polling); last run failed; waiting for changes");
});

test("recipe output is cleaned of escape sequences and carriage-return redraws", () => {
  assert.equal(cleanLine("\x1b[31mred\x1b[0m text"), "red text");
  assert.equal(cleanLine(" 10%|#  |\r 50%|### |\r100%|#####|"), "100%|#####|");
  assert.equal(cleanLine("title\x1b]0;window\x07 ok\x07"), "title ok");
  assert.equal(cleanLine("tab\tkept"), "tab\tkept");
});
