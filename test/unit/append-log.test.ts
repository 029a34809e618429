import { test } from "node:test";
import assert from "node:assert/strict";
import { AppendLog } from "../../src/util/append-log.ts";

test("an append log grows at the end and leaves earlier versions as they were", () => {
  const a = AppendLog.empty<number>();
  const b = a.append(1);
  const c = b.append(2);
  assert.deepEqual([a.length, b.length, c.length], [0, 1, 2]);
  assert.deepEqual([...a], []);
  assert.deepEqual([...b], [1]);
  assert.deepEqual(c.toArray(), [1, 2]);
  assert.equal(c.at(-1), 2);
  assert.equal(c.at(0), 1);
  assert.equal(c.at(2), undefined);
  assert.equal(c.at(-3), undefined);
  assert.equal(a.at(-1), undefined);
});

test("appending to an older version branches: neither branch sees the other's items", () => {
  const base = AppendLog.of([1, 2]);
  const left = base.append(3);
  const right = base.append(4);
  const leftMore = left.append(5);
  const rightMore = right.append(6);
  assert.deepEqual(base.toArray(), [1, 2]);
  assert.deepEqual(left.toArray(), [1, 2, 3]);
  assert.deepEqual(right.toArray(), [1, 2, 4]);
  assert.deepEqual(leftMore.toArray(), [1, 2, 3, 5]);
  assert.deepEqual(rightMore.toArray(), [1, 2, 4, 6]);
  // `of` copies: the caller's array is not shared.
  const src = [7];
  const log = AppendLog.of(src);
  src.push(8);
  assert.deepEqual(log.append(9).toArray(), [7, 9]);
});
