import { test } from "node:test";
import assert from "node:assert/strict";
import { formatWindowsCsv, lagColumns, makeWindows, mondayOnOrBefore, parseWindowsCsv, trainingCutoff } from "../../recipes/window.ts";
import { addDays } from "../../recipes/table.ts";

const days = (n: number, from = "2021-03-01") => Array.from({ length: n }, (_, i) => addDays(from, i));

test("each row holds v_t and the w values before it, newest first", () => {
  const rows = makeWindows({ dates: days(5), values: [1, 2, 3, 4, 5] }, 2);
  assert.deepEqual(rows, [
    { date: "2021-03-03", target: 3, lags: [2, 1] },
    { date: "2021-03-04", target: 4, lags: [3, 2] },
    { date: "2021-03-05", target: 5, lags: [4, 3] },
  ]);
});

test("rows touching a null or NaN are dropped", () => {
  const rows = makeWindows({ dates: days(6), values: [1, 2, null, 4, 5, Number.NaN] }, 1);
  assert.deepEqual(rows.map((r) => r.date), ["2021-03-02", "2021-03-05"]);
});

test("lags follow the calendar: a missing day drops the rows that need it", () => {
  const dates = ["2021-03-01", "2021-03-02", "2021-03-04", "2021-03-05", "2021-03-06"];
  const rows = makeWindows({ dates, values: [1, 2, 4, 5, 6] }, 2);
  assert.deepEqual(rows.map((r) => [r.date, ...r.lags]), [["2021-03-06", 5, 4]]);
});

test("windows cross month and year ends", () => {
  const rows = makeWindows({ dates: days(3, "2020-12-31"), values: [7, 8, 9] }, 2);
  assert.deepEqual(rows, [{ date: "2021-01-02", target: 9, lags: [8, 7] }]);
});

test("the window size must be a positive whole number", () => {
  assert.throws(() => makeWindows({ dates: [], values: [] }, 0), { message: "window must be a whole number of days >= 1, got 0" });
  assert.throws(() => makeWindows({ dates: [], values: [] }, 1.5), { message: /got 1.5/ });
});

test("the CSV uses the lecture's column names and reads back", () => {
  const w = { attribute: "total_positive", window: 2, rows: makeWindows({ dates: days(4), values: [1.5, 2, 3, 4] }, 2) };
  const text = formatWindowsCsv(w);
  assert.equal(text.split("\n")[0], "date,total_positive,v_t-1,v_t-2");
  assert.equal(text.split("\n")[1], "2021-03-03,3,2,1.5");
  assert.deepEqual(parseWindowsCsv(text, "w.csv"), w);
  assert.deepEqual(lagColumns(3), ["v_t-1", "v_t-2", "v_t-3"]);
});

test("a malformed window CSV is named", () => {
  assert.throws(() => parseWindowsCsv("a,b\n1,2\n", "w.csv"), { message: /"w.csv" is not a window table/ });
  assert.throws(() => parseWindowsCsv("date,x,v_t-1\n2021-01-01,1,zz\n", "w.csv"), { message: '"w.csv" line 2: expected 2 numbers after the date' });
});

test("the weekly training cutoff is the Monday on or before the last observed day", () => {
  // 2024-02-19 is a Monday.
  assert.deepEqual(["2024-02-19", "2024-02-20", "2024-02-25", "2024-02-26"].map(mondayOnOrBefore), ["2024-02-19", "2024-02-19", "2024-02-19", "2024-02-26"]);
  const series = { dates: days(5, "2024-02-20"), values: [1, 2, 3, null, null] }; // last value on Thursday 2024-02-22
  assert.equal(trainingCutoff(series, "weekly"), "2024-02-19");
  assert.equal(trainingCutoff(series, "daily"), "2024-02-22");
  assert.equal(trainingCutoff({ dates: [], values: [] }, "weekly"), undefined);
});
