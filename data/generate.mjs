#!/usr/bin/env node
/**
 * Generates a SYNTHETIC Italian national COVID-19 series in the exact 24-column schema of the
 * Protezione Civile file `dpc-covid19-ita-andamento-nazionale.csv` (same Italian headers, same
 * order, same timestamp style), so the case-study pipeline can run without downloading anything.
 *
 *   node data/generate.mjs                       # writes data/dpc-covid19-ita-andamento-nazionale.csv
 *   node data/generate.mjs --seed 7 --days 400 --out /tmp/x.csv
 *
 * The numbers are invented. They follow the shape of the real epidemic (a spring-2020 wave, the
 * autumn 2020 and spring 2021 waves, summer 2021, the Omicron waves of 2022, smaller waves in
 * 2023) and keep the real file's bookkeeping rules:
 * - one row per day from 2020-02-24; the 16 first rows are stamped 18:00, the rest 17:00;
 * - totale_casi = totale_positivi + dimessi_guariti + deceduti, and
 *   totale_positivi = totale_ospedalizzati + isolamento_domiciliare
 *   = ricoverati_con_sintomi + terapia_intensiva + isolamento_domiciliare;
 * - variazione_totale_positivi is the first difference of totale_positivi; nuovi_positivi the
 *   first difference of totale_casi;
 * - cumulative columns never go down (the real file has a few downward revisions; this one has
 *   none, so the pipeline's revision report is exercised by unit tests instead);
 * - casi_testati is filled from 2020-04-19, casi_da_sospetto_diagnostico / casi_da_screening
 *   from 2020-06-25 to 2020-12-02, ingressi_terapia_intensiva from 2020-12-03, and the four
 *   test-kind columns from 2021-01-15, where tamponi = molecular + antigen swabs and
 *   totale_casi = molecular + antigen positives, as in the real file;
 * - note holds a handful of note codes in spring 2020; note_test and note_casi are empty.
 *
 * Deterministic: the only randomness is a seeded mulberry32 PRNG, so the same seed and length
 * give byte-identical output on every machine.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const HEADER = [
  "data", "stato", "ricoverati_con_sintomi", "terapia_intensiva", "totale_ospedalizzati",
  "isolamento_domiciliare", "totale_positivi", "variazione_totale_positivi", "nuovi_positivi",
  "dimessi_guariti", "deceduti", "casi_da_sospetto_diagnostico", "casi_da_screening", "totale_casi",
  "tamponi", "casi_testati", "note", "ingressi_terapia_intensiva", "note_test", "note_casi",
  "totale_positivi_test_molecolare", "totale_positivi_test_antigenico_rapido",
  "tamponi_test_molecolare", "tamponi_test_antigenico_rapido",
];

const START = Date.UTC(2020, 1, 24); // 2020-02-24
const DAY_MS = 86_400_000;

/** mulberry32: a tiny 32-bit PRNG with good enough statistics for noise. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box-Muller on top of `rand`. */
function normal(rand) {
  const u = 1 - rand(); // (0, 1]
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const iso = (day) => new Date(START + day * DAY_MS).toISOString().slice(0, 10);
const dayOf = (isoDate) => Math.round((Date.parse(`${isoDate}T00:00:00Z`) - START) / DAY_MS);

/** Piecewise-linear interpolation through [isoDate, value] anchors (flat outside them). */
function curve(anchors) {
  const pts = anchors.map(([d, v]) => [dayOf(d), v]);
  return (t) => {
    if (t <= pts[0][0]) return pts[0][1];
    for (let i = 1; i < pts.length; i++) {
      const [t1, v1] = pts[i];
      if (t <= t1) {
        const [t0, v0] = pts[i - 1];
        return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
      }
    }
    return pts[pts.length - 1][1];
  };
}

// Epidemic waves of detected daily cases: [peak date, peak cases/day, rise days, fall days].
const WAVES = [
  ["2020-03-21", 6000, 10, 20],
  ["2020-11-13", 36000, 18, 30],
  ["2021-03-15", 22000, 20, 25],
  ["2021-08-01", 6500, 12, 25],
  ["2022-01-10", 180000, 12, 25],
  ["2022-03-25", 70000, 15, 25],
  ["2022-07-08", 95000, 14, 20],
  ["2022-10-15", 40000, 12, 20],
  ["2022-12-25", 22000, 12, 20],
  ["2023-05-10", 4000, 25, 25],
  ["2023-12-10", 8000, 30, 30],
].map(([d, peak, rise, fall]) => ({ t: dayOf(d), peak, rise, fall }));

/** Expected detected cases on day t: a small baseline plus asymmetric Gaussian waves. */
function expectedCases(t) {
  const sig = (x) => 1 / (1 + Math.exp(-x));
  let c = 150 * sig((t - dayOf("2020-04-20")) / 8) + 1800 * sig((t - dayOf("2022-01-01")) / 30) - 1400 * sig((t - dayOf("2023-03-01")) / 40);
  for (const w of WAVES) {
    const s = t < w.t ? w.rise : w.fall;
    c += w.peak * Math.exp(-0.5 * ((t - w.t) / s) ** 2);
  }
  return c;
}

// Reporting effect by weekday of the bulletin (Sunday=0): Monday bulletins count Sunday's tests.
const WEEKDAY = [0.9, 0.62, 1.12, 1.1, 1.08, 1.06, 1.02];

const fatality = curve([["2020-02-24", 0.1], ["2020-06-01", 0.08], ["2020-10-01", 0.02], ["2021-03-01", 0.025], ["2021-09-01", 0.012], ["2022-02-01", 0.003], ["2023-01-01", 0.002]]);
const recoveryRate = curve([["2020-02-24", 0.02], ["2020-06-01", 0.04], ["2020-11-01", 0.05], ["2022-01-01", 0.09], ["2023-06-01", 0.06]]);
const hospitalShare = curve([["2020-02-24", 0.45], ["2020-04-15", 0.25], ["2020-07-01", 0.05], ["2020-11-15", 0.045], ["2021-06-01", 0.04], ["2022-01-15", 0.009], ["2023-06-01", 0.02]]);
const icuShare = curve([["2020-02-24", 0.2], ["2020-05-01", 0.12], ["2020-11-15", 0.11], ["2021-06-01", 0.09], ["2022-01-15", 0.08], ["2023-01-01", 0.04]]);
const positivity = curve([["2020-02-24", 0.05], ["2020-03-20", 0.2], ["2020-05-15", 0.02], ["2020-08-15", 0.012], ["2020-11-10", 0.12], ["2021-03-15", 0.06], ["2021-08-01", 0.025], ["2022-01-10", 0.12], ["2022-07-08", 0.15], ["2023-06-01", 0.07], ["2024-01-01", 0.09]]);
const antigenSwabShare = curve([["2021-01-15", 0.3], ["2021-06-01", 0.55], ["2022-01-01", 0.7], ["2023-01-01", 0.65]]);
const antigenPositiveShare = curve([["2021-01-15", 0.001], ["2021-06-01", 0.3], ["2022-01-01", 0.6], ["2023-01-01", 0.65]]);

/** Builds the rows (arrays of cell strings, in HEADER order). */
export function generate({ seed = 20200224, days = 1461 } = {}) {
  const rand = mulberry32(seed);
  const noisy = (x, sd) => Math.max(0, x * Math.exp(sd * normal(rand)));
  const rows = [];
  // Stocks and cumulative counters, carried day to day.
  let positive = 221, recovered = 1, deaths = 7, tests = 4324, tested = 0;
  let suspect = 0, screening = 0, molSwabs = 0, antSwabs = 0, molPos = 0, antPos = 0;
  let prevPositive = positive, prevCases = positive + recovered + deaths;
  const newCases = [];
  const noteDays = new Set();
  while (noteDays.size < 12) noteDays.add(dayOf("2020-03-07") + Math.floor(rand() * 110));
  let noteNo = 1;

  for (let t = 0; t < days; t++) {
    const date = iso(t);
    const weekday = new Date(START + t * DAY_MS).getUTCDay();
    let fresh;
    if (t === 0) {
      fresh = 0; // the first row is the opening balance below
    } else {
      fresh = Math.round(noisy(expectedCases(t) * WEEKDAY[weekday], 0.08));
      const lagged = t >= 10 ? newCases[t - 10] : 15; // before day 10: a trickle
      const died = Math.min(Math.round(noisy(fatality(t) * lagged, 0.15)), positive + fresh);
      const healed = Math.min(Math.round(noisy(recoveryRate(t) * positive, 0.1)), positive + fresh - died);
      positive += fresh - died - healed;
      deaths += died;
      recovered += healed;
      const dailyTests = Math.round(noisy(Math.max(fresh, 50) / positivity(t), 0.05));
      if (date >= "2021-01-15") {
        const ant = Math.round(dailyTests * antigenSwabShare(t));
        antSwabs += ant;
        molSwabs = (molSwabs || tests) + (dailyTests - ant);
        const antP = Math.round(fresh * antigenPositiveShare(t));
        antPos += antP;
        molPos = (molPos || prevCases) + (fresh - antP);
        tests = molSwabs + antSwabs;
      } else {
        tests += dailyTests;
      }
      if (date >= "2020-04-19") tested = (tested || Math.round(tests * 0.6)) + Math.round(noisy(dailyTests * 0.4, 0.05));
      if (date >= "2020-06-25" && date <= "2020-12-02") {
        const scr = Math.round(fresh * (0.3 + 0.1 * rand()));
        screening = (screening || Math.round(prevCases * 0.066)) + scr;
        suspect = (suspect || prevCases - Math.round(prevCases * 0.066)) + (fresh - scr);
      }
    }
    newCases.push(t === 0 ? positive : fresh);
    const cases = positive + recovered + deaths;
    const ward = Math.round(positive * hospitalShare(t) * Math.exp(0.03 * normal(rand)));
    const icu = Math.min(Math.round(ward * icuShare(t) * Math.exp(0.03 * normal(rand))), positive - ward);
    const icuEntries = date >= "2020-12-03" ? Math.round(noisy(icu * 0.06, 0.2)) : "";
    const inHospital = ward + icu;
    const noteCell = noteDays.has(t) ? `pd-IT-${String(noteNo++).padStart(4, "0")}` : "";
    const kinds = date >= "2021-01-15";
    rows.push([
      `${date}T${t < 16 ? "18" : "17"}:00:00`, "ITA", ward, icu, inHospital, positive - inHospital, positive,
      t === 0 ? 0 : positive - prevPositive, t === 0 ? positive : cases - prevCases, recovered, deaths,
      suspect && date <= "2020-12-02" ? suspect : "", screening && date <= "2020-12-02" ? screening : "",
      cases, tests, tested || "", noteCell, icuEntries, "", "",
      kinds ? molPos : "", kinds ? antPos : "", kinds ? molSwabs : "", kinds ? antSwabs : "",
    ].map(String));
    prevPositive = positive;
    prevCases = cases;
  }
  return rows;
}

/** The CSV text: header, one line per day, LF endings, a final newline, no quoting needed. */
export function toCsv(rows) {
  return [HEADER, ...rows].map((r) => r.join(",")).join("\n") + "\n";
}

function parseArgs(argv) {
  const opts = { seed: 20200224, days: 1461, out: join(dirname(fileURLToPath(import.meta.url)), "dpc-covid19-ita-andamento-nazionale.csv") };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--seed") opts.seed = Number(value);
    else if (flag === "--days") opts.days = Number(value);
    else if (flag === "--out") opts.out = value;
    else throw new Error(`unknown option ${JSON.stringify(flag)}; use --seed N, --days N, --out PATH`);
  }
  if (!Number.isInteger(opts.seed) || !Number.isInteger(opts.days) || opts.days < 1) throw new Error("--seed and --days need integers (days >= 1)");
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { seed, days, out } = parseArgs(process.argv.slice(2));
  writeFileSync(out, toCsv(generate({ seed, days })));
  process.stderr.write(`wrote ${days} days (seed ${seed}) to ${out}\n`);
}
