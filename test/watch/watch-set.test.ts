import { test } from "node:test";
import assert from "node:assert/strict";
import { globSource, pipelinefileOnly, SourceMatcher, watchRoots, watchSetOf, withFiles } from "../../src/watch/watch-set.ts";
import { graphOf, SAMPLE } from "./graphs.ts";

const code = ["/p/Pipelinefile.ts", "/p/recipes/model.ts"];
const graph = graphOf("/p", SAMPLE, { "data/extra/*.csv": ["data/extra/b.csv", "data/extra/a.csv"] });
const setFor = (selected: string[]) => watchSetOf({ root: "/p", stateDir: "/p/.pipe", graph, selected, code });

test("the watch set holds the sources of the selected targets and their dependencies, and the code", () => {
  assert.deepEqual(setFor(["model"]), {
    root: "/p",
    files: ["/p/Pipelinefile.ts", "/p/data/raw.csv", "/p/params.json", "/p/recipes/model.ts"],
    code: ["/p/Pipelinefile.ts", "/p/recipes/model.ts"],
    dirs: [],
    globs: [{ base: "/p/data/extra", pattern: "data/extra/*.csv", matches: ["/p/data/extra/a.csv", "/p/data/extra/b.csv"] }],
    // Every target's outputs, selected or not: a manual `pipe build` may write them.
    ignored: ["/p/.pipe", "/p/build/clean.csv", "/p/build/model.json", "/p/node_modules/.cache", "/p/out/check.txt", "/p/out/mark.txt", "/p/site"],
    loadDirs: [],
  });
});

test("what the Pipelinefile read or listed while loading reloads it: files read are code, a listed folder's entries are too (not deeper)", () => {
  const set = watchSetOf({ root: "/p", stateDir: "/p/.pipe", graph, selected: ["model"], code, loadFiles: ["/p/config.json", "/etc/hosts", "/p/.pipe/x"], loadDirs: ["/p/data/shards", "/elsewhere"] });
  assert.deepEqual(set.loadDirs, ["/p/data/shards"], "only folders inside the project");
  assert.ok(set.code.includes("/p/config.json") && !set.code.includes("/etc/hosts") && !set.code.includes("/p/.pipe/x"));
  assert.ok(watchRoots(set).includes("/p/data/shards"));
  const m = new SourceMatcher(set);
  for (const p of ["/p/config.json", "/p/data/shards/s3.txt", "/p/data/shards/sub"]) {
    assert.ok(m.isSource(p) && m.isCode(p), p);
  }
  assert.equal(m.isSource("/p/data/shards/sub/deeper.txt"), false, "a listing does not see inside its subfolders");
  assert.equal(m.isCode("/p/data/shards/.pipe-tmp-x"), false, "pipe's own staged files never count");
  assert.ok(m.shouldDescend("/p/data") && m.shouldDescend("/p/data/shards"));
});

test("directory inputs are watched whole; unselected targets' sources are not watched", () => {
  const set = setFor(["site", "mark"]);
  assert.deepEqual(set.dirs, ["/p/assets"]);
  assert.deepEqual(set.files, ["/p/Pipelinefile.ts", "/p/recipes/model.ts", "/p/sentinel.txt"]);
  assert.deepEqual(set.globs, []);
  assert.deepEqual(watchRoots(set), ["/p/Pipelinefile.ts", "/p/assets", "/p/recipes/model.ts", "/p/sentinel.txt"]);
});

test("another target's output read as a file, or matched by a glob, is not a source", () => {
  const g = graphOf("/p", {
    make: { inputs: ["in.txt"], outputs: ["data/made.csv"] },
    use: { inputs: ["data/made.csv", "data/*.csv"], outputs: ["out.txt"] },
  }, { "data/*.csv": ["data/a.csv", "data/made.csv"] });
  const set = watchSetOf({ root: "/p", stateDir: "/p/.pipe", graph: g, selected: ["use"], code: [] });
  assert.deepEqual(set.files, ["/p/in.txt"]);
  assert.deepEqual(set.globs[0].matches, ["/p/data/a.csv"]);
  assert.equal(new SourceMatcher(set).isSource("/p/data/made.csv"), false);
});

test("the matcher answers which changed paths count", () => {
  const m = new SourceMatcher(setFor(["model", "site"]));
  const cases: [string, boolean][] = [
    ["/p/data/raw.csv", true],
    ["/p/params.json", true],
    ["/p/recipes/model.ts", true],
    ["/p/data/extra/new.csv", true], // a new file matching the glob
    ["/p/data/extra/.hidden.csv", false], // globs never match dot files
    ["/p/data/extra/notes.txt", false],
    ["/p/data/extra/sub/deep.csv", false],
    ["/p/assets/img/logo.png", true], // anywhere inside a directory input
    ["/p/assets", true],
    ["/p/site/index.html", false], // inside a directory output
    ["/p/build/clean.csv", false],
    ["/p/.pipe/records", false],
    ["/p/flag.txt", false], // a source of an unselected target
  ];
  for (const [path, want] of cases) assert.equal(m.isSource(path), want, path);
  assert.equal(m.isCode("/p/recipes/model.ts"), true);
  assert.equal(m.isCode("/p/data/raw.csv"), false);
});

test("a leading ./ in a glob is ignored, and a glob at the root watches the root", () => {
  assert.deepEqual(globSource("/p", "./data/*.csv", []), { base: "/p/data", pattern: "data/*.csv", matches: [] });
  assert.deepEqual(globSource("/p", "*.csv", []).base, "/p");
});

test("before the Pipelinefile ever loaded, any code file in the project may be one of its modules", () => {
  const set = pipelinefileOnly("/p", "/p/Pipelinefile.ts");
  const m = new SourceMatcher(set);
  assert.equal(m.isSource("/p/Pipelinefile.ts"), true);
  assert.equal(m.isSource("/p/recipes/helpers.ts"), true);
  assert.equal(m.isSource("/p/data/raw.csv"), false);
  assert.equal(m.isSource("/p/node_modules/x/index.js"), false);
  assert.equal(m.isSource("/p/.pipe/compiled/Pipelinefile.js"), false);
  assert.equal(m.shouldDescend("/p/node_modules"), false);
  assert.equal(m.shouldDescend("/p/.git"), false);
  assert.equal(m.shouldDescend("/p/recipes"), true);
});

test("files named by a load error are added when inside the project and not pipe's own", () => {
  const set = withFiles(setFor(["mark"]), ["/p/recipes/new.ts", "/elsewhere/x.ts", "/p/.pipe/compiled/y.js"]);
  assert.deepEqual(set.files, ["/p/Pipelinefile.ts", "/p/recipes/model.ts", "/p/recipes/new.ts", "/p/sentinel.txt"]);
  assert.equal(new SourceMatcher(set).isCode("/p/recipes/new.ts"), true);
});
