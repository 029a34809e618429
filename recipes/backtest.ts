/**
 * The `backtest` step: how good would the forecasts of the last few weeks have been?
 *
 * Rolling origins: for each of the last {@link BACKTEST_ORIGINS} weekly origins T (the newest
 * is h days before the last observation, h = `days`, the others 7, 14, ... days before that),
 * refit the model on the data up to T only, forecast h days with the same recursive procedure as
 * `forecast`, and compare with what happened. Next to it, two baselines that need no fitting:
 *
 * - naive: repeat the last value before T ("tomorrow looks like today");
 * - seasonal naive: repeat the last observed week ("same as last week"), the honest comparison
 *   for daily counts with a weekday reporting pattern.
 *
 * The verdict compares the mean MAE over all origins. One origin is not enough: a single
 * week decided "the model beats the naive baseline" for a model that lost to it on 44 of the
 * last 52 weeks of the real series.
 */
import type { RecipeContext } from "pipefile";
import { mean } from "simple-statistics";
import { forecastSeries } from "./forecast.ts";
import { type ModelKind, type Predictor, fitModel, predictorOf } from "./model.ts";
import { type Series, addDays, daysBetween, parseTableCsv, readText, seriesOf, toJson, trimTrailingNulls, writeText } from "./table.ts";
import { type WindowRow, makeWindows } from "./window.ts";

/** How many weekly origins the backtest scores (each one refits the model). */
export const BACKTEST_ORIGINS = 8;

/** One held-out day of one origin. */
export interface BacktestPoint {
  readonly date: string;
  readonly actual: number;
  readonly predicted: number;
  /** The naive baseline: the last value up to the origin. */
  readonly naive: number;
  /** The seasonal naive baseline: the value on the same weekday of the last observed week. */
  readonly seasonal: number;
}

/** One origin: trained on data up to `trainedUntil`, scored on the h days after it. */
export interface BacktestOrigin {
  readonly trainedUntil: string;
  readonly points: readonly BacktestPoint[];
  readonly mae: number;
  readonly naiveMae: number;
  readonly seasonalMae: number;
}

/** A saved backtest. The MAEs are means over the origins. */
export interface Backtest {
  readonly attribute: string;
  readonly window: number;
  readonly model: ModelKind;
  readonly horizon: number;
  /** Oldest first; the last one is the newest (its forecast was made h days ago). */
  readonly origins: readonly BacktestOrigin[];
  readonly mae: number;
  readonly naiveMae: number;
  readonly seasonalMae: number;
  /** The model's mean MAE / the mean absolute actual value (scale-free, fine for signed series); null when all actuals are 0. */
  readonly relativeMae: number | null;
  /** True when the model's mean MAE is strictly lower than the naive baseline's. */
  readonly beatsNaive: boolean;
  /** True when the model's mean MAE is strictly lower than the seasonal naive baseline's. */
  readonly beatsSeasonal: boolean;
}

function checkPairs(actual: readonly number[], predicted: readonly number[]): void {
  if (actual.length === 0 || actual.length !== predicted.length) throw new Error(`need as many predictions as actuals (got ${predicted.length} and ${actual.length}), at least one`);
}

/** Mean absolute error. */
export function meanAbsoluteError(actual: readonly number[], predicted: readonly number[]): number {
  checkPairs(actual, predicted);
  return mean(actual.map((y, i) => Math.abs(y - predicted[i])));
}

/** `mae` relative to the mean absolute actual value; null when every actual is 0. */
export function relativeError(mae: number, actual: readonly number[]): number | null {
  const scale = mean(actual.map(Math.abs));
  return scale > 0 ? mae / scale : null;
}

/**
 * The day whose value the seasonal naive baseline repeats for `date`: the same weekday in the
 * last 7 days up to `origin` (so origin+1 and origin+8 both repeat origin-6).
 */
export function seasonalSource(origin: string, date: string): string {
  return addDays(date, -7 * Math.ceil(daysBetween(origin, date) / 7));
}

