/**
 * The `preprocess` step: add derived columns to the clean daily table.
 *
 * - `daily_death`, `daily_performed_tests`, `daily_recovered`: day-on-day differences of
 *   cumulative columns (the Luigi original's `diff_*`). Across a lasting upstream revision they
 *   are negative and kept so totals still add up. A one-day dip that is restored the next day
 *   (the real `tamponi` loses 27.4M on 2024-11-05 and gets them back on 2024-11-06) is a
 *   publishing glitch, not a revision: both days' differences are null (see {@link dailyChange}).
 * - `intensive_care_change`: the day-on-day change in intensive-care OCCUPANCY (people leaving
 *   and dying count too), so it is not admissions; those are `new_entries_intensive_care`.
 * - `ratio_molecular`, `ratio_antigenic`: cumulative positives / cumulative swabs of each test
 *   kind, exactly as in the lecture (kept for fidelity; a cumulative ratio barely moves).
 * - `daily_positivity` (+ `_molecular`, `_antigenic`): the share of the day's tests that were
 *   positive, from daily differences. This is the figure people actually mean by "positivity".
 *
 * Every division is guarded: a missing, zero or negative denominator gives null, never
 * Infinity or NaN; a daily share outside [0, 1] (the real file has 185.48 on 2023-08-04, when
 * the day's positives and tests come from different bookkeeping) is null too.
 */
import type { RecipeContext } from "pipefile";
import { type Cell, type Table, formatCsv, parseTableCsv, readText, writeText } from "./table.ts";

/** The columns this step adds, in output order. */
export const DERIVED_COLUMNS = [
  "daily_death",
  "daily_performed_tests",
  "daily_recovered",
  "intensive_care_change",
  "ratio_molecular",
  "ratio_antigenic",
  "daily_positivity",
  "daily_positivity_molecular",
  "daily_positivity_antigenic",
] as const;

/** Numeric attributes a trend plot or a model can use (source columns plus derived ones). */
export const ATTRIBUTES = [
  "hospitalized_with_symptoms",
  "intensive_care",
  "total_hospitalized",
  "home_confinement",
  "total_positive",
  "total_positive_change",
  "new_positives",
  "recovered",
  "death",
  "total_cases",
  "performed_tests",
  "total_people_tested",
  "new_entries_intensive_care",
  "total_positives_molecular_test",
  "total_positives_antigenic_test_rapid",
  "swabs_test_molecular",
  "swabs_test_antigenic_rapid",
  ...DERIVED_COLUMNS,
] as const;

/** One of {@link ATTRIBUTES}. */
export type Attribute = (typeof ATTRIBUTES)[number];

/** Checks a name is one of {@link ATTRIBUTES} (for list params), suggesting close matches. */
export function asAttribute(name: string): Attribute {
  if ((ATTRIBUTES as readonly string[]).includes(name)) return name as Attribute;
  const near = ATTRIBUTES.filter((a) => a.includes(name) || name.includes(a));
  const hint = near.length > 0 ? `; did you mean ${near.map((a) => JSON.stringify(a)).join(" or ")}?` : `; expected one of ${ATTRIBUTES.join(", ")}`;
  throw new Error(`unknown attribute ${JSON.stringify(name)}${hint}`);
}

type Maybe = number | null;

/** First differences: `out[i] = v[i] - v[i-1]`; null at the start and next to any null. */
export function diff(values: readonly Maybe[]): Maybe[] {
  return values.map((v, i) => {
    const prev = i > 0 ? values[i - 1] : null;
    return v === null || prev === null ? null : v - prev;
  });
}

/** `num / den`, or null when either is missing or `den` is not positive. */
export function ratio(num: Maybe, den: Maybe): Maybe {
  return num === null || den === null || !(den > 0) ? null : num / den;
}

/**
 * Day-on-day increases of a cumulative column, like {@link diff}, except around a one-day dip:
 * when day i is lower than day i-1 and day i+1 is back at or above day i-1, the value of day i
 * was a glitch, so the differences of day i (a huge drop) and day i+1 (the same huge rise) are
 * both null. A drop that is not restored the next day is a real revision and is kept.
 */
export function dailyChange(cumulative: readonly Maybe[]): Maybe[] {
  const out = diff(cumulative);
  for (let i = 1; i + 1 < cumulative.length; i++) {
    const [before, day, after] = [cumulative[i - 1], cumulative[i], cumulative[i + 1]];
    if (before !== null && day !== null && after !== null && day < before && after >= before) {
      out[i] = null;
      out[i + 1] = null;
    }
  }
  return out;
}

/**
 * Daily ratio of two cumulative columns: (today's increase of `num`) / (today's increase of
 * `den`), from {@link dailyChange}. Null when the denominator did not increase, and when the
 * share is outside [0, 1]: a negative numerator is a revision, and more positives than tests
 * means the two columns were not updated together that day.
 */
export function dailyRatio(numCumulative: readonly Maybe[], denCumulative: readonly Maybe[]): Maybe[] {
  const dn = dailyChange(numCumulative);
  const dd = dailyChange(denCumulative);
  return dn.map((n, i) => {
    const r = n === null ? null : ratio(n, dd[i]);
    return r === null || r < 0 || r > 1 ? null : r;
  });
}

function numbers(table: Table, column: string): Maybe[] {
  if (!table.columns.includes(column)) throw new Error(`column ${JSON.stringify(column)} is missing from the dataset table; found: ${table.columns.join(", ")}`);
  return table.rows.map((r) => (typeof r[column] === "number" ? (r[column] as number) : null));
}

/** The table with {@link DERIVED_COLUMNS} appended (input rows are not modified). */
export function preprocess(table: Table): Table {
  const col = (c: string) => numbers(table, c);
  const molPos = col("total_positives_molecular_test");
  const antPos = col("total_positives_antigenic_test_rapid");
  const molSwabs = col("swabs_test_molecular");
  const antSwabs = col("swabs_test_antigenic_rapid");
  const derived: Record<(typeof DERIVED_COLUMNS)[number], Maybe[]> = {
    daily_death: dailyChange(col("death")),
    daily_performed_tests: dailyChange(col("performed_tests")),
    daily_recovered: dailyChange(col("recovered")),
    intensive_care_change: diff(col("intensive_care")),
    ratio_molecular: molPos.map((p, i) => ratio(p, molSwabs[i])),
    ratio_antigenic: antPos.map((p, i) => ratio(p, antSwabs[i])),
    daily_positivity: dailyRatio(col("total_cases"), col("performed_tests")),
    daily_positivity_molecular: dailyRatio(molPos, molSwabs),
    daily_positivity_antigenic: dailyRatio(antPos, antSwabs),
  };
  const rows = table.rows.map((row, i) => {
    const out: Record<string, Cell> = { ...row };
    for (const c of DERIVED_COLUMNS) out[c] = derived[c][i];
    return out;
  });
  return { columns: [...table.columns.filter((c) => !(DERIVED_COLUMNS as readonly string[]).includes(c)), ...DERIVED_COLUMNS], rows };
}

/** Recipe. inputs: `dataset.table` (CSV from `dataset`). outputs: `table` (CSV with derived columns). */
export async function preprocessRecipe(ctx: RecipeContext<{ dataset: { table: string } }, { table: string }>): Promise<void> {
  const table = parseTableCsv(await readText(ctx.root, ctx.inputs.dataset.table), ctx.inputs.dataset.table);
  const out = preprocess(table);
  ctx.log(`added ${DERIVED_COLUMNS.length} columns to ${out.rows.length} rows`);
  await writeText(ctx.root, ctx.outputs.table, formatCsv(out));
}
