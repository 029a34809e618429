import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { installHooks } from "../../src/githooks/install.ts";
import { uninstallHooks } from "../../src/githooks/uninstall.ts";
import { GitHooksError } from "../../src/githooks/git-paths.ts";
import { HOOK_MARKER, HOOK_NAMES } from "../../src/githooks/hook-script.ts";
import { isolateGit, makeFakePipe, makeRepo, snapshotDir, writeHook } from "./repo.ts";
import type { FakePipe, Repo } from "./repo.ts";

isolateGit();

function setup(): { repo: Repo; pipe: FakePipe; install: (projectDir?: string) => ReturnType<typeof installHooks> } {
  const repo = makeRepo();
  const pipe = makeFakePipe(dirname(repo.dir));
  const install = (projectDir = repo.dir) => installHooks({ projectDir, nodePath: process.execPath, pipeBin: pipe.bin });
  return { repo, pipe, install };
}

/** Runs an installed hook the way git does: from the work tree root. */
function runHookFile(repo: Repo, hook: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(join(repo.hooksDir, hook), args, { cwd: repo.dir, encoding: "utf8", env });
}

function commitFile(repo: Repo, name: string): { status: number | null; output: string } {
  writeFileSync(join(repo.dir, name), `${name}\n`);
  repo.git("add", name);
  return repo.tryGit("commit", "-q", "-m", `add ${name}`);
}

const HAND_WRITTEN = Buffer.concat([Buffer.from("#!/bin/sh\r\n# hand-written, CRLF, no trailing newline, a latin-1 byte: "), Buffer.from([0xe9]), Buffer.from('\r\necho "$0" >> "$(git rev-parse --git-dir)/../chained.log"')]);

test("install into an empty hooks dir creates three executable hooks with the marker", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  const report = install();
  assert.equal(report.hooksDir, realpathSync(repo.hooksDir));
  assert.deepEqual(report.changes.map((c) => [c.hook, c.action]), HOOK_NAMES.map((h) => [h, "created"]));
  assert.deepEqual(report.warnings, []);
  for (const hook of HOOK_NAMES) {
    const path = join(repo.hooksDir, hook);
    assert.equal(statSync(path).mode & 0o777, 0o755);
    const text = readFileSync(path, "utf8");
    assert.equal(text.split("\n")[1], HOOK_MARKER);
    assert.ok(text.includes(`hooks run ${hook} "$@"`));
    assert.ok(text.includes(`'${pipe.bin.replace(/'/g, `'\\''`)}'`), "paths are single-quoted");
  }
});

test("installing twice changes nothing", (t) => {
  const { repo, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "pre-commit"), HAND_WRITTEN, 0o750);
  install();
  const once = snapshotDir(repo.hooksDir);
  const report = install();
  assert.deepEqual(report.changes.map((c) => c.action), ["unchanged", "unchanged", "unchanged"]);
  assert.deepEqual(snapshotDir(repo.hooksDir), once);
});

test("a pre-existing hook is moved aside and uninstall restores it byte-identical with its mode", (t) => {
  const { repo, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "pre-commit"), HAND_WRITTEN, 0o750);
  writeHook(join(repo.hooksDir, "post-merge"), "#!/bin/sh\necho not executable, so git never ran it\n", 0o644);
  writeHook(join(repo.hooksDir, "pre-push"), "#!/bin/sh\nexit 0\n", 0o755);
  const before = snapshotDir(repo.hooksDir);

  const report = install();
  assert.deepEqual(report.changes.map((c) => [c.hook, c.action]), [["pre-commit", "chained"], ["post-checkout", "created"], ["post-merge", "chained"]]);
  assert.equal(report.changes[0].message, 'moved the existing ".git/hooks/pre-commit" to pre-commit.pipe-chained; pipe\'s hook runs it first');
  assert.deepEqual(readFileSync(join(repo.hooksDir, "pre-commit.pipe-chained")), HAND_WRITTEN);
  assert.equal(statSync(join(repo.hooksDir, "pre-commit.pipe-chained")).mode & 0o777, 0o750);
  install();

  const removal = uninstallHooks({ projectDir: repo.dir });
  assert.deepEqual(removal.changes.map((c) => [c.hook, c.action]), [["pre-commit", "restored"], ["post-checkout", "removed"], ["post-merge", "restored"]]);
  assert.deepEqual(snapshotDir(repo.hooksDir), before);
  assert.deepEqual(uninstallHooks({ projectDir: repo.dir }).changes.map((c) => c.action), ["not-installed", "not-installed", "not-installed"]);
  assert.deepEqual(snapshotDir(repo.hooksDir), before);
});

test("a pre-existing symlinked hook stays a symlink with the same target", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  mkdirSync(join(repo.dir, "scripts"));
  writeHook(join(repo.dir, "scripts", "pre-commit"), `#!/bin/sh\necho linked >> ${JSON.stringify(pipe.log)}\n`, 0o755);
  symlinkSync("../../scripts/pre-commit", join(repo.hooksDir, "pre-commit"));
  const before = snapshotDir(repo.hooksDir);
  install();
  assert.equal(snapshotDir(repo.hooksDir)["pre-commit.pipe-chained"], "link ../../scripts/pre-commit");
  assert.equal(commitFile(repo, "a.txt").status, 0);
  assert.equal(readFileSync(pipe.log, "utf8").split("\n")[0], "linked");
  uninstallHooks({ projectDir: repo.dir });
  assert.deepEqual(snapshotDir(repo.hooksDir), before);
});

test("uninstall without pre-existing hooks leaves the hooks dir empty", (t) => {
  const { repo, install } = setup();
  t.after(repo.remove);
  install();
  uninstallHooks({ projectDir: repo.dir });
  assert.deepEqual(snapshotDir(repo.hooksDir), {});
});

test("on commit the chained hook runs first, then pipe, with the hook's arguments", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "pre-commit"), `#!/bin/sh\necho chained >> ${JSON.stringify(pipe.log)}\n`, 0o755);
  install();
  const r = commitFile(repo, "a.txt");
  assert.equal(r.status, 0, r.output);
  const log = readFileSync(pipe.log, "utf8").split("\n");
  assert.equal(log[0], "chained");
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "pre-commit"]]);
  assert.equal(pipe.calls()[0].cwd, realpathSync(repo.dir));
});

