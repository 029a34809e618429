import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backtest } from "../../recipes/backtest.ts";
import type { Forecast } from "../../recipes/forecast.ts";
import { DEFAULT_RULES, inputDrift, monitor, outputDrift, recentChanges, recommendRetrain, standardizedMeanShift } from "../../recipes/monitor.ts";
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
    quality: { mae: 1, naiveMae: 2, mape: 3, ok: true },
  };
  assert.deepEqual(recommendRetrain(ok, DEFAULT_RULES, 7), { retrain: false, reasons: [] });
  const bad = recommendRetrain({ ...ok, quality: { mae: 3, naiveMae: 2, mape: 12.5, ok: false } }, DEFAULT_RULES, 7);
  assert.equal(bad.retrain, true);
  assert.deepEqual(bad.reasons, [
    "quality: on the last 7 days the model's mean absolute error (3.00) is no better than repeating the last value (2.00)",
    "quality: on the last 7 days the mean absolute percentage error is 12.5%, above the 10% limit",
  ]);
});

/** A forecast and a backtest that both continue "+100 a day" from the series' end. */
function outputs(s: Series, step: number): { forecast: Forecast; backtest: Backtest } {
  const n = s.values.length;
  const last = s.values[n - 1] as number;
  const cut = s.values[n - 8] as number;
  const forecast: Forecast = {
    attribute: "x", window: 7, model: "linear",
    lastObserved: { date: s.dates[n - 1], value: last },
    points: Array.from({ length: 7 }, (_, i) => ({ date: addDays(s.dates[n - 1], i + 1), value: last + step * (i + 1), lags: [] })),
  };
  const points = Array.from({ length: 7 }, (_, i) => ({ date: s.dates[n - 7 + i], actual: s.values[n - 7 + i] as number, predicted: cut + 100 * (i + 1), naive: cut }));
  const backtest: Backtest = {
    attribute: "x", window: 7, model: "linear", horizon: 7, trainedUntil: s.dates[n - 8], points,
    mae: 3, mape: 0.05, naiveMae: 400, naiveMape: 3, beatsNaive: true,
  };
  return { forecast, backtest };
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
