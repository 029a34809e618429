// Memory stays bounded by what pipe holds, not by the size of the files it restores (P18).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { PIPE_BIN, Project, testEnv } from "../helpers/rig.ts";

/** Runs `pipe <args>` and returns its exit code and peak resident set (KiB, from node itself). */
function runMeasured(p: Project, args: string[]): { code: number | null; maxRssKiB: number; stderr: string; stdout: string } {
  const out = p.path("rss.txt");
  const hook = `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));`)}`;
  const r = spawnSync(process.execPath, ["--import", hook, PIPE_BIN, ...args], { cwd: p.dir, env: testEnv(), encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  return { code: r.status, maxRssKiB: Number(readFileSync(out, "utf8")), stderr: r.stderr, stdout: r.stdout };
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

test("recipes printing more than pipe's reader takes at once: --json and -v hold the recipes up instead of leaving lines out; every line arrives, memory stays bounded", { timeout: 120_000 }, () => {
  // Node writes a pipe's 64 KiB per turn of its loop, and a turn read 64 KiB of recipe output
  // that became more as events: even a reader as quick as \`cat\` fell 8 MiB behind, and lines
  // past that were left out (93% of a million). Now the recipes wait for the reader.
  const pad = "x".repeat(60);
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";
export const shell = target({ outputs: ["build/shell.txt"], run: (c) => sh\`sh -c \${"seq 1 300000 | sed 's/$/ ${pad}/'; echo done > \\"$0\\""} \${c.outputs[0]}\` });
export const ts = target({ outputs: ["build/ts.txt"], run: async (ctx) => {
  const { writeFileSync } = await import("node:fs");
  for (let i = 1; i <= 150000; i++) console.log(i + " ${pad}");
  writeFileSync(ctx.outputs[0], "done\\n");
} });
`,
  });
  try {
    const json = runMeasured(p, ["build", "--json", "-j", "2"]);
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; target?: string; line?: string });
    assert.equal(lines.filter((e) => e.type === "warning").length, 0, "nothing left out");
    const of = (id: string) => lines.filter((e) => e.type === "log" && e.target === id && !e.line!.startsWith("$ "));
    assert.equal(of("shell").length, 300_000);
    assert.equal(of("ts").length, 150_000);
    assert.equal(of("shell").at(-1)!.line, `300000 ${pad}`);
    assert.equal(of("ts").at(-1)!.line, `150000 ${pad}`);
    assert.ok(json.maxRssKiB < 300 * 1024, `--json peaked at ${Math.round(json.maxRssKiB / 1024)} MiB`);
    rmSync(p.path("build"), { recursive: true, force: true });
    rmSync(p.path(".pipe"), { recursive: true, force: true });
    const verbose = runMeasured(p, ["build", "-v", "-j", "2"]);
    assert.equal(verbose.code, 0, verbose.stderr);
    const text = verbose.stdout.split("\n");
    assert.equal(text.filter((l) => l.startsWith("[shell] ") && l.endsWith(pad)).length, 300_000);
    assert.equal(text.filter((l) => l.startsWith("[ts] ") && l.endsWith(pad)).length, 150_000);
    assert.equal(text.filter((l) => l.startsWith("warning:")).length, 0);
  } finally {
    p.remove();
  }
});

test("a sparse output stays sparse in the cache and when restored (a 4 KB `truncate -s 5G` image took 5 GB twice)", async () => {
  const SIZE = 256 << 20;
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const img = target({ outputs: ["build/img.raw"], run: ({ outputs }) => sh\`sh -c 'printf head > "$0" && truncate -s ${SIZE} "$0"' \${outputs[0]}\` });\n`,
  });
  try {
    const allocated = (rel: string) => statSync(p.path(rel)).blocks * 512;
    const cached = () => {
      let sum = 0;
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const abs = `${dir}/${e.name}`;
          if (e.isDirectory()) walk(abs);
          else if (e.isFile()) sum += statSync(abs).blocks * 512;
        }
      };
      walk(p.path(".pipe/cache"));
      return sum;
    };
    assert.equal((await p.run(["build"])).code, 0);
    assert.equal(statSync(p.path("build/img.raw")).size, SIZE);
    assert.ok(cached() < 16 << 20, `cache holds ${cached()} bytes`);
    rmSync(p.path("build/img.raw"));
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.events.some((e) => e.type === "target-finished" && e.status === "restored"));
    assert.equal(statSync(p.path("build/img.raw")).size, SIZE);
    assert.ok(allocated("build/img.raw") < 16 << 20, `restored file takes ${allocated("build/img.raw")} bytes`);
    const head = Buffer.alloc(4);
    const fd = openSync(p.path("build/img.raw"), "r");
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    assert.equal(head.toString(), "head");
  } finally {
    p.remove();
  }
});