test("a chained husky (v9 layout) hook still finds the user's hook from its $0", (t) => {
  // core.hooksPath=.husky/_ ; .husky/_/pre-commit sources .husky/_/h, which runs .husky/<basename $0>.
  // Had pipe run the moved file as a program, $0 would end in .pipe-chained and the user's hook
  // would silently not run.
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  const husky = join(repo.dir, ".husky");
  mkdirSync(join(husky, "_"), { recursive: true });
  repo.git("config", "core.hooksPath", ".husky/_");
  writeHook(join(husky, "_", "h"), 'name=$(basename "$0")\nuser_hook=$(dirname "$(dirname "$0")")/$name\n[ -f "$user_hook" ] || exit 0\nsh -e "$user_hook" "$@"\n', 0o644);
  writeHook(join(husky, "_", "pre-commit"), '#!/usr/bin/env sh\n. "${0%/*}/h"', 0o755);
  writeHook(join(husky, "pre-commit"), `echo "user hook $#" >> ${JSON.stringify(pipe.log)}\n`, 0o644);
  install();
  assert.equal(commitFile(repo, "a.txt").status, 0);
  assert.deepEqual(readFileSync(pipe.log, "utf8").split("\n").slice(0, 1), ["user hook 0"]);
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "pre-commit"]]);
  writeHook(join(husky, "pre-commit"), "exit 7\n", 0o644);
  assert.notEqual(commitFile(repo, "b.txt").status, 0, "the user's failing husky hook still blocks the commit");
  assert.equal(pipe.calls().length, 1);
});

test("a chained hook that is not a plain sh script runs as a program with git's arguments", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "post-checkout"), `#!${process.execPath}\nrequire("node:fs").appendFileSync(${JSON.stringify(pipe.log)}, "chained " + JSON.stringify(process.argv.slice(2)) + "\\n");\nprocess.exit(5);\n`, 0o755);
  install();
  const r = runHookFile(repo, "post-checkout", ["a", "b", "1"]);
  assert.equal(r.status, 5, "post-checkout keeps the chained hook's exit code");
  assert.equal(readFileSync(pipe.log, "utf8").split("\n")[0], 'chained ["a","b","1"]');
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "post-checkout", "a", "b", "1"]]);
});

