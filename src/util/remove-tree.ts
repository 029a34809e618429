/**
 * Removing a folder pipe is done with (a replaced output folder, a run's staging), even when a
 * recipe made parts of it read-only: `chmod 555` on a folder forbids removing what is in it for
 * anyone but root. A review, running as a normal user, found that such an output made pipe fail
 * with an internal error after publishing the new output, and every later command fail too (the
 * sweep of stale staging hit the same folder). The folders are made writable, then removed.
 */
import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const DENIED = new Set(["EACCES", "EPERM"]);

/** Whether an error is a permission refusal (which making folders writable may cure). */
export function isDenied(e: unknown): boolean {
  return DENIED.has((e as NodeJS.ErrnoException).code ?? "");
}

/** Removes `path` (a file or a folder, recursively; nothing there is fine). */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!isDenied(e)) throw e;
  }
  makeFoldersWritable(path);
  rmSync(path, { recursive: true, force: true });
}

/** Gives the owner rwx on `path` and every folder below it (links are not followed). */
export function makeFoldersWritable(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) {
    try {
      chmodSync(path, (st.mode & 0o7777) | 0o700);
    } catch {
      // not ours to change: the removal then says why
    }
  }
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return;
  }
  for (const name of names) makeFoldersWritable(join(path, name));
}

/**
 * A tree pipe could not remove even after making its folders writable (a file in it belongs to
 * another user: a recipe run as root in a container): a warning naming it and what to do. Pipe
 * goes on without it; nothing it vouches for is in there.
 */
export function removeProblem(rel: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return `cannot remove ${rel}: ${code}${isDenied(e) ? " (something in it belongs to another user, or its folder is read-only)" : ""}; remove it yourself (e.g. sudo rm -rf ${JSON.stringify(rel)}); pipe goes on without it`;
}
