// File-system edges (reliability.md D4, D7, G1): symlinked inputs retargeted or left dangling,
// directory outputs that hold symlinks leading out of the project (O-ESCAPE: cleaning or
// replacing them never touches what they point to), paths with `..`, an output that changes
// between file and folder across Pipelinefile versions, and what a folder output's round trip
// through the cache keeps (empty folders, exec bits).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished, Project, type RunResult } from "../helpers/rig.ts";

const HEAD = `import { target, sh } from "pipefile";\n`;
const TIMEOUT = { timeout: 120_000 };

/**
 * Every entry under `abs` (sorted, relative paths): its type, mode bits, bytes or link text, and
 * its mtime and ctime in ns, so that a rewrite with the same bytes, a chmod to the same mode, or
 * a file made and removed inside a folder also shows (lstat: links are never followed).
 */
function fullTree(abs: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(abs, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(abs, r);
      const st = lstatSync(p, { bigint: true });
      const meta = `${(st.mode & 0o7777n).toString(8)} m${st.mtimeNs} c${st.ctimeNs}`;
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)} ${meta}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${meta}`;
        walk(r);
      } else out[r] = `file ${meta} ${readFileSync(p).toString("base64")}`;
    }
  };
  const top = lstatSync(abs, { bigint: true });
  out["."] = `dir ${(top.mode & 0o7777n).toString(8)} m${top.mtimeNs} c${top.ctimeNs}`;
  walk("");
  return out;
}

/** Entries under `abs` with type, mode bits and bytes or link text (what a restore must reproduce). */
function shape(abs: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(abs, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(abs, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(r);
      } else out[r] = `file ${mode} ${readFileSync(p).toString("base64")}`;
    }
  };
  walk("");
  return out;
}

/** Asserts the run's exit code, showing its output when it differs. */
function ok(r: RunResult, code = 0): RunResult {
  assert.equal(r.code, code, r.stdout + r.stderr);
  return r;
}

/** Points the symlink at `link` to `to`, replacing it in one rename (as `ln -sfn` users expect). */
function retarget(p: Project, link: string, to: string): void {
  const tmp = p.path(`${link}.new-link`);
  symlinkSync(to, tmp);
  renameSync(tmp, p.path(link));
}

test("D4(i): a symlinked input retargeted to other bytes reruns; to the same bytes runs nothing; back to the first restores; dangling is named (exit 2)", TIMEOUT, async () => {
  const p = new Project({
    "src/a.txt": "alpha\n",
    "src/b.txt": "beta\n",
    "src/b-copy.txt": "beta\n",
    "src/v1/part.txt": "one\n",
    "src/v2/part.txt": "one\n",
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ inputs: ["data/in.txt"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      // A symlink to a folder, read as a folder input.
      `export const d = target({ inputs: ["data/set/"], outputs: ["build/d.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]}/part.txt \${outputs[0]}\` });\n`,
  });
  try {
    mkdirSync(p.path("data"));
    symlinkSync("../src/a.txt", p.path("data/in.txt"));
    symlinkSync("../src/v1", p.path("data/set"));
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["d", "t"]);
    assert.equal(p.read("build/t.txt"), "alpha\n");

    // Other bytes: t reruns, d does not.
    retarget(p, "data/in.txt", "../src/b.txt");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t"]);
    assert.deepEqual(finished(r.events, "up-to-date"), ["d"]);
    assert.equal(p.read("build/t.txt"), "beta\n");

    // Another file, the same bytes (and a folder with the same tree): nothing runs.
    retarget(p, "data/in.txt", "../src/b-copy.txt");
    retarget(p, "data/set", "../src/v2");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), []);
    assert.deepEqual(finished(r.events, "restored"), []);
    assert.deepEqual(finished(r.events, "up-to-date"), ["d", "t"]);
    assert.match(ok(await p.run(["status"])).stdout, /^up to date\s+t$/m);

    // Back to the first file: its output comes from the cache, nothing runs.
    retarget(p, "data/in.txt", "../src/a.txt");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    assert.deepEqual(finished(r.events, "built"), []);
    assert.equal(p.read("build/t.txt"), "alpha\n");

    // The folder link to a tree with other bytes: d reruns.
    writeFileSync(p.path("src/v2/part.txt"), "two\n");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["d"]);
    assert.equal(p.read("build/d.txt"), "two\n");

    // Dangling, after builds that left a no-op snapshot behind: a named error, for build and status.
    retarget(p, "data/in.txt", "../src/nowhere.txt");
    for (const cmd of [["build"], ["build", "t"], ["status"]]) {
      r = ok(await p.run(cmd), 2);
      assert.match(r.stderr, /error: "data\/in\.txt", needed by "t", is a dangling symlink: it points to "\.\.\/src\/nowhere\.txt", which does not exist\n/, cmd.join(" "));
      assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, "no stack trace");
    }
    assert.equal(p.read("build/t.txt"), "alpha\n", "the output is left as it was");
  } finally {
    p.remove();
  }
});

