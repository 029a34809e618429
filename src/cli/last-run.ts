/**
 * `.pipe/last-run.json`: the status of each target in the latest build that considered it, so
 * `pipe graph` and `pipe status` can show "failed last time". Written atomically.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
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
  const merged = loadLastRun(stateDir);
  let changed = false;
  for (const [k, v] of statuses) {
    // "up to date" and "restored" mean the same for the next status: not failed.
    const before = merged.get(k);
    const same = before === v || ((before === "up-to-date" || before === "restored" || before === "built") && (v === "up-to-date" || v === "restored" || v === "built"));
    if (!same) {
      merged.set(k, v);
      changed = true;
    }
  }
  if (!changed) return;
  const p = join(stateDir, "last-run.json");
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, targets: Object.fromEntries(merged) }), { mode: 0o600 });
  renameSync(tmp, p);
}
