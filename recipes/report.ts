/**
 * The `report` step: one self-contained HTML page (no scripts, no external files, no network):
 * provenance of the data, inline SVG trend plots, the forecast, the backtest and the monitoring
 * verdict stated plainly.
 *
 * Everything interpolated into the HTML goes through {@link escapeHtml}; SVG markup (produced by
 * our own plot step) is inlined only after {@link inlineSvg} has refused scripts and external
 * references. The page holds no build time, so the same inputs give the same bytes.
 */
import { basename } from "node:path";
import type { RecipeContext } from "pipefile";
import { type Backtest, backtestFromJson } from "./backtest.ts";
import type { DatasetMeta } from "./dataset.ts";
import { type Forecast, forecastFromJson } from "./forecast.ts";
import { labelOf } from "./labels.ts";
import { type MonitorReport, monitorFromJson } from "./monitor.ts";
import { readText, writeText } from "./table.ts";

/** Everything the report shows. */
export interface ReportInput {
  readonly meta: DatasetMeta;
  readonly trends: readonly { readonly attribute: string; readonly svg: string }[];
  readonly forecast: Forecast;
  readonly forecastSvg: string;
  readonly backtest: Backtest;
  readonly monitor: MonitorReport;
}

/** The attribution the upstream licence (CC-BY-4.0) asks for. */
export const ATTRIBUTION = "Data: Dipartimento della Protezione Civile – COVID-19 Italia, github.com/pcm-dpc/COVID-19, CC-BY-4.0";

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/**
 * SVG markup ready to inline: the XML prolog and doctype removed. Throws on scripts, event
 * handlers or references to anything outside the page, which would break self-containment.
 */
