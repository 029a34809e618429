/** Today's date for `"today"` param defaults: light, so the no-op fast path can compare it. */

/** Today's local date as YYYY-MM-DD. */
export function localToday(now = new Date()): string {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, "0");
  const d = String(now.getDate()).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

/** `PIPE_TODAY` (YYYY-MM-DD) pins it, for tests and reproducible runs. */
export function todayFor(env: NodeJS.ProcessEnv): string {
  const pinned = env.PIPE_TODAY;
  return pinned && /^\d{4}-\d{2}-\d{2}$/.test(pinned) ? pinned : localToday();
}
