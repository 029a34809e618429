import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forceStatSync, statNumbers, statWay, type StatNumbers } from "../../src/util/fast-stat.ts";

const fresh = (): StatNumbers => ({ dev: 0, ino: 0, mode: 0, size: 0, mtimeMs: 0, ctimeMs: 0 });

/** What a call gives: its numbers, undefined, or the code of what it threw. */
function outcome(f: () => StatNumbers | undefined): StatNumbers | undefined | string {
  try {
    return f();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

function fromStatSync(p: string): StatNumbers | undefined {
  const st = statSync(p, { throwIfNoEntry: false });
  return st && { dev: st.dev, ino: st.ino, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

test("statNumbers gives statSync's numbers and errors, either way it goes (a file, a fraction of a millisecond, a link, a folder, nothing there, a path through a file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-fast-stat-"));
  try {
    const file = join(dir, "a.txt");
    writeFileSync(file, "some bytes\n");
    // An mtime with nanoseconds that do not divide evenly: the float must be node's own.
    utimesSync(file, 1_700_000_000.123456, 1_700_000_123.987654);
    writeFileSync(join(dir, "exec.sh"), "#!/bin/sh\n", { mode: 0o755 });
    symlinkSync("a.txt", join(dir, "link"));
    mkdirSync(join(dir, "sub"));
    const paths = [file, join(dir, "exec.sh"), join(dir, "link"), join(dir, "sub"), join(dir, "missing"), join(dir, "a.txt", "under-a-file"), join(dir, "dangling")];
    symlinkSync("nowhere", join(dir, "dangling"));
    for (const forced of [false, true]) {
      forceStatSync(forced);
      for (const p of paths) assert.deepEqual(outcome(() => statNumbers(p, fresh())), outcome(() => fromStatSync(p)), `${p} (${statWay(file)})`);
      assert.equal(outcome(() => statNumbers(join(dir, "a.txt", "under-a-file"), fresh())), "ENOTDIR");
      assert.equal(statNumbers(join(dir, "missing"), fresh()), undefined);
      // A file edited between two calls: each call reads it anew into the object it is given.
      const out = fresh();
      const before = statNumbers(file, out)!.size;
      writeFileSync(file, "more bytes than before\n");
      assert.notEqual(statNumbers(file, out)!.size, before);
      writeFileSync(file, "some bytes\n");
      // Errors other than ENOENT throw, as statSync's do (a name longer than the system allows).
      assert.throws(() => statNumbers(join(dir, "x".repeat(300)), fresh()), /ENAMETOOLONG/);
    }
  } finally {
    forceStatSync(false);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("on the node versions it knows, the no-op check reads node's fs binding; never where that would print a deprecation warning", () => {
  forceStatSync(false);
  const [major, minor] = process.versions.node.split(".").map(Number);
  const known = (major === 20 && minor >= 19) || major === 22 || major === 24;
  assert.equal(statWay(import.meta.filename ?? process.execPath), known && !process.env.NODE_PENDING_DEPRECATION ? "binding" : "statSync");
  // With --pending-deprecation node warns about process.binding: statSync then, and no warning.
  const url = new URL("../../src/util/fast-stat.js", import.meta.url).href;
  const script = `import(${JSON.stringify(url)}).then((m) => console.log(m.statWay(process.execPath)))`;
  // The underscore spelling too (a review found it got past a check of the flags and, with
  // --throw-deprecation, crashed pipe).
  for (const env of [{ NODE_PENDING_DEPRECATION: "1" }, { NODE_OPTIONS: "--pending-deprecation" }, { NODE_OPTIONS: "--pending_deprecation --throw-deprecation" }]) {
    const out = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(out.trim(), "statSync", JSON.stringify(env));
  }
  const warned = execFileSync(process.execPath, ["--pending-deprecation", "-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(warned.trim(), "statSync");
});
