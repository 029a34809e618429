/**
 * The `trend` and `forecastPlot` steps: Vega-Lite specs rendered headless to SVG text.
 *
 * SVG rather than the lecture's PNG: it needs no native canvas, it is text (so the report can
 * inline it and stays one self-contained file), and it diffs and hashes stably.
 * Dates are calendar days on a UTC scale, so the machine's time zone cannot shift a point.
 */
import type { RecipeContext } from "pipefile";
import type { TopLevelSpec } from "vega-lite";
import { type Forecast, forecastFromJson } from "./forecast.ts";
import { labelOf } from "./labels.ts";
import { type Series, addDays, parseTableCsv, readText, seriesOf, trimTrailingNulls, writeText } from "./table.ts";

/** How many weeks of history the forecast plot shows before the forecast. */
export const FORECAST_PLOT_WEEKS = 8;

const DATE_AXIS = { title: "date (day of the bulletin)", format: "%Y-%m-%d", labelAngle: -30 } as const;

/**
 * Renders a Vega-Lite spec to an SVG string (no canvas, no DOM). Vega's warnings go to `log`
 * (a recipe passes ctx.log) instead of the console.
 */
export async function renderSvg(spec: TopLevelSpec, log: (message: string) => void = () => {}): Promise<string> {
  // Loaded here, not at the top: every `pipe` command imports the Pipelinefile and so this
  // module, and vega's start-up would cost each `pipe status` (and git hook) ~150 ms.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const logger = vega.logger(vega.Warn, "warn", (_method, level, args) => log(`vega ${level}: ${args.map(String).join(" ")}`));
  const view = new vega.View(vega.parse(compile(spec, { logger }).spec), { renderer: "none", logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The y encoding of an attribute: its axis label with the unit, percent for shares. */
function valueAxis(attribute: string) {
  const label = labelOf(attribute);
  return { field: "value", type: "quantitative", title: label.axis, ...(label.isShare ? { axis: { format: ".1%" } } : {}) } as const;
}

/** A line chart of one attribute over the whole period (null days are left out). */
export function trendSpec(series: Series, attribute: string): TopLevelSpec {
  const values = series.dates.flatMap((date, i) => (series.values[i] === null ? [] : [{ date, value: series.values[i] }]));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: labelOf(attribute).title, subtitle: attribute },
    width: 720,
    height: 260,
    data: { values },
    mark: { type: "line", strokeWidth: 1.2 },
    encoding: {
      x: { field: "date", type: "temporal", scale: { type: "utc" }, axis: { ...DATE_AXIS, format: "%Y-%m" } },
      y: valueAxis(attribute),
    },
  };
}

/**
 * The last `weeks` weeks of observations and the forecast after them, in another colour and
 * dashed, joined at the last observed day, with a rule marking that day.
 */
export function forecastSpec(series: Series, forecast: Forecast, weeks: number = FORECAST_PLOT_WEEKS): TopLevelSpec {
  const observed = trimTrailingNulls(series);
  const from = addDays(forecast.lastObserved.date, -7 * weeks);
  const history = observed.dates.flatMap((date, i) =>
    date > from && date <= forecast.lastObserved.date && observed.values[i] !== null ? [{ date, value: observed.values[i], kind: "observed" }] : [],
  );
  const ahead = [
    { date: forecast.lastObserved.date, value: forecast.lastObserved.value, kind: "forecast" },
    ...forecast.points.map((p) => ({ date: p.date, value: p.value, kind: "forecast" })),
  ];
  const color = { field: "kind", type: "nominal", title: null, scale: { domain: ["observed", "forecast"], range: ["#1f77b4", "#e4572e"] } } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `${labelOf(forecast.attribute).title}: last ${weeks} weeks and a ${forecast.points.length}-day forecast`,
      subtitle: `${forecast.attribute}; ${forecast.model} model, ${forecast.window}-day window`,
    },
    width: 720,
    height: 280,
    data: { values: [...history, ...ahead] },
    encoding: {
      x: { field: "date", type: "temporal", scale: { type: "utc" }, axis: DATE_AXIS },
      y: { ...valueAxis(forecast.attribute), scale: { zero: false } },
    },
    layer: [
      { mark: { type: "line", strokeWidth: 1.5 }, encoding: { color, strokeDash: { field: "kind", type: "nominal", title: null, scale: { domain: ["observed", "forecast"], range: [[1, 0], [6, 4]] } } } },
      { mark: { type: "point", filled: true, size: 22 }, encoding: { color } },
      {
        data: { values: [{ date: forecast.lastObserved.date }] },
        mark: { type: "rule", strokeDash: [2, 2], color: "#888" },
        encoding: { x: { field: "date", type: "temporal" }, y: null },
      },
    ],
  } as TopLevelSpec;
}

/** Recipe. inputs: `preprocess.table`. params: `attribute`. outputs: `svg` (the trend plot). */
export async function trendRecipe(ctx: RecipeContext<{ preprocess: { table: string } }, { svg: string }, { attribute: string }>): Promise<void> {
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  const series = seriesOf(table, ctx.params.attribute);
  if (series.values.every((v) => v === null)) throw new Error(`column ${JSON.stringify(ctx.params.attribute)} has no values to plot`);
  await writeText(ctx.root, ctx.outputs.svg, await renderSvg(trendSpec(series, ctx.params.attribute), (m) => ctx.log(m)));
}

/**
 * Recipe. inputs: `preprocess.table`, `forecast.json`. outputs: `svg` (the zoomed forecast
 * plot, {@link forecastSpec}).
 */
export async function forecastPlotRecipe(ctx: RecipeContext<{ preprocess: { table: string }; forecast: { json: string } }, { svg: string }>): Promise<void> {
  const forecast = forecastFromJson(JSON.parse(await readText(ctx.root, ctx.inputs.forecast.json)), ctx.inputs.forecast.json);
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  await writeText(ctx.root, ctx.outputs.svg, await renderSvg(forecastSpec(seriesOf(table, forecast.attribute), forecast), (m) => ctx.log(m)));
}