/**
 * A project at `<base>/proj` next to a sentinel folder `<base>/sentinel` (files of several
 * modes, an empty folder, a link); `<base>` holds nothing else, so anything pipe made next to
 * the project root shows in its listing.
 */
function escapeRig(files: Record<string, string>): { base: string; sentinel: string; p: Project; before: Record<string, string>; check: (when: string) => void } {
  const base = mkdtempSync(join(tmpdir(), "pipe-escape-"));
  const sentinel = join(base, "sentinel");
  mkdirSync(join(sentinel, "bin"), { recursive: true });
  mkdirSync(join(sentinel, "empty"));
  mkdirSync(join(sentinel, "private"), { mode: 0o700 });
  writeFileSync(join(sentinel, "keep.txt"), "keep me\n");
  writeFileSync(join(sentinel, "bin", "run.sh"), "#!/bin/sh\necho sentinel\n");
  chmodSync(join(sentinel, "bin", "run.sh"), 0o755);
  writeFileSync(join(sentinel, "ro.txt"), "read only\n");
  chmodSync(join(sentinel, "ro.txt"), 0o444);
  writeFileSync(join(sentinel, "private", "secret.txt"), "s\n");
  chmodSync(join(sentinel, "private", "secret.txt"), 0o600);
  symlinkSync("keep.txt", join(sentinel, "keep-link"));
  const p = new Project(files, join(base, "proj"));
  const before = fullTree(sentinel);
  const check = (when: string) => {
    assert.deepEqual(fullTree(sentinel), before, `the sentinel is untouched (${when})`);
    assert.deepEqual(readdirSync(base).sort(), ["proj", "sentinel"], `nothing made next to the project root (${when})`);
  };
  return { base, sentinel, p, before, check };
}

