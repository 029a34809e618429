import { test } from "node:test";
import assert from "node:assert/strict";
import { runHook } from "../../src/githooks/run.ts";
import type { HookDeps, StaleTarget } from "../../src/githooks/run.ts";

/** Fake core: records calls and emitted lines; answers from the given tables. */
function fakeDeps(o: { staged?: string[]; readers?: Record<string, string[]>; stale?: StaleTarget[]; restore?: HookDeps["restoreAll"]; defaults?: string[] } = {}) {
  const lines: string[] = [];
  const calls: string[] = [];
  const deps: HookDeps = {
    stagedFiles: () => (calls.push("stagedFiles"), o.staged ?? []),
    targetsReading: (files) => (calls.push(`targetsReading ${files.join(",")}`), [...new Set(files.flatMap((f) => o.readers?.[f] ?? []))]),
    staleTargets: (ids) => (calls.push(`staleTargets ${ids.join(",")}`), (o.stale ?? []).filter((s) => ids.includes(s.id))),
    restoreAll: () => (calls.push("restoreAll"), (o.restore ?? (() => ({ restored: [], stillStale: [] })))()),
    emit: (line) => lines.push(line),
    ...(o.defaults ? { defaultBuildIncludes: (ids: string[]) => ids.every((id) => o.defaults!.includes(id)) } : {}),
  };
  return { deps, lines, calls };
}

test("pre-commit with stale targets reading staged files blocks with the list and the fix", () => {
  const f = fakeDeps({
    staged: ["data/raw.csv", "README.md"],
    readers: { "data/raw.csv": ["clean", "trend[attribute=recovered]"] },
    stale: [
      { id: "clean", reason: "input data/raw.csv changed" },
      { id: "trend[attribute=recovered]", reason: "dependency \"clean\" is stale" },
      { id: "unrelated", reason: "no record" },
    ],
  });
  assert.equal(runHook("pre-commit", [], f.deps), 1);
  assert.deepEqual(f.lines, [
    "pipe: 2 targets are stale for this commit:",
    '  "clean": input data/raw.csv changed',
    '  "trend[attribute=recovered]": dependency "clean" is stale',
    "run: npx pipe build clean 'trend[attribute=recovered]'",
    "hint: or commit anyway with `git commit --no-verify`",
  ]);
  assert.deepEqual(f.calls, ["stagedFiles", "targetsReading data/raw.csv,README.md", "staleTargets clean,trend[attribute=recovered]"]);
});

test("pre-commit with one stale target says so in the singular", () => {
  const f = fakeDeps({ staged: ["a"], readers: { a: ["t"] }, stale: [{ id: "t", reason: "recipe changed" }] });
  assert.equal(runHook("pre-commit", [], f.deps), 1);
  assert.equal(f.lines[0], "pipe: 1 target is stale for this commit:");
});

test("pre-commit passes (0, silent) when nothing is staged, nothing reads it, or all is up to date", () => {
  const cases = [
    { name: "nothing staged", o: {}, calls: ["stagedFiles"] },
    { name: "no reader", o: { staged: ["notes.md"] }, calls: ["stagedFiles", "targetsReading notes.md"] },
    { name: "up to date", o: { staged: ["a"], readers: { a: ["t"] } }, calls: ["stagedFiles", "targetsReading a", "staleTargets t"] },
  ];
  for (const c of cases) {
    const f = fakeDeps(c.o);
    assert.equal(runHook("pre-commit", [], f.deps), 0, c.name);
    assert.deepEqual(f.lines, [], c.name);
    assert.deepEqual(f.calls, c.calls, c.name);
  }
});

test("pre-commit lists at most 20 targets but the build command names them all", () => {
  const ids = Array.from({ length: 25 }, (_, i) => `t${i}`);
  const f = fakeDeps({ staged: ["a"], readers: { a: ids }, stale: ids.map((id) => ({ id, reason: "no record" })) });
  assert.equal(runHook("pre-commit", [], f.deps), 1);
  assert.equal(f.lines.length, 1 + 20 + 1 + 2);
  assert.equal(f.lines[21], "  … and 5 more");
  assert.equal(f.lines[22], `run: npx pipe build ${ids.join(" ")}`);
});

