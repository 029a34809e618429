// Outputs a recipe made read-only (chmod 555 folders, 444 files), for a user who is not root:
// replaced, restored and cleaned like any other, and never wedging the project (a review found
// an internal error after publishing, then every later command failing at start-up).
// Root may write anywhere, so as root the commands run as nobody (setpriv); skipped when that
// is not possible.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { PIPE_BIN, REPO, Project, testEnv, finished, parseEvents, type RunResult } from "../helpers/rig.ts";

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const setpriv = asRoot ? ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => { try { return statSync(p).isFile(); } catch { return false; } }) : undefined;
/** Whether nobody can run node and read pipe here (a clone under /root cannot be read by nobody). */
function nobodyCanRunPipe(): boolean {
  const probe = `const fs = require("fs"); fs.accessSync(${JSON.stringify(PIPE_BIN)}, fs.constants.R_OK); fs.readdirSync(${JSON.stringify(join(REPO, "dist", "src"))}); fs.accessSync(${JSON.stringify(tmpdir())}, fs.constants.W_OK)`;
  return spawnSync(setpriv!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, "-e", probe]).status === 0;
}
const skip =
  process.platform !== "linux" ? "Linux only"
  : !asRoot ? false
  : !setpriv ? "running as root without setpriv: cannot run pipe as a normal user"
  : !nobodyCanRunPipe() ? "user nobody cannot run node or read pipe's files here"
  : false;

function chownTree(dir: string): void {
  chownSync(dir, NOBODY, NOBODY);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isSymbolicLink()) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p);
    else chownSync(p, NOBODY, NOBODY);
  }
}

function run(p: Project, args: string[]): RunResult {
  const [cmd, argv] = setpriv ? [setpriv, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, PIPE_BIN, ...args]] : [process.execPath, [PIPE_BIN, ...args]];
  const r = spawnSync(cmd, argv, { cwd: p.dir, env: testEnv({ HOME: p.dir }), encoding: "utf8" });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, events: parseEvents(r.stdout) };
}

test("folder outputs with read-only parts (a 555 folder inside, or the output folder itself): rebuilt, restored, cleaned; never an internal error", { skip }, () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
const m = param.string("m", { default: "A" });
export const inner = target({ params: { m }, outputs: ["out/d/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]}/ro && echo \${params.m} > \${outputs[0]}/ro/f && chmod 444 \${outputs[0]}/ro/f && chmod 555 \${outputs[0]}/ro\` });
export const whole = target({ params: { m }, outputs: ["out/w/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]} && echo \${params.m} > \${outputs[0]}/f && chmod 555 \${outputs[0]}\` });
`,
  });
  if (asRoot) chownTree(p.dir);
  const build = (m: string, status: string) => {
    const r = run(p, ["build", "--json", "-p", `m=${m}`, "inner", "whole"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /internal error|ENOTEMPTY|EACCES/);
    assert.deepEqual(finished(r.events, status), ["inner", "whole"], `m=${m}`);
    assert.equal(p.read("out/d/ro/f"), `${m}\n`);
    assert.equal(p.read("out/w/f"), `${m}\n`);
  };
  build("A", "built");
  build("B", "built");
  build("A", "restored");
  build("B", "restored");
  assert.deepEqual(readdirSync(p.path(".pipe/staging")), [], "nothing left in staging");
  const clean = run(p, ["clean"]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.equal(p.exists("out/d"), false);
  assert.equal(p.exists("out/w"), false);
  build("B", "restored");
  const noop = run(p, ["build", "--json", "-p", "m=B", "inner", "whole"]);
  assert.equal(noop.code, 0, noop.stderr);
  assert.deepEqual(finished(noop.events, "built"), []);
  if (asRoot) spawnSync("chmod", ["-R", "u+w", p.dir]);
  p.remove();
});

test("what pipe cannot remove (a folder inside an output owned by another user; an output in a read-only folder) is named with what to do, and never wedges the project", { skip: skip || (!asRoot ? "needs root to make files another user owns" : false) }, () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
const m = param.string("m", { default: "A" });
export const d = target({ params: { m }, outputs: ["out/d/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]} && echo \${params.m} > \${outputs[0]}/f\` });
`,
  });
  chownTree(p.dir);
  assert.equal(run(p, ["build"]).code, 0);
  // Root (a recipe run in a container, say) leaves a folder of its own inside the output.
  spawnSync("sh", ["-c", "mkdir out/d/rootdir && echo x > out/d/rootdir/file"], { cwd: p.dir });
  const b = run(p, ["build", "-p", "m=B"]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.equal(p.read("out/d/f"), "B\n", "the new output is in place");
  assert.match(b.stdout + b.stderr, /cannot remove \.pipe\/staging\/[^:]+: EACCES \(something in it belongs to another user, or its folder is read-only\); remove it yourself/);
  assert.doesNotMatch(b.stdout + b.stderr, /internal error/);
  // The next builds work: the leftover is named again, not fatal.
  const c = run(p, ["build", "-p", "m=A", "--json"]);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.deepEqual(finished(c.events, "restored"), ["d"]);
  assert.match(c.stdout, /cannot remove \.pipe\/staging/);
  spawnSync("rm", ["-rf", p.path(".pipe/staging")]);
  // An output whose folder is read-only: clean names it, exit 1, no internal error.
  spawnSync("chmod", ["555", p.path("out")]);
  const clean = run(p, ["clean"]);
  assert.equal(clean.code, 1, clean.stdout + clean.stderr);
  assert.match(clean.stderr, /error: cannot remove out\/d: EACCES/);
  assert.doesNotMatch(clean.stdout + clean.stderr, /internal error/);
  spawnSync("chmod", ["-R", "u+w", p.dir]);
  p.remove();
});
