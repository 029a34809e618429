/**
 * Small helpers shared by the case-study recipes: an in-memory table, CSV text in and out,
 * calendar-day arithmetic on ISO dates, and file writes that create their parent folders.
 *
 * Tables are row-oriented and keep `null` for empty cells, so "no value" never turns into 0 or
 * NaN on the way through a CSV file.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import Papa from "papaparse";

/** One cell: a number, a text, or null for an empty cell. */
export type Cell = number | string | null;

/** A table: column names in order, and rows keyed by those names. Row `date` is `YYYY-MM-DD`. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, Cell>[];
}

/** One attribute over time: `values[i]` belongs to `dates[i]`; dates increase, one per day at most. */
export interface Series {
  readonly dates: readonly string[];
  readonly values: readonly (number | null)[];
}

/** Columns whose cells stay text in {@link parseTableCsv}; every other column is numeric. */
export const TEXT_COLUMNS: ReadonlySet<string> = new Set(["date", "country", "notes", "notes_tests", "notes_cases"]);

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` plus `n` calendar days (UTC, so no daylight-saving surprises). */
export function addDays(isoDate: string, n: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (positive when `b` is later). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** True for a real calendar date written `YYYY-MM-DD` (rejects 2021-02-30). */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === s;
}

/** Formats a number for CSV/JSON without losing precision; null and non-finite become "". */
function formatCell(c: Cell): string {
  if (c === null) return "";
  if (typeof c === "number") return Number.isFinite(c) ? String(c) : "";
  return /[",\n\r]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c;
}

/** The table as CSV text: a header line, one line per row, LF endings, a final newline. */
export function formatCsv(table: Table): string {
  const lines = [table.columns.map(formatCell).join(",")];
  for (const row of table.rows) lines.push(table.columns.map((c) => formatCell(row[c] ?? null)).join(","));
  return lines.join("\n") + "\n";
}

/**
 * Parses CSV text written by {@link formatCsv}: empty cells become null, {@link TEXT_COLUMNS}
 * stay strings, everything else must be a number. `label` names the file in error messages.
 */
export function parseTableCsv(text: string, label: string): Table {
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), { header: false, skipEmptyLines: true });
  const [header, ...body] = parsed.data;
  if (!header) throw new Error(`${JSON.stringify(label)} is empty`);
  const rows = body.map((cells, i) => {
    const row: Record<string, Cell> = {};
    header.forEach((col, j) => {
      const raw = cells[j] ?? "";
      if (raw === "") row[col] = null;
      else if (TEXT_COLUMNS.has(col)) row[col] = raw;
      else {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new Error(`${JSON.stringify(label)} line ${i + 2}, column ${JSON.stringify(col)}: ${JSON.stringify(raw)} is not a number`);
        row[col] = n;
      }
    });
    return row;
  });
  return { columns: header, rows };
}

/** The series of one numeric column, by date; a clear error when the column is not there. */
export function seriesOf(table: Table, attribute: string): Series {
  if (!table.columns.includes(attribute)) {
    throw new Error(`column ${JSON.stringify(attribute)} is not in the table; found: ${table.columns.join(", ")}`);
  }
  const dates: string[] = [];
  const values: (number | null)[] = [];
  for (const row of table.rows) {
    dates.push(String(row.date));
    const v = row[attribute];
    values.push(typeof v === "number" && Number.isFinite(v) ? v : null);
  }
  return { dates, values };
}

/** The series cut after its last non-null value, so "the last observed day" is its last date. */
export function trimTrailingNulls(series: Series): Series {
  let end = series.values.length;
  while (end > 0 && series.values[end - 1] === null) end--;
  return { dates: series.dates.slice(0, end), values: series.values.slice(0, end) };
}

/** Reads a text file given relative to the project root (or absolute). */
export async function readText(root: string, path: string): Promise<string> {
  return readFile(resolve(root, path), "utf8");
}

/** Writes a text file given relative to the project root (or absolute), creating its folders. */
export async function writeText(root: string, path: string, text: string): Promise<void> {
  const abs = resolve(root, path);
  await mkdir(dirname(abs), { recursive: true });
  await writeFile(abs, text);
}

/** JSON with a final newline and two-space indent, for outputs people read and diff. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
