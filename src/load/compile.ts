/**
 * Compiles Pipelinefile.ts and the local modules it imports to plain ESM, once per content.
 *
 * Why not tsx: its start-up alone costs ~120 ms per `pipe` run (ecosystem.md §2, §10), and
 * `pipe` runs from git hooks. Here esbuild compiles each local module separately (so modules
 * keep their identity and their own source map), writes them to a cache folder keyed by the
 * content of every source, and later runs import the cached JS with plain node: a no-op start
 * pays only for reading and hashing the sources.
 *
 * Cache layout (`<cacheRoot>` is `node_modules/.cache/pipe` under the project root, or
 * `.pipe/compiled` when the project has no node_modules):
 *   <cacheRoot>/index-<pf hash>.json   { version, key, files: [[absPath, contentHash]...] }
 *   <cacheRoot>/<key>/manifest.json   ModuleInfo for every module
 *   <cacheRoot>/<key>/<rel>.mjs       compiled modules, relative imports rewritten to .mjs
 * The cache is derived data: deleting it changes no decision. It lives outside `.pipe/` so
 * read-only commands (status, why, graph) never write to the state folder.
 */
import { pipeVersion } from "../util/own-version.ts";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { isBuiltin } from "node:module";
import { pathToFileURL } from "node:url";
import { hashString } from "../hash/xxh.ts";
import { UserError, type Diagnostic } from "../util/errors.ts";
import { resolutionListing } from "./trace.ts";

const FORMAT = 5;

/** What the code hash needs to know about one local module. */
export interface ModuleInfo {
  /** Absolute path of the source (.ts/.js). */
  source: string;
  /** Path of the compiled file, relative to the cache key folder. */
  compiled: string;
  /** Hash of the module's normalised code (comments and formatting do not count). */
  normHash: string;
  /** Local modules it imports (absolute source paths). */
  deps: string[];
  /** Import bindings: local name -> source path (local), "pkg:<name>" (package) or "builtin:<name>" (node's own). */
  bindings: Record<string, string>;
  /** Packages it imports, by name. */
  packages: string[];
  /** True when it uses a dynamic import: precision cannot be established. */
  dynamic: boolean;
}

export interface Compiled {
  /** file URL of the compiled Pipelinefile. */
  entryUrl: string;
  /** Folder of the compiled modules. */
  dir: string;
  modules: Record<string, ModuleInfo>;
  /** Whether this load compiled (true) or reused the cache (false). */
  compiledNow: boolean;
  /** Every local source compiled: absolute path and hash of its text (the cache key's inputs). */
  sources: [string, string][];
}

interface IndexFile {
  version: number;
  key: string;
  files: [string, string][];
  /** The folders of the compiled sources, with their listings (see resolutionFolders). */
  dirs: [string, string][];
}

/**
 * What decides where an import resolves besides the sources' texts: the files beside them (a
 * new `lib.ts` next to `lib/index.ts` takes `./lib` over) and the project's package.json
 * (`imports`) and tsconfig.json (`paths`). A review found a cached compile kept the old module
 * after each of these changed (and the no-op snapshot then kept vouching for it). The two config
 * files count as sources (their texts are in the key and the snapshot holds them); the folders
 * are checked by listing.
 */
function configFiles(root: string): [string, string][] {
  const out: [string, string][] = [];
  for (const name of ["package.json", "tsconfig.json"]) {
    const text = readText(join(root, name));
    if (text !== undefined) out.push([join(root, name), hashString(text)]);
  }
  return out;
}

function resolutionFolders(files: [string, string][]): [string, string][] {
  const dirs = [...new Set(files.map(([p]) => dirname(p)))].sort();
  return dirs.map((d) => [d, resolutionListing(d) ?? "-"]);
}

/** The API module that `import ... from "pipefile"` means: the running pipe's own. */
const API_URL = new URL("../index.js", import.meta.url).href;

