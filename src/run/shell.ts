/**
 * Runs a shell recipe in its own process group, so an interrupt reaches every descendant:
 * SIGTERM to the group (background jobs of `sh` ignore SIGINT, ecosystem.md §7), SIGKILL after
 * a grace period, and the group is confirmed empty before we return (groups.ts).
 * stdin is /dev/null: a recipe never waits for input.
 *
 * Recipes start through a spawner (spawner.ts): a python helper on Linux when /usr/bin/python3
 * is there, else a perl one; node's own spawn forks all of pipe, which costs more than a cheap
 * recipe itself. `PIPE_SPAWNER=node|perl|python` (or `spawner:`) forces one; node's spawn is
 * also the fallback when neither helper can run.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve as resolvePath } from "node:path";
import { createRequire } from "node:module";
import { killAllGroups as killGroups, RecipeGroup } from "./groups.ts";
import { killRecipeProcesses } from "./recipe-processes.ts";
import { outputClosed, whenOutputOpen } from "../util/output-gate.ts";
import { CANCELLED, cannotOpen, Spawner, SYSTEM_PYTHON, type HelperKind } from "./spawner.ts";
import type { Lane, Ticket } from "./lanes.ts";

/**
 * A second Ctrl-C: `signal` (SIGKILL) to every recipe's process group now, and SIGKILL to the
 * processes TypeScript recipes started that are being stopped (recipe-processes.ts).
 */
export function killAllGroups(signal: NodeJS.Signals): void {
  killGroups(signal);
  if (signal === "SIGKILL") killRecipeProcesses();
}

export interface ShellRun {
  script: string;
  argv?: string[];
  /** With argv: a path (relative to cwd) the command's standard output goes to, as sh's `>`. */
  stdout?: string;
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  graceMs: number;
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  /** A recipe's process group exists (alive) or is gone: node's own spawn only. */
  onGroup: (pgid: number, alive: boolean) => void;
  /**
   * The helper that starts this recipe (its pid; it leads the session the recipe runs in), and
   * later (alive false) that it died and every group it had started is gone.
   */
  onHelper?: (pid: number, alive: boolean) => void;
  /** How to start the process; default: the best helper available (PIPE_SPAWNER forces one). */
  spawner?: HelperKind | "node";
  /** This recipe's slot, which the next one may wait for in the helper (lanes.ts). */
  lane?: Lane;
  /** This recipe has no slot yet: it waits for one behind `ticket.behind` (lanes.ts). */
  ticket?: Ticket;
}

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when we had to SIGKILL the group after the grace period. */
  killed: boolean;
  spawnError?: string;
  /** A recipe waiting for a slot that the build cancelled: it never started. */
  cancelled?: boolean;
}

/** readline, for node's own spawn only (the helpers send whole lines): loaded when it is used. */
const readline = (): typeof import("node:readline") => createRequire(import.meta.url)("node:readline") as typeof import("node:readline");

const SPAWNERS = ["node", "perl", "python"];
const FORCED = SPAWNERS.includes(process.env.PIPE_SPAWNER ?? "") ? (process.env.PIPE_SPAWNER as HelperKind | "node") : undefined;

/** A warning when PIPE_SPAWNER is set to something pipe does not know (it then picks as usual). */
export function spawnerWarning(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.PIPE_SPAWNER;
  return v === undefined || v === "" || SPAWNERS.includes(v) ? undefined : `PIPE_SPAWNER=${JSON.stringify(v)} is not one of ${SPAWNERS.join(", ")}; recipes start the usual way`;
}
/**
 * Spawners of this process, started as recipes need them: a job goes to an idle one, and a new
 * one starts while every spawner is busy, up to one per CPU (at most 4). A helper starts one
 * child at a time, so with one spawner -j2 of cheap recipes ran at 1.4 ms per job against
 * make's 1.0; two bring that to 1.2 (measured with 3,000 `cp` jobs and perl).
 */
const spawners: Spawner[] = [];
const MAX_SPAWNERS = Math.max(1, Math.min(4, availableParallelism()));
/** Helpers that could not be started, or died without a word: not tried again. */
const unusable = new Set<HelperKind>();

/** Helpers by preference when none is asked for (looked up once per process). */
let preferred: HelperKind[] | undefined;

/** The helpers this machine has, by preference: python on Linux when the system has it, then perl. */
export function availableHelpers(): HelperKind[] {
  return (preferred ??= process.platform === "linux" && existsSync(SYSTEM_PYTHON) ? ["python", "perl"] : ["perl"]);
}

/** The helper to use: the one asked for, else the first available one that still works. */
function helperFor(r: Pick<ShellRun, "spawner">): HelperKind | "node" {
  const asked = r.spawner ?? FORCED;
  if (asked === "node") return "node";
  const order: HelperKind[] = asked ? [asked] : availableHelpers();
  return order.find((k) => !unusable.has(k)) ?? "node";
}

/** Whether shell recipes start through a helper that can queue one behind another (lanes.ts). */
export function recipesCanQueue(): boolean {
  return helperFor({}) === "python";
}

