/**
 * `pipe history [targets]`: the runs pipe recorded, newest first. Without targets, the project's
 * latest runs, one line each; with targets (ids, or family names for every instance ever
 * recorded, also those the Pipelinefile no longer asks for), each run with its params, what
 * changed since the run before it, and where its outputs are now: on disk, in the cache (a build
 * with those params, inputs and code restores them without running), or gone.
 *
 * Reads only `.pipe/` (records, cache index, stat cache) and the outputs on disk: the
 * Pipelinefile is not loaded, so the history can be read while it does not load.
 */
import { loadLastRun } from "../last-run.ts";
import { logPathFor } from "../../run/log-path.ts";
import { dirname, join } from "node:path";
import { flagValue, hasFlag } from "../args.ts";
import { wholeNumber } from "../flags.ts";
import { findPipelinefile } from "../../load/find.ts";
import { initHasher } from "../../hash/xxh.ts";
import { explain } from "../../plan/fingerprint.ts";
import { summarizeReasons } from "../../plan/reasons.ts";
import { formatValue } from "../../graph/param-values.ts";
import { localToday } from "../../graph/today.ts";
import { formatDuration } from "../../ui/format.ts";
import { OutputCache } from "../../state/cache.ts";
import { assertRecordsVersion, RecordStore, type BuildRecord } from "../../state/records.ts";
import { diskHashes } from "../../state/on-disk.ts";
import { didYouMean } from "../../util/did-you-mean.ts";
import { UserError } from "../../util/errors.ts";
import { COMMON, EXIT, type Command } from "../main.ts";

const DEFAULT_ALL = 20;
const DEFAULT_PER_TARGET = 10;
/** Params a run shows before "and N more" (without --verbose). */
const PARAMS_SHOWN = 3;

export const command: Command = {
  name: "history",
  summary: "Show the runs pipe recorded, newest first: when, how long, with which params, what changed since the run before, and whether the outputs are on disk, in the cache (restorable without running) or gone. Reads only .pipe/ (works while the Pipelinefile does not load).",
  usage: "pipe history [targets...] [-n N] [--verbose] [--json]",
  details: [
    "Without targets: the project's latest runs, one line each. A family name means every",
    "instance ever recorded. With targets, the first run shown of each target and its oldest",
    "recorded run list its params; the others say what changed since the run before.",
    "pipe keeps the 32 newest records of each target.",
  ].join("\n"),
  flags: [
    { name: "max", short: "n", value: true, meta: "N", help: `show at most N runs in all, the newest (default: ${DEFAULT_ALL}, and with targets at most ${DEFAULT_PER_TARGET} of each)` },
    { name: "verbose", short: "v", help: `with targets, list every param of every run, and every change (by default a run names ${PARAMS_SHOWN} params, and only the first run shown of a target and its oldest list them)` },
    { name: "json", help: "print one JSON document: { runs: [{ target, time, durationMs, fingerprint, params, outputs, where, changes }] }" },
    ...COMMON,
  ],
  run: async (ctx) => {
    const maxText = flagValue(ctx.args, "max");
    const max = maxText === undefined ? undefined : wholeNumber(maxText);
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new UserError({ message: `-n needs a whole number of runs, at least 1; got ${JSON.stringify(maxText)}`, hint: "e.g. pipe history <target> -n 5" });
    const root = dirname(findPipelinefile(ctx.cwd, flagValue(ctx.args, "file")));
    const stateDir = join(root, ".pipe");
    assertRecordsVersion(stateDir);
    await initHasher();
    const store = RecordStore.load(stateDir, { readOnly: true });
    const recorded = store.targets();
    const named = ctx.args.positional;
    const ids: string[] = [];
    const problems = [];
    // Targets whose builds only failed have no record: said as such, not as unknown (exit 2).
    const last = loadLastRun(stateDir);
    const failedOnly: string[] = [];
    for (const n of named) {
      const hits = recorded.filter((id) => id === n || id.startsWith(n + "["));
      if (hits.length) {
        for (const h of hits) if (!ids.includes(h)) ids.push(h);
        continue;
      }
      if (last.get(n) === "failed") {
        failedOnly.push(n);
        continue;
      }
      const families = [...new Set(recorded.map((id) => id.replace(/\[.*$/, "")))];
      const near = didYouMean(n, [...recorded, ...families]);
      problems.push({ message: `no recorded run of ${JSON.stringify(n)}${near ? `; did you mean ${JSON.stringify(near)}?` : ""}`, hint: recorded.length ? "pipe history (without targets) lists the recorded runs" : "nothing was built in this project yet (or .pipe/ was removed)" });
    }
    if (problems.length) throw new UserError(problems);
    const failedNote = failedOnly.map((n) => `no successful run of ${JSON.stringify(n)} is recorded: its last build failed (log: ${logPathFor(n)})\n`).join("");
    if (ids.length === 0 && failedOnly.length) {
      if (hasFlag(ctx.args, "json")) ctx.stdout.write(JSON.stringify({ runs: [] }) + "\n");
      else ctx.stdout.write(failedNote);
      return EXIT.ok;
    }

    const cache = new OutputCache(stateDir);
    const diskHash = diskHashes(root, stateDir);
    const where = (r: BuildRecord): Where => {
      if (r.outputs.length > 0 && r.outputs.every((o) => diskHash(o.path) === `${o.kind}:${o.hash}`)) return "on-disk";
      return r.outputs.every((o) => cache.has(o.hash, o.kind)) ? "cached" : "gone";
    };

    const verbose = hasFlag(ctx.args, "verbose");
    let runs: Run[];
    let total = 0;
    if (ids.length === 0) {
      // The project's latest runs across targets: one line each.
      runs = store.newest(max ?? DEFAULT_ALL).map((r) => ({ ...runOf(r), where: where(r) }));
    } else {
      // -n counts runs in all (a family name selects hundreds of targets): the newest N across
      // the targets, shown target by target. Without -n, at most 10 of each and 20 in all.
      const lists = ids.map((id) => store.history(id));
      const candidates = lists.flatMap((list) => list.slice(0, max ?? DEFAULT_PER_TARGET));
      total = lists.reduce((n, list) => n + list.length, 0);
      const kept = new Set(candidates.sort((a, b) => b.time - a.time).slice(0, max ?? DEFAULT_ALL));
      runs = [];
      for (const list of lists) {
        list.forEach((r, i) => {
          if (kept.has(r)) runs.push({ ...runOf(r), where: where(r), changes: changesSince(r, list[i + 1], verbose) });
        });
      }
    }
    cache.close();
    for (const w of store.warnings) ctx.stderr.write(`warning: ${w}\n`);
    if (hasFlag(ctx.args, "json")) {
      ctx.stdout.write(JSON.stringify({ runs }) + "\n");
      return EXIT.ok;
    }
    ctx.stdout.write(failedNote + (ids.length ? renderDetailed(runs, { verbose, total, targets: ids.length }) : renderLines(runs, recorded.length)));
    return EXIT.ok;
  },
};

type Where = "on-disk" | "cached" | "gone";

interface Run {
  target: string;
  /** Epoch ms when the run finished. */
  time: number;
  durationMs: number;
  fingerprint: string;
  params: Record<string, unknown>;
  outputs: { path: string; kind: "file" | "dir"; hash: string }[];
  where: Where;
  /** What differs from the target's run before this one (absent: not asked, or none before). */
  changes?: string[];
}

function runOf(r: BuildRecord): Omit<Run, "where"> {
  return { target: r.target, time: r.time, durationMs: r.durationMs, fingerprint: r.fingerprint, params: byCommandLineName(r), outputs: r.outputs.map((o) => ({ path: o.path, kind: o.kind, hash: o.hash })) };
}

/** A run's params named as `-p` takes them (records keep the recipe's keys, and the names that differ). */
function byCommandLineName(r: BuildRecord): Record<string, unknown> {
  const names = r.parts.paramNames;
  if (!names) return r.parts.params;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.parts.params)) out[Object.hasOwn(names, k) ? names[k] : k] = v;
  return out;
}

