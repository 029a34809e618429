/**
 * Persistence of the stat cache (`.pipe/stat-cache.json`): { format, version, entries }.
 * Written whole, atomically (temp + rename), at the end of a mutating command. It is an
 * optimisation only: a missing or corrupt file means files are re-read, nothing more.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic.ts";
import { join } from "node:path";
import type { StatEntry } from "../hash/file-hasher.ts";
import { quarantine } from "./quarantine.ts";

const VERSION = 2;
type Row = [number, number, number, number, number, string, number];

export function loadStatCache(stateDir: string, warnings: string[], readOnly: boolean): Map<string, StatEntry> {
  const p = join(stateDir, "stat-cache.json");
  const m = new Map<string, StatEntry>();
  let text: string;
  try {
    text = readFileSync(p, "utf8");
  } catch {
    return m;
  }
  try {
    const data = JSON.parse(text) as { format: string; version: number; entries: Record<string, Row> };
    if (data.format !== "pipe-stat-cache" || data.version !== VERSION) return m; // other versions: just re-hash
    for (const [k, r] of Object.entries(data.entries)) m.set(k, { dev: r[0], ino: r[1], size: r[2], mtimeMs: r[3], ctimeMs: r[4], hash: r[5], hashedAt: r[6] });
  } catch {
    warnings.push(quarantine(p, "is damaged", !readOnly));
  }
  return m;
}

export function saveStatCache(stateDir: string, cache: Map<string, StatEntry>): void {
  const entries: Record<string, Row> = {};
  for (const [k, e] of cache) entries[k] = [e.dev, e.ino, e.size, e.mtimeMs, e.ctimeMs, e.hash, e.hashedAt];
  const p = join(stateDir, "stat-cache.json");
  writeFileAtomic(p, JSON.stringify({ format: "pipe-stat-cache", version: VERSION, entries }));
}
