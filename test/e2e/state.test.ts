// The state folder under damage: corrupt bytes never crash pipe; only affected targets rebuild;
// a store from a newer pipe is refused; read-only commands change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { finished, Project } from "../helpers/rig.ts";

const PF =
  `import { target, sh } from "pipefile";\n` +
  Array.from({ length: 5 }, (_, i) => `export const t${i} = target({ inputs: ["src/${i}.txt"], outputs: ["build/${i}.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n`).join("") +
  `export default [t0, t1, t2, t3, t4];\n`;

function project(): Project {
  return new Project({ "Pipelinefile.ts": PF, ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`src/${i}.txt`, `v${i}\n`])) });
}

test("a journal cut in the middle of its last record: that target rebuilds, the others stay up to date", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  const path = p.path(".pipe/records.jsonl");
  const size = readFileSync(path).length;
  truncateSync(path, size - 40);
  const s = await p.run(["status", "--json"]);
  assert.equal(s.code, 0, s.stderr);
  const stale = (JSON.parse(s.stdout).targets as { id: string; state: string }[]).filter((t) => t.state !== "up-to-date").map((t) => t.id);
  assert.equal(stale.length, 1, "only the target whose record was cut");
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(finished(b.events, "built"), stale);
  assert.deepEqual(finished((await p.run(["build", "--json"])).events, "built"), []);
});

test("garbage in the stat cache and a damaged journal line never crash pipe; the bad file is set aside", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  writeFileSync(p.path(".pipe/stat-cache.json"), "\u0000\u0001 not json {{{");
  const journal = readFileSync(p.path(".pipe/records.jsonl"), "utf8").split("\n");
  journal[2] = journal[2].replace(/"time":\d+/, '"time":1'); // checksum no longer matches
  writeFileSync(p.path(".pipe/records.jsonl"), journal.join("\n"));
  const before = p.snapshot(".pipe");
  const s = await p.run(["status"]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(p.snapshot(".pipe"), before, "status changes nothing");
  const b = await p.run(["build", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(finished(b.events, "built").length, 1, "only the target whose record was damaged");
  const warnings = b.events.filter((e) => e.type === "warning").map((e) => (e.type === "warning" ? e.message : ""));
  assert.ok(warnings.some((w) => /stat-cache.json is damaged; moved it to .*quarantine/.test(w)), warnings.join("\n"));
  assert.ok(warnings.some((w) => /ignored 1 damaged line/.test(w)), warnings.join("\n"));
});

test("a state folder written by a newer pipe is refused (exit 2) and left as it was", async () => {
  const p = project();
  assert.equal((await p.run(["build"])).code, 0);
  writeFileSync(p.path(".pipe/records.jsonl"), '{"format":"pipe-records","version":99}\n');
  const before = p.snapshot(".pipe");
  const b = await p.run(["build"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /written by a newer pipe \(format v99; this pipe reads v1\); refusing to touch it/);
  assert.deepEqual(p.snapshot(".pipe"), before);
});