export function cacheRootFor(root: string): string {
  const nm = join(root, "node_modules");
  return existsSync(nm) ? join(nm, ".cache", "pipe") : join(root, ".pipe", "compiled");
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

/** Compiles (or reuses) the Pipelinefile at `pfPath`. Throws UserError on syntax errors. */
export async function compilePipelinefile(root: string, pfPath: string, options: { write: boolean }): Promise<Compiled> {
  const cacheRoot = cacheRootFor(root);
  // The cache under node_modules is not state: read-only commands may fill it too.
  if (!cacheRoot.startsWith(join(root, ".pipe"))) options = { write: true };
  const indexPath = join(cacheRoot, `index-${hashString(pfPath).slice(0, 16)}.json`);
  const salt = `${FORMAT}:${pipeVersion()}:${API_URL}`;
  const index = readText(indexPath);
  if (index) {
    try {
      const parsed = JSON.parse(index) as IndexFile;
      const fresh =
        parsed.version === FORMAT &&
        parsed.files.every(([p, h]) => {
          const text = readText(p);
          return text !== undefined && hashString(text) === h;
        }) &&
        // A config file that appeared since is in a listed folder (the root).
        parsed.dirs.every(([d, listing]) => (resolutionListing(d) ?? "-") === listing);
      const dir = join(cacheRoot, parsed.key);
      const manifest = fresh ? readText(join(dir, "manifest.json")) : undefined;
      if (fresh && manifest && parsed.key === keyOf(salt, parsed.files)) {
        const modules = JSON.parse(manifest) as Record<string, ModuleInfo>;
        return { entryUrl: pathToFileURL(join(dir, modules[pfPath].compiled)).href, dir, modules, compiledNow: false, sources: parsed.files };
      }
    } catch {
      // A corrupt index is only a cache miss.
    }
  }
  return compileFresh(root, pfPath, cacheRoot, indexPath, salt, options);
}

function keyOf(salt: string, files: [string, string][]): string {
  return hashString(salt + "\n" + files.map(([p, h]) => `${p}\t${h}`).join("\n")).slice(0, 24);
}

type Esbuild = typeof import("esbuild");

async function compileFresh(root: string, pfPath: string, cacheRoot: string, indexPath: string, salt: string, options: { write: boolean }): Promise<Compiled> {
  const esbuild: Esbuild = await import("esbuild");
  // 1. The module graph: a bundle pass with every package external, for its metafile only.
  let meta: import("esbuild").Metafile;
  try {
    const result = await esbuild.build({
      entryPoints: [pfPath],
      absWorkingDir: root,
      bundle: true,
      packages: "external",
      write: false,
      metafile: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      plugins: [{ name: "pipefile-external", setup: (b) => b.onResolve({ filter: /^pipefile(\/.*)?$/ }, (a) => ({ path: a.path, external: true })) }],
    });
    meta = result.metafile;
  } catch (e) {
    throw compileError(e, root);
  }
  const files: [string, string][] = [];
  const modules: Record<string, ModuleInfo> = {};
  const outputs: [string, string][] = [];
  const sources = Object.keys(meta.inputs);
  const relOf = (abs: string) => {
    const rel = relative(root, abs);
    const inside = rel.startsWith("..") || isAbsolute(rel) ? join("_ext", abs.replace(/[:\\]/g, "_")) : rel;
    // A JSON module keeps its name: node imports it as JSON (`with { type: "json" }`).
    return abs.endsWith(".json") ? inside : inside.replace(/\.[cm]?[jt]sx?$/, "") + ".mjs";
  };
  for (const input of sources) {
    const abs = resolve(root, input);
    const text = readFileSync(abs, "utf8");
    files.push([abs, hashString(text)]);
    const imports = meta.inputs[input].imports;
    const rewrite = new Map<string, string>();
    /** Each local import's specifier as written -> the file esbuild resolved it to. */
    const resolved = new Map<string, string>();
    const deps: string[] = [];
    const packages = new Set<string>();
    let dynamic = false;
    for (const imp of imports) {
      if ((imp.kind === "dynamic-import" || imp.kind === "require-call") && !imp.external) dynamic = true;
      if (imp.external) {
        // Externals marked by a plugin carry no `original`: their path is the specifier.
        const spec = imp.original ?? imp.path;
        if (/^pipefile(\/|$)/.test(spec)) rewrite.set(spec, API_URL);
        else if (!isBuiltin(spec) && !spec.startsWith(".")) packages.add(packageName(spec));
      } else {
        if (!imp.original) continue;
        const depAbs = resolve(root, imp.path);
        deps.push(depAbs);
        resolved.set(imp.original, depAbs);
        let rel = relative(dirname(relOf(abs)), relOf(depAbs));
        if (!rel.startsWith(".")) rel = "./" + rel;
        rewrite.set(imp.original, rel);
      }
    }
    if (abs.endsWith(".json")) {
      // Data, not code: copied as it is; its hash is of the parsed value (formatting never counts).
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new UserError({ message: `${relative(root, abs)} is not valid JSON: ${(e as Error).message}`, location: { file: abs, line: 1, column: 1 }, hint: "fix the file; the Pipelinefile imports it" });
      }
      modules[abs] = { source: abs, compiled: relOf(abs), normHash: hashString(JSON.stringify(value)), deps: [], bindings: {}, packages: [], dynamic: false };
      outputs.push([relOf(abs), text]);
      continue;
    }
    const loader = /\.tsx$/.test(abs) ? "tsx" : /\.[cm]?ts$/.test(abs) ? "ts" : /\.jsx$/.test(abs) ? "jsx" : "js";
    const url = pathToFileURL(abs).href;
    let code: string;
    let norm: string;
    try {
      code = (
        await esbuild.transform(text, {
          loader,
          format: "esm",
          target: "node20",
          // Keep `with { type: "json" }`: esbuild drops import attributes for node20 otherwise.
          supported: { "import-attributes": true },
          // `// @license` and `/*! ... */` comments are kept by default: the code hash, which
          // reads this code, then counted an edit of one as a change of the recipe.
          legalComments: "none",
          sourcemap: "inline",
          sourcefile: abs,
          define: { "import.meta.url": JSON.stringify(url), "import.meta.dirname": JSON.stringify(dirname(abs)), "import.meta.filename": JSON.stringify(abs) },
        })
      ).code;
      // The normalised form the code hash uses: no comments, no formatting, no absolute paths.
      norm = (await esbuild.transform(text, { loader, format: "esm", target: "node20", minifyWhitespace: true, legalComments: "none" })).code;
    } catch (e) {
      throw compileError(e, root);
    }
    // A dynamic import of a package is fine (its version counts); of a local module, or with a
    // computed specifier, the module graph is not known: precision cannot be established.
    // (Checked on the comment-free normalised code.)
    if (/\bimport\s*\(\s*[^"'`\s)]/.test(norm) || /\brequire\s*\(/.test(norm)) dynamic = true;
    code = code.replace(/(\bfrom\s*|\bimport\s*\(?\s*)"([^"]+)"/g, (m, pre: string, spec: string) => {
      const to = rewrite.get(spec);
      return to === undefined ? m : `${pre}${JSON.stringify(to)}`;
    });
    modules[abs] = {
      source: abs,
      compiled: relOf(abs),
      normHash: hashString(norm),
      deps,
      bindings: importBindings(code, rewrite, resolved, abs),
      packages: [...packages].sort(),
      dynamic,
    };
    outputs.push([relOf(abs), code]);
  }
  files.push(...configFiles(root));
  files.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const key = keyOf(salt, files);
  let dir = join(cacheRoot, key);
  if (options.write && !existsSync(join(dir, "manifest.json"))) {
    // Write into a temp folder and rename it into place, so a reader never sees half a cache.
    const tmp = join(cacheRoot, `.tmp-${process.pid}-${Date.now()}`);
    for (const [rel, code] of outputs) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), code);
    }
    writeFileSync(join(tmp, "manifest.json"), JSON.stringify(modules));
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process won the race: same content
    }
  } else if (!options.write) {
    // A read-only command in a project without node_modules: compile into a private temp folder
    // (only `pipefile` and node: builtins can be imported there anyway), removed on exit.
    dir = join(tmpdir(), `pipe-ro-${process.pid}-${Date.now()}`);
    for (const [rel, code] of outputs) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), code);
    }
    const cleanup = dir;
    process.once("exit", () => rmSync(cleanup, { recursive: true, force: true }));
  }
  if (options.write) {
    const idx: IndexFile = { version: FORMAT, key, files, dirs: resolutionFolders(files) };
    const tmpIdx = `${indexPath}.${process.pid}.tmp`;
    writeFileSync(tmpIdx, JSON.stringify(idx));
    renameSync(tmpIdx, indexPath);
    pruneCompiled(cacheRoot, Date.now());
  }
  return { entryUrl: pathToFileURL(join(dir, modules[pfPath].compiled)).href, dir, modules, compiledNow: true, sources: files };
}

