// Memory stays bounded by what pipe holds, not by the size of the files it restores (P18).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
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
