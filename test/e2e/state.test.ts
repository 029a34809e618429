// The state folder under damage: corrupt bytes never crash pipe; only affected targets rebuild;
// a store from a newer pipe is refused; read-only commands change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished, Project } from "../helpers/rig.ts";

const PF =
  `import { target, sh } from "pipefile";\n` +
  Array.from({ length: 5 }, (_, i) => `export const t${i} = target({ inputs: ["src/${i}.txt"], outputs: ["build/${i}.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n`).join("") +
  `export default [t0, t1, t2, t3, t4];\n`;

function project(): Project {
  return new Project({ "Pipelinefile.ts": PF, ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`src/${i}.txt`, `v${i}\n`])) });
}

test("a journal cut in the middle of its last record: that target rebuilds, the others stay up to date", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  const path = p.path(".pipe/records.jsonl");
  const size = readFileSync(path).length;
  truncateSync(path, size - 40);
  const s = await p.run(["status", "--json"]);
  assert.equal(s.code, 0, s.stderr);
  const stale = (JSON.parse(s.stdout).targets as { id: string; state: string }[]).filter((t) => t.state !== "up-to-date").map((t) => t.id);
  assert.equal(stale.length, 1, "only the target whose record was cut");
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(finished(b.events, "built"), stale);
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), []);
});

test("garbage in the stat cache and a damaged journal line never crash pipe; the bad file is set aside", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  writeFileSync(p.path(".pipe/stat-cache.json"), "\u0000\u0001 not json {{{");
  const journal = readFileSync(p.path(".pipe/records.jsonl"), "utf8").split("\n");
  journal[2] = journal[2].replace(/"time":\d+/, '"time":1'); // checksum no longer matches
  writeFileSync(p.path(".pipe/records.jsonl"), journal.join("\n"));
  const before = p.snapshot(".pipe");
  const s = await p.run(["status"]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(p.snapshot(".pipe"), before, "status changes nothing");
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(finished(b.events, "built").length, 1, "only the target whose record was damaged");
  const warnings = b.events.filter((e) => e.type === "warning").map((e) => (e.type === "warning" ? e.message : ""));
  assert.ok(warnings.some((w) => /stat-cache.json is damaged; moved it to .*quarantine/.test(w)), warnings.join("\n"));
  assert.ok(warnings.some((w) => /ignored 1 line of .* that did not verify/.test(w)), warnings.join("\n"));
});

test("a state folder written by a newer pipe is refused (exit 2) and left as it was", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  writeFileSync(p.path(".pipe/records.jsonl"), '{"format":"pipe-records","version":99}\n');
  const before = p.snapshot(".pipe");
  const b = await p.run(["build"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /written by a newer pipe \(format v99; this pipe reads v2\); refusing to touch it/);
  assert.deepEqual(p.snapshot(".pipe"), before);
});

test("state from another machine (or crafted) is not trusted: records and the no-op snapshot fail their HMAC, everything rebuilds with a message", async () => {
  const p = project();
  const here = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "pipe-machine-a-")) };
  const there = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "pipe-machine-b-")) };
  assert.equal((await p.run(["build"], { env: here })).code, 0);
  const again = await p.run(["build", "--json"], { env: here });
  assert.deepEqual(finished(again.events, "built"), []);
  // An attacker rewrites an output and keeps the records that vouch for the old bytes: on
  // another machine (another key), nothing is trusted; the output is rebuilt from its input.
  writeFileSync(p.path("build/0.txt"), "attacker\n");
  const other = await p.run(["build", "--json"], { env: there });
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(finished(other.events, "built"), ["t0", "t1", "t2", "t3", "t4"]);
  const warning = other.events.find((e) => e.type === "warning");
  const warnings = other.events.filter((e) => e.type === "warning" && e.message.includes("did not verify"));
  assert.equal(warnings.length, 1, "one message for the whole journal");
  assert.ok(warning && warning.type === "warning" && /ignored 5 lines of .* that did not verify .*not made on this machine/.test(warning.message), JSON.stringify(warning));
  assert.equal(p.read("build/0.txt"), "v0\n");
  assert.equal(statSync(machineKeyFile(there)).mode & 0o777, 0o600);
  // Each machine trusts its own records: the first is back to up to date at once.
  const back = await p.run(["build", "--json"], { env: there });
  assert.deepEqual(finished(back.events, "built"), []);
  // The lines that did not verify were dropped when that build closed the journal: said once.
  assert.equal(back.events.some((e) => e.type === "warning"), false);
  assert.equal(readFileSync(p.path(".pipe/records.jsonl"), "utf8").trim().split("\n").length, 1 + 5, "header + this machine's 5 records");
});

