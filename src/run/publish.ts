/**
 * Staging, publishing and restoring outputs. Recipes write to staging paths under
 * `.pipe/staging/<run>/`; only after the recipe succeeded and every declared output exists are
 * the outputs stored in the cache and renamed into place, and only then is the record
 * committed. A failed or killed recipe therefore never leaves an output that counts as built.
 *
 * Replacing an output whose bytes pipe did not produce (edited by hand) first keeps those
 * bytes (a file in the cache, a folder under .pipe/kept/) and prints the command that gets
 * them back.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, type Stats } from "node:fs";
import { basename, dirname, extname, join, relative, sep } from "node:path";
import { isUtf8 } from "node:buffer";
import type { GraphTarget, OutputDecl } from "../graph/graph.ts";
import type { FileHasher } from "../hash/file-hasher.ts";
import { hashBytes, hashString } from "../hash/xxh.ts";
import type { OutputCache } from "../state/cache.ts";
import type { OutputRecord, RecordStore } from "../state/records.ts";
import { keepFolder } from "../state/kept.ts";
import { quote } from "../api/sh.ts";
import { crashPoint } from "../util/crash-point.ts";
import { withDefaultSignals } from "../util/signals.ts";
import { isDenied, removeProblem, removeTree } from "../util/remove-tree.ts";

export interface PublishContext {
  root: string;
  stateDir: string;
  cache: OutputCache;
  hasher: FileHasher;
  /**
   * The records, to tell bytes pipe built (a recorded output hash) whose cache entry is gone
   * from bytes changed outside pipe.
   */
  records: Pick<RecordStore, "history" | "find" | "madeAt">;
  /** A warning about target `target` (the reporters show it with the target; --json carries it). */
  /** `kept`: the warning says where bytes the user had were kept (shown even with --quiet). */
  warn: (message: string, target?: string, kept?: boolean) => void;
  /** A fresh folder under .pipe/ for temporary moves. */
  scratch: () => string;
  /**
   * Keeps the file at `abs` (about to be replaced by a rename) under another name: returns that
   * name and what frees it later, off the critical path; undefined when it cannot (another
   * filesystem).
   */
  setAside?: (abs: string) => { path: string; free: () => void } | undefined;
}

/** Staged outputs are hidden siblings of their final paths: `build/.pipe-tmp-<run>-<n>-words.txt`. */
export const STAGING_PREFIX = ".pipe-tmp-";

/**
 * Where each declared output is staged for one run of `t`: next to its final path, so the
 * publishing rename stays within one folder (one filesystem) and no staging folders have to be
 * made and removed per target (they cost more than the recipe for cheap targets).
 */
export function stagingPaths(tag: string, t: GraphTarget): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of t.outputs) m.set(o.path, join(dirname(o.path), stagingName(tag, basename(o.path))));
  return m;
}

/** Most filesystems' limit on one path component, in bytes (Linux NAME_MAX, macOS too). */
const NAME_MAX = 255;

/**
 * `.pipe-tmp-<tag>-<name>`, kept within NAME_MAX: a long but legal output name (230 bytes)
 * would otherwise make an illegal staging name (ENAMETOOLONG). A name too long keeps its
 * extension (recipes and tools infer formats from it), as much of its stem as fits, and a hash
 * of the whole name (two long names of one target that share a start stay distinct).
 */
export function stagingName(tag: string, name: string): string {
  const head = `${STAGING_PREFIX}${tag}-`;
  const plain = head + name;
  if (Buffer.byteLength(plain) <= NAME_MAX) return plain;
  let ext = extname(name);
  if (Buffer.byteLength(ext) > 64) ext = "";
  const mark = `~${hashString(name).slice(0, 10)}`;
  let room = NAME_MAX - Buffer.byteLength(head + mark + ext);
  let stem = "";
  for (const ch of name.slice(0, name.length - ext.length)) {
    room -= Buffer.byteLength(ch);
    if (room < 0) break;
    stem += ch;
  }
  return head + stem + mark + ext;
}

/**
 * Checks the staged outputs exist with the declared kind; returns the problems. `stats`, when
 * given, receives each staged output's lstat (by final path), so later steps need not stat again.
 */
