import { test } from "node:test";
import assert from "node:assert/strict";
import { backtest, meanAbsoluteError, meanAbsolutePercentageError } from "../../recipes/backtest.ts";
import { addDays } from "../../recipes/table.ts";
import type { WindowRow } from "../../recipes/window.ts";

const days = (n: number) => Array.from({ length: n }, (_, i) => addDays("2022-05-01", i));

test("MAE and MAPE on a hand-computed example", () => {
  assert.equal(meanAbsoluteError([50, 60], [45, 50]), 7.5);
  // (5/50 + 10/60) / 2 = 0.1333...
  assert.ok(Math.abs((meanAbsolutePercentageError([50, 60], [45, 50]) as number) - 13.333333333333334) < 1e-12);
  assert.equal(meanAbsolutePercentageError([0, 10], [5, 5]), 50); // the zero actual is skipped
  assert.equal(meanAbsolutePercentageError([0, 0], [1, 2]), null);
  assert.throws(() => meanAbsoluteError([1], []), { message: /need as many predictions as actuals/ });
});

test("backtest holds out the last h days, trains on the rest, and compares with the naive baseline", () => {
  // 10, 20, ..., 60; h = 2 -> train on 10..40, forecast 2 days with "+5 a day".
  const series = { dates: days(6), values: [10, 20, 30, 40, 50, 60] };
  let trainedOn: readonly WindowRow[] = [];
  const result = backtest(series, {
    window: 1,
    days: 2,
    fit: (rows) => {
      trainedOn = rows;
      return (lags) => lags[0] + 5;
    },
  });
  assert.equal(result.trainedUntil, "2022-05-04");
  assert.ok(trainedOn.every((r) => r.date <= "2022-05-04"), "no held-out day leaks into training");
  assert.equal(trainedOn.length, 3);
  assert.deepEqual(result.points, [
    { date: "2022-05-05", actual: 50, predicted: 45, naive: 40 },
    { date: "2022-05-06", actual: 60, predicted: 50, naive: 40 },
  ]);
  assert.equal(result.mae, 7.5);
  assert.equal(result.naiveMae, 15);
  assert.ok(Math.abs((result.mape as number) - 13.333333333333334) < 1e-12);
  assert.ok(Math.abs((result.naiveMape as number) - 26.666666666666668) < 1e-12);
  assert.equal(result.beatsNaive, true);
  assert.equal(result.horizon, 2);
});

test("a model no better than the naive baseline is reported as such", () => {
  const series = { dates: days(6), values: [10, 10, 10, 10, 10, 10] };
  const result = backtest(series, { window: 1, days: 3, fit: () => (lags) => lags[0] + 1 });
  assert.deepEqual(result.points.map((p) => p.predicted), [11, 12, 13]);
  assert.equal(result.mae, 2);
  assert.equal(result.naiveMae, 0);
  assert.equal(result.beatsNaive, false);
});

test("backtest needs an actual value on every held-out day", () => {
  const series = { dates: [...days(4), addDays("2022-05-01", 5)], values: [1, 2, 3, 4, 6] };
  assert.throws(() => backtest(series, { window: 1, days: 2, fit: () => (l) => l[0] }), { message: "cannot backtest: no actual value on 2022-05-05" });
});
