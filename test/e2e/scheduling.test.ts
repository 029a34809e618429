// Scheduling and the promises around a running recipe: inputs that change while it runs, the
// project lock seen by a second pipe, per-target cpu resources, longest-path-first order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { collect, finished, Project, Reaper, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target, sh } from "pipefile";\n`;

test("an input that changes while its recipe runs: a warning, the result matches no content of that input, the next build reruns it (also once the input is put back)", async () => {
  const p = new Project({
    "data/in.txt": "v1\n",
    // The recipe copies its input, then (misbehaving, or like a concurrent download) appends to it.
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["data/in.txt"], outputs: ["build/out.txt"], run: (c) => sh\`sh -c \${"cp \\"$0\\" \\"$1\\"; echo more >> \\"$0\\""} \${c.inputs[0]} \${c.outputs[0]}\` });\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const warn = r.events.find((e) => e.type === "warning");
  assert.ok(warn && warn.type === "warning");
  assert.match(warn.message, /input data\/in.txt changed while "t" ran; its result is not recorded as up to date for any content of that input, so the next build runs it again/);
  assert.equal(p.read("build/out.txt"), "v1\n");
  // Put back as it was when the run started: the output was made from one of its two contents,
  // pipe cannot tell which, so it must not pass for up to date (it did, recorded against "v1").
  writeFileSync(p.path("data/in.txt"), "v1\n");
  const status = await p.run(["status", "--json"]);
  assert.equal(JSON.parse(status.stdout).targets[0].state, "stale");
  const again = await p.run(["build", "--json"]);
  assert.deepEqual(finished(again.events, "built"), ["t"], "the next build reruns it");
});

test("a second pipe waits for the first, naming the holder, then finds the work done", { timeout: 60_000 }, async (t) => {
  const p = new Project({
    // The recipe says it started, then waits until the test opens the gate (a poll inside the recipe).
    "Pipelinefile.ts": HEAD + `export const slow = target({ outputs: ["build/slow"], run: (c) => sh\`sh -c \${"echo run >> runs.log; echo READY; while [ ! -e gate ]; do sleep 0.02; done; touch \\"$0\\""} \${c.outputs[0]}\` });\n`,
  });
  // A broken lock must fail this test, not hang it: the gate opens and both pipes are stopped
  // however it ends (on a timeout too).
  const reaper = new Reaper(t.signal);
  try {
    const first = reaper.add(p.spawn(["build", "--verbose"]));
    const firstDone = collect(first);
    await waitForLine(first, (l) => l.includes("READY"));
    const second = reaper.add(p.spawn(["build", "--json"]));
    const secondDone = collect(second);
    // Either it waits, or (a broken lock) it starts the recipe itself: no need to wait for that to hang.
    const seen = JSON.parse(await waitForLine(second, (l) => l.includes('"lock-waiting"') || l.includes('"target-started"')));
    assert.equal(seen.type, "lock-waiting", "the second pipe waits for the lock instead of running the recipe too");
    assert.match(seen.holder, new RegExp(`^pid ${first.pid}: pipe build --verbose, since `));
    writeFileSync(p.path("gate"), "");
    const [a, b] = await Promise.all([firstDone, secondDone]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(finished(b.events, "up-to-date"), ["slow"], "the waiter re-planned after the lock");
    assert.equal(p.read("runs.log"), "run\n", "the recipe ran once");
    p.remove();
  } finally {
    if (p.exists(".")) writeFileSync(p.path("gate"), "");
    reaper.stop();
  }
});

test("an input edited while this pipe waits for the lock counts: the stats taken before the wait are not trusted after it", { timeout: 60_000 }, async (t) => {
  const p = new Project({
    "data/in.txt": "old\n",
    "data/slow.txt": "1\n",
    "Pipelinefile.ts":
      HEAD +
      `export const slow = target({ inputs: ["data/slow.txt"], outputs: ["build/slow"], run: (c) => sh\`sh -c \${"echo READY; while [ ! -e gate ]; do sleep 0.02; done; touch \\"$0\\""} \${c.outputs[0]}\` });\n` +
      `export const copy = target({ inputs: ["data/in.txt"], outputs: ["build/copy.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      `export default [slow, copy];\n`,
  });
  writeFileSync(p.path("gate"), "");
  assert.equal((await p.run(["build"])).code, 0);
  rmSync(p.path("gate"));
  writeFileSync(p.path("data/slow.txt"), "2\n");
  const reaper = new Reaper(t.signal);
  try {
    const first = reaper.add(p.spawn(["build", "slow", "--verbose"]));
    const firstDone = collect(first);
    await waitForLine(first, (l) => l.includes("READY"));
    const second = reaper.add(p.spawn(["build", "copy", "--json"]));
    const secondDone = collect(second);
    await waitForLine(second, (l) => l.includes('"lock-waiting"'));
    // Same size, new content: only a fresh stat (new mtime and ctime) leads to a new hash.
    writeFileSync(p.path("data/in.txt"), "new\n");
    writeFileSync(p.path("gate"), "");
    const [a, b] = await Promise.all([firstDone, secondDone]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(finished(b.events, "built"), ["copy"]);
    assert.equal(p.read("build/copy.txt"), "new\n");
  } finally {
    if (p.exists(".")) writeFileSync(p.path("gate"), "");
    reaper.stop();
  }
});

test("--no-wait: while another pipe builds, exit at once with code 75, naming the holder; nothing runs twice", { timeout: 60_000 }, async (t) => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const slow = target({ outputs: ["build/slow"], run: (c) => sh\`sh -c \${"echo run >> runs.log; echo READY; while [ ! -e gate ]; do sleep 0.02; done; touch \\"$0\\""} \${c.outputs[0]}\` });\n`,
  });
  // As above: a broken lock must fail this test, not hang it.
  const reaper = new Reaper(t.signal);
  try {
    const first = reaper.add(p.spawn(["build", "--verbose"]));
    const firstDone = collect(first);
    await waitForLine(first, (l) => l.includes("READY"));
    const busyChild = reaper.add(p.spawn(["build", "--no-wait", "--verbose"]));
    const busyDone = collect(busyChild);
    // Were it to run the recipe (a broken lock), the gate opens and it ends: a wrong exit code, not a hang.
    void waitForLine(busyChild, (l) => l.includes("READY")).then(
      () => writeFileSync(p.path("gate"), ""),
      () => undefined,
    );
    const busy = await busyDone;
    assert.equal(busy.code, 75, busy.stdout + busy.stderr);
    assert.match(busy.stderr, new RegExp(`busy: another pipe holds .pipe/lock \\(pid ${first.pid}: pipe build --verbose, since `));
    assert.doesNotMatch(busy.stderr, /at .*\.js:\d+/, "no stack trace");
    // With --json the reason is also an event on stdout, for the program reading it.
    const busyJson = await p.run(["build", "--no-wait", "--json"]);
    assert.equal(busyJson.code, 75, busyJson.stdout + busyJson.stderr);
    const errors = busyJson.events.filter((e) => e.type === "error");
    assert.equal(errors.length, 1, busyJson.stdout);
    assert.match(String(errors[0].message), new RegExp(`^busy: another pipe holds .pipe/lock \\(pid ${first.pid}: `));
    writeFileSync(p.path("gate"), "");
    assert.equal((await firstDone).code, 0);
    const after = await p.run(["build", "--no-wait", "--json"]);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(finished(after.events, "up-to-date"), ["slow"]);
    assert.equal(p.read("runs.log"), "run\n", "the recipe ran once");
    p.remove();
  } finally {
    if (p.exists(".")) writeFileSync(p.path("gate"), "");
    reaper.stop();
  }
});

test("a target with resources { cpu: 2 } takes two of the -j slots: two such targets never overlap", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      ["a", "b"].map((n) => `export const ${n} = target({ outputs: ["build/${n}"], resources: { cpu: 2 }, run: (c) => sh\`sh -c \${"echo start >> spans.log; sleep 0.2; echo end >> spans.log; touch \\"$0\\""} \${c.outputs[0]}\` });\n`).join("") +
      `export default [a, b];\n`,
  });
  const r = await p.run(["build", "-j", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(p.read("spans.log"), "start\nend\nstart\nend\n");
});

test("-j N is never exceeded while the next recipes wait in the helper behind running ones: each counts the recipes running beside it", async () => {
  // Each recipe marks itself running (a folder), counts the marks, then removes its own: a count
  // can only be too high, never too low, so a count over N means more than N ran at once.
  const names = Array.from({ length: 16 }, (_, i) => `t${i}`);
  const p = new Project({
    "run/.keep": "",
    "Pipelinefile.ts":
      HEAD +
      names.map((n) => `export const ${n} = target({ outputs: ["build/${n}"], run: (c) => sh\`sh -c \${"mkdir run/$1; ls run | wc -l > \\"$0\\"; sleep 0.01; rmdir run/$1"} \${c.outputs[0]} ${n}\` });\n`).join("") +
      `export default [${names.join(", ")}];\n`,
  });
  for (const jobs of [1, 2]) {
    const r = await p.run(["build", "-j", String(jobs), "--json"], { env: { PIPE_SPAWNER: "python" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(finished(r.events, "built").length, 16);
    const counts = names.map((n) => Number(p.read(`build/${n}`).trim()));
    assert.ok(counts.every((c) => c >= 1 && c <= jobs), `-j${jobs}: running at once ${counts.join(" ")}`);
    const started = r.events.filter((e) => e.type === "target-started").length;
    assert.equal(started, 16, "every target started once");
    rmSync(p.path("build"), { recursive: true });
    rmSync(p.path(".pipe"), { recursive: true });
  }
});

test("-k with recipes that exit 0 but leave an output of the wrong kind: the build ends (exit 1, every other target built), never stuck on a slot whose target is over", async () => {
  // Found by a review: a recipe the helper started in the slot of one that pipe then failed could
  // finish first, and its slot was offered again afterwards: the next target waited on it for
  // ever (node exited 13 with no summary; pipe watch hung). Every 10th recipe makes a folder
  // where a file is declared; the race needs many tries, hence three builds of 100.
  const names = Array.from({ length: 100 }, (_, i) => `t${i}`);
  const p = new Project({
    "Pipelinefile.ts":
      HEAD + names.map((n, i) => `export const ${n} = target({ outputs: ["out/${n}"], run: (c) => sh\`${i % 10 === 0 ? "mkdir" : "touch"} \${c.outputs[0]}\` });\n`).join("") + `export default [${names.join(", ")}];\n`,
  });
  for (let round = 0; round < 3; round++) {
    const r = await p.run(["build", "-k", "-j", "2", "--json"], { env: { PIPE_SPAWNER: "python" } });
    assert.equal(r.code, 1, r.stderr);
    const end = r.events.find((e) => e.type === "build-finished");
    assert.ok(end && end.type === "build-finished", "the build finished");
    assert.equal(end.counts.failed, 10);
    assert.equal(end.counts.built + end.counts["up-to-date"], 90);
    assert.equal(finished(r.events, "failed").length, 10);
    rmSync(p.path(".pipe"), { recursive: true });
    rmSync(p.path("out"), { recursive: true });
  }
});

test("a target waiting in the helper for a slot says nothing before it starts, and nothing at all when a failure cancels it", async () => {
  const names = Array.from({ length: 12 }, (_, i) => `t${i}`);
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      // t5 fails at once (targets start in this order here); the others print a line each.
      names.map((n, i) => `export const ${n} = target({ outputs: ["out/${n}"], run: (c) => sh\`sh -c \${${JSON.stringify(i === 5 ? "exit 1" : 'echo hello; touch "$0"')}} \${c.outputs[0]}\` });\n`).join("") +
      `export default [${names.join(", ")}];\n`,
  });
  for (const jobs of ["1", "2"]) {
    const r = await p.run(["build", "-j", jobs, "--json", "--verbose"], { env: { PIPE_SPAWNER: "python" } });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(finished(r.events, "failed"), ["t5"]);
    assert.ok(finished(r.events, "skipped").length > 0, "targets after t5 were not started");
    assert.ok(r.events.some((e) => e.type === "log" && e.line === "hello"), "the others ran and printed");
    const started = new Set<string>();
    for (const e of r.events) {
      if (e.type === "target-started") started.add(e.target);
      if (e.type === "log" || e.type === "target-progress") assert.ok(started.has(e.target), `-j${jobs}: ${e.type} of ${e.target} before its start`);
    }
    for (const id of finished(r.events, "skipped")) assert.ok(!started.has(id), `-j${jobs}: skipped ${id} had started`);
    rmSync(p.path(".pipe"), { recursive: true });
    rmSync(p.path("out"), { recursive: true, force: true });
  }
});

test("an output edited by hand while its target waits for a slot is kept, not blamed on the recipe", async (t) => {
  // -j1: a runs until the test opens the gate; b waits in the helper meanwhile. a's recipe takes
  // 0.3 s more than b's, so its recorded duration puts it first (longest first): with two
  // recipes of a few ms each, b sometimes went first and ran while the test edited out/b.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ outputs: ["out/a"], env: ["V"], run: (c) => sh\`sh -c \${"echo READY; while [ ! -e gate ]; do sleep 0.01; done; sleep 0.3; echo $V > \\"$0\\""} \${c.outputs[0]}\` });\n` +
      `export const b = target({ outputs: ["out/b"], env: ["V"], run: (c) => sh\`sh -c \${"echo b$V > \\"$0\\""} \${c.outputs[0]}\` });\n` +
      `export default [a, b];\n`,
  });
  writeFileSync(p.path("gate"), "");
  const first = await p.run(["build", "-j", "1"], { env: { V: "1", PIPE_SPAWNER: "python" } });
  assert.equal(first.code, 0, first.stderr);
  rmSync(p.path("gate"));
  const reaper = new Reaper(t.signal);
  try {
    const child = reaper.add(p.spawn(["build", "-j", "1", "--verbose"], { env: { V: "2", PIPE_SPAWNER: "python" } }));
    const done = collect(child);
    await waitForLine(child, (l) => l.includes("READY"));
    writeFileSync(p.path("out/b"), "user edit\n");
    writeFileSync(p.path("gate"), "");
    const r = await done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /wrote out\/b directly/);
    assert.match(r.stdout + r.stderr, /output out\/b of "b" was changed outside pipe; pipe kept those bytes/);
    assert.equal(p.read("out/b"), "b2\n");
  } finally {
    reaper.stop();
  }
});

