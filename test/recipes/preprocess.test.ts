import { test } from "node:test";
import assert from "node:assert/strict";
import { ATTRIBUTES, DERIVED_COLUMNS, asAttribute, dailyChange, dailyRatio, diff, preprocess, ratio } from "../../recipes/preprocess.ts";
import type { Table } from "../../recipes/table.ts";

test("diff is the day-on-day change, null at the start and next to gaps", () => {
  assert.deepEqual(diff([1, 4, 9, null, 20, 18]), [null, 3, 5, null, null, -2]);
  assert.deepEqual(diff([]), []);
});

test("ratio guards missing, zero and negative denominators", () => {
  assert.equal(ratio(1, 4), 0.25);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(1, -3), null);
  assert.equal(ratio(null, 4), null);
  assert.equal(ratio(2, null), null);
});

test("daily ratio divides daily increases and drops revision days", () => {
  // positives: +10, +5, -3 (revision), +0 ; swabs: +100, +0, +50, +40
  const positives = [100, 110, 115, 112, 112];
  const swabs = [1000, 1100, 1100, 1150, 1190];
  assert.deepEqual(dailyRatio(positives, swabs), [null, 0.1, null, null, 0]);
});

// Regression: the real file has daily_positivity_molecular 185.48 on 2023-08-04 and
// 1.858 on 2024-09-25.
test("a daily share outside [0, 1] is null", () => {
  // positives: +10, +300 (more than the day's 100 tests), +0 ; swabs: +100, +100, +100
  assert.deepEqual(dailyRatio([0, 10, 310, 310], [0, 100, 200, 300]), [null, 0.1, null, 0]);
});

// Regression: the real tamponi drops 27.4M on 2024-11-05 and comes back on 2024-11-06, which
// made daily_performed_tests +27,396,886 and the day's positivity 0.00002.
test("a one-day dip in a cumulative column restored the next day leaves both days' changes empty", () => {
  assert.deepEqual(dailyChange([100, 110, 20, 125, 130]), [null, 10, null, null, 5]);
  assert.deepEqual(dailyChange([100, 110, 105, 108]), [null, 10, -5, 3], "a drop not restored the next day is a revision, kept");
  assert.deepEqual(dailyRatio([0, 10, 20, 30, 40], [0, 100, 5, 300, 400]), [null, 0.1, null, null, 0.1]);
});

test("the ICU column is called a change of occupancy, not admissions", () => {
  assert.ok(ATTRIBUTES.includes("intensive_care_change"));
  assert.ok(!(ATTRIBUTES as readonly string[]).includes("daily_intensive_care"));
});

/** A 4-day table with the columns preprocess reads; test-kind columns start on day 3. */
function smallTable(): Table {
  const rows = [
    { date: "2021-01-13", death: 10, intensive_care: 5, performed_tests: 1000, recovered: 50, total_cases: 100, total_positives_molecular_test: null, total_positives_antigenic_test_rapid: null, swabs_test_molecular: null, swabs_test_antigenic_rapid: null },
    { date: "2021-01-14", death: 12, intensive_care: 7, performed_tests: 1200, recovered: 55, total_cases: 120, total_positives_molecular_test: null, total_positives_antigenic_test_rapid: null, swabs_test_molecular: null, swabs_test_antigenic_rapid: null },
    { date: "2021-01-15", death: 15, intensive_care: 6, performed_tests: 1300, recovered: 61, total_cases: 130, total_positives_molecular_test: 125, total_positives_antigenic_test_rapid: 5, swabs_test_molecular: 1250, swabs_test_antigenic_rapid: 50 },
    { date: "2021-01-16", death: 15, intensive_care: 6, performed_tests: 1500, recovered: 70, total_cases: 160, total_positives_molecular_test: 145, total_positives_antigenic_test_rapid: 15, swabs_test_molecular: 1350, swabs_test_antigenic_rapid: 150 },
  ];
  return { columns: Object.keys(rows[0]), rows };
}

test("preprocess adds the lecture's columns and daily positivity", () => {
  const out = preprocess(smallTable());
  assert.deepEqual(out.columns.slice(-DERIVED_COLUMNS.length), [...DERIVED_COLUMNS]);
  const col = (c: string) => out.rows.map((r) => r[c]);
  assert.deepEqual(col("daily_death"), [null, 2, 3, 0]);
  assert.deepEqual(col("intensive_care_change"), [null, 2, -1, 0]);
  assert.deepEqual(col("daily_performed_tests"), [null, 200, 100, 200]);
  assert.deepEqual(col("daily_recovered"), [null, 5, 6, 9]);
  assert.deepEqual(col("ratio_molecular"), [null, null, 0.1, 145 / 1350]);
  assert.deepEqual(col("ratio_antigenic"), [null, null, 0.1, 0.1]);
  assert.deepEqual(col("daily_positivity"), [null, 0.1, 0.1, 0.15]);
  assert.deepEqual(col("daily_positivity_molecular"), [null, null, null, 0.2]);
  assert.deepEqual(col("daily_positivity_antigenic"), [null, null, null, 0.1]);
});

test("preprocess leaves its input rows untouched", () => {
  const input = smallTable();
  preprocess(input);
  assert.ok(!("daily_death" in input.rows[0]));
});

test("preprocess names a missing column", () => {
  assert.throws(() => preprocess({ columns: ["date"], rows: [{ date: "2021-01-01" }] }), { message: /^column "\w+" is missing from the dataset table; found: date$/ });
});

test("asAttribute accepts known attributes and suggests close names", () => {
  assert.equal(asAttribute("recovered"), "recovered");
  assert.ok(ATTRIBUTES.includes("ratio_molecular"));
  assert.throws(() => asAttribute("positive"), { message: /unknown attribute "positive"; did you mean "total_positive" or/ });
  assert.throws(() => asAttribute("xyz"), { message: /expected one of hospitalized_with_symptoms,/ });
});
