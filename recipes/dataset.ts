/**
 * The `dataset` step: read the Protezione Civile national CSV (a local file or an http(s) URL),
 * check it, and write a clean table with English column names, one row per day (`YYYY-MM-DD`),
 * cut at the `version` as-of date, plus a metadata file (source, sha256, rows, dates, revisions).
 *
 * Why validate here: the Luigi original trusted `pd.read_csv(url)`; a renamed column or a bad
 * cell then surfaced as a KeyError or a NaN plot three steps later. Here every problem names the
 * file, the line, the column and the value, and all of them are reported at once.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import Papa from "papaparse";
import type { RecipeContext } from "pipefile";
import { type Cell, type Table, daysBetween, formatCsv, isIsoDate, toJson, writeText } from "./table.ts";

/** How a source column is checked: required/optional number, text, or the bulletin timestamp. */
type ColumnKind = "date" | "text" | "required" | "optional";

/** The 24 source columns in file order: Italian name, the case study's English name, kind. */
export const COLUMNS: readonly { readonly ita: string; readonly eng: string; readonly kind: ColumnKind }[] = [
  { ita: "data", eng: "date", kind: "date" },
  { ita: "stato", eng: "country", kind: "text" },
  { ita: "ricoverati_con_sintomi", eng: "hospitalized_with_symptoms", kind: "required" },
  { ita: "terapia_intensiva", eng: "intensive_care", kind: "required" },
  { ita: "totale_ospedalizzati", eng: "total_hospitalized", kind: "required" },
  { ita: "isolamento_domiciliare", eng: "home_confinement", kind: "required" },
  { ita: "totale_positivi", eng: "total_positive", kind: "required" },
  { ita: "variazione_totale_positivi", eng: "total_positive_change", kind: "required" },
  { ita: "nuovi_positivi", eng: "new_positives", kind: "required" },
  { ita: "dimessi_guariti", eng: "recovered", kind: "required" },
  { ita: "deceduti", eng: "death", kind: "required" },
  { ita: "casi_da_sospetto_diagnostico", eng: "positive_cases_from_clinical_activity", kind: "optional" },
  { ita: "casi_da_screening", eng: "screening_cases", kind: "optional" },
  { ita: "totale_casi", eng: "total_cases", kind: "required" },
  { ita: "tamponi", eng: "performed_tests", kind: "required" },
  { ita: "casi_testati", eng: "total_people_tested", kind: "optional" },
  { ita: "note", eng: "notes", kind: "text" },
  { ita: "ingressi_terapia_intensiva", eng: "new_entries_intensive_care", kind: "optional" },
  { ita: "note_test", eng: "notes_tests", kind: "text" },
  { ita: "note_casi", eng: "notes_cases", kind: "text" },
  { ita: "totale_positivi_test_molecolare", eng: "total_positives_molecular_test", kind: "optional" },
  { ita: "totale_positivi_test_antigenico_rapido", eng: "total_positives_antigenic_test_rapid", kind: "optional" },
  { ita: "tamponi_test_molecolare", eng: "swabs_test_molecular", kind: "optional" },
  { ita: "tamponi_test_antigenico_rapido", eng: "swabs_test_antigenic_rapid", kind: "optional" },
];

/** Cumulative columns (English names): they should never go down, so a drop is a revision. */
export const CUMULATIVE_COLUMNS: readonly string[] = [
  "recovered", "death", "total_cases", "performed_tests", "total_people_tested",
  "total_positives_molecular_test", "total_positives_antigenic_test_rapid", "swabs_test_molecular", "swabs_test_antigenic_rapid",
];

/** A cumulative value lower than the one before it: the publisher revised the series. */
export interface Revision {
  readonly column: string;
  readonly date: string;
  readonly previousDate: string;
  readonly previous: number;
  readonly value: number;
}

/** What `dataset` records about the data it kept; shown at the top of the report. */
export interface DatasetMeta {
  readonly source: string;
  /** sha256 of the source bytes, before any cut: identifies the exact upstream file. */
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
  readonly firstDate: string;
  readonly lastDate: string;
  /** Rows in the source dated after the requested as-of version (ignored). */
  readonly rowsAfterVersion: number;
  /** Missing calendar days between kept rows (windows skip them). */
  readonly gaps: readonly { readonly after: string; readonly missingDays: number }[];
  readonly revisions: readonly Revision[];
  /** Columns in the source that are not in the schema (ignored). */
  readonly extraColumns: readonly string[];
  /** True when the source is the invented series shipped in data/ ({@link SYNTHETIC_SOURCE}). */
  readonly synthetic: boolean;
}