export function checkStaged(root: string, t: GraphTarget, staged: Map<string, string>, stats?: Map<string, Stats>): string[] {
  const problems: string[] = [];
  for (const o of t.outputs) {
    const p = join(root, staged.get(o.path)!);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      problems.push(`declared output ${JSON.stringify(o.path)} was not produced`);
      continue;
    }
    stats?.set(o.path, st);
    if (o.dir && !st.isDirectory()) problems.push(`declared output ${JSON.stringify(o.path + "/")} is not a directory`);
    if (o.dir && st.isDirectory()) {
      const odd = oddEntry(p);
      if (odd) problems.push(`output folder ${JSON.stringify(o.path + "/")} holds ${odd.kind} ${JSON.stringify(`${o.path}/${odd.path}`)}; a folder output may hold only regular files, folders and symlinks, named in UTF-8 (pipe could not cache or restore it)`);
    }
    if (!o.dir && !st.isFile()) {
      const why = st.isDirectory() ? " (declare it with a trailing / to make it a directory output)" : st.isSymbolicLink() ? ": it is a symlink (a file output must be a regular file; write the bytes, or make the output a directory holding the link)" : "";
      problems.push(`declared output ${JSON.stringify(o.path)} is not a regular file${why}`);
    }
  }
  return problems;
}

/**
 * The first entry under `dir` that is not a regular file, folder or symlink (a FIFO, socket or
 * device), or whose name is not UTF-8 (pipe's paths are text: such a file could not be hashed,
 * cached or restored, and the target failed with a raw ENOENT naming a mangled path).
 */
function oddEntry(dir: string, rel = ""): { path: string; kind: string } | undefined {
  for (const ent of readdirSync(join(dir, rel), { withFileTypes: true, encoding: "buffer" })) {
    const name = ent.name.toString("utf8");
    const path = rel ? `${rel}/${name}` : name;
    if (!isUtf8(ent.name)) return { path, kind: "an entry whose name is not valid UTF-8 (\uFFFD marks the bytes)" };
    if (ent.isDirectory()) {
      const inner = oddEntry(dir, path);
      if (inner) return inner;
    } else if (!ent.isFile() && !ent.isSymbolicLink()) return { path, kind: ent.isFIFO() ? "a FIFO" : ent.isSocket() ? "a socket" : "a device file" };
  }
  return undefined;
}

/** Staged files up to this size are read once, hashed and stored from memory; bigger ones are copied (reflink where possible). */
const SMALL = 1 << 20;

/**
 * Hashes and caches the staged outputs (before anything is moved into place). `stats` are the
 * staged outputs' lstats from checkStaged, when the caller has them.
 */
export function storeStaged(ctx: PublishContext, t: GraphTarget, staged: Map<string, string>, stats?: Map<string, Stats>): OutputRecord[] {
  const records: OutputRecord[] = [];
  for (const o of t.outputs) {
    const rel = staged.get(o.path)!;
    const abs = join(ctx.root, rel);
    const st = stats?.get(o.path);
    if (st?.isFile() && st.size < SMALL) {
      // The bytes stored are exactly the bytes hashed. A staged path is never in the stat
      // cache (it is renamed away next), so the hasher is not involved.
      const bytes = readFileSync(abs);
      const hash = hashBytes(bytes);
      ctx.cache.putBytes(bytes, hash);
      records.push({ path: o.path, kind: "file", hash, mode: st.mode & 0o777 });
      continue;
    }
    // A big file or a folder: hashed and copied for as long as it takes, Ctrl-C ending pipe at once.
    const h = withDefaultSignals(() => {
      const h = ctx.hasher.hashPath(rel);
      if (h.kind !== "file" && h.kind !== "dir") throw new Error(`staged output ${rel} vanished`);
      if (h.kind === "file") {
        ctx.cache.putFile(abs, h.hash);
        records.push({ path: o.path, kind: "file", hash: h.hash, mode: statSync(abs).mode & 0o777 });
      } else {
        ctx.cache.putDir(abs, h.hash, (p) => {
          const r = ctx.hasher.hashPath(p.slice(ctx.root.length + 1));
          return r.kind === "file" ? r.hash : "";
        });
        records.push({ path: o.path, kind: "dir", hash: h.hash });
      }
      return h;
    });
    ctx.hasher.forget(rel, h.kind === "dir");
  }
  return records;
}

