import { test } from "node:test";
import assert from "node:assert/strict";
import { forecastSeries, seedLags } from "../../recipes/forecast.ts";
import { fitModel, predictorOf } from "../../recipes/model.ts";
import { addDays } from "../../recipes/table.ts";
import { makeWindows } from "../../recipes/window.ts";

const days = (n: number, from = "2021-01-01") => Array.from({ length: n }, (_, i) => addDays(from, i));

// Regression test for the Luigi original's off-by-one: its seed window ended the day BEFORE
// the last observation, yet its first forecast was labelled the day after it.
test("the forecast starts the day after the last observed day and its first step uses that day's value", () => {
  const series = { dates: days(10), values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 1000] };
  const seen: number[][] = [];
  const { lastObserved, points } = forecastSeries(series, (lags) => (seen.push([...lags]), lags[0] + 1), { window: 3, days: 3 });
  assert.deepEqual(lastObserved, { date: "2021-01-10", value: 1000 });
  assert.equal(points[0].date, "2021-01-11");
  assert.deepEqual(seen[0], [1000, 9, 8]);
  assert.deepEqual(points.map((p) => [p.date, p.value]), [["2021-01-11", 1001], ["2021-01-12", 1002], ["2021-01-13", 1003]]);
});

test("later steps feed the previous predictions back as lags", () => {
  const { points } = forecastSeries({ dates: days(3), values: [1, 2, 3] }, (lags) => lags[0] + lags[1], { window: 2, days: 4 });
  assert.deepEqual(points.map((p) => p.value), [5, 8, 13, 21]);
  assert.deepEqual(points[2].lags, [8, 5]);
});

test("trailing empty days are not observations: the forecast follows the last value", () => {
  const series = { dates: days(6), values: [1, 2, 3, 4, null, null] };
  const seed = seedLags(series, 2);
  assert.deepEqual(seed, { lastDate: "2021-01-04", lags: [4, 3] });
  const { points } = forecastSeries(series, (l) => l[0], { window: 2, days: 1 });
  assert.equal(points[0].date, "2021-01-05");
});

test("a hole in the seed window is an error naming the day", () => {
  const series = { dates: ["2021-01-01", "2021-01-02", "2021-01-04"], values: [1, 2, 4] };
  assert.throws(() => seedLags(series, 2), { message: "cannot forecast: no value on 2021-01-03, which the 2-day window ending on the last observed day 2021-01-04 needs" });
  assert.throws(() => seedLags({ dates: days(2), values: [null, null] }, 1), { message: "cannot forecast: the series has no values" });
  assert.throws(() => forecastSeries({ dates: days(3), values: [1, 2, 3] }, (l) => l[0], { window: 1, days: 0 }), { message: "days must be a whole number >= 1, got 0" });
});

test("a fitted linear model continues an exact recurrence of the changes", () => {
  const d = [40, -20];
  while (d.length < 50) d.push(10 + 0.6 * d[d.length - 1] - 0.3 * d[d.length - 2]);
  const x: number[] = [];
  d.reduce((level, change) => (x.push(level + change), level + change), 1000);
  const series = { dates: days(40), values: x.slice(0, 40) };
  const model = fitModel("linear", makeWindows(series, 3), { attribute: "x" });
  const { points } = forecastSeries(series, predictorOf(model), { window: 3, days: 10 });
  points.forEach((p, i) => assert.ok(Math.abs(p.value - x[40 + i]) < 1e-6, `${p.date}: ${p.value} vs ${x[40 + i]}`));
  assert.equal(points[0].date, addDays("2021-01-01", 40));
});

// Regression: the forest forecast -955 .. -12,050 currently positive people 30 days ahead.
test("a series that was never negative is forecast no lower than 0, and the clamped value is the next lag", () => {
  const series = { dates: days(5), values: [500, 400, 300, 200, 100] };
  const seen: number[] = [];
  const { lowerBound, points } = forecastSeries(series, (lags) => (seen.push(lags[0]), lags[0] - 100), { window: 2, days: 4 });
  assert.equal(lowerBound, 0);
  assert.deepEqual(points.map((p) => p.value), [0, 0, 0, 0]);
  assert.deepEqual(seen, [100, 0, 0, 0]);
});

test("a series that can be negative (a change) is not clamped", () => {
  const series = { dates: days(5), values: [50, 20, -10, -40, -70] };
  const { lowerBound, points } = forecastSeries(series, (lags) => lags[0] - 30, { window: 2, days: 2 });
  assert.equal(lowerBound, null);
  assert.deepEqual(points.map((p) => p.value), [-100, -130]);
});
