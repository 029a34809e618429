#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node:test.
// Node 20 takes no glob arguments and finds no .ts tests in a directory, so list files here.
// Extra arguments are passed through (e.g. `node test/run.mjs --test-name-pattern=cycle`);
// plain arguments filter files by substring (`node test/run.mjs graph`).
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { availableParallelism, tmpdir } from "node:os";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const filters = process.argv.slice(2).filter((a) => !a.startsWith("--"));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "fixtures") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const files = walk(dist, []).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error("no test files found under dist/ (did `npm run build` run?)");
  process.exit(1);
}
// Ink's is-in-ci would otherwise switch the UI tests to CI rendering.
const env = { ...process.env, CI: "false", CONTINUOUS_INTEGRATION: "" };
delete env.CONTINUOUS_INTEGRATION;
// Every temp project the tests make goes into one folder, removed after a green run (kept after a
// red one, to look at; PIPE_TEST_KEEP=1 keeps it always).
const scratch = mkdtempSync(join(tmpdir(), "pipe-tests-"));
chmodSync(scratch, 0o1777); // like /tmp: the read-only-output tests run pipe as user nobody
env.TMPDIR = scratch;
const concurrency = Math.max(2, availableParallelism());
const r = spawnSync(process.execPath, ["--enable-source-maps", "--test", `--test-concurrency=${concurrency}`, ...flags, ...files], { stdio: "inherit", env });
if (r.status === 0 && !process.env.PIPE_TEST_KEEP) rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
else console.error(`test temp folders kept in ${scratch}`);
process.exit(r.status ?? 1);
