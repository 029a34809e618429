/**
 * Test-only fault injection (reliability.md §4): `PIPE_TEST_CRASH_AT=<label>[:n]` SIGKILLs pipe
 * at the n-th arrival (default 1st) at a named durability step. `pipe debug crash-points`
 * lists the labels. Costs one comparison when unset.
 */
export const CRASH_POINTS = ["before-recipe", "after-recipe", "after-cache-store", "publish-rename", "after-publish", "after-record"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const spec = process.env.PIPE_TEST_CRASH_AT;
const [label, nth] = spec ? [spec.split(":")[0], Number(spec.split(":")[1] ?? 1)] : [undefined, 0];
let count = 0;

export function crashPoint(at: CrashPoint): void {
  if (label !== at) return;
  if (++count === nth) process.kill(process.pid, "SIGKILL");
}
