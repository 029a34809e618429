// Part of `npm run build`, after tsc: bundles pipe's command line (dist/src/cli/main.js, the
// modules it loads on demand, the worker scripts) into a few files, in place. Node's loader
// resolves, reads, compiles and links every ES module one by one; a build that runs a recipe
// loaded about 80 of pipe's own, which was some 60 ms of a 360 ms `pipe build` with one changed
// input in a 10,000-target project. Without this step (plain `tsc`) pipe works the same, slower.
//
// What stays separate files, untouched:
//   - the API a Pipelinefile imports (dist/src/index.js and every module it loads): the
//     Pipelinefile and pipe must share one instance of it (the targets it registers, the
//     declaration sites), so the bundle imports those files by their own paths;
//   - packages from node_modules (node resolves them as before);
//   - the terminal view (dist/src/ui/ink/render.js), bundled on its own instead, with Ink, React
//     and their dependencies inside (see bundleInkView).
// The entry points keep their paths (tests and the launcher import them); code they share goes
// to dist/src/chunks/, one folder deep like the modules it comes from, so that URLs computed
// from import.meta.url ("../../../package.json", "../index.js") still name the same files. A
// module that computes a URL relative to its own folder ("./hash-worker.js") is an entry point
// itself, so it stays where it was; the build fails if a module's code would land at another
// folder depth than its own.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "dist", "src");
const posix = (p) => p.split(sep).join("/");
/** A path under dist/src, as "cli/main.js". */
const inSrc = (abs) => posix(relative(src, abs));

/** Where the bundle starts: the launcher's import, and the scripts that workers run. */
const ENTRIES = ["cli/main.js", "hash/hash-worker.js", "run/recipe-worker.js"];
/** Marks an import of a file that stays separate; rewritten to a relative path per output. */
const KEEP = "/__pipe_src__/";

/** The API's modules: dist/src/index.js and what it imports, found by bundling it. */
async function apiModules() {
  const r = await build({ absWorkingDir: root, entryPoints: [join(src, "index.js")], bundle: true, write: false, platform: "node", format: "esm", metafile: true, packages: "external", logLevel: "warning" });
  return new Set(Object.keys(r.metafile.inputs).map((p) => inSrc(join(root, p))));
}

/** Modules that read import.meta (URLs, paths relative to their own file): whether one names a file in its own folder. */
function metaUsers() {
  const found = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) {
        const text = readFileSync(p, "utf8");
        if (text.includes("import.meta")) found.set(inSrc(p), /["'`]\.\/[^"'`]*["'`]\s*,\s*import\.meta/.test(text));
      }
    }
  };
  walk(src);
  return found;
}

/** The Ink view: loaded only by \`pipe\` in a terminal, on demand, from ui/index.js. */
const INK_VIEW = "ui/ink/render.js";

/**
 * Bundles the Ink view with what it imports from node_modules, over tsc's output. Loading Ink
 * 6 and React from node_modules took about 300 ms (some 550 modules to resolve, read and link,
 * React's CommonJS scanned for exports), on each `pipe build` in a terminal; the one file loads
 * in about 80 ms. React's production build is chosen here (it reads NODE_ENV at load otherwise;
 * ui/index.ts still sets it for a tsc-only build). Ink's DEV=true switch (React devtools, a
 * package pipe does not ship) is cut: a user's DEV=true made Ink print an install hint into
 * pipe's view.
 *
 * The view's own files (dist/src/ui/) go inside; pipe's other modules it imports (util/) stay
 * files imported by path, by the view and by the main bundle alike, so that there is one
 * instance of each: util/signals.js holds the guards that show the cursor while Ctrl-C would
 * end pipe at once, and a copy of it in the view was a second, empty set. Returns those modules
 * (paths under dist/src) and the count of modules bundled.
 */
async function bundleInkView(write) {
  const file = join(src, INK_VIEW);
  const shared = new Set();
  const r = await build({
    absWorkingDir: root,
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    metafile: true,
    write,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
    // CommonJS inside (React) requires node's built-in modules.
    banner: { js: 'import { createRequire as __pipeRequire } from "node:module";\nconst require = __pipeRequire(import.meta.url);' },
    plugins: [
      {
        name: "ink-view",
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            const abs = join(a.resolveDir, a.path);
            const rel = inSrc(abs);
            if (rel.startsWith("..") || rel.startsWith("ui/")) return undefined;
            shared.add(rel);
            const spec = posix(relative(dirname(file), abs));
            return { path: spec.startsWith(".") ? spec : `./${spec}`, external: true };
          });
          b.onResolve({ filter: /^\.\/devtools\.js$/ }, (a) => ({ path: a.path, external: true }));
          b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]utils\.js$/ }, (a) => {
            const text = readFileSync(a.path, "utf8");
            const cut = text.replace("process.env['DEV'] === 'true'", "false");
            if (cut === text) throw new Error(`bundle: ${a.path} no longer reads process.env['DEV'] as expected; look at Ink's devtools switch again`);
            return { contents: cut, loader: "js" };
          });
        },
      },
    ],
  });
  return { shared, modules: Object.keys(r.metafile.inputs).length };
}

