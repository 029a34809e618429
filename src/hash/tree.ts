/**
 * A folder's hash: one line per member, sorted by path, hashed together. Shared by the hasher
 * (which walks the folder) and the cache (which checks a stored manifest), so the two can never
 * disagree on the encoding.
 */
import { hashString } from "./xxh.ts";

/** One member: a file (content hash, exec bit), a symlink (its target text), an empty folder, or anything else. */
export type TreeMember = { type: "f"; path: string; exec: boolean; hash: string } | { type: "l"; path: string; link: string } | { type: "d"; path: string } | { type: "o"; path: string };

export function treeLine(m: TreeMember): string {
  switch (m.type) {
    case "f":
      return `f ${m.path} ${m.exec ? "x" : "-"} ${m.hash}`;
    case "l":
      return `l ${m.path} ${m.link}`;
    case "d":
      return `d ${m.path}/`;
    case "o":
      return `o ${m.path}`;
  }
}

/** The hash of a folder from its members' lines, in walk order (sorted by name at each level). */
export function treeHash(lines: string[]): string {
  return hashString("dir-v1\n" + lines.join("\n"));
}