/** Compiled versions kept besides the ones an index names: the newest few... */
const KEEP_NEWEST = 8;
/** ...and every one made within a day: a long build's recipe workers may still import from it. */
const KEEP_YOUNGER_MS = 24 * 60 * 60 * 1000;
/** Temps of a compile that died before its rename; a live compile's are seconds old. */
const TEMP_OLDER_MS = 60 * 60 * 1000;

/**
 * Bounds the compile cache, which gains a folder at every edit of the Pipelinefile or a local
 * module (`pipe watch` while editing: hundreds a day). Runs only after a compile wrote a new
 * version. Keeps what any index names (every Pipelinefile of this root), the KEEP_NEWEST newest
 * and everything younger than a day; removes older versions and stale temps. Only names this
 * module makes are touched. Exported for tests.
 */
export function pruneCompiled(cacheRoot: string, now: number): void {
  let names: string[];
  try {
    names = readdirSync(cacheRoot);
  } catch {
    return;
  }
  const named = new Set<string>();
  for (const n of names) {
    if (!/^index-[0-9a-f]+\.json$/.test(n)) continue;
    try {
      named.add((JSON.parse(readFileSync(join(cacheRoot, n), "utf8")) as IndexFile).key);
    } catch {
      // Unreadable: it names nothing.
    }
  }
  const versions: { name: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const temp = /^\.tmp-\d+-\d+$/.test(name) || /^index-[0-9a-f]+\.json\.\d+\.tmp$/.test(name);
    if (!temp && (!/^[0-9a-f]{24}$/.test(name) || named.has(name))) continue;
    let mtimeMs: number;
    try {
      mtimeMs = lstatSync(join(cacheRoot, name)).mtimeMs;
    } catch {
      continue;
    }
    if (!temp) versions.push({ name, mtimeMs });
    else if (now - mtimeMs > TEMP_OLDER_MS) rmSync(join(cacheRoot, name), { recursive: true, force: true });
  }
  versions.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const v of versions.slice(KEEP_NEWEST)) {
    if (now - v.mtimeMs > KEEP_YOUNGER_MS) rmSync(join(cacheRoot, v.name), { recursive: true, force: true });
  }
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * Local names bound by import statements of compiled code (esbuild prints one per line). A local
 * import names the file esbuild resolved (`./lib/a.js` for lib/a.ts, `./lib` for lib/index.ts,
 * `#lib/a` through package.json imports, a tsconfig `paths` alias): joined to the importer's
 * folder as written, such specifiers named no file, and the module's code went uncounted.
 */
