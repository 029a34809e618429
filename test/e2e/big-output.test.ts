// Memory stays bounded by what pipe holds, not by the size of the files it restores (P18).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { PIPE_BIN, Project, testEnv } from "../helpers/rig.ts";

/** Runs `pipe <args>` and returns its exit code and peak resident set (KiB, from node itself). */
function runMeasured(p: Project, args: string[]): { code: number | null; maxRssKiB: number; stderr: string } {
  const out = p.path("rss.txt");
  const hook = `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));`)}`;
  const r = spawnSync(process.execPath, ["--import", hook, PIPE_BIN, ...args], { cwd: p.dir, env: testEnv(), encoding: "utf8" });
  return { code: r.status, maxRssKiB: Number(readFileSync(out, "utf8")), stderr: r.stderr };
}

test("restoring a big output from the cache does not read it into memory", () => {
  const MiB = 1 << 20;
  const size = 192 * MiB;
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const big = target({ outputs: ["build/big.bin"], run: ({ outputs }) => sh\`head -c ${size} /dev/urandom > \${outputs[0]}\` });\n`,
  });
  try {
    const built = runMeasured(p, ["build", "big"]);
    assert.equal(built.code, 0, built.stderr);
    assert.equal(statSync(p.path("build/big.bin")).size, size);
    assert.equal(runMeasured(p, ["clean", "big"]).code, 0);
    const restored = runMeasured(p, ["build", "--json", "big"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(statSync(p.path("build/big.bin")).size, size);
    // Reading it whole would add its 192 MiB to the build's own ~70-100 MiB.
    assert.ok(restored.maxRssKiB < 160 * 1024, `restore peaked at ${Math.round(restored.maxRssKiB / 1024)} MiB for a ${size / MiB} MiB output`);
  } finally {
    p.remove();
  }
});

test("a TypeScript recipe printing millions of lines goes at pipe's pace: memory stays bounded, every line is logged in order", () => {
  // A worker thread printing in a loop never yields: what it printed queued up in memory until
  // it returned (1,000,000 console.log lines held 730 MB). Now it waits for pipe to take them.
  const p = new Project({
    "Pipelinefile.ts": `import { target } from "pipefile";
import { writeFileSync } from "node:fs";
export const chatty = target({
  outputs: ["build/done.txt"],
  run: (ctx) => {
    for (let i = 0; i < 1_200_000; i++) {
      console.log("epoch 1 batch " + i + " loss 0." + i);
      ctx.progress(i, 1_200_000);
    }
    ctx.log("between the loops");
    for (let i = 0; i < 400_000; i++) ctx.log("epoch 2 batch " + i);
    // Empty lines count too (a review found them free: 5,000,000 held 328 MB).
    for (let i = 0; i < 500_000; i++) console.log();
    process.stdout.write("café ");
    process.stdout.write(Buffer.from("naïve", "utf8").subarray(0, 3));
    process.stdout.write(Buffer.from("naïve", "utf8").subarray(3));
    process.stderr.write("no newline at the end");
    writeFileSync(ctx.outputs[0], "ok\\n");
  },
});
`,
  });
  try {
    // Plain output (a log line is not shown for a target that succeeds): --json's 1,600,000
    // events would pass spawnSync's buffer.
    const r = runMeasured(p, ["build"]);
    assert.equal(r.code, 0, r.stderr);
    const log = readFileSync(p.path(".pipe/logs/" + readdirSync(p.path(".pipe/logs"))[0]), "utf8").split("\n");
    const at = log.indexOf("between the loops");
    assert.equal(at, 1_200_000, "the ctx.log line comes after every console.log line before it");
    assert.equal(log[0], "epoch 1 batch 0 loss 0.0");
    assert.equal(log[at - 1], "epoch 1 batch 1199999 loss 0.1199999");
    assert.equal(log[at + 400_000], "epoch 2 batch 399999");
    assert.equal(log.slice(at + 401, at + 400_001 + 500_000).every((l, i) => (i < 399_600 ? l.startsWith("epoch 2 batch ") : l === "")), true);
    assert.deepEqual(log.slice(at + 400_001 + 500_000).filter((l) => l !== ""), ["café naïve", "no newline at the end"]);
    assert.equal(log.length, 1_200_000 + 1 + 400_000 + 500_000 + 3, "every line once");
    assert.ok(r.maxRssKiB < 200 * 1024, `the build peaked at ${Math.round(r.maxRssKiB / 1024)} MiB for 2,100,000 lines (about 60 MB of text) and 1,200,000 progress calls`);
  } finally {
    p.remove();
  }
});