/**
 * If the current bytes at an output path are not in the cache (edited by hand, produced outside
 * pipe, or a build's result whose cache entry was lost), keep them and warn with a command that
 * puts them back, so replacing them loses nothing. A file is kept as a cache object of its own
 * (never packed: the command copies that file); a folder as a plain copy under .pipe/kept/
 * (state/kept.ts), since its small files would be packed and a tree manifest cannot be copied
 * back. Returns what it kept: "edited" bytes, "uncached" ones a record names, or nothing.
 */
export function keepEdited(ctx: PublishContext, t: GraphTarget, o: OutputDecl | OutputRecord, newHash: string, doing: "replacing" | "removing" = "replacing", madeBy = "was changed outside pipe"): "edited" | "uncached" | undefined {
  if (!existsSync(join(ctx.root, o.path))) return undefined;
  // A link the user put where the output goes: replacing or removing it loses nothing (what it
  // points to stays), so the link is named, not followed. Copying a linked folder (a dataset)
  // into .pipe/kept/ filled the disk, and gave back a copy instead of the link.
  const link = linkTarget(join(ctx.root, o.path));
  if (link !== undefined) {
    ctx.warn(`output ${o.path} of ${JSON.stringify(t.id)} was a symbolic link to ${JSON.stringify(link)}, made outside pipe; pipe ${doing === "replacing" ? "replaces" : "removes"} the link itself, and what it points to is left as it is (to get the link back: ln -sfn ${shellPath(link)} ${shellPath(o.path)})`, t.id, true);
    return undefined; // nothing kept
  }
  const h = ctx.hasher.hashPath(o.path);
  if (h.kind !== "file" && h.kind !== "dir") return undefined;
  if (h.hash === newHash) return undefined;
  // Pipe's own result at this path, still in the cache: nothing to keep or say. Bytes the cache
  // holds for another reason (another target's output, an edit kept before) are kept and named
  // as any edit: a review found such an edit replaced without a word, even with --keep-edited.
  const recorded = isRecorded(ctx, t.id, o.path, h);
  if (recorded && ctx.cache.has(h.hash, h.kind)) return undefined;
  const abs = join(ctx.root, o.path);
  let command: string;
  if (h.kind === "file") {
    // A file of its own (not a pack entry), which the printed cp command can copy.
    withDefaultSignals(() => ctx.cache.putFile(abs, h.hash, { loose: true }));
    // The object is read-only (0444) and `cp` gives a new file its source's mode: say the file's own.
    const mode = (statSync(abs).mode & 0o777).toString(8);
    command = `cp ${shellPath(ctx.cache.displayPath(h.hash, ctx.root))} ${shellPath(o.path)} && chmod ${mode} ${shellPath(o.path)}`;
  } else {
    const kept = withDefaultSignals(() => keepFolder(ctx.stateDir, abs, h.hash));
    // `<kept>/.` copies the folder's contents: into the output folder, made if it is missing.
    command = `cp -R ${shellPath(`${relative(ctx.root, kept)}/.`)} ${shellPath(o.path)}`;
  }
  // Bytes a record names are pipe's own result whose cache entry is gone (.pipe/cache removed):
  // calling them "changed outside pipe" sent users looking for an edit nobody made.
  if (recorded) {
    ctx.warn(`output ${o.path} of ${JSON.stringify(t.id)} is a recorded build's result, but its bytes were not in the cache (was .pipe/cache removed?); pipe kept them before ${doing} them (to get them back: ${command})`, t.id, true);
    return "uncached";
  }
  ctx.warn(`output ${o.path} of ${JSON.stringify(t.id)} ${madeBy}; pipe kept those bytes before ${doing} them (to get them back: ${command})`, t.id, true);
  return "edited";
}

/** What the symbolic link at `abs` points to (undefined: not a link). */
function linkTarget(abs: string): string | undefined {
  if (!lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink()) return undefined;
  try {
    return readlinkSync(abs);
  } catch {
    return undefined;
  }
}