async function bundle(entries, api, write) {
  return build({
    absWorkingDir: root,
    entryPoints: entries.map((e) => join(src, e)),
    outdir: src,
    outbase: src,
    entryNames: "[dir]/[name]",
    chunkNames: "chunks/[name]-[hash]",
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    metafile: true,
    write,
    logLevel: "warning",
    plugins: [
      {
        name: "api-stays-separate",
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            const abs = join(a.resolveDir, a.path);
            const rel = inSrc(abs);
            return api.has(rel) ? { path: KEEP + rel, external: true } : undefined;
          });
        },
      },
    ],
  });
}

const api = await apiModules();
// The main bundle imports the view by its path, and the pipe modules the view shares with it.
const view = await bundleInkView(false);
const kept = new Set([...api, INK_VIEW, ...view.shared]);
rmSync(join(src, "chunks"), { recursive: true, force: true });
const readsMeta = metaUsers();
// A module reading import.meta whose code would land at another folder depth than its own
// becomes an entry point (which keeps its path); then the bundle is made again.
const depth = (p) => p.split("/").length;
const entries = new Set(ENTRIES);
let result;
for (;;) {
  result = await bundle([...entries], kept, false);
  const moved = new Set();
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    if (out.endsWith(".map")) continue;
    const o = inSrc(join(root, out));
    for (const input of Object.keys(meta.inputs)) {
      const i = inSrc(join(root, input));
      if (i.startsWith("..")) throw new Error(`bundle: ${input} is outside dist/src`);
      // "../x/y.js" from its URL names the same file from any folder of the same depth;
      // "./y.js" only from its own folder.
      if (readsMeta.has(i) && (depth(i) !== depth(o) || (readsMeta.get(i) && dirname(i) !== dirname(o)))) moved.add(i);
    }
  }
  if (moved.size === 0) break;
  for (const m of moved) {
    if (entries.has(m)) throw new Error(`bundle: entry point ${m} would change folder`);
    entries.add(m);
  }
}

for (const f of result.outputFiles) {
  let text = f.text;
  if (f.path.endsWith(".js")) {
    const up = posix(relative(dirname(f.path), src));
    text = text.split(KEEP).join(up === "" ? "./" : `${up}/`);
  }
  mkdirSync(dirname(f.path), { recursive: true });
  writeFileSync(f.path, text);
}
const chunks = result.outputFiles.filter((f) => f.path.endsWith(".js") && inSrc(f.path).startsWith("chunks/")).length;
await bundleInkView(true);
console.log(`bundle: ${entries.size} entry points, ${chunks} shared chunks, from ${Object.keys(result.metafile.inputs).length} modules (${api.size} API modules kept separate); the Ink view from ${view.modules} modules, sharing ${[...view.shared].join(", ")}`);
