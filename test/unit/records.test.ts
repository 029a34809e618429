// The record journal: appends, lazy parsing, damaged lines, torn tails, newer formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPrefix, RecordStore, type BuildRecord } from "../../src/state/records.ts";
import { initHasher } from "../../src/hash/xxh.ts";
import { UserError } from "../../src/util/errors.ts";

function rec(target: string, fingerprint: string, durationMs = 10): BuildRecord {
  return {
    target,
    fingerprint,
    outputs: [{ path: `build/${target}`, kind: "file", hash: "h".repeat(32) }],
    parts: { format: 1, code: "c", codeFiles: [], packages: [], params: {}, inputs: [], env: {}, outputs: [`build/${target}`] },
    durationMs,
    time: 1,
  };
}

test("records appended are found by fingerprint and by target, after a reload", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  s.append(rec("a", "f1", 5));
  s.append(rec("a", "f2", 7));
  s.append(rec("b", "f3"));
  s.close();
  const t = RecordStore.load(dir, { readOnly: true });
  assert.equal(t.get("f1")?.target, "a");
  assert.equal(t.latest("a")?.fingerprint, "f2");
  assert.deepEqual(t.durations("a"), [5, 7]);
  assert.equal(t.get("nope"), undefined);
  assert.deepEqual(t.warnings, []);
});

test("a damaged line is ignored (its target rebuilds); a torn tail is ignored silently and sealed on the next append", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  s.append(rec("a", "f1"));
  s.append(rec("b", "f2"));
  s.close();
  const path = join(dir, "records.jsonl");
  // Flip a byte inside b's record, and leave half a line at the end.
  writeFileSync(path, readFileSync(path, "utf8").replace('"target":"b","fingerprint":"f2","durationMs":10,"time":1', '"target":"b","fingerprint":"f2","durationMs":10,"time":2'));
  appendFileSync(path, '{"target":"c","fingerprint":"f9"');
  const t = RecordStore.load(dir, { readOnly: false });
  assert.equal(t.get("f1")?.target, "a");
  assert.equal(t.get("f2"), undefined, "a record whose checksum fails does not count");
  assert.equal(t.get("f9"), undefined);
  assert.match(t.warnings.join("\n"), /ignored 1 line of .* that did not verify/);
  t.append(rec("d", "f4"));
  t.close();
  const u = RecordStore.load(dir, { readOnly: true });
  assert.equal(u.get("f4")?.target, "d", "the append after a torn tail is intact");
});

test("a journal from a newer pipe is refused, not rewritten", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const body = '{"format":"pipe-records","version":99}\n';
  writeFileSync(join(dir, "records.jsonl"), body);
  assert.throws(() => RecordStore.load(dir, { readOnly: false }), (e: unknown) => e instanceof UserError && /written by a newer pipe/.test(e.message));
  assert.equal(readFileSync(join(dir, "records.jsonl"), "utf8"), body);
});

test("the hand-written prefix reader agrees with the regex and JSON.parse, and declines what it cannot read", async () => {
  await initHasher();
  const PREFIX = /^\{"target":("(?:[^"\\]|\\.)*"),"fingerprint":"([0-9a-f]+)","durationMs":(\d+)/;
  const viaRegex = (line: string) => {
    const m = PREFIX.exec(line);
    return m ? { target: JSON.parse(m[1]) as string, fingerprint: m[2], durationMs: Number(m[3]) } : undefined;
  };
  // Real journal lines, names with escapes (quote, backslash, newline, unicode), and damaged ones.
  const names = ["a", "trend[attribute=recovered]", "w/x.y:z-1", 'q"uote', "back\\slash", "new\nline", "caf\u00e9 ☕", ""];
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  names.forEach((n, i) => s.append(rec(n, `f${i}ab`, i * 37)));
  s.close();
  lines.push(...readFileSync(join(dir, "records.jsonl"), "utf8").split("\n").slice(1, -1));
  const good = lines[0];
  lines.push(
    good.slice(0, 20),
    good.replace('"fingerprint":"', '"fingerprint":"X'),
    good.replace('"durationMs":', '"durationMs":x'),
    good.replace('"durationMs":0', '"durationMs":'),
    '{"target":"a","fingerprint":"","durationMs":3}',
    '{"target":"a","fingerprint":"ff","durationMs":12',
    '{"target":"a","fingerprint":"ff","durationMs":12,"time":1}',
    '{"target":"a"}',
    "garbage",
    "",
  );
  let read = 0;
  for (const line of lines) {
    const fast = readPrefix(line, 0, line.length);
    if (fast) read++;
    // Either both agree, or the fast reader declined and the regex decides.
    if (fast) assert.deepEqual(fast, viaRegex(line), line);
  }
  // Every name without an escape is read by hand (the names pipe makes).
  assert.equal(read, names.filter((n) => JSON.stringify(n) === `"${n}"`).length + 2);
  // Inside a longer text: only [start, end) counts.
  const text = `x\n${good}\n${good.slice(0, 40)}`;
  assert.deepEqual(readPrefix(text, 2, 2 + good.length), viaRegex(good));
  assert.equal(readPrefix(text, 3 + good.length, text.length), undefined);
  // The store reads every one of them back, by name and by fingerprint.
  const t = RecordStore.load(dir, { readOnly: true });
  names.forEach((n, i) => {
    assert.equal(t.latest(n)?.fingerprint, `f${i}ab`, n);
    assert.deepEqual(t.durations(n), [i * 37]);
  });
});