/**
 * Value-level differences from the run before (the same words as `pipe why`, lists named a few
 * at a time unless `all`).
 */
function changesSince(r: BuildRecord, before: BuildRecord | undefined, all: boolean): string[] | undefined {
  if (!before) return undefined;
  if (before.fingerprint === r.fingerprint) return ["nothing: the same inputs, params and code (run again because its outputs were gone)"];
  const changes = explain(r.parts, before).map((c) => (c.startsWith("no record for this combination") ? "only pipe's record format" : c));
  return all ? changes : summarizeReasons(changes);
}

const WHERE_TEXT: Record<Where, string> = {
  "on-disk": "outputs on disk now",
  cached: "outputs in the cache (restored, not run, when a build asks for this again)",
  gone: "outputs no longer in the cache",
};
const WHERE_SHORT: Record<Where, string> = { "on-disk": "on disk", cached: "in the cache", gone: "gone" };

/** Local time, to the second: `2026-12-05 12:31:07`. */
function when(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${localToday(d)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function paramText(params: Record<string, unknown>, all: boolean): string {
  const names = Object.keys(params).sort();
  if (names.length === 0) return "no params";
  const shown = all ? names : names.slice(0, PARAMS_SHOWN);
  const more = names.length - shown.length;
  return shown.map((k) => `${k}=${formatValue(params[k])}`).join(" ") + (more ? ` and ${more} more (--verbose lists them)` : "");
}

function renderLines(runs: Run[], targets: number): string {
  if (runs.length === 0) return "no recorded runs yet: `pipe build` records every successful run\n";
  const w = Math.max(...runs.map((r) => r.target.length));
  const lines = runs.map((r) => `${when(r.time)}  ${formatDuration(r.durationMs).padStart(7)}  ${r.target.padEnd(w)}  ${WHERE_SHORT[r.where]}`);
  lines.push(`(${runs.length} newest run${runs.length === 1 ? "" : "s"} of ${targets} target${targets === 1 ? "" : "s"}; pipe history <target> shows a target's runs with their params and what changed)`);
  return lines.join("\n") + "\n";
}

/**
 * Runs grouped by target. The first run shown of a target and its oldest recorded run list
 * the params; a run in between says only what changed since the run before (every run listing
 * 200 params made 10 KB lines). --verbose lists them all, on every run.
 */
function renderDetailed(runs: Run[], o: { verbose: boolean; total: number; targets: number }): string {
  const out: string[] = [];
  let last: string | undefined;
  for (const r of runs) {
    const first = r.target !== last;
    if (first) {
      if (last !== undefined) out.push("");
      out.push(r.target);
      last = r.target;
    }
    out.push(`  ${when(r.time)}  took ${formatDuration(r.durationMs)}  ${WHERE_TEXT[r.where]}`);
    if (first || !r.changes || o.verbose) out.push(`    params: ${paramText(r.params, o.verbose)}`);
    if (r.changes) out.push(`    since the run before: ${r.changes.join("; ")}`);
    else out.push("    the oldest recorded run");
  }
  if (runs.length < o.total) out.push("", `(the newest ${runs.length} of ${o.total} recorded runs of ${o.targets} target${o.targets === 1 ? "" : "s"}; -n N shows more)`);
  return out.join("\n") + "\n";
}
