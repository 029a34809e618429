/**
 * pipe removes, appends to and creates files inside `.pipe/` (staging leftovers, kept bytes,
 * cache temps, the journal): a symlink there would take those operations outside the project
 * (reliability.md P12, G5). One a cloned repository committed (`git add -f .pipe/staging`
 * pointing at a home folder) had the first `pipe build` empty the folder it pointed to; a
 * dangling `records.jsonl` link had the journal written where it led. So the state folder and
 * its entries (and the cache folder's) must be what they look like: real folders and files.
 */
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.ts";

/** The state folder's links, as ".pipe/staging -> /somewhere" (empty when there are none). */
export function stateLinks(stateDir: string): string[] {
  const found: string[] = [];
  const look = (abs: string, rel: string): boolean => {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isSymbolicLink()) return st?.isDirectory() === true;
    let to = "?";
    try {
      to = readlinkSync(abs);
    } catch {
      // gone meanwhile: named all the same
    }
    found.push(`${rel} -> ${to}`);
    return false;
  };
  if (!look(stateDir, ".pipe")) return found;
  for (const name of readdirSync(stateDir)) {
    if (look(join(stateDir, name), `.pipe/${name}`) && name === "cache") {
      for (const inner of readdirSync(join(stateDir, name))) look(join(stateDir, name, inner), `.pipe/cache/${inner}`);
    }
  }
  return found;
}

/** Throws the user's error naming every link in the state folder (call before writing there). */
export function refuseStateLinks(stateDir: string): void {
  const links = stateLinks(stateDir);
  if (links.length === 0) return;
  const one = links.length === 1;
  throw new UserError({
    message: `pipe's state folder holds ${one ? "a symbolic link" : `${links.length} symbolic links`}: ${links.join(", ")}; pipe removes and writes files there, and never through a link (it could reach outside the project)`,
    hint: `remove ${one ? "the link" : "the links"} (${links.map((l) => `rm ${l.split(" -> ")[0]}`).join("; ")}), which leaves what ${one ? "it points" : "they point"} to as it is; pipe makes its own folders again`,
  });
}
