// The no-op snapshot: a build of the same request after a successful one is answered without
// loading the Pipelinefile when nothing it depends on changed, and never when something did.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipeEvent } from "../../src/events.ts";
import { collect, finished, Project, Reaper, REPO, waitForLine, type RunResult } from "../helpers/rig.ts";
import { execFileSync, spawn } from "node:child_process";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

const BASIC = {
  "data/a.txt": "one two three\n",
  "data/b.txt": "four five\n",
  "Pipelinefile.ts":
    HEAD +
    `export const window = param.int("window", { default: 7, min: 1 });\n` +
    `export const words = target({ inputs: ["data/*.txt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} | wc -w > \${outputs[0]}\` });\n` +
    `export const report = target({\n  inputs: { w: words },\n  outputs: { out: "build/report.txt" },\n  params: { window },\n  env: ["REPORT_TITLE"],\n  run: async (ctx) => {\n    const fs = await import("node:fs");\n    const n = Number(fs.readFileSync(ctx.inputs.w[0], "utf8").trim());\n    fs.writeFileSync(ctx.outputs.out, \`\${process.env.REPORT_TITLE ?? ""} words=\${n} window=\${ctx.params.window}\\n\`);\n  },\n});\n` +
    `export default [report];\n`,
};

function started(r: RunResult): Extract<PipeEvent, { type: "build-started" }> {
  const e = r.events.find((x) => x.type === "build-started");
  assert.ok(e, `no build-started event:\n${r.stdout}\n${r.stderr}`);
  return e as Extract<PipeEvent, { type: "build-started" }>;
}

const fromSnapshot = (r: RunResult) => started(r).fromSnapshot === true;

