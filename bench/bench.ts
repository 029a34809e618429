/**
 * `npm run bench`: pipe against GNU make and ninja on generated file pipelines, plus the floor
 * (node start-up + a stat of every file). See bench/README.md for what is measured and how to
 * read the ratios. Benchmarks report; nothing here asserts a timing.
 *
 *   node dist/bench/bench.js [--sizes 1000,10000] [--shapes wide,tree,chain] [--runs 5]
 *                            [--cold-runs 3] [--tools make,ninja,pipe] [-j N] [--quick]
 *                            [--save] [--keep] [--self-check] [--no-install]
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildModel, effectiveSize, floorScript, renderAll, SHAPES, TOOLS, writeProject, type Model, type Shape, type Tool } from "./generate.ts";
import { aptInstall } from "./apt.ts";
import { gnuTime, median, peakRssKiB, runBuild, runFloor, toolVersion, type RunResult } from "./measure.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repo root: dist/bench/bench.js -> ../.. (and bench/bench.ts -> .. when run from source). */
const REPO = resolve(HERE, HERE.endsWith(join("dist", "bench")) ? "../.." : "..");
const PIPE_BIN = join(REPO, "bin", "pipe.js");
const RESULTS = join(REPO, "bench", "results");

export type Scenario = "cold" | "noop" | "change" | "touch1" | "touch";
const SCENARIOS: readonly Scenario[] = ["cold", "noop", "change", "touch1", "touch"];
const SCENARIO_LABEL: Record<Scenario, string> = {
  cold: "cold build",
  noop: "no-op",
  change: "one input changed",
  touch1: "touch one input",
  touch: "touch all inputs",
};

interface Options {
  sizes: number[];
  shapes: Shape[];
  runs: number;
  coldRuns: number;
  tools: Tool[];
  jobs: number;
  save: boolean;
  keep: boolean;
  selfCheck: boolean;
  /** Install missing tools (make, ninja, GNU time) with apt-get (default; --no-install: skip them). */
  install: boolean;
  /** Free text stored in the results (e.g. the commit measured). */
  label?: string;
  /** Repeat a scenario only while its runs would stay within this much (ms); 0: no limit. */
  budgetMs: number;
}

interface ScenarioResult {
  runsMs: number[];
  medianMs: number;
  /** Recipes run, per run. */
  ran: number[];
  failures: string[];
}

interface ToolResult {
  scenarios: Partial<Record<Scenario, ScenarioResult>>;
  /** Max RSS of one no-op build, KiB (GNU time), or null. */
  noopPeakRssKiB: number | null;
}

interface CaseResult {
  shape: Shape;
  size: number;
  targets: number;
  inputs: number;
  changeFile: string;
  expectedRebuilt: number;
  tools: Partial<Record<Tool, ToolResult>>;
  floor: ScenarioResult;
  ratios: Record<string, number | null>;
  /** pipe's correctness checks from --json events: what was expected and what happened. */
  checks: { scenario: Scenario; expected: string; actual: string; ok: boolean }[];
  /** 1-minute load average when the case started and ended (other work on the machine skews timings). */
  loadAvg: [number, number];
}