test("pre-commit with 10,000 stale targets the default build includes prints a bare `npx pipe build`, not a 60 KB line", () => {
  // Before: "run: npx pipe build w0 w1 … w9999", one line of 58,894 characters.
  const ids = Array.from({ length: 10_000 }, (_, i) => `w${i}`);
  const f = fakeDeps({ staged: ["a"], readers: { a: ids }, stale: ids.map((id) => ({ id, reason: "input a changed" })), defaults: ids });
  assert.equal(runHook("pre-commit", [], f.deps), 1);
  assert.deepEqual(f.lines.slice(21), ["  … and 9980 more", "run: npx pipe build", "  (the default targets include all 10000)", "hint: or commit anyway with `git commit --no-verify`"]);
  for (const line of f.lines) assert.ok(line.length < 200, line);
});

test("stale family instances outside the default build are named by their family when their ids make too long a command", () => {
  const ids = Array.from({ length: 300 }, (_, i) => `shard[i=${i},variant=alpha]`);
  const f = fakeDeps({ staged: ["a"], readers: { a: [...ids, "merged"] }, stale: [...ids, "merged"].map((id) => ({ id, reason: "input a changed" })), defaults: [] });
  assert.equal(runHook("pre-commit", [], f.deps), 1);
  assert.equal(f.lines.at(-2), "run: npx pipe build shard merged");
  // Too many names even so: the bare build, and the plain word that it is not all.
  const many = Array.from({ length: 300 }, (_, i) => `target_number_${i}`);
  const g = fakeDeps({ restore: () => ({ restored: [], stillStale: many.map((id) => ({ id, reason: "no record" })) }) });
  assert.equal(runHook("post-merge", [], g.deps), 0);
  assert.deepEqual(g.lines.slice(-2), ["run: npx pipe build", "  (builds those among the default targets; name the others too: pipe status lists all 300)"]);
  for (const line of [...f.lines, ...g.lines]) assert.ok(line.length < 200, line);
});

test("post-checkout restores on a branch checkout and reports what is still stale; always 0", () => {
  const f = fakeDeps({ restore: () => ({ restored: ["a", "b"], stillStale: [{ id: "model", reason: "no cached output for this input" }] }) });
  assert.equal(runHook("post-checkout", ["1111", "2222", "1"], f.deps), 0);
  assert.deepEqual(f.lines, [
    "pipe: restored 2 targets from the cache",
    "pipe: 1 target is stale after this checkout:",
    '  "model": no cached output for this input',
    "run: npx pipe build model",
  ]);
});

test("post-checkout does nothing for file checkouts or when HEAD did not move", () => {
  for (const args of [["1111", "2222", "0"], ["1111", "1111", "1"], []]) {
    const f = fakeDeps();
    assert.equal(runHook("post-checkout", args, f.deps), 0);
    assert.deepEqual(f.calls, [], JSON.stringify(args));
  }
});

test("post-merge restores and is silent when everything is up to date", () => {
  const f = fakeDeps();
  assert.equal(runHook("post-merge", ["0"], f.deps), 0);
  assert.deepEqual(f.calls, ["restoreAll"]);
  assert.deepEqual(f.lines, []);
});

test("a failing restore becomes a warning and exit 0", () => {
  const f = fakeDeps({
    restore: () => {
      throw new Error("cache entry rejected: ../escape");
    },
  });
  assert.equal(runHook("post-merge", ["0"], f.deps), 0);
  assert.deepEqual(f.lines, ["pipe: warning: could not restore outputs from the cache after this merge: cache entry rejected: ../escape"]);
});

test("an unknown hook is a usage error (2)", () => {
  const f = fakeDeps();
  assert.equal(runHook("pre-push", [], f.deps), 2);
  assert.deepEqual(f.lines, ['error: unknown hook "pre-push"; pipe runs pre-commit, post-checkout and post-merge']);
});
