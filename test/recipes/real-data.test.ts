// Checks against the real Protezione Civile file, read in place from ../shared/data (never
// copied into the repo). Skipped when that file is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseDataset, sha256Hex } from "../../recipes/dataset.ts";
import { forecastSeries } from "../../recipes/forecast.ts";
import { fitLinear, predictorOf } from "../../recipes/model.ts";
import { preprocess } from "../../recipes/preprocess.ts";
import { seriesOf } from "../../recipes/table.ts";
import { makeWindows } from "../../recipes/window.ts";
import { REAL } from "../helpers/data-files.ts";


/** The snapshot documented in shared/data/README.md (commit fc82987, 2025-01-10). */
const SNAPSHOT_SHA256 = "30f6a1bd3aa3d99d9072af0e9be8ab23c7cab78e09651e1017b37ae0b97a050b";

/**
 * Independent least squares: centre the columns, form the normal equations XᵀX b = Xᵀy and
 * solve them by Gaussian elimination with partial pivoting; intercept = ȳ - b·x̄.
 */
function referenceLeastSquares(X: number[][], y: number[]): { intercept: number; coefficients: number[] } {
  const n = X.length;
  const p = X[0].length;
  const mx = Array.from({ length: p }, (_, j) => X.reduce((a, r) => a + r[j], 0) / n);
  const my = y.reduce((a, v) => a + v, 0) / n;
  const A = Array.from({ length: p }, (_, i) => Array.from({ length: p + 1 }, (_, j) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += (X[k][i] - mx[i]) * (j < p ? X[k][j] - mx[j] : y[k] - my);
    return s;
  }));
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(A[r][col]) > Math.abs(A[pivot][col])) pivot = r;
    [A[col], A[pivot]] = [A[pivot], A[col]];
    for (let r = col + 1; r < p; r++) {
      const f = A[r][col] / A[col][col];
      for (let c = col; c <= p; c++) A[r][c] -= f * A[col][c];
    }
  }
  const b = new Array<number>(p).fill(0);
  for (let r = p - 1; r >= 0; r--) {
    let s = A[r][p];
    for (let c = r + 1; c < p; c++) s -= A[r][c] * b[c];
    b[r] = s / A[r][r];
  }
  return { intercept: my - b.reduce((a, c, j) => a + c * mx[j], 0), coefficients: b };
}

function loadReal(version: string) {
  const bytes = readFileSync(REAL);
  const { table, meta } = parseDataset(bytes.toString("utf8"), { source: REAL, version });
  return { table, meta, sha256: sha256Hex(bytes) };
}