function importBindings(code: string, rewrite: Map<string, string>, resolved: Map<string, string>, abs: string): Record<string, string> {
  const out: Record<string, string> = {};
  const backToSource = new Map<string, string>();
  for (const [orig, rel] of rewrite) backToSource.set(rel, orig);
  const re = /^import\s+(.+?)\s+from\s*"([^"]+)"(?:\s*(?:with|assert)\s*\{[^}]*\})?;?$/gm;
  for (const m of code.matchAll(re)) {
    const clause = m[1];
    const spec = m[2];
    const orig = backToSource.get(spec) ?? spec;
    let target: string;
    const local = resolved.get(orig) ?? (spec.startsWith(".") ? resolve(dirname(abs), orig) : undefined);
    if (local !== undefined) {
      target = local;
    } else if (isBuiltin(orig)) {
      // node's own modules (`node:path`, `fs`) are neither local code nor packages: they come
      // with node. (They were counted as packages "node:path@?", and `pipe why` then blamed a
      // recipe's edit that added such an import on that "package".)
      target = `builtin:${orig}`;
    } else target = `pkg:${/^pipefile(\/|$)/.test(orig) || spec === API_URL ? "pipefile" : packageName(orig)}`;
    for (const name of bindingNames(clause)) out[name] = target;
  }
  return out;
}