test("a failing pre-existing pre-commit blocks the commit and pipe does not run", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "pre-commit"), `#!/bin/sh\necho "lint failed" >&2\nexit 3\n`, 0o755);
  install();
  const head = repo.git("rev-parse", "HEAD");
  const r = commitFile(repo, "a.txt");
  assert.notEqual(r.status, 0);
  assert.match(r.output, /lint failed/);
  assert.equal(repo.git("rev-parse", "HEAD"), head);
  assert.deepEqual(pipe.calls(), []);
  assert.equal(runHookFile(repo, "pre-commit").status, 3, "the chained hook's exit code is kept");
});

test("pipe's exit code 1 blocks the commit; 0 lets it through", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  install();
  const head = repo.git("rev-parse", "HEAD");
  pipe.setExitCode(1);
  assert.notEqual(commitFile(repo, "a.txt").status, 0);
  assert.equal(repo.git("rev-parse", "HEAD"), head);
  pipe.setExitCode(0);
  assert.equal(repo.tryGit("commit", "-q", "-m", "now").status, 0);
  assert.notEqual(repo.git("rev-parse", "HEAD"), head);
});

test("during a rebase, merge, cherry-pick or revert the hooks exit 0 without running pipe", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  install();
  pipe.setExitCode(1); // would block, if it ran
  const gitDir = join(repo.dir, ".git");
  for (const marker of ["rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"]) {
    const path = join(gitDir, marker);
    if (marker.startsWith("rebase")) mkdirSync(path);
    else writeFileSync(path, repo.git("rev-parse", "HEAD"));
    for (const [hook, args] of [["pre-commit", []], ["post-checkout", ["a", "b", "1"]]] as const) {
      const r = runHookFile(repo, hook, [...args]);
      assert.equal(r.status, 0, `${hook} with ${marker}: ${r.stderr}`);
    }
    rmSync(path, { recursive: true });
  }
  mkdirSync(join(gitDir, "rebase-merge"));
  assert.equal(commitFile(repo, "during-rebase.txt").status, 0);
  rmSync(join(gitDir, "rebase-merge"), { recursive: true });
  assert.deepEqual(pipe.calls(), []);
});

test("post-merge runs pipe after a real merge, although git still has MERGE_HEAD then", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  repo.git("checkout", "-q", "-b", "side");
  commitFile(repo, "side.txt");
  repo.git("checkout", "-q", "main");
  commitFile(repo, "main.txt");
  install();
  const r = repo.tryGit("merge", "-q", "--no-edit", "side");
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "post-merge", "0"]]);
});

test("post-checkout runs pipe with git's arguments; its failure does not fail the checkout", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  const first = repo.git("rev-parse", "HEAD").trim();
  repo.git("checkout", "-q", "-b", "next");
  commitFile(repo, "b.txt");
  const second = repo.git("rev-parse", "HEAD").trim();
  install();
  pipe.setExitCode(2);
  assert.equal(repo.tryGit("checkout", "-q", "main").status, 0);
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "post-checkout", second, first, "1"]]);
});

test("core.hooksPath is honoured, and husky's directory gets a warning", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  repo.git("config", "core.hooksPath", ".husky/_");
  const report = install(join(repo.dir));
  assert.equal(report.hooksDir, join(realpathSync(repo.dir), ".husky", "_"));
  assert.deepEqual(report.warnings, [
    'the hooks directory ".husky/_" (core.hooksPath) is inside the work tree; git status may show pipe\'s hook files and any hook moved aside',
    'warning: husky rewrites ".husky/_" when it installs (npm install), which removes pipe\'s hooks\n  hint: add `npx pipe hooks run <hook> "$@"` to .husky/<hook> instead, or run `pipe hooks install` again after husky',
  ]);
  assert.ok(existsSync(join(repo.dir, ".husky", "_", "pre-commit")));
  assert.ok(!existsSync(join(repo.hooksDir, "pre-commit")));
  assert.equal(commitFile(repo, "a.txt").status, 0);
  assert.deepEqual(pipe.calls().map((c) => c.argv), [["hooks", "run", "pre-commit"]]);
});

