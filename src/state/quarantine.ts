/**
 * Corrupt state is set aside, never deleted: moved to `.pipe/quarantine/<name>.<time>` with a
 * warning naming it. Read-only commands only warn.
 */
import { mkdirSync, renameSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function quarantine(path: string, why: string, move = true): string {
  if (!move) return `${path} ${why}; ignoring it (the next build sets it aside)`;
  const dir = join(dirname(path), "quarantine");
  const to = join(dir, `${basename(path)}.${new Date().toISOString().replace(/[:.]/g, "-")}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    renameSync(path, to);
    return `${path} ${why}; moved it to ${to}`;
  } catch (e) {
    return `${path} ${why} and could not be moved aside (${(e as Error).message}); ignoring it`;
  }
}
