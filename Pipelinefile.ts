/**
 * The case study: Italy's national COVID-19 series -> trend plots, an autoregressive forecast,
 * a backtest, drift monitoring, and one self-contained HTML report.
 * A rewrite of the Luigi pipeline elianap/luigi-covid-pipeline (with its forecast off-by-one fixed).
 *
 *   pipe build                                   # build/report.html and the forecast
 *   pipe build --param version=2021-06-30        # the same, as of another day
 *   pipe build --param model=forest --param window=14   # the report on another forecast
 *   pipe build "forecast[model=forest,window=14]"  # just that forecast (omitted keys take defaults)
 *   pipe build --param refit=daily               # train on every day instead of up to the last Monday
 *
 */
import { family, param, target } from "pipefile";
import { backtestRecipe } from "./recipes/backtest.ts";
import { buildDataset } from "./recipes/dataset.ts";
import { forecastRecipe } from "./recipes/forecast.ts";
import { modelRecipe, MODEL_KINDS } from "./recipes/model.ts";
import { monitorRecipe } from "./recipes/monitor.ts";
import { forecastPlotRecipe, trendRecipe } from "./recipes/plot.ts";
import { ATTRIBUTES, asAttribute, preprocessRecipe } from "./recipes/preprocess.ts";
import { reportRecipe } from "./recipes/report.ts";
import { REFIT_KINDS, windowRecipe } from "./recipes/window.ts";

type Attribute = (typeof ATTRIBUTES)[number];
/** A forecast instance's key. (Annotated: TypeScript cannot infer inputs from an unannotated key function.) */
type ForecastKey = { attribute: Attribute; window: number; model: (typeof MODEL_KINDS)[number]; days: number };

const p = {
  version: param.date("version", { default: "today", doc: "as-of date: rows dated after it are ignored" }),
  source: param.string("source", { default: "data/dpc-covid19-ita-andamento-nazionale.csv", doc: "CSV path (from the project root) or http(s) URL" }),
  attributes: param.list("attributes", { default: ["total_positive", "recovered", "daily_positivity"], doc: "trend plots in the report" }),
  attribute: param.enum("attribute", ATTRIBUTES, { default: "total_positive", doc: "the series to forecast" }),
  window: param.int("window", { default: 7, min: 1, doc: "days of history the model sees" }),
  days: param.int("days", { default: 7, min: 1, max: 366, doc: "days to forecast, and to hold out in the backtest" }),
  model: param.enum("model", MODEL_KINDS, { default: "linear", doc: "linear (AR least squares on daily changes) or forest (random forest on daily changes)" }),
  refit: param.enum("refit", REFIT_KINDS, { default: "weekly", doc: "weekly: the model trains on data up to the Monday on or before the last day, so it refits once a week; daily: on every day" }),
};

// A local `source` file is the dataset's input (editing it makes `dataset` stale). A URL is
// fetched whenever `dataset` runs: with the default version "today" that is once a day, and a
// day whose download is unchanged rebuilds nothing downstream (early cutoff).
export const dataset = target({
  params: { source: p.source, version: p.version },
  inputs: ({ source }) => (/^https?:\/\//.test(source) ? [] : [source]),
  outputs: { table: "build/dataset/table.csv", meta: "build/dataset/meta.json" },
  run: (ctx) => buildDataset(ctx),
});

export const preprocess = target({
  inputs: { dataset },
  outputs: { table: "build/preprocess/table.csv" },
  run: preprocessRecipe,
});

export const trend = family({
  key: { attribute: p.attribute },
  inputs: { preprocess },
  outputs: { svg: "build/trend/{attribute}.svg" },
  run: trendRecipe,
});

// The model's training table, cut at the weekly cutoff (recipes/window.ts): a new day inside
// the same week gives the same bytes, so `model` stays up to date until the next Monday's data.
export const window = family({
  key: { attribute: p.attribute, window: p.window },
  params: { refit: p.refit },
  inputs: { preprocess },
  outputs: { csv: "build/window/{attribute}-w{window}.csv" },
  run: windowRecipe,
});

export const model = family({
  key: { attribute: p.attribute, window: p.window, model: p.model },
  inputs: ({ attribute, window: w }: { attribute: Attribute; window: number }) => ({ window: window({ attribute, window: w }) }),
  outputs: { json: "build/model/{attribute}-w{window}-{model}.json" },
  run: modelRecipe,
});

/** The key shared by everything downstream of a fitted model. */
const forecastKey = { attribute: p.attribute, window: p.window, model: p.model, days: p.days };

export const forecast = family({
  key: forecastKey,
  inputs: ({ attribute, window: w, model: m }: ForecastKey) => ({ model: model({ attribute, window: w, model: m }), preprocess }),
  outputs: { json: "build/forecast/{attribute}-w{window}-{model}-d{days}.json" },
  run: forecastRecipe,
});

export const forecastPlot = family({
  key: forecastKey,
  inputs: (k: ForecastKey) => ({ preprocess, forecast: forecast(k) }),
  outputs: { svg: "build/forecast/{attribute}-w{window}-{model}-d{days}.svg" },
  run: forecastPlotRecipe,
});

export const backtest = family({
  key: forecastKey,
  inputs: { preprocess },
  outputs: { json: "build/backtest/{attribute}-w{window}-{model}-d{days}.json" },
  run: backtestRecipe,
});

export const monitor = family({
  key: forecastKey,
  inputs: (k: ForecastKey) => ({ preprocess, model: model({ attribute: k.attribute, window: k.window, model: k.model }), forecast: forecast(k), backtest: backtest(k) }),
  outputs: { json: "build/monitor/{attribute}-w{window}-{model}-d{days}.json" },
  run: monitorRecipe,
});

/**
 * The HTML page. Which trend plots and which forecast it shows are params, so
 * `pipe build --param window=14 --param attributes=recovered` picks other instances.
 */
export const report = target({
  params: { attributes: p.attributes, ...forecastKey },
  inputs: ({ attributes, ...k }) => ({
    dataset,
    trends: attributes.map((a) => trend({ attribute: asAttribute(a) })),
    forecast: forecast(k),
    forecastPlot: forecastPlot(k),
    backtest: backtest(k),
    monitor: monitor(k),
  }),
  outputs: { html: "build/report.html" },
  // A wrapper, so TypeScript types ctx from the inputs function above.
  run: (ctx) => reportRecipe(ctx),
});

/** What a bare `pipe build` makes: the report (and so the forecast it shows). */
export default [report];
