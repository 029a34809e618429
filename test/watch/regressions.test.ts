/**
 * `pipe watch` regressions, end to end (real CLI, real chokidar). Each test waits on pipe's own
 * events or on its exit; nothing sleeps.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliRun, is, makeProject } from "./cli-rig.ts";

/** Runs `body` with a watch over a fresh project, then kills it and removes the project. */
async function withWatch(
  files: Record<string, string>,
  args: string[],
  body: (run: CliRun, dir: string) => Promise<void>,
  prepare: (dir: string) => void = () => undefined,
): Promise<void> {
  const dir = makeProject(files);
  prepare(dir);
  const run = new CliRun(dir, ["watch", "--json", "--debounce", "50", ...args]);
  try {
    await body(run, dir);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("pipe watch: deleted sources", () => {
  //  src/in.txt ──► a ──► out/a.txt       (the Pipelinefile imports lib/helper.ts)
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
import { suffix } from "./lib/helper.ts";
export const a = target({ inputs: ["src/in.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`sh -c 'cat "$1" > "$2"; echo "$3" >> "$2"' _ \${inputs[0]} \${outputs[0]} \${suffix}\` });
export default [a];
`,
    "lib/helper.ts": `export const suffix = "one";\n`,
    "src/in.txt": "1\n",
  };

  test("an input deleted and then re-created is watched again, and so is a deleted local module", async () => {
    await withWatch(files, [], async (run, dir) => {
      const read = () => readFileSync(join(dir, "out/a.txt"), "utf8");
      await run.next(is.idle, "the first watch-idle");
      assert.equal(read(), "1\none\n");

      unlinkSync(join(dir, "src/in.txt"));
      const gone = await run.next(is.change, "watch-change for the deleted input");
      assert.deepEqual(gone.event.paths, ["src/in.txt"]);
      await run.next(is.idle, "watch-idle after the deleted input");
      writeFileSync(join(dir, "src/in.txt"), "2\n");
      const back = await run.next(is.change, "watch-change for the re-created input");
      assert.deepEqual(back.event.paths, ["src/in.txt"]);
      await run.next(is.idle, "watch-idle after the re-created input");
      assert.equal(read(), "2\none\n");
      writeFileSync(join(dir, "src/in.txt"), "3\n");
      await run.next(is.change, "watch-change for an edit of the re-created input");
      await run.next(is.idle, "watch-idle after the edit");
      assert.equal(read(), "3\none\n");

      unlinkSync(join(dir, "lib/helper.ts"));
      await run.next(is.change, "watch-change for the deleted module");
      await run.next(is.idle, "watch-idle after the deleted module");
      writeFileSync(join(dir, "lib/helper.ts"), `export const suffix = "two";\n`);
      const mod = await run.next(is.change, "watch-change for the re-created module");
      assert.deepEqual(mod.event.paths, ["lib/helper.ts"]);
      const idle = await run.next(is.idle, "watch-idle after the re-created module");
      assert.equal(idle.event.lastRunOk, true);
      assert.equal(read(), "3\ntwo\n");
    });
  });
});

describe("pipe watch: symlinks", () => {
  //  data/ (holds sub/f.txt and root -> /) ──► b ──► out/b.txt
  //  linked.txt -> real/linked.txt ────────► c ──► out/c.txt
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const b = target({ inputs: ["data/"], outputs: ["out/b.txt"], run: ({ outputs }) => sh\`sh -c 'cat data/sub/f.txt > "$1"; readlink data/root >> "$1"' _ \${outputs[0]}\` });
export const c = target({ inputs: ["linked.txt"], outputs: ["out/c.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
export default [b, c];
`,
    "data/sub/f.txt": "1\n",
    "real/linked.txt": "first\n",
  };
  const links = (dir: string) => {
    symlinkSync("/", join(dir, "data/root"));
    symlinkSync("real/linked.txt", join(dir, "linked.txt"));
  };

  test("a link to / inside a directory input is watched as a link, not walked; a linked file input is read through", async () => {
    await withWatch(
      files,
      [],
      async (run, dir) => {
        const read = (rel: string) => readFileSync(join(dir, rel), "utf8");
        // Walking / would take far longer than this guard (and gigabytes of memory).
        const first = await run.next(is.idle, "the first watch-idle", 15_000);
        assert.equal(first.event.lastRunOk, true, run.stderr);
        assert.equal(read("out/b.txt"), "1\n/\n");
        writeFileSync(join(dir, "data/sub/f.txt"), "2\n");
        const edit = await run.next(is.change, "watch-change for data/sub/f.txt");
        assert.deepEqual(edit.event.paths, ["data/sub/f.txt"]);
        await run.next(is.idle, "watch-idle after data/sub/f.txt");
        assert.equal(read("out/b.txt"), "2\n/\n");
        // The link counts by its target text: pointing it elsewhere is a change.
        unlinkSync(join(dir, "data/root"));
        symlinkSync("/tmp", join(dir, "data/root"));
        await run.next(is.change, "watch-change for the re-pointed link");
        await run.next(is.idle, "watch-idle after the re-pointed link");
        assert.equal(read("out/b.txt"), "2\n/tmp\n");
        // A file input that is a link is read through: editing the file it points to counts.
        writeFileSync(join(dir, "real/linked.txt"), "second\n");
        const through = await run.next(is.change, "watch-change for the linked file's content");
        assert.deepEqual(through.event.paths, ["linked.txt"]);
        await run.next(is.idle, "watch-idle after the linked file's content");
        assert.equal(read("out/c.txt"), "second\n");
        run.child.kill("SIGINT");
        assert.equal((await run.exited).code, 130);
      },
      links,
    );
  });
});

describe("pipe watch: a linked file input pointed elsewhere", () => {
  //  data/latest.csv -> ../snapshots/2024-01.csv, then -> ../snapshots/2024-02.csv ──► t ──► out/t.txt
  // The watcher followed the link once, when watching started: re-pointing it (ln -sfn replaces
  // the link, not the file) was never seen, nor were edits of the file it now names.
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const t = target({ inputs: ["data/latest.csv"], outputs: ["out/t.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
`,
    "snapshots/2024-01.csv": "jan\n",
    "snapshots/2024-02.csv": "feb\n",
  };
  const link = (dir: string) => {
    mkdirSync(join(dir, "data"));
    symlinkSync("../snapshots/2024-01.csv", join(dir, "data/latest.csv"));
  };

  test("re-pointing the link builds, and so do later edits of the file it now points to", async () => {
    await withWatch(
      files,
      [],
      async (run, dir) => {
        const read = () => readFileSync(join(dir, "out/t.txt"), "utf8");
        const first = await run.next(is.idle, "the first watch-idle");
        assert.equal(first.event.lastRunOk, true, run.stderr);
        assert.equal(first.skipped.filter(is.buildStarted).length, 1, "watching the link's folder starts no build of its own");
        assert.equal(read(), "jan\n");
        execFileSync("ln", ["-sfn", "../snapshots/2024-02.csv", join(dir, "data/latest.csv")]);
        const repointed = await run.next(is.change, "watch-change for the re-pointed link");
        assert.deepEqual(repointed.event.paths, ["data/latest.csv"]);
        await run.next(is.idle, "watch-idle after the re-pointed link");
        assert.equal(read(), "feb\n");
        writeFileSync(join(dir, "snapshots/2024-02.csv"), "feb, revised\n");
        const edited = await run.next(is.change, "watch-change for an edit of the new link target");
        assert.deepEqual(edited.event.paths, ["data/latest.csv"]);
        await run.next(is.idle, "watch-idle after the edit");
        assert.equal(read(), "feb, revised\n");
      },
      link,
    );
  });
});

describe("pipe watch: stdout closed", () => {
  test("a closed stdout (the reader is gone) ends watch like Ctrl-C, at its next write", async () => {
    const files = {
      "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const a = target({ inputs: ["src/in.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
export default [a];
`,
      "src/in.txt": "1\n",
    };
    await withWatch(files, [], async (run, dir) => {
      await run.next(is.idle, "the first watch-idle");
      run.child.stdout!.destroy(); // what `| head -1` or a parent that died leaves behind
      writeFileSync(join(dir, "src/in.txt"), "2\n"); // watch writes its watch-change line: EPIPE
      const guard = setTimeout(() => run.child.kill("SIGKILL"), 20_000);
      const { code, signal } = await run.exited;
      clearTimeout(guard);
      assert.deepEqual({ code, signal }, { code: 130, signal: null }, `watch did not end on its own\n${run.stderr}`);
    });
  });
});

describe("pipe watch: a mistake in the request", () => {
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const a = target({ inputs: ["src/in.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
export default [a];
`,
    "src/in.txt": "1\n",
  };
  for (const args of [["nosuch"], ["--param", "nosuch=1"]]) {
    test(`pipe watch ${args.join(" ")} reports it and exits 2, as build does`, async () => {
      await withWatch(files, args, async (run) => {
        const guard = setTimeout(() => run.child.kill("SIGKILL"), 20_000);
        const { code } = await run.exited;
        clearTimeout(guard);
        assert.equal(code, 2, "watch ended on its own with the usage exit code");
        assert.deepEqual(
          run.events.map((e) => e.type),
          ["error"],
        );
        assert.match(run.events[0].message, /^error: unknown (target|param) "nosuch"/);
      });
    });
  }
});

describe("pipe watch: a recipe that writes one of its own inputs", () => {
  // summary reads data/*.txt and writes data/log.txt (the same bytes every time): each build
  // changed its input while it ran, which started the next build, forever (45 builds in 10 s).
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const summary = target({ inputs: ["data/*.txt"], outputs: ["build/summary.txt"], run: ({ inputs, outputs }) => sh\`sh -c 'cat "$@" | wc -l > build/.n; echo same > data/log.txt; mv build/.n "$0"' \${outputs[0]} \${inputs}\` });
export const other = target({ inputs: ["other.txt"], outputs: ["build/other.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
`,
    "data/a.txt": "a\n",
    "other.txt": "1\n",
  };

  test("one more build, then a warning naming the file, and no build for it again; other changes still build", async () => {
    await withWatch(files, [], async (run, dir) => {
      await run.next(is.buildFinished, "the first build");
      const warning = await run.next((e) => e.type === "warning" && /seems to write it itself/.test(e.message), "the loop warning");
      assert.match(warning.event.message, /^data\/log\.txt changed while the last two builds ran, each time while a recipe that reads it ran: it seems to write it itself\. pipe watch does not build again for those changes; declare such a file as an output of the target that writes it, or write it outside the inputs$/);
      // The first build, the one log.txt's creation started (now an input), and one more.
      assert.ok(run.events.filter(is.buildStarted).length <= 3, `builds before the warning: ${run.events.filter(is.buildStarted).length}`);
      const idle = await run.next(is.idle, "idle after the loop stopped");
      assert.equal(idle.skipped.filter(is.buildStarted).length, 0, "no build after the warning");
      // Another change builds as usual, and only what it started.
      writeFileSync(join(dir, "other.txt"), "2\n");
      const change = await run.next(is.change, "the change of other.txt");
      assert.deepEqual(change.event.paths, ["other.txt"]);
      const done = await run.next(is.buildFinished, "its build");
      assert.equal(done.event.ok, true);
      assert.equal(readFileSync(join(dir, "build/other.txt"), "utf8"), "2\n");
    });
  });
});

describe("pipe watch: a recipe that writes into its own directory input", () => {
  // t reads raw/ (a directory input) and appends to raw/run.log: the build says "raw/ changed
  // while t ran", the watcher says raw/run.log changed, and the loop guard compared the two as
  // they were, so it never fired (55 builds in 13 s).
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const t = target({ inputs: ["raw/"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]}/*.txt > \${outputs[0]}; date +%N >> \${inputs[0]}/run.log\` });
export const other = target({ inputs: ["other.txt"], outputs: ["build/other.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
`,
    "raw/a.txt": "x\n",
    "other.txt": "1\n",
  };

  test("one more build at most, then a warning names the file inside the folder, and the loop stops; an edit then builds once", async () => {
    await withWatch(files, [], async (run, dir) => {
      // The first build writes raw/run.log before the folder is watched: the catch-up finds it.
      const warning = await run.next((e) => e.type === "warning" && /seems to write it itself/.test(e.message), "the loop warning");
      assert.match(warning.event.message, /^raw\/run\.log changed while the last two builds ran/);
      assert.ok(warning.skipped.filter(is.buildStarted).length <= 3, `builds before the warning: ${warning.skipped.filter(is.buildStarted).length}`);
      const idle = await run.next(is.idle, "idle after the loop stopped");
      assert.equal(idle.skipped.filter(is.buildStarted).length, 0, "no build after the warning");
      writeFileSync(join(dir, "raw/a.txt"), "x\ny\n");
      const change = await run.next(is.change, "the change of raw/a.txt");
      assert.deepEqual(change.event.paths, ["raw/a.txt"]);
      const after = await run.next(is.idle, "idle after the edit");
      assert.equal(after.skipped.filter(is.buildStarted).length, 1, "one build for the edit");
      assert.equal(readFileSync(join(dir, "build/t.txt"), "utf8"), "x\ny\n");
      // Nothing ran since: the next event is the one another change starts.
      writeFileSync(join(dir, "other.txt"), "2\n");
      const next = await run.next(is.change, "the change of other.txt");
      assert.deepEqual(next.skipped, [], "nothing between the idle and this change");
      assert.deepEqual(next.event.paths, ["other.txt"]);
    });
  });
});

describe("pipe watch: changes during the first build", () => {
  // t reads raw/ (a directory input). The recipe tells the test it has read raw/ (ready), then
  // waits for the test (go): the test adds raw/sub/2 in between, before raw/ is watched.
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const t = target({ inputs: ["raw/"], outputs: ["build/list.txt"], run: ({ inputs, outputs }) => sh\`find \${inputs[0]} -type f | sort | xargs cat > \${outputs[0]}; echo > ready; cat go > /dev/null\` });
`,
    "raw/sub/1": "one\n",
  };
  const fifos = (dir: string) => execFileSync("mkfifo", [join(dir, "ready"), join(dir, "go")]);

  test("a file added inside a directory input while the first build ran is caught up: one more build", async () => {
    await withWatch(
      files,
      [],
      async (run, dir) => {
        await run.next((e) => e.type === "target-started", "the first recipe");
        readFileSync(join(dir, "ready")); // blocks until the recipe has listed raw/
        writeFileSync(join(dir, "raw/sub/2"), "two\n");
        writeFileSync(join(dir, "go"), "\n"); // blocks until the recipe reads it
        const change = await run.next(is.change, "the caught-up change");
        assert.deepEqual(change.event.paths, ["raw/sub/2"]);
        await run.next((e) => e.type === "target-started", "the second recipe");
        readFileSync(join(dir, "ready"));
        writeFileSync(join(dir, "go"), "\n");
        const idle = await run.next(is.idle, "idle after the second build");
        assert.equal(idle.event.lastRunOk, true, run.stderr);
        assert.equal(readFileSync(join(dir, "build/list.txt"), "utf8"), "one\ntwo\n");
      },
      fifos,
    );
  });
});

describe("pipe watch: a downstream recipe that writes into an upstream target's glob folder", () => {
  //  a/*.txt ──► a ──► build/a.out ──► b ──► build/b.out
  //   ▲                                │
  //   └──────── a/from-b.txt ◄─────────┘  (b's recipe writes it, after a ran)
  // a never sees a/from-b.txt change while it runs, so the build did not report it as changed
  // during the run and the loop guard missed it: 39 builds in 10 s, no warning.
  const files = {
    "Pipelinefile.ts": `
import { target, sh } from "pipefile";
export const a = target({ inputs: ["a/*.txt"], outputs: ["build/a.out"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });
export const b = target({ inputs: [a, "b/*.txt"], outputs: ["build/b.out"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}; date +%N > a/from-b.txt\` });
export default [b];
`,
    "a/seed.txt": "seed\n",
    "b/x.txt": "x\n",
  };

  for (const args of [[], ["--poll"]]) {
    test(`one more build at most, then a warning names the file and its writer; edits then build once each${args.length ? " (" + args.join(" ") + ")" : ""}`, async () => {
      await withWatch(files, args, async (run, dir) => {
        const warning = await run.next((e) => e.type === "warning" && /a\/from-b\.txt changed/.test(e.message), "the loop warning");
        assert.equal(
          warning.event.message,
          'a/from-b.txt changed while the last two builds ran, each time while the recipe of "b" ran: it seems to write it. pipe watch does not build again for those changes; declare such a file as an output of the target that writes it, or write it outside the inputs',
        );
        assert.equal(warning.skipped.filter(is.buildStarted).length, 2, "the first build and the one its write started");
        const idle = await run.next(is.idle, "idle after the loop stopped");
        assert.equal(idle.skipped.filter(is.buildStarted).length, 0, "no build after the warning");
        // An edit of an input runs both recipes once; b's rewrite starts nothing.
        writeFileSync(join(dir, "a/seed.txt"), "seed 2\n");
        const edit = await run.next(is.change, "the change of a/seed.txt");
        assert.deepEqual(edit.skipped, [], "nothing between the idle and this change");
        assert.deepEqual(edit.event.paths, ["a/seed.txt"]);
        const afterEdit = await run.next(is.idle, "idle after the edit");
        assert.equal(afterEdit.skipped.filter(is.buildStarted).length, 1, "one build for the edit");
        assert.match(readFileSync(join(dir, "build/a.out"), "utf8"), /seed 2/);
        // The user's own edit of the file between builds is a change like any other: one build.
        writeFileSync(join(dir, "a/from-b.txt"), "by hand\n");
        const own = await run.next(is.change, "the change of a/from-b.txt by hand");
        assert.deepEqual(own.skipped, [], "nothing between the idle and this change");
        assert.deepEqual(own.event.paths, ["a/from-b.txt"]);
        const afterOwn = await run.next(is.idle, "idle after the edit by hand");
        assert.equal(afterOwn.skipped.filter(is.buildStarted).length, 1, "one build for the edit by hand");
        assert.equal(afterOwn.skipped.filter((e) => e.type === "warning" && /changed while the last two builds ran/.test(e.message)).length, 0, "the warning is not repeated");
        // Nothing ran since (not even the late report of b's rewrite): the next event is the next change's.
        writeFileSync(join(dir, "b/x.txt"), "y\n");
        const next = await run.next(is.change, "the change of b/x.txt");
        assert.deepEqual(next.skipped, [], "nothing between the idle and this change");
        assert.deepEqual(next.event.paths, ["b/x.txt"]);
      });
    });
  }
});
