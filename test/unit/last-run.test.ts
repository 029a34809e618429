// `.pipe/last-run.json` (src/cli/last-run.ts): the status of each target in the latest build that
// considered it, for "failed last time" in `pipe status` and `pipe graph`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLastRun, saveLastRun } from "../../src/cli/last-run.ts";

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "pipe-last-run-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a build's statuses merge into the earlier ones; only failing or skipped counts as a change", () =>
  withDir((dir) => {
    saveLastRun(dir, new Map([["a", "built"], ["b", "failed"], ["c", "skipped"]]));
    assert.deepEqual([...loadLastRun(dir)], [["a", "built"], ["b", "failed"], ["c", "skipped"]]);
    // A later build of b alone: a and c keep what they had.
    saveLastRun(dir, new Map([["b", "built"]]));
    assert.deepEqual(Object.fromEntries(loadLastRun(dir)), { a: "built", b: "built", c: "skipped" });
    // Up to date or restored after built is no change: the file is not written again.
    const before = statSync(join(dir, "last-run.json"));
    saveLastRun(dir, new Map([["a", "up-to-date"], ["b", "restored"]]));
    const after = statSync(join(dir, "last-run.json"));
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.deepEqual(Object.fromEntries(loadLastRun(dir)), { a: "built", b: "built", c: "skipped" });
  }));

test("a target named __proto__ is kept like any other; a damaged file starts over", () =>
  withDir((dir) => {
    saveLastRun(dir, new Map([["__proto__", "failed"], ["x", "built"]]));
    const back = loadLastRun(dir);
    assert.equal(back.get("__proto__"), "failed");
    assert.equal(back.get("x"), "built");
    assert.equal(Object.getPrototypeOf(JSON.parse(readFileSync(join(dir, "last-run.json"), "utf8")).targets), Object.prototype);
    saveLastRun(dir, new Map([["__proto__", "built"]]));
    assert.equal(loadLastRun(dir).get("__proto__"), "built");
    for (const bad of ["{not json", '{"version":1,"targets":[1,2]}', '{"version":1}']) {
      writeFileSync(join(dir, "last-run.json"), bad);
      saveLastRun(dir, new Map([["y", "failed"]]));
      assert.deepEqual([...loadLastRun(dir)], [["y", "failed"]], bad);
    }
  }));
