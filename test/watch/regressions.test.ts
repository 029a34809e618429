/**
 * `pipe watch` regressions, end to end (real CLI, real chokidar). Each test waits on pipe's own
 * events or on its exit; nothing sleeps.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliRun, is, makeProject } from "./cli-rig.ts";

/** Runs `body` with a watch over a fresh project, then kills it and removes the project. */
async function withWatch(files: Record<string, string>, args: string[], body: (run: CliRun, dir: string) => Promise<void>): Promise<void> {
  const dir = makeProject(files);
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
