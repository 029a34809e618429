/**
 * A read-only snapshot of the graph for exporters and `pipe graph`: target ids as users type
 * them, their state, and their edges. Built by the core; consumed by src/export/*.
 */

/** A target's state as `pipe status` decides it ("failed" = its last run failed). */
export type TargetState = "up-to-date" | "restorable" | "stale" | "failed";

export interface TargetView {
  /** The id users type: `words`, `trend[attribute=recovered]`. */
  id: string;
  /** The family name for instances (`trend`); undefined for plain targets. */
  family?: string;
  /** Key values of an instance, as strings. */
  key?: Record<string, string>;
  /** Values of the params the target reads (by command-line name, as text), when it reads any. */
  params?: Record<string, string>;
  state: TargetState;
  /** Why it is stale or restorable, when it is. */
  reason?: string;
  /** Source files this target reads directly (glob matches expanded, directories as "dir/"). */
  files: string[];
  /** Declared output paths (directories end in "/"). */
  outputs: string[];
  /** Ids of the targets whose outputs this target reads. */
  deps: string[];
  description?: string;
}

export interface GraphView {
  /** Every target in the selection, dependencies before dependents. */
  targets: TargetView[];
  /** Ids of the targets a bare `pipe build` builds. */
  defaults: string[];
}
