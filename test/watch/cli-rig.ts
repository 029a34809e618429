/**
 * Runs the real `pipe` CLI in a temp project and reads its NDJSON events as they come. Tests
 * wait on pipe's own events (never on fixed sleeps); the per-wait timeout is only a guard
 * that turns a hang into a readable failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from dist/test/watch/). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** An event as printed by `--json` (loosely typed: tests check fields by name). */
export type JsonEvent = { type: string; [field: string]: any };

/** Makes a temp project: `files` (path -> text) plus node_modules/pipefile -> this repository. */
export function makeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pipe-watch-e2e-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO, join(dir, "node_modules", "pipefile"), "dir");
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** A running `pipe` process whose stdout is NDJSON. */
export class CliRun {
  readonly child: ChildProcess;
  readonly events: JsonEvent[] = [];
  stderr = "";
  /** Index of the first event not yet consumed by `next`. */
  #cursor = 0;
  #wake: (() => void) | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(cwd: string, args: string[]) {
    this.child = spawn(process.execPath, [join(REPO, "bin/pipe.js"), ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    this.child.stderr!.on("data", (d) => (this.stderr += String(d)));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ type: "not-json", line });
      }
      this.#wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        this.#exit = { code, signal };
        this.#wake?.();
        resolve(this.#exit);
      }),
    );
  }

  /**
   * Waits for the next event matching `pred`, consumes it and everything before it, and
   * returns it with the events it skipped over.
   */
  async next(pred: (e: JsonEvent) => boolean, what: string, guardMs = 20_000): Promise<{ event: JsonEvent; skipped: JsonEvent[] }> {
    const guard = setTimeout(() => this.#wake?.(), guardMs);
    const started = Date.now();
    try {
      for (;;) {
        const i = this.events.findIndex((e, k) => k >= this.#cursor && pred(e));
        if (i >= 0) {
          const skipped = this.events.slice(this.#cursor, i);
          this.#cursor = i + 1;
          return { event: this.events[i], skipped };
        }
        if (this.#exit) throw new Error(`pipe exited (${JSON.stringify(this.#exit)}) while waiting for ${what}\n${this.#context()}`);
        if (Date.now() - started >= guardMs) throw new Error(`no ${what} within ${guardMs} ms\n${this.#context()}`);
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      clearTimeout(guard);
    }
  }

  /** Events not consumed yet. */
  get unread(): JsonEvent[] {
    return this.events.slice(this.#cursor);
  }

  #context(): string {
    const tail = this.events.slice(-15).map((e) => JSON.stringify(e).slice(0, 300));
    return `last events:\n  ${tail.join("\n  ")}\nstderr:\n${this.stderr}`;
  }
}

/** Event predicates. */
export const is = {
  idle: (e: JsonEvent) => e.type === "watch-idle",
  change: (e: JsonEvent) => e.type === "watch-change",
  buildStarted: (e: JsonEvent) => e.type === "build-started",
  buildFinished: (e: JsonEvent) => e.type === "build-finished",
};
