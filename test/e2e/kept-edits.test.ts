// Bytes changed outside pipe in an output are kept before pipe replaces or removes them, and the
// warning prints a command that gets them back: these tests paste it into /bin/sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Project } from "../helpers/rig.ts";

const HEAD = `import { target, sh } from "pipefile";\n`;

/** Every entry under `dir` of the project: type, mode bits and bytes (or link target). */
function tree(p: Project, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(p.path(rel)).sort()) {
      const r = `${rel}/${name}`;
      const st = lstatSync(p.path(r));
      const mode = (st.mode & 0o777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p.path(r))}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(r);
      } else out[r] = `file ${mode} ${readFileSync(p.path(r)).toString("base64")}`;
    }
  };
  walk(dir);
  return out;
}

/** The recovery command of each "changed outside pipe" warning, by output path. */
function recoveryCommands(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const w = /^warning: output (.+) of "[^"]+" was changed outside pipe; pipe kept those bytes before (?:removing|replacing) them \(to get them back: (.+)\)$/.exec(line);
    if (w) m.set(w[1], w[2]);
  }
  return m;
}

/** Runs a pasted command the way a user's shell would, in the project folder. */
function paste(p: Project, command: string): void {
  const r = spawnSync("/bin/sh", ["-c", command], { cwd: p.dir, encoding: "utf8" });
  assert.equal(r.status, 0, `${command}\n${r.stderr}`);
}

//  src/in.txt --> dirout (build/dirout/: sub/a.txt, link -> sub/a.txt)
const DIR_OUTPUT =
  HEAD +
  `export const dirout = target({ inputs: ["src/in.txt"], outputs: ["build/dirout/"], run: ({ inputs, outputs }) => sh\`sh -c \${'mkdir -p "$2/sub" && cp "$1" "$2/sub/a.txt" && ln -s sub/a.txt "$2/link"'} _ \${inputs[0]} \${outputs[0]}\` });\n`;

/** Adds small files by hand (packed if they went into the cache's pack), an executable and an edit. */
function editByHand(p: Project): void {
  p.write({ "build/dirout/added.txt": "MY NOTES\n", "build/dirout/deep/er/more.csv": "a,b\n1,2\n", "build/dirout/run.sh": "#!/bin/sh\necho hi\n", "build/dirout/sub/a.txt": "EDITED\n" });
  chmodSync(p.path("build/dirout/run.sh"), 0o755);
  symlinkSync("added.txt", p.path("build/dirout/notes-link"));
}

