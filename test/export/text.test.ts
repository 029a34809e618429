import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_DEPTH, toText } from "../../src/export/text.ts";
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
  assert.equal(toText(view).split("\n").slice(0, 2).join("\n"), "✔ z\n● experiment — no record");
});

test("targets named on the command line print first, before a default target they depend on", () => {
  // Before: \`pipe graph both\` printed the default clean[country=de]'s tree first and \`both\` after
  // it, its dependency reduced to "(see above)".
  const view: GraphView = { defaults: ["clean"], targets: [t("raw"), t("clean", ["raw"]), t("both", ["clean", "raw"])] };
  assert.equal(toText(view, { first: ["both"] }).split("\n").slice(0, 4).join("\n"), "✔ both\n├─ ✔ clean\n│  └─ ✔ raw\n└─ ✔ raw (see above)");
  assert.equal(toText(view).split("\n")[0], "✔ clean", "without targets named, the defaults first");
});

test("one-line trees are not separated by blank lines; trees of more lines are", () => {
  // Before: a blank line between every root (20,001 lines for 10,000 independent targets).
  const view: GraphView = { defaults: [], targets: [t("a"), t("b"), t("c", ["d"]), t("d"), t("e"), t("f")] };
  assert.equal(toText(view), ["✔ a", "✔ b", "", "✔ c", "└─ ✔ d", "", "✔ e", "✔ f", "", "✔ 6 up to date  ↺ 0 restorable from cache  ● 0 stale  ✖ 0 failed", ""].join("\n"));
  const wide: GraphView = { defaults: [], targets: Array.from({ length: 10_000 }, (_, i) => t(`w${i}`)) };
  assert.equal(toText(wide).split("\n").length, 10_000 + 3);
});

test("a deep chain indents at most MAX_DEPTH levels, then continues at the left margin", () => {
  // c0 ◄─ c1 ◄─ ... ◄─ c999. Before: 3 columns per level, lines of 3,000 columns (1.5 MB).
  const n = 1000;
  const view: GraphView = { defaults: [`c${n - 1}`], targets: Array.from({ length: n }, (_, i) => t(`c${i}`, i ? [`c${i - 1}`] : [], { state: "stale", reason: i ? `dependency "c${i - 1}" will rebuild` : "input in/0.txt changed" })) };
  const text = toText(view);
  const lines = text.split("\n");
  for (const line of lines) assert.ok(line.length <= 3 * MAX_DEPTH + 40, line);
  assert.ok(text.length < 100_000, String(text.length));
  const at = lines.findIndex((l) => l.includes("(continued below)"));
  assert.deepEqual(lines.slice(at, at + 4), [`${" ".repeat(3 * (MAX_DEPTH - 1))}└─ ● c${n - 1 - MAX_DEPTH} (continued below)`, "", `● c${n - 1 - MAX_DEPTH} — dependency "c${n - 2 - MAX_DEPTH}" will rebuild`, `└─ ● c${n - 2 - MAX_DEPTH} — dependency "c${n - 3 - MAX_DEPTH}" will rebuild`]);
  // Every target is printed in full once: its reason appears exactly once.
  for (const i of [0, 1, 500, n - 1]) assert.equal(lines.filter((l) => l.includes(`● c${i} —`)).length, 1, `c${i}`);
  assert.ok(lines.some((l) => l.endsWith("● c0 — input in/0.txt changed")));
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