/** Whether a run published these bytes at `path` (see RecordStore.madeAt): pipe made them. */
function isRecorded(ctx: PublishContext, target: string, path: string, h: { kind: string; hash: string }): boolean {
  return ctx.records.madeAt(target, { path, kind: h.kind, hash: h.hash }, () => ctx.cache.has(h.hash, h.kind as "file" | "dir"));
}

/** A project-relative path as one shell word that no command takes for an option. */
function shellPath(rel: string): string {
  return quote(rel.startsWith("-") ? `./${rel}` : rel);
}

/** What the caller already knows about the places outputs go, to spare syscalls per target. */
export interface PublishHints {
  /** Final paths known to be absent (checked after the recipe ran): nothing to keep or move aside. */
  missing?: Set<string>;
  /** Folders known to exist. */
  madeDirs?: Set<string>;
  /** lstat of each staged output, by final path (its mtime survives the rename). */
  stats?: Map<string, Stats>;
}

/**
 * Throws unless every folder between the project root and `rel` is a real folder (P12,
 * reliability G1): the load refuses outputs whose folders are symlinks, but a folder swapped
 * for one while the recipe ran would make the publishing rename write elsewhere, out of the
 * project or onto other files of it. Checked right before each move, with nothing cached: the
 * swap happens during the run. Costs one lstat per folder level of the output path. A swap in
 * the microseconds between this check and the rename is not covered (Node has no renameat).
 */
export function checkConfined(root: string, rel: string): void {
  const parts = rel.split("/");
  let abs = root;
  for (let i = 0; i < parts.length - 1; i++) {
    abs = `${abs}/${parts[i]}`;
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) continue;
    if (!st?.isSymbolicLink()) return; // missing, or not a folder: the rename fails on its own
    // The message says where the link leads (resolved only here, on the error path).
    let real: string;
    let realRoot = root;
    try {
      real = realpathSync(abs);
      realRoot = realpathSync(root);
    } catch {
      real = "(unresolvable)";
    }
    const inside = real === realRoot || real.startsWith(realRoot + sep);
    const folder = parts.slice(0, i + 1).join("/");
    const where = inside ? `a symlink to ${relative(realRoot, real) || "."} in the project` : `a symlink leading outside the project (to ${real})`;
    throw Object.assign(new Error(`not moving output ${JSON.stringify(rel)} into place: its folder ${JSON.stringify(folder)} is now ${where} (replaced while the recipe ran?)\n  hint: make ${JSON.stringify(folder)} a real folder again and rebuild`), { code: "ERR_PIPE_OUTSIDE_ROOT" });
  }
}

/**
 * Makes the project folder `dirRel` (and its parents) for output `output` (reliability.md D7).
 * A regular file where one of those folders belongs is usually an output of an earlier
 * Pipelinefile version (`build/x` was a file output, now `build/x/y.txt` is declared): mkdir
 * failed on it with EEXIST or ENOTDIR, every build, until the user found and removed it. When
 * the file's bytes are in the cache (pipe made them; nothing is lost) it is removed, with a
 * warning; a file pipe did not make is left alone and the target fails naming it. No extra
 * syscall when the folders can be made.
 */