/** Scores one origin: train on the days up to `origin`, forecast `days` days after it. */
function scoreOrigin(
  observed: Series,
  byDate: ReadonlyMap<string, number | null>,
  origin: string,
  options: { window: number; days: number; fit: (rows: readonly WindowRow[]) => Predictor },
): BacktestOrigin {
  const { window, days } = options;
  const keep = observed.dates.map((d) => d <= origin);
  const train: Series = { dates: observed.dates.filter((_, i) => keep[i]), values: observed.values.filter((_, i) => keep[i]) };
  const predict = options.fit(makeWindows(train, window));
  const { lastObserved, points } = forecastSeries(train, predict, { window, days });
  const held = points.map((p) => {
    const actual = byDate.get(p.date);
    if (actual === null || actual === undefined) throw new Error(`cannot backtest: no actual value on ${p.date}`);
    const source = seasonalSource(lastObserved.date, p.date);
    const seasonal = byDate.get(source);
    if (seasonal === null || seasonal === undefined) throw new Error(`cannot backtest: no value on ${source} for the seasonal naive baseline`);
    return { date: p.date, actual, predicted: p.value, naive: lastObserved.value, seasonal };
  });
  const actual = held.map((p) => p.actual);
  return {
    trainedUntil: lastObserved.date,
    points: held,
    mae: meanAbsoluteError(actual, held.map((p) => p.predicted)),
    naiveMae: meanAbsoluteError(actual, held.map((p) => p.naive)),
    seasonalMae: meanAbsoluteError(actual, held.map((p) => p.seasonal)),
  };
}

/**
 * Backtests at up to `origins` weekly origins, the newest `days` before the last observation.
 * `fit` turns window rows into a predictor, so the same function serves both models and
 * hand-made models in tests. Older origins that leave too little training data are skipped.
 */
export function backtest(
  series: Series,
  options: { window: number; days: number; origins?: number; fit: (rows: readonly WindowRow[]) => Predictor },
): Omit<Backtest, "attribute" | "model"> {
  const { window, days } = options;
  const count = options.origins ?? BACKTEST_ORIGINS;
  const observed = trimTrailingNulls(series);
  if (observed.dates.length === 0) throw new Error("cannot backtest: the series has no values");
  const byDate = new Map(observed.dates.map((d, i) => [d, observed.values[i]]));
  const newest = addDays(observed.dates[observed.dates.length - 1], -days);
  // Each origin needs a full seed window and a week before it for the seasonal baseline.
  const earliest = addDays(observed.dates[0], Math.max(window, 7) + 1);
  const starts = Array.from({ length: count }, (_, k) => addDays(newest, -7 * (count - 1 - k))).filter((d) => d >= earliest);
  if (starts.length === 0) throw new Error(`cannot backtest: the series is too short for a ${days}-day backtest with a ${window}-day window`);
  const origins = starts.map((origin) => scoreOrigin(observed, byDate, origin, options));
  const mae = mean(origins.map((o) => o.mae));
  const naiveMae = mean(origins.map((o) => o.naiveMae));
  const seasonalMae = mean(origins.map((o) => o.seasonalMae));
  return {
    window,
    horizon: days,
    origins,
    mae,
    naiveMae,
    seasonalMae,
    relativeMae: relativeError(mae, origins.flatMap((o) => o.points.map((p) => p.actual))),
    beatsNaive: mae < naiveMae,
    beatsSeasonal: mae < seasonalMae,
  };
}

/** Reads a saved backtest JSON (written by {@link backtestRecipe}). */
export function backtestFromJson(json: unknown, label: string): Backtest {
  const b = json as Partial<Backtest> | null;
  if (!b || typeof b !== "object" || !Array.isArray(b.origins) || b.origins.length === 0 || typeof b.mae !== "number") throw new Error(`${JSON.stringify(label)} is not a saved backtest`);
  return b as Backtest;
}

/**
 * Recipe. inputs: `preprocess.table`. params: `attribute`, `window`, `model`, `days` (horizon).
 * outputs: `json` (the {@link Backtest}).
 */
export async function backtestRecipe(
  ctx: RecipeContext<{ preprocess: { table: string } }, { json: string }, { attribute: string; window: number; model: ModelKind; days: number }>,
): Promise<void> {
  const { attribute, window, model, days } = ctx.params;
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  const result = backtest(seriesOf(table, attribute), {
    window,
    days,
    fit: (rows) => predictorOf(fitModel(model, rows, { attribute })),
  });
  const saved: Backtest = { attribute, model, ...result };
  const f = (x: number) => x.toFixed(1);
  ctx.log(`${attribute} ${model} w=${window}, ${saved.origins.length} origins of ${days} days: mean MAE ${f(saved.mae)} vs naive ${f(saved.naiveMae)}, seasonal naive ${f(saved.seasonalMae)}`);
  await writeText(ctx.root, ctx.outputs.json, toJson(saved));
}
