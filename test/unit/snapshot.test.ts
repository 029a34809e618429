// The no-op snapshot's writer and reader, without a Pipelinefile: a target that reads more files
// than a function call takes arguments, and the per-target rows a partial build relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { writeSnapshot, type SnapshotSource } from "../../src/fast/write-snapshot.ts";
import { applyDelta, decodeRows, deltaPath, DELTA_FORMAT, DELTA_VERSION, factHolds, FILE_NUMS, hashAt, openDelta, openSnapshot, refreshFact, sealDelta, sealSnapshot, snapshotPath, type Delta, type DeltaRow, type FileTable } from "../../src/fast/snapshot.ts";
import { FileHasher, type StatEntry } from "../../src/hash/file-hasher.ts";
import { machineKey } from "../../src/state/machine-key.ts";
import { sourceFiles, type Graph, type GraphTarget } from "../../src/graph/graph.ts";

const HASH = "0123456789abcdef0123456789abcdef";

function source(root: string, inputs: Record<string, number>): SnapshotSource {
  const stateDir = join(root, ".pipe");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, "env-key"), "k".repeat(64));
  // Facts come from the hasher's (stat -> hash) cache: no files are needed for them.
  const cache = new Map<string, StatEntry>();
  const settled = new Map<string, { inputs: [string, string][]; outputs: [] }>();
  const plan = [];
  const targets = new Map<string, GraphTarget>();
  for (const [id, n] of Object.entries(inputs)) {
    const list: [string, string][] = [];
    for (let i = 0; i < n; i++) {
      const path = `in/${id}/${i}.txt`;
      cache.set(path, { dev: 1, ino: i + 1, size: 3, mtimeMs: 1000, ctimeMs: 1000, hash: HASH, hashedAt: 5000 });
      list.push([path, HASH]);
    }
    settled.set(id, { inputs: list, outputs: [] });
    plan.push({ target: id, action: "up-to-date" as const, deps: [] });
    targets.set(id, { env: [] } as unknown as GraphTarget);
  }
  return {
    root,
    stateDir,
    key: "request",
    today: "2026-12-05",
    env: {},
    graph: { targets } as unknown as Graph,
    hasher: new FileHasher(root, cache),
    compiled: { entryUrl: "", dir: "", modules: {}, compiledNow: false, sources: [] },
    packageFiles: [],
    trace: { reads: new Map(), lists: new Map(), stats: new Map(), env: new Set(), opaque: [] },
    globLists: new Map(),
    targets: Object.keys(inputs),
    plan,
    settled,
  };
}

