import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backtest } from "../../recipes/backtest.ts";
import type { DatasetMeta } from "../../recipes/dataset.ts";
import type { Forecast } from "../../recipes/forecast.ts";
import type { MonitorReport } from "../../recipes/monitor.ts";
import { type ReportInput, escapeHtml, inlineSvg, renderReport } from "../../recipes/report.ts";

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><clipPath id="c"><rect/></clipPath></defs><g clip-path="url(#c)"><use href="#c"/></g></svg>';

test("escapeHtml escapes markup and quotes", () => {
  assert.equal(escapeHtml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
});

test("inlineSvg strips the prolog and keeps internal references", () => {
  assert.equal(inlineSvg(`<?xml version="1.0"?>\n${SVG}`, "p"), SVG);
});

test("inlineSvg refuses scripts, handlers and external references", () => {
  const cases = [
    '<svg><script>alert(1)</script></svg>',
    '<svg onload="alert(1)"></svg>',
    '<svg><image href="plot.png"/></svg>',
    '<svg><a xlink:href="https://example.org">x</a></svg>',
    '<svg><rect style="fill:url(https://example.org/p.svg#x)"/></svg>',
  ];
  for (const c of cases) assert.throws(() => inlineSvg(c, "p.svg"), { message: /^"p.svg" (contains scripts|refers to an external resource)/ }, c);
  assert.throws(() => inlineSvg("<html></html>", "p.svg"), { message: '"p.svg" is not SVG markup' });
});

function input(over: Partial<ReportInput> = {}): ReportInput {
  const meta: DatasetMeta = {
    source: "data/dpc.csv", sha256: "ab".repeat(32), bytes: 10, rows: 1461, firstDate: "2020-02-24", lastDate: "2024-02-23",
    rowsAfterVersion: 0, gaps: [], revisions: [], extraColumns: [], synthetic: false,
  };
  const forecast: Forecast = { attribute: "total_positive", window: 7, model: "linear", lowerBound: 0, lastObserved: { date: "2024-02-23", value: 33242 }, points: [{ date: "2024-02-24", value: 32995.5, lags: [] }] };
  const origin = (trainedUntil: string, mae: number, naiveMae: number, seasonalMae: number) => ({ trainedUntil, mae, naiveMae, seasonalMae, points: [{ date: "2024-02-23", actual: 33242, predicted: 33000, naive: 33956, seasonal: 34500 }] });
  const backtest: Backtest = {
    attribute: "total_positive", window: 7, model: "linear", horizon: 1,
    origins: [origin("2024-02-15", 300, 600, 900), origin("2024-02-22", 242, 714, 1258)],
    mae: 271, naiveMae: 657, seasonalMae: 1079, relativeMae: 0.0081, beatsNaive: true, beatsSeasonal: true,
  };
  const monitor: MonitorReport = {
    attribute: "total_positive", asOf: "2024-02-23", rules: { recentDays: 7, referenceDays: 28, inputShift: 1, outputShift: 1, maxErrorRatio: 1, minNewDays: 3 },
    inputDrift: { statistic: 2.5, threshold: 1, drifted: true, recent: { from: "a", to: "b", mean: 1 }, reference: { from: "c", to: "d", mean: 0, sd: 1 } },
    outputDrift: { statistic: 0.1, threshold: 1, drifted: false, currentMeanStep: 0, previousMeanStep: 0 },
    quality: { trainedUntil: "2024-02-19", days: 4, mae: 242, naiveMae: 714, errorRatio: 0.34, relativeMae: 0.01, ok: true },
    retrain: true, reasons: ["input drift: <changed> & more"],
  };
  return { meta, trends: [{ attribute: "total_positive", svg: SVG }], forecast, forecastSvg: SVG, backtest, monitor, ...over };
}

test("the report is one self-contained page with provenance, plots, forecast, backtest and verdict", () => {
  const html = renderReport(input());
  for (const s of ["2024-02-23", "data/dpc.csv", "ab".repeat(32), "1,461", "2020-02-24 to 2024-02-23", "no cumulative column goes down", "32,996", "Retrain recommended: yes. Refit the weekly model (trained up to 2024-02-19)", "input drift: &lt;changed&gt; &amp; more", "trained on data up to 2024-02-19"]) {
    assert.ok(html.includes(s), `missing ${JSON.stringify(s)}`);
  }
  assert.equal(html.match(/<svg/g)?.length, 2);
  assert.doesNotMatch(html, /<script|<img|<link|\bsrc=|href="http/i);
});

test("the report escapes interpolated names and lists revisions", () => {
  const base = input();
  const html = renderReport({
    ...base,
    meta: { ...base.meta, source: 'x"><script>alert(1)</script>', revisions: [{ column: "death", date: "2020-06-24", previousDate: "2020-06-23", previous: 34675, value: 34644 }] },
    trends: [{ attribute: "<b>bold</b>", svg: SVG }],
  });
  assert.doesNotMatch(html, /<script>|<b>bold/);
  assert.match(html, /&lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(html, /Revisions: 1 time\(s\) a cumulative column went down/);
  assert.match(html, /<td>death<\/td><td>2020-06-24<\/td><td>2020-06-23<\/td><td>34,675<\/td><td>34,644<\/td>/);
});

test("a passing monitor says plainly that no retrain is needed", () => {
  const base = input();
  const html = renderReport({ ...base, monitor: { ...base.monitor, retrain: false, reasons: [] } });
  assert.match(html, /Retrain recommended: no\. All checks passed for the weekly model trained up to 2024-02-19\./);
});

test("the backtest section reports the mean over all origins and both baselines, and says beats only when the mean does", () => {
  const base = input();
  const html = renderReport(base);
  assert.match(html, /At each of 2 weekly origins from 2024-02-15 to 2024-02-22/);
  assert.match(html, /On average over these 2 weeks the model beats the naive baseline and beats the seasonal naive baseline\./);
  assert.match(html, /<td>seasonal naive \(same as last week\)<\/td><td>1,079<\/td>/);
  const losing = renderReport({ ...base, backtest: { ...base.backtest, mae: 700, beatsNaive: false } });
  assert.match(losing, /the model does NOT beat the naive baseline and beats the seasonal naive baseline/);
  assert.doesNotMatch(losing, /model beats the naive/);
});

test("the synthetic data is announced at the top of the page; real data is not", () => {
  const base = input();
  const synthetic = renderReport({ ...base, meta: { ...base.meta, synthetic: true } });
  assert.match(synthetic, /<title>SYNTHETIC DATA – COVID-19 Italy/);
  assert.match(synthetic, /<body>\n<p class="banner">SYNTHETIC DATA: the numbers in this report are invented/);
  assert.doesNotMatch(renderReport(base), /SYNTHETIC/);
});

test("a forecast longer than two weeks says it is not meaningful that far out", () => {
  const base = input();
  assert.doesNotMatch(renderReport(base), /not meaningful/);
  const points = Array.from({ length: 30 }, (_, i) => ({ date: `2024-03-${String(i + 1).padStart(2, "0")}`, value: 100, lags: [] }));
  assert.match(renderReport({ ...base, forecast: { ...base.forecast, points } }), /This forecast covers 30 days: beyond about two weeks it is not meaningful/);
});
