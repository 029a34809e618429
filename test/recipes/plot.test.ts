import { test } from "node:test";
import assert from "node:assert/strict";
import type { Forecast } from "../../recipes/forecast.ts";
import { forecastSpec, renderSvg, trendSpec } from "../../recipes/plot.ts";
import { inlineSvg } from "../../recipes/report.ts";
import { addDays } from "../../recipes/table.ts";

type Point = { date: string; value: number; kind?: string };
const valuesOf = (spec: unknown) => (spec as { data: { values: Point[] } }).data.values;

const dates = Array.from({ length: 100 }, (_, i) => addDays("2023-01-01", i));
const series = { dates, values: dates.map((_, i) => (i === 3 ? null : 1000 + 10 * i)) };
const forecast: Forecast = {
  attribute: "total_positive",
  window: 7,
  model: "linear",
  lowerBound: 0,
  lastObserved: { date: dates[99], value: 1990 },
  points: [1, 2, 3].map((k) => ({ date: addDays(dates[99], k), value: 1990 + 5 * k, lags: [] })),
};

test("the trend plot leaves out empty days", () => {
  const values = valuesOf(trendSpec(series, "total_positive"));
  assert.equal(values.length, 99);
  assert.ok(!values.some((v) => v.date === dates[3]));
});

test("the trend plot renders to self-contained SVG", async () => {
  const svg = await renderSvg(trendSpec(series, "total_positive"));
  assert.match(svg, /^<svg[\s>]/);
  assert.match(svg, /total_positive/);
  assert.doesNotThrow(() => inlineSvg(svg, "trend"));
});

test("plots have human titles and axis labels that say current, cumulative, daily or share", async () => {
  const svg = await renderSvg(trendSpec(series, "total_positive"));
  assert.match(svg, />Currently positive people \(current\)</);
  assert.match(svg, />people, on the day</);
  const axisTitle = (a: string) => (trendSpec(series, a) as unknown as { encoding: { y: { title: string } } }).encoding.y.title;
  assert.equal(axisTitle("recovered"), "people, running total");
  assert.equal(axisTitle("daily_death"), "deaths per day");
  assert.equal(axisTitle("intensive_care_change"), "people, change from the day before");
  const share = trendSpec(series, "daily_positivity") as unknown as { title: { text: string }; encoding: { y: { axis: { format: string } } } };
  assert.match(share.title.text, /share of the day's tests that were positive/);
  assert.equal(share.encoding.y.axis.format, ".1%");
  const f = await renderSvg(forecastSpec(series, forecast));
  assert.match(f, />Currently positive people \(current\): last 8 weeks and a 3-day forecast</);
});

test("the forecast plot shows the last 8 weeks, then the forecast joined at the last observed day", () => {
  const values = valuesOf(forecastSpec(series, forecast));
  const observed = values.filter((v) => v.kind === "observed");
  const ahead = values.filter((v) => v.kind === "forecast");
  assert.equal(observed.length, 56);
  assert.equal(observed[0].date, addDays(dates[99], -55));
  assert.deepEqual(ahead.map((v) => v.date), [dates[99], ...forecast.points.map((p) => p.date)]);
  assert.equal(ahead[0].value, 1990);
});

test("the forecast plot renders, with a legend telling observed from forecast", async () => {
  const svg = await renderSvg(forecastSpec(series, forecast));
  assert.match(svg, />observed</);
  assert.match(svg, />forecast</);
  assert.doesNotThrow(() => inlineSvg(svg, "forecast"));
});

test("vega warnings go to the recipe log, not the console", async () => {
  const spec = trendSpec(series, "x") as unknown as { encoding: { x: { axis: Record<string, unknown> } } };
  spec.encoding.x.axis = { ...spec.encoding.x.axis, formatType: "utc" }; // vega-lite warns about this
  const messages: string[] = [];
  await renderSvg(spec as unknown as Parameters<typeof renderSvg>[0], (m) => messages.push(m));
  assert.ok(messages.some((m) => m.startsWith("vega WARN") && m.includes("customFormatTypes")), messages.join("\n"));
});