function usage(): string {
  return `usage: node dist/bench/bench.js [options]
  --sizes 1000,10000        pipeline sizes (targets)
  --shapes wide,tree,chain  pipeline shapes
  --runs N                  runs per no-op/change/touch scenario (median reported; default 5)
  --cold-runs N             cold builds, each from a fresh copy (default 3)
  --tools make,ninja,pipe   tools to measure
  -j, --jobs N              parallel jobs for every tool (default: CPU count, ${availableParallelism()})
  --budget-s S              run a scenario again only while its runs would stay within
                            S seconds in all (at least one run; default 30; 0: no limit)
  --label TEXT              stored in the results JSON (e.g. what was measured)
  --quick                   1000 targets only, 3 runs
  --save                    also write bench/results/<date>.json (<date>-2.json, ... if taken)
  --keep                    keep the generated projects (printed at the end)
  --self-check              build a 20-target version of each shape with every tool and
                            compare the outputs byte for byte (exit 1 on a mismatch)
  --no-install              do not install missing make, ninja or GNU time with apt-get
                            (as root, or with sudo -n); their columns are left out`;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { sizes: [1000, 10000], shapes: [...SHAPES], runs: 5, coldRuns: 3, tools: [...TOOLS], jobs: availableParallelism(), save: false, keep: false, selfCheck: false, install: true, budgetMs: 30_000 };
  let runsGiven = false;
  let quick = false;
  const list = (v: string | undefined, name: string) => {
    if (v === undefined) throw new Error(`--${name} needs a value`);
    return v.split(",").map((s) => s.trim()).filter(Boolean);
  };
  const int = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a whole number of at least 1, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes("=") ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--sizes":
        o.sizes = list(value(), "sizes").map((s) => int(s, "sizes"));
        break;
      case "--shapes": {
        const v = list(value(), "shapes");
        for (const s of v) if (!SHAPES.includes(s as Shape)) throw new Error(`unknown shape ${JSON.stringify(s)} (shapes: ${SHAPES.join(", ")})`);
        o.shapes = v as Shape[];
        break;
      }
      case "--tools": {
        const v = list(value(), "tools");
        for (const s of v) if (!TOOLS.includes(s as Tool)) throw new Error(`unknown tool ${JSON.stringify(s)} (tools: ${TOOLS.join(", ")})`);
        o.tools = TOOLS.filter((t) => v.includes(t));
        break;
      }
      case "--runs":
        o.runs = int(value(), "runs");
        runsGiven = true;
        break;
      case "--cold-runs":
        o.coldRuns = int(value(), "cold-runs");
        break;
      case "-j":
      case "--jobs":
        o.jobs = int(value(), "jobs");
        break;
      case "--budget-s": {
        const v = Number(value());
        if (!(v >= 0)) throw new Error("--budget-s needs a number of seconds (0: no limit)");
        o.budgetMs = v * 1000;
        break;
      }
      case "--label":
        o.label = value();
        break;
      case "--quick":
        quick = true;
        break;
      case "--save":
        o.save = true;
        break;
      case "--keep":
        o.keep = true;
        break;
      case "--self-check":
        o.selfCheck = true;
        break;
      case "--no-install":
        o.install = false;
        break;
      case "-h":
      case "--help":
        console.log(usage());
        process.exit(0);
      default:
        throw new Error(`unknown option ${JSON.stringify(argv[i])}\n${usage()}`);
    }
  }
  if (quick) {
    o.sizes = [1000];
    if (!runsGiven) o.runs = 3;
  }
  return o;
}

/** The Debian package of each tool the bench compares with, and of GNU time (peak memory). */
const PACKAGES: Partial<Record<Tool, string>> = { make: "make", ninja: "ninja-build" };

/** Tools that are installed, after installing missing ones with apt-get where allowed. */
function availableTools(wanted: Tool[], install: boolean): { tools: Tool[]; versions: Partial<Record<Tool, string>> } {
  const missing = wanted.filter((t) => PACKAGES[t] !== undefined && toolVersion(t, REPO) === undefined);
  if (missing.length) aptInstall(missing.map((t) => PACKAGES[t]!), install);
  const tools: Tool[] = [];
  const versions: Partial<Record<Tool, string>> = {};
  for (const t of wanted) {
    const v = toolVersion(t, REPO);
    if (v === undefined) {
      console.log(`${t} is not installed: skipping its column`);
      continue;
    }
    tools.push(t);
    versions[t] = v;
  }
  return { tools, versions };
}

function scenarioResult(runs: RunResult[]): ScenarioResult {
  const good = runs.filter((r) => r.ok);
  return { runsMs: runs.map((r) => round(r.ms)), medianMs: round(median(good.map((r) => r.ms))), ran: runs.map((r) => r.ran), failures: runs.filter((r) => !r.ok).map((r) => r.error ?? "failed") };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : NaN;
}