/** Runs `f` in a fresh project folder with a fresh machine key folder, and removes both. */
function inTempProject(f: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "pipe-snap-"));
  const state = mkdtempSync(join(tmpdir(), "pipe-snap-key-"));
  const saved = process.env.XDG_STATE_HOME;
  process.env.XDG_STATE_HOME = state;
  try {
    f(root);
  } finally {
    if (saved === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = saved;
    rmSync(root, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

test("a target that reads 200,000 files gets a snapshot with its rows (no call with one argument per file)", () => {
  inTempProject((root) => {
    const src = source(root, { big: 200_000, small: 2 });
    assert.equal(writeSnapshot(src), undefined);
    const text = readFileSync(snapshotPath(root, "request"), "utf8");
    const snap = openSnapshot(text, machineKey(process.env, src.stateDir).key);
    assert.ok(snap);
    const rows = decodeRows(snap);
    assert.ok(rows);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].length, 200_000);
    assert.deepEqual(rows[1].map((r) => snap.files.paths[r]), ["in/small/0.txt", "in/small/1.txt"]);
    assert.equal(snap.files.paths[rows[0][199_999]], "in/big/199999.txt");
  });
});

test("rows that do not fit the plan or the table are not trusted", () => {
  inTempProject((root) => {
    const src = source(root, { a: 2, b: 1 });
    assert.equal(writeSnapshot(src), undefined);
    const snap = openSnapshot(readFileSync(snapshotPath(root, "request"), "utf8"), machineKey(process.env, src.stateDir).key)!;
    assert.deepEqual(decodeRows(snap), [[0, 1], [2]]);
    const ints = (xs: number[]) => Buffer.from(Int32Array.from(xs).buffer).toString("base64");
    assert.equal(decodeRows({ ...snap, targetRows: ints([2, 0, 1, 1, 7]) }), undefined, "a row past the table");
    assert.equal(decodeRows({ ...snap, targetRows: ints([2, 0, 1]) }), undefined, "too few entries for the plan");
    assert.equal(decodeRows({ ...snap, targetRows: ints([2, 0, 1, 1, 2, 9]) }), undefined, "trailing numbers");
    assert.equal(decodeRows({ ...snap, targetRows: ints([-1, 0]) }), undefined, "a negative count");
    assert.equal(decodeRows({ ...snap, targetRows: "" }), undefined, "no rows (a folder input or output)");
  });
});

test("the source files of a target whose glob matched 200,000 files", () => {
  const files = Array.from({ length: 200_000 }, (_, i) => `data/${i}.csv`);
  const t = { inputs: [{ single: false, items: [{ kind: "glob", spec: "data/*.csv", files }, { kind: "dir", spec: "ref/", files: ["ref"] }, { kind: "target", spec: "up", files: ["out/up.txt"], target: "up" }] }] } as unknown as GraphTarget;
  const got = sourceFiles(t);
  assert.equal(got.length, 200_001);
  assert.equal(got[199_999], "data/199999.csv");
  assert.equal(got[200_000], "ref/");
});

test("a snapshot opens from its text, non-ASCII paths included, and not once a byte changed", () => {
  inTempProject((root) => {
    const src = source(root, { a: 1 });
    const [path, hash] = src.settled.get("a")!.inputs[0];
    const entry = src.hasher.cache.get(path)!;
    src.hasher.cache.set("in/ä/ß.txt", entry);
    src.settled.get("a")!.inputs.push(["in/ä/ß.txt", hash]);
    assert.equal(writeSnapshot(src), undefined);
    const key = machineKey(process.env, src.stateDir).key;
    const bytes = readFileSync(snapshotPath(root, "request"));
    const snap = openSnapshot(bytes.toString("utf8"), key);
    assert.ok(snap);
    assert.deepEqual(snap.files.paths, [path, "in/ä/ß.txt"]);
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 3] ^= 1;
    assert.equal(openSnapshot(tampered.toString("utf8"), key), undefined);
    assert.equal(openSnapshot(bytes.toString("utf8"), "another key"), undefined);
  });
});

test("a delta applies to the snapshot it names, row by row, and to no other; a bad row changes nothing", () => {
  inTempProject((root) => {
    const src = source(root, { a: 3, b: 2 });
    assert.equal(writeSnapshot(src), undefined);
    const key = machineKey(process.env, src.stateDir).key;
    const text = readFileSync(snapshotPath(root, "request"), "utf8");
    const seal = text.slice(0, 64);
    const open = () => openSnapshot(text, key)!;
    const snap = open();
    const { paths } = snap.files;
    const other = "fedcba9876543210fedcba9876543210";
    const row = paths.indexOf("in/a/1.txt");
    const delta = (rows: DeltaRow[], base = seal): Delta => ({ format: DELTA_FORMAT, version: DELTA_VERSION, base, exact: [["/x", 1, 2, 3, 4]], rows });
    const good: DeltaRow = [row, "in/a/1.txt", 7, 8, 9, 10, 11, 12, -1, other];
    // Sealed and opened again; then applied: that row's facts and hash, nothing else.
    const reopened = openDelta(sealDelta(delta([good]), key), key);
    assert.ok(reopened);
    assert.equal(openDelta(sealDelta(delta([good]), key).replace('"in/a/1.txt"', '"in/a/2.txt"'), key), undefined, "a changed byte does not verify");
    assert.equal(applyDelta(snap, reopened, seal), true);
    for (let i = 0; i < paths.length; i++) assert.equal(hashAt(snap.files, i), i === row ? other : HASH, paths[i]);
    assert.deepEqual([...snap.files.nums.slice(row * FILE_NUMS, (row + 1) * FILE_NUMS)], [7, 8, 9, 10, 11, 12, -1]);
    assert.deepEqual([...snap.files.nums.slice(0, FILE_NUMS)], [...open().files.nums.slice(0, FILE_NUMS)]);
    assert.deepEqual(snap.exact, [["/x", 1, 2, 3, 4]]);
    assert.deepEqual(snap.deltaRows, [row]);
    // Another snapshot's delta, a row whose path is not the snapshot's, two facts for one row,
    // a row past the table: not applied, and the snapshot is as it was.
    for (const bad of [delta([good], "0".repeat(64)), delta([[row, "in/a/2.txt", 7, 8, 9, 10, 11, 12, -1, other]]), delta([good, good]), delta([[paths.length, "in/a/1.txt", 7, 8, 9, 10, 11, 12, -1, other]])]) {
      const fresh = open();
      assert.equal(applyDelta(fresh, bad, seal), false);
      assert.equal(fresh.files.hashes, open().files.hashes);
      assert.deepEqual([...fresh.files.nums], [...open().files.nums]);
      assert.equal(fresh.deltaRows, undefined);
    }
  });
});

