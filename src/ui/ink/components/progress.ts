/** Text pieces of the live view that do not need React: spinner frames and progress bars. */

/** Braille spinner, one frame per 80 ms of the injected clock (so frames are deterministic in tests). */
export const SPINNER_FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

/** The spinner frame to show at time `now` (ms). */
export function spinnerFrame(now: number): string {
  const i = Math.floor(Math.max(0, now) / 80) % SPINNER_FRAMES.length;
  return SPINNER_FRAMES[i];
}

/** `[█████░░░░░]` for a fraction in [0, 1], `width` cells inside the brackets. */
export function progressBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`;
}

/**
 * A target's progress as `{fraction, label}`: `total` given → `3/5`; no total and `done` ≤ 1
 * → a fraction, `40%`; otherwise a bare count with no bar.
 */
export function describeProgress(p: { done: number; total?: number }): { fraction?: number; label: string } {
  if (p.total !== undefined && p.total > 0) return { fraction: p.done / p.total, label: `${p.done}/${p.total}` };
  if (p.total === undefined && p.done >= 0 && p.done <= 1) return { fraction: p.done, label: `${Math.round(p.done * 100)}%` };
  return { label: String(p.done) };
}
