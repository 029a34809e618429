import { test } from "node:test";
import assert from "node:assert/strict";
import { ATTRIBUTES, DERIVED_COLUMNS, asAttribute, dailyRatio, diff, preprocess, ratio } from "../../recipes/preprocess.ts";
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
  assert.deepEqual(col("daily_intensive_care"), [null, 2, -1, 0]);
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
