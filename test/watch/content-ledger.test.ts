import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initHasher } from "../../src/hash/xxh.ts";
import { FileHasher } from "../../src/hash/file-hasher.ts";
import { ContentLedger, hashFile, type HashedEntry } from "../../src/watch/content-ledger.ts";

let dir = "";
before(async () => {
  await initHasher();
  dir = mkdtempSync(join(tmpdir(), "pipe-ledger-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const later = () => Date.now() + 60_000; // a run that started after every write in these tests
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test("a path the ledger never saw counts as changed", () => {
  assert.equal(new ContentLedger().unchanged(file("never.csv", "x")), false);
});

test("after a snapshot, the same bytes saved again are no change; other bytes of the same size are", () => {
  const ledger = new ContentLedger();
  const p = file("snap.csv", "id,v\n1,2\n");
  ledger.snapshot([p]);
  assert.equal(ledger.unchanged(p), true);
  writeFileSync(p, "id,v\n1,2\n");
  assert.equal(ledger.unchanged(p), true, "identical save");
  writeFileSync(p, "id,v\n1,3\n");
  assert.equal(ledger.unchanged(p), false, "same size, other content");
});

test("a missing file stays unchanged while missing, and is a change once it appears", () => {
  const ledger = new ContentLedger();
  const p = join(dir, "later.csv");
  ledger.snapshot([p]);
  assert.equal(ledger.unchanged(p), true);
  writeFileSync(p, "");
  assert.equal(ledger.unchanged(p), false);
});

test("adopt() takes the core's stat-cache hash (same function) for files untouched since the run started", () => {
  const ledger = new ContentLedger();
  const p = file("core.csv", "a\nb\n");
  const hasher = new FileHasher(dir, new Map());
  hasher.hashPath("core.csv");
  const entry = hasher.cache.get("core.csv")!;
  ledger.adopt({ entries: [[p, entry]], files: [], runStartedAt: later(), isSource: () => true });
  writeFileSync(p, "a\nb\n");
  assert.equal(ledger.unchanged(p), true, "compared by content with the core's hash");
  writeFileSync(p, "a\nc\n");
  assert.equal(ledger.unchanged(p), false);
});

test("adopt() skips files written after the run started: the build may have read older bytes", () => {
  const ledger = new ContentLedger();
  const p = file("moving.csv", "v2");
  const ctimeMs = Number(statSync(p, { bigint: true }).ctimeNs / 1_000_000n);
  ledger.adopt({ entries: [], files: [p], runStartedAt: ctimeMs - 1000, isSource: () => true });
  assert.equal(ledger.unchanged(p), false);
  assert.equal(ledger.size, 0);
});

test("adopt() ignores a stat-cache entry that no longer matches the file, and reads the file itself", () => {
  const ledger = new ContentLedger();
  const p = file("stale-entry.csv", "new bytes");
  const st = statSync(p);
  const entry: HashedEntry = { dev: st.dev, ino: st.ino, size: 3, mtimeMs: 1, ctimeMs: 1, hash: "not-this" };
  ledger.adopt({ entries: [[p, entry]], files: [p], runStartedAt: later(), isSource: () => true });
  writeFileSync(p, "new bytes");
  assert.equal(ledger.unchanged(p), true);
});

test("adopt() takes entries only for sources", () => {
  const ledger = new ContentLedger();
  const p = file("output.csv", "out");
  const hasher = new FileHasher(dir, new Map());
  hasher.hashPath("output.csv");
  ledger.adopt({ entries: [[p, hasher.cache.get("output.csv")!]], files: [], runStartedAt: later(), isSource: () => false });
  assert.equal(ledger.size, 0);
});

test("big files are hashed in chunks, with the same result as the core", () => {
  const p = file("big.bin", "x".repeat(9 << 20));
  const hasher = new FileHasher(dir, new Map());
  const core = hasher.hashPath("big.bin");
  assert.equal(core.kind, "file");
  assert.equal(hashFile(p, 9 << 20), core.kind === "file" ? core.hash : "");
});
