import { test } from "node:test";
import assert from "node:assert/strict";
import { LineSplitter } from "../../src/util/line-splitter.ts";

function split(feed: (s: LineSplitter) => void): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  feed(s);
  s.end();
  return lines;
}

test("lines end at \\n, \\r\\n and a lone \\r, as readline's with crlfDelay: Infinity; the last one needs no ending", () => {
  assert.deepEqual(
    split((s) => s.text("a\nb\r\nc\rd")),
    ["a", "b", "c", "d"],
  );
  // A \r\n cut between two writes is one ending, in bytes and in text.
  assert.deepEqual(
    split((s) => {
      s.push(Buffer.from("x\r"));
      s.push(Buffer.from("\ny"));
    }),
    ["x", "y"],
  );
  assert.deepEqual(
    split((s) => {
      s.text("x\r");
      s.text("\ny\n");
    }),
    ["x", "y"],
  );
});

test("a character cut between two pushes of bytes is whole; text after half a character ends it as U+FFFD", () => {
  const e = Buffer.from("é\n");
  assert.deepEqual(
    split((s) => {
      s.push(e.subarray(0, 1));
      s.push(e.subarray(1));
    }),
    ["é"],
  );
  assert.deepEqual(
    split((s) => {
      s.push(e.subarray(0, 1));
      s.text("x\n");
    }),
    ["\uFFFDx"],
  );
});

test("after end() a splitter starts afresh (a worker's next recipe)", () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.text("first\r");
  s.end();
  s.text("\nsecond");
  s.end();
  assert.deepEqual(lines, ["first", "", "second"]);
});