test("a .pipe/ tracked by git is reported as insecure, with the fix", { skip: spawnSync("git", ["--version"]).status !== 0 && "git is not installed" }, async () => {
  const p = project();
  const git = (...args: string[]) => spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: p.dir, encoding: "utf8" });
  assert.equal(git("init", "-q").status, 0);
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal(git("add", "-f", ".pipe/records.jsonl").status, 0);
  // (A no-op answered from the snapshot does not ask git; `status` and any build that plans do.)
  const r = await p.run(["status"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: state directory \.pipe\/ is tracked by git \(insecure\/unreliable\).*git rm -r --cached \.pipe/);
  p.write({ "src/0.txt": "changed\n" });
  const b = await p.run(["build", "--json"]);
  const warning = b.events.find((e) => e.type === "warning");
  assert.ok(warning && warning.type === "warning" && warning.message.includes("state directory .pipe/ is tracked by git (insecure/unreliable)"), JSON.stringify(warning));
});

function machineKeyFile(env: { XDG_STATE_HOME: string }): string {
  return join(env.XDG_STATE_HOME, "pipe", "machine-key");
}

test("status --verify: every record and every cache entry checked; a damaged object or record line is named, exit 1", async () => {
  const p = new Project({
    "src/a.txt": "a\n",
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const f = target({ inputs: ["src/a.txt"], outputs: ["build/f.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\nexport const d = target({ inputs: [f], outputs: ["build/tree/"], run: (c) => sh\`mkdir -p \${c.outputs[0]}/sub && cp \${c.inputs[0]} \${c.outputs[0]}/sub/copy.txt\` });\nexport default [d];\n`,
  });
  assert.equal((await p.run(["build"])).code, 0);
  const ok = await p.run(["status", "--verify"]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^verify: 2 records and 2 cache entries, no problems$/m);
  const json = await p.run(["status", "--verify", "--json"]);
  assert.deepEqual(JSON.parse(json.stdout), { records: 2, cacheEntries: 2, problems: [] });
  // Flip the bytes of the cached copy of build/f.txt (a small output: in the pack, stored once
  // for both f and the tree's member with the same bytes).
  const pack = p.path(".pipe/cache/pack/objects.pack");
  assert.equal(readFileSync(pack, "utf8"), "a\n");
  assert.equal(existsSync(p.path(".pipe/cache/objects")), false, "no loose objects for small outputs");
  writeFileSync(pack, "b\n");
  const bad = await p.run(["status", "--verify"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /problem: cache object [0-9a-f]+ is damaged: its bytes hash to [0-9a-f]+ \(output build\/f\.txt of "f"\)/);
  assert.match(bad.stdout, /problem: .*\(member sub\/copy\.txt of tree [0-9a-f]+\) \(output build\/tree of "d"\)/);
  // A damaged record line is counted too.
  const journal = p.path(".pipe/records.jsonl");
  writeFileSync(journal, readFileSync(journal, "utf8").replace('"durationMs"', '"durationMS"'));
  const worse = await p.run(["status", "--verify"]);
  assert.equal(worse.code, 1);
  assert.match(worse.stdout, /problem: 1 line of \.pipe\/records\.jsonl did not verify/);
});

test("status --verify checks the state even when the Pipelinefile does not load (after a crash, an edit in progress)", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  p.write({ "Pipelinefile.ts": "export const broken = ;\n" });
  assert.equal((await p.run(["status"])).code, 2, "the Pipelinefile is broken");
  const r = await p.run(["status", "--verify"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^verify: 5 records and 5 cache entries, no problems$/m);
});

test("a home where the machine key cannot be kept: the key goes to .pipe/machine-key, said once; builds still skip what is done", async () => {
  const p = project();
  // Nothing can be created under a regular file, not even by root.
  const blocker = join(mkdtempSync(join(tmpdir(), "pipe-home-")), "a-file");
  writeFileSync(blocker, "");
  const env = { XDG_STATE_HOME: join(blocker, "state") };
  const first = await p.run(["build", "--json"], { env });
  assert.equal(first.code, 0, first.stderr);
  const w = first.events.find((e) => e.type === "warning");
  assert.ok(w && w.type === "warning" && /cannot keep pipe's machine key at .*a-file\/state\/pipe\/machine-key \(ENOTDIR\); keeping it in \.pipe\/machine-key instead/.test(w.message), JSON.stringify(w));
  assert.equal(statSync(p.path(".pipe/machine-key")).mode & 0o777, 0o600);
  const second = await p.run(["build", "--json"], { env });
  assert.deepEqual(finished(second.events, "built"), []);
  assert.equal(second.events.some((e) => e.type === "warning"), false, "said once");
  const status = await p.run(["status", "--json"], { env });
  assert.ok((JSON.parse(status.stdout).targets as { state: string }[]).every((t) => t.state === "up-to-date"), status.stdout);
});

test("a .pipe/ copied with its folder key (a home that could not be written) is not trusted where it lands", async () => {
  const p = project();
  const blocker = join(mkdtempSync(join(tmpdir(), "pipe-home-")), "a-file");
  writeFileSync(blocker, "");
  assert.equal((await p.run(["build"], { env: { XDG_STATE_HOME: join(blocker, "state") } })).code, 0);
  assert.ok(existsSync(p.path(".pipe/machine-key")));
  // The whole project, state and key included, on a machine whose home is writable and has no
  // key yet (a fresh CI runner): an attacker edits an output the records vouch for.
  const copy = new Project();
  cpSync(p.dir, copy.dir, { recursive: true, filter: (src) => !src.includes("/node_modules") });
  writeFileSync(copy.path("build/0.txt"), "attacker\n");
  const there = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "pipe-machine-c-")) };
  const r = await copy.run(["build", "--json"], { env: there });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["t0", "t1", "t2", "t3", "t4"]);
  assert.ok(r.events.some((e) => e.type === "warning" && /did not verify/.test(e.message)), JSON.stringify(r.events.filter((e) => e.type === "warning")));
  assert.equal(copy.read("build/0.txt"), "v0\n");
  assert.ok(existsSync(machineKeyFile(there)), "that machine made its own key");
  copy.remove();
  p.remove();
});

test("a folder where a state file belongs (reliability.md D8) is moved to .pipe/quarantine/ with a warning naming it, never deleted; the build goes on and the next one runs nothing", { timeout: 120_000 }, async () => {
  const files = ["env-key", "last-run.json", "lock.json", "stat-cache.json", "records.jsonl", "cache/pack/objects.idx", "cache/pack/objects.pack", "noop/*"];
  for (const file of files) {
    const p = project();
    assert.equal((await p.run(["build"])).code, 0);
    assert.equal((await p.run(["build"])).code, 0); // writes the no-op snapshot
    const rel = file === "noop/*" ? `noop/${readdirSync(p.path(".pipe/noop")).find((n) => /^[0-9a-f]+\.json$/.test(n))!}` : file;
    rmSync(p.path(`.pipe/${rel}`), { force: true });
    p.write({ [`.pipe/${rel}/mine.txt`]: "kept\n" });
    p.write({ "src/1.txt": "changed\n" });
    // A build the no-op snapshot vouches for leaves the stat cache alone: plan in full for that one.
    const r = await p.run(["build", "--json"], { env: file === "stat-cache.json" ? { PIPE_NO_SNAPSHOT: "1" } : {} });
    assert.equal(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, file);
    const warnings = r.events.filter((e) => e.type === "warning").map((e) => String(e.message));
    assert.ok(warnings.some((w) => new RegExp(`\\.pipe/${rel.replace(/[.*]/g, "\\$&")} (was a folder where pipe keeps a file|is a directory); moved it to .*\\.pipe/quarantine/`).test(w)), `${file}: ${warnings.join("; ")}`);
    const moved = readdirSync(p.path(".pipe/quarantine"));
    assert.equal(moved.length, 1, `${file}: ${moved.join(", ")}`);
    assert.equal(p.read(`.pipe/quarantine/${moved[0]}/mine.txt`), "kept\n", `${file}: what was there is kept`);
    assert.equal(p.read("build/1.txt"), "changed\n");
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(finished(again.events, "built"), [], `${file}: the next build runs nothing`);
    // The index or the pack set aside, the other targets' cached bytes are unreachable (they stay
    // up to date, but could not be restored): verify says so, which is the truth.
    const v = await p.run(["status", "--verify"]);
    if (file.startsWith("cache/pack/")) {
      assert.equal(v.code, 1, `${file}: ${v.stdout}`);
      assert.match(v.stdout, /^problem: /m);
    } else assert.equal(v.code, 0, `${file}: ${v.stdout}`);
  }
});

test("temps of .pipe/'s own files that a killed pipe left between write and rename are removed by the next build (only those)", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  const left = ["stat-cache.json.99999.tmp", "last-run.json.12345.tmp", "env-key.4242.tmp", "lock.json.77.tmp"];
  p.write(Object.fromEntries([...left, "notes.tmp", "stat-cache.json.tmp"].map((n) => [`.pipe/${n}`, "x\n"])));
  p.write({ "src/2.txt": "changed\n" });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(finished(r.events, "built"), ["t2"]);
  for (const n of left) assert.equal(p.exists(`.pipe/${n}`), false, n);
  assert.equal(p.exists(".pipe/notes.tmp") && p.exists(".pipe/stat-cache.json.tmp"), true, "what pipe does not name that way is left alone");
});

