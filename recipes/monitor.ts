/**
 * The `monitor` step: should the weekly model be refit now rather than with next week's data?
 * (The model trains on data up to a Monday, recipes/window.ts; the forecast runs daily from it.)
 * Three checks, each with a written rule:
 *
 * 1. Input drift. Daily changes of the attribute over the last `recentDays` days, compared with
 *    the `referenceDays` days before them, as a standardised mean shift:
 *        shift = |mean(recent) - mean(reference)| / sd(reference).
 *    Drift when shift > `inputShift` (default 1: the recent week moved by more than one typical
 *    daily fluctuation on average; for independent noise a 7-day mean exceeds that by chance
 *    about 1% of the time). Daily changes, not levels, because levels of an epidemic trend by
 *    design; both windows are whole weeks so the weekday reporting pattern cancels out.
 * 2. Output drift. The current forecast against the previous one (the forecast made `days`
 *    earlier, which `backtest` reproduces): the difference of their mean daily steps, in units
 *    of sd(reference daily changes). Drift when > `outputShift` (default 1).
 * 3. Quality on new data: the saved model forecasts from the last day it trained on, and is
 *    scored on the days observed since (at most `days`). Its MAE divided by the MAE of repeating
 *    that last training value on the same days (a MASE against the naive baseline) must stay
 *    <= `maxErrorRatio` (default 1: no worse than the naive baseline). The ratio is scale-free
 *    and fine for series that are signed or near zero, where a percentage error is not (MAPE
 *    was 175% on total_positive_change and 152% on the ICU change, warning every day). Fewer
 *    than `minNewDays` new days are too few to judge, and the check passes saying so.
 *
 * Retrain is recommended when any check fails; each failure adds a plain-language reason.
 */
import type { RecipeContext } from "pipefile";
import { mean, sampleStandardDeviation } from "simple-statistics";
import { type Backtest, backtestFromJson, meanAbsoluteError, relativeError } from "./backtest.ts";
import { type Forecast, forecastFromJson, forecastSeries } from "./forecast.ts";
import { type Model, modelFromJson, predictorOf } from "./model.ts";
import { type Series, parseTableCsv, readText, seriesOf, toJson, trimTrailingNulls, writeText } from "./table.ts";

/** Thresholds and window lengths of the monitoring rules (see the module comment). */
export interface MonitorRules {
  readonly recentDays: number;
  readonly referenceDays: number;
  readonly inputShift: number;
  readonly outputShift: number;
  /** Largest acceptable MAE on new data / naive MAE on the same days. */
  readonly maxErrorRatio: number;
  /** Fewer new days than this are not judged. */
  readonly minNewDays: number;
}

/** The rules the pipeline uses. */
export const DEFAULT_RULES: MonitorRules = { recentDays: 7, referenceDays: 28, inputShift: 1, outputShift: 1, maxErrorRatio: 1, minNewDays: 3 };

/** Rule 3: the saved model on the days observed since its training data ends. */
export interface Quality {
  /** The last day the model trained on. */
  readonly trainedUntil: string;
  /** Observed days scored after it (at most the horizon). */
  readonly days: number;
  /** Null when no day was scored. */
  readonly mae: number | null;
  readonly naiveMae: number | null;
  /** mae / naiveMae; null when no day was scored or the naive baseline was exact. */
  readonly errorRatio: number | null;
  /** mae / mean |actual|, shown for scale. */
  readonly relativeMae: number | null;
  readonly ok: boolean;
}

/** One drift check: the statistic, its threshold and the verdict. */
export interface DriftCheck {
  readonly statistic: number;
  readonly threshold: number;
  readonly drifted: boolean;
}

/** What `monitor` writes. */
export interface MonitorReport {
  readonly attribute: string;
  readonly asOf: string;
  readonly rules: MonitorRules;
  readonly inputDrift: DriftCheck & {
    readonly recent: { readonly from: string; readonly to: string; readonly mean: number };
    readonly reference: { readonly from: string; readonly to: string; readonly mean: number; readonly sd: number };
  };
  readonly outputDrift: DriftCheck & { readonly currentMeanStep: number; readonly previousMeanStep: number };
  readonly quality: Quality;
  readonly retrain: boolean;
  readonly reasons: readonly string[];
}

/** Sample standard deviation, floored at a tiny fraction of the mean's size so it is never 0. */
function spread(xs: readonly number[]): number {
  const sd = xs.length > 1 ? sampleStandardDeviation(xs as number[]) : 0;
  return Math.max(sd, 1e-9 * Math.max(1, Math.abs(mean(xs as number[]))));
}

