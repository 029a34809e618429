// collectGarbage (src/state/cache-gc.ts) on a cache made directly: what stays restores byte for
// byte, what goes is gone, a damaged pack entry is dropped rather than carried over, and a dry
// run touches nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureKeptList, OutputCache, PACK_MAX } from "../../src/state/cache.ts";
import { collectGarbage, liveOutputs } from "../../src/state/cache-gc.ts";
import { hashBytes, initHasher } from "../../src/hash/xxh.ts";
import type { BuildRecord } from "../../src/state/records.ts";

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = readFileSync(p, "latin1");
    }
  };
  walk(dir);
  return out;
}

test("collectGarbage keeps the live entries restorable, removes the rest, drops a damaged live pack entry; a dry run changes nothing", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-gc-"));
  try {
    const state = join(dir, ".pipe");
    // As every build does first: this cache lists the bytes kept for the user (none here).
    assert.deepEqual(ensureKeptList(state), []);
    const cache = new OutputCache(state);
    const blobs = ["a", "b", "c", "d"].map((k) => Buffer.from(`small ${k}\n`));
    const bigs = [Buffer.alloc(PACK_MAX + 10, 1), Buffer.alloc(PACK_MAX + 10, 2)];
    for (const b of [...blobs, ...bigs]) cache.putBytes(b, hashBytes(b));
    cache.close();
    const h = (b: Buffer) => hashBytes(b);
    // Damage the bytes of a live packed entry (b), in place.
    const pack = join(state, "cache", "pack", "objects.pack");
    const bytes = readFileSync(pack);
    const at = bytes.indexOf("small b");
    bytes[at] = "S".charCodeAt(0);
    writeFileSync(pack, bytes);

    const live = { files: new Set([h(blobs[0]), h(blobs[1]), h(blobs[3]), h(bigs[1])]), trees: new Set<string>(), user: new Set<string>() };
    const before = files(state);
    const dry = collectGarbage(state, live, { dryRun: true });
    assert.deepEqual(files(state), before, "a dry run changes nothing");
    assert.equal(dry.removed.entries, 2, "c and the first big one");

    const r = collectGarbage(state, live, { dryRun: false });
    assert.equal(r.damaged, 1);
    assert.equal(r.removed.entries, 3, "c, the first big one, and the damaged b");
    assert.ok(statSync(pack).size < bytes.length);
    const after = new OutputCache(state);
    const restore = (b: Buffer) => {
      const dest = join(dir, `r-${Math.random().toString(36).slice(2)}`);
      return after.materialize(h(b), "file", dest) ? readFileSync(dest) : undefined;
    };
    assert.deepEqual(restore(blobs[0]), blobs[0]);
    assert.deepEqual(restore(blobs[3]), blobs[3]);
    assert.deepEqual(restore(bigs[1]), bigs[1]);
    assert.equal(restore(blobs[1]), undefined, "the damaged entry is gone: its target runs again");
    assert.equal(after.has(h(blobs[2]), "file"), false);
    assert.equal(after.has(h(bigs[0]), "file"), false);
    after.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("liveOutputs: every record's outputs, or those of the records a Keep wants (fromNewest counts in journal order)", () => {
  const rec = (target: string, n: number, kind: "file" | "dir" = "file"): BuildRecord => ({ target, fingerprint: `f${n}`, durationMs: 1, time: 0, outputs: [{ path: `o/${target}`, kind, hash: `${target}${n}`.padEnd(16, "0") }], parts: {} as BuildRecord["parts"] });
  const records = [rec("a", 1), rec("b", 1, "dir"), rec("a", 2), rec("a", 3), rec("b", 2, "dir")];
  const all = liveOutputs(records);
  assert.equal(all.files.size, 3);
  assert.equal(all.trees.size, 2);
  const one = liveOutputs(records, (_t, _f, fromNewest) => fromNewest < 1);
  assert.equal(all.forgotten, 0);
  assert.equal(one.forgotten, 3, "a1, a2 and b1");
  assert.deepEqual([...one.files], ["a3".padEnd(16, "0")]);
  assert.deepEqual([...one.trees], ["b2".padEnd(16, "0")]);
});
