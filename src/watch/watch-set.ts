/**
 * What watch mode watches, as data, and the questions the watcher asks about a path.
 *
 * A `WatchSet` is derived from the graph after every build: the source files of the selected
 * targets (and of their dependencies), the base folder of every glob (so a new file matching
 * the glob counts, and the glob is re-evaluated by the next build), directory inputs, and the
 * Pipelinefile with every local module it imports. Paths pipe itself writes (declared outputs,
 * `.pipe/`, the compile cache under `node_modules/.cache/`) are `ignored`: a write there never
 * counts, even when it lands inside a watched folder (P15).
 *
 * Everything here is pure (no I/O): paths are absolute, with `/` separators.
 */
import { posix } from "node:path";
import picomatch from "picomatch";
import { closure, type Graph } from "../graph/graph.ts";

/** A glob input: where to look, what to match, and what it matched at the last build. */
export interface GlobSource {
  /** Absolute folder the glob cannot match outside of (picomatch's scan base). */
  base: string;
  /** The pattern, project-relative, without a leading `./`. */
  pattern: string;
  /** Absolute paths the graph expanded it to at the last build, sorted. */
  matches: string[];
}

/** The sources watch mode watches and the paths it ignores. */
export interface WatchSet {
  /** The project root (the Pipelinefile's folder). */
  root: string;
  /** Source files: file inputs, the Pipelinefile and its local modules. Absolute, sorted. */
  files: string[];
  /** Of `files`, the Pipelinefile and its local modules (a change reloads the Pipelinefile). */
  code: string[];
  /** Directory inputs: a change anywhere inside counts. Absolute, sorted. */
  dirs: string[];
  /**
   * Folders the Pipelinefile listed while loading (a target per file): an entry added,
   * removed or changed there reloads it, as a change of its code does. Absolute, sorted.
   */
  loadDirs?: string[];
  globs: GlobSource[];
  /** Paths pipe writes itself: nothing at or under them ever counts. Absolute, sorted. */
  ignored: string[];
}

/** Folders a glob never matches inside (fast-glob's `ignore` in the graph builder). */
const GLOB_EXCLUDED = [".pipe/", "node_modules/"];

/** A watch set with only the Pipelinefile: what is watched before it has ever loaded. */
export function pipelinefileOnly(root: string, pipelinefile: string): WatchSet {
  return {
    root,
    files: [pipelinefile],
    code: [pipelinefile],
    dirs: [],
    // Until the Pipelinefile loads we do not know its local modules: any code file may be one.
    globs: [globSource(root, "**/*.{ts,mts,cts,tsx,js,mjs,cjs,jsx}", [])],
    ignored: defaultIgnored(root),
  };
}

/** `.pipe/` and the compile cache: pipe's own writes outside the declared outputs. */
export function defaultIgnored(root: string): string[] {
  return [posix.join(root, ".pipe"), posix.join(root, "node_modules", ".cache")];
}

/** Makes a glob source for a project-relative pattern. */
export function globSource(root: string, pattern: string, matches: string[]): GlobSource {
  const clean = pattern.replace(/^(\.\/)+/, "");
  const base = posix.resolve(root, picomatch.scan(clean).base || ".");
  return { base, pattern: clean, matches: [...matches].sort() };
}

/** What `watchSetOf` needs from a loaded project. */
export interface WatchSetInput {
  root: string;
  stateDir: string;
  graph: Graph;
  /** The targets being kept up to date (their dependencies are included). */
  selected: string[];
  /** Absolute paths of the Pipelinefile and its local modules. */
  code: string[];
  /** Files (absolute) the Pipelinefile's code read while loading: changes reload it. */
  loadFiles?: string[];
  /** Folders (absolute) it listed while loading. */
  loadDirs?: string[];
}

/** Derives the watch set from a loaded project: sources of `selected` and their dependencies. */
export function watchSetOf(o: WatchSetInput): WatchSet {
  const abs = (rel: string) => posix.resolve(o.root, rel);
  const ignored = new Set(defaultIgnored(o.root));
  ignored.add(o.stateDir);
  // Every declared output (of any target: a manual `pipe build` may write the others).
  for (const t of o.graph.targets.values()) for (const out of t.outputs) ignored.add(abs(out.path));
  const isIgnored = ignoredTest([...ignored]);
  const inRoot = (p: string) => (p === o.root || p.startsWith(o.root + "/")) && !isIgnored(p);
  const loadFiles = (o.loadFiles ?? []).filter(inRoot);
  const code = [...o.code, ...loadFiles];
  const files = new Set(code);
  const dirs = new Set<string>();
  const globs = new Map<string, GlobSource>();
  for (const id of closure(o.graph, o.selected)) {
    for (const group of o.graph.targets.get(id)!.inputs) {
      for (const item of group.items) {
        switch (item.kind) {
          case "target":
            break; // outputs of another target: not a source
          case "file":
            if (!isIgnored(abs(item.files[0]))) files.add(abs(item.files[0]));
            break;
          case "dir":
            dirs.add(abs(item.files[0]));
            break;
          case "glob": {
            const g = globSource(o.root, item.spec, item.files.map(abs).filter((p) => !isIgnored(p)));
            const prev = globs.get(g.pattern);
            globs.set(g.pattern, prev ? { ...g, matches: [...new Set([...prev.matches, ...g.matches])].sort() } : g);
            break;
          }
        }
      }
    }
  }
  return {
    root: o.root,
    files: [...files].sort(),
    code: [...new Set(code)].sort(),
    dirs: [...dirs].sort(),
    loadDirs: [...new Set((o.loadDirs ?? []).filter(inRoot))].sort(),
    globs: [...globs.values()].sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0)),
    ignored: [...ignored].sort(),
  };
}

