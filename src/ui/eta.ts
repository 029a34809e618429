/**
 * Remaining-time estimate for a build in progress, learned from past durations.
 *
 * Inputs: `estimateMs` on each planned target (the median of its recorded runs, from
 * `build-started`; `target-started.estimateMs` overrides it) and what has happened so far.
 *
 * Formula (all in ms):
 *
 *   est(t)      = estimateMs(t), or, when the target has no record, the fallback F:
 *                 the median of all known estimates in the plan plus the durations of the
 *                 targets built so far in this build.
 *                 A restore is not a run: its estimateMs is the recipe's median duration
 *                 (the core sends that for every planned target), but a restore copies
 *                 outputs from the cache in milliseconds. So est(restore) = R, the mean
 *                 duration of the restores finished so far in this build, 0 before the first.
 *   queued      = planned "run"/"restore" targets that have neither started nor finished
 *   left(r)     = max(0, est(r) − elapsed(r))           for each running target r
 *   W           = Σ_{t ∈ queued} est(t) + Σ_{r ∈ running} left(r)      (remaining work)
 *   p           = min(jobs, number of queued and running pieces with time left), at least 1
 *   L           = the longest remaining chain: along dependency edges (`deps` in the plan),
 *                 the sum of est/left of the targets still to finish; without edges, the
 *                 longest single piece
 *
 *   ETA = max(W / p, L)
 *
 * W / p assumes perfect packing on `jobs` slots; L keeps a single long target from being
 * spread across slots. Both are lower bounds of the true remaining time (Graham's bound for
 * list scheduling); with the plan's dependency edges, L also covers work that dependencies
 * serialise.
 * A running target that overruns its estimate contributes 0 until it finishes; once it has run
 * twice its estimate and a second more, the view shows no number ("ETA ?": "<1s" while a new
 * 15 s target ran was a review's finding);
 * an ETA resting on F is shown as approximate ("ETA ~40s").
 *
 * Returns undefined when nothing is known: no estimates in the plan and nothing built yet.
 */
import type { BuildView } from "./view-model.ts";

/** The parts of the ETA, exposed for tests and for a future "why is the ETA X" display. */
export interface EtaBreakdown {
  etaMs: number;
  /** W: remaining work in ms. */
  workMs: number;
  /** p: parallelism used. */
  parallelism: number;
  /** L: longest single remaining piece. */
  longestMs: number;
  /** F: the stand-in estimate for targets with no record (undefined if none was needed or known). */
  fallbackMs?: number;
  /** Some target still to finish has no record of its own: its share is F, a guess. */
  guessed: boolean;
  /** A running target has run well past its estimate (twice it, and a second more): what is left of it is not known. */
  overrun: boolean;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The ETA with its parts; undefined before a build starts, after it finishes, or when nothing is known. */
export function computeEta(view: BuildView, now: number): EtaBreakdown | undefined {
  if (view.phase !== "building" || view.startedAt === undefined) return undefined;

  const known: number[] = [];
  for (const p of view.plan) if (p.action === "run" && p.estimateMs !== undefined) known.push(p.estimateMs);
  const seen = new Set<string>();
  let restoredMs = 0;
  let restoredCount = 0;
  for (const f of view.finished) {
    seen.add(f.id);
    if (f.status === "built") known.push(f.durationMs);
    if (f.status === "restored") {
      restoredMs += f.durationMs;
      restoredCount++;
    }
  }
  for (const r of view.running) seen.add(r.id);
  const fallbackMs = median(known);
  const restoreMs = restoredCount > 0 ? restoredMs / restoredCount : 0;

  let workMs = 0;
  let longestMs = 0;
  let pieces = 0;
  let unknown = false;
  let guessed = false;
  let overrun = false;
  /** Remaining time of each target still to finish (queued: est; running: what is left). */
  const remaining = new Map<string, number>();
  for (const p of view.plan) {
    if (p.action === "up-to-date" || seen.has(p.target)) continue;
    let est = p.action === "restore" ? restoreMs : p.estimateMs;
    if (est === undefined) {
      if (fallbackMs === undefined) unknown = true;
      else est = fallbackMs;
      guessed = true;
    }
    if ((est ?? 0) > 0) pieces++;
    workMs += est ?? 0;
    longestMs = Math.max(longestMs, est ?? 0);
    remaining.set(p.target, est ?? 0);
  }
  for (const r of view.running) {
    const planned = view.planById.get(r.id);
    let est = planned?.action === "restore" ? restoreMs : r.estimateMs;
    if (est === undefined) {
      if (fallbackMs === undefined) unknown = true;
      else est = fallbackMs;
      guessed = true;
    }
    const elapsed = Math.max(0, now - r.startedAt);
    const left = Math.max(0, (est ?? 0) - elapsed);
    // Past twice its estimate and by a second or more: what is left of it is anyone's guess (a
    // cheap target a few ms late is not).
    if (planned?.action !== "restore" && elapsed > 2 * (est ?? 0) && elapsed - (est ?? 0) >= 1000) overrun = true;
    if (left > 0) pieces++;
    workMs += left;
    longestMs = Math.max(longestMs, left);
    remaining.set(r.id, left);
  }
  if (unknown) return undefined;
  // The longest remaining chain, when the plan carries dependency edges: the plan lists
  // dependencies first, so one pass adds each target's remaining time to its slowest dependency's.
  const chain = new Map<string, number>();
  for (const p of view.plan) {
    let below = 0;
    for (const d of p.deps ?? []) below = Math.max(below, chain.get(d) ?? 0);
    const total = below + (remaining.get(p.target) ?? 0);
    // A chain of nothing left is read as 0 anyway: 10,000 up-to-date targets set nothing.
    if (total > 0) chain.set(p.target, total);
    longestMs = Math.max(longestMs, total);
  }
  const parallelism = Math.max(1, Math.min(view.jobs, pieces));
  return { etaMs: Math.max(workMs / parallelism, longestMs), workMs, parallelism, longestMs, fallbackMs, guessed, overrun };
}
