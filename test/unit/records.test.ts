// The record journal: appends, lazy parsing, damaged lines, torn tails, newer formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RecordStore, type BuildRecord } from "../../src/state/records.ts";
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

test("records of targets and paths outside ASCII read back intact (the journal is decoded as UTF-8 whenever it is not all ASCII)", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  s.append(rec("plain", "f0"));
  s.append(rec("größe/日本", "f1"));
  s.close();
  const t = RecordStore.load(dir, { readOnly: true });
  assert.equal(t.get("f1")?.target, "größe/日本");
  assert.deepEqual(t.latest("größe/日本")?.outputs.map((o) => o.path), ["build/größe/日本"]);
  assert.equal(t.latest("plain")?.fingerprint, "f0");
  assert.deepEqual(t.warnings, [], "every line verifies: a wrong decoding would break their HMACs");
});

test("find(target, match): the newest intact record the predicate accepts, or undefined", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  s.append(rec("a", "f1", 1));
  s.append(rec("a", "f2", 2));
  s.append(rec("b", "f3", 3));
  s.append(rec("a", "f4", 4));
  s.close();
  const t = RecordStore.load(dir, { readOnly: true });
  const seen: string[] = [];
  assert.equal(t.find("a", (r) => (seen.push(r.fingerprint), true))?.fingerprint, "f4");
  assert.deepEqual(seen, ["f4"], "the newest first, and only as far as needed");
  assert.equal(t.find("a", (r) => r.durationMs < 3)?.fingerprint, "f2");
  assert.equal(t.find("a", () => false), undefined);
  assert.equal(t.find("nope", () => true), undefined);
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

test("an empty journal (killed before its header was written) gets the header with the first append: nothing is set aside later", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const path = join(dir, "records.jsonl");
  writeFileSync(path, "");
  const s = RecordStore.load(dir, { readOnly: false });
  assert.deepEqual(s.warnings, []);
  s.append(rec("a", "f1"));
  s.close();
  assert.match(readFileSync(path, "utf8"), /^\{"format":"pipe-records","version":\d+\}\n\{"target":"a"/);
  const t = RecordStore.load(dir, { readOnly: false });
  assert.deepEqual(t.warnings, [], "no 'no valid header', nothing quarantined");
  assert.equal(t.get("f1")?.target, "a");
  t.close();
});

test("a journal from a newer pipe is refused, not rewritten", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const body = '{"format":"pipe-records","version":99}\n';
  writeFileSync(join(dir, "records.jsonl"), body);
  assert.throws(() => RecordStore.load(dir, { readOnly: false }), (e: unknown) => e instanceof UserError && /written by a newer pipe/.test(e.message));
  assert.equal(readFileSync(join(dir, "records.jsonl"), "utf8"), body);
});

test("a rewrite on close keeps the records this run never read, and drops only the damaged lines", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const path = join(dir, "records.jsonl");
  const s = RecordStore.load(dir, { readOnly: false });
  s.append(rec("x", "fa", 1));
  s.append(rec("x", "fb", 2));
  s.append(rec("y", "fc", 3));
  s.append(rec("z", "fd", 4));
  s.close();
  // (Hex fingerprints, as real ones are: only those are indexed without parsing the record.)
  // A damaged line (forces a rewrite on close), and z's record with a flipped byte.
  appendFileSync(path, "not a record\n");
  writeFileSync(path, readFileSync(path, "utf8").replace('"target":"z","fingerprint":"fd","durationMs":4,"time":1', '"target":"z","fingerprint":"fd","durationMs":4,"time":2'));
  const t = RecordStore.load(dir, { readOnly: false });
  assert.match(t.warnings.join("\n"), /ignored 1 line of .* that did not verify/);
  // This run reads x's newest record and z's (damaged) one; a and y stay unparsed strings.
  assert.equal(t.latest("x")?.fingerprint, "fb");
  const late: string[] = [];
  t.onWarning = (m) => late.push(m);
  assert.equal(t.get("fd"), undefined);
  assert.match(late.join("\n"), /ignored 1 line/);
  t.close();
  const text = readFileSync(path, "utf8");
  assert.doesNotMatch(text, /not a record/, "the journal was rewritten");
  assert.doesNotMatch(text, /"fd"/, "the damaged record that was read is dropped");
  assert.equal(text.split("\n").length, 5, "the header, 3 records and the final newline");
  const u = RecordStore.load(dir, { readOnly: true });
  assert.deepEqual(u.warnings, []);
  assert.deepEqual([u.get("fa")?.durationMs, u.get("fb")?.durationMs, u.get("fc")?.durationMs], [1, 2, 3], "records not read in the run that rewrote the journal are kept, and verify");
  assert.equal(u.latest("x")?.fingerprint, "fb");
  assert.deepEqual(u.durations("x"), [1, 2]);
  const all = u.verifyAll();
  assert.deepEqual([all.records.map((r) => r.fingerprint).sort(), all.bad], [["fa", "fb", "fc"], 0]);
});

test("newest(n): the n newest intact records across targets by finish time; history(t): a target's, newest first", async () => {
  await initHasher();
  const dir = mkdtempSync(join(tmpdir(), "pipe-rec-"));
  const s = RecordStore.load(dir, { readOnly: false });
  // Appended out of time order (a compaction groups lines by target).
  for (const [t, f, time] of [["a", "f1", 100], ["a", "f2", 400], ["b", "f3", 300], ["b", "f4", 200], ["c", "f5", 500]] as const) s.append({ ...rec(t, f), time });
  s.close();
  const path = join(dir, "records.jsonl");
  // c's line claims the newest time but does not verify: it is skipped, not shown.
  writeFileSync(path, readFileSync(path, "utf8").replace('"fingerprint":"f5","durationMs":10,"time":500,"outputs":[{"path":"build/c"', '"fingerprint":"f5","durationMs":10,"time":500,"outputs":[{"path":"build/C"'));
  const t = RecordStore.load(dir, { readOnly: true });
  assert.deepEqual(t.newest(3).map((r) => r.fingerprint), ["f2", "f3", "f4"]);
  assert.deepEqual(t.newest(10).map((r) => r.fingerprint), ["f2", "f3", "f4", "f1"]);
  assert.deepEqual(t.history("b").map((r) => r.fingerprint), ["f4", "f3"], "journal order, newest appended first");
  assert.deepEqual(t.history("c"), []);
  assert.deepEqual(t.targets(), ["a", "b", "c"]);
  assert.match(t.warnings.join("\n"), /ignored 1 line/);
});
