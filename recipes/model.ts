/**
 * The `model` step: fit a one-step-ahead model on a window table and save it as JSON.
 *
 * - "linear": an AR model of the day-on-day changes by least squares (ml-regression-multivariate-
 *   linear): dv_t = a + sum_k c_k dv_{t-k} for the w-1 changes a w-day window holds, so
 *   v_t = v_{t-1} + a + ... (an ARIMA(w-1,1,0) with drift). The lecture's LinearRegression was
 *   fitted on levels with an intercept; over four years of waves that model is mean-reverting
 *   (its coefficients summed to 0.996 with an intercept of 874, so it settled near 218,000) and
 *   forecast total_positive rising 33,000 -> 36,000 in a week while it fell 1,000 a day. On
 *   changes the forecast continues the recent direction and only the drift a (the average
 *   change of the training data) is a long-run pull.
 * - "forest": a seeded random forest (ml-random-forest). Trees cannot extrapolate, so a forest
 *   fitted on levels predicts a flat line as soon as the series leaves its training range. It
 *   is therefore fitted on changes: it predicts v_t - v_{t-1} from the w-1 latest day-on-day
 *   changes. The lecture's GradientBoostingRegressor alternative, made usable for forecasting.
 *   It learns from the latest FOREST_ROWS days only: recent dynamics are what a next-week
 *   forecast needs, and training is quadratic in rows (the whole 4-year series took 7-15 s
 *   per fit, and a backtest fits once more).
 *
 * Models are plain JSON (never pickles): linear keeps intercept + coefficients, forest keeps the
 * library's own toJSON().
 */
import MLR from "ml-regression-multivariate-linear";
import { RandomForestRegression } from "ml-random-forest";
import type { RecipeContext } from "pipefile";
import { mean, standardDeviation } from "simple-statistics";
import { readText, toJson, writeText } from "./table.ts";
import { type WindowRow, parseWindowsCsv } from "./window.ts";

/** Model kinds, for the `model` param. */
export const MODEL_KINDS = ["linear", "forest"] as const;
/** One of {@link MODEL_KINDS}. */
export type ModelKind = (typeof MODEL_KINDS)[number];

interface ModelBase {
  readonly attribute: string;
  readonly window: number;
  /** The training rows' count and date range, for provenance. */
  readonly trainedOn: { readonly rows: number; readonly from: string; readonly to: string };
}

/**
 * AR on changes: v_t = v_{t-1} + intercept + sum_k coefficients[k] * (v_{t-k-1} - v_{t-k-2}).
 * `coefficients` has window - 1 entries; `intercept` is the drift per day.
 */
export interface LinearModel extends ModelBase {
  readonly kind: "linear";
  readonly intercept: number;
  readonly coefficients: readonly number[];
}

/** Random forest on day-on-day changes; `forest` is `RandomForestRegression#toJSON()`. */
export interface ForestModel extends ModelBase {
  readonly kind: "forest";
  readonly forest: unknown;
}

/** A saved model. */
export type Model = LinearModel | ForestModel;

/** Predicts v_t from `lags` (`lags[0]` = v_{t-1}, ..., `lags[w-1]` = v_{t-w}). */
export type Predictor = (lags: readonly number[]) => number;

/** Seed of the forest when none is given, so the same data always gives the same forest. */
export const DEFAULT_SEED = 20200224;

/** Population standard deviation, or 1 when it is 0 (a constant column is left unscaled). */
function scaleOf(xs: readonly number[]): number {
  const sd = standardDeviation(xs as number[]);
  return sd > 0 ? sd : 1;
}

function checkRows(rows: readonly WindowRow[], minExtra: number): number {
  if (rows.length === 0) throw new Error("cannot fit a model on an empty window table");
  const w = rows[0].lags.length;
  if (rows.some((r) => r.lags.length !== w)) throw new Error("window rows have different numbers of lags");
  if (rows.length < w + minExtra) throw new Error(`not enough rows to fit a ${w}-day model: have ${rows.length}, need at least ${w + minExtra}`);
  return w;
}

/**
 * Least squares fit of y = a + sum_j c_j x_j. The columns are standardised before the solve and
 * the coefficients mapped back: the library inverts XᵀX, and on raw counts in the millions with
 * nearly collinear lags that matrix is too ill-conditioned to invert accurately.
 */
export function leastSquares(X: readonly (readonly number[])[], ys: readonly number[]): { intercept: number; coefficients: number[] } {
  const p = X[0]?.length ?? 0;
  const my = mean(ys as number[]);
  if (p === 0) return { intercept: my, coefficients: [] };
  const cols = Array.from({ length: p }, (_, j) => X.map((r) => r[j]));
  const mx = cols.map((c) => mean(c));
  const sx = cols.map(scaleOf);
  const sy = scaleOf(ys);
  const Xs = X.map((r) => r.map((v, j) => (v - mx[j]) / sx[j]));
  const Ys = ys.map((y) => [(y - my) / sy]);
  const { weights } = new MLR(Xs, Ys, { intercept: true, statistics: false });
  const coefficients = Array.from({ length: p }, (_, j) => (weights[j][0] * sy) / sx[j]);
  const intercept = my + sy * weights[p][0] - coefficients.reduce((a, c, j) => a + c * mx[j], 0);
  return { intercept, coefficients };
}

