// CLI regressions found in review: signals, dry runs, why for families, graph, clean, help.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collect, Project, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${sig} during a build prints the interrupt line and exits 130`, async () => {
    const p = new Project({
      "Pipelinefile.ts": HEAD + `export const slow = target({ outputs: ["build/slow.txt"], run: (c) => sh\`sh -c 'echo READY; sleep 300; echo x > "$1"' _ \${c.outputs[0]}\` });\n`,
    });
    const child = p.spawn(["build", "--verbose"]);
    const result = collect(child);
    await waitForLine(child, (l) => l.includes("READY"));
    child.kill(sig);
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /^interrupt: stopping 1 running target$/m, r.stdout);
  });
}
