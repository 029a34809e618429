/**
 * Symbolic link loops under a glob that follows links (`data/**` with `data/l -> .`, or a link
 * to /usr, whose bin/X11 -> .): fast-glob descends until the system's 40-level limit, listing
 * every file once per level and combination, which ran a build out of memory after minutes, in
 * a synchronous walk that no Ctrl-C could stop (a review). reliability.md D4(v): an error
 * naming the loop, no hang.
 *
 * `guardLoops` wraps the `readdirSync` fast-glob reads folders with: a folder reached through a
 * link whose real path is the real path of a folder it is inside is not read (it lists as
 * empty), and is remembered, so the caller can name it. The real path is looked up only for
 * folders below a link seen in a listing, so a glob over plain folders pays nothing.
 */
import { readdirSync, realpathSync, type Dirent } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface LoopGuard {
  /** The folder listing function to hand fast-glob (`fs: { readdirSync }`). */
  readdirSync: typeof readdirSync;
  /** Loops found since the last `take()`: the folder not read, and the folder it leads back to (absolute). */
  take(): { at: string; to: string }[];
}

/** `read`: how a folder is listed when it is read (default node's readdirSync). */
export function guardLoops(cwd: string, read: (path: string, opts: unknown) => unknown = readdirSync as (path: string, opts: unknown) => unknown): LoopGuard {
  const links = new Set<string>();
  const realOf = new Map<string, string>();
  let found: { at: string; to: string }[] = [];
  const real = (p: string): string => {
    let r = realOf.get(p);
    if (r === undefined) {
      try {
        r = realpathSync(p);
      } catch {
        r = p;
      }
      realOf.set(p, r);
    }
    return r;
  };
  /** Whether `abs` is a link or below one seen in a listing. */
  const throughLink = (abs: string): boolean => {
    for (let p = abs; ; p = dirname(p)) {
      if (links.has(p)) return true;
      if (dirname(p) === p) return false;
    }
  };
  return {
    readdirSync: ((path: string, opts: unknown) => {
      const abs = resolve(cwd, path);
      if (links.size > 0 && throughLink(abs)) {
        const r = real(abs);
        for (let up = dirname(abs); up !== dirname(up); up = dirname(up)) {
          if (real(up) === r) {
            found.push({ at: abs, to: up });
            return [];
          }
        }
      }
      const entries = read(path, opts);
      if (Array.isArray(entries)) for (const e of entries) if (typeof e === "object" && e !== null && (e as Dirent).isSymbolicLink?.()) links.add(join(abs, (e as Dirent).name));
      return entries;
    }) as unknown as typeof readdirSync,
    take() {
      const out = found;
      found = [];
      return out;
    },
  };
}