test("a file a trusted target reads, read with other bytes by a rebuilt one: neither a delta nor a snapshot vouches for it", () => {
  inTempProject((root) => {
    // a reads in/a/0.txt and shared.txt; b reads 40 files and shared.txt.
    const src = source(root, { a: 1, b: 40 });
    const shared = { dev: 1, ino: 99, size: 3, mtimeMs: 1000, ctimeMs: 1000, hash: HASH, hashedAt: 5000 };
    src.hasher.cache.set("shared.txt", shared);
    for (const id of ["a", "b"]) src.settled.get(id)!.inputs.push(["shared.txt", HASH]);
    assert.equal(writeSnapshot(src), undefined);
    const key = machineKey(process.env, src.stateDir).key;
    const path = snapshotPath(root, "request");
    const rebuildA = (sharedHash: string) => {
      const text = readFileSync(path, "utf8");
      const snap = openSnapshot(text, key)!;
      snap.seal = text.slice(0, 64);
      src.hasher.cache.set("shared.txt", { ...shared, ino: sharedHash === HASH ? 99 : 100, hash: sharedHash });
      return writeSnapshot({
        ...src,
        carried: { trusted: new Set(["b"]), snapshot: snap, rows: decodeRows(snap)!, partialGraph: true },
        settled: new Map([["a", { inputs: [["in/a/0.txt", HASH], ["shared.txt", sharedHash]], outputs: [] }]]),
      });
    };
    // The same bytes: a delta, the snapshot file as it was.
    const before = readFileSync(path, "utf8");
    assert.equal(rebuildA(HASH), undefined);
    assert.equal(readFileSync(path, "utf8"), before);
    assert.ok(existsSync(deltaPath(path)));
    // Other bytes (changed after the no-op check, b's run used the old ones): no delta, and the
    // whole snapshot is not written either, so the next build plans b again.
    assert.match(rebuildA("f".repeat(32)) ?? "", /shared\.txt has two hashes/);
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(deltaPath(path)), false);
  });
});

test("pruning: a request kept fresh by its delta stays, the oldest other one goes; temp files a killed pipe left go", () => {
  inTempProject((root) => {
    const src = source(root, { a: 1 });
    const dir = join(root, ".pipe", "noop");
    mkdirSync(dir, { recursive: true });
    const at = (name: string, secondsAgo: number) => {
      writeFileSync(join(dir, name), "x");
      const t = Date.now() / 1000 - secondsAgo;
      utimesSync(join(dir, name), t, t);
    };
    // 16 other requests: r0's snapshot is the oldest but its delta is new; r1 is the oldest.
    for (let i = 0; i < 16; i++) at(`r${i}.json`, i === 0 ? 5000 : 3000 - i);
    at("r0.delta", 10);
    at("r1.json.4242.tmp", 3600);
    at("r2.delta.4243.tmp", 5);
    assert.equal(writeSnapshot(src), undefined);
    const left = readdirSync(dir);
    assert.ok(left.includes("r0.json") && left.includes("r0.delta"), left.join(", "));
    assert.equal(left.includes("r1.json"), false, "the oldest request without recent activity is pruned");
    assert.equal(left.filter((n) => n.endsWith(".json")).length, 16);
    assert.equal(left.includes("r1.json.4242.tmp"), false, "an old temp file is removed");
    assert.ok(left.includes("r2.delta.4243.tmp"), "a recent one may be a live writer's");
  });
});