/**
 * Waits for the kernel's coarse file clock to move past the outputs just written. Linux stamps
 * files from a clock that advances once per tick (4 ms here), so a change made right after a
 * build can get exactly the output's mtime, and make and ninja (which need "newer") would then
 * miss it. Untimed; before every change and touch, for every tool alike.
 */
function settle(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
}
const SETTLE_MS = 25;

/** Sets every input's mtime to now without changing its content. */
function touchAll(dir: string, m: Model): void {
  const now = Date.now() / 1000;
  for (const p of m.inputs.keys()) utimesSync(join(dir, p), now, now);
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Runs every scenario for one tool; leaves its project in `<work>/<tool>`. */
/** Whether one more run (at the mean of the `runs` so far, which took `spentMs`) would exceed the budget. */
function overBudget(spentMs: number, runs: number, o: Options): boolean {
  return runs > 0 && o.budgetMs > 0 && spentMs + spentMs / runs > o.budgetMs;
}

/** Prints a scenario's result as a progress line and keeps it. */
function say(m: Model, tool: Tool, scenarios: Partial<Record<Scenario, ScenarioResult>>, s: Scenario, rs: RunResult[]): void {
  const r = scenarioResult(rs);
  progress(`  ${m.shape} ${m.size} ${tool.padEnd(5)} ${SCENARIO_LABEL[s].padEnd(18)} median ${fmtMs(r.medianMs).padStart(9)}  runs ${r.runsMs.map(fmtMs).join(" ")}  ran ${[...new Set(r.ran)].join("/")}${r.failures.length ? `  FAILED: ${r.failures[0]}` : ""}`);
  scenarios[s] = r;
}

/**
 * Cold builds, taken in turns: run i of every tool, then run i + 1, the tools' order rotating
 * each round. On the development VM (ext4 without a journal), creating files right after many
 * were deleted costs up to 20× more (the allocator skips recently freed inodes), and each cold
 * build deletes the project before it: measured tool after tool, the tool measured last paid for
 * its predecessors' deletions (ninja, second, took 12.5 s where make took 6.4 s).
 */
function coldBuilds(m: Model, tools: Tool[], work: string, rendered: Record<Tool, string>, o: Options): Record<Tool, RunResult[]> {
  const runs = Object.fromEntries(tools.map((t) => [t, [] as RunResult[]])) as Record<Tool, RunResult[]>;
  const spent = new Map<Tool, number>(tools.map((t) => [t, 0]));
  for (let i = 0; i < o.coldRuns; i++) {
    for (let k = 0; k < tools.length; k++) {
      const tool = tools[(i + k) % tools.length];
      const used = spent.get(tool)!;
      // No further run once one more (at the mean so far) would exceed the budget.
      if (overBudget(used, i, o)) continue;
      const dir = join(work, tool);
      rmSync(dir, { recursive: true, force: true });
      writeProject(m, tool, dir, REPO, rendered);
      const r = runBuild(tool, dir, o.jobs, PIPE_BIN);
      runs[tool].push(r);
      spent.set(tool, used + r.ms);
    }
  }
  return runs;
}

/** Every scenario after the cold builds, in the project the last cold build left. */
function benchTool(m: Model, tool: Tool, work: string, cold: RunResult[], o: Options, time: string | undefined): ToolResult {
  const dir = join(work, tool);
  const scenarios: Partial<Record<Scenario, ScenarioResult>> = {};
  const build = () => runBuild(tool, dir, o.jobs, PIPE_BIN);

  // Up to `n` runs; no further run once one more (at the mean so far) would exceed the budget.
  const repeat = (n: number, before: (i: number) => void): RunResult[] => {
    const runs: RunResult[] = [];
    let spent = 0;
    for (let i = 0; i < n; i++) {
      if (overBudget(spent, i, o)) break;
      before(i);
      const r = build();
      runs.push(r);
      spent += r.ms;
    }
    return runs;
  };

  say(m, tool, scenarios, "cold", cold);
  say(m, tool, scenarios, "noop", repeat(o.runs, () => {}));
  say(
    m,
    tool,
    scenarios,
    "change",
    repeat(o.runs, (i) => {
      settle();
      appendFileSync(join(dir, m.changeFile), `change ${i}\n`);
    }),
  );
  say(
    m,
    tool,
    scenarios,
    "touch1",
    repeat(o.runs, () => {
      settle();
      const now = Date.now() / 1000;
      utimesSync(join(dir, m.changeFile), now, now);
    }),
  );
  say(
    m,
    tool,
    scenarios,
    "touch",
    repeat(o.runs, () => {
      settle();
      touchAll(dir, m);
    }),
  );

  const rss = peakRssKiB(time, tool, dir, o.jobs, PIPE_BIN);
  return { scenarios, noopPeakRssKiB: rss ?? null };
}

/** pipe's correctness, from its --json events. */
function pipeChecks(m: Model, t: ToolResult): CaseResult["checks"] {
  const checks: CaseResult["checks"] = [];
  const expect: Record<Scenario, number> = { cold: m.size, noop: 0, change: m.expectedRebuilt, touch1: 0, touch: 0 };
  for (const s of SCENARIOS) {
    const r = t.scenarios[s];
    if (!r) continue;
    const ok = r.failures.length === 0 && r.ran.every((n) => n === expect[s]);
    checks.push({ scenario: s, expected: `${expect[s]} built`, actual: `${[...new Set(r.ran)].join("/")} built${r.failures.length ? `, ${r.failures.length} failed runs` : ""}`, ok });
  }
  return checks;
}

function benchCase(shape: Shape, size: number, root: string, o: Options, tools: Tool[], time: string | undefined): CaseResult {
  const load0 = loadavg()[0];
  const m = buildModel(shape, size);
  const work = join(root, `${shape}-${m.size}`);
  mkdirSync(work, { recursive: true });
  const rendered = renderAll(m);
  writeFileSync(join(work, "floor.mjs"), floorScript(m));
  const results: Partial<Record<Tool, ToolResult>> = {};
  const cold = coldBuilds(m, tools, work, rendered, o);
  for (const tool of tools) results[tool] = benchTool(m, tool, work, cold[tool], o, time);

  // The floor, in a project whose inputs and outputs all exist.
  const floorRuns: RunResult[] = [];
  const floorDir = join(work, tools[tools.length - 1]);
  for (let i = 0; i < o.runs; i++) floorRuns.push(runFloor(join(work, "floor.mjs"), floorDir));
  const floor = scenarioResult(floorRuns);
  progress(`  ${m.shape} ${m.size} floor (node + stat of ${m.inputs.size + m.nodes.length} files) median ${fmtMs(floor.medianMs)}`);

  const ratios: Record<string, number | null> = {};
  const pipe = results.pipe;
  for (const s of SCENARIOS) {
    for (const other of ["make", "ninja"] as const) {
      const a = pipe?.scenarios[s]?.medianMs;
      const b = results[other]?.scenarios[s]?.medianMs;
      ratios[`${s}.pipe/${other}`] = a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? round(a / b) : null;
    }
  }
  const pn = pipe?.scenarios.noop?.medianMs;
  ratios["noop.pipe/floor"] = pn !== undefined && floor.medianMs > 0 ? round(pn / floor.medianMs) : null;

  if (!o.keep) rmSync(work, { recursive: true, force: true });
  return {
    shape,
    size: m.size,
    targets: m.nodes.length,
    inputs: m.inputs.size,
    changeFile: m.changeFile,
    expectedRebuilt: m.expectedRebuilt,
    tools: results,
    floor,
    ratios,
    checks: pipe ? pipeChecks(m, pipe) : [],
    loadAvg: [round(load0), round(loadavg()[0])],
  };
}

// ---------------------------------------------------------------------------------------------
// Output

function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "n/a";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function fmtRatio(x: number | null | undefined): string {
  return x === null || x === undefined ? "" : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

function fmtMiB(kib: number | null | undefined): string {
  return kib === null || kib === undefined ? "n/a" : `${(kib / 1024).toFixed(0)} MiB`;
}

function table(c: CaseResult, tools: Tool[], o: Options): string {
  const cols = ["make", "ninja", "pipe"] as const;
  const has = (t: Tool) => tools.includes(t);
  const header = ["scenario", ...cols.filter(has), ...(has("pipe") && has("make") ? ["pipe÷make"] : []), ...(has("pipe") && has("ninja") ? ["pipe÷ninja"] : [])];
  const rows: string[][] = [];
  const row = (label: string, cell: (t: Tool) => string, ratio: (other: "make" | "ninja") => string) => {
    const r = [label, ...cols.filter(has).map(cell)];
    if (has("pipe") && has("make")) r.push(ratio("make"));
    if (has("pipe") && has("ninja")) r.push(ratio("ninja"));
    rows.push(r);
  };
  for (const s of SCENARIOS) {
    const wanted = s === "cold" ? o.coldRuns : o.runs;
    const cell = (t: Tool) => {
      const r = c.tools[t]?.scenarios[s];
      if (!r) return "n/a";
      return `${fmtMs(r.medianMs)}${r.runsMs.length < wanted ? ` (n=${r.runsMs.length})` : ""}`;
    };
    row(SCENARIO_LABEL[s], cell, (other) => fmtRatio(c.ratios[`${s}.pipe/${other}`]));
  }
  row("floor (node + stat)", (t) => (t === "pipe" ? fmtMs(c.floor.medianMs) : ""), () => "");
  row("pipe no-op ÷ floor", (t) => (t === "pipe" ? fmtRatio(c.ratios["noop.pipe/floor"]) : ""), () => "");
  row("peak RSS, no-op", (t) => fmtMiB(c.tools[t]?.noopPeakRssKiB), () => "");
  row("ran: cold/no-op/chg/t1/touch", (t) => SCENARIOS.map((s) => [...new Set(c.tools[t]?.scenarios[s]?.ran ?? [])].join("|") || "-").join("/"), () => "");
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("   ");
  const title = `${c.shape}, ${c.size.toLocaleString("en-US")} targets (${c.inputs.toLocaleString("en-US")} inputs; change: ${c.changeFile} -> ${c.expectedRebuilt} to rebuild) -j${o.jobs}, median of ${o.runs} (cold: ${o.coldRuns})`;
  const others = (["make", "ninja"] as const).filter((t) => (c.tools[t]?.scenarios.change?.ran ?? []).some((n) => n !== c.expectedRebuilt));
  const notes = others.map((t) => `note: ${t} ran ${[...new Set(c.tools[t]!.scenarios.change!.ran)].join("|")} recipes after the change (expected ${c.expectedRebuilt})`);
  const failedChecks = c.checks.filter((k) => !k.ok);
  const checks = c.checks.length === 0 ? "" : failedChecks.length === 0 ? "pipe checks (--json events): cold built all, no-op 0, change exactly the downstream, touch one or all 0: ok" : `pipe CHECK FAILED: ${failedChecks.map((k) => `${k.scenario}: expected ${k.expected}, got ${k.actual}`).join("; ")}`;
  const failures = tools.flatMap((t) => SCENARIOS.flatMap((s) => (c.tools[t]?.scenarios[s]?.failures ?? []).slice(0, 1).map((f) => `${t} ${s} failed: ${f.split("\n").slice(0, 6).join(" | ")}`)));
  const load = `load average (1 min) at start / end: ${c.loadAvg.map((x) => x.toFixed(2)).join(" / ")}`;
  return [title, line(header), line(header.map((_, i) => "-".repeat(widths[i]))), ...rows.map(line), checks, ...notes, ...failures, load].filter(Boolean).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Self-check: the three renderings build the same bytes.

function expectedOutputs(m: Model): Map<string, string> {
  const out = new Map<string, string>();
  const content = (k: number): string => {
    const n = m.nodes[k];
    const cached = out.get(n.out);
    if (cached !== undefined) return cached;
    const text = [...n.deps.map(content), ...n.files.map((f) => m.inputs.get(f)!)].join("");
    out.set(n.out, text);
    return text;
  };
  for (let k = m.nodes.length - 1; k >= 0; k--) content(k);
  return out;
}

function readOutputs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, "out"))) out.set(`out/${name}`, readFileSync(join(dir, "out", name), "utf8"));
  return out;
}