/** |mean(recent) - mean(reference)| / sd(reference), the shift in "typical fluctuations". */
export function standardizedMeanShift(reference: readonly number[], recent: readonly number[]): number {
  if (reference.length < 2 || recent.length === 0) throw new Error("need at least 2 reference values and 1 recent value");
  return Math.abs(mean(recent as number[]) - mean(reference as number[])) / spread(reference);
}

/** Day-on-day changes over the last `recent + reference` days, split into the two windows. */
export function recentChanges(series: Series, rules: MonitorRules): { dates: string[]; reference: number[]; recent: number[] } {
  const s = trimTrailingNulls(series);
  const need = rules.recentDays + rules.referenceDays + 1;
  const values = s.values.slice(-need);
  const dates = s.dates.slice(-need);
  if (values.length < need || values.some((v) => v === null)) {
    throw new Error(`monitoring needs ${need} consecutive observed days (the last ${rules.recentDays} plus ${rules.referenceDays} of reference plus 1)`);
  }
  const changes = (values as number[]).slice(1).map((v, i) => v - (values[i] as number));
  return { dates: dates.slice(1), reference: changes.slice(0, rules.referenceDays), recent: changes.slice(rules.referenceDays) };
}

/** Input drift of the series' daily changes (rule 1). */
export function inputDrift(series: Series, rules: MonitorRules = DEFAULT_RULES): MonitorReport["inputDrift"] {
  const { dates, reference, recent } = recentChanges(series, rules);
  const statistic = standardizedMeanShift(reference, recent);
  return {
    statistic,
    threshold: rules.inputShift,
    drifted: statistic > rules.inputShift,
    recent: { from: dates[rules.referenceDays], to: dates[dates.length - 1], mean: mean(recent) },
    reference: { from: dates[0], to: dates[rules.referenceDays - 1], mean: mean(reference), sd: spread(reference) },
  };
}

/** Mean daily step of a path that starts at `start` and then takes `values`. */
function meanStep(start: number, values: readonly number[]): number {
  return (values[values.length - 1] - start) / values.length;
}

/** Output drift between the current and the previous forecast (rule 2), scaled by `scale`. */
export function outputDrift(
  current: { start: number; values: readonly number[] },
  previous: { start: number; values: readonly number[] },
  scale: number,
  rules: MonitorRules = DEFAULT_RULES,
): MonitorReport["outputDrift"] {
  if (current.values.length === 0 || previous.values.length === 0) throw new Error("output drift needs two non-empty forecasts");
  const currentMeanStep = meanStep(current.start, current.values);
  const previousMeanStep = meanStep(previous.start, previous.values);
  const statistic = Math.abs(currentMeanStep - previousMeanStep) / Math.max(scale, 1e-9);
  return { statistic, threshold: rules.outputShift, drifted: statistic > rules.outputShift, currentMeanStep, previousMeanStep };
}

/**
 * Rule 3: forecasts with `model` from the last day it trained on and scores the observed days
 * after it, up to `horizon`, against repeating that day's value.
 */