/**
 * The linear model (see the module comment): least squares of the day's change on the w-1
 * latest changes before it. A 1-day window has no earlier change, so it is pure drift.
 */
export function fitLinear(rows: readonly WindowRow[]): { intercept: number; coefficients: number[] } {
  checkRows(rows, 2);
  return leastSquares(rows.map((r) => changes(r.lags)), rows.map((r) => r.target - r.lags[0]));
}

/** The features of both models: the w-1 latest day-on-day changes in a window, newest first. */
function changes(lags: readonly number[]): number[] {
  return lags.slice(0, -1).map((v, k) => v - lags[k + 1]);
}

/** How many of the latest window rows the forest learns from (see the module comment). */
export const FOREST_ROWS = 365;

/** Fits the forest on changes (see the module comment). Needs a window of at least 2 days. */
export function fitForest(rows: readonly WindowRow[], options: { seed?: number } = {}): unknown {
  const w = checkRows(rows, 2);
  if (w < 2) throw new Error("the forest model needs window >= 2 (it learns from day-on-day changes)");
  const rf = new RandomForestRegression({
    seed: options.seed ?? DEFAULT_SEED,
    // ml-cart's split search is quadratic in rows: 20 shallow trees on 365 rows take well
    // under a second (on ~1,500 rows, 7-15 s).
    nEstimators: 20,
    maxFeatures: w - 1,
    replacement: false,
    useSampleBagging: true,
    noOOB: true,
    treeOptions: { maxDepth: 6, minNumSamples: 10 },
  });
  rf.train(rows.map((r) => changes(r.lags)), rows.map((r) => r.target - r.lags[0]));
  return rf.toJSON();
}

/** Fits the model of the given kind; `attribute` is recorded for provenance. */
export function fitModel(kind: ModelKind, all: readonly WindowRow[], options: { attribute: string; seed?: number }): Model {
  const rows = kind === "forest" ? all.slice(-FOREST_ROWS) : all;
  const base: ModelBase = {
    attribute: options.attribute,
    window: rows[0]?.lags.length ?? 0,
    trainedOn: { rows: rows.length, from: rows[0]?.date ?? "", to: rows[rows.length - 1]?.date ?? "" },
  };
  if (kind === "linear") return { kind, ...base, ...fitLinear(rows) };
  if (kind === "forest") return { kind, ...base, forest: fitForest(rows, { seed: options.seed }) };
  throw new Error(`unknown model ${JSON.stringify(kind)}; expected one of ${MODEL_KINDS.join(", ")}`);
}

/** A one-step predictor for a model. Loads a forest once, so call it once per forecast. */
export function predictorOf(model: Model): Predictor {
  const check = (lags: readonly number[]) => {
    if (lags.length !== model.window) throw new Error(`the model needs ${model.window} lags, got ${lags.length}`);
  };
  if (model.kind === "linear") {
    return (lags) => {
      check(lags);
      const d = changes(lags);
      return lags[0] + model.coefficients.reduce((a, c, k) => a + c * d[k], model.intercept);
    };
  }
  const rf = RandomForestRegression.load(model.forest as Parameters<typeof RandomForestRegression.load>[0]);
  return (lags) => {
    check(lags);
    return lags[0] + rf.predict([changes(lags)])[0];
  };
}

/** Checks parsed JSON is a saved {@link Model}; errors name the file. */
export function modelFromJson(json: unknown, label: string): Model {
  const m = json as Record<string, unknown> | null;
  const bad = (why: string) => new Error(`${JSON.stringify(label)} is not a saved model: ${why}`);
  if (typeof m !== "object" || m === null) throw bad("not a JSON object");
  if (!Number.isInteger(m.window) || (m.window as number) < 1) throw bad("no window size");
  if (typeof m.attribute !== "string" || typeof m.trainedOn !== "object") throw bad("no attribute or training range");
  if (m.kind === "linear") {
    const c = m.coefficients;
    const ok = typeof m.intercept === "number" && Array.isArray(c) && c.length === (m.window as number) - 1 && c.every((x) => typeof x === "number");
    if (!ok) throw bad(`a linear model needs an intercept and ${(m.window as number) - 1} coefficients (one per day-on-day change in its ${m.window}-day window)`);
    return m as unknown as LinearModel;
  }
  if (m.kind === "forest") {
    if (typeof m.forest !== "object" || m.forest === null) throw bad("a forest model needs its forest");
    return m as unknown as ForestModel;
  }
  throw bad(`kind ${JSON.stringify(m.kind)} is not one of ${MODEL_KINDS.join(", ")}`);
}

/**
 * Recipe. inputs: `window.csv` (from `window`). params: `model` (kind).
 * outputs: `json` (the saved {@link Model}).
 */
export async function modelRecipe(ctx: RecipeContext<{ window: { csv: string } }, { json: string }, { model: ModelKind }>): Promise<void> {
  const windows = parseWindowsCsv(await readText(ctx.root, ctx.inputs.window.csv), ctx.inputs.window.csv);
  const model = fitModel(ctx.params.model, windows.rows, { attribute: windows.attribute });
  ctx.log(`${model.kind} model of ${model.attribute}, window ${model.window}, trained on ${model.trainedOn.rows} rows up to ${model.trainedOn.to}`);
  await writeText(ctx.root, ctx.outputs.json, toJson(model));
}