test(".pipe/ not writable, or a file where it belongs: one message naming it and the fix, exit 2, no stack trace", async () => {
  const p = new Project({ "data/a.txt": "a\n", "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const w = target({ inputs: ["data/a.txt"], outputs: ["build/w.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]} > \${outputs[0]}\` });\n` });
  try {
    p.write({ ".pipe": "not a folder\n" });
    for (const cmd of [["build"], ["status"]]) {
      const r = await p.run(cmd);
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /^error: \.pipe\/ \(.*\) is not a folder: pipe keeps its records and cache there\n  hint: move it aside \(mv \.pipe \.pipe\.old\) and build again\n/, cmd.join(" "));
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
    if (process.getuid?.() !== 0) {
      // (root writes through permission bits: the read-only case needs another user)
      rmSync(p.path(".pipe"));
      assert.equal((await p.run(["build"])).code, 0);
      p.write({ "data/a.txt": "b\n" });
      chmodSync(p.path(".pipe"), 0o500);
      const r = await p.run(["build"]);
      chmodSync(p.path(".pipe"), 0o700);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: cannot write pipe's state folder \.pipe\/ \(EACCES: .*\)\n  hint: make it writable/);
    }
  } finally {
    p.remove();
  }
});

test("a damaged record line: status, why and graph say so (they ignored it silently), and the target is stale", async () => {
  const p = new Project({ "data/a.txt": "a\n", "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const w = target({ inputs: ["data/a.txt"], outputs: ["build/w.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs[0]} > \${outputs[0]}\` });\n` });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    const journal = p.read(".pipe/records.jsonl");
    writeFileSync(p.path(".pipe/records.jsonl"), journal.replace(/"durationMs":(\d+)/, (_, n) => `"durationMs":${Number(n) + 1}`));
    for (const cmd of [["status"], ["why", "w"], ["graph"]]) {
      const r = await p.run(cmd);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^warning: .*did not verify/m, `${cmd.join(" ")}: ${r.stderr}`);
    }
    assert.match((await p.run(["status"])).stdout, /^stale\s+w\s+no record of an earlier run$/m);
  } finally {
    p.remove();
  }
});

test("a lock left by a pipe that was killed is taken over and said so; a normal build after a normal one says nothing", async () => {
  const p = project();
  try {
    assert.equal((await p.run(["build"])).code, 0);
    assert.equal(existsSync(p.path(".pipe/lock.json")), false, "a release removes the holder's note");
    p.write({ ".pipe/lock.json": JSON.stringify({ pid: 999999, command: "pipe build", since: "2026-12-05T10:00:00.000Z" }), "src/0.txt": "changed\n" });
    const r = await p.run(["build"], { env: { PIPE_NO_SNAPSHOT: "1" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^recovered a stale lock \(pid 999999: pipe build, since 2026-12-05T10:00:00\.000Z, ended without releasing it \(killed\?\)\)$/m);
    p.write({ "src/0.txt": "again\n" });
    const again = await p.run(["build", "--json"], { env: { PIPE_NO_SNAPSHOT: "1" } });
    const acquired = again.events.find((e) => e.type === "lock-acquired");
    assert.deepEqual(acquired, { type: "lock-acquired" });
  } finally {
    p.remove();
  }
});
