// A TypeScript recipe that throws: the failure says the message once and shows the recipe's own
// frames (file:line in the Pipelinefile), not pipe's or node's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Project } from "../helpers/rig.ts";

test("a recipe's error shows its message once and the recipe's frames only", async () => {
  const p = new Project({
    "Pipelinefile.ts":
      `import { target } from "pipefile";\n` +
      `function helper(n: number) { if (n > 1) throw new Error("boom: bad n"); return n; }\n` +
      `export const t = target({ outputs: ["build/t.txt"], run: async () => { helper(2); } });\n`,
  });
  const r = await p.run(["build", "t"]);
  assert.equal(r.code, 1);
  const out = r.stdout + r.stderr;
  assert.match(out, /FAILED t \(recipe failed: boom: bad n\)/);
  assert.match(out, /at helper \(.*Pipelinefile\.ts:2:\d+\)/);
  assert.equal(out.split("boom: bad n").length - 1, 1, "the message is said once");
  assert.doesNotMatch(out, /call-recipe|recipe-worker|node:internal/);
  const logs = p.path(".pipe/logs");
  const log = readFileSync(join(logs, readdirSync(logs)[0]), "utf8");
  assert.match(log, /at helper \(.*Pipelinefile\.ts:2:\d+\)/);
  assert.doesNotMatch(log, /call-recipe|recipe-worker|node:internal/);
  p.remove();
});
