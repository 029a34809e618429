// The no-op check runs before any reporter: a touched big input is left to the build (hashed
// in a worker, with progress, interruptible), and a signal then ends pipe with 130.
import { test } from "node:test";
import assert from "node:assert/strict";
import { truncateSync, utimesSync } from "node:fs";
import { collect, finished, Project, waitForLine } from "../helpers/rig.ts";

test("a touched big input: the no-op check does not hash it on the main thread; SIGTERM during its hash exits 130", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, sh } from "pipefile";\nexport const t = target({ inputs: ["big.bin"], outputs: ["out.txt"], run: (c) => sh\`wc -c < \${c.inputs[0]} > \${c.outputs[0]}\` });\n`,
    "big.bin": "",
  });
  // 1 GiB, sparse: no disk space, but every byte is read and hashed.
  truncateSync(p.path("big.bin"), 1024 ** 3);
  try {
    assert.equal((await p.run(["build"])).code, 0);
    const noop = await p.run(["build", "--json"]);
    assert.equal(noop.code, 0);
    assert.deepEqual(finished(noop.events, "built"), []);
    // Touched: same bytes, new mtime. The build hashes it again, in its worker: progress events.
    const later = new Date(Date.now() + 5_000);
    utimesSync(p.path("big.bin"), later, later);
    const child = p.spawn(["build", "--json"]);
    const done = collect(child);
    await waitForLine(child, (l) => l.includes('"hash-progress"'));
    child.kill("SIGTERM");
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.signal, null, "exited, not killed by the signal");
    // And uninterrupted: the same bytes, so nothing runs.
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(finished(again.events, "built"), []);
    assert.equal(p.read("out.txt").trim(), String(1024 ** 3));
  } finally {
    p.remove();
  }
});