test("real data: the linear model of total_positive's changes matches an independent least-squares solve", (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is absent`);
    return;
  }
  const { table } = loadReal("2100-01-01");
  const rows = makeWindows(seriesOf(preprocess(table), "total_positive"), 7);
  assert.equal(rows.length, table.rows.length - 7);
  const fit = fitLinear(rows);
  const features = rows.map((r) => r.lags.slice(0, -1).map((v, k) => v - r.lags[k + 1]));
  const changes = rows.map((r) => r.target - r.lags[0]);
  const ref = referenceLeastSquares(features, changes);
  assert.equal(fit.coefficients.length, 6);
  fit.coefficients.forEach((c, j) => assert.ok(Math.abs(c - ref.coefficients[j]) < 1e-6, `coefficient ${j + 1}: ${c} vs ${ref.coefficients[j]}`));
  assert.ok(Math.abs(fit.intercept - ref.intercept) < 1e-3 * Math.max(1, Math.abs(ref.intercept)), `intercept ${fit.intercept} vs ${ref.intercept}`);
  // The fitted changes agree too (what the forecast actually uses).
  const maxGap = Math.max(...features.map((x) => Math.abs(fit.coefficients.reduce((a, c, j) => a + c * x[j], fit.intercept) - ref.coefficients.reduce((a, c, j) => a + c * x[j], ref.intercept))));
  assert.ok(maxGap < 1e-3, `fitted values differ by up to ${maxGap}`);
});

// Regression: daily_positivity_molecular was 185.48 on 2023-08-04 and 1.858 on
// 2024-09-25; tamponi's one-day dip on 2024-11-05 made daily_performed_tests +27,396,886 the
// day after and that day's positivity 0.00002.
test("real data: daily shares stay in [0, 1] and the one-day dip of tamponi leaves two empty days", (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is absent`);
    return;
  }
  const out = preprocess(loadReal("2100-01-01").table);
  for (const c of ["daily_positivity", "daily_positivity_molecular", "daily_positivity_antigenic"]) {
    const bad = out.rows.filter((r) => typeof r[c] === "number" && ((r[c] as number) < 0 || (r[c] as number) > 1));
    assert.deepEqual(bad.map((r) => r.date), [], c);
  }
  const day = (d: string) => out.rows.find((r) => r.date === d)!;
  assert.equal(day("2023-08-04").daily_positivity_molecular, null);
  assert.equal(day("2024-09-25").daily_positivity_molecular, null);
  for (const d of ["2024-11-05", "2024-11-06"]) {
    assert.equal(day(d).daily_performed_tests, null, d);
    assert.equal(day(d).daily_positivity, null, d);
  }
  assert.equal(typeof day("2024-11-07").daily_performed_tests, "number");
});

test("real data: the forecast starts the day after 2025-01-08, from that day's value", (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is absent`);
    return;
  }
  const { table, meta } = loadReal("2100-01-01");
  assert.equal(meta.lastDate, "2025-01-08");
  const series = seriesOf(preprocess(table), "total_positive");
  const fit = fitLinear(makeWindows(series, 7));
  const predict = predictorOf({ kind: "linear", attribute: "total_positive", window: 7, trainedOn: { rows: 0, from: "", to: "" }, ...fit });
  const { lastObserved, points } = forecastSeries(series, predict, { window: 7, days: 7 });
  assert.deepEqual(lastObserved, { date: "2025-01-08", value: table.rows[table.rows.length - 1].total_positive });
  assert.deepEqual(points.map((p) => p.date), ["2025-01-09", "2025-01-10", "2025-01-11", "2025-01-12", "2025-01-13", "2025-01-14", "2025-01-15"]);
  assert.equal(points[0].lags[0], lastObserved.value);
});

test("real data: an earlier version cuts the rows, and the forecast follows the cut", (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is absent`);
    return;
  }
  const { table, meta } = loadReal("2021-06-30");
  assert.equal(meta.lastDate, "2021-06-30");
  const series = seriesOf(preprocess(table), "total_positive");
  const { points } = forecastSeries(series, (l) => l[0], { window: 7, days: 1 });
  assert.equal(points[0].date, "2021-07-01");
});

test("real data: the documented snapshot parses with exactly its documented revisions", (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is absent`);
    return;
  }
  const { meta, sha256 } = loadReal("2100-01-01");
  assert.equal(meta.firstDate, "2020-02-24");
  assert.deepEqual(meta.gaps, []);
  if (sha256 !== SNAPSHOT_SHA256) {
    t.diagnostic(`the file is not the documented snapshot (sha256 ${sha256}); revision counts not checked`);
    return;
  }
  assert.equal(meta.rows, 1781);
  const count = (c: string) => meta.revisions.filter((r) => r.column === c).length;
  // shared/data/README.md: deceduti 3, dimessi_guariti 3, tamponi 2, casi_testati 7,
  // totale_positivi_test_molecolare 9, totale_positivi_test_antigenico_rapido 6.
  assert.deepEqual(
    ["death", "recovered", "performed_tests", "total_people_tested", "total_positives_molecular_test", "total_positives_antigenic_test_rapid"].map(count),
    [3, 3, 2, 7, 9, 6],
  );
});
