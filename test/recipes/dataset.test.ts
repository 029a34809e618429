import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COLUMNS, buildDataset, findRevisions, isSyntheticSource, parseDataset, readSource, sha256Hex } from "../../recipes/dataset.ts";
import { parseTableCsv } from "../../recipes/table.ts";

const HEADER = COLUMNS.map((c) => c.ita);

/** One source row for day `day` (1-based in March 2020); every count grows with the day. */
function sourceRow(day: number, overrides: Record<string, string> = {}): string {
  const date = `2020-03-${String(day).padStart(2, "0")}T17:00:00`;
  return HEADER.map((col, j) => {
    if (col in overrides) return overrides[col];
    if (col === "data") return date;
    if (col === "stato") return "ITA";
    if (COLUMNS[j].kind === "text") return "";
    return String(day * 100 + j);
  }).join(",");
}

function csv(lines: string[], header: readonly string[] = HEADER): string {
  return [header.join(","), ...lines].join("\n") + "\n";
}

const opts = { source: "data/x.csv", version: "2020-12-31" };

test("a clean file becomes an English, date-indexed table", () => {
  const { table, meta } = parseDataset(csv([sourceRow(1), sourceRow(2), sourceRow(3)]), opts);
  assert.deepEqual(table.columns, COLUMNS.map((c) => c.eng));
  assert.equal(table.rows.length, 3);
  assert.equal(table.rows[0].date, "2020-03-01");
  assert.equal(table.rows[0].country, "ITA");
  assert.equal(table.rows[1].performed_tests, 200 + HEADER.indexOf("tamponi"));
  assert.equal(table.rows[0].notes, null);
  assert.deepEqual([meta.rows, meta.firstDate, meta.lastDate, meta.revisions.length, meta.rowsAfterVersion], [3, "2020-03-01", "2020-03-03", 0, 0]);
});

test("rows dated after the version are dropped", () => {
  const { table, meta } = parseDataset(csv([sourceRow(1), sourceRow(2), sourceRow(3)]), { ...opts, version: "2020-03-02" });
  assert.deepEqual(table.rows.map((r) => r.date), ["2020-03-01", "2020-03-02"]);
  assert.equal(meta.rowsAfterVersion, 1);
  assert.equal(meta.lastDate, "2020-03-02");
  assert.equal("version" in meta, false, "the requested version is not in the output (early cutoff)");
});

test("a version before the first row is an error naming the start", () => {
  assert.throws(() => parseDataset(csv([sourceRow(1)]), { ...opts, version: "2019-01-01" }), {
    message: 'no rows in "data/x.csv" are dated on or before the version 2019-01-01; the data starts 2020-03-01',
  });
});

test("a missing column is named, with the columns found", () => {
  const header = HEADER.filter((h) => h !== "tamponi");
  const line = sourceRow(1).split(",").filter((_, j) => HEADER[j] !== "tamponi").join(",");
  assert.throws(() => parseDataset(csv([line], header), opts), {
    message: `column "tamponi" is missing from "data/x.csv"; found: ${header.join(", ")}`,
  });
});

test("a renamed column is reported as missing, with a hint about the unknown name", () => {
  const header = HEADER.map((h) => (h === "tamponi" ? "tamponi_totali" : h));
  assert.throws(() => parseDataset(csv([sourceRow(1)], header), opts), (err: Error) => {
    assert.match(err.message, /^column "tamponi" is missing from "data\/x.csv"; found: .*tamponi_totali/);
    assert.match(err.message, /hint: "tamponi_totali" is not in the schema; was a column renamed upstream\?/);
    return true;
  });
});

test("a non-numeric value names the line, the date, the column and the value", () => {
  const text = csv([sourceRow(1), sourceRow(2, { tamponi: "12a" }), sourceRow(3)]);
  assert.throws(() => parseDataset(text, opts), {
    message: 'invalid data in "data/x.csv" (1 problem):\n  line 3 (2020-03-02), column "tamponi": "12a" is not a number',
  });
});

test("every bad cell is reported at once", () => {
  const text = csv([sourceRow(1, { deceduti: "n/a" }), sourceRow(2, { totale_casi: "" })]);
  assert.throws(() => parseDataset(text, opts), (err: Error) => {
    assert.match(err.message, /\(2 problems\)/);
    assert.match(err.message, /line 2 \(2020-03-01\), column "deceduti": "n\/a" is not a number/);
    assert.match(err.message, /line 3 \(2020-03-02\), column "totale_casi": empty, but a number is required/);
    return true;
  });
});

test("a duplicated date names both lines", () => {
  const text = csv([sourceRow(1), sourceRow(2), sourceRow(2)]);
  assert.throws(() => parseDataset(text, opts), { message: /line 4 repeats date 2020-03-02 of line 3 \(duplicated day\)/ });
});

test("an out-of-order date names both lines and dates", () => {
  const text = csv([sourceRow(1), sourceRow(3), sourceRow(2)]);
  assert.throws(() => parseDataset(text, opts), { message: /line 4 \(2020-03-02\) comes after line 3 \(2020-03-03\): dates must increase/ });
});

test("a bad date and a short line are named", () => {
  const short = sourceRow(2).split(",").slice(0, 20).join(",");
  const text = csv([sourceRow(1, { data: "2020-02-30T17:00:00" }), short]);
  assert.throws(() => parseDataset(text, opts), (err: Error) => {
    assert.match(err.message, /line 2, column "data": "2020-02-30T17:00:00" is not a date/);
    assert.match(err.message, /line 3: 20 fields, but the header has 24/);
    return true;
  });
});

