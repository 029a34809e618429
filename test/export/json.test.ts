import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphJsonError, fromJson, toJson } from "../../src/export/json.ts";
import type { GraphView } from "../../src/graph/view.ts";
import { generatedView, nastyView, smallView } from "./views.ts";

test("fromJson(toJson(view)) deep-equals the view", () => {
  const protoKey: GraphView = {
    defaults: [],
    targets: [{ id: "x", family: "f", key: JSON.parse('{"__proto__": "p", "b": "2"}'), state: "failed", files: [], outputs: ["o/"], deps: [] }],
  };
  for (const view of [smallView(), nastyView(), generatedView(1000), { targets: [], defaults: [] }, protoKey]) {
    assert.deepStrictEqual(fromJson(toJson(view)), view);
  }
});

test("toJson writes a versioned document with fields in a fixed order", () => {
  const view: GraphView = {
    defaults: ["t"],
    targets: [{ deps: [], outputs: ["out.txt"], files: ["in.txt"], state: "stale", reason: "no record", params: { w: "7", b: "x" }, key: { z: "1", a: "2" }, family: "fam", id: "t" }],
  };
  assert.equal(
    toJson(view),
    JSON.stringify(
      {
        format: "pipe-graph",
        version: 1,
        defaults: ["t"],
        targets: [{ id: "t", family: "fam", key: { a: "2", z: "1" }, params: { b: "x", w: "7" }, state: "stale", reason: "no record", files: ["in.txt"], outputs: ["out.txt"], deps: [], description: null }],
      },
      null,
      2,
    ) + "\n",
  );
});

test("every target carries every field: null where it does not apply, {} for no params", () => {
  const view: GraphView = { defaults: [], targets: [{ id: "plain", state: "up-to-date", files: [], outputs: ["o.txt"], deps: [] }] };
  const doc = JSON.parse(toJson(view));
  assert.deepStrictEqual(doc.targets, [
    { id: "plain", family: null, key: null, params: {}, state: "up-to-date", reason: null, files: [], outputs: ["o.txt"], deps: [], description: null },
  ]);
  for (const t of JSON.parse(toJson(smallView())).targets) {
    assert.deepEqual(Object.keys(t), ["id", "family", "key", "params", "state", "reason", "files", "outputs", "deps", "description"], t.id);
  }
});

test("fromJson reads documents whose targets omit the fields that do not apply (written before they were always there)", () => {
  const old = { format: "pipe-graph", version: 1, defaults: [], targets: [{ id: "plain", state: "up-to-date", files: [], outputs: [], deps: [] }] };
  assert.deepStrictEqual(fromJson(JSON.stringify(old)), { defaults: [], targets: [{ id: "plain", state: "up-to-date", files: [], outputs: [], deps: [] }] });
});

test("fromJson names the bad field", () => {
  const good = JSON.parse(toJson(smallView()));
  const cases: Array<[unknown, string]> = [
    [{ ...good, format: "dot" }, 'invalid graph JSON: "format" must be "pipe-graph", got "dot"'],
    [{ ...good, version: 2 }, "graph JSON has format v2 (expected v1); re-export it with this version of pipe"],
    [{ ...good, targets: {} }, 'invalid graph JSON: "targets" must be an array'],
    [{ ...good, defaults: [1] }, 'invalid graph JSON: "defaults"[0] must be a string'],
    [{ ...good, targets: [{ ...good.targets[0], state: "fresh" }] }, 'invalid graph JSON: targets[0].state must be one of "up-to-date", "restorable", "stale", "failed"'],
    [{ ...good, targets: [{ ...good.targets[0], deps: "clean" }] }, "invalid graph JSON: targets[0].deps must be an array of strings"],
    [{ ...good, targets: [{ ...good.targets[0], key: { a: 1 } }] }, "invalid graph JSON: targets[0].key.a must be a string"],
    [{ ...good, targets: [{ ...good.targets[0], params: { window: 7 } }] }, "invalid graph JSON: targets[0].params.window must be a string"],
    [{ ...good, targets: [{ ...good.targets[0], params: ["7"] }] }, "invalid graph JSON: targets[0].params must be an object of strings"],
    [{ ...good, targets: [{ ...good.targets[0], family: 3 }] }, "invalid graph JSON: targets[0].family must be a string"],
    [{ ...good, targets: [{ ...good.targets[0], reason: false }] }, "invalid graph JSON: targets[0].reason must be a string"],
    [{ ...good, targets: [good.targets[0], good.targets[0]] }, 'invalid graph JSON: targets[1].id repeats "clean"'],
    [[], "invalid graph JSON: the document must be an object"],
  ];
  for (const [doc, message] of cases) {
    assert.throws(() => fromJson(JSON.stringify(doc)), (e: unknown) => e instanceof GraphJsonError && e.message === message, message);
  }
  assert.throws(() => fromJson("{"), (e: unknown) => e instanceof GraphJsonError && e.message.startsWith("invalid graph JSON: "));
});
