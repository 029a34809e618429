// The benchmark's generators are correct: a 20-target version of each shape, built by every
// installed tool (make, ninja, pipe), gives byte-identical outputs, and pipe runs exactly the
// expected recipes after a change and none after a touch (`bench --self-check`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO } from "../helpers/rig.ts";

test("bench --self-check: the three tools agree on every generated pipeline shape", { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [join(REPO, "dist", "bench", "bench.js"), "--self-check", "--no-install"], { cwd: REPO, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /self-check: ok/);
});