async function build(p: Project, args: string[] = [], env: Record<string, string> = {}): Promise<RunResult> {
  const r = await p.run(["build", "--json", ...args], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r;
}

/** A build the snapshot must not answer: it plans in full and runs exactly `built`. */
async function fullBuild(p: Project, built: string[], args: string[] = [], env: Record<string, string> = {}): Promise<RunResult> {
  const r = await build(p, args, env);
  assert.equal(fromSnapshot(r), false);
  assert.deepEqual(finished(r.events, "built"), built);
  return r;
}

/** A build of the same sources in a fresh copy (no state, no outputs) gives the same out/. */
async function sameAsCleanBuild(p: Project): Promise<void> {
  const fresh = p.freshCopy(() => false);
  try {
    assert.equal((await fresh.run(["build"])).code, 0);
    assert.deepEqual(fresh.snapshot("out"), p.snapshot("out"));
  } finally {
    fresh.remove();
  }
}

/** Builds until the snapshot answers (a fresh build's outputs are "racy" once; see fast/snapshot.ts). */
async function settle(p: Project, args: string[] = [], env: Record<string, string> = {}): Promise<void> {
  await build(p, args, env);
  const r = await build(p, args, env);
  assert.ok(fromSnapshot(r), "the build after a successful one should come from the snapshot");
  assert.deepEqual(finished(r.events, "built"), []);
}

test("a --json no-op keeps its rendered events next to the snapshot; a stale or altered copy is rendered again", async () => {
  const p = new Project(BASIC);
  await build(p);
  assert.ok(fromSnapshot(await build(p)));
  const norm = (events: PipeEvent[]) =>
    events
      .filter((e) => e.type !== "lock-acquired")
      .map((e) => JSON.stringify(e, (k, v) => (k === "time" || k === "durationMs" || k === "estimateMs" || k === "fromSnapshot" ? undefined : v)));
  const expected = norm((await build(p, [], { PIPE_NO_SNAPSHOT: "1" })).events);
  const noop = () => p.path(".pipe/noop");
  const eventsFile = () => {
    const names = readdirSync(noop()).filter((n) => n.endsWith(".events"));
    assert.equal(names.length, 1, `one events file: ${readdirSync(noop()).join(", ")}`);
    return join(noop(), names[0]);
  };
  // Rendered once (a new file), then read back (the same file, untouched).
  const rendered = await build(p);
  assert.ok(fromSnapshot(rendered));
  assert.deepEqual(norm(rendered.events), expected);
  const ino = statSync(eventsFile()).ino;
  const cached = await build(p);
  assert.ok(fromSnapshot(cached));
  assert.deepEqual(norm(cached.events), expected);
  assert.equal(statSync(eventsFile()).ino, ino, "the second --json no-op reads the events file");
  // Altered body, or made for another snapshot (other seal): not used, rendered and written again.
  const text = readFileSync(eventsFile(), "utf8");
  for (const bad of [text.replace(/"words"/g, '"wordz"'), text.replace(/^(\S+ \S+ )[0-9a-f]{64}/, (_, h) => h + "0".repeat(64))]) {
    assert.notEqual(bad, text);
    writeFileSync(eventsFile(), bad);
    const again = await build(p);
    assert.ok(fromSnapshot(again));
    assert.deepEqual(norm(again.events), expected);
    assert.equal(readFileSync(eventsFile(), "utf8"), text, "rendered and written again");
  }
  // A build that writes a new snapshot removes the old one's events file.
  p.write({ "data/a.txt": "changed\n" });
  assert.equal(fromSnapshot(await build(p)), false);
  assert.deepEqual(readdirSync(noop()).filter((n) => n.endsWith(".events")), []);
});

test("a build from a partial graph writes a delta next to the snapshot, not a new snapshot; no-ops apply it; one that does not apply is not used", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`data/${i}.txt`] = `v${i}\n`;
  const p = new Project({
    ...files,
    "Pipelinefile.ts": HEAD + `export const all = Array.from({ length: 20 }, (_, i) => target({ name: \`t\${i}\`, inputs: [\`data/\${i}.txt\`], outputs: [\`build/\${i}.txt\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` }));\nexport default all;\n`,
  });
  await settle(p);
  const noop = p.path(".pipe/noop");
  const only = (ext: string) => {
    const names = readdirSync(noop).filter((n) => n.endsWith(ext));
    assert.ok(names.length <= 1, names.join(", "));
    return names.length ? join(noop, names[0]) : undefined;
  };
  const base = only(".json")!;
  const stamp = () => {
    const st = statSync(base);
    return `${st.ino}:${st.mtimeMs}`;
  };
  const before = stamp();
  assert.equal(only(".delta"), undefined);
  // Two changes, one after the other: each build plans a partial graph and adds to the delta.
  for (const [i, text] of [[3, "changed 3\n"], [7, "changed 7\n"]] as const) {
    p.write({ [`data/${i}.txt`]: text });
    const r = await build(p);
    assert.equal(started(r).partialGraph, true);
    assert.deepEqual(finished(r.events, "built"), [`t${i}`]);
    assert.ok(only(".delta"), "a delta was written");
    assert.equal(stamp(), before, "the snapshot itself was not rewritten");
    const quiet = await build(p);
    assert.ok(fromSnapshot(quiet), "the next build is answered from the snapshot and its delta");
    assert.deepEqual(finished(quiet.events, "built"), []);
  }
  await sameAsCleanBuild(p);
  // A delta whose bytes were changed does not verify: the build plans in full, runs nothing
  // (the records say so), and writes the snapshot whole again.
  const delta = only(".delta")!;
  const good = readFileSync(delta, "utf8");
  const altered = good.replace(/"rows":\[\[(\d+)/, (_, n) => `"rows":[[${Number(n) + 1}`);
  assert.notEqual(altered, good);
  writeFileSync(delta, altered);
  const full = await build(p);
  assert.equal(fromSnapshot(full), false);
  assert.equal(started(full).partialGraph, undefined);
  assert.deepEqual(finished(full.events, "built"), []);
  assert.equal(only(".delta"), undefined, "the whole snapshot replaced it");
  assert.notEqual(stamp(), before);
  await settle(p);
  // A delta made for another snapshot (the one before) is not applied either.
  writeFileSync(delta, good);
  const other = await build(p);
  assert.equal(fromSnapshot(other), false);
  assert.deepEqual(finished(other.events, "built"), []);
  await settle(p);
  await sameAsCleanBuild(p);
});

test("the build after a successful one is answered from the snapshot, with the same events and text", async () => {
  const p = new Project(BASIC);
  const first = await build(p);
  assert.equal(fromSnapshot(first), false);
  const second = await build(p);
  assert.ok(fromSnapshot(second));
  assert.deepEqual(finished(second.events, "up-to-date"), ["report", "words"]);
  const s = started(second);
  assert.deepEqual(s.targets, ["report"]);
  assert.deepEqual(s.plan.map((x) => [x.target, x.action, x.deps]), [["words", "up-to-date", []], ["report", "up-to-date", ["words"]]]);
  const fin = second.events.at(-1)!;
  assert.equal(fin.type, "build-finished");
  assert.equal((fin as { ok: boolean }).ok, true);
  // NDJSON: the same events as a full no-op (but the lock, times and estimates).
  const full = await build(p, [], { PIPE_NO_SNAPSHOT: "1" });
  const norm = (events: PipeEvent[]) =>
    events
      .filter((e) => e.type !== "lock-acquired")
      .map((e) => JSON.stringify(e, (k, v) => (k === "time" || k === "durationMs" || k === "estimateMs" || k === "fromSnapshot" ? undefined : v)));
  const quick = await build(p);
  assert.ok(fromSnapshot(quick));
  assert.deepEqual(norm(quick.events), norm(full.events));
  // Plain text: the same lines as a full no-op.
  const fast = await p.run(["build", "-j", "3"]);
  const slow = await p.run(["build", "-j", "3"], { env: { PIPE_NO_SNAPSHOT: "1" } });
  const strip = (t: string) => t.replace(/in \d+ms/, "in Nms");
  assert.equal(strip(fast.stdout), strip(slow.stdout));
  assert.match(fast.stdout, /plan: 2 up to date \(jobs 3\)/);
  // --verbose lists every up-to-date target; --quiet only the summary: the same either way.
  for (const flag of ["--verbose", "--quiet"]) {
    const a = await p.run(["build", flag]);
    const b = await p.run(["build", flag], { env: { PIPE_NO_SNAPSHOT: "1" } });
    assert.ok(fromSnapshot(await build(p)));
    assert.equal(strip(a.stdout), strip(b.stdout), flag);
  }
  assert.match((await p.run(["build", "--verbose"])).stdout, /up-to-date words/);
  p.remove();
});

test("a touched input (same bytes) is re-read and still answered from the snapshot", async () => {
  const p = new Project(BASIC);
  await settle(p);
  const future = new Date(Date.now() + 60_000);
  utimesSync(p.path("data/a.txt"), future, future);
  const r = await build(p);
  assert.ok(fromSnapshot(r));
  assert.deepEqual(finished(r.events, "built"), []);
  p.remove();
});

test("a few touched files are read again each time instead of rewriting the snapshot; many are refreshed in it", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 12; i++) files[`data/${i}.txt`] = `line ${i}\n`;
  const p = new Project({
    ...files,
    "Pipelinefile.ts": HEAD + `export const all = target({ inputs: ["data/*.txt"], outputs: ["build/all.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\nexport default [all];\n`,
  });
  await settle(p);
  const dir = p.path(".pipe/noop");
  const snapshotStat = () => {
    const [name] = readdirSync(dir);
    const st = statSync(join(dir, name));
    return `${st.ino}:${st.mtimeMs}`;
  };
  // Facts taken within 50 ms of a file's change (racy: the output just written, the folder just
  // filled) are read again by every no-op until the snapshot is rewritten, and whether there are
  // any depends on timing. Two touched files of 14 are "many": the snapshot is rewritten with
  // every fact refreshed, none racy, so what follows does not depend on timing.
  const past = new Date(Date.now() - 3600_000);
  for (const f of ["data/0.txt", "data/1.txt"]) utimesSync(p.path(f), past, past);
  const stale = snapshotStat();
  assert.ok(fromSnapshot(await build(p)));
  assert.notEqual(snapshotStat(), stale, "two touched files of 14: the snapshot is refreshed");
  const before = snapshotStat();
  const future = new Date(Date.now() + 60_000);
  utimesSync(p.path("data/3.txt"), future, future);
  for (let i = 0; i < 2; i++) {
    const r = await build(p);
    assert.ok(fromSnapshot(r));
    assert.deepEqual(finished(r.events, "built"), []);
  }
  assert.equal(snapshotStat(), before, "one touched file of 14: the snapshot is not rewritten");
  // The fact kept its old stat, so new bytes of the same size are still found.
  writeFileSync(p.path("data/3.txt"), "LINE 3\n");
  utimesSync(p.path("data/3.txt"), future, future);
  await fullBuild(p, ["all"]);
  await settle(p);
  const settled = snapshotStat();
  for (let i = 0; i < 12; i++) utimesSync(p.path(`data/${i}.txt`), future, future);
  const r = await build(p);
  assert.ok(fromSnapshot(r));
  assert.notEqual(snapshotStat(), settled, "every input touched: the snapshot is refreshed");
  p.remove();
});

test("changed content, a new glob match, a deleted or edited output: the full build runs and does the work", async () => {
  const p = new Project(BASIC);
  await settle(p);
  // Same size, other bytes.
  p.write({ "data/a.txt": "one two thre\n" });
  let r = await fullBuild(p, ["words"]);
  await settle(p);
  p.write({ "data/c.txt": "six\n" });
  r = await fullBuild(p, ["report", "words"]);
  assert.match(p.read("build/report.txt"), /words=6/);
  await settle(p);
  rmSync(p.path("build/report.txt"));
  r = await build(p);
  assert.equal(fromSnapshot(r), false);
  assert.deepEqual(finished(r.events, "restored"), ["report"]);
  await settle(p);
  p.write({ "build/words.txt": "999\n" });
  r = await build(p);
  assert.equal(fromSnapshot(r), false);
  assert.equal(p.read("build/words.txt").trim(), "6");
  p.remove();
});

test("an edited Pipelinefile, a declared env var, another param value or another build in between: no snapshot answer", async () => {
  const p = new Project(BASIC);
  await settle(p);
  p.write({ "Pipelinefile.ts": BASIC["Pipelinefile.ts"] + "// a comment\n" });
  let r = await fullBuild(p, []);
  await settle(p);
  r = await fullBuild(p, ["report"], [], { REPORT_TITLE: "Title" });
  await settle(p, [], { REPORT_TITLE: "Title" });
  r = await fullBuild(p, ["report"], ["--param", "window=9"], { REPORT_TITLE: "Title" });
  await settle(p, ["--param", "window=9"], { REPORT_TITLE: "Title" });
  // A build of the same targets that changed nothing keeps the snapshot good.
  await build(p, ["words"], { REPORT_TITLE: "Title" });
  r = await build(p, ["--param", "window=9"], { REPORT_TITLE: "Title" });
  assert.ok(fromSnapshot(r));
  // One that did work in between (another param value, then back): a full plan, which restores.
  await build(p, ["--param", "window=10"], { REPORT_TITLE: "Title" });
  r = await build(p, ["--param", "window=9"], { REPORT_TITLE: "Title" });
  assert.equal(fromSnapshot(r), false);
  assert.deepEqual(finished(r.events, "restored"), ["report"]);
  // Dry runs never use it.
  r = await build(p, ["--param", "window=9", "--dry-run"], { REPORT_TITLE: "Title" });
  assert.equal(fromSnapshot(r), false);
  p.remove();
});

test("a Pipelinefile that lists a folder, reads a file or an env var while loading: a change there is seen", async () => {
  const p = new Project({
    "data/a.csv": "1\n",
    "config.json": `{"suffix": "x"}\n`,
    "Pipelinefile.ts":
      HEAD +
      `import { readdirSync, readFileSync } from "node:fs";\n` +
      `const suffix = JSON.parse(readFileSync("config.json", "utf8")).suffix + (process.env.EXTRA_SUFFIX ?? "");\n` +
      `export const copies = readdirSync("data").filter((f) => f.endsWith(".csv")).map((f) =>\n` +
      `  target({ name: \`copy-\${f}\`, inputs: [\`data/\${f}\`], outputs: [\`build/\${f}.\${suffix}\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` }));\n` +
      `export default copies;\n`,
  });
  await settle(p);
  p.write({ "data/b.csv": "2\n" });
  let r = await fullBuild(p, ["copy-b.csv"]);
  await settle(p);
  p.write({ "config.json": `{"suffix": "y"}\n` });
  r = await fullBuild(p, ["copy-a.csv", "copy-b.csv"]);
  assert.ok(p.exists("build/a.csv.y"));
  await settle(p);
  r = await build(p, [], { EXTRA_SUFFIX: "z" });
  assert.equal(fromSnapshot(r), false);
  assert.ok(p.exists("build/a.csv.yz"));
  p.remove();
});

test("a Pipelinefile that reads the clock or runs a command while loading never gets a snapshot", async () => {
  for (const line of [`const stamp = new Date().getFullYear();\n`, `import { execSync } from "node:child_process";\nconst stamp = execSync("echo 1").toString().trim();\n`]) {
    const p = new Project({
      "in.txt": "x\n",
      "Pipelinefile.ts": HEAD + line + `export const t = target({ inputs: ["in.txt"], outputs: [\`out-\${stamp}.txt\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\nexport default [t];\n`,
    });
    await build(p);
    await build(p);
    const r = await build(p);
    assert.equal(fromSnapshot(r), false, line);
    assert.equal(existsNoop(p), false);
    p.remove();
  }
});