export function makeOutputFolder(ctx: PublishContext, t: GraphTarget, dirRel: string, output: string): void {
  try {
    mkdirSync(join(ctx.root, dirRel), { recursive: true });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTDIR") throw e;
  }
  const parts = dirRel.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join("/");
    const st = lstatSync(join(ctx.root, rel), { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue;
    // A symlink or anything but a file: not ours to remove (checkConfined names symlinked folders).
    const h = st.isFile() ? ctx.hasher.hashPath(rel) : undefined;
    if (h?.kind !== "file" || !ctx.cache.has(h.hash, "file")) {
      throw Object.assign(new Error(`output ${JSON.stringify(output)} of ${JSON.stringify(t.id)} needs ${JSON.stringify(rel)} to be a folder, but it is ${st.isFile() ? "a file pipe did not make" : st.isSymbolicLink() ? "a symlink" : "not a folder"}; it is left as it is\n  hint: move ${rel} away (or declare another output path) and build again`), { code: "ERR_PIPE_NOT_A_FOLDER" });
    }
    rmSync(join(ctx.root, rel));
    ctx.hasher.forget(rel, false);
    ctx.warn(`removed ${rel}, a file where output ${output} of ${JSON.stringify(t.id)} needs a folder (an output of an earlier build; its bytes stay in the cache)`, t.id);
    break;
  }
  mkdirSync(join(ctx.root, dirRel), { recursive: true });
}

/**
 * What a move replaced, kept until every output of the target is in place: a failed move of a
 * later output puts the earlier ones back (a target's outputs change together or not at all:
 * reliability.md P3; a failed chmod of the second output left the first one the failed run's).
 */
export class Moves {
  readonly #done: { to: string; old?: string; kind: "new" | "file" | "dir"; free?: () => void }[] = [];

  note(entry: { to: string; old?: string; kind: "new" | "file" | "dir"; free?: () => void }): void {
    this.#done.push(entry);
  }

  /** Every output is in place: what they replaced goes. */
  commit(ctx: PublishContext, target?: string): void {
    for (const m of this.#done) {
      if (m.kind === "file") m.free?.();
      else if (m.kind === "dir" && m.old) {
        try {
          removeTree(m.old);
        } catch (e) {
          // The new output is in place; what is left of the old one is in the run's scratch folder.
          ctx.warn(removeProblem(relative(ctx.root, m.old), e), target);
        }
      }
    }
    this.#done.length = 0;
  }

  /** A later move failed: the earlier ones are undone, newest first (what cannot be is said). */
  undo(ctx: PublishContext, target?: string): void {
    for (const m of this.#done.reverse()) {
      try {
        if (m.kind === "new") removeTree(m.to);
        else if (m.kind === "file") renameSync(m.old!, m.to);
        else if (m.kind === "dir" && m.old) {
          if (lstatSync(m.to, { throwIfNoEntry: false })) removeTree(m.to);
          renameSync(m.old, m.to);
        }
        ctx.hasher.forget(relative(ctx.root, m.to), m.kind === "dir");
      } catch (e) {
        ctx.warn(`cannot put back what ${relative(ctx.root, m.to)} held before: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, target);
      }
    }
    this.#done.length = 0;
  }
}

/**
 * Moves one prepared file or folder into place (rename; a folder swap goes through the scratch
 * area). With `moves`, what it replaced stays until `moves.commit` (or comes back on `undo`).
 */
export function moveIntoPlace(ctx: PublishContext, fromRel: string, toRel: string, hints: { missing?: boolean; dirMade?: boolean; target?: GraphTarget; moves?: Moves } = {}): void {
  const from = join(ctx.root, fromRel);
  const to = join(ctx.root, toRel);
  checkConfined(ctx.root, toRel);
  if (!hints.dirMade) {
    if (hints.target) makeOutputFolder(ctx, hints.target, dirname(toRel), toRel);
    else mkdirSync(dirname(to), { recursive: true });
    checkConfined(ctx.root, toRel);
  }
  const moves = hints.moves ?? new Moves();
  try {
    place(ctx, from, to, moves, hints.missing === true);
  } catch (e) {
    // Its own move half done (a folder moved aside, the new one refused): put back.
    if (!hints.moves) moves.undo(ctx, hints.target?.id);
    throw e;
  }
  if (!hints.moves) moves.commit(ctx, hints.target?.id);
}

/** The renames of moveIntoPlace; `missing`: nothing is at `to` (known from the caller). */
function place(ctx: PublishContext, from: string, to: string, moves: Moves, missing: boolean): void {
  let replaced = false;
  if (!missing) {
    const st = lstatSync(to, { throwIfNoEntry: false });
    replaced = st !== undefined;
    if (st && (st.isDirectory() || lstatSync(from).isDirectory())) {
      const old = join(ctx.root, ctx.scratch(), "old");
      mkdirSync(dirname(old), { recursive: true });
      try {
        renameSync(to, old);
      } catch (e) {
        // Moving a folder elsewhere rewrites its `..`: a read-only one (chmod 555 by its recipe)
        // must be made writable first. Any other error is the build's to report.
        if (!isDenied(e) || !st.isDirectory()) throw e;
        chmodSync(to, (st.mode & 0o7777) | 0o700);
        renameSync(to, old);
      }
      moves.note({ to, old, kind: "dir" });
    } else if (st) {
      // A rename over a file frees that file's blocks then and there: on ext4 that made the
      // rename 0.28 ms instead of 0.03 (a chain rebuilds its links one after another). A
      // second link keeps them until the build frees them from a background thread.
      let aside: { path: string; free: () => void } | undefined;
      try {
        aside = ctx.setAside?.(to);
      } catch {
        // no second link: the rename frees the blocks itself
      }
      // Without a second link (another filesystem) the rename frees the old bytes: nothing to put back.
      if (aside) moves.note({ to, old: aside.path, kind: "file", free: aside.free });
    }
  }
  crashPoint("publish-rename");
  try {
    renameSync(from, to);
  } catch (e) {
    // The same for the folder moved in: a read-only output folder restored from the cache comes
    // from .pipe/staging (a recipe's is staged beside its final path: never moved elsewhere).
    const st = isDenied(e) ? lstatSync(from, { throwIfNoEntry: false }) : undefined;
    if (!st?.isDirectory() || (st.mode & 0o200) !== 0) throw e;
    chmodSync(from, (st.mode & 0o7777) | 0o700);
    renameSync(from, to);
    chmodSync(to, st.mode & 0o7777);
  }
  if (!replaced) moves.note({ to, kind: "new" });
}

/** Publishes staged outputs: keep edited bytes, rename into place, prime the stat cache. */
export function publish(ctx: PublishContext, t: GraphTarget, staged: Map<string, string>, outputs: OutputRecord[], hints: PublishHints = {}): void {
  const moves = new Moves();
  try {
    for (const o of outputs) {
      const missing = hints.missing?.has(o.path) ?? false;
      if (!missing) keepEdited(ctx, t, o, o.hash);
      moveIntoPlace(ctx, staged.get(o.path)!, o.path, { missing, dirMade: hints.madeDirs?.has(dirname(o.path)), target: t, moves });
      ctx.hasher.forget(o.path, o.kind === "dir");
      if (o.kind === "file") ctx.hasher.remember(o.path, o.hash, hints.stats?.get(o.path)?.mtimeMs);
    }
  } catch (e) {
    moves.undo(ctx, t.id);
    throw e;
  }
  moves.commit(ctx, t.id);
}

/**
 * `restore` for a target that is restored instead of run (a build, a git hook): a path that
 * cannot be written (a file pipe did not make where an output's folder belongs, a folder
 * swapped for a symlink, EACCES) is that target's problem, returned as its message, not an
 * internal error that stops everything else (reliability.md D7).
 */
export function restoreTarget(ctx: PublishContext, t: GraphTarget, outputs: OutputRecord[], current: Map<string, { kind: string; hash: string } | undefined>): { failed: string[] } | { problem: string } {
  try {
    return { failed: restore(ctx, t, outputs, current) };
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    return { problem: (e as Error).message };
  }
}

/** Restores recorded outputs from the cache. Returns the paths it could not restore. */
export function restore(ctx: PublishContext, t: GraphTarget, outputs: OutputRecord[], current: Map<string, { kind: string; hash: string } | undefined>, madeBy?: string): string[] {
  const failed: string[] = [];
  for (const o of outputs) {
    const now = current.get(o.path);
    if (now && now.kind === o.kind && now.hash === o.hash) continue;
    const tmpRel = join(ctx.scratch(), "restore");
    mkdirSync(dirname(join(ctx.root, tmpRel)), { recursive: true });
    if (!ctx.cache.materialize(o.hash, o.kind, join(ctx.root, tmpRel), o.mode)) {
      failed.push(o.path);
      continue;
    }
    keepEdited(ctx, t, o, o.hash, "replacing", madeBy);
    moveIntoPlace(ctx, tmpRel, o.path, { target: t });
    if (o.mode !== undefined && o.kind === "file") chmodSync(join(ctx.root, o.path), o.mode);
    ctx.hasher.forget(o.path, o.kind === "dir");
    if (o.kind === "file") ctx.hasher.remember(o.path, o.hash);
  }
  return failed;
}