/** The project's synthetic stand-in for the real file (see data/README.md): invented numbers. */
export const SYNTHETIC_SOURCE = "data/dpc-covid19-ita-andamento-nazionale.csv";

/**
 * True when `source` is the shipped synthetic file. Judged by path: the file has the real
 * schema and nothing in it can say it is invented, so a real file copied over it would be
 * labelled synthetic too (the safe direction to be wrong in).
 */
export function isSyntheticSource(source: string, root: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && resolve(root, source) === resolve(root, SYNTHETIC_SOURCE);
}

/** How many row problems one error message lists before summarising the rest. */
const MAX_LISTED = 20;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$/;

/** Hex sha256 of the source bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Parses and checks the source text, keeps the rows dated on or before `version`, renames the
 * columns to English and lists revisions. Throws one Error listing every problem found.
 */
export function parseDataset(text: string, options: { source: string; version: string }): { table: Table; meta: Omit<DatasetMeta, "sha256" | "bytes" | "synthetic"> } {
  const { source, version } = options;
  const where = JSON.stringify(source);
  if (!isIsoDate(version)) throw new Error(`version ${JSON.stringify(version)} is not a date; expected YYYY-MM-DD`);
  if (text.trim() === "") throw new Error(`${where} is empty: expected a CSV header and one row per day`);

  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), { header: false, skipEmptyLines: false });
  const [header, ...body] = parsed.data;
  checkHeader(header, where);
  const index = new Map(header.map((name, i) => [name, i]));
  // Line numbers are 1-based file lines: the header is line 1, data index i is line i + 2.
  const lines = body.map((cells, i) => ({ line: i + 2, cells })).filter(({ cells }) => !(cells.length === 1 && cells[0].trim() === ""));
  if (lines.length === 0) throw new Error(`${where} has a header but no data rows`);

  const problems: string[] = [];
  const rows: Record<string, Cell>[] = [];
  const rowLines: number[] = [];
  let previous: { date: string; line: number } | undefined;
  for (const { line, cells } of lines) {
    if (cells.length !== header.length) {
      problems.push(`line ${line}: ${cells.length} fields, but the header has ${header.length}`);
      continue;
    }
    const rawDate = cells[index.get("data")!];
    const m = TIMESTAMP.exec(rawDate);
    if (!m || !isIsoDate(m[1])) {
      problems.push(`line ${line}, column "data": ${JSON.stringify(rawDate)} is not a date (expected YYYY-MM-DDTHH:MM:SS)`);
      continue;
    }
    const date = m[1];
    if (previous && date === previous.date) problems.push(`line ${line} repeats date ${date} of line ${previous.line} (duplicated day)`);
    else if (previous && date < previous.date) problems.push(`line ${line} (${date}) comes after line ${previous.line} (${previous.date}): dates must increase`);
    previous = { date, line };

    const row: Record<string, Cell> = { date };
    for (const col of COLUMNS) {
      if (col.kind === "date") continue;
      const raw = cells[index.get(col.ita)!].trim();
      if (col.kind === "text") row[col.eng] = raw === "" ? null : raw;
      else if (raw === "") {
        if (col.kind === "required") problems.push(`line ${line} (${date}), column ${JSON.stringify(col.ita)}: empty, but a number is required`);
        row[col.eng] = null;
      } else if (!NUMBER.test(raw)) {
        problems.push(`line ${line} (${date}), column ${JSON.stringify(col.ita)}: ${JSON.stringify(raw)} is not a number`);
        row[col.eng] = null;
      } else row[col.eng] = Number(raw);
    }
    rows.push(row);
    rowLines.push(line);
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED).map((p) => `  ${p}`);
    if (problems.length > MAX_LISTED) listed.push(`  ... and ${problems.length - MAX_LISTED} more`);
    throw new Error(`invalid data in ${where} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${listed.join("\n")}`);
  }

  const kept = rows.filter((r) => String(r.date) <= version);
  if (kept.length === 0) {
    throw new Error(`no rows in ${where} are dated on or before the version ${version}; the data starts ${rows[0].date}`);
  }
  const table: Table = { columns: COLUMNS.map((c) => c.eng), rows: kept };
  const known = new Set(COLUMNS.map((c) => c.ita));
  return {
    table,
    meta: {
      // Not the requested version itself: two as-of dates that keep the same rows must give the
      // same bytes, so that nothing downstream rebuilds (early cutoff). lastDate says "as of".
      source,
      rows: kept.length,
      firstDate: String(kept[0].date),
      lastDate: String(kept[kept.length - 1].date),
      rowsAfterVersion: rows.length - kept.length,
      gaps: findGaps(kept.map((r) => String(r.date))),
      revisions: findRevisions(table),
      extraColumns: header.filter((h) => !known.has(h)),
    },
  };
}

