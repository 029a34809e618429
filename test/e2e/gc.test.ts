// `pipe gc` (src/state/cache-gc.ts): the cache keeps what the journal's records name and loses
// the rest; --keep-runs forgets older runs (records and bytes); bytes pipe kept for the user stay;
// a kill at each step of the pack's rewrite loses nothing a record names (reliability.md A5).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { collect, finished, Project, Reaper, waitForLine } from "../helpers/rig.ts";

// Three kinds of cache entry per run: a packed file (small), a loose one (over 64 KiB), a folder.
const PIPELINEFILE = `import { target, param, sh } from "pipefile";
export const n = param.int("n", { default: 1 });
export const small = target({ params: { n }, outputs: ["build/small.txt"], run: (c) => sh\`sh -c \${"echo small $0 >> runs.log; echo small $0 > $1"} \${String(c.params.n)} \${c.outputs[0]}\` });
export const big = target({ params: { n }, outputs: ["build/big.bin"], run: (c) => sh\`sh -c \${"echo big $0 >> runs.log; head -c 100000 /dev/zero | tr '\\\\0' $0 > $1"} \${String(c.params.n)} \${c.outputs[0]}\` });
export const tree = target({ params: { n }, outputs: ["build/dir/"], run: (c) => sh\`sh -c \${"echo tree $0 >> runs.log; mkdir -p $1 && echo t$0 > $1/a && echo same > $1/b"} \${String(c.params.n)} \${c.outputs[0]}\` });
`;
const IDS = ["big", "small", "tree"];

/** Every entry under .pipe/ (relative path -> size and mtime, in ns), to see that nothing was written. */
function stateTree(p: Project): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(p.path(rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      const st = statSync(p.path(r), { bigint: true });
      out[r] = `${e.isDirectory() ? "dir" : st.size} m${st.mtimeNs}`;
      if (e.isDirectory()) walk(r);
    }
  };
  walk(".pipe");
  out[".pipe"] = `dir m${statSync(p.path(".pipe"), { bigint: true }).mtimeNs}`;
  return out;
}

/** Every file under .pipe/cache (relative path -> size), to see what gc removed. */
function cacheFiles(p: Project): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (rel: string) => {
    const abs = p.path(rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out[r] = statSync(p.path(r)).size;
    }
  };
  walk(".pipe/cache");
  return out;
}

