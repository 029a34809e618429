/**
 * Corrupt state is set aside, never deleted: moved to `.pipe/quarantine/<name>.<time>` with a
 * warning naming it. Read-only commands only warn.
 */
import { mkdirSync, renameSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";

/** The `.pipe` folder `path` is in (for a path deeper in it, like .pipe/cache/pack/x), else its folder. */
function stateDirOf(path: string): string {
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) if (basename(d) === ".pipe") return d;
  return dirname(path);
}

export function quarantine(path: string, why: string, move = true): string {
  if (!move) return `${path} ${why}; ignoring it (the next build sets it aside)`;
  const state = stateDirOf(path);
  const dir = join(state, "quarantine");
  // .pipe/cache/pack/objects.idx -> quarantine/cache-pack-objects.idx.<time>
  const to = join(dir, `${relative(state, path).split(sep).join("-")}.${new Date().toISOString().replace(/[:.]/g, "-")}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    renameSync(path, to);
    return `${path} ${why}; moved it to ${to}`;
  } catch (e) {
    return `${path} ${why} and could not be moved aside (${(e as Error).message}); ignoring it`;
  }
}
