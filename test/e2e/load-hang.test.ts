// A Pipelinefile that never finishes loading (reliability.md C5): an endless loop or a top-level
// await that never settles is reported (exit 2) once PIPE_LOAD_TIMEOUT_MS is up, and Ctrl-C ends
// pipe at once meanwhile, even while the loop blocks pipe's own JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { collect, Project, Reaper } from "../helpers/rig.ts";

const TARGET = `export const a = target({ outputs: ["build/a.txt"], run: (c) => sh\`echo a > \${c.outputs[0]}\` });\n`;
const HEAD = `import { target, sh } from "pipefile";\n`;

/** Resolves at the first line of the child's stderr that is `line` (what the Pipelinefile prints goes there). */
function waitForStderrLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      if (!buf.split("\n").slice(0, -1).includes(line)) return;
      child.stderr!.off("data", onData);
      resolve();
    };
    child.stderr!.on("data", onData);
    child.once("close", () => reject(new Error(`process exited before the line ${JSON.stringify(line)}; stderr: ${buf}`)));
  });
}

// What the Pipelinefile prints while loading (console.log) goes to stderr, before pipe's error.
for (const [what, body, printed] of [
  ["an endless synchronous loop", `console.log("LOADING"); while (true) {}\n`, "LOADING\n"],
  ["an endless loop in a helper module it imports", `import "./lib/spin.ts";\n`, ""],
  ["a top-level await that never settles", `console.log("LOADING"); await new Promise(() => {});\n`, "LOADING\n"],
] as const) {
  test(`${what} while loading: exit 2 naming the Pipelinefile once the load timeout is up, nothing built, no stack`, { timeout: 60_000 }, async (t) => {
    const p = new Project({ "Pipelinefile.ts": HEAD + body + TARGET, "lib/spin.ts": `let i = 0;\nwhile (i >= 0) i = (i + 1) % 7;\nexport {};\n` });
    const reaper = new Reaper(t.signal);
    try {
      for (const cmd of [["build"], ["status"]]) {
        const r = await collect(reaper.add(p.spawn(cmd, { env: { PIPE_LOAD_TIMEOUT_MS: "1000" } })));
        assert.equal(r.code, 2, `${cmd[0]}: ${r.stdout}${r.stderr}`);
        assert.ok(r.stderr.startsWith(printed), r.stderr);
        assert.match(r.stderr.slice(printed.length), /^error: Pipelinefile evaluation did not finish within 1s\n {2}at Pipelinefile\.ts:1:1\n {2}hint: look for a top-level await that never settles or an endless loop \(PIPE_LOAD_TIMEOUT_MS sets the limit\)\n$/);
        assert.equal(p.exists("build/a.txt"), false);
      }
    } finally {
      reaper.stop();
    }
  });
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  test(`${sig} while the Pipelinefile loops forever ends pipe at once (its handlers cannot run; the default action can)`, { timeout: 60_000 }, async (t) => {
    const p = new Project({ "Pipelinefile.ts": HEAD + `console.log("LOADING"); while (true) {}\n` + TARGET });
    const reaper = new Reaper(t.signal);
    try {
      // A long load timeout: only the signal can end this run within the test's time.
      const child = reaper.add(p.spawn(["build"], { env: { PIPE_LOAD_TIMEOUT_MS: "600000" } }));
      const done = collect(child);
      await waitForStderrLine(child, "LOADING");
      child.kill(sig);
      const r = await done;
      assert.equal(r.signal, sig, `ended by ${sig}: ${r.code} ${r.stderr}`);
      assert.equal(p.exists(".pipe/lock"), false, "the project was never locked");
    } finally {
      reaper.stop();
    }
  });
}
