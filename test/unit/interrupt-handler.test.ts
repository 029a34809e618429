// The build's interrupt handler (src/cli/reporting.ts): its signal takes a listener per running
// recipe without node's listener-leak warning, and an interrupt releases the output gate for
// good, so stopping never waits for a reader of pipe's output that fell behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { interruptHandler } from "../../src/cli/reporting.ts";
import { closeOutput, outputClosed, outputReleased, resetOutputGate, whenOutputOpen } from "../../src/util/output-gate.ts";

test("an interrupt opens a closed output gate for good: waiting readers go on, and it never closes again", () => {
  resetOutputGate();
  try {
    const h = interruptHandler();
    assert.equal(closeOutput(), true);
    let resumed = false;
    whenOutputOpen(() => (resumed = true));
    assert.equal(resumed, false);
    h.onSignal();
    assert.equal(h.signal.aborted, true);
    assert.equal(resumed, true);
    assert.equal(outputClosed(), false);
    assert.equal(outputReleased(), true);
    assert.equal(closeOutput(), false, "a released gate cannot close");
  } finally {
    resetOutputGate();
  }
});

test("the build's signal takes more than ten abort listeners (one per running recipe) without a warning", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const h = interruptHandler();
    for (let i = 0; i < 24; i++) h.signal.addEventListener("abort", () => undefined);
    // Node emits the warning on a later tick.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off("warning", onWarning);
  }
});