test("today's date is part of it: a new day means a full plan", async () => {
  const p = new Project({
    "in.txt": "x\n",
    "Pipelinefile.ts": HEAD + `export const day = param.date("day", { default: "today" });\nexport const t = target({ inputs: ["in.txt"], params: { day }, outputs: ["out.txt"], run: ({ inputs, outputs, params }) => sh\`cp \${inputs[0]} \${outputs[0]} && echo \${String(params.day)} >> \${outputs[0]}\` });\nexport default [t];\n`,
  });
  await settle(p);
  const r = await fullBuild(p, ["t"], [], { PIPE_TODAY: "2024-06-02" });
  p.remove();
});

function existsNoop(p: Project): boolean {
  try {
    return readdirSync(p.path(".pipe/noop")).length > 0;
  } catch {
    return false;
  }
}

test("folder inputs and outputs: a file added inside one, or edited inside the other, is seen", async () => {
  const p = new Project({
    "src/a.txt": "a\n",
    "src/sub/b.txt": "b\n",
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["src/"], outputs: ["out/"], run: ({ outputs }) => sh\`mkdir -p \${outputs[0]}/x && cp -r src/. \${outputs[0]}/x\` });\nexport default [t];\n`,
  });
  await settle(p);
  p.write({ "src/sub/c.txt": "c\n" });
  let r = await fullBuild(p, ["t"]);
  assert.equal(p.read("out/x/sub/c.txt"), "c\n");
  await settle(p);
  p.write({ "out/x/sub/b.txt": "edited\n" });
  r = await build(p);
  assert.equal(fromSnapshot(r), false);
  assert.equal(p.read("out/x/sub/b.txt"), "b\n");
  p.remove();
});

