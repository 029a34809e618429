// What `pipe status` / `pipe why` / `pipe graph` compare with: the record whose outputs are on
// disk (when there is one), and the names they give params.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { rmSync } from "node:fs";
import { Project } from "../helpers/rig.ts";

const HEAD = `import { target, param, sh } from "pipefile";\n`;

async function built(p: Project, args: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await p.run(["build", "-q", ...args], { env });
  assert.equal(r.code, 0, r.stderr);
}

test("a stale target is explained against the record whose outputs are on disk, not the newest one", async () => {
  //  scaled (param scale)
  const p = new Project({
    "Pipelinefile.ts": HEAD + 'export const scaled = target({ params: { scale: param.number("scale", { default: 1 }) }, outputs: ["build/s.txt"], run: ({ outputs, params }) => sh`echo ${String(params.scale)} > ${outputs[0]}` });\n',
  });
  await built(p, ["-p", "scale=1"]);
  await built(p, ["-p", "scale=2"]);
  const back = await p.run(["build", "--json", "-p", "scale=1"]);
  assert.deepEqual(back.events.filter((e) => e.type === "target-finished").map((e) => [e.target, e.status]), [["scaled", "restored"]]);
  assert.equal(p.read("build/s.txt"), "1\n");
  // The newest record is scale=2's, but the output on disk is scale=1's.
  const status = await p.run(["status", "-p", "scale=3"]);
  assert.match(status.stdout, /^stale {7}scaled {2}param scale 1 -> 3$/m);
  const why = await p.run(["why", "scaled", "-p", "scale=3"]);
  assert.match(why.stdout, /^scaled is stale:\n {2}param scale 1 -> 3\n/);
  const graph = await p.run(["graph", "-p", "scale=3"]);
  assert.match(graph.stdout, /scaled — param scale 1 -> 3/);
  const dry = await p.run(["build", "-n", "--json", "-p", "scale=3"]);
  assert.deepEqual(dry.events.filter((e) => e.type === "target-finished").map((e) => "reason" in e && e.reason), ["would run: param scale 1 -> 3"]);
  // No record's outputs on disk (edited by hand): the newest record, and the edit is said.
  p.write({ "build/s.txt": "edited\n" });
  assert.match((await p.run(["status", "-p", "scale=3"])).stdout, /^stale {7}scaled {2}param scale 2 -> 3; output build\/s\.txt was changed outside pipe \(building keeps those bytes first\)$/m);
});

test("a restorable target says what differs between the record it restores and the one whose outputs are on disk", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + 'export const counts = target({ env: ["LABEL"], outputs: ["build/c.txt"], run: ({ outputs }) => sh`sh -c ${\'echo "$LABEL" > "$1"\'} _ ${outputs[0]}` });\n' +
      'export const scaled = target({ params: { scale: param.number("scale", { default: 1 }) }, outputs: ["build/s.txt"], run: ({ outputs, params }) => sh`echo ${String(params.scale)} > ${outputs[0]}` });\n',
  });
  await built(p, []);
  await built(p, ["-p", "scale=2"], { LABEL: "q1" });
  const why = await p.run(["why", "counts"]);
  assert.match(why.stdout, /^counts is restorable \(.*\):\n {2}output build\/c\.txt holds another build's result \(env LABEL was set, now unset\)\n/);
  const status = await p.run(["status"]);
  assert.match(status.stdout, /^restorable {2}counts {2}output build\/c\.txt holds another build's result \(env LABEL was set, now unset\)$/m);
  assert.match(status.stdout, /^restorable {2}scaled {2}output build\/s\.txt holds another build's result \(param scale 2 -> 1\)$/m);
});

test("params are named as the user types them (-p scale=3), with their key in the target when that differs", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + 'export const scaled = target({ params: { s: param.number("scale", { default: 1 }) }, outputs: ["build/s.txt"], run: ({ outputs, params }) => sh`echo ${String(params.s)} > ${outputs[0]}` });\n',
  });
  await built(p, []);
  await built(p, ["-p", "scale=2"]);
  assert.match((await p.run(["status", "-p", "scale=3"])).stdout, /^stale {7}scaled {2}param scale \(s in this target\) 2 -> 3$/m);
  assert.match((await p.run(["why", "scaled"])).stdout, /^ {2}output build\/s\.txt holds another build's result \(param scale \(s in this target\) 2 -> 1\)$/m);
  const build = await p.run(["build", "--json", "-p", "scale=3"]);
  assert.deepEqual(build.events.filter((e) => e.type === "target-finished").map((e) => "reason" in e && e.reason), ["param scale (s in this target) 2 -> 3"]);
  const history = JSON.parse((await p.run(["history", "scaled", "--json"])).stdout) as { runs: { changes?: string[] }[] };
  assert.deepEqual(history.runs[0].changes, ["param scale (s in this target) 2 -> 3"]);
  // A param no longer declared is named as its record names it.
  p.write({ "Pipelinefile.ts": HEAD + 'export const scaled = target({ outputs: ["build/s.txt"], run: ({ outputs }) => sh`echo 1 > ${outputs[0]}` });\n' });
  assert.match((await p.run(["why", "scaled"])).stdout, /param scale \(s in this target\) removed \(was 3\)/);
});

