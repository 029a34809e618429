// An error the machine's state causes (a full disk, a read-only file system) is said plainly,
// exit 2, without a stack or "this is a bug"; anything else unexpected still is a bug report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reportError } from "../../src/cli/main.ts";
import { stateWriteError } from "../../src/state/lock.ts";
import { UserError } from "../../src/util/errors.ts";
import { MemoryStream } from "../ui/fixtures.ts";

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

test("a full disk met anywhere: its message and what to do, exit 2, no stack", () => {
  const err = new MemoryStream();
  const code = reportError(errno("ENOSPC", "ENOSPC: no space left on device, write"), err);
  assert.equal(code, 2);
  assert.equal(err.text, "error: ENOSPC: no space left on device, write\n  hint: free some space on that file system (or raise the quota) and run pipe again\n");
});

test("anything else unexpected is still reported as a bug, with its stack", () => {
  const err = new MemoryStream();
  assert.equal(reportError(new TypeError("x is undefined"), err), 1);
  assert.match(err.text, /^internal error: TypeError: x is undefined\n\s+at /);
  assert.match(err.text, /this is a bug/);
});

test("the lock's own write into .pipe/: a full disk or permissions become the user's error, naming the file", () => {
  const full = stateWriteError("/p/.pipe/lock.json", errno("ENOSPC", "no space"));
  assert.ok(full instanceof UserError);
  assert.match(full.message, /cannot write \/p\/\.pipe\/lock\.json: ENOSPC \(no space left on device\)/);
  const denied = stateWriteError("/p/.pipe/lock.json", errno("EACCES", "denied"));
  assert.ok(denied instanceof UserError);
  const other = new Error("no code");
  assert.equal(stateWriteError("/p/.pipe/lock.json", other), other, "an error without a code is passed on as it is");
});
