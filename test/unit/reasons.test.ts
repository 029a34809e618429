import { test } from "node:test";
import assert from "node:assert/strict";
import { nameSome, summarizeReasons } from "../../src/plan/reasons.ts";

test("nameSome lists up to four items and names three of more, with the count of the rest", () => {
  assert.equal(nameSome([]), "");
  assert.equal(nameSome(["a"]), "a");
  assert.equal(nameSome(["a", "b", "c", "d"]), "a, b, c, d");
  assert.equal(nameSome(["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
});

test("reasons of one shape are merged when there are more than four; a few stay as they were", () => {
  const deps = (n: number) => Array.from({ length: n }, (_, i) => `dependency "s[i=${i}]" will rebuild`);
  assert.deepEqual(summarizeReasons(deps(4)), deps(4));
  assert.deepEqual(summarizeReasons(["param a 1 -> 2", ...deps(500)]), ["param a 1 -> 2", `dependencies "s[i=0]", "s[i=1]", "s[i=2]" and 497 more will rebuild`]);
  const inputs = Array.from({ length: 6 }, (_, i) => `input data/${i}.csv changed`);
  assert.deepEqual(summarizeReasons([...inputs, "input data/new.csv added", "env TOKEN changed"]), ["inputs data/0.csv, data/1.csv, data/2.csv and 3 more changed", "input data/new.csv added", "env TOKEN changed"]);
  const params = Array.from({ length: 200 }, (_, i) => `param p${i} ${i} -> ${i + 1}`);
  assert.deepEqual(summarizeReasons(params), ["params p0 0 -> 1, p1 1 -> 2, p2 2 -> 3 and 197 more changed"]);
  const missing = Array.from({ length: 5 }, (_, i) => `output out/${i} is missing, and its recorded bytes are not in the cache`);
  assert.deepEqual(summarizeReasons(missing), ["outputs out/0, out/1, out/2 and 2 more are missing, and their recorded bytes are not in the cache"]);
});