async function buildAll(p: Project, values: number[]): Promise<void> {
  for (const n of values) {
    const r = await p.run(["build", "-p", `n=${n}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** Writes `text` over build/small.txt, builds with n, and returns where pipe kept those bytes (the source of the `cp` it printed). */
async function keepEdit(p: Project, text: string, n: number): Promise<string> {
  p.write({ "build/small.txt": text });
  const r = await p.run(["build", "-p", `n=${n}`, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const w = r.events.find((e) => e.type === "warning" && e.message.includes("build/small.txt"));
  const cp = w && w.type === "warning" ? /to get them back: cp (\S+) build\/small.txt/.exec(w.message) : null;
  assert.ok(cp, `the edit is kept, with the command that gets it back: ${JSON.stringify(w)}`);
  return cp[1];
}

/** Runs of `n` the recipes made so far (from runs.log). */
const runsOf = (p: Project, n: number) => (p.exists("runs.log") ? p.read("runs.log").split("\n").filter((l) => l.endsWith(` ${n}`)).length : 0);

test("gc keeps what the records name; --keep-runs N forgets older runs and their bytes; a dry run changes nothing; status --verify stays clean", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    await buildAll(p, [1, 2, 3, 4]);
    const before = cacheFiles(p);
    // Every run is recorded, so nothing is garbage yet.
    const all = await p.run(["gc", "--json"]);
    assert.equal(all.code, 0, all.stderr);
    const allDoc = JSON.parse(all.stdout);
    assert.deepEqual(allDoc.removed, { entries: 0, bytes: 0 });
    assert.equal(allDoc.records, 12);
    assert.deepEqual(cacheFiles(p), before);

    const state = stateTree(p);
    const dry = await p.run(["gc", "--keep-runs", "2", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(stateTree(p), state, "a dry run writes nothing under .pipe/ (no lock file either)");
    assert.match(dry.stdout, /^gc: would remove 8 cache entries \(200\.\d kB\); kept \d+ entries \(.*\) named by 6 recorded runs \(the 2 newest of each target, and those on disk now\); 6 older runs would be forgotten/);
    assert.deepEqual(cacheFiles(p), before, "a dry run removes nothing");
    const journal = p.read(".pipe/records.jsonl");

    const gc = await p.run(["gc", "--keep-runs", "2", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    const doc = JSON.parse(gc.stdout);
    assert.equal(doc.removed.entries, 8, "runs 1 and 2: a packed file, a loose file, a manifest and its packed member each");
    assert.ok(doc.removed.bytes > 200_000, `the two big outputs' bytes are freed (${doc.removed.bytes})`);
    assert.equal(doc.forgotten, 6);
    assert.equal(doc.records, 6);
    assert.ok(p.read(".pipe/records.jsonl").length < journal.length, "the journal forgot the older runs");
    const after = cacheFiles(p);
    assert.ok(after[".pipe/cache/pack/objects.pack"] < before[".pipe/cache/pack/objects.pack"], "the pack was rewritten smaller");
    assert.ok(Object.keys(after).length < Object.keys(before).length);

    const verify = await p.run(["status", "--verify"]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /verify: 6 records and 6 cache entries, no problems/);
    const history = await p.run(["history", "big", "--json"]);
    assert.deepEqual(
      JSON.parse(history.stdout).runs.map((r: { params: { n: number } }) => r.params.n),
      [4, 3],
    );

    // Run 3 is kept: restored without running. Run 1 was forgotten: its recipes run again.
    const three = await p.run(["build", "-p", "n=3", "--json"]);
    assert.equal(three.code, 0, three.stderr);
    assert.deepEqual(finished(three.events, "restored"), IDS);
    assert.equal(runsOf(p, 3), 3, "nothing ran for n=3");
    assert.equal(p.read("build/small.txt"), "small 3\n");
    const one = await p.run(["build", "-p", "n=1", "--json"]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(finished(one.events, "built"), IDS);
    assert.equal(runsOf(p, 1), 6);
    assert.equal(readFileSync(p.path("build/big.bin")).length, 100_000);
    assert.equal(p.read("build/dir/a"), "t1\n");
  } finally {
    p.remove();
  }
});

test("gc never removes bytes pipe kept for the user (an output edited by hand that a build replaced)", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    await buildAll(p, [1]);
    const kept = await keepEdit(p, "my own edit\n", 2);
    const gc = await p.run(["gc", "--keep-runs", "1", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(JSON.parse(gc.stdout).keptForUser, 1);
    assert.equal(p.read(kept), "my own edit\n", "the printed command still gets the edit back");
  } finally {
    p.remove();
  }
});

test("--keep-runs keeps the run whose outputs are on disk now, also when a restore made them (it records no new run)", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    // 1, 2, then back to 1: restored, so the newest record is still run 2's.
    await buildAll(p, [1, 2, 1]);
    const gc = await p.run(["gc", "--keep-runs", "1", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(JSON.parse(gc.stdout).records, 6, "run 2 (the newest) and run 1 (on disk) of each target");
    const status = await p.run(["status", "-p", "n=1", "--json"]);
    assert.deepEqual(JSON.parse(status.stdout).targets.map((t: { state: string }) => t.state), ["up-to-date", "up-to-date", "up-to-date"], status.stdout);
    const two = await p.run(["build", "-p", "n=2", "--json"]);
    assert.deepEqual(finished(two.events, "restored"), IDS);
    const verify = await p.run(["status", "--verify"]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.equal(runsOf(p, 1) + runsOf(p, 2), 6, "nothing ran again");
  } finally {
    p.remove();
  }
});

test("--keep-runs keeps every run whose outputs are on disk: two param values that made the same bytes both stay, so neither runs again", { timeout: 60_000 }, async () => {
  // Before: only the newest matching run was kept (p=2's), and a build with p=1 ran again.
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, param, sh } from "pipefile";\n` +
      `export const p = param.int("p", { default: 1 });\n` +
      `export const a = target({ params: { p }, outputs: ["build/a.txt"], run: (c) => sh\`sh -c \${"echo run >> runs.log; echo same > $0"} \${c.outputs[0]} \${String(c.params.p > 0)}\` });\n`,
  });
  try {
    for (const args of [[], ["-p", "p=2"], []]) assert.equal((await p.run(["build", "a", ...args])).code, 0);
    assert.equal(p.read("runs.log"), "run\nrun\n", "p=1 and p=2 ran once each; back to p=1 is up to date");
    const gc = await p.run(["gc", "--keep-runs", "1", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(JSON.parse(gc.stdout).records, 2, "both runs made the bytes on disk");
    for (const args of [[], ["-p", "p=2"]]) {
      const r = await p.run(["build", "a", "--json", ...args]);
      assert.deepEqual(finished(r.events, "up-to-date"), ["a"], args.join(" "));
    }
    assert.equal(p.read("runs.log"), "run\nrun\n", "nothing ran again");
  } finally {
    p.remove();
  }
});

test("gc refuses, removing nothing, when it cannot read every record: a journal whose header is damaged (left in place), or a missing journal", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    await buildAll(p, [1, 2]);
    const before = cacheFiles(p);
    const journal = p.read(".pipe/records.jsonl");
    const damagedJournal = `{"format":"pipe-rec${journal.slice(journal.indexOf("\n"))}`;
    p.write({ ".pipe/records.jsonl": damagedJournal });
    const damaged = await p.run(["gc", "--keep-runs", "1"]);
    assert.equal(damaged.code, 1, damaged.stdout);
    assert.match(damaged.stderr, /^error: .*records\.jsonl.*: gc cannot tell which cache entries the lost records name, so it removes nothing\nhint: /);
    assert.deepEqual(cacheFiles(p), before);
    assert.equal(p.read(".pipe/records.jsonl"), damagedJournal, "gc leaves the journal as it was (a build sets it aside, saying so)");
    assert.equal(p.exists(".pipe/quarantine"), false);
    rmSync(p.path(".pipe/records.jsonl"));
    const missing = await p.run(["gc"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /records\.jsonl is missing: gc cannot tell/);
    assert.deepEqual(cacheFiles(p), before);
  } finally {
    p.remove();
  }
});

test("a cache an earlier pipe made (no kept.list): gc keeps its loose objects that no record names (they may be edits it kept), not the outputs of forgotten runs", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    await buildAll(p, [1]);
    const kept = await keepEdit(p, "my own edit\n", 2);
    const hash1: string = JSON.parse(p.runSync(["history", "big", "--json"]).stdout).runs.find((x: { params: { n: number } }) => x.params.n === 1).outputs[0].hash;
    const big1 = `.pipe/cache/objects/${hash1.slice(0, 2)}/${hash1}`;
    assert.ok(p.exists(big1));
    // What an earlier pipe left: no list of the kept bytes.
    rmSync(p.path(".pipe/cache/kept.list"));
    const gc = await p.run(["gc", "--keep-runs", "1"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /1 object of them from a cache an earlier pipe made, which did not list the bytes it kept for you: no record names them, so they may hold edited outputs/);
    assert.equal(p.read(kept), "my own edit\n", "the edit is kept");
    assert.equal(existsSync(p.path(big1)), false, "run 1's big output went with its run (a record named it)");
    // Again, but the first to write the list is \`pipe clean\` keeping another edit (no build starts).
    rmSync(p.path(".pipe/cache/kept.list"));
    p.write({ "build/small.txt": "another edit\n" });
    const clean = await p.run(["clean", "small", "-p", "n=2"]);
    assert.equal(clean.code, 0, clean.stderr);
    const again = await p.run(["gc", "--keep-runs", "1", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).keptForUser, 2, "the first edit (unnamed, from the earlier list) and the new one");
    assert.equal(p.read(kept), "my own edit\n");
  } finally {
    p.remove();
  }
});

test("kept.list edited by hand: a last line without its newline, CRLF endings, or a list that cannot be read never make gc remove kept bytes", { timeout: 60_000 }, async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  try {
    const edits: string[] = [];
    for (const n of [1, 2, 3]) {
      // Each build replaces bytes pipe did not make (the first one too: a file was there already).
      edits.push(await keepEdit(p, `edit ${n}\n`, n));
      // After the second kept edit: the last line loses its newline (what "delete a line" in an editor can leave).
      if (n === 2) p.write({ ".pipe/cache/kept.list": p.read(".pipe/cache/kept.list").trimEnd() });
    }
    p.write({ ".pipe/cache/kept.list": p.read(".pipe/cache/kept.list").replace(/\n/g, "\r\n") });
    const gc = await p.run(["gc", "--keep-runs", "1", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(JSON.parse(gc.stdout).keptForUser, 3);
    assert.deepEqual(edits.map((e) => p.read(e)), ["edit 1\n", "edit 2\n", "edit 3\n"]);
    rmSync(p.path(".pipe/cache/kept.list"));
    mkdirSync(p.path(".pipe/cache/kept.list"));
    const before = cacheFiles(p);
    const refused = await p.run(["gc", "--keep-runs", "1"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /kept\.list \(or kept-earlier\.list\) cannot be read/);
    assert.deepEqual(cacheFiles(p), before);
  } finally {
    p.remove();
  }
});

test("plain gc keeps the 32 newest runs of each target, as the journal does, and the run on disk; a run partly on disk counts as on disk", { timeout: 120_000 }, async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
export const n = param.int("n", { default: 1 });
export const two = target({ params: { n }, outputs: ["build/x.txt", "build/y.txt"], run: (c) => sh\`sh -c \${"echo x $0 > $1; echo y $0 > $2; echo $0 >> runs.log"} \${String(c.params.n)} \${c.outputs[0]} \${c.outputs[1]}\` });
`,
  });
  try {
    for (let n = 1; n <= 34; n++) assert.equal((await p.run(["build", "-p", `n=${n}`, "-q"])).code, 0);
    // Back to run 1 (restored: no new record), with one of its outputs removed by hand.
    const back = await p.run(["build", "-p", "n=1", "--json"]);
    assert.deepEqual(finished(back.events, "restored"), ["two"]);
    rmSync(p.path("build/y.txt"));
    const gc = await p.run(["gc", "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    const doc = JSON.parse(gc.stdout);
    assert.equal(doc.forgotten, 1, "run 2 (33rd newest); run 1 is on disk");
    assert.equal(doc.records, 33);
    const again = await p.run(["build", "-p", "n=1", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(finished(again.events, "restored"), ["two"]);
    assert.equal(again.events.filter((e) => e.type === "warning").length, 0, "nothing called changed outside pipe");
    assert.equal(p.read("build/y.txt"), "y 1\n");
    const verify = await p.run(["status", "--verify"]);
    assert.equal(verify.code, 0, verify.stdout);
  } finally {
    p.remove();
  }
});

test("A5: a kill at each step of gc's pack rewrite loses nothing a record names: a reader sees a whole pack, the next build finishes or undoes the rewrite and restores", { timeout: 120_000 }, async () => {
  for (const point of ["gc-pack-written", "gc-commit", "gc-pack-renamed"]) {
    const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
    try {
      await buildAll(p, [1, 2, 3]);
      const crash = await p.run(["gc", "--keep-runs", "2"], { env: { PIPE_TEST_CRASH_AT: point } });
      assert.equal(crash.signal, "SIGKILL", `${point}: gc reaches the step\n${crash.stdout}${crash.stderr}`);
      const packDir = p.path(".pipe/cache/pack");
      const committed = point !== "gc-pack-written";
      assert.equal(existsSync(join(packDir, "gc-commit")), committed, `${point}: the commit marker`);
      // A reader (no lock, writes nothing) sees a whole pack: every kept run's entries verify.
      const verify = await p.run(["status", "--verify"]);
      assert.equal(verify.code, 0, `${point}: ${verify.stdout}`);
      assert.equal(existsSync(join(packDir, "gc-commit")), committed, `${point}: a reader changes nothing`);
      // The next build (the lock holder) finishes a committed rewrite, or removes an uncommitted one.
      const two = await p.run(["build", "-p", "n=2", "--json"]);
      assert.equal(two.code, 0, two.stderr);
      assert.deepEqual(finished(two.events, "restored"), IDS, `${point}: run 2's bytes restore`);
      assert.deepEqual(readdirSync(packDir).sort(), ["objects.idx", "objects.pack"], `${point}: no leftovers`);
      const three = await p.run(["build", "-p", "n=3", "--json"]);
      assert.deepEqual(finished(three.events, "restored"), IDS, `${point}: run 3's bytes restore`);
      assert.equal(runsOf(p, 2) + runsOf(p, 3), 6, "nothing ran again");
      const again = await p.run(["gc", "--keep-runs", "2", "--json"]);
      assert.equal(again.code, 0, again.stderr);
      const after = await p.run(["status", "--verify"]);
      assert.equal(after.code, 0, `${point}: ${after.stdout}`);
    } finally {
      p.remove();
    }
  }
});

test("gc: a mistake in its arguments is exit 2 naming it; while a build holds the lock, --no-wait is exit 75, a dry run answers at once and a plain gc waits for it", { timeout: 60_000 }, async (t) => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\nexport const slow = target({ outputs: ["build/slow"], run: (c) => sh\`sh -c \${"echo READY; while [ ! -e gate ]; do sleep 0.02; done; touch \\"$0\\""} \${c.outputs[0]}\` });\n` +
      `export const quick = target({ outputs: ["build/quick"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  const reaper = new Reaper(t.signal);
  try {
    const zero = await p.run(["gc", "--keep-runs", "0"]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--keep-runs needs a whole number of runs, at least 1; got "0"/);
    assert.doesNotMatch(zero.stderr, /\n\s+at /, "no stack trace");
    const named = await p.run(["gc", "slow"]);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /pipe gc takes no targets; got "slow"/);
    const empty = await p.run(["gc"]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /gc: the cache is empty/);
    assert.equal((await p.run(["build", "quick"])).code, 0);

    const build = reaper.add(p.spawn(["build", "--verbose", "slow"]));
    const built = collect(build);
    await waitForLine(build, (l) => l.includes("READY"));
    const busy = await p.run(["gc", "--no-wait"]);
    assert.equal(busy.code, 75, busy.stderr);
    assert.match(busy.stderr, /^busy: .*pipe build --verbose slow/);
    // A dry run only reads: it answers now, without waiting for the build or taking the lock.
    const dry = await p.run(["gc", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), { dryRun: true, kept: JSON.parse(dry.stdout).kept, removed: { entries: 0, bytes: 0 }, damaged: 0, keptForUser: 0, records: 1, forgotten: 0 });
    assert.doesNotMatch(dry.stderr, /waiting/);
    const waiting = reaper.add(p.spawn(["gc", "--json"]));
    const waited = collect(waiting);
    await waitForLine(waiting, (l) => l.includes("waiting for the project lock"), "stderr");
    p.write({ gate: "" });
    const [b, g] = await Promise.all([built, waited]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).records, 2, "gc read the journal after the build recorded its run");
    p.remove();
  } finally {
    if (p.exists(".")) p.write({ gate: "" });
    reaper.stop();
  }
});
