// The output cache's pack (src/state/cache.ts): small outputs appended to one file with an
// append-only index. What a crash can leave behind (orphan bytes, a torn index line) and damaged
// bytes must never restore wrong content, and must not stop the bytes being stored again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OutputCache, PACK_MAX } from "../../src/state/cache.ts";
import { hashBytes, initHasher } from "../../src/hash/xxh.ts";
import { FileHasher } from "../../src/hash/file-hasher.ts";

/** A folder's tree hash, as pipe computes it (a manifest must match its name to be restored). */
const treeHashOf = (dir: string, rel: string) => {
  const h = new FileHasher(dir, new Map()).hashPath(rel);
  assert.equal(h.kind, "dir");
  return (h as { hash: string }).hash;
};

/** Runs `body` with a fresh temp folder (`dir`) and a state folder in it, removed afterwards. */
async function withState(body: (dir: string, state: string) => void): Promise<void> {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-cache-"));
  try {
    body(dir, join(dir, ".pipe"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function restored(cache: OutputCache, hash: string, dir: string, mode = 0o640): string | undefined {
  const dest = join(dir, `restored-${Math.random().toString(36).slice(2)}`);
  return cache.materialize(hash, "file", dest, mode) ? readFileSync(dest, "latin1") : undefined;
}

test("small outputs go to the pack, big ones stay files; another process sees both; the restored mode is the recorded one", () =>
  withState((dir, state) => {
    const a = new OutputCache(state);
    const small = Buffer.from("small output\n");
    const big = Buffer.alloc(PACK_MAX, 7);
    a.putBytes(small, hashBytes(small));
    a.putBytes(small, hashBytes(small)); // stored once
    a.putBytes(big, hashBytes(big));
    a.close();
    assert.equal(readFileSync(join(state, "cache/pack/objects.pack"), "latin1"), small.toString("latin1"));
    assert.equal(readFileSync(join(state, "cache/pack/objects.idx"), "utf8"), `pipe-pack 1\n${hashBytes(small)} 0 ${small.length}\n`, "a versioned header, then one line per object");
    assert.ok(existsSync(a.objectPath(hashBytes(big))), "a big output is a file of its own");
    assert.equal(existsSync(a.objectPath(hashBytes(small))), false);
    const b = new OutputCache(state);
    assert.equal(b.has(hashBytes(small), "file"), true);
    assert.equal(b.has(hashBytes(big), "file"), true);
    assert.equal(b.has(hashBytes(Buffer.from("never stored")), "file"), false);
    const dest = join(dir, "out.txt");
    assert.equal(b.materialize(hashBytes(small), "file", dest, 0o640), true);
    assert.equal(readFileSync(dest, "utf8"), "small output\n");
    assert.equal(statSync(dest).mode & 0o777, 0o640);
    assert.equal(restored(b, hashBytes(big), dir), big.toString("latin1"));
    assert.equal(b.verify(hashBytes(small), "file"), undefined);
    b.close();
  }));

test("a crash between the bytes and the index line, or in the middle of the line: nothing wrong is restored, later objects are found", () =>
  withState((dir, state) => {
    const one = Buffer.from("one\n");
    const two = Buffer.from("two two\n");
    const c = new OutputCache(state);
    c.putBytes(one, hashBytes(one));
    c.close();
    // Orphan bytes (the index line never written), then half an index line for them.
    appendFileSync(join(state, "cache/pack/objects.pack"), "orphan bytes");
    appendFileSync(join(state, "cache/pack/objects.idx"), `${hashBytes(Buffer.from("orphan bytes"))} 4 1`);
    const d = new OutputCache(state);
    assert.equal(d.has(hashBytes(Buffer.from("orphan bytes")), "file"), false, "a line without its end does not count");
    d.putBytes(two, hashBytes(two));
    d.close();
    const idx = readFileSync(join(state, "cache/pack/objects.idx"), "utf8");
    assert.match(idx, / 4 1!\n/, "the torn line was sealed so that it never parses");
    const e = new OutputCache(state);
    assert.equal(e.has(hashBytes(Buffer.from("orphan bytes")), "file"), false, "a sealed torn line does not count");
    assert.equal(restored(e, hashBytes(one), dir), "one\n");
    assert.equal(restored(e, hashBytes(two), dir), "two two\n", "its offset is after the orphan bytes");
    e.close();
  }));

test("a few lookups search the index text, many use a map: both give the same answers (newest valid line wins, torn lines never)", () =>
  withState((dir, state) => {
    const objects = Array.from({ length: 150 }, (_, i) => Buffer.from(`object ${i}\n`));
    const c = new OutputCache(state);
    for (const b of objects) c.putBytes(b, hashBytes(b));
    c.close();
    // Object 0: its first copy damaged, a second copy with a newer line. Object 1: a torn line
    // that a later store seals with "!". Object 2: a line with a bad length.
    const pack = join(state, "cache/pack/objects.pack");
    const idx = join(state, "cache/pack/objects.idx");
    const h = objects.map((b) => hashBytes(b));
    const end = statSync(pack).size;
    appendFileSync(pack, objects[0]);
    const packed = readFileSync(pack);
    packed.write("OBJECT 0", 0, "latin1");
    writeFileSync(pack, packed);
    appendFileSync(idx, `${h[0]} ${end} ${objects[0].length}\n${h[1]} 0 4`);
    const d = new OutputCache(state);
    const sealer = Buffer.from("sealer\n");
    d.putBytes(sealer, hashBytes(sealer));
    d.close();
    assert.match(readFileSync(idx, "utf8"), / 0 4!\n/);
    appendFileSync(idx, `${h[2]} 0 x\n`);
    const probe = (cache: OutputCache, i: number) => restored(cache, h[i], dir);
    // Few lookups (text search) in one cache, all of them (past the map threshold) in another,
    // in a different order: every object restores its own bytes.
    const few = new OutputCache(state);
    for (const i of [0, 1, 2, 149]) assert.equal(probe(few, i), `object ${i}\n`, `text search, object ${i}`);
    few.close();
    const many = new OutputCache(state);
    for (let i = objects.length - 1; i >= 0; i--) assert.equal(probe(many, i), `object ${i}\n`, `object ${i}`);
    assert.equal(many.has(hashBytes(Buffer.from("never stored")), "file"), false);
    // Stored after the map was made: found too, by this cache and by the next one.
    const late = Buffer.from("late\n");
    many.putBytes(late, hashBytes(late));
    assert.equal(restored(many, hashBytes(late), dir), "late\n");
    many.close();
    const next = new OutputCache(state);
    assert.equal(restored(next, hashBytes(late), dir), "late\n");
    assert.equal(next.has("0".repeat(32), "file"), false);
    next.close();
  }));

test("damaged packed bytes: verify names them, a restore refuses them, and storing the bytes again repairs the entry", () =>
  withState((dir, state) => {
    const bytes = Buffer.from("precious\n");
    const h = hashBytes(bytes);
    const c = new OutputCache(state);
    c.putBytes(bytes, h);
    c.close();
    writeFileSync(join(state, "cache/pack/objects.pack"), "PRECIOUS\n");
    const d = new OutputCache(state);
    assert.match(d.verify(h, "file") ?? "", new RegExp(`cache object ${h} is damaged: its bytes hash to [0-9a-f]+`));
    assert.equal(restored(d, h, dir), undefined, "damaged bytes are never restored");
    // The target rebuilds and stores its output again: appended, and the newer line wins.
    d.putBytes(bytes, h);
    d.close();
    const e = new OutputCache(state);
    assert.equal(restored(e, h, dir), "precious\n");
    assert.equal(e.verify(h, "file"), undefined);
    e.close();
    // A crafted index line (a huge length, an offset past the end) names bytes the pack does
    // not hold: missing, not a crash, and never restored.
    const other = Buffer.from("other\n");
    appendFileSync(join(state, "cache/pack/objects.idx"), `${hashBytes(other)} 0 999999999999999\n${hashBytes(Buffer.from("x"))} 99999 1\n`);
    const f = new OutputCache(state);
    assert.match(f.verify(hashBytes(other), "file") ?? "", /is missing/);
    assert.equal(f.has(hashBytes(other), "file"), false);
    assert.equal(restored(f, hashBytes(other), dir), undefined);
    assert.match(f.verify(hashBytes(Buffer.from("x")), "file") ?? "", /is missing/);
    assert.equal(restored(f, h, dir), "precious\n", "the other entries are still fine");
    f.close();
  }));

test("an index of a newer format is neither read nor written (small outputs become files); an index without its pack reads as missing", () =>
  withState((dir, state) => {
    const bytes = Buffer.from("small\n");
    const h = hashBytes(bytes);
    mkdirSync(join(state, "cache/pack"), { recursive: true });
    const newer = `pipe-pack 2\n${h} 0 6\n`;
    writeFileSync(join(state, "cache/pack/objects.idx"), newer);
    writeFileSync(join(state, "cache/pack/objects.pack"), bytes);
    const c = new OutputCache(state);
    assert.equal(c.has(h, "file"), false, "nothing is read from it");
    c.putBytes(bytes, h);
    c.close();
    assert.equal(readFileSync(join(state, "cache/pack/objects.idx"), "utf8"), newer, "left as it was");
    assert.ok(existsSync(c.objectPath(h)), "stored as a file of its own");
    assert.equal(restored(new OutputCache(state), h, dir), "small\n");
    // A pack index whose pack file is gone: verify reports the object missing, without a crash.
    rmSync(join(state, "cache"), { recursive: true });
    const d = new OutputCache(state);
    d.putBytes(bytes, h);
    d.close();
    rmSync(join(state, "cache/pack/objects.pack"));
    assert.equal(new OutputCache(state).verify(h, "file"), `cache object ${h} is missing`);
    // ... and has() says so: a build then keeps a recorded output it replaces (a review found
    // the index alone vouching for bytes that were gone).
    assert.equal(new OutputCache(state).has(h, "file"), false);
    // A pack cut short: the entries past its end are missing, the ones before it are there.
    const e = new OutputCache(state);
    const first = Buffer.from("first\n");
    const second = Buffer.from("second\n");
    e.putBytes(first, hashBytes(first));
    e.putBytes(second, hashBytes(second));
    assert.equal(e.has(hashBytes(second), "file"), true, "what this process appended counts");
    e.close();
    const pack = join(state, "cache/pack/objects.pack");
    writeFileSync(pack, readFileSync(pack).subarray(0, first.length + 2));
    const f = new OutputCache(state);
    assert.equal(f.has(hashBytes(first), "file"), true);
    assert.equal(f.has(hashBytes(second), "file"), false);
  }));

test("a folder output's small members go into the pack too; the folder restores from it", () =>
  withState((dir, state) => {
    mkdirSync(join(dir, "tree/sub"), { recursive: true });
    writeFileSync(join(dir, "tree/a.txt"), "a\n");
    writeFileSync(join(dir, "tree/sub/b.txt"), "b\n");
    const c = new OutputCache(state);
    const t1 = treeHashOf(dir, "tree");
    c.putDir(join(dir, "tree"), t1, (abs) => hashBytes(readFileSync(abs)));
    c.close();
    assert.equal(existsSync(join(state, "cache/objects")), false, "no file per member");
    assert.equal(new OutputCache(state).materialize(t1, "dir", join(dir, "back"), undefined), true);
    assert.equal(readFileSync(join(dir, "back/sub/b.txt"), "utf8"), "b\n");
  }));

test("a big output (a file of its own) whose bytes were damaged is not restored, alone or in a folder; storing it again repairs it", () =>
  withState((dir, state) => {
    const big = Buffer.alloc(PACK_MAX + 1, "a");
    const h = hashBytes(big);
    const c = new OutputCache(state);
    c.putBytes(big, h);
    const object = c.objectPath(h);
    assert.ok(existsSync(object), "stored as a file of its own");
    // Other bytes of the same size (the object is read-only: made writable first).
    const damage = () => {
      chmodSync(object, 0o644);
      writeFileSync(object, Buffer.alloc(PACK_MAX + 1, "b"));
    };
    damage();
    assert.match(c.verify(h, "file") ?? "", new RegExp(`cache object ${h} is damaged`));
    const dest = join(dir, "restored-big");
    assert.equal(c.materialize(h, "file", dest, 0o644), false, "damaged bytes are never restored");
    assert.equal(existsSync(dest), false, "nothing is left at the destination");
    assert.equal(c.has(h, "file"), false, "the damaged object is dropped: its target rebuilds");
    // The target rebuilds and stores its output again: restorable once more.
    c.putBytes(big, h);
    assert.equal(restored(c, h, dir), big.toString("latin1"));
    // A folder with the big file as a member: the whole folder is refused, none of it is left.
    mkdirSync(join(dir, "tree"));
    writeFileSync(join(dir, "tree/big.bin"), big);
    writeFileSync(join(dir, "tree/small.txt"), "small\n");
    const t2 = treeHashOf(dir, "tree");
    c.putDir(join(dir, "tree"), t2, (abs) => hashBytes(readFileSync(abs)));
    assert.equal(c.materialize(t2, "dir", join(dir, "back"), undefined), true);
    assert.equal(readFileSync(join(dir, "back/big.bin"), "latin1"), big.toString("latin1"));
    damage();
    assert.equal(c.materialize(t2, "dir", join(dir, "back2"), undefined), false);
    assert.equal(existsSync(join(dir, "back2")), false);
    c.close();
  }));

test("a folder mode in a manifest (not vouched for by its hash) changes only a real folder of the restored tree, never one reached through a member link", () =>
  withState((dir, state) => {
    const outside = join(dir, "outside");
    mkdirSync(join(outside, "sub"), { recursive: true });
    chmodSync(join(outside, "sub"), 0o750);
    mkdirSync(join(dir, "tree/inner"), { recursive: true });
    writeFileSync(join(dir, "tree/inner/a.txt"), "a\n");
    chmodSync(join(dir, "tree/inner"), 0o700);
    symlinkSync(outside, join(dir, "tree/link"));
    const outsideMode = statSync(outside).mode & 0o777;
    const c = new OutputCache(state);
    const t = treeHashOf(dir, "tree");
    c.putDir(join(dir, "tree"), t, (abs) => hashBytes(readFileSync(abs)));
    c.close();
    const manifest = join(state, "cache/trees", `${t}.json`);
    const entries = JSON.parse(readFileSync(manifest, "utf8")) as { path: string; type: string; mode?: number }[];
    assert.deepEqual(entries.filter((e) => e.type === "m").map((e) => [e.path, e.mode]).find(([p]) => p === "inner"), ["inner", 0o700], "folder modes are stored");
    assert.equal(new OutputCache(state).materialize(t, "dir", join(dir, "back"), undefined), true);
    assert.equal(statSync(join(dir, "back/inner")).mode & 0o777, 0o700);
    // Crafted: modes for folders through the member link (the hash does not cover modes).
    for (const path of ["link/sub", "link"]) {
      writeFileSync(manifest, JSON.stringify([...entries, { path, type: "m", mode: 0o777 }]));
      assert.equal(new OutputCache(state).materialize(t, "dir", join(dir, `crafted-${path.length}`), undefined), false, path);
      assert.equal(existsSync(join(dir, `crafted-${path.length}`)), false);
      assert.equal(statSync(join(outside, "sub")).mode & 0o777, 0o750, "nothing outside the tree changed");
      assert.equal(statSync(outside).mode & 0o777, outsideMode);
    }
  }));