test("a folder input: a member's exec bit changed, or a symlink inside it, is seen", async () => {
  const p = new Project({
    "src/a.sh": "echo a\n",
    "src/b.txt": "b\n",
    "Pipelinefile.ts": HEAD + `export const t = target({ inputs: ["src/"], outputs: ["out/"], run: ({ outputs }) => sh\`mkdir -p \${outputs[0]}/x && cp -rp src/. \${outputs[0]}/x\` });\nexport default [t];\n`,
  });
  await settle(p);
  chmodSync(p.path("src/a.sh"), 0o755);
  await fullBuild(p, ["t"]);
  assert.notEqual(statSync(p.path("out/x/a.sh")).mode & 0o111, 0);
  await settle(p);
  symlinkSync("b.txt", p.path("src/link"));
  await fullBuild(p, ["t"]);
  // A symlink's target is not a stat fact: such a folder is planned in full every time.
  const again = await build(p);
  assert.equal(fromSnapshot(again), false);
  p.remove();
});

test("a file that is one target's input and a member of another's folder input: its exec bit still counts", async () => {
  // The snapshot holds one fact per path; the folder's member fact (which keeps the exec bit)
  // must win over the plain input's fact (for which the exec bit does not count), whichever
  // target is collected first ("first" is).
  const p = new Project({
    "src/a.sh": "echo a\n",
    "Pipelinefile.ts":
      HEAD +
      `export const first = target({ inputs: ["src/a.sh"], outputs: ["out/first.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const whole = target({ inputs: ["src/"], outputs: ["out/whole.txt"], run: ({ outputs }) => sh\`ls -l src | cut -c1-10 > \${outputs[0]}\` });\n` +
      `export default [first, whole];\n`,
  });
  await settle(p);
  chmodSync(p.path("src/a.sh"), 0o755);
  await fullBuild(p, ["whole"]);
  await settle(p);
  p.remove();
});
test("a glob's folder: a new file with the folder's mtime put back, or a folder replaced by a file of its name, is seen", async () => {
  const p = new Project({ ...BASIC, "data/d.txt/inner": "not matched: a folder\n" });
  await settle(p);
  const before = statSync(p.path("data"));
  p.write({ "data/c.txt": "six\n" });
  utimesSync(p.path("data"), before.atime, before.mtime);
  await fullBuild(p, ["report", "words"]);
  await settle(p);
  rmSync(p.path("data/d.txt"), { recursive: true });
  p.write({ "data/d.txt": "seven eight\n" });
  await fullBuild(p, ["report", "words"]);
  assert.match(p.read("build/report.txt"), /words=8 /);
  p.remove();
});

