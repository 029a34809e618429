// Crash safety: `kill -9` of pipe at random moments of a 20-target parallel build, 50 times,
// plus a kill at every named durability step. Never a target reported up to date whose output
// was not produced by a completed run; the next build succeeds; the one after runs nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished, Project } from "../helpers/rig.ts";

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

//   s0..s7 -> t0..t7 -> t8..t15 (two inputs each) -> t16..t19 (two inputs each)
const INPUTS: string[][] = [
  ...Array.from({ length: 8 }, (_, i) => [`src/s${i}.txt`]),
  ...Array.from({ length: 8 }, (_, i) => [`t${i}`, `t${(i + 3) % 8}`]),
  ...Array.from({ length: 4 }, (_, i) => [`t${8 + i}`, `t${8 + ((i + 5) % 8)}`]),
];

function pipelinefile(): string {
  const lines = [`import { target, sh } from "pipefile";`];
  INPUTS.forEach((ins, i) => {
    const list = ins.map((x) => (x.startsWith("src/") ? JSON.stringify(x) : x)).join(", ");
    lines.push(`export const t${i} = target({ inputs: [${list}], outputs: ["build/t${i}.txt"], run: (c) => sh\`sleep 0.01 && cat \${c.inputs} > \${c.outputs[0]} && echo ${i} >> \${c.outputs[0]}\` });`);
  });
  lines.push(`export default [${INPUTS.map((_, i) => `t${i}`).join(", ")}];`);
  return lines.join("\n") + "\n";
}

function model(sources: string[]): string[] {
  const outs: string[] = [];
  INPUTS.forEach((ins, i) => {
    outs[i] = ins.map((x) => (x.startsWith("src/") ? sources[Number(x.slice(5, -4))] : outs[Number(x.slice(1))])).join("") + `${i}\n`;
  });
  return outs;
}

/** Kills pipe with SIGKILL once it has printed `after` event lines (or lets it finish). */
function buildAndKill(p: Project, after: number, env: Record<string, string> = {}): Promise<void> {
  const child = p.spawn(["build", "--json", "-j", "4"], { env });
  let lines = 0;
  child.stdout!.on("data", (d: Buffer) => {
    lines += d.toString().split("\n").length - 1;
    if (lines >= after) child.kill("SIGKILL");
  });
  child.stderr!.resume();
  return new Promise((r) => child.on("close", () => r()));
}

async function checkNoPhantom(p: Project, sources: string[], label: string) {
  const want = model(sources);
  const s = await p.run(["status", "--json"]);
  assert.equal(s.code, 0, `${label}: ${s.stderr}`);
  const rows = JSON.parse(s.stdout).targets as { id: string; state: string }[];
  for (const r of rows) {
    if (r.state !== "up-to-date") continue;
    const i = Number(r.id.slice(1));
    assert.equal(p.read(`build/t${i}.txt`), want[i], `${label}: ${r.id} is reported up to date, so its output must come from a completed run on the current inputs`);
  }
}

async function recoverAndSettle(p: Project, sources: string[], label: string) {
  const b = await p.run(["build", "--json", "-j", "4"]);
  assert.equal(b.code, 0, `${label}: the next build succeeds\n${b.stderr}`);
  const want = model(sources);
  for (let i = 0; i < INPUTS.length; i++) assert.equal(p.read(`build/t${i}.txt`), want[i], `${label}: t${i} correct after recovery`);
  const again = await p.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "built"), [], `${label}: the build after runs nothing`);
  const scratch = p.path(".pipe/staging");
  assert.deepEqual(existsSync(scratch) ? readdirSync(scratch) : [], [], `${label}: no scratch leftovers`);
  assert.deepEqual(readdirSync(p.path("build")).filter((n) => n.startsWith(".pipe-tmp-")), [], `${label}: no staged outputs left next to the outputs`);
}

