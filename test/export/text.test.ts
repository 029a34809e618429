import { test } from "node:test";
import assert from "node:assert/strict";
import { toText } from "../../src/export/text.ts";
import type { GraphView, TargetView } from "../../src/graph/view.ts";
import { generatedView, shuffled, smallView } from "./views.ts";

function t(id: string, deps: string[] = [], extra: Partial<TargetView> = {}): TargetView {
  return { id, state: "up-to-date", files: [], outputs: [], deps, ...extra };
}

test("the small view prints as a tree with markers, reasons and shared subtrees referenced", () => {
  assert.equal(
    toText(smallView()),
    [
      '● report — dependency "model" is stale',
      '├─ ● model — dependency "features" is stale',
      "│  └─ ● features — input data/raw.csv changed",
      "│     └─ ✔ clean",
      "├─ ↺ trend[attribute=confirmed] — output in cache",
      "│  └─ ✔ clean (see above)",
      "└─ ✖ trend[attribute=recovered] — recipe exited with code 1",
      "   └─ ✔ clean (see above)",
      "",
      "✔ 1 up to date  ↺ 1 restorable from cache  ● 3 stale  ✖ 1 failed",
      "",
    ].join("\n"),
  );
});

test("a shared subtree is expanded once", () => {
  //   base ─► mid ─► a
  //            └───► b
  const view: GraphView = { defaults: ["a", "b"], targets: [t("base"), t("mid", ["base"]), t("a", ["mid"]), t("b", ["mid"])] };
  assert.equal(
    toText(view),
    ["✔ a", "└─ ✔ mid", "   └─ ✔ base", "", "✔ b", "└─ ✔ mid (see above)", "", "✔ 4 up to date  ↺ 0 restorable from cache  ● 0 stale  ✖ 0 failed", ""].join("\n"),
  );
});

test("targets nothing depends on are printed after the defaults", () => {
  const view: GraphView = { defaults: ["z"], targets: [t("z"), t("experiment", [], { state: "stale", reason: "no record" })] };
  assert.equal(toText(view).split("\n").slice(0, 3).join("\n"), "✔ z\n\n● experiment — no record");
});

test("width shortens the reason first, then the line", () => {
  const view: GraphView = { defaults: ["model"], targets: [t("model", [], { state: "stale", reason: "input data/a-very-long-file-name.csv changed" })] };
  assert.equal(toText(view, { width: 30 }).split("\n")[0], "● model — input data/a-very-l…");
  assert.equal(toText(view, { width: 6 }).split("\n")[0], "● mod…");
  const lines = toText(generatedView(300), { width: 40 }).split("\n");
  for (const line of lines) assert.ok([...line].length <= 40, line);
  assert.deepEqual(lines.slice(-5), ["✔ 75 up to date", "↺ 75 restorable from cache", "● 75 stale", "✖ 75 failed", ""]);
});

test("dependencies outside the view, cycles and control characters cannot break the tree", () => {
  const view: GraphView = {
    defaults: [],
    targets: [t("report", ["model", "gone"]), t("model", ["report"], { state: "stale", reason: "line\nbreak\u001b[31m" })],
  };
  assert.equal(
    toText(view),
    ["● model — line\\nbreak\\x1b[31m", "└─ ✔ report", "   ├─ ○ gone (not in this selection)", "   └─ ● model (see above)", "", "✔ 1 up to date  ↺ 0 restorable from cache  ● 1 stale  ✖ 0 failed", ""].join("\n"),
  );
});

test("an empty view says so", () => {
  assert.equal(toText({ targets: [], defaults: [] }), "no targets\n\n✔ 0 up to date  ↺ 0 restorable from cache  ● 0 stale  ✖ 0 failed\n");
});

test("output does not depend on the order of targets or deps", () => {
  for (const view of [smallView(), generatedView(300)]) {
    const expected = toText(view);
    for (const seed of [1, 2, 3]) assert.equal(toText(shuffled(view, seed)), expected);
  }
});

test("with files, each target's source files follow its dependencies; without, none are shown", () => {
  const view: GraphView = { defaults: ["report"], targets: [t("clean", [], { files: ["data/raw.csv", "data/b.csv"] }), t("report", ["clean"], { files: ["templates/report.html"] })] };
  assert.equal(
    toText(view, { files: true }),
    ["✔ report", "├─ ✔ clean", "│  ├─ · data/b.csv", "│  └─ · data/raw.csv", "└─ · templates/report.html", "", "✔ 2 up to date  ↺ 0 restorable from cache  ● 0 stale  ✖ 0 failed", ""].join("\n"),
  );
  assert.doesNotMatch(toText(view), /data\/raw\.csv/);
});