function compareOutputs(label: string, expected: Map<string, string>, actual: Map<string, string>): string[] {
  const errors: string[] = [];
  for (const [p, text] of expected) {
    const got = actual.get(p);
    if (got === undefined) errors.push(`${label}: ${p} is missing`);
    else if (got !== text) errors.push(`${label}: ${p} differs (expected ${JSON.stringify(text.slice(0, 60))}, got ${JSON.stringify(got.slice(0, 60))})`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) errors.push(`${label}: unexpected output ${p}`);
  return errors;
}

function selfCheck(o: Options): number {
  const { tools } = availableTools(o.tools, o.install);
  const root = mkdtempSync(join(tmpdir(), "pipe-bench-check-"));
  const errors: string[] = [];
  try {
    for (const shape of o.shapes) {
      const m = buildModel(shape, 20);
      const rendered = renderAll(m);
      const built = new Map<Tool, Map<string, string>>();
      for (const tool of tools) {
        const dir = join(root, shape, tool);
        writeProject(m, tool, dir, REPO, rendered);
        const label = `${shape}/${tool}`;
        const cold = runBuild(tool, dir, o.jobs, PIPE_BIN);
        if (!cold.ok) {
          errors.push(`${label}: cold build failed: ${cold.error}`);
          continue;
        }
        if (tool === "pipe" && cold.ran !== m.size) errors.push(`${label}: cold build ran ${cold.ran} targets, expected ${m.size}`);
        errors.push(...compareOutputs(`${label} cold`, expectedOutputs(m), readOutputs(dir)));
        built.set(tool, readOutputs(dir));

        const noop = runBuild(tool, dir, o.jobs, PIPE_BIN);
        if (!noop.ok || noop.ran !== 0) errors.push(`${label}: no-op ran ${noop.ran} targets${noop.ok ? "" : `, failed: ${noop.error}`}`);

        settle();
        appendFileSync(join(dir, m.changeFile), "change 0\n");
        const change = runBuild(tool, dir, o.jobs, PIPE_BIN);
        if (!change.ok) errors.push(`${label}: build after a change failed: ${change.error}`);
        else if (change.ran !== m.expectedRebuilt) errors.push(`${label}: after changing ${m.changeFile}, ran ${change.ran} targets, expected ${m.expectedRebuilt}`);
        const changed = buildModel(shape, 20);
        changed.inputs.set(m.changeFile, `${m.inputs.get(m.changeFile)}change 0\n`);
        errors.push(...compareOutputs(`${label} after change`, expectedOutputs(changed), readOutputs(dir)));

        if (tool === "pipe") {
          settle();
          touchAll(dir, m);
          const touch = runBuild(tool, dir, o.jobs, PIPE_BIN);
          if (!touch.ok || touch.ran !== 0) errors.push(`${label}: touching the inputs ran ${touch.ran} targets, expected 0${touch.ok ? "" : `; failed: ${touch.error}`}`);
        }
      }
      // Byte-identical across tools (already implied by matching the model; stated directly).
      const [first, ...rest] = [...built.entries()];
      for (const [tool, outs] of rest) errors.push(...compareOutputs(`${shape}: ${tool} vs ${first[0]}`, first[1], outs));
      console.log(`self-check ${shape} (${m.size} targets; ${[...built.keys()].join(", ")}): ${errors.some((e) => e.startsWith(shape)) ? "FAILED" : "ok"}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  for (const e of errors) console.log(`  ${e}`);
  console.log(errors.length === 0 ? "self-check: ok" : `self-check: ${errors.length} problem(s)`);
  return errors.length === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------

/** The commit of the pipe being measured, with "+dirty" when src/ differs from it; null outside git. */
function gitCommit(): string | null {
  const head = spawnSync("git", ["-C", REPO, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  if (head.status !== 0) return null;
  const dirty = spawnSync("git", ["-C", REPO, "status", "--porcelain", "--", "src", "bin"], { encoding: "utf8" });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? "+dirty" : ""}`;
}

/**
 * What creating and renaming a small file costs here now (µs each, 500 files in `dir`): cold
 * builds create one output per recipe, and on the development VM this cost varied tenfold within
 * one session (ext4 mounted with `discard`), so results are read next to it.
 */
function fileCost(dir: string): { createUs: number; renameUs: number } {
  const probe = join(dir, ".fs-probe");
  mkdirSync(probe, { recursive: true });
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) writeFileSync(join(probe, `t${i}`), "x\n", { flag: "wx" });
  const t1 = performance.now();
  for (let i = 0; i < n; i++) renameSync(join(probe, `t${i}`), join(probe, `f${i}`));
  const t2 = performance.now();
  rmSync(probe, { recursive: true, force: true });
  return { createUs: Math.round(((t1 - t0) * 1000) / n), renameUs: Math.round(((t2 - t1) * 1000) / n) };
}

function main(argv: string[]): number {
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (o.selfCheck) return selfCheck(o);

  const { tools, versions } = availableTools(o.tools, o.install);
  if (tools.length === 0) {
    console.error("no tool to measure");
    return 1;
  }
  if (!gnuTime()) aptInstall(["time"], o.install);
  const time = gnuTime();
  if (!time) console.log("GNU time (/usr/bin/time) is not installed: peak memory is reported as n/a");
  const root = mkdtempSync(join(tmpdir(), "pipe-bench-"));
  const started = new Date();
  const results: CaseResult[] = [];
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? "?", memGiB: Math.round(totalmem() / 2 ** 30), os: `${process.platform} ${release()}`, node: process.version, jobs: o.jobs };
  console.log(`pipe bench: ${machine.cpus} CPUs (${machine.cpu}), node ${machine.node}, -j${o.jobs}; ${tools.map((t) => (t === "pipe" ? versions[t] : `${t} ${versions[t]}`)).join("; ")}`);
  const fsBefore = fileCost(root);
  console.log(`work folder: ${root}; creating a small file costs ${fsBefore.createUs} µs, renaming it ${fsBefore.renameUs} µs\n`);
  for (const size of o.sizes) {
    for (const shape of o.shapes) {
      if (results.some((r) => r.shape === shape && r.size === effectiveSize(shape, size))) continue;
      const c = benchCase(shape, size, root, o, tools, time);
      results.push(c);
      console.log(`${table(c, tools, o)}\n`);
    }
  }
  const finished = new Date();
  const fsAfter = fileCost(root);
  console.log(`file costs at the end: create ${fsAfter.createUs} µs, rename ${fsAfter.renameUs} µs`);
  if (!o.keep) rmSync(root, { recursive: true, force: true });
  else console.log(`projects kept in ${root}`);

  const json = {
    date: started.toISOString(),
    label: o.label ?? null,
    commit: gitCommit(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 1000),
    machine,
    fileCostUs: { start: fsBefore, end: fsAfter },
    tools: versions,
    options: { sizes: o.sizes, shapes: o.shapes, runs: o.runs, coldRuns: o.coldRuns, jobs: o.jobs, tools, budgetS: o.budgetMs / 1000 },
    pipeCommand: "node bin/pipe.js build -j N --json",
    results,
  };
  mkdirSync(RESULTS, { recursive: true });
  const text = `${JSON.stringify(json, null, 2)}\n`;
  writeFileSync(join(RESULTS, "latest.json"), text);
  const written = ["bench/results/latest.json"];
  if (o.save) {
    // A run saved earlier the same day is kept: the next name is <date>-2.json, -3, ...
    const day = started.toISOString().slice(0, 10);
    let name = `${day}.json`;
    for (let n = 2; existsSync(join(RESULTS, name)); n++) name = `${day}-${n}.json`;
    writeFileSync(join(RESULTS, name), text);
    written.push(`bench/results/${name}`);
  }
  console.log(`wrote ${written.join(" and ")} (${json.durationS} s in all)`);
  const failed = results.some((r) => r.checks.some((k) => !k.ok));
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
