/**
 * The `backtest` step: how good would last week's forecast have been?
 *
 * Hold out the last h observed days (h = `days`), train on everything up to T-h, forecast h
 * days with the same recursive procedure as `forecast`, and compare with what happened: MAE and
 * MAPE, next to a naive baseline that repeats the last training value. A model that cannot beat
 * "tomorrow looks like today" is not worth its complexity.
 */
import type { RecipeContext } from "pipefile";
import { forecastSeries } from "./forecast.ts";
import { type ModelKind, type Predictor, fitModel, predictorOf } from "./model.ts";
import { type Series, addDays, parseTableCsv, readText, seriesOf, toJson, trimTrailingNulls, writeText } from "./table.ts";
import { type WindowRow, makeWindows } from "./window.ts";

/** One held-out day. */
export interface BacktestPoint {
  readonly date: string;
  readonly actual: number;
  readonly predicted: number;
  /** The naive baseline: the last training value. */
  readonly naive: number;
}

/** A saved backtest. MAPE is in percent and null when every actual is 0. */
export interface Backtest {
  readonly attribute: string;
  readonly window: number;
  readonly model: ModelKind;
  readonly horizon: number;
  /** The last day the model saw. */
  readonly trainedUntil: string;
  readonly points: readonly BacktestPoint[];
  readonly mae: number;
  readonly mape: number | null;
  readonly naiveMae: number;
  readonly naiveMape: number | null;
  /** True when the model's MAE is strictly lower than the naive baseline's. */
  readonly beatsNaive: boolean;
}

function checkPairs(actual: readonly number[], predicted: readonly number[]): void {
  if (actual.length === 0 || actual.length !== predicted.length) throw new Error(`need as many predictions as actuals (got ${predicted.length} and ${actual.length}), at least one`);
}

/** Mean absolute error. */
export function meanAbsoluteError(actual: readonly number[], predicted: readonly number[]): number {
  checkPairs(actual, predicted);
  return actual.reduce((a, y, i) => a + Math.abs(y - predicted[i]), 0) / actual.length;
}

/** Mean absolute percentage error, in percent; days whose actual is 0 are skipped (null if all are). */
export function meanAbsolutePercentageError(actual: readonly number[], predicted: readonly number[]): number | null {
  checkPairs(actual, predicted);
  const terms = actual.flatMap((y, i) => (y === 0 ? [] : [Math.abs((y - predicted[i]) / y)]));
  return terms.length === 0 ? null : (100 * terms.reduce((a, b) => a + b, 0)) / terms.length;
}

/**
 * Backtests on the last `days` observed days. `fit` turns window rows into a predictor, so the
 * same function serves the linear and the forest model and hand-made models in tests.
 */
export function backtest(
  series: Series,
  options: { window: number; days: number; fit: (rows: readonly WindowRow[]) => Predictor },
): Omit<Backtest, "attribute" | "model"> {
  const { window, days } = options;
  const observed = trimTrailingNulls(series);
  if (observed.dates.length === 0) throw new Error("cannot backtest: the series has no values");
  const last = observed.dates[observed.dates.length - 1];
  const cutoff = addDays(last, -days);
  const keep = observed.dates.map((d) => d <= cutoff);
  const train: Series = { dates: observed.dates.filter((_, i) => keep[i]), values: observed.values.filter((_, i) => keep[i]) };
  const rows = makeWindows(train, window);
  const predict = options.fit(rows);
  const { lastObserved, points } = forecastSeries(train, predict, { window, days });
  const byDate = new Map(observed.dates.map((d, i) => [d, observed.values[i]]));
  const held = points.map((p) => {
    const actual = byDate.get(p.date);
    if (actual === null || actual === undefined) throw new Error(`cannot backtest: no actual value on ${p.date}`);
    return { date: p.date, actual, predicted: p.value, naive: lastObserved.value };
  });
  const actual = held.map((p) => p.actual);
  const mae = meanAbsoluteError(actual, held.map((p) => p.predicted));
  const naiveMae = meanAbsoluteError(actual, held.map((p) => p.naive));
  return {
    window,
    horizon: days,
    trainedUntil: lastObserved.date,
    points: held,
    mae,
    mape: meanAbsolutePercentageError(actual, held.map((p) => p.predicted)),
    naiveMae,
    naiveMape: meanAbsolutePercentageError(actual, held.map((p) => p.naive)),
    beatsNaive: mae < naiveMae,
  };
}

/** Reads a saved backtest JSON (written by {@link backtestRecipe}). */
export function backtestFromJson(json: unknown, label: string): Backtest {
  const b = json as Partial<Backtest> | null;
  if (!b || typeof b !== "object" || !Array.isArray(b.points) || typeof b.mae !== "number") throw new Error(`${JSON.stringify(label)} is not a saved backtest`);
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
  ctx.log(`${attribute} ${model} w=${window}: MAE ${saved.mae.toFixed(1)} vs naive ${saved.naiveMae.toFixed(1)} over ${days} days after ${saved.trainedUntil}`);
  await writeText(ctx.root, ctx.outputs.json, toJson(saved));
}