export function runShell(r: ShellRun): Promise<ShellResult> {
  const ticket = r.ticket;
  if (ticket) {
    const now = { ...r, ticket: undefined };
    if (ticket.state === "cancelled") return Promise.resolve(CANCELLED);
    if (ticket.state !== "waiting") return runShell(now);
    return new Promise((resolve) => {
      ticket.run = now;
      ticket.settle = (result) => {
        if (result.cancelled) ticket.state = "cancelled";
        resolve(result);
      };
      // Queued in the helper behind the lane's recipe, or else kept here until go or cancel.
      if (ticket.behind.job?.queue(ticket)) return;
      ticket.onGo = () => void runShell(now).then(resolve);
      ticket.onCancel = () => resolve(CANCELLED);
    });
  }
  const kind = helperFor(r);
  if (kind === "node") return runShellNode(r);
  for (let i = spawners.length - 1; i >= 0; i--) if (!spawners[i].alive) spawners.splice(i, 1);
  const mine = spawners.filter((x) => x.kind === kind);
  let s = mine.find((x) => x.running === 0);
  if (!s && mine.length < MAX_SPAWNERS) {
    // A helper that cannot run (python older than 3.8, a broken install) exits without a
    // word: its jobs, and every later one, go to the next kind.
    const started = Spawner.start({ kind, fallback: runShell, onUnusable: () => unusable.add(kind) });
    if (started) spawners.push((s = started));
    else if (mine.length === 0) {
      unusable.add(kind);
      return runShell(r);
    }
  }
  s ??= mine.reduce<Spawner | undefined>((best, x) => (!best || x.running < best.running ? x : best), undefined);
  return s ? s.run(r) : runShellNode(r);
}

/**
 * Starts the helper before the first recipe needs it: a build calls this before it loads the
 * Pipelinefile, so python's start (about 30 ms) overlaps that instead of delaying the first
 * recipe. An idle helper does not keep pipe alive, and exits when pipe does (its stdin closes).
 */
export function prewarmHelper(): void {
  if (spawners.some((s) => s.alive)) return;
  const kind = helperFor({});
  if (kind === "node") return;
  const started = Spawner.start({ kind, fallback: runShell, onUnusable: () => unusable.add(kind) });
  if (started) spawners.push(started);
}

/** The first spawner of this process (of a kind), if one was started (tests). */
export function currentSpawner(kind?: HelperKind): Spawner | undefined {
  return spawners.find((s) => kind === undefined || s.kind === kind);
}

/** Starts the recipe with node's own spawn (detached: its own process group). */
export function runShellNode(r: ShellRun): Promise<ShellResult> {
  return new Promise((resolve) => {
    const [file, args] = r.argv ? [r.argv[0], r.argv.slice(1)] : ["/bin/sh", ["-c", r.script]];
    let out: number | undefined;
    if (r.argv && r.stdout) {
      try {
        out = openSync(resolvePath(r.cwd, r.stdout), "w", 0o666);
      } catch (e) {
        resolve({ code: 127, signal: null, killed: false, spawnError: cannotOpen(r.stdout, (e as NodeJS.ErrnoException).code ?? String(e)) });
        return;
      }
    }
    const group = new RecipeGroup({ signal: r.signal, graceMs: r.graceMs, onGroup: r.onGroup });
    let child;
    try {
      child = spawn(file, args, { cwd: r.cwd, env: r.env, detached: true, stdio: ["ignore", out ?? "pipe", "pipe"] });
    } finally {
      if (out !== undefined) closeSync(out);
    }
    let spawnError: string | undefined;
    if (child.pid) group.started(child.pid);
    const streams = [child.stdout, child.stderr].filter((s) => s !== null);
    for (const [stream, name] of [[child.stdout, "stdout"], [child.stderr, "stderr"]] as const) {
      if (!stream) continue;
      const rl = readline().createInterface({ input: stream, crlfDelay: Infinity });
      rl.on("line", (line) => {
        r.onLine(line, name);
        // pipe's own stdout is behind its reader: read no more until it drained (util/output-gate.ts).
        if (outputClosed()) {
          rl.pause();
          whenOutputOpen(() => rl.resume());
        }
      });
    }
    child.on("error", (e) => {
      spawnError = (e as NodeJS.ErrnoException).code === "ENOENT" ? `command not found: ${file}` : e.message;
      if (child.pid === undefined) {
        group.notStarted();
        resolve({ code: 127, signal: null, killed: group.killed, spawnError });
      }
    });
    const drained = Promise.all(streams.map((s) => new Promise<void>((res) => s.once("close", () => res()))));
    // Waiting for "close" first would hang on a background grandchild holding the pipes, so
    // settle on "exit", make sure the group is gone, and only then wait for the last output
    // (every writer is dead, so it ends at once; the lines printed just before exit were lost
    // without this). A process that left the group could still hold a pipe: not for long.
    child.on("exit", (code, signal) =>
      group.exited(() => {
        const cut = setTimeout(() => {
          for (const s of streams) s.destroy();
        }, 500);
        void drained.then(() => {
          clearTimeout(cut);
          resolve(spawnError ? { code, signal, killed: group.killed, spawnError } : { code, signal, killed: group.killed });
        });
      }),
    );
  });
}
