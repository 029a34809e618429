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
      return `f ${text(m.path)} ${m.exec ? "x" : "-"} ${m.hash}`;
    case "l":
      return `l ${text(m.path, true)} ${text(m.link)}`;
    case "d":
      return `d ${text(m.path)}/`;
    case "o":
      return `o ${text(m.path)}`;
  }
}

/**
 * A name as a line holds it. Lines are joined with newlines, and a link's line holds two free
 * texts: a name with a newline could forge other members' lines, and "a b" -> "c" read the same
 * as "a" -> "b c" (a review made two different folders hash the same with a newline). So a text
 * with a newline or a backslash, and a link's own name with a space or a leading quote, is
 * written as a JSON string: such a string always has a backslash or starts with a quote, which
 * a name written plainly never has (or, for a link's name, never does). Every other name (nearly
 * all) is written as before, so folder hashes did not change.
 */
function text(s: string, first = false): string {
  return s.includes("\n") || s.includes("\\") || (first && (s.includes(" ") || s.startsWith('"'))) ? JSON.stringify(s) : s;
}

/** The hash of a folder from its members' lines, in walk order (sorted by name at each level). */
export function treeHash(lines: string[]): string {
  return hashString("dir-v1\n" + lines.join("\n"));
}
