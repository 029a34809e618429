// Running one target safely: secrets stay out of output, logs stay truthful, odd inputs and
// odd output names fail only their target, publishing stays inside the project, and an input
// that moves during a run is never recorded as what the output was built from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { collect, finished, Project, waitForLine, type RunResult } from "../helpers/rig.ts";

const HEAD = `import { target, sh } from "pipefile";\n`;

/** Every file under .pipe/ (logs, records, snapshot) as one string. */
function stateText(p: Project): string {
  let text = "";
  const walk = (abs: string) => {
    for (const ent of readdirSync(abs, { withFileTypes: true })) {
      if (ent.isDirectory()) walk(`${abs}/${ent.name}`);
      else if (ent.isFile()) text += readFileSync(`${abs}/${ent.name}`, "latin1");
    }
  };
  walk(p.path(".pipe"));
  return text;
}

test("each line of a multi-line secret is masked in events and logs", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ env: ["DEPLOY_KEY"], outputs: ["out/a.txt"], run: ({ outputs }) => sh\`sh -c 'printf "%s\\n" "$DEPLOY_KEY"; echo ok > "$1"' _ \${outputs[0]}\` });\n`,
  });
  const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
  const r = await p.run(["build", "--json"], { env: { DEPLOY_KEY: key } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.events.filter((e) => e.type === "log" && (e as { stream: string }).stream === "stdout").map((e) => (e as { line: string }).line);
  assert.deepEqual(lines, ["***", "***", "***"]);
  const all = r.stdout + r.stderr + stateText(p);
  assert.doesNotMatch(all, /b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ/);
  assert.doesNotMatch(all, /PRIVATE KEY/);
  p.remove();
});