/** Throws when a schema column is missing (naming what was found) or a name repeats. */
function checkHeader(header: string[] | undefined, where: string): asserts header is string[] {
  if (!header) throw new Error(`${where} is empty: expected a CSV header and one row per day`);
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new Error(`column ${JSON.stringify(h)} appears twice in the header of ${where}`);
    seen.add(h);
  }
  const missing = COLUMNS.filter((c) => !seen.has(c.ita)).map((c) => JSON.stringify(c.ita));
  if (missing.length === 0) return;
  const known = new Set(COLUMNS.map((c) => c.ita));
  const unknown = header.filter((h) => !known.has(h)).map((h) => JSON.stringify(h));
  const what = missing.length === 1 ? `column ${missing[0]} is` : `columns ${missing.join(", ")} are`;
  let message = `${what} missing from ${where}; found: ${header.join(", ")}`;
  if (unknown.length > 0) message += `\n  hint: ${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not in the schema; was a column renamed upstream?`;
  throw new Error(message);
}

/** Missing calendar days between consecutive dates (the input must be increasing). */
export function findGaps(dates: readonly string[]): { after: string; missingDays: number }[] {
  const gaps: { after: string; missingDays: number }[] = [];
  for (let i = 1; i < dates.length; i++) {
    const step = daysBetween(dates[i - 1], dates[i]);
    if (step > 1) gaps.push({ after: dates[i - 1], missingDays: step - 1 });
  }
  return gaps;
}

/**
 * Every place a cumulative column goes down compared with its previous non-empty value. These
 * are upstream revisions (the real file has some): not fatal, but daily differences computed
 * across them are negative, so the report lists them.
 */
export function findRevisions(table: Table): Revision[] {
  const revisions: Revision[] = [];
  for (const column of CUMULATIVE_COLUMNS) {
    if (!table.columns.includes(column)) continue;
    let last: { date: string; value: number } | undefined;
    for (const row of table.rows) {
      const v = row[column];
      if (typeof v !== "number") continue;
      const date = String(row.date);
      if (last && v < last.value) revisions.push({ column, date, previousDate: last.date, previous: last.value, value: v });
      last = { date, value: v };
    }
  }
  return revisions.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.column < b.column ? -1 : 1));
}

/**
 * The source bytes: a path (relative to `root`) or an http(s) URL. Errors name the source and,
 * for URLs, the network cause or HTTP status.
 */
export async function readSource(source: string, root: string, signal?: AbortSignal): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source, { signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new Error(`could not fetch ${JSON.stringify(source)}: ${detail}\n  hint: check the network, or set --param source=<local file>`);
    }
    if (!res.ok) throw new Error(`fetching ${JSON.stringify(source)} failed: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw new Error(`source ${JSON.stringify(source)}: only local paths and http(s) URLs are supported`);
  try {
    return await readFile(resolve(root, source));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`source file ${JSON.stringify(source)} does not exist (looked in ${resolve(root, source)})`);
    throw err;
  }
}

/**
 * Recipe. params: `source` (path or URL), `version` (as-of `YYYY-MM-DD`).
 * outputs: `table` (CSV, English columns, one row per day) and `meta` (JSON {@link DatasetMeta}).
 * Inputs are not read: the declared inputs only make a local source part of the fingerprint.
 */
export async function buildDataset(ctx: RecipeContext<unknown, { table: string; meta: string }, { source: string; version: string }>): Promise<void> {
  const { source, version } = ctx.params;
  const bytes = await readSource(source, ctx.root, ctx.signal);
  const { table, meta } = parseDataset(new TextDecoder("utf-8").decode(bytes), { source, version });
  const full: DatasetMeta = { ...meta, sha256: sha256Hex(bytes), bytes: bytes.byteLength, synthetic: isSyntheticSource(source, ctx.root) };
  ctx.log(`${full.synthetic ? "SYNTHETIC data " : ""}${source}: ${full.rows} rows ${full.firstDate}..${full.lastDate} (as of ${version}), sha256 ${full.sha256.slice(0, 12)}`);
  if (full.revisions.length > 0) ctx.log(`${full.revisions.length} downward revision(s) of cumulative columns`);
  if (full.gaps.length > 0) ctx.log(`${full.gaps.length} gap(s) in the dates`);
  await writeText(ctx.root, ctx.outputs.table, formatCsv(table));
  await writeText(ctx.root, ctx.outputs.meta, toJson(full));
}