test("when bin/pipe.js is gone the hook falls back to npx --no-install pipe", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  install();
  rmSync(pipe.bin);
  const fakeBin = join(dirname(repo.dir), "fake-npx");
  mkdirSync(fakeBin);
  writeHook(join(fakeBin, "npx"), `#!/bin/sh\necho "npx $*" >> ${JSON.stringify(pipe.log)}\nexit 1\n`, 0o755);
  const r = runHookFile(repo, "pre-commit", [], { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` });
  assert.equal(r.status, 1, "npx's exit code is the hook's");
  assert.equal(readFileSync(pipe.log, "utf8"), "npx --no-install pipe hooks run pre-commit\n");
});

test("a project in a subdirectory: pipe runs there, with GIT_INDEX_FILE still pointing at the index", (t) => {
  const { repo, pipe, install } = setup();
  t.after(repo.remove);
  const project = join(repo.dir, "ml project");
  mkdirSync(project);
  install(project);
  assert.equal(commitFile(repo, "a.txt").status, 0);
  const [call] = pipe.calls();
  assert.equal(call.cwd, realpathSync(project));
  // git passes GIT_INDEX_FILE=.git/index, relative to the work tree root, to pre-commit.
  assert.equal(call.indexFile, join(realpathSync(repo.dir), ".git", "index"));
});

test("a hook that is not pipe's next to an existing .pipe-chained is a conflict; nothing changes", (t) => {
  const { repo, install } = setup();
  t.after(repo.remove);
  writeHook(join(repo.hooksDir, "pre-commit"), "#!/bin/sh\necho new\n", 0o755);
  writeHook(join(repo.hooksDir, "pre-commit.pipe-chained"), "#!/bin/sh\necho old\n", 0o755);
  const before = snapshotDir(repo.hooksDir);
  const report = install();
  assert.deepEqual(report.changes[0], {
    hook: "pre-commit",
    path: join(realpathSync(repo.hooksDir), "pre-commit"),
    action: "conflict",
    message:
      'error: ".git/hooks/pre-commit" is not pipe\'s hook and ".git/hooks/pre-commit.pipe-chained" already exists; left both alone\n  hint: move one of them out of the way, then run `pipe hooks install` again',
  });
  assert.equal(snapshotDir(repo.hooksDir)["pre-commit"], before["pre-commit"]);
  assert.equal(snapshotDir(repo.hooksDir)["pre-commit.pipe-chained"], before["pre-commit.pipe-chained"]);
  assert.equal(uninstallHooks({ projectDir: repo.dir }).changes[0].action, "left-alone");
  assert.equal(snapshotDir(repo.hooksDir)["pre-commit"], before["pre-commit"]);
});

test("the git index and refs are byte-identical after install, hook runs and uninstall", (t) => {
  const { repo, install } = setup();
  t.after(repo.remove);
  writeFileSync(join(repo.dir, "staged.txt"), "x\n");
  repo.git("add", "staged.txt");
  const index = readFileSync(join(repo.dir, ".git", "index"));
  const refs = repo.git("show-ref", "--head");
  install();
  runHookFile(repo, "pre-commit");
  runHookFile(repo, "post-checkout", ["a", "b", "1"]);
  runHookFile(repo, "post-merge", ["0"]);
  uninstallHooks({ projectDir: repo.dir });
  assert.deepEqual(readFileSync(join(repo.dir, ".git", "index")), index);
  assert.equal(repo.git("show-ref", "--head"), refs);
});

test("from a linked worktree, hooks go to the common hooks dir and defer during that worktree's rebase", (t) => {
  const { repo, pipe } = setup();
  t.after(repo.remove);
  const wt = join(dirname(repo.dir), "wt");
  repo.git("worktree", "add", "-q", wt);
  const report = installHooks({ projectDir: wt, nodePath: process.execPath, pipeBin: pipe.bin });
  assert.equal(report.hooksDir, realpathSync(repo.hooksDir));
  const wtGitDir = execFileSync("git", ["rev-parse", "--absolute-git-dir"], { cwd: wt, encoding: "utf8" }).trim();
  mkdirSync(join(wtGitDir, "rebase-merge"));
  const r = spawnSync(join(repo.hooksDir, "pre-commit"), [], { cwd: wt, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(pipe.calls(), []);
  rmSync(join(wtGitDir, "rebase-merge"), { recursive: true });
  spawnSync(join(repo.hooksDir, "pre-commit"), [], { cwd: wt, encoding: "utf8" });
  assert.deepEqual(pipe.calls().map((c) => c.cwd), [realpathSync(wt)]);
});

test("outside a git work tree install throws a GitHooksError with a hint", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-nogit-"));
  try {
    assert.throws(
      () => installHooks({ projectDir: dir, nodePath: process.execPath, pipeBin: "/x/bin/pipe.js" }),
      (e: unknown) => e instanceof GitHooksError && e.message.startsWith(`error: ${JSON.stringify(realpathSync(dir))} is not inside a git work tree`) && /bare/.test(e.hint ?? ""),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
