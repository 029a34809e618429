// The project lock's supervisor (src/state/lock.ts) when pipe dies: what it stops before the
// lock is free again. pipe's death is played by closing the supervisor's input without "done".
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProjectLock } from "../../src/state/lock.ts";
import { sessionMembers } from "../../src/run/spawner.ts";
import { pgrep } from "../helpers/rig.ts";


test("a recipe helper killed along with pipe: the supervisor still stops its session's recipes (even one that ignores TERM) before the lock is free", { skip: process.platform !== "linux" && "the supervisor finds a session's members in /proc" }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-lock-"));
  const token = `pipe-lock-session-${process.pid}`;
  const lock = await ProjectLock.acquire(join(dir, ".pipe"), { command: "test" });
  try {
    // A stand-in helper: its own session (detached), with a recipe that ignores TERM (and
    // says so once the trap is set; its sleep inherits the ignored TERM).
    const helper = spawn("sh", ["-c", `(trap '' TERM; echo up; exec sh -c 'sleep 300; true' ${token}) & wait`], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
    await new Promise((r) => helper.stdout!.once("data", r));
    lock.watchHelper(helper.pid!);
    assert.ok(sessionMembers(helper.pid!).length >= 2, "the helper and its recipe");
    // The helper dies first (as with a kill of both), then pipe.
    const gone = new Promise((r) => helper.once("exit", r));
    process.kill(helper.pid!, "SIGKILL");
    await gone;
    lock.closeInput();
    // The lock is free only once the supervisor is done: then nothing of the session is left.
    const next = await ProjectLock.acquire(join(dir, ".pipe"), { command: "test" });
    next.release();
    assert.deepEqual(sessionMembers(helper.pid!), [], "every process of the helper's session, TERM ignored or not, was gone before the lock was released");
  } finally {
    lock.release();
    for (const p of pgrep(token)) process.kill(p, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