test("pipe clean after .pipe/cache was removed says the outputs' bytes were not in the cache (not that they were changed outside pipe), and keeps them", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + 'export const scaled = target({ params: { scale: param.number("scale", { default: 1 }) }, outputs: ["build/s.txt"], run: ({ outputs, params }) => sh`echo ${String(params.scale)} > ${outputs[0]}` });\n',
  });
  await built(p, []);
  await built(p, ["-p", "scale=2"]);
  rmSync(p.path(".pipe/cache"), { recursive: true });
  // The bytes on disk are a recorded build's: status says so too, not "edited outside pipe?".
  assert.match((await p.run(["status"])).stdout, /^stale {7}scaled {2}output build\/s\.txt holds another build's result \(param scale 2 -> 1\), and its recorded bytes are not in the cache$/m);
  const r = await p.run(["clean"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /changed outside pipe/);
  const m = /^warning: output build\/s\.txt of "scaled" is a recorded build's result, but its bytes were not in the cache \(was \.pipe\/cache removed\?\); pipe kept them before removing them \(to get them back: (.+)\)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /^1 output removed \(their bytes stay in the cache, except 1 missing from the cache, which was kept first: see above; /m);
  assert.equal(p.exists("build/s.txt"), false);
  execSync(m[1], { cwd: p.dir });
  assert.equal(p.read("build/s.txt"), "2\n");
  // Kept in the cache: a build of that combination restores it.
  rmSync(p.path("build/s.txt"));
  const back = await p.run(["build", "--json", "-p", "scale=2"]);
  assert.deepEqual(back.events.filter((e) => e.type === "target-finished").map((e) => e.type === "target-finished" && e.status), ["restored"]);
});

test("when several runs made the outputs on disk, the one closest to the current state is explained against (no 'env changed' for an env the user set back)", async () => {
  const p = new Project({
    "data/a.txt": "a\n",
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ inputs: ["data/a.txt"], outputs: ["build/t.txt"], env: ["MYVAR"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]} > \${outputs[0]}\` });\n`,
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    assert.equal((await p.run(["build"], { env: { MYVAR: "1" } })).code, 0, "a second run, same bytes");
    p.write({ "data/a.txt": "b\n" });
    const status = await p.run(["status"]);
    assert.match(status.stdout, /^stale\s+t\s+input data\/a\.txt changed$/m, status.stdout);
    const why = await p.run(["why", "t"]);
    assert.doesNotMatch(why.stdout, /env MYVAR/, why.stdout);
    // Set again, the env var is named: the closest run is then the one with it.
    const withVar = await p.run(["status"], { env: { MYVAR: "2" } });
    assert.match(withVar.stdout, /^stale\s+t\s+input data\/a\.txt changed; env MYVAR changed$/m, withVar.stdout);
  } finally {
    p.remove();
  }
});

test("a stale target whose output was edited by hand says so before a build replaces it", async () => {
  const p = new Project({
    "data/a.txt": "a\n",
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ inputs: ["data/a.txt"], outputs: ["build/t.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]} > \${outputs[0]}\` });\n`,
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    p.write({ "build/t.txt": "MY EDIT\n", "data/a.txt": "b\n" });
    const status = await p.run(["status"]);
    assert.match(status.stdout, /^stale\s+t\s+input data\/a\.txt changed; output build\/t\.txt was changed outside pipe \(building keeps those bytes first\)$/m, status.stdout);
    const why = await p.run(["why", "t"]);
    assert.match(why.stdout, /output build\/t\.txt was changed outside pipe/);
    // Without the edit, nothing is said about the output.
    p.write({ "build/t.txt": "a\n" });
    assert.match((await p.run(["status"])).stdout, /^stale\s+t\s+input data\/a\.txt changed$/m);
  } finally {
    p.remove();
  }
});