test("a package a recipe imports is watched even after a build that trusted that recipe's target", async () => {
  const pkg = (version: string) => JSON.stringify({ name: "foo", version, type: "module", exports: "./index.js" });
  const p = new Project({
    "in/0.txt": "zero\n",
    "node_modules/foo/package.json": pkg("1.0.0"),
    "node_modules/foo/index.js": `export const tag = "t";\n`,
    "Pipelinefile.ts":
      HEAD +
      `import { tag } from "foo";\n` +
      `export const c0 = target({ inputs: ["in/0.txt"], outputs: ["out/0.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const c1 = target({ outputs: ["out/1.txt"], run: ({ outputs }) => sh\`echo \${tag} > \${outputs[0]}\` });\n` +
      `export default [c0, c1];\n`,
  });
  await settle(p);
  p.write({ "in/0.txt": "changed\n" });
  const partial = await fullBuild(p, ["c0"]);
  assert.equal(started(partial).trustedFromSnapshot, 1, "c1 was trusted, its recipe not hashed");
  await settle(p);
  p.write({ "node_modules/foo/package.json": pkg("2.0.0") });
  await fullBuild(p, ["c1"]);
  p.remove();
});

test("a snapshot made with another machine's key is ignored", async () => {
  const p = new Project(BASIC);
  const a = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "pipe-machine-a-")) };
  const b = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "pipe-machine-b-")) };
  await settle(p, [], a);
  const r = await build(p, [], b);
  assert.equal(fromSnapshot(r), false);
  p.remove();
});

test("when only some targets' files changed, the build trusts the others from the snapshot and runs exactly what depends on the change", async () => {
  const p = new Project({
    ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`in/${i}.txt`, `v${i}\n`])),
    "Pipelinefile.ts":
      HEAD +
      Array.from({ length: 4 }, (_, i) => `export const c${i} = target({ inputs: ["in/${i}.txt"], outputs: ["out/${i}.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n`).join("") +
      `export const all = target({ inputs: [c0, c1], outputs: ["out/all.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export default [all, c2, c3];\n`,
  });
  await settle(p);
  const whole = started(await build(p, [], { PIPE_NO_SNAPSHOT: "1" }));
  p.write({ "in/1.txt": "changed\n" });
  let r = await build(p);
  assert.equal(fromSnapshot(r), false);
  assert.equal(started(r).trustedFromSnapshot, 3, "c0, c2, c3 were vouched for");
  assert.equal(started(r).partialGraph, true, "only c1, all and c0 (which all reads) were planned from their declarations");
  // The plan lists every target, in the order and with the edges of a whole plan.
  assert.deepEqual(started(r).plan.map((x) => [x.target, x.deps]), whole.plan.map((x) => [x.target, x.deps]));
  assert.deepEqual(started(r).targets, whole.targets);
  assert.deepEqual(finished(r.events, "built"), ["all", "c1"]);
  assert.deepEqual(finished(r.events, "up-to-date"), ["c0", "c2", "c3"]);
  assert.equal(p.read("out/all.txt"), "v0\nchanged\n");
  // The snapshot written after it vouches for everything again.
  r = await build(p);
  assert.ok(fromSnapshot(r));
  // An output deleted by hand: its target is restored, the rest trusted.
  rmSync(p.path("out/3.txt"));
  r = await build(p);
  assert.equal(started(r).trustedFromSnapshot, 4);
  assert.equal(started(r).partialGraph, undefined, "a file that is gone: the whole graph is built");
  assert.deepEqual(finished(r.events, "restored"), ["c3"]);
  assert.equal(p.read("out/3.txt"), "v3\n");
  // The same as a build that trusts nothing.
  await sameAsCleanBuild(p);
  p.remove();
});

test("a partial plan keeps what the untouched targets declared: their glob folders, files their declarations read, their env vars", async () => {
  const p = new Project({
    "data/a.txt": "a\n",
    "list.txt": "in/x.txt\n",
    "in/x.txt": "x\n",
    "in/y.txt": "y\n",
    "in/b.txt": "b\n",
    "Pipelinefile.ts":
      HEAD +
      `import { readFileSync } from "node:fs";\n` +
      `export const globbed = target({ inputs: ["data/*.txt"], outputs: ["out/globbed.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const listed = family({ key: { n: param.int() }, inputs: () => readFileSync("list.txt", "utf8").split("\\n").filter(Boolean), outputs: ({ n }) => [\`out/listed-\${n}.txt\`], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const withEnv = target({ inputs: ["in/x.txt"], outputs: ["out/env.txt"], env: ["GREETING"], run: ({ outputs }) => sh\`echo "$GREETING" > \${outputs[0]}\` });\n` +
      `export const other = target({ inputs: ["in/b.txt"], outputs: ["out/b.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export default [globbed, listed({ n: 1 }), withEnv, other];\n`,
  });
  const env = { GREETING: "hello" };
  const partial = async () => {
    p.write({ "in/b.txt": `b ${Math.random()}\n` });
    const r = await build(p, [], env);
    assert.equal(started(r).partialGraph, true);
    assert.deepEqual(finished(r.events, "built"), ["other"]);
    await settle(p, [], env);
  };
  await settle(p, [], env);
  // Each time, the previous build planned only "other": what the others declared must still count.
  await partial();
  p.write({ "data/new.txt": "new\n" });
  await fullBuild(p, ["globbed"], [], env);
  await settle(p, [], env);
  await partial();
  p.write({ "list.txt": "in/y.txt\n" });
  await fullBuild(p, ["listed[n=1]"], [], env);
  assert.equal(p.read("out/listed-1.txt"), "y\n");
  await settle(p, [], env);
  await partial();
  await fullBuild(p, ["withEnv"], [], { GREETING: "bye" });
  assert.equal(p.read("out/env.txt"), "bye\n");
  p.remove();
});