test("kill -9 at 50 random moments of a parallel build never leaves a phantom up-to-date target", { timeout: 600_000 }, async () => {
  const r = rng(7);
  const sources = Array.from({ length: 8 }, (_, i) => `source ${i}\n`);
  const p = new Project({ "Pipelinefile.ts": pipelinefile(), ...Object.fromEntries(sources.map((s, i) => [`src/s${i}.txt`, s])) });
  try {
    for (let round = 0; round < 50; round++) {
      // Change one or two sources so that part of the graph must rebuild, then crash mid-way.
      for (let k = 0; k < 1 + Math.floor(r() * 2); k++) {
        const i = Math.floor(r() * 8);
        sources[i] = `source ${i} v${round}\n`;
        p.write({ [`src/s${i}.txt`]: sources[i] });
      }
      await buildAndKill(p, 1 + Math.floor(r() * 40));
      await checkNoPhantom(p, sources, `round ${round}`);
      await recoverAndSettle(p, sources, `round ${round}`);
    }
  } finally {
    p.remove();
  }
});

test("a kill at every durability step: the next build reruns what had not committed, and converges", { timeout: 300_000 }, async () => {
  const points = new Project({}).runSync(["debug", "crash-points"]).stdout.trim().split("\n");
  assert.ok(points.length >= 5, "crash points are listed");
  const sources = Array.from({ length: 8 }, (_, i) => `source ${i}\n`);
  const p = new Project({ "Pipelinefile.ts": pipelinefile(), ...Object.fromEntries(sources.map((s, i) => [`src/s${i}.txt`, s])) });
  try {
    let v = 0;
    for (const point of points) {
      for (const n of [1, 3]) {
        const i = v % 8;
        sources[i] = `source ${i} crash ${v++}\n`;
        p.write({ [`src/s${i}.txt`]: sources[i] });
        await buildAndKill(p, Number.MAX_SAFE_INTEGER, { PIPE_TEST_CRASH_AT: `${point}:${n}` });
        await checkNoPhantom(p, sources, `${point}:${n}`);
        await recoverAndSettle(p, sources, `${point}:${n}`);
      }
    }
  } finally {
    p.remove();
  }
});

test("disk full: the recipe fails with the errno, nothing is published, the state verifies, no stack trace; with room again the next build succeeds", { skip: canMountTmpfs() ? false : "needs root to mount a small tmpfs" }, async () => {
  const mnt = mkdtempSync(join(tmpdir(), "pipe-full-"));
  assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]).status, 0);
  try {
    const p = new Project(
      {
        "Pipelinefile.ts":
          `import { target, sh } from "pipefile";\n` +
          `export const big = target({ outputs: ["build/big.bin"], run: ({ outputs }) => sh\`head -c \${String(Number(process.env.BIG_BYTES ?? 0))} /dev/zero > \${outputs[0]}\`, env: ["BIG_BYTES"] });\n` +
          `export const cached = target({ outputs: ["build/ten.bin"], run: ({ outputs }) => sh\`head -c 10485760 /dev/zero > \${outputs[0]}\` });\n`,
      },
      join(mnt, "proj"),
    );
    // 30 MiB into a 16 MiB disk: the recipe itself fails.
    const r = await p.run(["build", "big", "--json"], { env: { BIG_BYTES: String(30 * 1024 * 1024) } });
    assert.equal(r.code, 1);
    const f = r.events.find((e) => e.type === "target-finished" && e.target === "big");
    assert.ok(f && f.type === "target-finished" && f.status === "failed");
    assert.match(JSON.stringify(f.logTail), /No space left on device/);
    assert.doesNotMatch(r.stderr, /\.js:\d+/, "no stack trace");
    assert.equal(p.exists("build/big.bin"), false);
    // 10 MiB fits, its copy into the cache does not: named with the errno and the paths.
    const c = await p.run(["build", "cached", "--json"]);
    assert.equal(c.code, 1);
    const g = c.events.find((e) => e.type === "target-finished" && e.target === "cached");
    assert.ok(g && g.type === "target-finished" && /ENOSPC: no space left on device, copyfile .*build\/\.pipe-tmp-.*-> .*\.pipe\/cache\/objects\//.test(g.reason), JSON.stringify(g));
    assert.equal(p.exists("build/ten.bin"), false);
    const v = await p.run(["status", "--verify"]);
    assert.equal(v.code, 0, v.stdout);
    // Room again: only what failed runs.
    const ok = await p.run(["build", "big", "--json"], { env: { BIG_BYTES: "1024" } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(finished(ok.events, "built"), ["big"]);
  } finally {
    spawnSync("umount", [mnt]);
  }
});

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), "pipe-mount-probe-"));
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]).status === 0;
  if (ok) spawnSync("umount", [probe]);
  return ok;
}
