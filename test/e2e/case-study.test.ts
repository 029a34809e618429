// The case study (root Pipelinefile.ts, recipes/, data/) run end to end with the real CLI, in a
// temp copy of the project: the report, incrementality with the `version` as-of date and early
// cutoff, bad data, and (when ../shared/data has it) the real Italian series.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { finished, Project, REPO } from "../helpers/rig.ts";
import type { PipeEvent } from "../../src/events.ts";

const REAL = resolve(REPO, "../shared/data/dpc-covid19-ita-andamento-nazionale.csv");

/** A copy of the case study: Pipelinefile, recipes and data; the repo's node_modules linked. */
function caseStudy(): Project {
  const dir = mkdtempSync(join(tmpdir(), "pipe-case-"));
  for (const part of ["Pipelinefile.ts", "recipes", "data", "package.json"]) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return new Project({}, dir, { link: false });
}

function ids(events: PipeEvent[], status: string): string[] {
  return finished(events, status).map((id) => id.replace(/\[.*$/, ""));
}

test("the case study builds a self-contained report; a second build runs nothing", { timeout: 180_000 }, async () => {
  const p = caseStudy();
  try {
    const r = await p.run(["build", "--json"]);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    const html = p.read("build/report.html");
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>[^<]*COVID-19/);
    const svgs = html.match(/<svg[\s>]/g) ?? [];
    assert.ok(svgs.length >= 4, `three trend plots and the forecast plot are inline SVG (found ${svgs.length})`);
    for (const section of ["total_positive", "recovered", "daily_positivity", "Forecast", "Backtest", "Monitoring"]) assert.match(html, new RegExp(section, "i"));
    assert.match(html, /<title>SYNTHETIC DATA/, "the shipped synthetic data is announced in the title");
    assert.match(html, /<p class="banner">SYNTHETIC DATA/, "and in a banner at the top");
    assert.match(html, /[0-9a-f]{64}/, "the content hash of the source");
    assert.match(html, /retrain/i, "the retrain recommendation is stated");
    // No broken references: nothing loaded from files or the network.
    assert.doesNotMatch(html, /<img\b|<script\b[^>]*\bsrc=|<link\b[^>]*\bhref=/i);
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) assert.match(m[1], /^(#|data:|https?:\/\/)/, `reference ${m[1]} is not a local file`);
    const again = await p.run(["build", "--json"]);
    assert.equal(again.code, 0);
    assert.deepEqual(finished(again.events, "built"), [], "an immediate second build runs nothing");
  } finally {
    p.remove();
  }
});

test("version: a date whose data differs rebuilds downstream; a date with the same data runs only dataset", { timeout: 180_000 }, async () => {
  const p = caseStudy();
  try {
    // The synthetic series ends 2024-02-23; the rig's "today" is 2024-06-01.
    assert.equal((await p.run(["build", "--json"])).code, 0);
    const same = await p.run(["build", "--json", "--param", "version=2024-05-01"]);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(ids(same.events, "built"), ["dataset"], "early cutoff: only the dataset recipe ran");
    const earlier = await p.run(["build", "--json", "--param", "version=2023-06-30"]);
    assert.equal(earlier.code, 0, earlier.stderr);
    const built = ids(earlier.events, "built");
    for (const t of ["dataset", "preprocess", "forecast", "report"]) assert.ok(built.includes(t), `${t} rebuilt for other data`);
    assert.match(p.read("build/report.html"), /data as of 2023-06-30/);
    // Back to the first version: everything comes from the cache.
    const back = await p.run(["build", "--json"]);
    assert.deepEqual(finished(back.events, "built"), []);
    assert.ok(finished(back.events, "restored").length > 0);
  } finally {
    p.remove();
  }
});

// The model trains on data up to the Monday on or before the last observed day, so the daily
// report reuses it inside a week and refits it once the next week's data arrives.
//   version 2024-02-23 (Fri) and 2024-02-20 (Tue): cutoff Mon 2024-02-19 -> same model
//   version 2024-02-18 (Sun): cutoff Mon 2024-02-12 -> refit
test("a new day inside the same week keeps the weekly model; the next week refits it", { timeout: 180_000 }, async () => {
  const p = caseStudy();
  const MODEL = "model[attribute=total_positive,model=linear,window=7]";
  try {
    assert.equal((await p.run(["build", "--json", "--param", "version=2024-02-20"])).code, 0);
    const trained = JSON.parse(p.read("build/model/total_positive-w7-linear.json")).trainedOn.to;
    assert.equal(trained, "2024-02-19");
    const daily = await p.run(["build", "--json", "--param", "version=2024-02-23"]);
    assert.equal(daily.code, 0, daily.stderr);
    assert.ok(finished(daily.events, "built").includes("report"), "the report shows the new days");
    assert.ok(!finished(daily.events, "built").includes(MODEL), "the model is not refit inside the week");
    assert.ok(finished(daily.events, "up-to-date").includes(MODEL) || finished(daily.events, "restored").includes(MODEL), "the model is kept");
    assert.equal(JSON.parse(p.read("build/model/total_positive-w7-linear.json")).trainedOn.to, "2024-02-19");
    const earlier = await p.run(["build", "--json", "--param", "version=2024-02-18"]);
    assert.ok(finished(earlier.events, "built").includes(MODEL), "another week's data refits the model");
    assert.equal(JSON.parse(p.read("build/model/total_positive-w7-linear.json")).trainedOn.to, "2024-02-12");
    const back = await p.run(["build", "--json", "--param", "version=2024-02-22"]);
    assert.ok(finished(back.events, "restored").includes(MODEL), "the week's model comes back from the cache");
    const daily2 = await p.run(["build", "--json", "--param", "version=2024-02-23", "--param", "refit=daily"]);
    assert.ok(finished(daily2.events, "built").includes(MODEL), "refit=daily trains on every day");
    assert.equal(JSON.parse(p.read("build/model/total_positive-w7-linear.json")).trainedOn.to, "2024-02-23");
  } finally {
    p.remove();
  }
});

test("bad data fails the dataset target with a message naming the column, row or URL; nothing downstream runs; outputs stay", { timeout: 180_000 }, async () => {
  const p = caseStudy();
  try {
    assert.equal((await p.run(["build", "--json"])).code, 0);
    const good = p.read("build/report.html");
    const csv = p.read("data/dpc-covid19-ita-andamento-nazionale.csv");
    const lines = csv.trimEnd().split("\n");
    const cases: [string, string, RegExp][] = [
      ["missing column", lines.map((l) => l.split(",").filter((_, i) => i !== 14).join(",")).join("\n") + "\n", /column "tamponi" is missing/],
      ["renamed column", csv.replace("deceduti", "morti"), /column "deceduti" is missing/],
      ["non-numeric value", [lines[0], ...lines.slice(1, 10), lines[10].replace(/,ITA,(\d+)/, ",ITA,many"), ...lines.slice(11)].join("\n") + "\n", /line 11 \(2020-03-04\), column "ricoverati_con_sintomi": "many" is not a number/],
      ["duplicated date", [...lines, lines[lines.length - 1]].join("\n") + "\n", /line \d+ repeats date 2024-02-23 of line \d+ \(duplicated day\)/],
      ["out-of-order dates", [lines[0], lines[2], lines[1], ...lines.slice(3)].join("\n") + "\n", /line 3 \(2020-02-24\) comes after line 2 \(2020-02-25\): dates must increase/],
      ["empty file", "", /is empty: expected a CSV header and one row per day/],
    ];
    for (const [label, text, message] of cases) {
      writeFileSync(p.path("data/dpc-covid19-ita-andamento-nazionale.csv"), text);
      const r = await p.run(["build", "--json"]);
      assert.equal(r.code, 1, `${label}: exit 1`);
      const fail = r.events.find((e) => e.type === "target-finished" && e.status === "failed");
      assert.ok(fail && fail.type === "target-finished" && fail.target === "dataset", `${label}: the dataset target fails`);
      assert.match([fail.reason, ...(fail.logTail ?? [])].join("\n"), message, `${label}: the message names the problem`);
      assert.deepEqual(finished(r.events, "built"), [], `${label}: nothing downstream ran`);
      assert.equal(p.read("build/report.html"), good, `${label}: the previous outputs stay`);
    }
    writeFileSync(p.path("data/dpc-covid19-ita-andamento-nazionale.csv"), csv);
    const url = await p.run(["build", "--json", "--param", "source=http://127.0.0.1:9/covid.csv"]);
    assert.equal(url.code, 1);
    const fail = url.events.find((e) => e.type === "target-finished" && e.status === "failed");
    assert.ok(fail && fail.type === "target-finished");
    assert.match([fail.reason, ...(fail.logTail ?? [])].join("\n"), /http:\/\/127\.0\.0\.1:9\/covid\.csv/);
  } finally {
    p.remove();
  }
});

test("on the real Italian series, the pipeline runs end to end and the forecast starts the day after the last observation", { timeout: 300_000 }, async (t) => {
  if (!existsSync(REAL)) {
    t.skip(`${REAL} is not there`);
    return;
  }
  const p = caseStudy();
  try {
    const r = await p.run(["build", "--json", "--param", `source=${REAL}`, "--param", "version=2025-06-30"]);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    const forecast = JSON.parse(readFileSync(p.path("build/forecast/total_positive-w7-linear-d7.json"), "utf8"));
    assert.deepEqual(forecast.lastObserved.date, "2025-01-08");
    assert.equal(forecast.points[0].date, "2025-01-09", "the first forecast date is the day after the last observation");
    assert.equal(forecast.points[0].lags[0], forecast.lastObserved.value, "its first step uses the last observed value");
    const html = p.read("build/report.html");
    assert.match(html, /data as of 2025-01-08/);
    assert.doesNotMatch(html, /SYNTHETIC/, "the real file is not called synthetic");
  } finally {
    rmSync(p.path("build"), { recursive: true, force: true });
    p.remove();
  }
});