test("resources { mem }: recipes run together only while their sizes fit in --mem; a bad size is a Pipelinefile error", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      ["a", "b"].map((n) => `export const ${n} = target({ outputs: ["build/${n}"], resources: { mem: "3G" }, run: (c) => sh\`sh -c \${"echo start >> spans.log; sleep 0.2; echo end >> spans.log; touch \\"$0\\""} \${c.outputs[0]}\` });\n`).join("") +
      `export default [a, b];\n`,
  });
  const r = await p.run(["build", "-j", "2", "--mem", "4G"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(p.read("spans.log"), "start\nend\nstart\nend\n");
  const bad = await p.run(["build", "--mem", "lots"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--mem needs a size such as 8G or 512M, got "lots"/);
  p.write({ "Pipelinefile.ts": HEAD + `export const c = target({ outputs: ["build/c"], resources: { mem: "four gigs" }, run: (x) => sh\`touch \${x.outputs[0]}\` });\n` });
  const badDecl = await p.run(["build"]);
  assert.equal(badDecl.code, 2);
  assert.match(badDecl.stderr, /resources\.mem of target "c" is not a size: "four gigs"/);
  assert.match(badDecl.stderr, /Pipelinefile\.ts:2:\d+/);
});

test("ready targets start longest remaining path first", async () => {
  //  c1 -> c2 -> c3   (a chain of three)      a   (alone; first by name, so order by name would start it)
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ outputs: ["build/a"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const c1 = target({ outputs: ["build/c1"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const c2 = target({ inputs: [c1], outputs: ["build/c2"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export const c3 = target({ inputs: [c2], outputs: ["build/c3"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n` +
      `export default [a, c3];\n`,
  });
  const r = await p.run(["build", "--json", "-j", "1"]);
  assert.equal(r.code, 0, r.stderr);
  const order = r.events.filter((e) => e.type === "target-started").map((e) => (e.type === "target-started" ? e.target : ""));
  assert.equal(order[0], "c1", `the head of the longest chain starts first (order: ${order.join(", ")})`);
});

test("-j12 with twelve recipes running at once: no listener-leak warning from node on stderr", { timeout: 60_000 }, async () => {
  // Each recipe waits until all twelve have started (a barrier in the recipe, bounded so a
  // scheduler that ran fewer at once fails the count below instead of hanging), so the build's
  // abort signal has a listener per running recipe: node warned "MaxListenersExceededWarning:
  // Possible EventTarget memory leak detected. 11 abort listeners" at the eleventh.
  const barrier = `mkdir -p started; touch started/$0; i=0; while [ $(ls started | wc -l) -lt 12 ] && [ $i -lt 1500 ]; do sleep 0.01; i=$((i+1)); done; ls started | wc -l > "$1"`;
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export default Array.from({ length: 12 }, (_, k) => target({ name: \`t\${k}\`, outputs: [\`build/\${k}.txt\`], run: (c) => sh\`sh -c \${${JSON.stringify(barrier)}} \${String(k)} \${c.outputs[0]}\` }));\n`,
  });
  const r = await p.run(["build", "-j", "12"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|memory leak/);
  assert.equal(r.stderr, "");
  for (let k = 0; k < 12; k++) assert.equal(p.read(`build/${k}.txt`).trim(), "12", `t${k} saw all twelve running`);
  p.remove();
});

/** Each recipe logs "start <name>" and "end <name>" around a sleep; returns the log's lines and the most running at once. */
function spans(p: Project): { lines: string[]; most: number } {
  const lines = p.read("spans.log").trim().split("\n");
  let now = 0;
  let most = 0;
  for (const l of lines) most = Math.max(most, (now += l.startsWith("start ") ? 1 : -1));
  return { lines, most };
}
const SPAN = (n: string, secs: number) => `sh\`sh -c \${"echo start ${n} >> spans.log; sleep ${secs}; echo end ${n} >> spans.log; touch \\"$0\\""} \${c.outputs[0]}\``;

test("a slot freed by a declared-mem target goes to a recipe waiting in the helper: two plain recipes behind one never run one after the other while a slot is free", async () => {
  // Found by a review: m2 and m3 (mem) ran, s1 took m2's slot, s2 waited behind s1 in the
  // helper, and m3's slot stayed empty until s1 ended.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      `export const m2 = target({ outputs: ["build/m2"], resources: { mem: "3G" }, run: (c) => ${SPAN("m2", 0.3)} });\n` +
      `export const m3 = target({ outputs: ["build/m3"], resources: { mem: "1G" }, run: (c) => ${SPAN("m3", 0.3)} });\n` +
      `export const s1 = target({ outputs: ["build/s1"], run: (c) => ${SPAN("s1", 0.4)} });\n` +
      `export const s2 = target({ outputs: ["build/s2"], run: (c) => ${SPAN("s2", 0.4)} });\n`,
  });
  try {
    const r = await p.run(["build", "-j", "2", "--mem", "4G"], { env: { PIPE_SPAWNER: "python" } });
    assert.equal(r.code, 0, r.stderr);
    const { lines, most } = spans(p);
    assert.ok(most <= 2, `-j2 exceeded: ${lines.join(", ")}`);
    const [s1, s2] = ["s1", "s2"].map((n) => [lines.indexOf(`start ${n}`), lines.indexOf(`end ${n}`)]);
    assert.ok(s2[0] < s1[1] && s1[0] < s2[1], `s1 and s2 ran one after the other: ${lines.join(", ")}`);
  } finally {
    p.remove();
  }
});

test("longest remaining path first also while recipes wait in the helper: a chain's next link starts before independent targets queued earlier", async () => {
  // Found by a review: a2 and a3 queued behind a1 and zc1, so zc2 (a longer path) waited for them.
  const p = new Project({
    "Pipelinefile.ts":
      HEAD +
      ["a1", "a2", "a3"].map((n) => `export const ${n} = target({ outputs: ["build/${n}"], run: (c) => ${SPAN(n, 0.2)} });\n`).join("") +
      `export const zc1 = target({ outputs: ["build/zc1"], run: (c) => ${SPAN("zc1", 0.2)} });\n` +
      `export const zc2 = target({ inputs: [zc1], outputs: ["build/zc2"], run: (c) => ${SPAN("zc2", 0.2)} });\n` +
      `export const zc3 = target({ inputs: [zc2], outputs: ["build/zc3"], run: (c) => ${SPAN("zc3", 0.2)} });\n`,
  });
  try {
    const r = await p.run(["build", "-j", "2"], { env: { PIPE_SPAWNER: "python" } });
    assert.equal(r.code, 0, r.stderr);
    const { lines, most } = spans(p);
    assert.ok(most <= 2, `-j2 exceeded: ${lines.join(", ")}`);
    assert.equal(lines[0].startsWith("start zc1") || lines[1].startsWith("start zc1"), true, lines.join(", "));
    assert.ok(lines.indexOf("start zc2") < lines.indexOf("start a3"), `zc2 waited for a3: ${lines.join(", ")}`);
  } finally {
    p.remove();
  }
});