test("the plan and the keys are stored as JSON text and read back as values, also after sealing again", () => {
  inTempProject((root) => {
    const src = source(root, { a: 1, "fam[k=x]": 1 });
    assert.equal(writeSnapshot(src), undefined);
    const key = machineKey(process.env, src.stateDir).key;
    const text = readFileSync(snapshotPath(root, "request"), "utf8");
    const stored = JSON.parse(text.slice(65));
    assert.equal(typeof stored.plan, "string");
    assert.equal(typeof stored.keys, "string");
    const snap = openSnapshot(text, key)!;
    assert.equal(snap.planSize, 2);
    assert.equal(typeof Object.getOwnPropertyDescriptor(snap, "plan")?.get, "function", "not parsed until read");
    assert.deepEqual(snap.plan, [["a"], ["fam[k=x]"]]);
    assert.equal(Object.getOwnPropertyDescriptor(snap, "plan")?.get, undefined, "parsed once, then a plain value");
    assert.deepEqual(snap.keys, [null, null]);
    // Sealed again (a no-op that refreshes facts does this) and opened: the same values.
    const again = openSnapshot(sealSnapshot(snap, key), key)!;
    assert.deepEqual(again.plan, snap.plan);
    assert.deepEqual(again.keys, snap.keys);
    // A snapshot of the earlier layout (arrays in the JSON) is not read.
    const old = JSON.stringify({ ...stored, plan: [["a"]], keys: [null] });
    const resealed = `${createHmac("sha256", key).update(old).digest("hex")}\n${old}`;
    assert.equal(openSnapshot(resealed, key), undefined);
  });
});

test("a fact holds only for the same stat read clearly after the mtime: one read within the racy window does not", () => {
  // The file's stat now; a fact with this very stat, its content read at `readAt`.
  const st = { dev: 7, ino: 42, size: 10, mtimeMs: 1_700_000_000_123.5, ctimeMs: 1_700_000_000_124.25 };
  const table = (readAt: number, stat = st): FileTable => ({ paths: ["a.txt"], nums: [stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs, readAt, -1], hashes: HASH });
  assert.equal(factHolds(table(st.mtimeMs + 10_000), 0, st), true, "read well after its mtime: trusted");
  // Rewritten with other bytes of the same size in the tick it was read: the stat cannot tell.
  assert.equal(factHolds(table(st.mtimeMs + 10), 0, st), false, "read 10 ms after its mtime");
  assert.equal(factHolds(table(st.mtimeMs), 0, st), false, "read in the same millisecond");
  assert.equal(factHolds(table(st.mtimeMs - 5), 0, st), false, "read before its mtime (a clock step)");
  // Whole-second mtimes (coarse filesystems): a window of two seconds.
  const coarse = { ...st, mtimeMs: 1_700_000_000_000 };
  assert.equal(factHolds(table(coarse.mtimeMs + 1500, coarse), 0, coarse), false);
  assert.equal(factHolds(table(coarse.mtimeMs + 3000, coarse), 0, coarse), true);
  // Any other stat field that differs: not the same file state.
  for (const k of ["dev", "ino", "size", "mtimeMs", "ctimeMs"] as const) assert.equal(factHolds(table(st.mtimeMs + 10_000), 0, { ...st, [k]: st[k] + 1 }), false, k);
  // Read again later with the same bytes (refreshFact): the fact holds from then on.
  const t = table(st.mtimeMs + 10);
  refreshFact(t, 0, st, st.mtimeMs + 10_000);
  assert.equal(factHolds(t, 0, st), true);
  // Row i reads its own numbers.
  const two: FileTable = { paths: ["x", "a.txt"], nums: [1, 2, 3, 4, 5, 6, -1, ...table(st.mtimeMs + 10).nums], hashes: HASH + HASH };
  assert.equal(factHolds(two, 1, st), false);
  refreshFact(two, 1, st, st.mtimeMs + 10_000);
  assert.equal(factHolds(two, 1, st), true);
});