test("an empty file and a header-only file are errors", () => {
  assert.throws(() => parseDataset("", opts), { message: '"data/x.csv" is empty: expected a CSV header and one row per day' });
  assert.throws(() => parseDataset("\n\n", opts), { message: /is empty/ });
  assert.throws(() => parseDataset(csv([]), opts), { message: '"data/x.csv" has a header but no data rows' });
});

test("a BOM, CRLF line endings and extra columns are accepted", () => {
  const header = [...HEADER, "nuova_colonna"];
  const text = "\uFEFF" + [header.join(","), sourceRow(1) + ",x", sourceRow(2) + ",y"].join("\r\n") + "\r\n";
  const { table, meta } = parseDataset(text, opts);
  assert.equal(table.rows.length, 2);
  assert.deepEqual(meta.extraColumns, ["nuova_colonna"]);
  assert.ok(!table.columns.includes("nuova_colonna"));
});

test("a cumulative column going down is a revision, not an error", () => {
  const text = csv([sourceRow(1), sourceRow(2, { deceduti: "50" }), sourceRow(3)]);
  const { table, meta } = parseDataset(text, opts);
  const before = 100 + HEADER.indexOf("deceduti");
  assert.equal(table.rows.length, 3);
  assert.deepEqual(meta.revisions, [{ column: "death", date: "2020-03-02", previousDate: "2020-03-01", previous: before, value: 50 }]);
});

test("revisions compare with the last non-empty value and ignore stocks", () => {
  const table = {
    columns: ["date", "recovered", "intensive_care"],
    rows: [
      { date: "2021-01-01", recovered: 10, intensive_care: 9 },
      { date: "2021-01-02", recovered: null, intensive_care: 3 },
      { date: "2021-01-03", recovered: 8, intensive_care: 1 },
      { date: "2021-01-04", recovered: 8, intensive_care: 0 },
    ],
  };
  assert.deepEqual(findRevisions(table), [{ column: "recovered", date: "2021-01-03", previousDate: "2021-01-01", previous: 10, value: 8 }]);
});

test("gaps between days are recorded, not fatal", () => {
  const { meta } = parseDataset(csv([sourceRow(1), sourceRow(4), sourceRow(5)]), opts);
  assert.deepEqual(meta.gaps, [{ after: "2020-03-01", missingDays: 2 }]);
});

test("sha256Hex is the standard digest", () => {
  assert.equal(sha256Hex(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

/** A TCP port that nothing listens on: bind port 0, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

test("an unreachable URL is an error naming the URL", async () => {
  const url = `http://127.0.0.1:${await closedPort()}/dpc.csv`;
  await assert.rejects(readSource(url, "/"), (err: Error) => {
    assert.ok(err.message.startsWith(`could not fetch "${url}": `), err.message);
    assert.match(err.message, /ECONNREFUSED/);
    return true;
  });
});

test("a missing local source names the file", async () => {
  await assert.rejects(readSource("data/nope.csv", "/tmp/project"), { message: 'source file "data/nope.csv" does not exist (looked in /tmp/project/data/nope.csv)' });
  await assert.rejects(readSource("ftp://example.org/x.csv", "/"), { message: /only local paths and http\(s\) URLs/ });
});

test("the recipe writes the table and the metadata with the source hash", async () => {
  const root = await mkdtemp(join(tmpdir(), "pipe-dataset-"));
  try {
    const text = csv([sourceRow(1), sourceRow(2)]);
    await mkdir(join(root, "data"));
    await writeFile(join(root, "data/x.csv"), text);
    const logs: string[] = [];
    await buildDataset({
      id: "dataset",
      inputs: ["data/x.csv"],
      outputs: { table: "stage/out/table.csv", meta: "stage/out/meta.json" },
      params: { source: "data/x.csv", version: "2020-12-31" },
      env: {},
      root,
      log: (...a: unknown[]) => logs.push(a.join(" ")),
      progress: () => {},
      signal: new AbortController().signal,
    });
    const meta = JSON.parse(await readFile(join(root, "stage/out/meta.json"), "utf8"));
    assert.equal(meta.sha256, sha256Hex(new TextEncoder().encode(text)));
    assert.equal(meta.rows, 2);
    assert.equal(meta.synthetic, false, "data/x.csv is not the shipped synthetic file");
    const table = parseTableCsv(await readFile(join(root, "stage/out/table.csv"), "utf8"), "table.csv");
    assert.deepEqual(table.rows.map((r) => r.date), ["2020-03-01", "2020-03-02"]);
    assert.equal(logs.length, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("only the shipped data/ file counts as synthetic", () => {
  assert.equal(isSyntheticSource("data/dpc-covid19-ita-andamento-nazionale.csv", "/p"), true);
  assert.equal(isSyntheticSource("./data/../data/dpc-covid19-ita-andamento-nazionale.csv", "/p"), true);
  assert.equal(isSyntheticSource("/p/data/dpc-covid19-ita-andamento-nazionale.csv", "/p"), true);
  assert.equal(isSyntheticSource("/shared/data/dpc-covid19-ita-andamento-nazionale.csv", "/p"), false);
  assert.equal(isSyntheticSource("https://example.org/data/dpc-covid19-ita-andamento-nazionale.csv", "/p"), false);
});
