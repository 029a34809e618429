// A recipe waiting in the python helper for the slot of the one before it (src/run/lanes.ts):
// started there only when that one exits 0 with its group empty and its staging paths made;
// otherwise held until pipe says go or cancel. Each job leaves marks in a folder, so what ran,
// and in what order, is read from files, not from timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { availableHelpers, runShell, runShellNode, type ShellResult, type ShellRun } from "../../src/run/shell.ts";
import { Spawner } from "../../src/run/spawner.ts";
import { Lane, Ticket } from "../../src/run/lanes.ts";

const skip = availableHelpers()[0] === "python" ? false : "the python helper (Linux, /usr/bin/python3) is not here";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

function shellRun(script: string, cwd: string, extra: Partial<ShellRun> = {}): ShellRun {
  return { script, cwd, env: ENV, signal: new AbortController().signal, graceMs: 2000, onLine: () => undefined, onGroup: () => undefined, spawner: "python", ...extra };
}

/** A command waiting for a slot (the ticket's): runShell queues it behind its lane's job. */
function shell(script: string, cwd: string, extra: Partial<ShellRun> = {}): Promise<ShellResult> {
  return runShell(shellRun(script, cwd, extra));
}

/** A folder for marks, and a helper of this test's own (so the order of its messages is known). */
function setup(t: { after: (fn: () => void) => void }): { dir: string; sp: Spawner; sync: () => Promise<unknown> } {
  const dir = mkdtempSync(join(tmpdir(), "pipe-lanes-"));
  const sp = Spawner.start({ kind: "python", fallback: runShellNode })!;
  t.after(() => {
    sp.closeInput();
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 1000;
  // The helper reads its messages in order: once this job's exit is back, it has read every
  // message sent before it.
  const sync = () => {
    const id = n++;
    const payload = `${dir}\0\0/bin/true`;
    return sp.rawExchange(`E${id} 0\nJ${id} ${id} ${Buffer.byteLength(payload)}\n${payload}`, new RegExp(`X${id} `));
  };
  return { dir, sp, sync };
}

/** A: waits until the test creates `go`, then runs `then`. */
const waitThen = (then: string) => `while ! test -e go; do sleep 0.01; done; ${then}`;

/** B: records whether A had finished (its mark) when B started. */
const B = `if test -e a-done; then echo after > b-ran; else echo before > b-ran; fi`;

test("a queued command starts in the helper when the one before it exits 0 and made its paths, without pipe's word", { skip }, async (t) => {
  const { dir, sp, sync } = setup(t);
  const lane = new Lane();
  lane.paths = [join(dir, "a-out")];
  const a = sp.run(shellRun(waitThen(`echo x > a-out; touch a-done`), dir, { lane }));
  const ticket = new Ticket(lane);
  let started = 0;
  ticket.onStart = () => started++;
  const b = shell(B, dir, { ticket, lane: ticket.lane });
  assert.equal(ticket.state, "queued", "sent to the helper behind A");
  await sync();
  assert.equal(started, 0);
  writeFileSync(join(dir, "go"), "");
  assert.equal((await a).code, 0);
  assert.equal(ticket.state, "started", "the helper said it started B in A's slot (before A settled)");
  assert.equal(started, 1);
  assert.equal((await b).code, 0);
  assert.equal(readFileSync(join(dir, "b-ran"), "utf8"), "after\n", "B started after A ended");
});

for (const [why, a] of [
  ["exits 1", `touch a-out a-done; exit 1`],
  ["exits 0 without making its staging path", `touch a-done`],
  ["exits 0 with a process left in its group", `touch a-out a-done; sleep 0.3 &`],
] as const) {
  test(`a queued command is held when the one before it ${why}: it starts on go`, { skip }, async (t) => {
    const { dir, sp, sync } = setup(t);
    const lane = new Lane();
    lane.paths = [join(dir, "a-out")];
    const ra = sp.run(shellRun(waitThen(a), dir, { lane }));
    const ticket = new Ticket(lane);
    const b = shell(B, dir, { ticket, lane: ticket.lane });
    await sync();
    writeFileSync(join(dir, "go"), "");
    await ra;
    assert.equal(ticket.state, "queued", "the helper kept it");
    assert.equal(existsSync(join(dir, "b-ran")), false, "not started");
    ticket.go();
    assert.equal(ticket.state, "go");
    assert.equal((await b).code, 0);
    assert.equal(readFileSync(join(dir, "b-ran"), "utf8"), "after\n");
  });
}

test("cancelled while queued behind a running command: it never starts, and the slot's next job is not it", { skip }, async (t) => {
  const { dir, sp } = setup(t);
  const lane = new Lane();
  lane.paths = [join(dir, "a-out")];
  const a = sp.run(shellRun(waitThen(`touch a-out a-done`), dir, { lane }));
  const ticket = new Ticket(lane);
  const b = shell(B, dir, { ticket, lane: ticket.lane });
  ticket.cancel();
  assert.equal(ticket.state, "cancelling");
  const rb = await b;
  assert.equal(rb.cancelled, true);
  assert.equal(ticket.state, "cancelled");
  // A ends well only now: with B gone from its queue, its exit starts nothing.
  writeFileSync(join(dir, "go"), "");
  assert.equal((await a).code, 0);
  assert.equal(ticket.state, "cancelled");
  assert.equal(existsSync(join(dir, "b-ran")), false);
});

test("cancelled after the command before it failed (held in the helper): it never starts", { skip }, async (t) => {
  const { dir, sp, sync } = setup(t);
  const lane = new Lane();
  lane.paths = [join(dir, "a-out")];
  const a = sp.run(shellRun(waitThen(`exit 3`), dir, { lane }));
  const ticket = new Ticket(lane);
  const b = shell(B, dir, { ticket, lane: ticket.lane });
  await sync();
  writeFileSync(join(dir, "go"), "");
  assert.equal((await a).code, 3);
  assert.equal(ticket.state, "queued");
  ticket.cancel();
  assert.equal((await b).cancelled, true);
  await sync();
  assert.equal(existsSync(join(dir, "b-ran")), false);
});

test("a ticket whose lane never reached a helper waits in pipe: go runs it, cancel ends it unstarted", { skip }, async (t) => {
  const { dir } = setup(t);
  const parked = new Ticket(new Lane());
  const b = shell(B, dir, { ticket: parked, lane: parked.lane });
  assert.equal(parked.state, "waiting");
  parked.go();
  assert.equal((await b).code, 0);
  const other = new Ticket(new Lane());
  const c = shell("touch c-ran", dir, { ticket: other });
  other.cancel();
  assert.equal((await c).cancelled, true);
  assert.equal(existsSync(join(dir, "c-ran")), false);
  // Decided before the command reached runShell: the same.
  const early = new Ticket(new Lane());
  early.cancel();
  assert.equal((await shell("touch d-ran", dir, { ticket: early })).cancelled, true);
  assert.equal(existsSync(join(dir, "d-ran")), false);
});
