/**
 * The `window` step: turn one attribute's daily series into a supervised table for an
 * autoregressive model. Row for day t: target v_t and lag features v_{t-1} .. v_{t-w}
 * (stride 1, one row per day).
 *
 * Lags are looked up by calendar date, not by row position, so a missing day in the source
 * makes the rows that would need it disappear instead of silently pairing values a week apart.
 * Rows with any missing or non-finite value are dropped (the lecture's `dropna()`).
 *
 * The table is the model's TRAINING data, so it is cut at a weekly cutoff (`refit` = "weekly",
 * the default): rows dated after the Monday on or before the series' last observed day are
 * left out. A new day of data inside the same week then gives the same bytes, and pipe's early
 * cutoff keeps the fitted `model` up to date instead of refitting it: the model is refit once a
 * week, with the first data dated on a Monday, while the daily report still forecasts from the
 * newest day. `refit` = "daily" trains on every day (what a "retrain recommended" calls for).
 */
import type { RecipeContext } from "pipefile";
import Papa from "papaparse";
import { type Series, addDays, parseTableCsv, readText, seriesOf, trimTrailingNulls, writeText } from "./table.ts";

/** How often the model is refit (see the module comment). */
export const REFIT_KINDS = ["weekly", "daily"] as const;
/** One of {@link REFIT_KINDS}. */
export type Refit = (typeof REFIT_KINDS)[number];

/** The Monday on or before `isoDate`. */
export function mondayOnOrBefore(isoDate: string): string {
  const weekday = new Date(`${isoDate}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(isoDate, -((weekday + 6) % 7));
}

/** The last day the model may train on: the Monday on or before the last observed day ("weekly"), or that day ("daily"). */
export function trainingCutoff(series: Series, refit: Refit): string | undefined {
  const observed = trimTrailingNulls(series);
  const last = observed.dates[observed.dates.length - 1];
  if (last === undefined) return undefined;
  return refit === "weekly" ? mondayOnOrBefore(last) : last;
}

/** One training example: `lags[k]` is the value k+1 days before `date`. */
export interface WindowRow {
  readonly date: string;
  readonly target: number;
  readonly lags: readonly number[];
}

/** A windowed table for one attribute and window size. */
export interface Windows {
  readonly attribute: string;
  readonly window: number;
  readonly rows: readonly WindowRow[];
}

/** Column names of the lag features, `v_t-1` .. `v_t-w` (the lecture's names). */
export function lagColumns(window: number): string[] {
  return Array.from({ length: window }, (_, k) => `v_t-${k + 1}`);
}

function checkWindow(window: number): void {
  if (!Number.isInteger(window) || window < 1) throw new Error(`window must be a whole number of days >= 1, got ${window}`);
}

/** Every day with a finite value and finite values on each of the `window` days before it. */
export function makeWindows(series: Series, window: number): WindowRow[] {
  checkWindow(window);
  const byDate = new Map<string, number>();
  series.dates.forEach((d, i) => {
    const v = series.values[i];
    if (v !== null && Number.isFinite(v)) byDate.set(d, v);
  });
  const rows: WindowRow[] = [];
  for (const date of series.dates) {
    const target = byDate.get(date);
    if (target === undefined) continue;
    const lags: number[] = [];
    for (let k = 1; k <= window; k++) {
      const v = byDate.get(addDays(date, -k));
      if (v === undefined) break;
      lags.push(v);
    }
    if (lags.length === window) rows.push({ date, target, lags });
  }
  return rows;
}

/** CSV with columns `date`, the attribute (target), then `v_t-1` .. `v_t-w`. */
export function formatWindowsCsv(w: Windows): string {
  const header = ["date", w.attribute, ...lagColumns(w.window)];
  return [header.join(","), ...w.rows.map((r) => [r.date, r.target, ...r.lags].join(","))].join("\n") + "\n";
}

/** Reads a CSV written by {@link formatWindowsCsv}; errors name the file. */
export function parseWindowsCsv(text: string, label: string): Windows {
  const { data } = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true });
  const [header, ...body] = data;
  if (!header || header.length < 3 || header[0] !== "date") throw new Error(`${JSON.stringify(label)} is not a window table (expected columns date, <attribute>, v_t-1, ...)`);
  const window = header.length - 2;
  if (header.slice(2).join(",") !== lagColumns(window).join(",")) throw new Error(`${JSON.stringify(label)}: lag columns must be ${lagColumns(window).join(", ")}`);
  const rows = body.map((cells, i) => {
    const nums = cells.slice(1).map(Number);
    if (cells.length !== header.length || nums.some((n) => !Number.isFinite(n))) throw new Error(`${JSON.stringify(label)} line ${i + 2}: expected ${header.length - 1} numbers after the date`);
    return { date: cells[0], target: nums[0], lags: nums.slice(1) };
  });
  return { attribute: header[1], window, rows };
}

/**
 * Recipe. inputs: `preprocess.table`. params: `attribute`, `window`.
 * outputs: `csv` (the window table, {@link formatWindowsCsv}).
 */
export async function windowRecipe(
  ctx: RecipeContext<{ preprocess: { table: string } }, { csv: string }, { attribute: string; window: number; refit: Refit }>,
): Promise<void> {
  const { attribute, window, refit } = ctx.params;
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  const series = seriesOf(table, attribute);
  const cutoff = trainingCutoff(series, refit);
  const rows = makeWindows(series, window).filter((r) => cutoff !== undefined && r.date <= cutoff);
  if (rows.length === 0) throw new Error(`no complete ${window}-day window of ${JSON.stringify(attribute)} up to ${cutoff ?? "its last value"}: the column has too few consecutive values`);
  ctx.log(`${rows.length} windows of ${window} days for ${attribute} (${rows[0].date}..${rows[rows.length - 1].date}; ${refit} refit, cut at ${cutoff})`);
  await writeText(ctx.root, ctx.outputs.csv, formatWindowsCsv({ attribute, window, rows }));
}
