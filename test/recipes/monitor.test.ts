import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backtest } from "../../recipes/backtest.ts";
import type { Forecast } from "../../recipes/forecast.ts";
import type { LinearModel } from "../../recipes/model.ts";
import { DEFAULT_RULES, inputDrift, monitor, outputDrift, qualitySinceTraining, recentChanges, recommendRetrain, standardizedMeanShift } from "../../recipes/monitor.ts";
import { type Series, addDays } from "../../recipes/table.ts";

const WEEKLY = [5, -5, 3, -3, 0, 2, -2]; // a weekday reporting pattern that sums to 0

/** 50 days rising by about 100 a day; the last `shiftDays` changes get `shift` added. */
function series(shift = 0, shiftDays = 7): Series {
  const dates = Array.from({ length: 50 }, (_, i) => addDays("2022-01-01", i));
  const values = [10_000];
  for (let i = 1; i < 50; i++) values.push(values[i - 1] + 100 + WEEKLY[i % 7] + (i >= 50 - shiftDays ? shift : 0));
  return { dates, values };
}

test("the standardised mean shift is |mean difference| / sd of the reference", () => {
  assert.equal(standardizedMeanShift([1, 2, 3, 4, 5], [6, 6]), 3 / Math.sqrt(2.5));
  assert.equal(standardizedMeanShift([7, 7, 7], [7]), 0);
  assert.ok(standardizedMeanShift([7, 7, 7], [8]) > 1e6, "a constant reference makes any change a drift");
  assert.throws(() => standardizedMeanShift([1], [1]), { message: /at least 2 reference values/ });
});

test("a stable series shows no input drift", () => {
  const d = inputDrift(series());
  assert.equal(d.drifted, false);
  assert.equal(d.statistic, 0);
  assert.deepEqual([d.reference.from, d.reference.to, d.recent.from, d.recent.to], ["2022-01-16", "2022-02-12", "2022-02-13", "2022-02-19"]);
  assert.equal(d.recent.mean, 100);
});

test("a series whose daily change jumps in the last week shows input drift", () => {
  const d = inputDrift(series(50));
  assert.equal(d.drifted, true);
  assert.ok(Math.abs(d.recent.mean - 150) < 1e-9);
  assert.ok(Math.abs(d.statistic - 50 / d.reference.sd) < 1e-9);
  assert.equal(inputDrift(series(1)).drifted, false, "a shift well inside the noise is not drift");
});

test("monitoring needs enough consecutive observed days", () => {
  const short = { dates: series().dates.slice(0, 30), values: series().values.slice(0, 30) };
  assert.throws(() => recentChanges(short, DEFAULT_RULES), { message: "monitoring needs 36 consecutive observed days (the last 7 plus 28 of reference plus 1)" });
});

test("output drift compares the mean daily steps of two forecasts", () => {
  const d = outputDrift({ start: 100, values: [110, 120] }, { start: 50, values: [52, 54] }, 4);
  assert.deepEqual(d, { statistic: 2, threshold: 1, drifted: true, currentMeanStep: 10, previousMeanStep: 2 });
  assert.equal(outputDrift({ start: 0, values: [10, 20] }, { start: 5, values: [14, 25] }, 4).drifted, false);
});

test("the retrain verdict lists a plain reason for every failed check", () => {
  const ok = {
    inputDrift: { statistic: 0.2, threshold: 1, drifted: false, recent: { from: "", to: "", mean: 1 }, reference: { from: "", to: "", mean: 1, sd: 1 } },
    outputDrift: { statistic: 0.1, threshold: 1, drifted: false, currentMeanStep: 1, previousMeanStep: 1 },
    quality: { trainedUntil: "2024-02-19", days: 4, mae: 1, naiveMae: 2, errorRatio: 0.5, relativeMae: 0.01, ok: true },
  };
  assert.deepEqual(recommendRetrain(ok, DEFAULT_RULES, 7), { retrain: false, reasons: [] });
  const bad = recommendRetrain({ ...ok, quality: { ...ok.quality, mae: 3, errorRatio: 1.5, ok: false } }, DEFAULT_RULES, 7);
  assert.equal(bad.retrain, true);
  assert.deepEqual(bad.reasons, [
    "quality: on the 4 day(s) since the model's training data ends (2024-02-19), its mean absolute error (3.00) is worse than repeating the last value it saw (2.00) (1.50 times its error; the limit is 1)",
  ]);
});

