/**
 * `pipe watch` and what the Pipelinefile reads while loading: targets declared per file of a
 * folder (the README's loop over `readdirSync`) appear and disappear as files land and go, and a
 * `--params` file edited while watching is read again. The real CLI and chokidar; no sleeps.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliRun, is, makeProject } from "./cli-rig.ts";

const PIPELINEFILE = `
import { target, param, sh } from "pipefile";
import { readdirSync } from "node:fs";

const scale = param.int("scale", { default: 1 });
const shards = readdirSync("data/shards").filter((f) => f.endsWith(".txt")).sort();
export const counts = shards.map((f) =>
  target({ name: "count:" + f, inputs: ["data/shards/" + f], outputs: ["build/" + f], run: ({ inputs, outputs }) => sh\`wc -l < \${inputs[0]} > \${outputs[0]}\` }),
);
export const total = target({
  inputs: counts,
  params: { scale },
  outputs: ["build/total.txt"],
  run: async (ctx) => {
    const { readFileSync, writeFileSync } = await import("node:fs");
    const sum = ctx.inputs.reduce((n: number, f: string) => n + Number(readFileSync(f, "utf8").trim()), 0);
    writeFileSync(ctx.outputs[0], String(sum * ctx.params.scale) + "\\n");
  },
});
export default [total];
`;

const lines = (n: number) => "x\n".repeat(n);

describe("pipe watch: what the Pipelinefile read while loading", () => {
  let dir = "";
  let run: CliRun;
  const total = () => readFileSync(join(dir, "build/total.txt"), "utf8").trim();

  async function nextBuild(what: string) {
    await run.next(is.change, `watch-change for ${what}`);
    const finished = await run.next(is.buildFinished, `build-finished after ${what}`);
    await run.next(is.idle, `watch-idle after ${what}`);
    return finished.event;
  }

  before(() => {
    dir = makeProject({ "Pipelinefile.ts": PIPELINEFILE, "data/shards/s1.txt": lines(2), "data/shards/s2.txt": lines(3), "run.json": `{ "scale": 1 }\n` });
    run = new CliRun(dir, ["watch", "--json", "--params", "run.json", "--debounce", "100"]);
  });

  after(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("the first build", async () => {
    const f = await run.next(is.buildFinished, "the first build-finished");
    assert.equal(f.event.ok, true, run.stderr);
    await run.next(is.idle, "the first watch-idle");
    assert.equal(total(), "5");
  });

  test("a file added to the listed folder declares its target, which the next build builds", async () => {
    writeFileSync(join(dir, "data/shards/s3.txt"), lines(4));
    const f = await nextBuild("data/shards/s3.txt");
    assert.equal(f.ok, true);
    assert.equal(total(), "9", "total reads the new shard");
  });

  test("a file removed from it takes its target away (no 'missing input' error)", async () => {
    rmSync(join(dir, "data/shards/s2.txt"));
    const f = await nextBuild("removing data/shards/s2.txt");
    assert.equal(f.ok, true, JSON.stringify(run.unread));
    assert.equal(total(), "6");
  });

  test("the params file edited while watching is read again", async () => {
    writeFileSync(join(dir, "run.json"), `{ "scale": 10 }\n`);
    const f = await nextBuild("run.json");
    assert.equal(f.ok, true);
    assert.equal(total(), "60");
  });
});
