/**
 * The output cache: content-addressed bytes of every output pipe published (and of outputs
 * edited by hand before pipe replaced them).
 *
 * Layout (`.pipe/cache/`):
 *   objects/<2 hex>/<hash>       file bytes, read-only (0444); written to a temp name and renamed,
 *                                so an entry exists only when complete
 *   trees/<hash>.json            directory manifests: [{ path, type: "f"|"l"|"d", hash?, exec?, link? }]
 * Entries are copied in and out (reflink where the filesystem can), never hard-linked, so
 * editing a restored output can never corrupt the cache. Every restore re-hashes the bytes
 * before publishing them: a damaged entry is dropped and its target rebuilds.
 */
import { closeSync, openSync, chmodSync, constants, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { hashBytes, hashFd, hashString } from "../hash/xxh.ts";

export interface TreeEntry {
  path: string;
  type: "f" | "l" | "d";
  hash?: string;
  exec?: boolean;
  link?: string;
}

let tmpCounter = 0;
const tmpName = (dir: string) => join(dir, `.tmp-${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);

/**
 * Runs `create` (which makes a file in `dir`), making `dir` first only if it is missing: a
 * build stores thousands of objects into 256 folders that exist after the first few.
 */
function inFolder(dir: string, create: () => void): void {
  try {
    create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dir, { recursive: true });
    create();
  }
}

export class OutputCache {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = join(stateDir, "cache");
  }

  objectPath(hash: string): string {
    return join(this.#dir, "objects", hash.slice(0, 2), hash);
  }

  has(hash: string, kind: "file" | "dir"): boolean {
    return existsSync(kind === "file" ? this.objectPath(hash) : join(this.#dir, "trees", `${hash}.json`));
  }

  /** Stores a file whose content hash is known. */
  putFile(src: string, hash: string): void {
    const dst = this.objectPath(hash);
    if (existsSync(dst)) return;
    const tmp = tmpName(dirname(dst));
    inFolder(dirname(dst), () => copyFileSync(src, tmp, constants.COPYFILE_FICLONE));
    chmodSync(tmp, 0o444);
    renameSync(tmp, dst);
  }

  /**
   * Stores bytes already in memory (a small output that was read to hash it): one write
   * instead of copying the file again. Same temp-and-rename as putFile.
   */
  putBytes(bytes: Uint8Array, hash: string): void {
    const dst = this.objectPath(hash);
    if (existsSync(dst)) return;
    const tmp = tmpName(dirname(dst));
    // Created read-only (0444): a file mode is only ever narrowed by the umask.
    inFolder(dirname(dst), () => writeFileSync(tmp, bytes, { flag: "wx", mode: 0o444 }));
    renameSync(tmp, dst);
  }

  /** Stores a directory tree (its files as objects plus a manifest); `hash` is its tree hash. */
  putDir(src: string, hash: string, hashFile: (abs: string) => string): void {
    const manifest = join(this.#dir, "trees", `${hash}.json`);
    if (existsSync(manifest)) return;
    const entries: TreeEntry[] = [];
    const walk = (abs: string, rel: string) => {
      const names = readdirSync(abs).sort();
      if (names.length === 0 && rel !== "") entries.push({ path: rel, type: "d" });
      for (const name of names) {
        const p = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(p);
        if (st.isSymbolicLink()) entries.push({ path: r, type: "l", link: readlinkSync(p) });
        else if (st.isDirectory()) walk(p, r);
        else if (st.isFile()) {
          const h = hashFile(p);
          this.putFile(p, h);
          entries.push({ path: r, type: "f", hash: h, exec: (st.mode & 0o111) !== 0 });
        }
      }
    };
    walk(src, "");
    mkdirSync(dirname(manifest), { recursive: true });
    const tmp = tmpName(dirname(manifest));
    writeFileSync(tmp, JSON.stringify(entries));
    renameSync(tmp, manifest);
  }

  /**
   * Materialises a cached output at `dest` (a temp path next to the final one; the caller
   * renames it into place). Returns false when the entry is missing or damaged.
   */
  materialize(hash: string, kind: "file" | "dir", dest: string, mode?: number): boolean {
    try {
      if (kind === "file") return this.#copyVerified(hash, dest, mode ?? 0o644);
      const manifest = join(this.#dir, "trees", `${hash}.json`);
      const entries = JSON.parse(readFileSync(manifest, "utf8")) as TreeEntry[];
      mkdirSync(dest, { recursive: true });
      const rootAbs = resolve(dest);
      for (const e of entries) {
        // A manifest is data: refuse members that would land outside the folder.
        const target = resolve(dest, e.path);
        if (!target.startsWith(rootAbs + sep) || e.path.includes("\0")) throw new Error(`cache entry rejected: member ${JSON.stringify(e.path)} escapes its folder`);
        mkdirSync(e.type === "d" ? target : dirname(target), { recursive: true });
        if (e.type === "f") {
          if (!this.#copyVerified(e.hash!, target, e.exec ? 0o755 : 0o644)) throw new Error(`missing object ${e.hash}`);
        } else if (e.type === "l") symlinkSync(e.link!, target);
      }
      return true;
    } catch {
      rmSync(dest, { recursive: true, force: true });
      return false;
    }
  }

  #copyVerified(hash: string, dest: string, mode: number): boolean {
    const src = this.objectPath(hash);
    if (!existsSync(src)) return false;
    copyFileSync(src, dest, constants.COPYFILE_FICLONE);
    chmodSync(dest, mode);
    if (hashBytes(readFileSync(dest)) !== hash) {
      unlinkSync(dest);
      try {
        unlinkSync(src); // damaged: drop it so the target rebuilds and re-stores it
      } catch {
        // already gone
      }
      return false;
    }
    return true;
  }

  /**
   * Checks one entry (`pipe status --verify`): undefined when it is there and its bytes hash to
   * its name, else what is wrong. Reads only; a damaged entry is reported, not dropped.
   */
  verify(hash: string, kind: "file" | "dir"): string | undefined {
    if (kind === "file") {
      const p = this.objectPath(hash);
      if (!existsSync(p)) return `cache object ${hash} is missing`;
      const got = hashFileStreaming(p);
      return got === hash ? undefined : `cache object ${hash} is damaged: its bytes hash to ${got}`;
    }
    const manifest = join(this.#dir, "trees", `${hash}.json`);
    let entries: TreeEntry[];
    try {
      entries = JSON.parse(readFileSync(manifest, "utf8")) as TreeEntry[];
    } catch (e) {
      return existsSync(manifest) ? `cache tree ${hash} is damaged: ${(e as Error).message}` : `cache tree ${hash} is missing`;
    }
    const lines = entries.map((e) => (e.type === "d" ? `d ${e.path}/` : e.type === "l" ? `l ${e.path} ${e.link}` : `f ${e.path} ${e.exec ? "x" : "-"} ${e.hash}`));
    const got = hashString("dir-v1\n" + lines.join("\n"));
    if (got !== hash) return `cache tree ${hash} is damaged: its manifest hashes to ${got}`;
    for (const e of entries) {
      if (e.type !== "f") continue;
      const problem = this.verify(e.hash!, "file");
      if (problem) return `${problem} (member ${e.path} of tree ${hash})`;
    }
    return undefined;
  }

  /** A short path to show users for a cached file ("pipe keeps the edited bytes at ..."). */
  displayPath(hash: string, root: string): string {
    return relative(root, this.objectPath(hash));
  }
}

function hashFileStreaming(path: string): string {
  const fd = openSync(path, "r");
  try {
    return hashFd(fd);
  } finally {
    closeSync(fd);
  }
}