/** The paths handed to the file watcher: source files, directory inputs and glob bases. */
export function watchRoots(set: WatchSet): string[] {
  return [...new Set([...set.files, ...set.dirs, ...(set.loadDirs ?? []), ...set.globs.map((g) => g.base)])].sort();
}

/** The same set with extra source files (a file named by a load error, so fixing it counts). */
export function withFiles(set: WatchSet, extra: string[]): WatchSet {
  const isIgnored = ignoredTest(set.ignored);
  const inside = extra.filter((p) => (p === set.root || p.startsWith(set.root + "/")) && !isIgnored(p));
  return { ...set, files: [...new Set([...set.files, ...inside])].sort(), code: [...new Set([...set.code, ...inside])].sort() };
}

function ignoredTest(ignored: string[]): (path: string) => boolean {
  // Staged outputs (`.pipe-tmp-*` next to the final paths) are pipe's own writes too.
  return (path) => ignored.some((i) => path === i || path.startsWith(i + "/")) || path.slice(path.lastIndexOf("/") + 1).startsWith(".pipe-tmp-");
}

const isInside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : dir + "/");

/** Answers "does this path count?" for one watch set. */
export class SourceMatcher {
  readonly set: WatchSet;
  readonly #files: Set<string>;
  readonly #code: Set<string>;
  readonly #loadDirs: Set<string>;
  readonly #globs: { g: GlobSource; match: (rel: string) => boolean; deep: boolean }[];
  readonly #isIgnored: (path: string) => boolean;

  constructor(set: WatchSet) {
    this.set = set;
    this.#files = new Set(set.files);
    this.#code = new Set(set.code);
    this.#loadDirs = new Set(set.loadDirs ?? []);
    this.#isIgnored = ignoredTest(set.ignored);
    this.#globs = set.globs.map((g) => {
      const rest = picomatch.scan(g.pattern).glob;
      return { g, match: picomatch(g.pattern, { dot: false }), deep: rest.includes("/") || rest.includes("**") };
    });
  }

  /** True for paths pipe writes itself (outputs, `.pipe/`, the compile cache). */
  isIgnored(path: string): boolean {
    return this.#isIgnored(path);
  }

  /** True when a change at `path` is a change to a source of the watched targets. */
  isSource(path: string): boolean {
    if (this.#isIgnored(path)) return false;
    if (this.#files.has(path) || this.#listed(path)) return true;
    if (this.set.dirs.some((d) => isInside(path, d))) return true;
    return this.#globs.some(({ g, match }) => path.startsWith(g.base === "/" ? "/" : g.base + "/") && this.#globAllows(path) && match(this.#rel(path)));
  }

  /** True for the Pipelinefile, its local modules, and what its load read or listed. */
  isCode(path: string): boolean {
    return this.#code.has(path) || (this.#listed(path) && !this.#isIgnored(path));
  }

  /** An entry of a folder the Pipelinefile listed while loading, or that folder itself (its listing changed). */
  #listed(path: string): boolean {
    return this.#loadDirs.has(posix.dirname(path)) || this.#loadDirs.has(path);
  }

  /**
   * Whether the watcher should descend into directory `dir` (false prunes it): it is a watch
   * root, inside a directory input, or inside a glob base where the glob can match below it.
   */
  shouldDescend(dir: string): boolean {
    if (this.#isIgnored(dir)) return false;
    if (this.set.dirs.some((d) => isInside(dir, d) || isInside(d, dir))) return true;
    if ((this.set.loadDirs ?? []).some((d) => isInside(d, dir))) return true;
    for (const { g, deep } of this.#globs) {
      if (isInside(g.base, dir)) return true;
      if (!deep || !isInside(dir, g.base)) continue;
      const below = dir.slice(g.base.length + 1).split("/");
      // dot: false — a glob never matches inside a dot folder unless its base names it.
      if (below.some((s) => s.startsWith("."))) continue;
      if (this.#globAllows(dir + "/")) return true;
    }
    return this.#files.has(dir);
  }

  #rel(path: string): string {
    return posix.relative(this.set.root, path);
  }

  #globAllows(path: string): boolean {
    const rel = this.#rel(path) + (path.endsWith("/") ? "/" : "");
    return !GLOB_EXCLUDED.some((x) => rel.startsWith(x));
  }
}
