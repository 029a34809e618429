/** Where a target's log goes (its own module: `pipe why` names it without loading the runner). */
import { join } from "node:path";
import { hashString } from "../hash/xxh.ts";

/** `.pipe/logs/<id>.log`, with unsafe characters replaced and a short hash against collisions. */
export function logPathFor(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9_.=,-]+/g, "_").slice(0, 120);
  return join(".pipe", "logs", `${safe}-${hashString(id).slice(0, 6)}.log`);
}