test("files added by hand to a directory output come back, byte for byte, from the command clean prints", async () => {
  const p = new Project({ "src/in.txt": "hi\n", "Pipelinefile.ts": DIR_OUTPUT });
  try {
    assert.equal((await p.run(["build", "-q"])).code, 0);
    editByHand(p);
    const edited = tree(p, "build/dirout");
    const r = await p.run(["clean"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.exists("build/dirout"), false, "the output was removed");
    const cmd = recoveryCommands(r.stdout).get("build/dirout");
    assert.ok(cmd, r.stdout);
    assert.match(cmd, /^cp -R \.pipe\/kept\/[0-9a-f]+\/\. build\/dirout$/);
    paste(p, cmd);
    assert.deepEqual(tree(p, "build/dirout"), edited);
  } finally {
    p.remove();
  }
});

test("a directory output edited by hand and replaced by a build comes back from the command the build prints", async () => {
  const p = new Project({ "src/in.txt": "hi\n", "Pipelinefile.ts": DIR_OUTPUT });
  try {
    assert.equal((await p.run(["build", "-q"])).code, 0);
    editByHand(p);
    const edited = tree(p, "build/dirout");
    p.write({ "src/in.txt": "new input\n" });
    const b = await p.run(["build", "--json"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(p.read("build/dirout/sub/a.txt"), "new input\n", "the build replaced the folder");
    const warnings = b.events.flatMap((e) => (e.type === "warning" ? [`warning: ${e.message}`] : []));
    const cmd = recoveryCommands(warnings.join("\n")).get("build/dirout");
    assert.ok(cmd, warnings.join("\n"));
    paste(p, cmd);
    // Copied over the new output: every entry the user had is back as it was.
    const now = tree(p, "build/dirout");
    for (const [path, entry] of Object.entries(edited)) assert.equal(now[path], entry, path);
  } finally {
    p.remove();
  }
});

test("the printed commands quote paths with spaces and quotes, so pasted into sh they work", async () => {
  const file = `build/out dir/it's "out".txt`;
  const dir = `build/it's a "dir"`;
  const p = new Project({
    "src/in.txt": "hi\n",
    "Pipelinefile.ts":
      HEAD +
      `export const f = target({ inputs: ["src/in.txt"], outputs: [${JSON.stringify(file)}], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const d = target({ inputs: ["src/in.txt"], outputs: [${JSON.stringify(dir + "/")}], run: ({ inputs, outputs }) => sh\`sh -c \${'mkdir "$2" && cp "$1" "$2/a.txt"'} _ \${inputs[0]} \${outputs[0]}\` });\n` +
      `export default [f, d];\n`,
  });
  try {
    assert.equal((await p.run(["build", "-q"])).code, 0);
    p.write({ [file]: "MY HAND EDIT\n", [`${dir}/b b.txt`]: "MINE\n" });
    chmodSync(p.path(file), 0o755);
    const editedDir = tree(p, dir);
    const r = await p.run(["clean"]);
    assert.equal(r.code, 0, r.stderr);
    const cmds = recoveryCommands(r.stdout);
    assert.deepEqual([...cmds.keys()].sort(), [dir, file].sort(), r.stdout);
    for (const c of cmds.values()) paste(p, c);
    assert.equal(p.read(file), "MY HAND EDIT\n");
    assert.equal((lstatSync(p.path(file)).mode & 0o777).toString(8), "755", "the file's mode, not the cache object's 0444");
    assert.deepEqual(tree(p, dir), editedDir);
  } finally {
    p.remove();
  }
});

test("a copy a killed pipe left half made in .pipe/kept/ is swept by the next build; finished copies stay", async () => {
  const p = new Project({ "src/in.txt": "hi\n", "Pipelinefile.ts": DIR_OUTPUT });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    editByHand(p);
    assert.equal((await p.run(["clean"])).code, 0);
    const kept = readdirSync(p.path(".pipe/kept"));
    assert.equal(kept.length, 1, "one finished copy");
    // What keepFolder leaves when killed between its copy and its rename.
    p.write({ ".pipe/kept/.tmp-999-x-0/sub/a.txt": "half\n" });
    const b = await p.run(["build"]);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(readdirSync(p.path(".pipe/kept")), kept, "the half-made copy is gone, the finished one stays");
  } finally {
    p.remove();
  }
});

test("with --quiet, the warning that says where an edited output was kept is still printed (and in --json it says kept: true)", async () => {
  const p = new Project({ "in.txt": "a\n", "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["in.txt"], outputs: ["out.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` });
  try {
    assert.equal((await p.run(["build", "-q"])).code, 0);
    p.write({ "out.txt": "MY EDIT\n", "in.txt": "b\n" });
    const r = await p.run(["build", "-q"]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^warning: \[t\] output out\.txt of "t" was changed outside pipe; pipe kept those bytes before replacing them \(to get them back: (cp .*)\)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(r.stdout.split("\n").filter(Boolean).length, 2, "the warning and the summary only");
    spawnSync("/bin/sh", ["-c", m[1]], { cwd: p.dir });
    assert.equal(p.read("out.txt"), "MY EDIT\n");
    p.write({ "out.txt": "ANOTHER EDIT\n", "in.txt": "c\n" });
    const j = await p.run(["build", "--json"]);
    const w = j.events.find((e) => e.type === "warning");
    assert.ok(w && w.type === "warning" && w.kept === true, JSON.stringify(w));
  } finally {
    p.remove();
  }
});

test("an output the user replaced by a symbolic link (to a folder, or a file) is not followed or copied: the link goes, what it points to stays, and the printed ln command brings the link back", async () => {
  // Before: a folder output replaced by a link to a big dataset was copied whole into
  // .pipe/kept/ (filling the disk), and the printed `cp -R` gave back a copy, not the link.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const d = target({ inputs: ["in.txt"], outputs: ["build/d/"], run: ({ inputs, outputs }) => sh\`mkdir -p \${outputs[0]} && cp \${inputs[0]} \${outputs[0]}/f\` });\n` +
      `export const f = target({ inputs: ["in.txt"], outputs: ["build/f.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
    "in.txt": "one",
    "data/x": "dataset",
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    for (const [out, to] of [["build/d", "../data"], ["build/f.txt", "../data/x"]]) {
      spawnSync("rm", ["-rf", p.path(out)]);
      symlinkSync(to, p.path(out));
    }
    p.write({ "in.txt": "two" });
    for (const cmd of [["build"], ["clean"]]) {
      const r = await p.run(cmd);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const text = r.stdout + r.stderr;
      assert.match(text, /output build\/d of "d" was a symbolic link to "\.\.\/data", made outside pipe; pipe (replaces|removes) the link itself, and what it points to is left as it is \(to get the link back: ln -sfn \.\.\/data build\/d\)/);
      assert.match(text, /output build\/f.txt of "f" was a symbolic link to "\.\.\/data\/x"/);
      assert.doesNotMatch(text, /kept those bytes|which (was|were) kept/);
      assert.equal(p.exists(".pipe/kept") ? readdirSync(p.path(".pipe/kept")).length : 0, 0, "nothing copied");
      assert.deepEqual(readdirSync(p.path("data")), ["x"]);
      assert.equal(p.read("data/x"), "dataset");
      if (cmd[0] === "build") {
        assert.equal(p.read("build/d/f"), "two");
        assert.equal(lstatSync(p.path("build/d")).isDirectory(), true);
        // The printed command brings the link back.
        const ln = /to get the link back: (ln -sfn \.\.\/data build\/d)\)/.exec(text)![1];
        spawnSync("rm", ["-rf", p.path("build/d")]);
        assert.equal(spawnSync("/bin/sh", ["-c", ln], { cwd: p.path(".") }).status, 0);
        assert.equal(readlinkSync(p.path("build/d")), "../data");
        symlinkSync("../data/x", p.path("build/f.txt.new"));
        spawnSync("mv", ["-f", p.path("build/f.txt.new"), p.path("build/f.txt")]);
      }
    }
  } finally {
    p.remove();
  }
});
