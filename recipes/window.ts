/**
 * The `window` step: turn one attribute's daily series into a supervised table for an
 * autoregressive model. Row for day t: target v_t and lag features v_{t-1} .. v_{t-w}
 * (stride 1, one row per day).
 *
 * Lags are looked up by calendar date, not by row position, so a missing day in the source
 * makes the rows that would need it disappear instead of silently pairing values a week apart.
 * Rows with any missing or non-finite value are dropped (the lecture's `dropna()`).
 */
import type { RecipeContext } from "pipefile";
import Papa from "papaparse";
import { type Series, addDays, parseTableCsv, readText, seriesOf, writeText } from "./table.ts";

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
  ctx: RecipeContext<{ preprocess: { table: string } }, { csv: string }, { attribute: string; window: number }>,
): Promise<void> {
  const { attribute, window } = ctx.params;
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.preprocess.table), ctx.inputs.preprocess.table);
  const rows = makeWindows(seriesOf(table, attribute), window);
  if (rows.length === 0) throw new Error(`no complete ${window}-day window of ${JSON.stringify(attribute)}: the column has too few consecutive values`);
  ctx.log(`${rows.length} windows of ${window} days for ${attribute} (${rows[0].date}..${rows[rows.length - 1].date})`);
  await writeText(ctx.root, ctx.outputs.csv, formatWindowsCsv({ attribute, window, rows }));
}
