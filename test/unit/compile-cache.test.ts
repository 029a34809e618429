// The Pipelinefile's compile cache: reused while nothing an import could resolve to changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePipelinefile } from "../../src/load/compile.ts";
import { initHasher } from "../../src/hash/xxh.ts";

test("new folders and non-module files beside the sources keep the compile; a module file that takes an import over does not", async () => {
  await initHasher();
  const root = mkdtempSync(join(tmpdir(), "pipe-compile-"));
  // As in a project that installed pipe: the cache is node_modules/.cache/pipe.
  mkdirSync(join(root, "node_modules"));
  mkdirSync(join(root, "lib"));
  writeFileSync(join(root, "lib", "index.ts"), `export const WORD = "dir";\n`);
  const pf = join(root, "Pipelinefile.ts");
  writeFileSync(pf, `import { WORD } from "./lib";\nexport const word = WORD;\n`);
  const compile = () => compilePipelinefile(root, pf, { write: true });
  const sources = (c: Awaited<ReturnType<typeof compile>>) => c.sources.map(([p]) => p.slice(root.length + 1)).sort();

  const first = await compile();
  assert.equal(first.compiledNow, true);
  assert.deepEqual(sources(first), ["Pipelinefile.ts", "lib/index.ts"]);
  assert.equal((await compile()).compiledNow, false, "unchanged: reused");

  // What a first build leaves at the root, and what a user adds that no import names.
  mkdirSync(join(root, ".pipe"));
  mkdirSync(join(root, "build"));
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "notes.md"), "# notes\n");
  writeFileSync(join(root, "data.csv"), "a,b\n");
  writeFileSync(join(root, "lib", "README.md"), "about lib\n");
  assert.equal((await compile()).compiledNow, false, "folders and non-module files cannot change a resolution");

  // `./lib` now resolves to lib.ts, ahead of the folder.
  writeFileSync(join(root, "lib.ts"), `export const WORD = "file";\n`);
  const again = await compile();
  assert.equal(again.compiledNow, true);
  assert.deepEqual(sources(again), ["Pipelinefile.ts", "lib.ts"]);
  assert.equal((await compile()).compiledNow, false);
});
