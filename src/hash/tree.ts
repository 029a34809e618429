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
 * texts: a name with a newline could forge other members' lines, and a link "a b" -> "c" read
 * the same as "a" -> "b c" (a review made two different folders hash the same). So a text with a
 * newline or a leading quote, and a link's own name with a space, is written as a JSON string,
 * which starts with a quote: a name written plainly never does. Every other name is written as
 * before (backslashes too), so recorded folder hashes stay valid, except those of folders
 * holding such names (a link whose name has a space): after this change pipe sees them as
 * changed once, keeps a copy and says so.
 */
function text(s: string, first = false): string {
  return s.includes("\n") || s.startsWith('"') || (first && s.includes(" ")) ? JSON.stringify(s) : s;
}

/** The hash of a folder from its members' lines, in walk order (sorted by name at each level). */
export function treeHash(lines: string[]): string {
  return hashString("dir-v1\n" + lines.join("\n"));
}