/** A linear model of window 1 that predicts "+step a day", trained up to `to`. */
function plusModel(step: number, to: string): LinearModel {
  return { kind: "linear", attribute: "x", window: 1, trainedOn: { rows: 30, from: "2022-01-01", to }, intercept: step, coefficients: [] };
}

// Regression: MAPE was 175% on total_positive_change and 152% on the ICU change, so a signed
// series near zero asked for a retrain every day. The ratio to the naive error does not.
test("quality on a signed series near zero is judged against the naive error, not in percent", () => {
  const dates = Array.from({ length: 20 }, (_, i) => addDays("2022-03-01", i));
  const values = dates.map((_, i) => (i % 2 === 0 ? 3 : -2) + (i >= 13 ? -0.5 * (i - 12) : 0));
  const q = qualitySinceTraining({ dates, values }, plusModel(-0.5, dates[12]), 7);
  assert.equal(q.trainedUntil, "2022-03-13");
  assert.equal(q.days, 7);
  assert.ok(q.errorRatio !== null && q.errorRatio < 1, `ratio ${q.errorRatio}`);
  assert.equal(q.ok, true, "a percentage error would be far above 100% here");
});

test("quality fails when the model does worse on the new days than repeating its last value", () => {
  const dates = Array.from({ length: 20 }, (_, i) => addDays("2022-03-01", i));
  const values = dates.map(() => 1000);
  const q = qualitySinceTraining({ dates, values }, plusModel(50, dates[15]), 7);
  assert.equal(q.days, 4);
  assert.equal(q.naiveMae, 0);
  assert.equal(q.errorRatio, null);
  assert.equal(q.ok, false);
  const few = qualitySinceTraining({ dates, values }, plusModel(50, dates[17]), 7);
  assert.equal(few.days, 2);
  assert.equal(few.ok, true, "2 new days are too few to judge");
  assert.deepEqual(qualitySinceTraining({ dates, values }, plusModel(50, dates[19]), 7), { trainedUntil: dates[19], days: 0, mae: null, naiveMae: null, errorRatio: null, relativeMae: null, ok: true });
});

/** A forecast and a one-origin backtest that both continue "+100 a day" from the series' end, and the model behind them. */
function outputs(s: Series, step: number): { forecast: Forecast; backtest: Backtest; model: LinearModel } {
  const n = s.values.length;
  const last = s.values[n - 1] as number;
  const cut = s.values[n - 8] as number;
  const forecast: Forecast = {
    attribute: "x", window: 1, model: "linear", lowerBound: 0,
    lastObserved: { date: s.dates[n - 1], value: last },
    points: Array.from({ length: 7 }, (_, i) => ({ date: addDays(s.dates[n - 1], i + 1), value: last + step * (i + 1), lags: [] })),
  };
  const points = Array.from({ length: 7 }, (_, i) => ({ date: s.dates[n - 7 + i], actual: s.values[n - 7 + i] as number, predicted: cut + 100 * (i + 1), naive: cut, seasonal: cut }));
  const origin = { trainedUntil: s.dates[n - 8], points, mae: 3, naiveMae: 400, seasonalMae: 380 };
  const backtest: Backtest = {
    attribute: "x", window: 1, model: "linear", horizon: 7, origins: [origin],
    mae: 3, naiveMae: 400, seasonalMae: 380, relativeMae: 0.001, beatsNaive: true, beatsSeasonal: true,
  };
  return { forecast, backtest, model: plusModel(100, s.dates[n - 8]) };
}

test("monitor: stable data and forecasts recommend no retrain", () => {
  const s = series();
  const report = monitor({ series: s, ...outputs(s, 100) });
  assert.equal(report.retrain, false);
  assert.deepEqual(report.reasons, []);
  assert.equal(report.asOf, "2022-02-19");
});

test("monitor: drifting inputs and outputs recommend a retrain, with reasons", () => {
  const s = series(300);
  const report = monitor({ series: s, ...outputs(s, 400) });
  assert.equal(report.retrain, true);
  assert.equal(report.inputDrift.drifted, true);
  assert.equal(report.outputDrift.drifted, true);
  assert.match(report.reasons[0], /^input drift: over the last 7 days the series changed by 400 per day on average, against 100 in the 28 days before/);
  assert.match(report.reasons[1], /^output drift: the forecast's average daily change is 400, against 100 in the forecast made 7 days earlier/);
});
