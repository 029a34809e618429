/**
 * Test-only fault injection (reliability.md §4): `PIPE_TEST_CRASH_AT=<label>[:n]` SIGKILLs pipe
 * at the n-th arrival (default 1st) at a named durability step. `pipe debug crash-points`
 * lists the labels. Costs a comparison or two when unset.
 */
export const CRASH_POINTS = [
  // A target's run (run/run-target.ts, run/publish.ts).
  "before-recipe",
  "after-recipe",
  "after-cache-store",
  "after-record",
  "publish-rename",
  "after-publish",
  // Cache population (state/cache.ts): a pack object's bytes are appended but not its index
  // line; a loose object (putFile, putBytes) or a tree manifest (putDir) is written under its
  // temp name but not renamed to its hash.
  "cache-pack-append",
  "cache-file-rename",
  "cache-bytes-rename",
  "cache-tree-rename",
  // Journal compaction (state/records.ts): the compacted temp is written and synced, not renamed.
  "compact-rename",
  // pipe gc (state/cache-gc.ts): the compacted pack and index are written and synced (no commit
  // marker yet); the marker is written; the pack is renamed into place but not the index.
  "gc-pack-written",
  "gc-commit",
  "gc-pack-renamed",
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const spec = process.env.PIPE_TEST_CRASH_AT;
const [label, nth] = spec ? [spec.split(":")[0], Number(spec.split(":")[1] ?? 1)] : [undefined, 0];
let count = 0;

/** `PIPE_TEST_SIGNAL_AT=<label>`: sends pipe SIGINT at the first arrival there and goes on (a Ctrl-C that lands while the thread is busy). */
const signalAt = process.env.PIPE_TEST_SIGNAL_AT;
let signalled = false;

/** `PIPE_TEST_FAIL_AT=<label>[:n]`: throws an EIO error at the n-th arrival there (a failing disk, a refused rename). */
const failSpec = process.env.PIPE_TEST_FAIL_AT;
const [failLabel, failNth] = failSpec ? [failSpec.split(":")[0], Number(failSpec.split(":")[1] ?? 1)] : [undefined, 0];
let failCount = 0;

export function crashPoint(at: CrashPoint): void {
  if (failLabel === at && ++failCount === failNth) throw Object.assign(new Error(`EIO: i/o error, injected at ${at} (PIPE_TEST_FAIL_AT)`), { code: "EIO" });
  if (signalAt === at && !signalled) {
    signalled = true;
    process.kill(process.pid, "SIGINT");
  }
  if (label !== at) return;
  if (++count === nth) process.kill(process.pid, "SIGKILL");
}
