// readText: a file's text, the same as readFileSync(path, "utf8") whatever the bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readText } from "../../src/util/read-text.ts";

test("readText decodes ASCII, UTF-8 and broken UTF-8 exactly as readFileSync(path, \"utf8\") does", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-read-text-"));
  const cases: [string, Buffer][] = [
    ["empty", Buffer.alloc(0)],
    ["ascii", Buffer.from('{"target":"a","fingerprint":"00ff"}\t1234\n'.repeat(1000))],
    ["utf8", Buffer.from("größe 日本 🙂\n")],
    ["latin1 bytes (not UTF-8)", Buffer.from([0x61, 0xe9, 0x62, 0xff, 0x0a])],
    ["a BOM", Buffer.from([0xef, 0xbb, 0xbf, 0x61])],
    ["one high byte at the end", Buffer.concat([Buffer.from("x".repeat(4096)), Buffer.from([0x80])])],
  ];
  for (const [name, bytes] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    assert.equal(readText(p), readFileSync(p, "utf8"), name);
  }
  assert.throws(() => readText(join(dir, "missing")), { code: "ENOENT" });
});
