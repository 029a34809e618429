/**
 * The real file watcher: chokidar 5 behind the `FsWatcher` seam.
 *
 * Choices (measured in ecosystem.md §6):
 * - `atomic: true`: an editor's write-temp-then-rename save arrives as one `change`, and an
 *   unlink followed by a re-create within 100 ms as one `change` (no "input deleted" blip).
 * - No `awaitWriteFinish`: it delays every event by its threshold and hides the events of a
 *   file being written, which the watch loop needs to see (to know a change landed during a
 *   run, and to wait for the writer with its own quiet period and stat check).
 * - One chokidar instance per `add()` batch, because chokidar only says `ready` once per
 *   instance: the loop must know when newly added paths are watched before it looks for
 *   changes it might have missed.
 * - A deleted root (a glob's folder removed with `rm -rf`) is added again at once: chokidar
 *   would otherwise stop watching it, and files in a re-created folder would go unseen.
 * - Symlinks are not followed (`followSymlinks: false`): a link inside a watched folder is
 *   watched as a link, so a change of its target text counts, and a link to a large tree
 *   (or to `/`) is never walked. That is also how the build hashes a directory input (a link
 *   in it counts by its target text). A root that is itself a link to a file is the one
 *   exception: the build reads through it, so it gets its own instance that follows links.
 *   That instance resolves the link once: pointed elsewhere (`ln -sfn new.csv latest.csv`
 *   replaces the link, not the file it named), it would go on watching the old file and never
 *   tell. So the link's folder is watched too, for that one name only (depth 0, links not
 *   followed): the replaced link is reported, and chokidar (which shares one OS watch per path
 *   among its instances) then resolves the link again, so edits of the new file count.
 * - ENOSPC (inotify `max_user_watches`) or EMFILE (descriptors, inotify instances): every
 *   instance is replaced by one polling instance over all paths, and a `fallback` notice is
 *   sent once it is ready. Never a silent stop (chokidar#294, #887, #1369).
 */
