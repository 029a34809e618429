// `pipe hooks` in real git repositories, and `pipe graph` through the CLI (rendered by the real
// Graphviz `dot` when it is installed; .ci/run installs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { finished, Project } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

function git(p: Project, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync("git", args, { cwd: p.dir, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } });
  return { code: r.status, out: r.stdout + r.stderr };
}

const hasDot = spawnSync("dot", ["-V"]).status === 0;

/** What `npm install --save-dev pipefile` makes besides the package: node_modules/.bin/pipe. */
function npmBin(p: Project): void {
  mkdirSync(p.path("node_modules/.bin"), { recursive: true });
  symlinkSync("../pipefile/bin/pipe.js", p.path("node_modules/.bin/pipe"));
}

test("git hooks: a stale commit is blocked, a fresh one passes, checkout restores recorded outputs without running recipes", async () => {
  const p = new Project({
    ".gitignore": "build/\nnode_modules/\n.pipe/\nruns.log\n",
    "data/a.txt": "one two three\n",
    "Pipelinefile.ts":
      HEAD + `export const words = target({ inputs: ["data/a.txt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh\`sh -c \${"echo run >> runs.log; wc -w < \\"$0\\" > \\"$1\\""} \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  try {
    assert.equal(git(p, "init", "-q").code, 0);
    git(p, "add", "-A");
    assert.equal(git(p, "commit", "-qm", "v1").code, 0);
    const inst = await p.run(["hooks", "install"]);
    assert.equal(inst.code, 0, inst.stderr);
    assert.equal((await p.run(["build"])).code, 0);
    assert.equal(p.read("build/words.txt").trim(), "3");

    // A commit whose staged input leaves a target stale is blocked, with the fix.
    p.write({ "data/a.txt": "one two three four\n" });
    git(p, "add", "data/a.txt");
    const blocked = git(p, "commit", "-qm", "v2");
    assert.notEqual(blocked.code, 0, "the commit is blocked");
    assert.match(blocked.out, /pipe: 1 target is stale for this commit:\n\s+"words": input data\/a.txt changed/);
    // Linked, not installed by npm (no node_modules/.bin/pipe): `npx pipe` would fetch npm's
    // unrelated "pipe", so the fix runs this pipe itself.
    assert.match(blocked.out, /run: node \S+\/bin\/pipe\.js build words\n/);
    assert.doesNotMatch(blocked.out, /npx pipe/);
    npmBin(p);
    assert.match(git(p, "commit", "-qm", "v2").out, /run: npx pipe build words/);
    // After building, the same commit passes.
    assert.equal((await p.run(["build"])).code, 0);
    const ok = git(p, "commit", "-qm", "v2");
    assert.equal(ok.code, 0, ok.out);
    assert.equal(p.read("build/words.txt").trim(), "4");

    // Checking out v1 restores v1's recorded output from the cache; no recipe runs. An output
    // edited by hand is kept first, and the hook says where (it used to drop that warning).
    const runsBefore = p.read("runs.log");
    p.write({ "build/words.txt": "MY HAND EDIT\n" });
    const co = git(p, "checkout", "-q", "HEAD~1");
    assert.equal(co.code, 0, co.out);
    assert.equal(p.read("build/words.txt").trim(), "3", "the output recorded for the checked-out state");
    const kept = /pipe: warning: output build\/words\.txt of "words" was changed outside pipe; pipe kept those bytes before replacing them \(to get them back: cp (\S+) build\/words\.txt/.exec(co.out);
    assert.ok(kept, co.out);
    assert.equal(p.read(kept[1]), "MY HAND EDIT\n");
    assert.equal(p.read("runs.log"), runsBefore, "no recipe ran");
    const st = await p.run(["status", "--exit-code"]);
    assert.equal(st.code, 0, st.stdout);
    // Uninstall removes pipe's hooks.
    assert.equal((await p.run(["hooks", "uninstall"])).code, 0);
    assert.equal(existsSync(p.path(".git/hooks/pre-commit")), false);
  } finally {
    p.remove();
  }
});

test("pre-commit blocks a commit that removes a globbed input or renames it out of the glob; in a subfolder project the fix starts with a cd", async () => {
  const p = new Project({
    ".gitignore": "build/\nnode_modules/\n.pipe/\n",
    "ml/data/a.csv": "1\n",
    "ml/data/b.csv": "2\n",
    "ml/data/c.csv": "3\n",
    "ml/Pipelinefile.ts": HEAD + `export const merged = target({ inputs: ["data/*.csv"], outputs: ["build/merged.csv"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n`,
  });
  const ml = new Project({}, p.path("ml"), { link: true });
  npmBin(ml);
  try {
    assert.equal(git(p, "init", "-q").code, 0);
    git(p, "add", "-A");
    assert.equal(git(p, "commit", "-qm", "v1").code, 0);
    assert.equal((await ml.run(["hooks", "install"])).code, 0);
    assert.equal((await ml.run(["build"])).code, 0);

    assert.equal(git(p, "rm", "-q", "ml/data/b.csv").code, 0);
    const removed = git(p, "commit", "-qm", "rm b");
    assert.notEqual(removed.code, 0, "removing an input the last build read is blocked");
    assert.match(removed.out, /"merged": input data\/b\.csv removed/);
    assert.match(removed.out, /run: cd ml && npx pipe build merged/, "the fix works from the work tree's top, where git runs");
    assert.equal((await ml.run(["build"])).code, 0);
    assert.equal(git(p, "commit", "-qm", "rm b").code, 0);

    assert.equal(git(p, "mv", "ml/data/c.csv", "ml/data/c.txt").code, 0);
    const renamed = git(p, "commit", "-qm", "mv c");
    assert.notEqual(renamed.code, 0, "renaming an input out of its glob is blocked");
    assert.match(renamed.out, /"merged": input data\/c\.csv removed/);
  } finally {
    p.remove();
  }
});

test("two projects in one repository: the second's hooks install is refused naming the first (it silently replaced them), and uninstall leaves the other project's hooks alone", async () => {
  const pf = HEAD + `export const words = target({ inputs: ["data/a.txt"], outputs: ["build/w.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
  const p = new Project({ ".gitignore": "build/\nnode_modules/\n.pipe/\n", "proj/data/a.txt": "1\n", "proj/Pipelinefile.ts": pf, "proj 2/data/a.txt": "1\n", "proj 2/Pipelinefile.ts": pf });
  const one = new Project({}, p.path("proj"), { link: true });
  const two = new Project({}, p.path("proj 2"), { link: true });
  try {
    assert.equal(git(p, "init", "-q").code, 0);
    assert.equal((await one.run(["hooks", "install"])).code, 0);
    const hook = () => execFileSync("cat", [p.path(".git/hooks/pre-commit")], { encoding: "utf8" });
    const first = hook();
    const r = await two.run(["hooks", "install"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /error: ".*pre-commit" is pipe's hook for the project in "proj"; a repository has one hooks folder, so one project's hooks: left it alone\n  hint: to move the hooks to this project, uninstall them there first \(cd proj from the top, then pipe hooks uninstall\)/);
    assert.equal(hook(), first, "the first project's hook is untouched");
    const u = await two.run(["hooks", "uninstall"]);
    assert.match(u.stdout + u.stderr, /is pipe's hook for the project in "proj", not this one; left it alone/);
    assert.equal(hook(), first);
    // The first project's own uninstall removes them; then the second installs (its folder has a space: quoted).
    assert.equal((await one.run(["hooks", "uninstall"])).code, 0);
    assert.equal(existsSync(p.path(".git/hooks/pre-commit")), false);
    assert.equal((await two.run(["hooks", "install"])).code, 0);
    assert.match(hook(), /^cd 'proj 2' \|\| exit/m);
    assert.equal((await two.run(["hooks", "install"])).code, 0, "installing again from the same project changes nothing");
    const again = await one.run(["hooks", "install"]);
    assert.match(again.stdout + again.stderr, /pipe's hook for the project in "proj 2"/);
  } finally {
    p.remove();
  }
});

test("pre-commit with many stale targets prints a short build command: a bare build when the default targets include them", async () => {
  // Before: "run: npx pipe build" and every id, one line growing with the graph (60 KB for 10,000).
  const p = new Project({
    ".gitignore": "build/\nnode_modules/\n.pipe/\n",
    "data/a.txt": "one\n",
    "Pipelinefile.ts":
      HEAD +
      `export const all = Array.from({ length: 40 }, (_, i) => target({ name: \`a_rather_long_target_name_\${i}\`, inputs: ["data/a.txt"], outputs: [\`build/\${i}.txt\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` }));\n` +
      `export default all;\n`,
  });
  npmBin(p);
  try {
    assert.equal(git(p, "init", "-q").code, 0);
    assert.equal((await p.run(["hooks", "install"])).code, 0);
    assert.equal((await p.run(["build", "-q"])).code, 0);
    p.write({ "data/a.txt": "two\n" });
    git(p, "add", "-A");
    const blocked = git(p, "commit", "-qm", "v1");
    assert.notEqual(blocked.code, 0, "the commit is blocked");
    assert.match(blocked.out, /pipe: 40 targets are stale for this commit:\n/);
    assert.match(blocked.out, /\n {2}… and 20 more\nrun: npx pipe build\n {2}\(the default targets include all 40\)\n/);
    for (const line of blocked.out.split("\n")) assert.ok(line.length < 200, line);
  } finally {
    p.remove();
  }
});

test("git hooks installed with --file use that Pipelinefile; a Pipelinefile removed later blocks no commit", async () => {
  const p = new Project({
    ".gitignore": "build/\nnode_modules/\n.pipe/\n",
    "data/a.txt": "one two\n",
    "README.md": "notes\n",
    "alt.ts": HEAD + `export const words = target({ inputs: ["data/a.txt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh\`wc -w \${inputs[0]} > \${outputs[0]}\` });\n`,
  });
  try {
    assert.equal(git(p, "init", "-q").code, 0);
    git(p, "add", "-A");
    assert.equal(git(p, "commit", "-qm", "v1").code, 0);
    assert.equal((await p.run(["build", "-f", "alt.ts"])).code, 0);
    const inst = await p.run(["hooks", "install", "-f", "alt.ts"]);
    assert.equal(inst.code, 0, inst.stderr);
    // Nothing staged, and a staged file no target reads: both pass (they failed: the hooks looked
    // for Pipelinefile.ts).
    const empty = git(p, "commit", "--allow-empty", "-qm", "empty");
    assert.equal(empty.code, 0, empty.out);
    p.write({ "README.md": "more notes\n" });
    git(p, "add", "README.md");
    const readme = git(p, "commit", "-qm", "readme");
    assert.equal(readme.code, 0, readme.out);
    // A staged input that leaves a target of alt.ts stale is still blocked.
    p.write({ "data/a.txt": "one two three\n" });
    git(p, "add", "data/a.txt");
    const blocked = git(p, "commit", "-qm", "v2");
    assert.notEqual(blocked.code, 0, "the commit is blocked");
    assert.match(blocked.out, /"words": input data\/a.txt changed/);
    // With the Pipelinefile gone, nothing can be stale: the commit passes and the hook says why.
    git(p, "rm", "-q", "--cached", "alt.ts");
    rmSync(p.path("alt.ts"));
    const gone = git(p, "commit", "-qm", "no pipeline");
    assert.equal(gone.code, 0, gone.out);
    assert.match(gone.out, /pipe: skipping the pre-commit hook: .*alt\.ts.*pipe hooks uninstall/);
  } finally {
    p.remove();
  }
});

function chain(n: number): string {
  const lines = [HEAD.trim(), `const ts = [];`];
  lines.push(`for (let i = 0; i < ${n}; i++) ts.push(target({ name: \`t\${i}\`, inputs: i === 0 ? ["data/in.txt"] : [\`build/t\${i - 1}.txt\`], outputs: [\`build/t\${i}.txt\`], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` }));`);
  lines.push(`export const all = ts;`, `export default [ts[ts.length - 1]];`);
  return lines.join("\n") + "\n";
}

test("pipe graph: text, DOT rendered by Graphviz, Mermaid, JSON; read-only", async (t) => {
  const p = new Project({
    "data/in.txt": "x\n",
    "Pipelinefile.ts":
      HEAD +
      `export const clean = target({ inputs: ["data/in.txt"], outputs: ["build/clean.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      `export const trend = family({ key: { attribute: param.enum(["a", "b"]) }, inputs: { clean }, outputs: { svg: "build/{attribute}.svg" }, run: (c) => sh\`cp \${c.inputs.clean[0]} \${c.outputs.svg}\` });\n` +
      `export const report = target({ params: { scale: param.int("scale", { default: 1 }) }, inputs: [trend({ attribute: "a" }), trend({ attribute: "b" })], outputs: ["build/report.html"], run: (c) => sh\`echo \${c.params.scale} \${c.inputs} > \${c.outputs[0]}\` });\n` +
      `export default [report];\n`,
  });
  try {
    await p.run(["build", "trend[attribute=a]"]);
    const before = p.snapshot(".pipe");
    const text = await p.run(["graph"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /report/);
    assert.match(text.stdout, /trend\[attribute=b\]/);
    const json = await p.run(["graph", "--json"]);
    const view = JSON.parse(json.stdout);
    const targets = view.targets as { id: string; deps: string[]; state: string; family?: string }[];
    assert.deepEqual(targets.map((x) => x.id).sort(), ["clean", "report", "trend[attribute=a]", "trend[attribute=b]"]);
    assert.deepEqual(targets.find((x) => x.id === "report")!.deps, ["trend[attribute=a]", "trend[attribute=b]"]);
    assert.equal(targets.find((x) => x.id === "trend[attribute=a]")!.state, "up-to-date");
    assert.equal(targets.find((x) => x.id === "trend[attribute=b]")!.state, "stale");
    assert.equal(targets.find((x) => x.id === "trend[attribute=b]")!.family, "trend");
    // Params a target reads, with the values this request gives them; keys stay in "key".
    const p2 = JSON.parse((await p.run(["graph", "--json", "-p", "scale=3"])).stdout).targets as { id: string; params?: Record<string, string>; key?: Record<string, string> }[];
    assert.deepEqual(p2.find((x) => x.id === "report")!.params, { scale: "3" });
    assert.deepEqual((targets as { id: string; params?: unknown }[]).find((x) => x.id === "report")!.params, { scale: "1" });
    assert.deepEqual(p2.find((x) => x.id === "trend[attribute=a]")!.params, {}, "a target without params has empty params");
    assert.deepEqual(p2.find((x) => x.id === "trend[attribute=a]")!.key, { attribute: "a" });
    // Every target has every field the README lists: null where it does not apply.
    const fields = ["id", "family", "key", "params", "state", "reason", "files", "outputs", "deps", "description"];
    for (const x of view.targets) assert.deepEqual(Object.keys(x), fields, x.id);
    assert.deepEqual(targets.find((x) => x.id === "clean"), { id: "clean", family: null, key: null, params: {}, state: "up-to-date", reason: null, files: ["data/in.txt"], outputs: ["build/clean.txt"], deps: [], description: null });
    const mermaid = await p.run(["graph", "--mermaid"]);
    assert.match(mermaid.stdout, /^flowchart /);
    const dot = await p.run(["graph", "--dot", "--files"]);
    assert.match(dot.stdout, /^digraph /);
    assert.match(dot.stdout, /data\/in\.txt/);
    assert.deepEqual(p.snapshot(".pipe"), before, "graph writes nothing under .pipe/");
    if (!hasDot) {
      t.diagnostic("graphviz not installed: DOT rendering not checked");
      return;
    }
    const svg = execFileSync("dot", ["-Tsvg"], { input: dot.stdout, encoding: "utf8" });
    assert.match(svg, /<svg/);
  } finally {
    p.remove();
  }
});

test("pipe graph --dot renders with Graphviz for a 1,000-target pipeline", { skip: !hasDot && "graphviz not installed" }, async () => {
  const p = new Project({ "data/in.txt": "x\n", "Pipelinefile.ts": chain(1000) });
  try {
    const dot = await p.run(["graph", "--dot"]);
    assert.equal(dot.code, 0, dot.stderr);
    const svg = execFileSync("dot", ["-Tsvg"], { input: dot.stdout, encoding: "utf8", maxBuffer: 1 << 28 });
    assert.equal((svg.match(/class="node"/g) ?? []).length >= 1000, true);
    const b = await p.run(["build", "--json"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(finished(b.events, "built").length, 1000);
  } finally {
    p.remove();
  }
});

test("pipe graph --dot renders with Graphviz for the case study", { skip: !hasDot && "graphviz not installed" }, async () => {
  const { REPO } = await import("../helpers/rig.ts");
  const r = spawnSync(process.execPath, [`${REPO}/bin/pipe.js`, "graph", "--dot", "--files"], { cwd: REPO, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const svg = execFileSync("dot", ["-Tsvg"], { input: r.stdout, encoding: "utf8" });
  assert.match(svg, /<svg/);
  assert.match(svg, /report/);
});

test("pipe graph --files lists source files only: another target's folder output (build/split/) read as an input is a dependency, not a file", async () => {
  const p = new Project({
    "data/raw.txt": "x\n",
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\n` +
      `export const split = target({ inputs: ["data/raw.txt"], outputs: ["build/split/"], run: ({ inputs, outputs }) => sh\`mkdir -p \${outputs[0]} && cp \${inputs[0]} \${outputs[0]}/a\` });\n` +
      `export const useSplit = target({ inputs: ["build/split/", "data/raw.txt"], outputs: ["build/use.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  try {
    const json = JSON.parse((await p.run(["graph", "--json"])).stdout) as { targets: { id: string; files: string[]; deps: string[] }[] };
    const use = json.targets.find((x) => x.id === "useSplit")!;
    assert.deepEqual(use.files, ["data/raw.txt"]);
    assert.deepEqual(use.deps, ["split"]);
    for (const args of [["graph", "--files"], ["graph", "--mermaid", "--files"], ["graph", "--dot", "--files"]]) {
      const r = await p.run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /build\/split/, `${args.join(" ")}: no file node for it`);
      assert.match(r.stdout, /data\/raw\.txt/, args.join(" "));
    }
  } finally {
    p.remove();
  }
});
