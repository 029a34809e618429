/**
 * Folders pipe kept for the user: a directory output changed outside pipe (a file added or
 * edited by hand) is copied here, as it was, before pipe replaces or removes it.
 *
 * Layout: `.pipe/kept/<tree hash>/`, a plain copy of the folder (files with their mode bits,
 * symlinks as symlinks, empty folders), so that `cp -R .pipe/kept/<hash>/. <output>` gets it
 * back. The cache cannot serve for this: its small files live inside the pack, and a tree there
 * is only a manifest of hashes, with no command to put it back together.
 * Written like the cache: into a temp folder next to it, then renamed into place, so a folder
 * under its hash is always whole. Never read by pipe, never removed by it.
 */
import { chmodSync, copyFileSync, constants, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { removeTree } from "../util/remove-tree.ts";

let tmpCounter = 0;

/** Names of copies in progress under .pipe/kept/: one left by a killed pipe is swept (sweepKept). */
const TMP_PREFIX = ".tmp-";

/**
 * Copies the folder `src` to `.pipe/kept/<hash>/` unless a copy is there already; returns its
 * absolute path. `hash` is the folder's tree hash (the name says what it holds).
 */
export function keepFolder(stateDir: string, src: string, hash: string): string {
  const dir = join(stateDir, "kept");
  const dest = join(dir, hash);
  if (lstatSync(dest, { throwIfNoEntry: false })?.isDirectory()) return dest;
  const tmp = join(dir, `${TMP_PREFIX}${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);
  mkdirSync(dir, { recursive: true });
  try {
    copyTree(src, tmp);
    renameSync(tmp, dest);
  } catch (e) {
    removeTree(tmp);
    // Another pipe kept the same folder meanwhile: its copy holds the same tree.
    if (!lstatSync(dest, { throwIfNoEntry: false })?.isDirectory()) throw e;
  }
  return dest;
}

/** Copies a folder tree: regular files (mode bits kept, reflink where possible), symlinks, folders. */
function copyTree(src: string, dest: string): void {
  mkdirSync(dest);
  for (const ent of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, ent.name);
    const to = join(dest, ent.name);
    if (ent.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (ent.isDirectory()) copyTree(from, to);
    else if (ent.isFile()) {
      copyFileSync(from, to, constants.COPYFILE_FICLONE);
      chmodSync(to, statSync(from).mode & 0o777);
    }
    // Anything else (a FIFO, a socket) holds no bytes to keep.
  }
  // Last: a read-only folder could not have been filled.
  chmodSync(dest, statSync(src).mode & 0o777);
}

/**
 * Removes the copies a killed pipe left half made (call with the project lock held: no copy is
 * in progress then). A finished copy is renamed to its hash and never touched.
 */
export function sweepKept(stateDir: string): void {
  const dir = join(stateDir, "kept");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(TMP_PREFIX)) removeTree(join(dir, n));
}
