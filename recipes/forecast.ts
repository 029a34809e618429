/**
 * The `forecast` step: recursive multi-step prediction of the next `days` days.
 *
 * Step 1 predicts the day after the last observed day from the `window` values ENDING ON that
 * last observed day; each later step feeds the previous predictions back in as lags.
 *
 * Regression fixed here: the Luigi original sliced its seed window with
 * `df[start_date:end_date]` on a timestamp index (rows at 17:00) with a bare end *date*
 * (midnight), so the last observed row fell outside the slice. Its "first forecast day" was
 * labelled as the day after the last observation but was computed from a window ending the day
 * before it, i.e. it really predicted the last observed day again, and every label was off by
 * one. Dates here are calendar days and the seed is checked to end on the last observation.
 *
 * A series that was never negative (a count: people, tests, deaths) is forecast no lower than 0:
 * a model of changes continues a fall past zero (the forest gave -955 .. -12,050 currently
 * positive people 30 days ahead). The clamped value is also what later steps see as a lag.
 * Series that can be negative (day-on-day changes) are not clamped.
 */
import type { RecipeContext } from "pipefile";
import { type ModelKind, type Predictor, modelFromJson, predictorOf } from "./model.ts";
import { type Series, addDays, parseTableCsv, readText, seriesOf, toJson, trimTrailingNulls, writeText } from "./table.ts";

/** One predicted day; `lags` are the inputs used (`lags[0]` = the day before `date`). */
export interface ForecastPoint {
  readonly date: string;
  readonly value: number;
  readonly lags: readonly number[];
}

/** A saved forecast. */
export interface Forecast {
  readonly attribute: string;
  readonly window: number;
  readonly model: ModelKind;
  /** The last day with a value; the first forecast day is the day after it. */
  readonly lastObserved: { readonly date: string; readonly value: number };
  /** 0 when every observed value is >= 0 (a count, so forecasts are clamped there); else null. */
  readonly lowerBound: number | null;
  readonly points: readonly ForecastPoint[];
}

/** 0 for a series with no negative value (a count), null for one that can be negative. */
export function lowerBoundOf(series: Series): number | null {
  return series.values.some((v) => v !== null && v < 0) ? null : 0;
}

/**
 * The seed window: the `window` values ending on the last observed (non-null) day, newest
 * first, so `lags[0]` is the last observed value. Errors when a day of that window is missing.
 */
export function seedLags(series: Series, window: number): { lastDate: string; lags: number[] } {
  const observed = trimTrailingNulls(series);
  if (observed.dates.length === 0) throw new Error("cannot forecast: the series has no values");
  const byDate = new Map<string, number | null>(observed.dates.map((d, i) => [d, observed.values[i]]));
  const lastDate = observed.dates[observed.dates.length - 1];
  const lags: number[] = [];
  for (let k = 0; k < window; k++) {
    const day = addDays(lastDate, -k);
    const v = byDate.get(day);
    if (v === null || v === undefined || !Number.isFinite(v)) {
      throw new Error(`cannot forecast: no value on ${day}, which the ${window}-day window ending on the last observed day ${lastDate} needs`);
    }
    lags.push(v);
  }
  return { lastDate, lags };
}

/**
 * Predicts `days` days after the last observed day, feeding predictions back as lags.
 * Pure: `predict` is the model (see {@link predictorOf}).
 */
export function forecastSeries(series: Series, predict: Predictor, options: { window: number; days: number }): Pick<Forecast, "lastObserved" | "lowerBound" | "points"> {
  const { window, days } = options;
  const lowerBound = lowerBoundOf(series);
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a whole number >= 1, got ${days}`);
  const seed = seedLags(series, window);
  let lags = seed.lags;
  const points: ForecastPoint[] = [];
  for (let i = 1; i <= days; i++) {
    const raw = predict(lags);
    if (!Number.isFinite(raw)) throw new Error(`the model predicted ${raw} for ${addDays(seed.lastDate, i)}`);
    const value = lowerBound === null ? raw : Math.max(lowerBound, raw);
    points.push({ date: addDays(seed.lastDate, i), value, lags });
    lags = [value, ...lags.slice(0, -1)];
  }
  return { lastObserved: { date: seed.lastDate, value: seed.lags[0] }, lowerBound, points };
}

/** Reads a saved forecast JSON (written by {@link forecastRecipe}). */
export function forecastFromJson(json: unknown, label: string): Forecast {
  const f = json as Partial<Forecast> | null;
  if (!f || typeof f !== "object" || !Array.isArray(f.points) || !f.lastObserved || typeof f.attribute !== "string") {
    throw new Error(`${JSON.stringify(label)} is not a saved forecast`);
  }
  return f as Forecast;
}

/**
 * Recipe. inputs: `model.json` (from `model`), `preprocess.table`. params: `days`.
 * outputs: `json` (the {@link Forecast}; the attribute and window come from the model).
 */
export async function forecastRecipe(
  ctx: RecipeContext<{ model: { json: string }; preprocess: { table: string } }, { json: string }, { days: number }>,
): Promise<void> {
  const model = modelFromJson(JSON.parse(await readText(ctx.root, ctx.inputs.model.json)), ctx.inputs.model.json);
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  const series = seriesOf(table, model.attribute);
  const result = forecastSeries(series, predictorOf(model), { window: model.window, days: ctx.params.days });
  const forecast: Forecast = { attribute: model.attribute, window: model.window, model: model.kind, ...result };
  ctx.log(`${model.attribute}: ${forecast.points.length} days from ${forecast.points[0].date} (last observed ${forecast.lastObserved.date})`);
  await writeText(ctx.root, ctx.outputs.json, toJson(forecast));
}
