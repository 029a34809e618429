/**
 * The end-to-end rig: a temp project with `node_modules/pipefile` linked to this repo, and the
 * real CLI run as a child process. Output is returned whole; `--json` runs are parsed into
 * events. No sleeps: tests wait on processes and on pipe's own events.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { PipeEvent } from "../../src/events.ts";

/** The repository root (this file is at dist/test/helpers/rig.js once compiled). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const PIPE_BIN = join(REPO, "bin", "pipe.js");

/** Pids of processes whose command line contains `token` (what a test's recipes left running). */
export function pgrep(token: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", token], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: PipeEvent[];
}

export class Project {
  readonly dir: string;

  constructor(files: Record<string, string> = {}, dir?: string, options: { link?: boolean } = {}) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), "pipe-test-"));
    if (options.link !== false) {
      mkdirSync(join(this.dir, "node_modules"), { recursive: true });
      if (!existsSync(join(this.dir, "node_modules", "pipefile"))) symlinkSync(REPO, join(this.dir, "node_modules", "pipefile"), "dir");
    }
    this.write(files);
  }

  write(files: Record<string, string>): void {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, p)), { recursive: true });
      writeFileSync(join(this.dir, p), text);
    }
  }

  read(p: string): string {
    return readFileSync(join(this.dir, p), "utf8");
  }

  exists(p: string): boolean {
    return existsSync(join(this.dir, p));
  }

  path(p: string): string {
    return join(this.dir, p);
  }

  /** Runs `pipe <args>` to completion. */
  run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
    const child = this.spawn(args, options);
    return collect(child);
  }

  /** Runs synchronously (for simple checks). */
  runSync(args: string[], options: { env?: Record<string, string> } = {}): RunResult {
    const r = spawnSync(process.execPath, [PIPE_BIN, ...args], { cwd: this.dir, env: testEnv(options.env), encoding: "utf8" });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, events: parseEvents(r.stdout) };
  }

  spawn(args: string[], options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {}): ChildProcess {
    return spawn(process.execPath, [PIPE_BIN, ...args], { cwd: options.cwd ?? this.dir, env: testEnv(options.env), stdio: ["ignore", "pipe", "pipe"], detached: options.detached });
  }

  /** A copy of the project's sources (no .pipe/, no outputs) in a fresh temp dir. */
  freshCopy(exclude: (rel: string) => boolean): Project {
    const copy = new Project();
    cpSync(this.dir, copy.dir, {
      recursive: true,
      filter: (src) => {
        const rel = relative(this.dir, src);
        return rel === "" || (!rel.startsWith(".pipe") && !rel.startsWith("node_modules") && !exclude(rel));
      },
    });
    return copy;
  }

  /** Every file under `sub` (relative paths, sorted) with its content. */
  snapshot(sub: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      const abs = join(this.dir, rel);
      if (!existsSync(abs)) return;
      for (const ent of readdirSync(abs, { withFileTypes: true })) {
        const r = join(rel, ent.name);
        if (ent.isDirectory()) walk(r);
        else out[r] = readFileSync(join(this.dir, r), "utf8");
      }
    };
    walk(sub);
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  remove(): void {
    // A linked node_modules is removed as a link, never followed.
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The environment for the CLI under test: deterministic, no colours, not CI-detected. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", PIPE_TODAY: "2024-06-01", PIPE_KILL_GRACE_MS: "3000", ...extra };
  delete env.FORCE_COLOR;
  return env;
}

export function collect(child: ChildProcess): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, events: parseEvents(stdout) }));
  });
}

export function parseEvents(stdout: string): PipeEvent[] {
  const out: PipeEvent[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as PipeEvent);
    } catch {
      // not an event line
    }
  }
  return out;
}

/** Ids of targets that finished with `status`. */
export function finished(events: PipeEvent[], status: string): string[] {
  return events.filter((e): e is Extract<PipeEvent, { type: "target-finished" }> => e.type === "target-finished" && e.status === status).map((e) => e.target).sort();
}

/**
 * Stops what a test started, however the test ends: call `stop()` in its `finally`, and pass
 * the test's `t.signal`, which node:test aborts when a `{ timeout }` runs out. A test awaiting
 * something that never comes (a regression that hangs) then fails instead of wedging the run:
 * node:test waits for every child process before a test file's process exits, and a pending
 * await never reaches the `finally`.
 */
export class Reaper {
  readonly #children: { child: ChildProcess; group: boolean }[] = [];
  readonly #tokens: string[] = [];
  readonly #groups: number[] = [];

  readonly #signal: AbortSignal | undefined;

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
    signal?.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Once the test was aborted, whatever it still starts is stopped at once (its code runs on). */
  #late(): void {
    if (this.#signal?.aborted) this.stop();
  }

  /** Kills `child` on stop (with `group`, its whole process group: spawn it `detached`). */
  add<C extends ChildProcess>(child: C, options: { group?: boolean } = {}): C {
    this.#children.push({ child, group: options.group ?? false });
    this.#late();
    return child;
  }

  /** Kills every process whose command line holds `token` on stop (what recipes left running). */
  token(token: string): void {
    this.#tokens.push(token);
    this.#late();
  }

  /**
   * Kills the process group `pgid` on stop (a recipe's group, known by its id). A group id can be
   * reused once the group is gone: for a test that confirms the group gone, stop on abort only.
   */
  group(pgid: number): void {
    this.#groups.push(pgid);
    this.#late();
  }

  stop(): void {
    for (const { child, group } of this.#children) {
      try {
        // Once the leader has exited its group id may be reused: nothing of ours to stop then.
        if (child.exitCode !== null || child.signalCode !== null) continue;
        if (group && child.pid) process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }
    for (const pgid of this.#groups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    for (const token of this.#tokens) {
      for (const pid of pgrep(token)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
  }
}

/**
 * Pids still matching `token` after polling up to `tries` times, `everyMs` apart: [] as soon as
 * none is left. For processes that must be gone "shortly": the bound turns a survivor into a
 * failure, not a wait.
 */
export async function survivors(token: string, tries = 50, everyMs = 100): Promise<number[]> {
  let left = pgrep(token);
  for (let i = 1; i < tries && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    left = pgrep(token);
  }
  return left;
}

/** Resolves when `child` writes a line matching `pred` to stdout (NDJSON event or text) or to `from`. */
export function waitForLine(child: ChildProcess, pred: (line: string) => boolean, from: "stdout" | "stderr" = "stdout"): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (pred(line)) {
          child[from]!.off("data", onData);
          resolve(line);
          return;
        }
      }
    };
    child[from]!.on("data", onData);
    child.once("close", () => reject(new Error(`process exited before the expected line; last output: ${buf}`)));
  });
}
