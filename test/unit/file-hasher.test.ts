// The file hasher's stat cache (src/hash/file-hasher.ts): an entry whose stat matches the file
// is trusted only when the file was not modified too close to when it was read (git's racy
// rule). A rewrite with other bytes of the same size in that window leaves the stat as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileHasher, type StatEntry } from "../../src/hash/file-hasher.ts";
import { hashBytes, initHasher } from "../../src/hash/xxh.ts";

/** Runs `body` in a fresh temp folder, removed afterwards. */
async function inTemp(body: (dir: string) => void): Promise<void> {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-hasher-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stat cache entry saying `rel` (with its stat now) held `bytes` when read at `hashedAt`. */
function entry(dir: string, rel: string, bytes: string, hashedAt: (mtimeMs: number) => number): StatEntry {
  const st = statSync(join(dir, rel));
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, hash: hashBytes(Buffer.from(bytes)), hashedAt: hashedAt(st.mtimeMs) };
}

test("a file rewritten with same-size bytes within the racy window of its read is read again, not trusted from the stat cache", () =>
  inTemp((dir) => {
    // The file was hashed holding "old bytes\n", then rewritten in the same tick: its stat now
    // is the one the cache holds, its bytes are not.
    writeFileSync(join(dir, "a.txt"), "new bytes\n");
    const racy = new FileHasher(dir, new Map([["a.txt", entry(dir, "a.txt", "old bytes\n", (m) => m + 10)]]));
    assert.deepEqual(racy.hashPath("a.txt"), { kind: "file", hash: hashBytes(Buffer.from("new bytes\n")) });
    assert.equal(racy.reads, 1, "the content was read");
    // The same entry read well after the mtime is trusted (that is what the stat cache is for):
    // only the racy window makes the difference above.
    const settled = new FileHasher(dir, new Map([["a.txt", entry(dir, "a.txt", "old bytes\n", (m) => m + 10_000)]]));
    assert.deepEqual(settled.hashPath("a.txt"), { kind: "file", hash: hashBytes(Buffer.from("old bytes\n")) });
    assert.equal(settled.reads, 0);
  }));

test("whole-second mtimes (coarse filesystems) get a window of two seconds", () =>
  inTemp((dir) => {
    writeFileSync(join(dir, "b.txt"), "new bytes\n");
    utimesSync(join(dir, "b.txt"), 1_700_000_000, 1_700_000_000);
    const racy = new FileHasher(dir, new Map([["b.txt", entry(dir, "b.txt", "old bytes\n", (m) => m + 1500)]]));
    assert.deepEqual(racy.hashPath("b.txt"), { kind: "file", hash: hashBytes(Buffer.from("new bytes\n")) });
    assert.equal(racy.reads, 1);
    const settled = new FileHasher(dir, new Map([["b.txt", entry(dir, "b.txt", "old bytes\n", (m) => m + 3000)]]));
    assert.deepEqual(settled.hashPath("b.txt"), { kind: "file", hash: hashBytes(Buffer.from("old bytes\n")) });
    assert.equal(settled.reads, 0);
  }));

test("a file inside a folder input follows the same rule", () =>
  inTemp((dir) => {
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d", "c.txt"), "new bytes\n");
    const fresh = new FileHasher(dir, new Map()).hashPath("d");
    const racy = new FileHasher(dir, new Map([["d/c.txt", entry(dir, "d/c.txt", "old bytes\n", (m) => m + 10)]]));
    assert.deepEqual(racy.hashPath("d"), fresh, "the folder hash is that of the bytes on disk");
    assert.equal(racy.reads, 1);
    const settled = new FileHasher(dir, new Map([["d/c.txt", entry(dir, "d/c.txt", "old bytes\n", (m) => m + 10_000)]]));
    assert.notDeepEqual(settled.hashPath("d"), fresh, "(the stat cache is used for members)");
    assert.equal(settled.reads, 0);
  }));
