// The committed synthetic series: it matches its generator, the real schema and the real
// file's bookkeeping rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { COLUMNS, parseDataset } from "../../recipes/dataset.ts";
import { REAL, ROOT, SYNTHETIC as FILE } from "../helpers/data-files.ts";


const text = readFileSync(FILE, "utf8");
const lines = text.trimEnd().split("\n");

test("the committed CSV is exactly what data/generate.mjs produces", async () => {
  const gen = await import(pathToFileURL(join(ROOT, "data/generate.mjs")).href);
  assert.ok(gen.toCsv(gen.generate()) === text, "regenerate with: node data/generate.mjs");
  assert.ok(text.length < 1_000_000);
});

test("the synthetic CSV has the real 24-column header and passes validation", () => {
  assert.equal(lines[0], COLUMNS.map((c) => c.ita).join(","));
  if (existsSync(REAL)) assert.equal(lines[0], readFileSync(REAL, "utf8").split("\n")[0]);
  const { meta } = parseDataset(text, { source: FILE, version: "2100-01-01" });
  assert.equal(meta.firstDate, "2020-02-24");
  assert.ok(meta.rows >= 1400, `${meta.rows} rows`);
  assert.deepEqual(meta.gaps, []);
  assert.deepEqual(meta.revisions, [], "cumulative columns never go down");
});

test("the synthetic CSV keeps the real file's conventions and identities", () => {
  const col = (name: string) => COLUMNS.findIndex((c) => c.ita === name);
  const rows = lines.slice(1).map((l) => l.split(","));
  rows.forEach((r, i) => {
    assert.equal(r[col("data")].slice(10), i < 16 ? "T18:00:00" : "T17:00:00");
    assert.equal(r[col("stato")], "ITA");
    const n = (c: string) => Number(r[col(c)]);
    assert.equal(n("totale_casi"), n("totale_positivi") + n("dimessi_guariti") + n("deceduti"), `line ${i + 2}`);
    assert.equal(n("totale_positivi"), n("totale_ospedalizzati") + n("isolamento_domiciliare"));
    assert.equal(n("totale_ospedalizzati"), n("ricoverati_con_sintomi") + n("terapia_intensiva"));
    const kinds = ["totale_positivi_test_molecolare", "totale_positivi_test_antigenico_rapido", "tamponi_test_molecolare", "tamponi_test_antigenico_rapido"];
    if (r[col("data")] < "2021-01-15") assert.ok(kinds.every((k) => r[col(k)] === ""), `line ${i + 2}: test kinds before 2021-01-15`);
    else {
      assert.ok(kinds.every((k) => r[col(k)] !== ""), `line ${i + 2}: test kinds from 2021-01-15`);
      assert.equal(n("tamponi"), n("tamponi_test_molecolare") + n("tamponi_test_antigenico_rapido"));
      assert.equal(n("totale_casi"), n("totale_positivi_test_molecolare") + n("totale_positivi_test_antigenico_rapido"));
    }
    if (i > 0) assert.equal(n("variazione_totale_positivi"), n("totale_positivi") - Number(rows[i - 1][col("totale_positivi")]));
  });
  const notes = rows.filter((r) => r[col("note")] !== "").length;
  assert.ok(notes > 0 && notes < 50, `${notes} notes`);
});
