/**
 * `.pipe/last-run.json`: the status of each target in the latest build that considered it, so
 * `pipe graph` and `pipe status` can show "failed last time". Written atomically.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../state/atomic.ts";
import { join } from "node:path";
import type { TargetStatus } from "../events.ts";

export function loadLastRun(stateDir: string): Map<string, TargetStatus> {
  try {
    const data = JSON.parse(readFileSync(join(stateDir, "last-run.json"), "utf8")) as { version: number; targets: Record<string, TargetStatus> };
    return new Map(Object.entries(data.targets ?? {}));
  } catch {
    return new Map();
  }
}

export function saveLastRun(stateDir: string, statuses: Map<string, TargetStatus>): void {
  // The parsed object itself, not a Map of it: a build of 10,000 targets that changes nothing
  // here spent 4-6 ms making that Map.
  let merged: Record<string, TargetStatus>;
  try {
    const data = JSON.parse(readFileSync(join(stateDir, "last-run.json"), "utf8")) as { targets?: unknown };
    merged = data.targets && typeof data.targets === "object" && !Array.isArray(data.targets) ? (data.targets as Record<string, TargetStatus>) : {};
  } catch {
    merged = {};
  }
  let changed = false;
  for (const [k, v] of statuses) {
    // "up to date" and "restored" mean the same for the next status: not failed.
    const before = Object.hasOwn(merged, k) ? merged[k] : undefined;
    const same = before === v || ((before === "up-to-date" || before === "restored" || before === "built") && (v === "up-to-date" || v === "restored" || v === "built"));
    if (!same) {
      // defineProperty: a target may be named "__proto__".
      Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true });
      changed = true;
    }
  }
  if (!changed) return;
  const p = join(stateDir, "last-run.json");
  writeFileAtomic(p, JSON.stringify({ version: 1, targets: merged }));
}
