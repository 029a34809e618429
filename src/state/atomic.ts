/**
 * Writing pipe's state files when something else is where one belongs (reliability.md D8): a
 * folder made by hand, by a sync tool or by a broken script at `.pipe/stat-cache.json`, say.
 * Every write here goes through temp + rename; a folder in the way made that rename fail with
 * EISDIR on every build, forever. It is moved to `.pipe/quarantine/` (never deleted) and the
 * write goes on; set-aside.ts hands the notes to the CLI, which prints them as warnings.
 */
import { lstatSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { quarantine } from "./quarantine.ts";
import { noteSetAside } from "./set-aside.ts";

/** Moves a folder found where pipe keeps a file to quarantine; whether there was one. */
function clearWay(path: string): boolean {
  try {
    if (!lstatSync(path).isDirectory()) return false;
  } catch {
    return false;
  }
  noteSetAside(quarantine(path, "was a folder where pipe keeps a file"));
  return true;
}

/** rename(2) of a finished temp file onto `path`, first moving a folder in the way aside. */
export function renameInto(tmp: string, path: string): void {
  try {
    renameSync(tmp, path);
  } catch (e) {
    if (!clearWay(path)) throw e;
    renameSync(tmp, path);
  }
}

/** Writes `data` to `path` atomically: a temp file next to it (mode `mode`), then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    renameInto(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** `rm -f` of a state file; a folder in its place is moved aside instead (kept, not deleted). */
export function removeFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    if (!clearWay(path)) throw e;
  }
}

/** openSync for a state file that is appended to, first moving a folder in the way aside. */
export function openFile(path: string, flags: string, mode?: number): number {
  try {
    return openSync(path, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EISDIR" || !clearWay(path)) throw e;
    return openSync(path, flags, mode);
  }
}

/** The files of `.pipe/` itself that writeFileAtomic replaces while the lock is held. */
const LOCKED_WRITES = /^(stat-cache\.json|last-run\.json|env-key|lock\.json)\.(\d+)\.tmp$/;

/**
 * Removes the temps of those files that a pipe killed between its write and its rename left
 * behind (call with the project lock held: only its holder writes them, so none is in use).
 */
export function sweepTemps(stateDir: string): void {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = LOCKED_WRITES.exec(n);
    if (m && Number(m[2]) !== process.pid) rmSync(join(stateDir, n), { force: true });
  }
}