function bindingNames(clause: string): string[] {
  const names: string[] = [];
  const ns = /\*\s+as\s+([\w$]+)/.exec(clause);
  if (ns) names.push(ns[1]);
  const braces = /\{([^}]*)\}/.exec(clause);
  if (braces) {
    for (const part of braces[1].split(",")) {
      const p = part.trim();
      if (!p) continue;
      const as = /\bas\s+([\w$]+)$/.exec(p);
      names.push(as ? as[1] : p.replace(/^type\s+/, ""));
    }
  }
  const def = /^([\w$]+)\s*(,|$)/.exec(clause.trim());
  if (def) names.push(def[1]);
  return names;
}

function compileError(e: unknown, root: string): UserError {
  const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number; lineText: string } | null }[] }).errors;
  if (!errors?.length) return new UserError({ message: `could not compile the Pipelinefile: ${(e as Error).message}` });
  const diags: Diagnostic[] = errors.map((er) => {
    const noExport = /^No matching export in "([^"]+)" for import "([^"]+)"/.exec(er.text);
    return (
      unresolved(er, root) ?? {
        message: `Pipelinefile does not compile: ${er.text}`,
        location: er.location ? { file: resolve(root, er.location.file), line: er.location.line, column: er.location.column + 1 } : undefined,
        details: er.location ? [`${er.location.line} | ${er.location.lineText}`, `${" ".repeat(String(er.location.line).length)} | ${" ".repeat(er.location.column)}^`] : undefined,
        hint: noExport ? `${noExport[1]} exports no ${JSON.stringify(noExport[2])}: export it there, or import a name it exports` : "fix the syntax error above",
      }
    );
  });
  return new UserError(diags);
}

/** An import of a local module that does not exist (not a syntax error: the path is wrong). */
function unresolved(er: { text: string; location?: { file: string; line: number; column: number; lineText: string } | null }, root: string): Diagnostic | undefined {
  const m = /^Could not resolve "([^"]+)"$/.exec(er.text);
  if (!m || !er.location) return undefined;
  const spec = m[1];
  const importer = resolve(root, er.location.file);
  const local = spec.startsWith(".") || isAbsolute(spec);
  const target = local ? relative(root, resolve(dirname(importer), spec)) || "." : spec;
  return {
    message: local ? `cannot import ${JSON.stringify(spec)}: there is no file ${target}` : `cannot import ${JSON.stringify(spec)}: it cannot be resolved`,
    location: { file: importer, line: er.location.line, column: er.location.column + 1 },
    details: [`${er.location.line} | ${er.location.lineText}`, `${" ".repeat(String(er.location.line).length)} | ${" ".repeat(er.location.column)}^`],
    hint: local ? "check the path (it is relative to the importing file's folder) and the file name, or create the file" : `install the package (npm install ${spec}), or check the name`,
  };
}
