import { test } from "node:test";
import assert from "node:assert/strict";
import { fitForest, fitLinear, fitModel, modelFromJson, predictorOf } from "../../recipes/model.ts";
import { addDays } from "../../recipes/table.ts";
import { makeWindows } from "../../recipes/window.ts";

const days = (n: number) => Array.from({ length: n }, (_, i) => addDays("2021-01-01", i));

/** Changes d_t = 10 + 0.6 d_{t-1} - 0.3 d_{t-2}, levels their running sum: exactly the linear model with window 3. */
function exactChanges(n: number): number[] {
  const d = [40, -20];
  while (d.length < n) d.push(10 + 0.6 * d[d.length - 1] - 0.3 * d[d.length - 2]);
  const x: number[] = [];
  d.reduce((level, change) => (x.push(level + change), level + change), 1000);
  return x;
}

/** Deterministic noise in [-0.5, 0.5) (mulberry32), so tests never depend on Math.random. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

test("linear AR on changes recovers the drift and coefficients of an exact series", () => {
  const values = exactChanges(40);
  const { intercept, coefficients } = fitLinear(makeWindows({ dates: days(40), values }, 3));
  assert.ok(Math.abs(intercept - 10) < 1e-6, `intercept ${intercept}`);
  assert.ok(Math.abs(coefficients[0] - 0.6) < 1e-9, `c1 ${coefficients[0]}`);
  assert.ok(Math.abs(coefficients[1] + 0.3) < 1e-9, `c2 ${coefficients[1]}`);
});

test("linear AR recovers AR(1) coefficients of the changes of a noisy series of large counts", () => {
  const e = noise(7);
  const d = [0];
  for (let t = 1; t < 3000; t++) d.push(200 + 0.9 * d[t - 1] + 2_000 * e());
  const values: number[] = [];
  d.reduce((level, change) => (values.push(level + change), level + change), 5_000_000);
  const { intercept, coefficients } = fitLinear(makeWindows({ dates: days(3000), values }, 2));
  assert.ok(Math.abs(coefficients[0] - 0.9) < 0.01, `c1 ${coefficients[0]}`);
  assert.ok(Math.abs(intercept - 200) < 100, `intercept ${intercept}`);
});

test("a linear model predicts the last value plus its predicted change, and survives a JSON round trip", () => {
  const rows = makeWindows({ dates: days(30), values: exactChanges(30) }, 3);
  const model = fitModel("linear", rows, { attribute: "x" });
  assert.equal(model.kind, "linear");
  assert.deepEqual(model.trainedOn, { rows: 27, from: "2021-01-04", to: "2021-01-30" });
  const loaded = modelFromJson(JSON.parse(JSON.stringify(model)), "m.json");
  // lags 500, 480, 470: changes 20, 10 -> next change 10 + 0.6*20 - 0.3*10 = 19
  assert.ok(Math.abs(predictorOf(loaded)([500, 480, 470]) - 519) < 1e-6);
});

test("a 1-day linear model is pure drift: the mean daily change", () => {
  const model = fitModel("linear", makeWindows({ dates: days(5), values: [0, 2, 4, 6, 8] }, 1), { attribute: "x" });
  assert.ok(model.kind === "linear" && model.coefficients.length === 0);
  assert.equal(predictorOf(model)([8]), 10);
});

test("too few rows to fit is an error saying how many are needed", () => {
  const rows = makeWindows({ dates: days(4), values: [1, 2, 3, 5] }, 2);
  assert.throws(() => fitLinear(rows), { message: "not enough rows to fit a 2-day model: have 2, need at least 4" });
  assert.throws(() => fitLinear([]), { message: "cannot fit a model on an empty window table" });
});

test("the forest learns changes, so it extrapolates a steady trend", () => {
  const values = Array.from({ length: 60 }, (_, t) => 1000 + 25 * t);
  const model = fitModel("forest", makeWindows({ dates: days(60), values }, 3), { attribute: "x" });
  const predict = predictorOf(model);
  assert.equal(predict([5000, 4975, 4950]), 5025); // far outside the training range
});

test("the forest is seeded: the same data and seed give the same model", () => {
  const e = noise(3);
  const values = Array.from({ length: 80 }, (_, t) => 100 + 10 * Math.sin(t / 4) + e());
  const rows = makeWindows({ dates: days(80), values }, 4);
  assert.deepEqual(fitForest(rows, { seed: 11 }), fitForest(rows, { seed: 11 }));
  const model = fitModel("forest", rows, { attribute: "x" });
  const loaded = modelFromJson(JSON.parse(JSON.stringify(model)), "f.json");
  const lags = rows[10].lags;
  assert.equal(predictorOf(loaded)(lags), predictorOf(model)(lags));
});

test("the forest needs at least two lags", () => {
  const rows = makeWindows({ dates: days(10), values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, 1);
  assert.throws(() => fitForest(rows), { message: /needs window >= 2/ });
});

test("a predictor refuses the wrong number of lags", () => {
  const model = fitModel("linear", makeWindows({ dates: days(30), values: exactChanges(30) }, 2), { attribute: "x" });
  assert.throws(() => predictorOf(model)([1]), { message: "the model needs 2 lags, got 1" });
});

test("loading a bad model file names the file and the problem", () => {
  const base = { attribute: "x", window: 2, trainedOn: { rows: 1, from: "", to: "" } };
  assert.throws(() => modelFromJson(null, "m.json"), { message: '"m.json" is not a saved model: not a JSON object' });
  assert.throws(() => modelFromJson({ ...base, kind: "gbr" }, "m.json"), { message: '"m.json" is not a saved model: kind "gbr" is not one of linear, forest' });
  assert.throws(() => modelFromJson({ ...base, kind: "linear", intercept: 1, coefficients: [1, 2] }, "m.json"), { message: /needs an intercept and 1 coefficients \(one per day-on-day change in its 2-day window\)/ });
  assert.throws(() => fitModel("gbr" as "linear", [], { attribute: "x" }), { message: /unknown model "gbr"/ });
});
