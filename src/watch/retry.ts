/**
 * Which failed targets a watch run retries.
 *
 * Why: a failing recipe that is retried on every unrelated change is noise at best and a loop
 * at worst (wireit before 0.14, turborepo#11964). A target that failed is retried only when
 * one of its sources, or a source of a target it depends on, changed since; or when the
 * Pipelinefile or one of its modules changed (the recipe itself may be fixed; when in doubt,
 * rebuild). Until then it is held back, and so are its dependents (they would be skipped).
 * Everything else is built as usual.
 *
 * Pure: graph in, request out.
 */
import { closure, downstream, type Graph } from "../graph/graph.ts";
import { SourceMatcher, watchSetOf } from "./watch-set.ts";

/** What to ask the build for. */
export interface RetryPlan {
  /**
   * Target ids to request instead of the user's own request, or undefined to build exactly
   * what the user asked for (nothing is held back). An empty list means nothing is left to build.
   */
  requested: string[] | undefined;
  /** Failed targets not retried this time, sorted. */
  held: string[];
}

/** Options of `planRetries`. */
export interface RetryInput {
  root: string;
  stateDir: string;
  graph: Graph;
  /** What the user's request resolved to (ids). */
  selected: string[];
  /** Targets whose last run failed (ids; unknown ids are ignored). */
  failed: Iterable<string>;
  /** Absolute paths that changed since. */
  changed: string[];
  /** True when the Pipelinefile or a local module changed, or the last load failed. */
  codeChanged: boolean;
}

/** Decides which failed targets to hold back, and what to request so the rest still builds. */
export function planRetries(o: RetryInput): RetryPlan {
  const failed = [...new Set(o.failed)].filter((id) => o.graph.targets.has(id)).sort();
  if (o.codeChanged || failed.length === 0) return { requested: undefined, held: [] };
  const held = failed.filter((id) => {
    const m = new SourceMatcher(watchSetOf({ root: o.root, stateDir: o.stateDir, graph: o.graph, selected: [id], code: [] }));
    return !o.changed.some((p) => m.isSource(p));
  });
  if (held.length === 0) return { requested: undefined, held };
  const blocked = downstream(o.graph, held);
  const allowed = new Set(closure(o.graph, o.selected).filter((id) => !blocked.has(id)));
  // Request the tops of what is left: their closures are exactly `allowed` (it is closed under
  // dependencies, since anything depending on a held target is blocked too).
  const requested = [...allowed].filter((id) => !(o.graph.dependents.get(id) ?? []).some((d) => allowed.has(d))).sort();
  return { requested, held };
}