export function qualitySinceTraining(series: Series, model: Model, horizon: number, rules: MonitorRules = DEFAULT_RULES): Quality {
  const trainedUntil = model.trainedOn.to;
  const observed = trimTrailingNulls(series);
  const keep = observed.dates.map((d) => d <= trainedUntil);
  const train: Series = { dates: observed.dates.filter((_, i) => keep[i]), values: observed.values.filter((_, i) => keep[i]) };
  const byDate = new Map(observed.dates.map((d, i) => [d, observed.values[i]]));
  const newDays = Math.min(horizon, observed.dates.filter((d) => d > trainedUntil).length);
  const none: Quality = { trainedUntil, days: 0, mae: null, naiveMae: null, errorRatio: null, relativeMae: null, ok: true };
  if (newDays === 0) return none;
  const { lastObserved, points } = forecastSeries(train, predictorOf(model), { window: model.window, days: newDays });
  const scored = points.flatMap((p) => {
    const actual = byDate.get(p.date);
    return actual === null || actual === undefined ? [] : [{ actual, predicted: p.value }];
  });
  if (scored.length === 0) return none;
  const actual = scored.map((p) => p.actual);
  const mae = meanAbsoluteError(actual, scored.map((p) => p.predicted));
  const naiveMae = meanAbsoluteError(actual, actual.map(() => lastObserved.value));
  const errorRatio = naiveMae > 0 ? mae / naiveMae : null;
  const judged = scored.length >= rules.minNewDays;
  const ok = !judged || (errorRatio === null ? mae === 0 : errorRatio <= rules.maxErrorRatio);
  return { trainedUntil, days: scored.length, mae, naiveMae, errorRatio, relativeMae: relativeError(mae, actual), ok };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** The retrain verdict and its reasons, in plain words (rule 3 and the summary). */
export function recommendRetrain(checks: Pick<MonitorReport, "inputDrift" | "outputDrift" | "quality">, rules: MonitorRules, horizon: number): { retrain: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const { inputDrift: i, outputDrift: o, quality: q } = checks;
  if (i.drifted) {
    reasons.push(`input drift: over the last ${rules.recentDays} days the series changed by ${fmt(i.recent.mean)} per day on average, against ${fmt(i.reference.mean)} in the ${rules.referenceDays} days before (a shift of ${fmt(i.statistic)} standard deviations; the limit is ${rules.inputShift})`);
  }
  if (o.drifted) {
    reasons.push(`output drift: the forecast's average daily change is ${fmt(o.currentMeanStep)}, against ${fmt(o.previousMeanStep)} in the forecast made ${horizon} days earlier (${fmt(o.statistic)} standard deviations; the limit is ${rules.outputShift})`);
  }
  if (!q.ok && q.mae !== null && q.naiveMae !== null) {
    const ratio = q.errorRatio === null ? "" : ` (${q.errorRatio.toFixed(2)} times its error; the limit is ${rules.maxErrorRatio})`;
    reasons.push(`quality: on the ${q.days} day(s) since the model's training data ends (${q.trainedUntil}), its mean absolute error (${fmt(q.mae)}) is worse than repeating the last value it saw (${fmt(q.naiveMae)})${ratio}`);
  }
  return { retrain: reasons.length > 0, reasons };
}

/** Runs the three checks on a series, the saved model, its current forecast and its backtest. */
export function monitor(input: { series: Series; model: Model; forecast: Forecast; backtest: Backtest; rules?: MonitorRules }): MonitorReport {
  const rules = input.rules ?? DEFAULT_RULES;
  const { forecast: f, backtest: b } = input;
  if (f.attribute !== b.attribute) throw new Error(`the forecast is of ${JSON.stringify(f.attribute)} but the backtest of ${JSON.stringify(b.attribute)}`);
  const inDrift = inputDrift(input.series, rules);
  const previous = b.origins[b.origins.length - 1];
  const outDrift = outputDrift(
    { start: f.lastObserved.value, values: f.points.map((p) => p.value) },
    { start: previous.points[0]?.naive ?? NaN, values: previous.points.map((p) => p.predicted) },
    inDrift.reference.sd,
    rules,
  );
  const quality = qualitySinceTraining(input.series, input.model, b.horizon, rules);
  const verdict = recommendRetrain({ inputDrift: inDrift, outputDrift: outDrift, quality }, rules, b.horizon);
  return { attribute: f.attribute, asOf: f.lastObserved.date, rules, inputDrift: inDrift, outputDrift: outDrift, quality, ...verdict };
}

/** Reads a saved monitor report (written by {@link monitorRecipe}). */
export function monitorFromJson(json: unknown, label: string): MonitorReport {
  const m = json as Partial<MonitorReport> | null;
  if (!m || typeof m !== "object" || typeof m.retrain !== "boolean" || !Array.isArray(m.reasons)) throw new Error(`${JSON.stringify(label)} is not a saved monitor report`);
  return m as MonitorReport;
}

/**
 * Recipe. inputs: `preprocess.table`, `model.json`, `forecast.json`, `backtest.json` (same attribute).
 * outputs: `json` (the {@link MonitorReport}).
 */
export async function monitorRecipe(
  ctx: RecipeContext<{ preprocess: { table: string }; model: { json: string }; forecast: { json: string }; backtest: { json: string } }, { json: string }>,
): Promise<void> {
  const { preprocess: p, model: m, forecast: f, backtest: b } = ctx.inputs;
  const model = modelFromJson(JSON.parse(await readText(ctx.root, m.json)), m.json);
  const forecast = forecastFromJson(JSON.parse(await readText(ctx.root, f.json)), f.json);
  const backtest = backtestFromJson(JSON.parse(await readText(ctx.root, b.json)), b.json);
  const series = seriesOf(parseTableCsv(await readText(ctx.root, p.table), p.table), forecast.attribute);
  const report = monitor({ series, model, forecast, backtest });
  ctx.log(report.retrain ? `retrain recommended: ${report.reasons.length} reason(s)` : "no retrain needed");
  await writeText(ctx.root, ctx.outputs.json, toJson(report));
}