test("a partial plan of family instances reading other targets' files by path matches a whole build", async () => {
  const p = new Project({
    ...Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`in/${i}.txt`, `v${i}\n`])),
    "Pipelinefile.ts":
      HEAD +
      `export const step = family({ key: { i: param.int(), tag: param.enum(["a", "b"]) }, inputs: ({ i }) => i === 0 ? ["in/0.txt"] : [\`out/step-\${i - 1}.txt\`, \`in/\${i}.txt\`], outputs: ({ i }) => [\`out/step-\${i}.txt\`], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export default [0, 1, 2].map((i) => step({ i, tag: "a" }));\n`,
  });
  await settle(p);
  p.write({ "in/1.txt": "changed\n" });
  const r = await build(p);
  assert.equal(started(r).partialGraph, true);
  assert.deepEqual(finished(r.events, "built"), ["step[i=1,tag=a]", "step[i=2,tag=a]"]);
  assert.deepEqual(finished(r.events, "up-to-date"), ["step[i=0,tag=a]"]);
  assert.equal(p.read("out/step-2.txt"), "v0\nchanged\nv2\n");
  await sameAsCleanBuild(p);
  await settle(p);
  p.remove();
});

test("a partial plan made while another build held the lock is dropped: that build's records count", async () => {
  const p = new Project({
    "in/a.txt": "a\n",
    "in/b.txt": "b\n",
    "Pipelinefile.ts":
      HEAD +
      // "a" waits on a FIFO when its input says so: the test decides when the first build ends.
      `export const a = target({ inputs: ["in/a.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`if grep -q wait \${inputs[0]}; then cat gate > /dev/null; fi; cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const b = target({ inputs: ["in/b.txt"], outputs: ["out/b.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export default [a, b];\n`,
  });
  execFileSync("mkfifo", [p.path("gate")]);
  await settle(p);
  p.write({ "in/a.txt": "wait\n" });
  const first = p.spawn(["build", "--json"]);
  const firstDone = collect(first);
  await waitForLine(first, (l) => l.includes('"target-started"'));
  // The second pipe checks the snapshot (made before the first build), plans "a" alone, and waits.
  const second = p.spawn(["build", "--json"]);
  const secondDone = collect(second);
  await waitForLine(second, (l) => l.includes('"lock-waiting"'));
  writeFileSync(p.path("gate"), "go\n");
  const [r1, r2] = await Promise.all([firstDone, secondDone]);
  assert.equal(r1.code, 0, r1.stdout + r1.stderr);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.deepEqual(finished(r1.events, "built"), ["a"]);
  assert.deepEqual(finished(r2.events, "built"), [], "the first build's record makes a up to date");
  assert.equal(started(r2).partialGraph, undefined);
  assert.equal(started(r2).trustedFromSnapshot, undefined);
  assert.equal(p.read("out/a.txt"), "wait\n");
  await settle(p);
  p.remove();
});

test("a partial plan checks what it reads on disk after waiting for the lock: no stale hash from before the wait", { timeout: 120_000 }, async (t) => {
  const p = new Project({
    "in/a.txt": "a\n",
    "in/b.txt": "b\n",
    "in/c.txt": "c\n",
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ inputs: ["in/a.txt"], outputs: ["out/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      // Tolerates missing inputs: only pipe's checks can notice.
      `export const b = target({ inputs: [a, "in/b.txt", "in/c.txt"], outputs: ["out/b.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} 2>/dev/null > \${outputs[0]}; true\` });\n` +
      `export default [b];\n`,
  });
  execFileSync("mkfifo", [p.path("gate")]);
  // The lock holder (flock and its children, in a group of their own) and the pipes are stopped
  // however the test ends: a pipe that does not wait (a broken lock) fails it, not wedges the run.
  const reaper = new Reaper(t.signal);
  // Changes in/b.txt, then builds while something else holds the project lock (as \`pipe clean\`
  // would); \`meanwhile\` runs after the build checked the snapshot and while it waits.
  const waitedBuild = async (content: string, meanwhile: () => void) => {
    await settle(p);
    p.write({ "in/b.txt": content });
    // The holder opens the gate read-write before it says "locked": the test's write below never
    // blocks (a FIFO with a reader), and its one line lets the holder go.
    const holder = reaper.add(spawn("flock", ["-x", p.path(".pipe/lock"), "sh", "-c", "exec 3<>gate; echo locked; head -n 1 <&3 > /dev/null"], { cwd: p.path("."), stdio: ["ignore", "pipe", "ignore"], detached: true }), { group: true });
    const released = new Promise<void>((resolve) => holder.on("close", () => resolve()));
    await waitForLine(holder, (l) => l === "locked");
    const child = reaper.add(p.spawn(["build", "--json"]));
    const done = collect(child);
    await waitForLine(child, (l) => l.includes('"lock-waiting"'));
    meanwhile();
    writeFileSync(p.path("gate"), "go\n");
    await released;
    return done;
  };
  try {
    // A source the affected target reads, deleted while it waited: read from disk, found missing.
    let r = await waitedBuild("b2\n", () => rmSync(p.path("in/c.txt")));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(started(r).partialGraph, true, "the check before the lock saw only in/b.txt changed");
    const fin = r.events.find((e) => e.type === "target-finished" && e.target === "b");
    assert.ok(fin && fin.type === "target-finished");
    assert.equal(fin.status, "failed");
    assert.match(fin.reason ?? "", /input "in\/c.txt" is missing/);
    p.write({ "in/c.txt": "c\n" });
    // An output of a trusted target the affected one reads, deleted while it waited: the partial
    // plan is dropped, and the dependency is restored before b runs.
    r = await waitedBuild("b3\n", () => rmSync(p.path("out/a.txt")));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(started(r).partialGraph, undefined);
    assert.deepEqual(finished(r.events, "restored"), ["a"]);
    assert.deepEqual(finished(r.events, "built"), ["b"]);
    assert.equal(p.read("out/b.txt"), "a\nb3\nc\n");
    p.remove();
  } finally {
    reaper.stop();
  }
});

test("partial plans of family instances make each instance from its recorded key, not its id's text", async () => {
  const p = new Project({
    "in/a.txt": "a\n",
    "in/b.txt": "b\n",
    "Pipelinefile.ts":
      HEAD +
      `export const rep = family({ key: { cols: param.list(), tag: param.string() }, inputs: ["in/a.txt"], outputs: ({ cols, tag }) => [\`out/rep-\${cols.length}-\${tag.length}.txt\`], run: async (ctx) => { (await import("node:fs")).writeFileSync(ctx.outputs[0], JSON.stringify([ctx.params.cols, ctx.params.tag]) + "\\n"); } });\n` +
      `export const other = target({ inputs: ["in/b.txt"], outputs: ["out/b.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      // Ids whose text reads back as other keys: rep[cols=a,b,tag=plain] and rep[cols=,tag=a,tag=b].
      `export default [rep({ cols: ["a,b"], tag: "plain" }), rep({ cols: [], tag: "a,tag=b" }), other];\n`,
  });
  await settle(p);
  p.write({ "in/a.txt": "a2\n" });
  const r = await build(p);
  assert.equal(started(r).partialGraph, true);
  assert.deepEqual(finished(r.events, "built"), ["rep[cols=,tag=a,tag=b]", "rep[cols=a,b,tag=plain]"]);
  assert.deepEqual(finished(r.events, "up-to-date"), ["other"]);
  assert.deepEqual(p.snapshot("out"), { "out/b.txt": "b\n", "out/rep-0-7.txt": `[[],"a,tag=b"]\n`, "out/rep-1-5.txt": `[["a,b"],"plain"]\n` });
  await sameAsCleanBuild(p);
  await settle(p);
  p.remove();
});

test("a Pipelinefile that globs with fast-glob while loading: a new matching file is seen (the package holds traced fs functions)", async () => {
  const p = new Project({
    "data/a.csv": "1\n",
    "Pipelinefile.ts":
      HEAD +
      `import fg from "fast-glob";\n` +
      `export const copies = fg.sync("data/*.csv").sort().map((f) =>\n` +
      `  target({ name: \`copy-\${f.slice(5)}\`, inputs: [f], outputs: [\`build/\${f.slice(5)}\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` }));\n` +
      `export default copies;\n`,
  });
  // The project's fast-glob is pipe's own (as when npm hoists it): one module instance.
  symlinkSync(join(REPO, "node_modules", "fast-glob"), p.path("node_modules/fast-glob"), "dir");
  await settle(p);
  p.write({ "data/b.csv": "2\n" });
  const r = await fullBuild(p, ["copy-b.csv"]);
  p.remove();
});

// Found by a review of the snapshot's soundness: each built "up to date" holding what a clean
// build of the same state would not make. `PIPE_NO_SNAPSHOT=1` checks the full path alone.
test("what the Pipelinefile looked at while loading, caught: a file added to a subfolder of a recursive readdir, a symlink moved to another folder, a data file read from node_modules", async () => {
  const p = new Project({
    "data/a.txt": "one\n",
    "data/sub/b.txt": "two\n",
    "sets/v1/x.csv": "version one\n",
    "sets/v2/x.csv": "version TWO\n",
    "node_modules/countries/package.json": `{"name":"countries","version":"1.0.0"}\n`,
    "node_modules/countries/list.json": `["it","de"]\n`,
    "Pipelinefile.ts":
      HEAD +
      `import { readdirSync, readFileSync, realpathSync } from "node:fs";\n` +
      `import { relative } from "node:path";\n` +
      `const files = (readdirSync("data", { recursive: true }) as string[]).filter((f) => f.endsWith(".txt")).sort();\n` +
      `export const list = target({ outputs: ["build/list.txt"], run: ({ outputs }) => sh\`echo \${files.join(" ")} > \${outputs[0]}\` });\n` +
      `const dir = relative(process.cwd(), realpathSync("sets/current"));\n` +
      `export const copy = target({ inputs: [\`\${dir}/x.csv\`], outputs: ["build/x.csv"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `const countries: string[] = JSON.parse(readFileSync("node_modules/countries/list.json", "utf8"));\n` +
      `export const c = target({ outputs: ["build/c.txt"], run: ({ outputs }) => sh\`echo \${countries.join(",")} > \${outputs[0]}\` });\n` +
      `export default [list, copy, c];\n`,
  });
  symlinkSync("v1", p.path("sets/current"));
  await build(p);
  assert.ok(fromSnapshot(await build(p)), "a no-op first");
  writeFileSync(p.path("data/sub/c.txt"), "three\n");
  await fullBuild(p, ["list"]);
  assert.equal(p.read("build/list.txt"), "a.txt sub/b.txt sub/c.txt\n");
  rmSync(p.path("sets/current"));
  symlinkSync("v2", p.path("sets/current"));
  await fullBuild(p, ["copy"]);
  assert.equal(p.read("build/x.csv"), "version TWO\n");
  writeFileSync(p.path("node_modules/countries/list.json"), `["it","de","fr"]\n`);
  await fullBuild(p, ["c"]);
  assert.equal(p.read("build/c.txt"), "it,de,fr\n");
  assert.ok(fromSnapshot(await build(p)), "and a no-op again");
});

test("an import that resolves elsewhere since the last compile (a file beside a folder, package.json imports): the new module is used, with or without the snapshot", async () => {
  const p = new Project({
    "lib/index.ts": `export const WORD = "from-dir-index";\n`,
    "cfg-a.ts": `export const CFG = "a";\n`,
    "cfg-b.ts": `export const CFG = "b";\n`,
    "package.json": JSON.stringify({ name: "proj", type: "module", imports: { "#cfg": "./cfg-a.ts" } }) + "\n",
    "Pipelinefile.ts":
      HEAD +
      `import { WORD } from "./lib";\n` +
      `import { CFG } from "#cfg";\n` +
      `export const g = target({ outputs: ["build/g.txt"], run: ({ outputs }) => sh\`echo \${WORD} \${CFG} > \${outputs[0]}\` });\n`,
  });
  await build(p);
  assert.equal(p.read("build/g.txt"), "from-dir-index a\n");
  assert.ok(fromSnapshot(await build(p)));
  writeFileSync(p.path("lib.ts"), `export const WORD = "from-lib-ts";\n`);
  await fullBuild(p, ["g"]);
  assert.equal(p.read("build/g.txt"), "from-lib-ts a\n");
  writeFileSync(p.path("package.json"), JSON.stringify({ name: "proj", type: "module", imports: { "#cfg": "./cfg-b.ts" } }) + "\n");
  await fullBuild(p, ["g"]);
  assert.equal(p.read("build/g.txt"), "from-lib-ts b\n");
  // The full path alone (no snapshot) reads the compile cache: it must see the change too.
  writeFileSync(p.path("cfg-c.ts"), `export const CFG = "c";\n`);
  writeFileSync(p.path("package.json"), JSON.stringify({ name: "proj", type: "module", imports: { "#cfg": "./cfg-c.ts" } }) + "\n");
  await fullBuild(p, ["g"], [], { PIPE_NO_SNAPSHOT: "1" });
  assert.equal(p.read("build/g.txt"), "from-lib-ts c\n");
});

test("a package replaced by a link to a checkout of the same version (npm link): its code counts from then on, and a no-op after an edit of it is not answered", async () => {
  const p = new Project({
    "node_modules/mylib/package.json": `{"name":"mylib","version":"1.0.0","type":"module","main":"index.js"}\n`,
    "node_modules/mylib/index.js": `export const TEXT = "alpha";\n`,
    "checkout/package.json": `{"name":"mylib","version":"1.0.0","type":"module","main":"index.js"}\n`,
    "checkout/index.js": `export const TEXT = "beta";\n`,
    "Pipelinefile.ts": HEAD + `import { TEXT } from "mylib";\nexport const g = target({ outputs: ["build/g.txt"], run: ({ outputs }) => sh\`echo \${TEXT} > \${outputs[0]}\` });\n`,
  });
  await build(p);
  assert.ok(fromSnapshot(await build(p)));
  rmSync(p.path("node_modules/mylib"), { recursive: true });
  symlinkSync(p.path("checkout"), p.path("node_modules/mylib"));
  await fullBuild(p, ["g"]);
  assert.equal(p.read("build/g.txt"), "beta\n");
  writeFileSync(p.path("checkout/index.js"), `export const TEXT = "gamma";\n`);
  await fullBuild(p, ["g"]);
  assert.equal(p.read("build/g.txt"), "gamma\n");
});

test("the no-op check prints no deprecation warning where node would warn about its fs binding (--pending-deprecation), and answers the same", async () => {
  const p = new Project(BASIC);
  try {
    await settle(p);
    const envs: Record<string, string>[] = [{}, { NODE_PENDING_DEPRECATION: "1" }, { NODE_OPTIONS: "--pending-deprecation" }, { NODE_OPTIONS: "--pending_deprecation --throw-deprecation" }];
    for (const env of envs) {
      const r = await build(p, [], env);
      assert.ok(fromSnapshot(r), JSON.stringify(env));
      assert.doesNotMatch(r.stderr, /Deprecation|DEP0/, JSON.stringify(env));
    }
    // A change is still seen (the check's stats are the ones it compares).
    p.write({ "data/a.txt": "one two three four\n" });
    const changed = await build(p, [], { NODE_PENDING_DEPRECATION: "1" });
    assert.deepEqual(finished(changed.events, "built").sort(), ["report", "words"]);
  } finally {
    p.remove();
  }
});

test("a file that cannot be a module appearing beside the Pipelinefile (notes, a log, an editor's swap file) keeps the snapshot answer; a new .ts there does not", async () => {
  // The folder of each module was a whole listing in the snapshot: any file coming or going at
  // the project's root (a recipe's log) made every next build plan in full. What can change
  // where an import resolves is what the compile cache looks at too (resolutionListing).
  const p = new Project(BASIC);
  await settle(p);
  p.write({ "notes.md": "todo\n", "run.log": "x\n", ".Pipelinefile.ts.swp": "" });
  let r = await build(p);
  assert.ok(fromSnapshot(r), "notes, a log and a swap file beside the Pipelinefile");
  rmSync(p.path("notes.md"));
  r = await build(p);
  assert.ok(fromSnapshot(r), "and one of them gone again");
  p.write({ "helper.ts": "export const z = 1;\n" });
  r = await build(p);
  assert.equal(fromSnapshot(r), false, "a module file beside the Pipelinefile could change what an import resolves to");
  p.remove();
});
