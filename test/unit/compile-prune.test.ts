// The compile cache (src/load/compile.ts pruneCompiled): it gains a folder at every edit of the
// Pipelinefile or a local module, so old versions are removed; what an index names, the newest
// few and anything younger than a day stay, and nothing pipe did not name is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneCompiled } from "../../src/load/compile.ts";

const DAY = 24 * 60 * 60 * 1000;
const key = (i: number) => i.toString(16).padStart(24, "0");

test("old versions and stale temps go; named, newest, young and foreign entries stay", () => {
  const root = mkdtempSync(join(tmpdir(), "pipe-compile-prune-"));
  try {
    const now = Date.now();
    const at = (name: string, ageMs: number) => {
      const t = (now - ageMs) / 1000;
      utimesSync(join(root, name), t, t);
    };
    const version = (i: number, ageMs: number) => {
      mkdirSync(join(root, key(i), "recipes"), { recursive: true });
      writeFileSync(join(root, key(i), "manifest.json"), "{}");
      at(key(i), ageMs);
    };
    // 20 versions, one a day older than the next, from 2 to 21 days old; version 30 is named by
    // an index though 40 days old; version 31 is an hour old.
    for (let i = 0; i < 20; i++) version(i, (i + 2) * DAY);
    version(30, 40 * DAY);
    version(31, 60 * 60 * 1000);
    writeFileSync(join(root, "index-0123456789abcdef.json"), JSON.stringify({ version: 1, key: key(30), files: [] }));
    writeFileSync(join(root, "index-fedcba9876543210.json"), "not json");
    // Temps: a dead compile's (two hours old) and a live one's (just made).
    mkdirSync(join(root, ".tmp-123-456"));
    at(".tmp-123-456", 2 * 60 * 60 * 1000);
    mkdirSync(join(root, ".tmp-789-1011"));
    writeFileSync(join(root, "index-0123456789abcdef.json.42.tmp"), "{}");
    at("index-0123456789abcdef.json.42.tmp", 3 * 60 * 60 * 1000);
    // Not pipe's names: never touched, however old.
    mkdirSync(join(root, "other-tool"));
    at("other-tool", 90 * DAY);
    writeFileSync(join(root, "notes.txt"), "mine");
    at("notes.txt", 90 * DAY);

    pruneCompiled(root, now);

    const left = new Set(readdirSync(root));
    // The index's version, the young one, and the 8 newest overall (31, then 0..6).
    for (const i of [30, 31, 0, 1, 2, 3, 4, 5, 6]) assert.ok(left.has(key(i)), `version ${i} kept`);
    for (let i = 7; i < 20; i++) assert.ok(!left.has(key(i)), `version ${i} (${i + 2} days old) removed`);
    assert.ok(!left.has(".tmp-123-456"), "a dead compile's temp folder is removed");
    assert.ok(!left.has("index-0123456789abcdef.json.42.tmp"), "a dead compile's index temp is removed");
    assert.ok(left.has(".tmp-789-1011"), "a live compile's temp folder stays");
    for (const n of ["other-tool", "notes.txt", "index-0123456789abcdef.json", "index-fedcba9876543210.json"]) assert.ok(left.has(n), `${n} stays`);
    assert.ok(existsSync(join(root, key(30), "manifest.json")));

    // Nothing to do a second time.
    pruneCompiled(root, now);
    assert.deepEqual(new Set(readdirSync(root)), left);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a missing cache folder is not an error", () => {
  pruneCompiled(join(tmpdir(), `pipe-no-such-${process.pid}-${Date.now()}`), Date.now());
});
