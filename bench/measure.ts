/**
 * Running the three tools and timing them: spawnSync wrapped in performance.now(), nothing else.
 * Each run also reports how many recipes it ran, read from the tool's own output:
 *   pipe   `--json` events: target-finished with status "built"
 *   make   the recipe lines it echoes (every recipe is one line; "make: ..." lines excluded)
 *   ninja  its "[k/n] ..." status lines (one per edge when stdout is not a terminal)
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Tool } from "./generate.ts";

const MAX_BUFFER = 1 << 30;

export interface RunResult {
  ms: number;
  ok: boolean;
  /** Recipes that ran. */
  ran: number;
  /** pipe only: target-finished counts by status. */
  statuses?: Record<string, number>;
  /** The end of stderr (and stdout) when the run failed. */
  error?: string;
}

export interface ToolCommand {
  file: string;
  args: string[];
}

export function commandFor(tool: Tool, jobs: number, pipeBin: string): ToolCommand {
  if (tool === "pipe") return { file: process.execPath, args: [pipeBin, "build", "-j", String(jobs), "--json"] };
  if (tool === "make") return { file: "make", args: ["-j", String(jobs), "--no-print-directory"] };
  return { file: "ninja", args: ["-j", String(jobs)] };
}

function spawnTool(cmd: ToolCommand, cwd: string): { r: SpawnSyncReturns<string>; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(cmd.file, cmd.args, { cwd, encoding: "utf8", maxBuffer: MAX_BUFFER, stdio: ["ignore", "pipe", "pipe"] });
  const ms = performance.now() - t0;
  return { r, ms };
}

/** Parses pipe's NDJSON and counts target-finished statuses. */
export function pipeStatuses(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: { type?: string; status?: string };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.type === "target-finished" && e.status) counts[e.status] = (counts[e.status] ?? 0) + 1;
  }
  return counts;
}

function countRan(tool: Tool, stdout: string): { ran: number; statuses?: Record<string, number> } {
  if (tool === "pipe") {
    const statuses = pipeStatuses(stdout);
    return { ran: statuses.built ?? 0, statuses };
  }
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (tool === "make") return { ran: lines.filter((l) => !l.startsWith("make:") && !l.startsWith("make[")).length };
  return { ran: lines.filter((l) => /^\[\d+\/\d+\]/.test(l)).length };
}

function tail(text: string, n = 15): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** Runs one build of `tool` in `cwd` and times it. */
export function runBuild(tool: Tool, cwd: string, jobs: number, pipeBin: string): RunResult {
  const { r, ms } = spawnTool(commandFor(tool, jobs, pipeBin), cwd);
  const ok = r.status === 0 && !r.error;
  const { ran, statuses } = countRan(tool, r.stdout ?? "");
  const res: RunResult = { ms, ok, ran, statuses };
  if (!ok) res.error = r.error ? String(r.error) : `exit ${r.status ?? r.signal}\n${tail(r.stderr ?? "")}\n${tail(r.stdout ?? "", 5)}`;
  return res;
}

/** Runs the floor script (`node floor.mjs`) in `cwd` and times it. */
export function runFloor(script: string, cwd: string): RunResult {
  const { r, ms } = spawnTool({ file: process.execPath, args: [script] }, cwd);
  const ok = r.status === 0 && !r.error;
  return ok ? { ms, ok, ran: 0 } : { ms, ok, ran: 0, error: r.error ? String(r.error) : tail(r.stderr ?? "") };
}

/** GNU time, when installed and able to report max RSS (`-f %M`). */
export function gnuTime(): string | undefined {
  const p = "/usr/bin/time";
  if (!existsSync(p)) return undefined;
  const r = spawnSync(p, ["-f", "%M", "true"], { encoding: "utf8" });
  return r.status === 0 && /^\d+\s*$/m.test(r.stderr ?? "") ? p : undefined;
}

/** Peak RSS (KiB) of one build, through GNU time; undefined when it is not available. */
export function peakRssKiB(time: string | undefined, tool: Tool, cwd: string, jobs: number, pipeBin: string): number | undefined {
  if (!time) return undefined;
  const tmp = mkdtempSync(join(tmpdir(), "pipe-bench-time-"));
  try {
    const outFile = join(tmp, "rss");
    const cmd = commandFor(tool, jobs, pipeBin);
    const r = spawnSync(time, ["-f", "%M", "-o", outFile, cmd.file, ...cmd.args], { cwd, encoding: "utf8", maxBuffer: MAX_BUFFER, stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) return undefined;
    const kib = Number(readFileSync(outFile, "utf8").trim().split("\n").pop());
    return Number.isFinite(kib) ? kib : undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The version line of a tool, or undefined when it is not installed. */
export function toolVersion(tool: Tool, repo: string): string | undefined {
  if (tool === "pipe") {
    try {
      return `pipe ${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version} (node ${process.version})`;
    } catch {
      return `pipe (node ${process.version})`;
    }
  }
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout ?? "").split("\n")[0].trim();
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
