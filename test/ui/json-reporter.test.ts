import assert from "node:assert/strict";
import { test } from "node:test";
import type { PipeEvent } from "../../src/events.ts";
import { createJsonReporter, toJsonLine } from "../../src/ui/json-reporter.ts";
import { finish, finished, MemoryStream, slowStream, start, started } from "./fixtures.ts";
import { outputClosed, releaseOutput, resetOutputGate } from "../../src/util/output-gate.ts";

const events: PipeEvent[] = [
  started([["a", "run", 1000, "no record"], ["b", "up-to-date"]], { jobs: 4 }),
  { type: "lock-waiting", holder: "pid 1", lockPath: ".pipe/lock" },
  { type: "lock-acquired", recovered: "pid 9 (dead)" },
  { type: "hash-progress", path: "data/big.csv", doneBytes: 5, totalBytes: 10 },
  start("a"),
  { type: "target-progress", target: "a", done: 0.25, message: "half\nway" },
  { type: "log", target: "a", stream: "stderr", line: 'quote " backslash \\ tab \t esc \x1b[31m nul \u0000 sep \u2028 emoji 🎉' },
  { type: "warning", message: "w", target: "a" },
  finish("a", "failed", 12, { error: "exit code 3", logTail: ["x"], logPath: ".pipe/logs/a.log" }),
  { type: "error", message: "multi\nline" },
  { type: "watch-idle", watched: 3, lastRunOk: false, polling: true },
  { type: "watch-change", paths: ["data/a.csv"] },
  finished({ failed: 1, "up-to-date": 1 }, 20, ["a"], 12, { ok: false }),
];

test("every event becomes exactly one JSON line that parses back to the same event", async () => {
  const out = new MemoryStream();
  const r = createJsonReporter({ stdout: out });
  for (const e of events) r.onEvent(e);
  await r.close();
  assert.ok(out.text.endsWith("\n"));
  const lines = out.text.slice(0, -1).split("\n");
  assert.equal(lines.length, events.length);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), events);
});

test("an up-to-date line is exactly JSON.stringify's text, for odd ids and for near misses of the common shape", () => {
  const ids = ["plain", 'q"uote', "back\\slash", "new\nline", "sep\u2028", "emoji🎉", "fam[k=a,b]"];
  const shaped: PipeEvent[] = [
    ...ids.map((target): PipeEvent => ({ type: "target-finished", target, status: "up-to-date", durationMs: 0, reason: "up to date" })),
    { type: "target-finished", target: "t", status: "up-to-date", durationMs: 0, reason: "up to date", logPath: "x" },
    { type: "target-finished", target: "t", status: "up-to-date", durationMs: 3, reason: "up to date" },
    { type: "target-finished", target: "t", status: "up-to-date", durationMs: 0, reason: "restored" },
    { type: "target-finished", target: "t", status: "built", durationMs: 0, reason: "up to date" },
    { target: "t", type: "target-finished", status: "up-to-date", durationMs: 0, reason: "up to date" } as PipeEvent,
  ];
  for (const e of shaped) assert.equal(toJsonLine(e), `${JSON.stringify(e)}\n`);
});

test("nothing but the events is written, even after an interrupt or close", async () => {
  const out = new MemoryStream();
  const r = createJsonReporter({ stdout: out });
  r.onEvent(events[0]);
  r.noteInterrupt();
  await r.close();
  r.onEvent(events[1]);
  assert.equal(out.text, `${JSON.stringify(events[0])}\n`);
});

test("behind a reader that fell behind: past 8 MiB waiting the output gate closes and every event still goes; only while pipe stops (the gate released) are log events left out, a warning counting them before build-finished", async () => {
  for (const stopping of [false, true]) {
    resetOutputGate();
    if (stopping) releaseOutput();
    const { slow, taken, held } = slowStream();
    const r = createJsonReporter({ stdout: slow });
    r.onEvent(started([["a", "run"]]));
    r.onEvent(start("a"));
    const line = "x".repeat(1000);
    for (let i = 0; i < 20_000; i++) r.onEvent({ type: "log", target: "a", stream: "stdout", line });
    assert.equal(outputClosed(), !stopping);
    if (stopping) {
      // About 8 MiB of events wait in the stream; the rest of the 20 MB were not kept.
      assert.ok(slow.writableLength <= 8 * 1024 * 1024 + 70_000, String(slow.writableLength));
      assert.ok(slow.writableLength > 8 * 1024 * 1024 - 70_000, String(slow.writableLength));
    }
    r.onEvent(finish("a", "built", 5));
    r.onEvent(finished({ built: 1 }, 6, ["a"], 5));
    const closing = r.close();
    while (held.length) held.shift()!();
    await closing;
    assert.equal(outputClosed(), false);
    const out = taken.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l) as PipeEvent);
    const logs = out.filter((e) => e.type === "log").length;
    if (!stopping) {
      assert.equal(logs, 20_000);
      assert.deepEqual(out.slice(-2).map((e) => e.type), ["target-finished", "build-finished"]);
      continue;
    }
    assert.ok(logs > 7500 && logs < 8500, String(logs));
    assert.deepEqual(
      out.slice(-3).map((e) => e.type),
      ["target-finished", "warning", "build-finished"],
    );
    const warning = out.at(-2) as Extract<PipeEvent, { type: "warning" }>;
    assert.equal(warning.message, `${(20_000 - logs).toLocaleString("en-US")} lines of recipe output left out of these events: pipe was stopping and the reader of its output was behind (every line is in the targets' logs, .pipe/logs/)`);
    assert.equal(out.filter((e) => e.type === "warning").length, 1);
    assert.equal(slow.listenerCount("drain"), 0);
  }
  resetOutputGate();
});