import { POLL_INTERVAL_MS } from "./poll.ts";
import { lstatSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { watch as chokidarWatch, type ChokidarOptions } from "chokidar";
import type { FsEventKind, FsWatcher, WatcherListener } from "./ports.ts";

/** The part of chokidar's FSWatcher this adapter uses (tests pass a fake). */
export interface ChokidarLike {
  on(event: "all", fn: (event: string, path: string) => void): unknown;
  on(event: "error", fn: (error: unknown) => void): unknown;
  on(event: "ready", fn: () => void): unknown;
  add(paths: string[]): unknown;
  unwatch(paths: string[]): unknown;
  close(): Promise<void>;
}

/** Options of `ChokidarWatcher`. */
export interface ChokidarWatcherOptions {
  /** The project root, named in the fallback warning. */
  root: string;
  /** Poll from the start (network filesystems, containers with bind mounts). */
  polling?: boolean;
  /** Polling interval in ms (default POLL_INTERVAL_MS). */
  intervalMs?: number;
  /** Creates a chokidar watcher (default: chokidar's `watch`). */
  watch?: (paths: string[], options: ChokidarOptions) => ChokidarLike;
  /** Reads an inotify limit (default: from /proc/sys/fs/inotify). */
  readLimit?: (name: "max_user_watches") => number | undefined;
}

const KINDS = new Set<string>(["add", "change", "unlink", "addDir", "unlinkDir"]);

interface Instance {
  fsw: ChokidarLike;
  paths: Set<string>;
}

/** `FsWatcher` over chokidar, with the polling fallback. */
export class ChokidarWatcher implements FsWatcher {
  readonly #listener: WatcherListener;
  readonly #isIgnored: (path: string, isDir: boolean | undefined) => boolean;
  readonly #o: ChokidarWatcherOptions;
  #instances: Instance[] = [];
  readonly #all = new Set<string>();
  #polling: boolean;
  #switching = false;
  #closed = false;

  constructor(listener: WatcherListener, filter: { isIgnored(path: string, isDir: boolean | undefined): boolean }, options: ChokidarWatcherOptions) {
    this.#listener = listener;
    this.#isIgnored = (p, d) => filter.isIgnored(p, d);
    this.#o = options;
    this.#polling = options.polling === true;
  }

  get polling(): boolean {
    return this.#polling;
  }

  async add(paths: string[]): Promise<void> {
    const fresh = paths.filter((p) => !this.#all.has(p));
    if (this.#closed || fresh.length === 0) return;
    for (const p of fresh) this.#all.add(p);
    // During a fallback the polling instance is opened with #all, which now includes these.
    if (this.#switching) return;
    await this.#openAll(fresh);
  }

  unwatch(paths: string[]): void {
    for (const p of paths) this.#all.delete(p);
    for (const inst of this.#instances) {
      const mine = paths.filter((p) => inst.paths.has(p));
      if (mine.length === 0) continue;
      for (const p of mine) inst.paths.delete(p);
      if (inst.paths.size === 0) void inst.fsw.close();
      else inst.fsw.unwatch(mine);
    }
    this.#instances = this.#instances.filter((i) => i.paths.size > 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = this.#instances;
    this.#instances = [];
    await Promise.all(all.map((i) => i.fsw.close()));
  }

  #options(follow: boolean, only?: { folder: string; name: string }): ChokidarOptions {
    const interval = this.#o.intervalMs ?? POLL_INTERVAL_MS;
    if (only) {
      return { ...this.#options(false), depth: 0, ignored: (path: string) => path !== only.folder && path !== only.name };
    }
    return {
      ignoreInitial: true,
      persistent: true,
      followSymlinks: follow,
      atomic: true,
      usePolling: this.#polling,
      interval,
      binaryInterval: interval,
      ignored: (path: string, stats?: { isDirectory(): boolean }) => this.#isIgnored(path, stats ? stats.isDirectory() : undefined),
    };
  }

  /** Opens instances over `paths` (links to files apart, followed); resolves when they are ready. */
  async #openAll(paths: string[]): Promise<void> {
    const links = paths.filter(isLinkToFile);
    const rest = paths.filter((p) => !links.includes(p));
    await Promise.all([
      rest.length ? this.#open(rest, false) : undefined,
      links.length ? this.#open(links, true) : undefined,
      // Each link's folder, for the link's own name: its replacement (see the module comment).
      ...links.map((link) => this.#open([link], false, { folder: dirname(link), name: link })),
    ]);
  }

  /**
   * Opens one instance over `paths`; resolves when it is ready (or closed). With `only`, it
   * watches `only.folder` for the one entry `only.name` (one of `paths`, which it stands for).
   */
  #open(paths: string[], follow: boolean, only?: { folder: string; name: string }): Promise<void> {
    const fsw = (this.#o.watch ?? ((p, o) => chokidarWatch(p, o) as unknown as ChokidarLike))(only ? [only.folder] : paths, this.#options(follow, only));
    const inst: Instance = { fsw, paths: new Set(paths) };
    this.#instances.push(inst);
    let ready = false;
    fsw.on("all", (event, path) => {
      if (this.#closed || !KINDS.has(event) || !this.#instances.includes(inst)) return;
      // A folder instance reports its one entry as added while it starts, ignoreInitial or
      // not: that would pass for a change made during the build and run one more.
      if (only && !ready) return;
      // chokidar forgets a root that is deleted: a folder re-created there would go unseen.
      // Adding it again makes chokidar wait for it to reappear (it watches the parent).
      if ((event === "unlink" || event === "unlinkDir") && inst.paths.has(path)) fsw.add([path]);
      this.#listener({ type: "fs", kind: event as FsEventKind, path });
    });
    fsw.on("error", (e) => this.#onError(e));
    return new Promise((resolve) =>
      fsw.on("ready", () => {
        ready = true;
        resolve();
      }),
    );
  }

  #onError(e: unknown): void {
    if (this.#closed) return;
    const code = (e as NodeJS.ErrnoException)?.code;
    if ((code === "ENOSPC" || code === "EMFILE") && !this.#polling) {
      void this.#fallBack(code);
      return;
    }
    if (code === "ENOSPC" || code === "EMFILE") return; // already polling: nothing more to do
    this.#listener({ type: "error", message: (e as Error)?.message ?? String(e) });
  }

  async #fallBack(code: "ENOSPC" | "EMFILE"): Promise<void> {
    this.#polling = true;
    this.#switching = true;
    const old = this.#instances;
    this.#instances = [];
    await Promise.all(old.map((i) => i.fsw.close().catch(() => undefined)));
    if (this.#closed) return;
    const ready = this.#openAll([...this.#all]);
    this.#switching = false;
    await ready;
    if (this.#closed) return;
    const limit = code === "ENOSPC" ? (this.#o.readLimit ?? readInotifyLimit)("max_user_watches") : undefined;
    this.#listener({ type: "fallback", code, limit, intervalMs: this.#o.intervalMs ?? POLL_INTERVAL_MS, root: this.#o.root });
  }
}

/** True for a symlink that resolves to a regular file. */
function isLinkToFile(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && statSync(path).isFile();
  } catch {
    return false;
  }
}

function readInotifyLimit(name: "max_user_watches"): number | undefined {
  try {
    const n = Number(readFileSync(`/proc/sys/fs/inotify/${name}`, "utf8").trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
