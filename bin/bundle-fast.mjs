// Part of `npm run build`, after tsc: bundles the no-op path (dist/src/cli/fast-noop.js and the
// modules it imports statically) into that one file. Loading a dozen small ES modules one by
// one was 8 ms of a 200 ms no-op of 10,000 targets (node's loader resolves, reads and links
// each); a single file loads in about one. Without this step (plain `tsc`) pipe works the same,
// a little slower.
//
// Dynamic imports stay separate files: they load only on the paths that need them (reading
// files again, the full build's reporters). The bundle must not hold state the rest of pipe
// shares: what it inlines is pure (argument parsing, the snapshot format, paths), and what it
// throws it catches itself. Every inlined module sits at dist/src/<folder>/, like the bundle,
// so the URLs they compute from import.meta.url (own-version.ts's package.json, snapshot.ts's
// main.js) resolve to the same files; the build fails when that stops holding.
import { build } from "esbuild";
import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = "dist/src/cli/fast-noop.js";
/** Dynamic imports worth inlining: small, pure, and loaded by every no-op. */
const INLINE = new Set(["../ui/mode.js"]);

const result = await build({
  absWorkingDir: root,
  entryPoints: [out],
  outfile: out,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
  plugins: [
    {
      name: "dynamic-imports-stay-separate",
      setup(b) {
        b.onResolve({ filter: /.*/ }, (a) => (a.kind === "dynamic-import" && !INLINE.has(a.path) ? { path: a.path, external: true } : undefined));
      },
    },
  ],
});

const wrong = Object.keys(result.metafile.inputs).filter((p) => !/^dist\/src\/[^/]+\/[^/]+\.js$/.test(p.split(sep).join("/")));
if (wrong.length) {
  console.error(`bundle-fast: ${out} would inline modules outside dist/src/<folder>/: ${wrong.join(", ")}\nkeep the no-op path's static imports inside pipe's own folders (or import them dynamically)`);
  process.exit(1);
}
console.log(`bundle-fast: ${relative(root, out)} (${Object.keys(result.metafile.inputs).length} modules)`);