test("a run that prints nothing removes the log of an earlier failed run", async () => {
  const p = new Project({
    "in.txt": "bad\n",
    "Pipelinefile.ts": HEAD +
      `export const t = target({ inputs: ["in.txt"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`sh -c \${'if grep -q bad "$1"; then echo FAILURE-OUTPUT; exit 1; fi; cp "$1" "$2"'} sh \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  const r1 = await p.run(["build", "--json"]);
  assert.equal(r1.code, 1);
  const started = r1.events.find((e) => e.type === "target-started") as { logPath: string };
  assert.match(p.read(started.logPath), /FAILURE-OUTPUT/);
  p.write({ "in.txt": "good\n" });
  const r2 = await p.run(["build", "--json"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(finished(r2.events, "built"), ["t"]);
  assert.equal(p.exists(started.logPath), false, "the failed run's log is gone");
  p.remove();
});

/** Runs pipe, killed after `ms` if it has not exited (a bound for hangs, not a wait). */
async function runBounded(p: Project, args: string[], ms = 30_000): Promise<RunResult & { hung: boolean }> {
  const child = p.spawn(args);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, ms);
  const r = await collect(child);
  clearTimeout(timer);
  return { ...r, hung };
}

test("a FIFO declared as an input fails its target with a message naming it, never blocks", async () => {
  const p = new Project({
    "data/one.csv": "1\n",
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["data/stream.csv"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`echo \${inputs} > \${outputs[0]}\` });\n` +
      `export const b = target({ inputs: ["data/one.csv"], outputs: ["out/b.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  execFileSync("mkfifo", [p.path("data/stream.csv")]);
  const r = await runBounded(p, ["build", "-k", "--json"]);
  assert.equal(r.hung, false, "pipe blocked reading the FIFO");
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(finished(r.events, "failed"), ["a"]);
  assert.deepEqual(finished(r.events, "built"), ["b"]);
  const failedA = r.events.find((e) => e.type === "target-finished" && e.target === "a") as { error: string };
  assert.match(failedA.error, /^input "data\/stream\.csv" is a FIFO \(named pipe\), not a regular file or folder/);
  p.remove();
});

test("an output with a long but legal name is staged with its extension and published; other targets finish", async () => {
  const long = "x".repeat(226) + ".csv"; // 230 bytes: legal, but not with a staging prefix in front
  const p = new Project({
    "src/in.txt": "hi\n",
    "Pipelinefile.ts": HEAD +
      `export const other = target({ inputs: ["src/in.txt"], outputs: ["out/other.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      // The staged path must keep ".csv" (tools infer formats from it) and fit NAME_MAX.
      `export const long = target({ inputs: ["src/in.txt"], outputs: ["out/${long}"], run: ({ inputs, outputs }) => sh\`sh -c 'case "$2" in *.csv) cp "$1" "$2";; *) echo "no .csv: $2"; exit 9;; esac' _ \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "-k", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["long", "other"]);
  assert.equal(p.read(`out/${long}`), "hi\n");
  assert.deepEqual(readdirSync(p.path("out")).sort(), ["other.txt", long].sort(), "no staged leftovers");
  const again = await p.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "up-to-date"), ["long", "other"]);
  p.remove();
});

/** A recipe step that waits (bounded, 20 s) for the file `name` in the project root. */
const waitFor = (name: string) => `i=0; while [ ! -e ${name} ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done`;
const WAIT_GO = waitFor("go");

/**
 * Builds a one-target project whose recipe waits (after READY) while the test swaps its output
 * folder `out` for a symlink to `linkTo`; returns the project and the finished build.
 */
async function swapOutputFolderDuringRun(linkTo: (p: Project) => string) {
  const p = new Project({
    "src/in.txt": "one\n",
    "out/.keep": "",
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["src/in.txt"], outputs: ["out/x.txt"], run: ({ inputs, outputs }) => sh\`sh -c 'echo READY; ${WAIT_GO}; cat "$1" > "$2"' _ \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  const child = p.spawn(["build", "--json"]);
  const done = collect(child);
  await waitForLine(child, (l) => l.includes('"line":"READY"'));
  renameSync(p.path("out"), p.path("out.moved"));
  symlinkSync(linkTo(p), p.path("out"));
  writeFileSync(p.path("go"), "");
  const r = await done;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const fin = r.events.find((e) => e.type === "target-finished" && e.target === "a") as { status: string; error: string };
  assert.equal(fin.status, "failed");
  return { p, error: fin.error };
}

test("an output folder swapped for a symlink out of the project during the run is not published through", async () => {
  const outside = mkdtempSync(join(tmpdir(), "pipe-sentinel-"));
  writeFileSync(join(outside, "keep"), "keep\n");
  const { p, error } = await swapOutputFolderDuringRun(() => outside);
  assert.match(error, /not moving output "out\/x\.txt" into place: its folder "out" is now a symlink leading outside the project/);
  assert.deepEqual(readdirSync(outside), ["keep"], "nothing left outside the project");
  // Put right, the next build restores what the run made: it was recorded (its bytes stored)
  // before pipe came to move it into place, so the recipe need not run again.
  rmSync(p.path("out"));
  renameSync(p.path("out.moved"), p.path("out"));
  const again = await p.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "restored"), ["a"]);
  assert.deepEqual(finished(again.events, "built"), []);
  assert.equal(p.read("out/x.txt"), "one\n");
  rmSync(outside, { recursive: true, force: true });
  p.remove();
});

test("an output folder swapped for a symlink to another folder of the project during the run is not published through", async () => {
  const { p, error } = await swapOutputFolderDuringRun(() => "src");
  assert.match(error, /its folder "out" is now a symlink to src in the project/);
  assert.deepEqual(readdirSync(p.path("src")), ["in.txt"], "nothing written into the user's sources");
  p.remove();
});

test("an input changed and changed back while its recipe ran (A -> B -> A): a warning, and the next build runs it again", async () => {
  const p = new Project({
    "src/in.txt": "A\n",
    // The recipe says READY, reads its input once the test changed it to B, says COPIED, then
    // waits until the test has put A back.
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["src/in.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`sh -c 'echo READY; ${waitFor("read")}; cat "$1" > "$2"; echo COPIED; ${waitFor("go")}' _ \${inputs[0]} \${outputs[0]}\` });\n`,
  });
  const child = p.spawn(["build", "--json"]);
  const done = collect(child);
  await waitForLine(child, (l) => l.includes('"line":"READY"'));
  writeFileSync(p.path("src/in.txt"), "B\n");
  writeFileSync(p.path("read"), "");
  await waitForLine(child, (l) => l.includes('"line":"COPIED"'));
  writeFileSync(p.path("src/in.txt"), "A\n");
  writeFileSync(p.path("go"), "");
  const r = await done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const warn = r.events.find((e) => e.type === "warning") as { message: string } | undefined;
  assert.match(warn?.message ?? "", /^input src\/in\.txt changed while "a" ran \(written again; its content now is as before, but the recipe may have read other bytes\); its result is not recorded as up to date, so the next build runs it again \(if the recipe writes it itself, declare it as an output, or write it outside the inputs: every build would run it again\)$/);
  assert.equal(p.read("out/a.txt"), "B\n", "the recipe read B");
  // Nothing may call that output up to date: not the records, not the no-op snapshot.
  const status = await p.run(["status"]);
  assert.match(status.stdout, /^stale\s+a\s+input src\/in\.txt changed$/m, status.stdout);
  const again = await p.run(["build", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(finished(again.events, "built"), ["a"]);
  assert.equal(p.read("out/a.txt"), "A\n");
  const third = await p.run(["build", "--json"]);
  assert.deepEqual(finished(third.events, "up-to-date"), ["a"]);
  p.remove();
});

test("a symlink inside .pipe/ (staging, kept, cache/tmp, the journal) or .pipe/ itself is refused before anything is removed or written through it", async () => {
  // Before: `rm -rf .pipe/staging && ln -s ~/victim .pipe/staging` and the next build emptied
  // ~/victim; a dangling .pipe/records.jsonl link had the journal created where it pointed.
  const victim = mkdtempSync(join(tmpdir(), "pipe-victim-"));
  writeFileSync(join(victim, "precious.txt"), "precious");
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const a = target({ inputs: ["in.txt"], outputs: ["build/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`,
    "in.txt": "one",
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    const cases: [string, () => void][] = [
      [".pipe/staging", () => (rmSync(p.path(".pipe/staging"), { recursive: true, force: true }), symlinkSync(victim, p.path(".pipe/staging")))],
      [".pipe/kept", () => (rmSync(p.path(".pipe/kept"), { recursive: true, force: true }), symlinkSync(victim, p.path(".pipe/kept")))],
      [".pipe/cache/tmp", () => (rmSync(p.path(".pipe/cache/tmp"), { recursive: true, force: true }), symlinkSync(victim, p.path(".pipe/cache/tmp")))],
      [".pipe/records.jsonl", () => (renameSync(p.path(".pipe/records.jsonl"), p.path("records.bak")), symlinkSync(join(victim, "created-by-pipe"), p.path(".pipe/records.jsonl")))],
    ];
    let n = 0;
    for (const [link, plant] of cases) {
      plant();
      p.write({ "in.txt": `change ${n++}` });
      for (const args of [["build"], ["clean"], ["gc"]]) {
        const r = await p.run(args);
        assert.equal(r.code, 2, `${link} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`error: pipe's state folder holds a symbolic link: ${link.replace(/[./]/g, "\\$&")} -> ${victim.replace(/[./]/g, "\\$&")}.*; pipe removes and writes files there, and never through a link`));
        assert.match(r.stderr, new RegExp(`hint: remove the link \\(rm ${link.replace(/[./]/g, "\\$&")}\\)`));
      }
      assert.deepEqual(readdirSync(victim), ["precious.txt"], `${link}: nothing removed or created where it points`);
      rmSync(p.path(link));
      if (link === ".pipe/records.jsonl") renameSync(p.path("records.bak"), p.path(".pipe/records.jsonl"));
      const again = await p.run(["build"]);
      assert.equal(again.code, 0, again.stderr);
    }
    // .pipe/noop, with nothing changed: the no-op answer (which writes temps there) is not given
    // through the link; the full path names it.
    assert.equal((await p.run(["build"])).code, 0, "a snapshot to answer from");
    renameSync(p.path(".pipe/noop"), join(victim, "noop"));
    symlinkSync(join(victim, "noop"), p.path(".pipe/noop"));
    const inNoop = readdirSync(join(victim, "noop")).sort();
    const noop = await p.run(["build"]);
    assert.equal(noop.code, 2, noop.stdout + noop.stderr);
    assert.match(noop.stderr, /error: pipe's state folder holds a symbolic link: \.pipe\/noop -> /);
    assert.deepEqual(readdirSync(join(victim, "noop")).sort(), inNoop, "nothing written through it");
    rmSync(p.path(".pipe/noop"));
    // .pipe itself.
    renameSync(p.path(".pipe"), join(victim, "state"));
    symlinkSync(join(victim, "state"), p.path(".pipe"));
    p.write({ "in.txt": "last" });
    const r = await p.run(["build"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error: pipe's state folder holds a symbolic link: \.pipe -> /);
    assert.equal(p.read("build/a.txt"), `change ${n - 1}`, "nothing was built through it");
  } finally {
    p.remove();
    rmSync(victim, { recursive: true, force: true });
  }
});

test("a target whose second output cannot be moved into place changes none of them: the first is put back (a file, a folder, one that was missing)", async () => {
  // Before: a failed move of build/d (chattr +i) left build/a.txt holding the failed run's bytes.
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, param, sh } from "pipefile";\n` +
      `export const n = param.int("n", { default: 1 });\n` +
      `export const t = target({ params: { n }, outputs: ["build/a.txt", "build/d/"], run: ({ params, outputs }) => sh\`echo \${params.n} > \${outputs[0]}; mkdir -p \${outputs[1]}; echo \${params.n} > \${outputs[1]}/f\` });\n` +
      `export const u = target({ params: { n }, outputs: ["build/d2/", "build/b.txt"], run: ({ params, outputs }) => sh\`mkdir -p \${outputs[0]}; echo \${params.n} > \${outputs[0]}/f; echo \${params.n} > \${outputs[1]}\` });\n` +
      `export const v = target({ params: { n }, outputs: ["build/only-new.txt", "build/c.txt"], run: ({ params, outputs }) => sh\`echo \${params.n} > \${outputs[0]}; echo \${params.n} > \${outputs[1]}\` });\n`,
  });
  try {
    assert.equal((await p.run(["build", "t", "u"])).code, 0);
    // v's first output is new in the failing build: it has to go again.
    assert.equal((await p.run(["build", "v", "-p", "n=1"])).code, 0);
    rmSync(p.path("build/only-new.txt"));
    const before = { a: p.read("build/a.txt"), d: p.read("build/d/f"), d2: p.read("build/d2/f"), b: p.read("build/b.txt"), c: p.read("build/c.txt") };
    for (const target of ["t", "u", "v"]) {
      const r = await p.run(["build", target, "-j", "1", "-p", "n=2"], { env: { PIPE_TEST_FAIL_AT: "publish-rename:2" } });
      assert.equal(r.code, 1, `${target}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /EIO: i\/o error, injected at publish-rename/);
    }
    assert.deepEqual({ a: p.read("build/a.txt"), d: p.read("build/d/f"), d2: p.read("build/d2/f"), b: p.read("build/b.txt"), c: p.read("build/c.txt") }, before, "every output as it was");
    assert.equal(p.exists("build/only-new.txt"), false, "the output that was missing is missing again");
    assert.deepEqual(readdirSync(p.path("build")).filter((n) => n.startsWith(".pipe-tmp-")), [], "nothing staged left");
    // Without the failure: built, all outputs of the new run.
    const ok = await p.run(["build", "t", "u", "v", "-p", "n=2"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual([p.read("build/a.txt"), p.read("build/d/f"), p.read("build/d2/f"), p.read("build/b.txt"), p.read("build/only-new.txt")], ["2\n", "2\n", "2\n", "2\n", "2\n"]);
    assert.doesNotMatch(ok.stdout + ok.stderr, /changed outside pipe/, "what was put back is pipe's own");
  } finally {
    p.remove();
  }
});