export function inlineSvg(svg: string, label: string): string {
  const body = svg.replace(/^\s*<\?xml[^>]*\?>\s*/, "").replace(/^\s*<!DOCTYPE[^>]*>\s*/i, "");
  if (!/^<svg[\s>]/.test(body)) throw new Error(`${JSON.stringify(label)} is not SVG markup`);
  if (/<script|<foreignObject|\son[a-z]+\s*=/i.test(body)) throw new Error(`${JSON.stringify(label)} contains scripts; refusing to inline it`);
  if (/\b(?:href|src)\s*=\s*["'](?!#)|url\(\s*(?!["']?#)/i.test(body)) throw new Error(`${JSON.stringify(label)} refers to an external resource; refusing to inline it`);
  return body;
}

/** A number for people: grouped integers, 4 significant digits for small fractions. */
function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(4);
}

const e = escapeHtml;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${e(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody>\n</table>`;
}

function keyValues(rows: readonly (readonly [string, string])[]): string {
  return `<table>\n<tbody>\n${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join("\n")}\n</tbody>\n</table>`;
}

function provenance(meta: DatasetMeta): string {
  const rows: [string, string][] = [
    ["dataset version (data as of)", meta.lastDate],
    ["source", meta.source],
    ["content hash (sha256)", meta.sha256],
    ["rows", `${meta.rows.toLocaleString("en-US")}${meta.rowsAfterVersion > 0 ? ` (${meta.rowsAfterVersion} later rows ignored)` : ""}`],
    ["date range", `${meta.firstDate} to ${meta.lastDate}`],
  ];
  const revisions =
    meta.revisions.length === 0
      ? "<p>Revisions: no cumulative column goes down in this version.</p>"
      : `<p>Revisions: ${meta.revisions.length} time(s) a cumulative column went down from one day to the next (upstream corrections). Daily differences are negative on those days, except for a one-day dip restored the next day, whose two daily differences are left empty.</p>\n` +
        table(["column", "date", "previous day", "previous value", "value"], meta.revisions.slice(0, 50).map((r) => [r.column, r.date, r.previousDate, num(r.previous), num(r.value)])) +
        (meta.revisions.length > 50 ? `<p>… and ${meta.revisions.length - 50} more (see the dataset metadata).</p>` : "");
  const gaps = meta.gaps.length === 0 ? "" : `<p>Gaps: ${meta.gaps.length} place(s) with missing days, e.g. ${e(meta.gaps[0].missingDays.toString())} day(s) after ${e(meta.gaps[0].after)}.</p>`;
  return `<section id="dataset">\n<h2>Dataset</h2>\n${keyValues(rows)}\n${revisions}\n${gaps}\n</section>`;
}

/** Beyond this many days a recursive daily forecast is mostly its own assumptions. */
export const MEANINGFUL_DAYS = 14;

function forecastSection(f: Forecast, svg: string, trainedUntil: string): string {
  const notes = [
    f.lowerBound === null ? "" : `<p class="note">${e(f.attribute)} is a count (never negative in the data), so forecasts are not allowed below ${f.lowerBound}.</p>`,
    f.points.length > MEANINGFUL_DAYS
      ? `<p class="verdict bad">This forecast covers ${f.points.length} days: beyond about two weeks it is not meaningful. Each day feeds the previous predictions back in, so the far end only extends the recent direction; read it as a scenario, not a prediction.</p>`
      : "",
  ].filter((n) => n !== "");
  return `<section id="forecast">
<h2>Forecast: ${e(labelOf(f.attribute).title)}</h2>
<p>Series <code>${e(f.attribute)}</code>. Model <b>${e(f.model)}</b> on day-on-day changes, window ${f.window} days, trained on data up to ${e(trainedUntil)}. Last observed day ${e(f.lastObserved.date)} (${e(num(f.lastObserved.value))}); the forecast covers the ${f.points.length} days after it.</p>
${notes.join("\n")}
<figure>${inlineSvg(svg, "forecast plot")}</figure>
${table(["date", `predicted ${f.attribute}`], f.points.map((p) => [p.date, num(p.value)]))}
</section>`;
}

function backtestSection(b: Backtest): string {
  const verdict = (name: string, beats: boolean) => (beats ? `beats ${name}` : `does NOT beat ${name}`);
  const first = b.origins[0].trainedUntil;
  const last = b.origins[b.origins.length - 1].trainedUntil;
  const summary = `On average over these ${b.origins.length} weeks the model ${verdict("the naive baseline", b.beatsNaive)} and ${verdict("the seasonal naive baseline", b.beatsSeasonal)}.`;
  const rel = (x: number | null) => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);
  return `<section id="backtest">
<h2>Backtest</h2>
<p>At each of ${b.origins.length} weekly origins from ${e(first)} to ${e(last)}, the model was refit on the data up to that day only and asked to forecast the ${b.horizon} days after it, which are known. ${e(summary)}</p>
${table(
  ["", `mean MAE over ${b.origins.length} origins`, "weeks it won"],
  [
    [`${b.model} (window ${b.window})`, num(b.mae), ""],
    ["naive (repeat the last value)", num(b.naiveMae), `${b.origins.filter((o) => o.mae < o.naiveMae).length} of ${b.origins.length} for the model`],
    ["seasonal naive (same as last week)", num(b.seasonalMae), `${b.origins.filter((o) => o.mae < o.seasonalMae).length} of ${b.origins.length} for the model`],
  ],
)}
<p class="note">The model's mean MAE is ${e(rel(b.relativeMae))} of the mean absolute value of the series over the scored days.</p>
${table(["trained up to", "model MAE", "naive MAE", "seasonal naive MAE"], b.origins.map((o) => [o.trainedUntil, num(o.mae), num(o.naiveMae), num(o.seasonalMae)]))}
<h3>The newest origin, day by day</h3>
${table(["date", "actual", "predicted", "naive", "seasonal naive"], b.origins[b.origins.length - 1].points.map((p) => [p.date, num(p.actual), num(p.predicted), num(p.naive), num(p.seasonal)]))}
</section>`;
}

function monitorSection(m: MonitorReport): string {
  const headline = m.retrain
    ? `Retrain recommended: yes. Refit the weekly model (trained up to ${m.quality.trainedUntil}) now instead of waiting for next week's data: pipe build --param refit=daily.`
    : `Retrain recommended: no. All checks passed for the weekly model trained up to ${m.quality.trainedUntil}.`;
  const reasons = m.reasons.length === 0 ? "" : `<ul>\n${m.reasons.map((r) => `<li>${e(r)}</li>`).join("\n")}\n</ul>`;
  const i = m.inputDrift;
  const o = m.outputDrift;
  const checks = table(
    ["check", "statistic", "limit", "result"],
    [
      [`input drift (daily changes, ${i.recent.from}..${i.recent.to} vs ${i.reference.from}..${i.reference.to})`, num(i.statistic), num(i.threshold), i.drifted ? "drift" : "ok"],
      ["output drift (forecast vs the one made a horizon earlier)", num(o.statistic), num(o.threshold), o.drifted ? "drift" : "ok"],
      [
        `quality on the ${m.quality.days} day(s) since the model's training data (MAE vs naive; ratio)`,
        m.quality.days === 0 ? "no new data yet" : `${num(m.quality.mae)} vs ${num(m.quality.naiveMae)}; ${num(m.quality.errorRatio)}`,
        `ratio ≤ ${m.rules.maxErrorRatio}, judged once there are at least ${m.rules.minNewDays} days`,
        m.quality.days < m.rules.minNewDays ? "too few days to judge" : m.quality.ok ? "ok" : "poor",
      ],
    ],
  );
  return `<section id="monitoring">
<h2>Monitoring</h2>
<p class="verdict ${m.retrain ? "bad" : "good"}"><b>${e(headline)}</b></p>
${reasons}
${checks}
<p class="note">Drift statistics are standardised mean shifts in units of the reference window's standard deviation of daily changes.</p>
</section>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
td:nth-child(n+2){font-variant-numeric:tabular-nums}figure{margin:1em 0}
.banner{font-size:1.3em;font-weight:bold;background:#fff3b0;border:3px solid #c90;padding:.6em .8em}
.verdict{font-size:1.2em;padding:.4em .6em}.bad{background:#fde2dd}.good{background:#e3f4e1}.note,footer{color:#666;font-size:.9em}`;

/** The whole HTML page. */
export function renderReport(input: ReportInput): string {
  const synthetic = input.meta.synthetic === true;
  const title = `${synthetic ? "SYNTHETIC DATA – " : ""}COVID-19 Italy: national trend report, data as of ${input.meta.lastDate}`;
  const banner = synthetic
    ? `<p class="banner">SYNTHETIC DATA: the numbers in this report are invented (the stand-in series shipped in ${e(input.meta.source)}, see data/README.md). They say nothing about COVID-19 in Italy. Run with --param source=&lt;the real CSV or its URL&gt; for real figures.</p>\n`
    : "";
  const trends = input.trends
    .map((t) => `<h3>${e(labelOf(t.attribute).title)} <code>${e(t.attribute)}</code></h3>\n<figure>${inlineSvg(t.svg, `trend plot of ${t.attribute}`)}</figure>`)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
${banner}<h1>${e(title)}</h1>
${provenance(input.meta)}
<section id="trends">
<h2>Trends</h2>
${trends}
</section>
${forecastSection(input.forecast, input.forecastSvg, input.monitor.quality.trainedUntil)}
${backtestSection(input.backtest)}
${monitorSection(input.monitor)}
<footer><p>${e(ATTRIBUTION)} (the schema and the real data; a synthetic series in the same schema ships in data/ for offline runs).</p></footer>
</body>
</html>
`;
}

/**
 * Recipe. inputs: `dataset.meta`, `trends` (SVG paths, one per attribute), `forecast.json`,
 * `forecastPlot.svg`, `backtest.json`, `monitor.json`. params: `attributes` (names of the trend
 * plots, in the order of `trends`; the file names are used when absent). outputs: `html`.
 */
export async function reportRecipe(
  ctx: RecipeContext<
    { dataset: { meta: string }; trends: string[]; forecast: { json: string }; forecastPlot: { svg: string }; backtest: { json: string }; monitor: { json: string } },
    { html: string },
    { attributes?: readonly string[] }
  >,
): Promise<void> {
  const read = (p: string) => readText(ctx.root, p);
  const { inputs } = ctx;
  const names = ctx.params.attributes?.length === inputs.trends.length ? ctx.params.attributes : inputs.trends.map((p) => basename(p, ".svg"));
  const html = renderReport({
    meta: JSON.parse(await read(inputs.dataset.meta)) as DatasetMeta,
    trends: await Promise.all(inputs.trends.map(async (p, i) => ({ attribute: names[i], svg: await read(p) }))),
    forecast: forecastFromJson(JSON.parse(await read(inputs.forecast.json)), inputs.forecast.json),
    forecastSvg: await read(inputs.forecastPlot.svg),
    backtest: backtestFromJson(JSON.parse(await read(inputs.backtest.json)), inputs.backtest.json),
    monitor: monitorFromJson(JSON.parse(await read(inputs.monitor.json)), inputs.monitor.json),
  });
  ctx.log(`report: ${inputs.trends.length} trend plot(s), ${(html.length / 1024).toFixed(0)} KiB`);
  await writeText(ctx.root, ctx.outputs.html, html);
}
