import { test } from "node:test";
import assert from "node:assert/strict";
import { planRetries } from "../../src/watch/retry.ts";
import { graphOf, SAMPLE } from "./graphs.ts";

//   data/raw.csv ──► clean ──► model     flag.txt ──► check     sentinel.txt ──► mark
const graph = graphOf("/p", SAMPLE, { "data/extra/*.csv": ["data/extra/a.csv"] });
const ALL = ["model", "check", "mark"];
const plan = (failed: string[], changed: string[], o: { selected?: string[]; codeChanged?: boolean } = {}) =>
  planRetries({ root: "/p", stateDir: "/p/.pipe", graph, selected: o.selected ?? ALL, failed, changed, codeChanged: o.codeChanged ?? false });

test("with no failed target, the user's request is built as is", () => {
  assert.deepEqual(plan([], ["/p/sentinel.txt"]), { requested: undefined, held: [] });
});

test("a failed target is held back when none of its sources changed; the rest still builds", () => {
  assert.deepEqual(plan(["check"], ["/p/sentinel.txt"]), { requested: ["mark", "model"], held: ["check"] });
});

test("a failed target is retried when one of its own sources changed", () => {
  assert.deepEqual(plan(["check"], ["/p/flag.txt"]), { requested: undefined, held: [] });
});

test("a failed target is retried when a source of a target it depends on changed", () => {
  assert.deepEqual(plan(["model"], ["/p/data/raw.csv"]), { requested: undefined, held: [] });
  assert.deepEqual(plan(["model"], ["/p/data/extra/new.csv"]), { requested: undefined, held: [] });
});

test("a held target holds back its dependents, and its dependencies still build", () => {
  assert.deepEqual(plan(["clean"], ["/p/sentinel.txt"]), { requested: ["check", "mark"], held: ["clean"] });
  assert.deepEqual(plan(["model"], ["/p/sentinel.txt"]), { requested: ["check", "clean", "mark"], held: ["model"] });
});

test("a change to the Pipelinefile or its modules retries everything", () => {
  assert.deepEqual(plan(["check", "model"], ["/p/Pipelinefile.ts"], { codeChanged: true }), { requested: undefined, held: [] });
});

test("when every wanted target is held back, nothing is left to build", () => {
  assert.deepEqual(plan(["check"], ["/p/sentinel.txt"], { selected: ["check"] }), { requested: [], held: ["check"] });
});

test("failed targets the graph no longer has are forgotten", () => {
  assert.deepEqual(plan(["gone"], ["/p/sentinel.txt"]), { requested: undefined, held: [] });
});
