import { test } from "node:test";
import assert from "node:assert/strict";
import { backtest, meanAbsoluteError, relativeError, seasonalSource } from "../../recipes/backtest.ts";
import { addDays } from "../../recipes/table.ts";
import type { WindowRow } from "../../recipes/window.ts";

const days = (n: number) => Array.from({ length: n }, (_, i) => addDays("2022-05-01", i));

test("MAE and the relative MAE on a hand-computed example", () => {
  assert.equal(meanAbsoluteError([50, 60], [45, 50]), 7.5);
  assert.equal(relativeError(7.5, [50, -60]), 7.5 / 55, "scaled by the mean absolute actual, so signed series work");
  assert.equal(relativeError(1, [0, 0]), null);
  assert.throws(() => meanAbsoluteError([1], []), { message: /need as many predictions as actuals/ });
});

test("the seasonal naive baseline repeats the same weekday of the last observed week", () => {
  // origin 2022-05-10: day +1 and day +8 both repeat 2022-05-04 (6 days before the origin)
  assert.equal(seasonalSource("2022-05-10", "2022-05-11"), "2022-05-04");
  assert.equal(seasonalSource("2022-05-10", "2022-05-17"), "2022-05-10");
  assert.equal(seasonalSource("2022-05-10", "2022-05-18"), "2022-05-04");
});

test("a rolling backtest refits at every weekly origin on the data before it only", () => {
  // 60 days of 10, 20, 30, ... up to 2022-06-29; h = 3, 4 origins: the newest 3 days before the end, then weekly.
  const series = { dates: days(60), values: days(60).map((_, i) => 10 * (i + 1)) };
  const seen: string[] = [];
  const result = backtest(series, {
    window: 2,
    days: 3,
    origins: 4,
    fit: (rows: readonly WindowRow[]) => {
      seen.push(rows[rows.length - 1].date);
      return (lags) => lags[0] + 10;
    },
  });
  const origins = result.origins.map((o) => o.trainedUntil);
  assert.deepEqual(origins, ["2022-06-05", "2022-06-12", "2022-06-19", "2022-06-26"]);
  assert.deepEqual(seen, origins, "each fit sees the data up to its origin and nothing after it");
  const newest = result.origins[3];
  assert.deepEqual(newest.points.map((p) => p.date), ["2022-06-27", "2022-06-28", "2022-06-29"]);
  assert.deepEqual(newest.points[0], { date: "2022-06-27", actual: 580, predicted: 580, naive: 570, seasonal: 510 });
  assert.equal(result.mae, 0);
  assert.equal(result.naiveMae, 20); // errors 10, 20, 30 at every origin
  assert.equal(result.seasonalMae, 70); // a week behind a +10/day line is always 70 off
  assert.equal(result.beatsNaive, true);
  assert.equal(result.beatsSeasonal, true);
  assert.equal(result.horizon, 3);
});

test("the verdict follows the mean over the origins, not the newest origin", () => {
  // Flat at 100 except one jump in the newest week: "+1 a day" wins that week only.
  const values = days(70).map((_, i) => (i >= 64 ? 100 + (i - 63) : 100));
  const result = backtest({ dates: days(70), values }, { window: 1, days: 3, origins: 8, fit: () => (lags) => lags[0] + 1 });
  assert.equal(result.origins.length, 8);
  const newest = result.origins[7];
  assert.ok(newest.mae < newest.naiveMae, "the model wins the newest week");
  assert.ok(result.mae > result.naiveMae, "but loses on average");
  assert.equal(result.beatsNaive, false);
});

test("origins that leave too little training data are skipped; none at all is an error", () => {
  const series = { dates: days(20), values: days(20).map((_, i) => i) };
  const r = backtest(series, { window: 2, days: 3, origins: 8, fit: () => (l) => l[0] });
  assert.deepEqual(r.origins.map((o) => o.trainedUntil), ["2022-05-10", "2022-05-17"]);
  assert.throws(() => backtest({ dates: days(8), values: days(8).map(() => 1) }, { window: 2, days: 3, fit: () => (l) => l[0] }), { message: /cannot backtest: the series is too short/ });
});

test("backtest needs an actual value on every held-out day", () => {
  const dates = [...days(20), addDays("2022-05-01", 21)];
  const series = { dates, values: dates.map((_, i) => i) };
  assert.throws(() => backtest(series, { window: 1, days: 2, origins: 1, fit: () => (l) => l[0] }), { message: "cannot backtest: no actual value on 2022-05-21" });
});
