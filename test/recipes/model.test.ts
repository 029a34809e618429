import { test } from "node:test";
import assert from "node:assert/strict";
import { fitForest, fitLinear, fitModel, modelFromJson, predictorOf } from "../../recipes/model.ts";
import { addDays } from "../../recipes/table.ts";
import { makeWindows } from "../../recipes/window.ts";

const days = (n: number) => Array.from({ length: n }, (_, i) => addDays("2021-01-01", i));

/** x_t = 10 + 1.2 x_{t-1} - 0.5 x_{t-2}: a damped oscillation, exactly AR(2). */
function exactAr2(n: number): number[] {
  const x = [100, 20];
  while (x.length < n) x.push(10 + 1.2 * x[x.length - 1] - 0.5 * x[x.length - 2]);
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

test("linear AR recovers the intercept and coefficients of an exact AR(2) series", () => {
  const values = exactAr2(40);
  const { intercept, coefficients } = fitLinear(makeWindows({ dates: days(40), values }, 2));
  assert.ok(Math.abs(intercept - 10) < 1e-6, `intercept ${intercept}`);
  assert.ok(Math.abs(coefficients[0] - 1.2) < 1e-9, `c1 ${coefficients[0]}`);
  assert.ok(Math.abs(coefficients[1] + 0.5) < 1e-9, `c2 ${coefficients[1]}`);
});

test("linear AR recovers AR(1) coefficients from a noisy series of large counts", () => {
  const e = noise(7);
  const values = [500_000];
  for (let t = 1; t < 3000; t++) values.push(20_000 + 0.9 * values[t - 1] + 2_000 * e());
  const { intercept, coefficients } = fitLinear(makeWindows({ dates: days(3000), values }, 1));
  assert.ok(Math.abs(coefficients[0] - 0.9) < 0.01, `c1 ${coefficients[0]}`);
  assert.ok(Math.abs(intercept - 20_000) < 2_000, `intercept ${intercept}`);
});

test("a linear model predicts with its coefficients and survives a JSON round trip", () => {
  const rows = makeWindows({ dates: days(30), values: exactAr2(30) }, 2);
  const model = fitModel("linear", rows, { attribute: "x" });
  assert.equal(model.kind, "linear");
  assert.deepEqual(model.trainedOn, { rows: 28, from: "2021-01-03", to: "2021-01-30" });
  const loaded = modelFromJson(JSON.parse(JSON.stringify(model)), "m.json");
  assert.ok(Math.abs(predictorOf(loaded)([20, 100]) - (10 + 1.2 * 20 - 0.5 * 100)) < 1e-6);
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
  const model = fitModel("linear", makeWindows({ dates: days(30), values: exactAr2(30) }, 2), { attribute: "x" });
  assert.throws(() => predictorOf(model)([1]), { message: "the model needs 2 lags, got 1" });
});

test("loading a bad model file names the file and the problem", () => {
  const base = { attribute: "x", window: 2, trainedOn: { rows: 1, from: "", to: "" } };
  assert.throws(() => modelFromJson(null, "m.json"), { message: '"m.json" is not a saved model: not a JSON object' });
  assert.throws(() => modelFromJson({ ...base, kind: "gbr" }, "m.json"), { message: '"m.json" is not a saved model: kind "gbr" is not one of linear, forest' });
  assert.throws(() => modelFromJson({ ...base, kind: "linear", intercept: 1, coefficients: [1] }, "m.json"), { message: /needs an intercept and 2 coefficients/ });
  assert.throws(() => fitModel("gbr" as "linear", [], { attribute: "x" }), { message: /unknown model "gbr"/ });
});