test("D4(iv)/G1: clean, a rebuild, and a restore of a folder output holding symlinks out of the project remove or replace the links, never what they point to", TIMEOUT, async () => {
  const { base, sentinel, p, check } = escapeRig({ "src/in.txt": "v1\n" });
  try {
    // Links to the sentinel folder (absolute and relative), to a file in it, and into a folder of it.
    p.write({
      "Pipelinefile.ts":
        HEAD +
        `export const t = target({ inputs: ["src/in.txt"], outputs: ["build/x/"], run: ({ inputs, outputs }) => sh\`sh -c \${'mkdir -p "$2/sub" && cp "$1" "$2/f.txt" && ln -s "$3" "$2/abs-dir" && ln -s ../../../sentinel "$2/rel-dir" && ln -s "$3/keep.txt" "$2/sub/file-link" && ln -s "$3/private" "$2/sub/private"'} _ \${inputs[0]} \${outputs[0]} ${JSON.stringify(sentinel)}\` });\n` +
        `export const f = target({ inputs: ["src/in.txt"], outputs: ["build/f.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
    });
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["f", "t"]);
    assert.equal(readlinkSync(p.path("build/x/abs-dir")), sentinel);
    assert.equal(readFileSync(p.path("build/x/rel-dir/keep.txt"), "utf8"), "keep me\n", "the relative link leads to the sentinel");
    check("after the first build");

    // A rebuild swaps the folder in whole: the old one, links and all, is removed.
    p.write({ "src/in.txt": "v2\n" });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["f", "t"]);
    assert.equal(p.read("build/x/f.txt"), "v2\n");
    check("after a rebuild replaced the output");

    // clean removes the links themselves.
    r = ok(await p.run(["clean"]));
    assert.match(r.stdout, /^removed build\/x\/$/m);
    assert.equal(p.exists("build/x"), false);
    check("after clean");

    // A restore makes the links again, as links.
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["f", "t"]);
    assert.equal(lstatSync(p.path("build/x/abs-dir")).isSymbolicLink(), true);
    assert.equal(readlinkSync(p.path("build/x/sub/private")), join(sentinel, "private"));
    check("after a restore");

    // Links added by hand (edited output): kept as links (not copies of the sentinel) before clean removes them.
    symlinkSync(sentinel, p.path("build/x/mine"));
    symlinkSync(join(sentinel, "ro.txt"), p.path("build/x/sub/mine-file"));
    r = ok(await p.run(["clean"]));
    const kept = /cp -R (\.pipe\/kept\/[0-9a-f]+)\/\. build\/x/.exec(r.stdout);
    assert.ok(kept, r.stdout);
    assert.equal(readlinkSync(p.path(`${kept[1]}/mine`)), sentinel, "kept as a link");
    assert.equal(lstatSync(p.path(`${kept[1]}/sub/mine-file`)).isSymbolicLink(), true);
    check("after clean of an edited output");

    // The output folder itself replaced by a link to the sentinel: a build puts the folder back
    // (the link is moved aside and removed), and clean removes such a link, not its target.
    ok(await p.run(["build", "-q"]));
    rmSync(p.path("build/x"), { recursive: true });
    symlinkSync(sentinel, p.path("build/x"));
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    assert.equal(lstatSync(p.path("build/x")).isDirectory(), true, "a real folder again");
    check("after a build over an output folder swapped for a link");
    rmSync(p.path("build/x"), { recursive: true });
    symlinkSync(sentinel, p.path("build/x"));
    r = ok(await p.run(["clean"]));
    assert.equal(lstatSync(p.path("build/x"), { throwIfNoEntry: false }), undefined, "the link is gone");
    check("after clean of an output folder swapped for a link");

    // The same for a file output swapped for a link to a read-only file of the sentinel: the
    // restore replaces the link (its chmod is of the restored file), clean removes the link.
    ok(await p.run(["build", "-q"]));
    rmSync(p.path("build/f.txt"));
    symlinkSync(join(sentinel, "ro.txt"), p.path("build/f.txt"));
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["f"]);
    assert.equal(lstatSync(p.path("build/f.txt")).isFile(), true);
    assert.equal(p.read("build/f.txt"), "v2\n");
    check("after a build over a file output swapped for a link");
    rmSync(p.path("build/f.txt"));
    symlinkSync(join(sentinel, "ro.txt"), p.path("build/f.txt"));
    ok(await p.run(["clean"]));
    assert.equal(lstatSync(p.path("build/f.txt"), { throwIfNoEntry: false }), undefined, "the link is gone");
    check("after clean of a file output swapped for a link");

    ok(await p.run(["status", "--verify"]));
  } finally {
    p.remove();
    rmSync(base, { recursive: true, force: true });
  }
});

test("G1: an output path through .. (data/../../x) is refused at load naming it; an input there is read, never written or removed", TIMEOUT, async () => {
  const { base, sentinel, p, check } = escapeRig({ "data/keep.txt": "k\n" });
  try {
    // ../sentinel/keep.txt seen from data/: data/../../sentinel/keep.txt.
    p.write({
      "Pipelinefile.ts":
        HEAD +
        `export const esc = target({ outputs: ["data/../../sentinel/new.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
        `export const over = target({ outputs: ["data/../../sentinel/keep.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
        `export const dir = target({ outputs: ["build/../../sentinel/"], run: ({ outputs }) => sh\`mkdir \${outputs[0]}\` });\n`,
    });
    for (const cmd of [["build"], ["clean"], ["build", "esc"]]) {
      const r = ok(await p.run(cmd), 2);
      assert.match(r.stderr, /error: output "data\/\.\.\/\.\.\/sentinel\/new\.txt" of "esc" resolves outside the project root/, cmd.join(" "));
      if (cmd.length === 1) {
        assert.match(r.stderr, /error: output "data\/\.\.\/\.\.\/sentinel\/keep\.txt" of "over" resolves outside the project root/);
        assert.match(r.stderr, /error: output "build\/\.\.\/\.\.\/sentinel\/" of "dir" resolves outside the project root/);
      }
      check(cmd.join(" "));
    }

    // Reading outside the root is allowed (a shared data folder, as the case study's `source`),
    // but nothing there is ever written, moved or removed: not by build, clean or a restore.
    p.write({
      "Pipelinefile.ts":
        HEAD + `export const t = target({ inputs: ["data/../../sentinel/keep.txt", "data/../../sentinel/bin/"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]} \${inputs[1]}/run.sh > \${outputs[0]}\` });\n`,
    });
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t"]);
    assert.equal(p.read("build/t.txt"), "keep me\n#!/bin/sh\necho sentinel\n");
    check("after a build reading it");
    r = ok(await p.run(["clean", "--deps", "t"]));
    assert.match(r.stdout, /^1 output removed/m);
    check("after clean");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    check("after a restore");
  } finally {
    p.remove();
    rmSync(base, { recursive: true, force: true });
  }
});

test("D7(i): an output declared a file, then a folder (build/x/), then a file again: each build succeeds, no bytes of the other kind remain, switching back restores", TIMEOUT, async () => {
  const asFile =
    HEAD + `export const t = target({ inputs: ["src/in.txt"], outputs: ["build/x"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
  const asDir =
    HEAD +
    `export const t = target({ inputs: ["src/in.txt"], outputs: ["build/x/"], run: ({ inputs, outputs }) => sh\`sh -c \${'mkdir -p "$2/sub" && cp "$1" "$2/sub/inner.txt"'} _ \${inputs[0]} \${outputs[0]}\` });\n` +
    // A dependent reads the folder: it must see the folder, never the old file.
    `export const u = target({ inputs: [t], outputs: ["build/u.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]}/sub/inner.txt \${outputs[0]}\` });\n`;
  const p = new Project({ "src/in.txt": "hello\n", "Pipelinefile.ts": asFile });
  const isFile = () => {
    assert.equal(lstatSync(p.path("build/x")).isFile(), true, "build/x is a file");
    assert.equal(p.read("build/x"), "hello\n");
    assert.deepEqual(readdirSync(p.path("build")).filter((n) => n.startsWith(".")), [], "no staged leftovers");
  };
  const isDir = () => {
    assert.deepEqual(shape(p.path("build/x")), { sub: "dir 755", "sub/inner.txt": `file 644 ${Buffer.from("hello\n").toString("base64")}` }, "only the folder's own entries");
    assert.deepEqual(readdirSync(p.path("build")).filter((n) => n.startsWith(".")), [], "no staged leftovers");
  };
  try {
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t"]);
    isFile();

    p.write({ "Pipelinefile.ts": asDir });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t", "u"]);
    isDir();
    assert.equal(p.read("build/u.txt"), "hello\n");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), [], "O-NOOP");

    p.write({ "Pipelinefile.ts": asFile });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"], "the file comes back from the cache");
    assert.deepEqual(finished(r.events, "built"), []);
    isFile();
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "up-to-date"), ["t"], "O-NOOP");

    p.write({ "Pipelinefile.ts": asDir });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"], "the folder comes back from the cache");
    assert.deepEqual(finished(r.events, "built"), []);
    assert.deepEqual(finished(r.events, "up-to-date"), ["u"]);
    isDir();

    // clean of a declared folder when a file of the other version is there: it goes too.
    p.write({ "Pipelinefile.ts": asFile });
    ok(await p.run(["build", "-q"]));
    p.write({ "Pipelinefile.ts": asDir });
    r = ok(await p.run(["clean"]));
    assert.equal(p.exists("build/x"), false);
    assert.doesNotMatch(r.stdout, /changed outside pipe/, "pipe made that file: nothing to keep");
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t", "u"], "clean removed u.txt too");
    isDir();

    ok(await p.run(["status", "--verify"]));
  } finally {
    p.remove();
  }
});

test("D7(ii)(iii): empty folders and exec bits in a folder output survive clean and restore; flipping a bit or removing an empty folder by hand is restored, not rerun", TIMEOUT, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const t = target({ outputs: ["build/d/"], run: ({ outputs }) => sh\`sh -c \${'mkdir -p "$1/empty" "$1/deep/er/est" "$1/bin" && printf data > "$1/data.txt" && printf "#!/bin/sh\\necho ran\\n" > "$1/bin/run.sh" && chmod 644 "$1/data.txt" && chmod 755 "$1/bin/run.sh" && ln -s bin/run.sh "$1/run" && echo BUILT'} _ \${outputs[0]}\` });\n`,
  });
  try {
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t"]);
    const built = shape(p.path("build/d"));
    assert.equal(built["empty"], "dir 755");
    assert.equal(built["deep/er/est"], "dir 755");
    assert.equal(built["bin/run.sh"]?.split(" ")[1], "755");
    assert.equal(built["data.txt"]?.split(" ")[1], "644");

    ok(await p.run(["clean"]));
    assert.equal(p.exists("build/d"), false);
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    assert.deepEqual(shape(p.path("build/d")), built, "restored identically: empty folders, modes, link");
    const ran = spawnSync(p.path("build/d/run"), { encoding: "utf8" });
    assert.equal(ran.stdout, "ran\n", "still executable");
    assert.equal(finished(ok(await p.run(["build", "--json"])).events, "up-to-date").length, 1, "O-NOOP");

    // Each is a change of the folder (its hash covers exec bits and empty folders): restored.
    for (const [what, edit] of [
      ["exec bit cleared", () => chmodSync(p.path("build/d/bin/run.sh"), 0o644)],
      ["exec bit set", () => chmodSync(p.path("build/d/data.txt"), 0o755)],
      ["empty folder removed", () => rmSync(p.path("build/d/deep/er/est"), { recursive: true })],
      ["empty folder added", () => mkdirSync(p.path("build/d/bin/new"))],
    ] as const) {
      edit();
      const st = ok(await p.run(["status"]));
      assert.match(st.stdout, /^restorable\s+t\b/m, `${what}: ${st.stdout}`);
      r = ok(await p.run(["build", "--json"]));
      assert.deepEqual(finished(r.events, "restored"), ["t"], what);
      assert.deepEqual(finished(r.events, "built"), [], what);
      assert.deepEqual(shape(p.path("build/d")), built, what);
    }
  } finally {
    p.remove();
  }
});

test("D7(i): a file output of an earlier version where a folder of the new outputs belongs (build/x, then build/x/y.txt) is removed with a warning, and back again restores; a file pipe did not make fails only its target, left as it was", TIMEOUT, async () => {
  const asFile = HEAD + `export const t = target({ inputs: ["src/in.txt"], outputs: ["build/x"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
  const inFolder =
    HEAD +
    `export const t = target({ inputs: ["src/in.txt"], outputs: ["build/x/y.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
    `export const other = target({ inputs: ["src/in.txt"], outputs: ["out/other.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`;
  const p = new Project({ "src/in.txt": "hello\n", "Pipelinefile.ts": asFile });
  const warnings = (r: RunResult) => r.events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
  try {
    ok(await p.run(["build", "-q"]));
    assert.equal(lstatSync(p.path("build/x")).isFile(), true);

    // Was: EEXIST at mkdir, every build, plus a warning to remove a staged file that never existed.
    p.write({ "Pipelinefile.ts": inFolder });
    let r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["other", "t"]);
    assert.deepEqual(warnings(r), ['removed build/x, a file where output build/x/y.txt of "t" needs a folder (an output of an earlier build; its bytes stay in the cache)']);
    assert.deepEqual(shape(p.path("build")), { x: "dir 755", "x/y.txt": `file 644 ${Buffer.from("hello\n").toString("base64")}` });
    assert.deepEqual(finished(ok(await p.run(["build", "--json"])).events, "built"), [], "O-NOOP");

    p.write({ "Pipelinefile.ts": asFile });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    assert.equal(p.read("build/x"), "hello\n");

    // Back to the folder version: restored over the file (was: an internal error that stopped the build).
    p.write({ "Pipelinefile.ts": inFolder });
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "restored"), ["t"]);
    assert.deepEqual(finished(r.events, "built"), []);
    assert.equal(p.read("build/x/y.txt"), "hello\n");

    // A file pipe never made in the way: the target fails naming it, for a run and for a
    // restore; -k goes on with the others; the file is left as it was.
    rmSync(p.path("build/x"), { recursive: true });
    p.write({ "build/x": "MINE\n" });
    for (const change of ["restore", "run"]) {
      if (change === "run") p.write({ "src/in.txt": "new\n" });
      r = ok(await p.run(["build", "-k", "--json"]), 1);
      const fin = r.events.find((e) => e.type === "target-finished" && e.target === "t");
      assert.ok(fin && fin.type === "target-finished" && fin.status === "failed", JSON.stringify(fin));
      assert.match(fin.reason, /output "build\/x\/y\.txt" of "t" needs "build\/x" to be a folder, but it is a file pipe did not make; it is left as it is\n  hint: move build\/x away/, change);
      assert.doesNotMatch(r.stdout + r.stderr, /internal error|cannot remove the staged output/, change);
      assert.equal(p.read("build/x"), "MINE\n", change);
      assert.equal(p.read("out/other.txt"), change === "run" ? "new\n" : "hello\n");
    }
    rmSync(p.path("build/x"));
    r = ok(await p.run(["build", "--json"]));
    assert.deepEqual(finished(r.events, "built"), ["t"]);
    assert.equal(p.read("build/x/y.txt"), "new\n");
  } finally {
    p.remove();
  }
});

test("an output inside a file output, or inside its own target's directory output, is refused at load (exit 2), naming both", TIMEOUT, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ outputs: ["build/x"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const b = target({ inputs: [a], outputs: ["build/x/y.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export const c = target({ outputs: ["out/p", "out/p/q"], run: ({ outputs }) => sh\`touch \${outputs[0]} \${outputs[1]}\` });\n` +
      `export const d = target({ outputs: ["out/d/", "out/d/q"], run: ({ outputs }) => sh\`mkdir \${outputs[0]} && touch \${outputs[1]}\` });\n` +
      `export const e = target({ outputs: ["out/e/"], run: ({ outputs }) => sh\`mkdir \${outputs[0]}\` });\n` +
      `export const f = target({ outputs: ["out/e/f/g"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n`,
  });
  try {
    const r = ok(await p.run(["build", "-k"]), 2);
    assert.match(r.stderr, /error: output "build\/x\/y\.txt" of "b" is inside output "build\/x" of "a", which is a file\n  at Pipelinefile\.ts:3:\d+\n  hint: outputs must not overlap: a path is a file or a folder, not both\n/);
    assert.match(r.stderr, /error: output "out\/p\/q" of "c" is inside output "out\/p" of "c", which is a file\n  at Pipelinefile\.ts:4:\d+\n/);
    assert.match(r.stderr, /error: output "out\/d\/q" of "d" is inside its own directory output "out\/d\/"\n  at Pipelinefile\.ts:5:\d+\n  hint: the directory output holds everything its recipe writes under out\/d\/: leave "out\/d\/q" out\n/);
    assert.match(r.stderr, /error: output "out\/e\/f\/g" of "f" is inside directory output "out\/e\/" of "e"\n  at Pipelinefile\.ts:7:\d+\n  hint: outputs must not overlap\n/);
    assert.equal(p.exists("build") || p.exists("out"), false, "nothing ran");
  } finally {
    p.remove();
  }
});

test("a file whose name starts with a dash reaches the recipe as ./-name, never as an option", async () => {
  const p = new Project({ "-n.csv": "dash\n", "b.csv": "b\n", "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ inputs: ["*.csv"], outputs: ["out.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` });
  try {
    const r = await p.run(["build"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("out.txt"), "dash\nb\n");
  } finally {
    p.remove();
  }
});

test("D4(v): a glob with ** over folders holding symbolic link loops (data/l -> ., data/a/up -> ..) is an error naming each loop (exit 2), at once; a link to a folder elsewhere is followed", TIMEOUT, async () => {
  // fast-glob followed such links down to the 40-level limit, listing each file once per level:
  // a review's build ran out of memory after minutes, deaf to Ctrl-C.
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const g = target({ inputs: ["data/**/*.csv"], outputs: ["build/g"], run: ({ inputs, outputs }) => sh\`echo \${inputs} > \${outputs[0]}\` });\n`,
    "data/x.csv": "1\n",
    "data/a/y.csv": "2\n",
  });
  const elsewhere = mkdtempSync(join(tmpdir(), "pipe-elsewhere-"));
  try {
    writeFileSync(join(elsewhere, "z.csv"), "3\n");
    symlinkSync(".", p.path("data/l"));
    symlinkSync("..", p.path("data/a/up"));
    for (const args of [["build"], ["status"]]) {
      const r = await p.run(args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^error: input "data\/\*\*\/\*\.csv" of "g" follows symbolic links in a loop: data\/a\/up leads back to data, data\/l leads back to data\n  at Pipelinefile\.ts:2:\d+\n  hint: /m);
      assert.doesNotMatch(r.stderr, /heap|internal error|\n\s+at .*\.js:/);
    }
    rmSync(p.path("data/l"));
    rmSync(p.path("data/a/up"));
    symlinkSync(elsewhere, p.path("data/ext"));
    const r = await p.run(["build"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(p.read("build/g"), "data/a/y.csv data/ext/z.csv data/x.csv\n");
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
    p.remove();
  }
});

test("a file name that is not valid UTF-8 (in a folder output, matched by a glob, in a folder input) is named with its bytes; never an internal error", TIMEOUT, async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const d = target({ inputs: ["data/in"], outputs: ["build/d/"], run: ({ inputs, outputs }) => sh\`mkdir -p \${outputs[0]} && cp \${inputs} \${outputs[0]}/x\` });\n` +
      `export const t = target({ inputs: ["tree/"], outputs: ["build/t"], run: ({ inputs, outputs }) => sh\`ls \${inputs} > \${outputs[0]}\` });\n`,
    "data/in": "1\n",
    "tree/a": "a\n",
  });
  try {
    assert.equal((await p.run(["build", "d"])).code, 0);
    const bad = Buffer.concat([Buffer.from(p.path("build/d/user")), Buffer.from([0xff])]);
    writeFileSync(bad, "P");
    p.write({ "data/in": "2\n" });
    for (const args of [["status", "d"], ["build", "d"], ["clean", "d"]]) {
      const r = await p.run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^error: build\/d\/user\\xff has a name that is not valid UTF-8; /m, args.join(" "));
      assert.doesNotMatch(r.stdout + r.stderr, /internal error/);
    }
    assert.equal(readFileSync(bad, "utf8"), "P", "the file is left as it was");
    writeFileSync(Buffer.concat([Buffer.from(p.path("tree/b")), Buffer.from([0xe9])]), "b");
    const r = await p.run(["build", "t"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED t \(cannot read input tree: tree\/b\\xe9 has a name that is not valid UTF-8; /);
  } finally {
    p.remove();
  }
});

test("an output made as a hard link to an input (ln or cp -l, a file or inside a folder output, in a shell or a TypeScript recipe) fails its target naming both; the input and the staging folder are left as they were, and a copy then builds once", TIMEOUT, async () => {
  const link = (how: string) =>
    `import { target, sh } from "pipefile";\nimport { copyFileSync, linkSync } from "node:fs";\n` +
    `export const a = target({ inputs: ["data/a.txt"], outputs: ["build/a.txt"], run: ${how === "ts" ? `(ctx) => { linkSync(ctx.inputs[0], ctx.outputs[0]); }` : how === "sh" ? `({ inputs, outputs }) => sh\`ln \${inputs[0]} \${outputs[0]}\`` : `(ctx) => { copyFileSync(ctx.inputs[0], ctx.outputs[0]); }`} });\n` +
    // Linking a target's output (an input made by another target) is caught the same way, and
    // so is a link inside a folder output.
    `export const b = target({ inputs: [a], outputs: ["build/b.txt"], run: ({ inputs, outputs }) => sh\`ln \${inputs[0]} \${outputs[0]}\` });\n` +
    `export const m = target({ inputs: ["data/*.txt"], outputs: ["build/m/"], run: ({ inputs, outputs }) => sh\`mkdir -p \${outputs[0]}/sub && cp -l \${inputs} \${outputs[0]}/sub/\` });\n`;
  const p = new Project({ "data/a.txt": "alpha\n", "Pipelinefile.ts": link("sh") });
  try {
    for (const how of ["sh", "ts"]) {
      p.write({ "Pipelinefile.ts": link(how) });
      const r = await p.run(["build", "--json", "a"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const failed = r.events.find((e) => e.type === "target-finished" && e.status === "failed") as { target: string; error?: string } | undefined;
      assert.equal(failed?.target, "a", how);
      assert.match(failed?.error ?? "", /recipe made output "build\/a\.txt" a hard link to its input "data\/a\.txt"; an output must be a file of its own .*copy the bytes instead \(cp\)/, how);
      assert.equal(lstatSync(p.path("data/a.txt")).nlink, 1, "the link was removed with the staging file");
      assert.equal(p.read("data/a.txt"), "alpha\n");
      assert.deepEqual(readdirSync(p.path("build")), [], `${how}: nothing published, nothing staged left`);
    }
    p.write({ "Pipelinefile.ts": link("copy") });
    let r = ok(await p.run(["build", "--json", "a"]));
    assert.deepEqual(finished(r.events, "built"), ["a"]);
    assert.deepEqual(r.events.filter((e) => e.type === "warning"), [], "no 'input changed while it ran' warning");
    r = ok(await p.run(["build", "--json", "a"]));
    assert.deepEqual(finished(r.events, "up-to-date"), ["a"], "the next build runs nothing");
    r = await p.run(["build", "--json", "b"]);
    assert.equal(r.code, 1);
    const failed = r.events.find((e) => e.type === "target-finished" && e.status === "failed") as { target: string; error?: string } | undefined;
    assert.equal(failed?.target, "b");
    assert.match(failed?.error ?? "", /output "build\/b\.txt" a hard link to its input "build\/a\.txt"/);
    assert.equal(lstatSync(p.path("build/a.txt")).nlink, 1);
    assert.deepEqual(readdirSync(p.path("build")), ["a.txt"]);
    r = await p.run(["build", "--json", "m"]);
    assert.equal(r.code, 1);
    assert.match(JSON.stringify(r.events), /output \\"build\/m\/sub\/a\.txt\\" a hard link to its input \\"data\/a\.txt\\"/);
    assert.equal(lstatSync(p.path("data/a.txt")).nlink, 1);
    assert.deepEqual(readdirSync(p.path("build")), ["a.txt"]);
  } finally {
    p.remove();
  }
});
