// A pipe waiting for another's lock stops waiting when interrupted: exit 130 at once, not when
// the holder is done (reliability P10/P11).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { collect, finished, Project, waitForLine } from "../helpers/rig.ts";

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${signal} to a pipe waiting for the lock: exit 130 while the holder still runs`, async () => {
    const p = new Project({
      "Pipelinefile.ts":
        `import { target, sh } from "pipefile";\n` +
        // The holder's recipe runs until the test creates "release" (bounded: 30 s).
        `export const slow = target({ outputs: ["build/slow.txt"], run: ({ outputs }) => sh\`for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done; echo ok > \${outputs[0]}\` });\n` +
        `export const other = target({ outputs: ["build/other.txt"], run: ({ outputs }) => sh\`echo other > \${outputs[0]}\` });\n`,
    });
    const holder = p.spawn(["build", "--json", "slow"]);
    const held = collect(holder);
    let holderDone = false;
    holder.once("exit", () => (holderDone = true));
    await waitForLine(holder, (l) => l.includes('"target-started"'));
    const waiter = p.spawn(["build", "--json", "other"]);
    const waited = collect(waiter);
    await waitForLine(waiter, (l) => l.includes('"lock-waiting"'));
    waiter.kill(signal);
    const w = await waited;
    // The holder still runs (it waits for "release"): the waiter did not wait for it.
    assert.equal(holderDone, false, "the waiter exited only after the holder");
    assert.equal(w.code, 130, w.stdout + w.stderr);
    assert.equal(p.exists("build/other.txt"), false, "the interrupted request built nothing");
    writeFileSync(p.path("release"), "");
    const h = await held;
    assert.equal(h.code, 0, h.stderr);
    assert.equal(p.read("build/slow.txt"), "ok\n");
    // The lock is free again, and the interrupted target builds normally.
    const again = await p.run(["build", "other"]);
    assert.equal(again.code, 0, again.stderr);
    p.remove();
  });

  test(`${signal} to pipe clean or pipe gc waiting for the lock: exit 130 with "interrupted", not the signal's own code`, async () => {
    // They have no reporter: once main let go of the signals, TERM ended them with 143, HUP 129.
    const p = new Project({
      "Pipelinefile.ts":
        `import { target, sh } from "pipefile";\n` +
        `export const slow = target({ outputs: ["build/slow.txt"], run: ({ outputs }) => sh\`for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done; echo ok > \${outputs[0]}\` });\n`,
    });
    try {
      const holder = p.spawn(["build", "--json", "slow"]);
      const held = collect(holder);
      await waitForLine(holder, (l) => l.includes('"target-started"'));
      for (const args of [["clean", "slow"], ["gc"]]) {
        const waiter = p.spawn(args);
        const waited = collect(waiter);
        await waitForLine(waiter, (l) => l.includes("waiting for the project lock"), "stderr");
        waiter.kill(signal);
        const w = await waited;
        assert.equal(w.code, 130, `${args[0]}: ${w.signal} ${w.stdout}${w.stderr}`);
        assert.match(w.stderr, /^interrupted$/m);
      }
      writeFileSync(p.path("release"), "");
      assert.equal((await held).code, 0);
    } finally {
      p.remove();
    }
  });
}

test("pipe clean that waited for a build's lock reads the state that build left: its fresh outputs are removed, not taken for hand edits", async () => {
  // Before: clean read the journal before waiting, so the output the build made meanwhile had no
  // record it knew of: "changed outside pipe; pipe kept those bytes", and a copy nothing frees.
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\n` +
      `export const slow = target({ inputs: ["in.txt"], outputs: ["build/slow.txt"], run: ({ inputs, outputs }) => sh\`for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done; cp \${inputs[0]} \${outputs[0]}\` });\n`,
    "in.txt": "one",
    release: "",
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    rmSync(p.path("release"));
    p.write({ "in.txt": "two" });
    const holder = p.spawn(["build", "--json"]);
    const held = collect(holder);
    await waitForLine(holder, (l) => l.includes('"target-started"'));
    const cleaner = p.spawn(["clean"]);
    const cleaned = collect(cleaner);
    await waitForLine(cleaner, (l) => l.includes("waiting for the project lock"), "stderr");
    writeFileSync(p.path("release"), "");
    assert.equal((await held).code, 0);
    const c = await cleaned;
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.doesNotMatch(c.stdout, /changed outside pipe|kept/);
    assert.match(c.stdout, /removed build\/slow.txt\n1 output removed/);
    assert.equal(p.exists("build/slow.txt"), false);
    assert.deepEqual(existsSync(p.path(".pipe/kept")) ? readdirSync(p.path(".pipe/kept")) : [], []);
    // The build restores "two" from the cache without running.
    const again = await p.run(["build", "--json"]);
    assert.deepEqual(finished(again.events, "restored"), ["slow"]);
    assert.equal(p.read("build/slow.txt"), "two");
  } finally {
    p.remove();
  }
});
