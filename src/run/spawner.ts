/**
 * Starts shell recipes through one small, long-lived helper process (python or perl) instead of
 * node's own spawn.
 *
 * Why: node's spawn fork()s pipe itself, and fork copies the page tables of a 100+ MB
 * process: about 1.8 ms of main-thread time per recipe, which made a build of many cheap
 * recipes four times slower than make. A perl process of a few MB forks in a fraction of that,
 * off pipe's main thread. pipe sends it one message per recipe and reads back the start (pid =
 * process group), the output and the exit (protocol in spawner-script.ts). On Linux with
 * python3, a python helper with the same protocol (spawner-python.ts) does the same without
 * forking at all (posix_spawn): 0.6 s of helper CPU for 3,000 `cp` recipes, against 2.1 s in perl.
 *
 * The spawner starts with the first shell recipe of a process and lives as long as pipe does;
 * it does not keep pipe alive while no recipe runs. Without python, `runShell` uses perl; without
 * perl, node's spawn.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { LineSplitter } from "../util/line-splitter.ts";
import { RecipeGroup } from "./groups.ts";
import { procPids } from "../util/proc.ts";
import { outputClosed, whenOutputOpen } from "../util/output-gate.ts";
import { ownChild } from "./recipe-processes.ts";
import { SPAWNER_SCRIPT } from "./spawner-script.ts";
import { PYTHON_SPAWNER_SCRIPT } from "./spawner-python.ts";
import type { ShellResult, ShellRun } from "./shell.ts";
import type { Ticket } from "./lanes.ts";

const noop = () => undefined;
/** Whether a session's members can be found (lock.ts's supervisor and #onDeath look in /proc). */
const PROC = existsSync("/proc/self/stat");

/** Live (not zombie) processes of session `sid`, from /proc (empty without it). */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  for (const n of procPids() ?? []) {
    let st: string;
    try {
      st = readFileSync(`/proc/${n}/stat`, "latin1");
    } catch {
      continue;
    }
    // After the command name (which may hold anything, even ") "): state ppid pgrp session.
    const f = st.slice(st.lastIndexOf(") ") + 2).split(" ");
    if (Number(f[3]) === sid && f[0] !== "Z") out.push(Number(n));
  }
  return out;
}

/** Stops every process of a dead helper's session: TERM, then KILL after `graceMs`, until none is left. */
async function stopSession(sid: number, graceMs: number): Promise<void> {
  const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // gone
      }
    }
  };
  let members = sessionMembers(sid);
  signal(members, "SIGTERM");
  const t0 = Date.now();
  while (members.length) {
    await new Promise((r) => setTimeout(r, 50));
    members = sessionMembers(sid);
    if (Date.now() - t0 >= graceMs) signal(members, "SIGKILL");
  }
}
/** Whether a NUL byte is in the command, its folder or its `>` path (exec cannot pass one). */
function hasNul(r: Pick<ShellRun, "cwd" | "stdout">, argv: string[]): boolean {
  return argv.some((a) => a.includes("\0")) || r.cwd.includes("\0") || r.stdout?.includes("\0") === true;
}

/** What a queued command that never started resolves with. */
export const CANCELLED: ShellResult = { code: null, signal: null, killed: false, cancelled: true };
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

/** The message for a recipe whose `> path` could not be opened (both spawn paths). */
export function cannotOpen(path: string, code: string): string {
  return `cannot open ${JSON.stringify(path)} for the command's output (${code})`;
}

interface Job {
  run: ShellRun;
  file: string;
  group: RecipeGroup;
  started: boolean;
  lines: [LineSplitter, LineSplitter] | undefined;
  resolve: (r: ShellResult) => void;
  /** The ticket queued behind this job (lanes.ts). */
  next?: Ticket;
}

/** Which helper runs the recipes: the same protocol, two scripts. */
export type HelperKind = "python" | "perl";

/** The python that runs the helper: the system's, never a PATH shim (pyenv's costs 60 ms a start). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

export interface SpawnerOptions {
  /** Which helper (default perl). */
  kind?: HelperKind;
  /** The interpreter to run (default `perl`, or SYSTEM_PYTHON; tests point it at a missing one). */
  program?: string;
  /** Runs a job another way when the helper turns out to be missing or unusable. */
  fallback: (r: ShellRun) => Promise<ShellResult>;
  /** Called when the helper died without a word (it cannot run the script): do not start it again. */
  onUnusable?: () => void;
}

export class Spawner {
  readonly #child: ChildProcess;
  readonly kind: HelperKind;
  readonly #fallback: SpawnerOptions["fallback"];
  readonly #onUnusable: SpawnerOptions["onUnusable"];
  readonly #jobs = new Map<number, Job>();
  readonly #envIds = new WeakMap<object, number>();
  /** Env ids by content: a new env object with the same entries (every build of \`pipe watch\` makes new ones) reuses perl's copy. */
  readonly #envByText = new Map<string, number>();
  #nextJob = 1;
  #nextEnv = 1;
  #buf: Buffer | undefined;
  #heard = false;
  #dead = false;
  #referenced = false;
  /** The newest recipe's way to tell the lock about this helper (a new lock each build of pipe watch). */
  #onHelper: ShellRun["onHelper"];

  private constructor(child: ChildProcess, kind: HelperKind, fallback: SpawnerOptions["fallback"], onUnusable: SpawnerOptions["onUnusable"]) {
    this.#child = child;
    this.kind = kind;
    this.#fallback = fallback;
    this.#onUnusable = onUnusable;
    child.stdout!.on("data", (d: Buffer) => {
      this.#onData(d);
      // pipe's own stdout is behind its reader: take no more recipe output (nor exits) until
      // it drained; the recipes wait on their writes meanwhile (util/output-gate.ts).
      if (outputClosed()) {
        child.stdout!.pause();
        whenOutputOpen(() => child.stdout!.resume());
      }
    });
    child.on("error", (e) => this.#onDeath(e as NodeJS.ErrnoException));
    // "close", not "exit": the exit can be seen before the last output and exit messages are read.
    child.on("close", () => this.#onDeath(undefined));
    child.stdin!.on("error", () => undefined); // EPIPE when perl died: handled by "exit"
    // The helper and its session are pipe's own: not processes a TypeScript recipe left.
    ownChild(child.pid, true);
    child.once("exit", () => ownChild(child.pid, false));
    this.#unref();
  }

  /** Starts the helper; undefined when it cannot be started at all (not installed). */
  static start(options: SpawnerOptions): Spawner | undefined {
    const kind = options.kind ?? "perl";
    let child: ChildProcess;
    try {
      // Its own process group, so a terminal's Ctrl-C reaches only pipe, which then stops the
      // recipes in order (and the spawner is still there to report their exits).
      const args = kind === "perl" ? ["-e", SPAWNER_SCRIPT] : ["-I", "-S", "-c", PYTHON_SPAWNER_SCRIPT];
      child = spawn(options.program ?? (kind === "perl" ? "perl" : SYSTEM_PYTHON), args, { stdio: ["pipe", "pipe", "ignore"], detached: true });
    } catch {
      return undefined;
    }
    if (child.pid === undefined) {
      child.on("error", () => undefined);
      return undefined;
    }
    return new Spawner(child, kind, options.fallback, options.onUnusable);
  }

  /** The helper's pid (also its process group: it runs detached). */
  get pid(): number {
    return this.#child.pid!;
  }

  /**
   * Tests: writes raw protocol text to the helper and resolves with everything it answered
   * once the answer matches `until`. The spawner's own parsing sees the same bytes (and
   * ignores ids it did not start).
   */
  rawExchange(text: string, until: RegExp): Promise<string> {
    return new Promise((resolve) => {
      let got = "";
      const on = (d: Buffer) => {
        got += d.toString("latin1");
        if (!until.test(got)) return;
        this.#child.stdout!.off("data", on);
        resolve(got);
      };
      this.#child.stdout!.on("data", on);
      this.#ref();
      this.#child.stdin!.write(text);
    });
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /** Jobs started and not yet ended. */
  get running(): number {
    return this.#jobs.size;
  }

  /** Closes the helper's stdin, as pipe's death would (tests). */
  closeInput(): void {
    this.#child.stdin!.end();
  }

  /** Resolves when the helper process has exited. */
  exited(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    return new Promise((r) => this.#child.once("exit", () => r()));
  }

  run(r: ShellRun): Promise<ShellResult> {
    if (this.#dead) return this.#fallback(r);
    const argv = r.argv ?? ["/bin/sh", "-c", r.script];
    if (hasNul(r, argv)) {
      return Promise.resolve({ code: 127, signal: null, killed: false, spawnError: "an argument contains a NUL byte" });
    }
    return new Promise((resolve) => {
      const id = this.#submit(r, argv, resolve);
      const payload = r.cwd + "\0" + (r.argv && r.stdout ? r.stdout : "") + "\0" + argv.join("\0");
      this.#child.stdin!.write(`${this.#defineEnv(r.env)}J${id} ${this.#envIds.get(r.env)!} ${Buffer.byteLength(payload)}\n${payload}`);
      // python's helper can start a queued command when this one exits (lanes.ts).
      if (r.lane && this.kind === "python") r.lane.job = { queue: (ticket) => this.#queueBehind(id, ticket) };
    });
  }

  /**
   * Sends `ticket`'s command to wait behind job `after`: the helper starts it when that job
   * exits well (lanes.ts), else keeps it until go (G) or cancel (C). False when `after` is over.
   */
  #queueBehind(after: number, ticket: Ticket): boolean {
    const prev = this.#jobs.get(after);
    const r = ticket.run;
    if (this.#dead || !prev || prev.next || !r) return false;
    const argv = r.argv ?? ["/bin/sh", "-c", r.script];
    // A command exec cannot take fails when it gets its own slot (run), not here.
    if (hasNul(r, argv) || hasNul({ cwd: "" }, ticket.behind.paths)) return false;
    prev.next = ticket;
    const id = this.#submit(r, argv, ticket.settle!);
    ticket.state = "queued";
    ticket.onGo = () => this.#child.stdin!.write(`G${id} 0\n`);
    ticket.onCancel = () => this.#child.stdin!.write(`C${id} 0\n`);
    const checks = ticket.behind.paths;
    const payload = [String(checks.length), ...checks, r.cwd, r.argv && r.stdout ? r.stdout : "", ...argv].join("\0");
    this.#child.stdin!.write(`${this.#defineEnv(r.env)}Q${id} ${this.#envIds.get(r.env)!} ${after} ${Buffer.byteLength(payload)}\n${payload}`);
    if (r.lane) r.lane.job = { queue: (t) => this.#queueBehind(id, t) };
    return true;
  }

  /** Registers a job (its id, its process group's watch) before its message is sent. */
  #submit(r: ShellRun, argv: string[], resolve: (r: ShellResult) => void): number {
    const id = this.#nextJob++;
    // The lock's supervisor watches the helper's session, not each recipe's group (lock.ts);
    // it finds the session's members in /proc, so without /proc groups are still announced.
    const group = new RecipeGroup({ signal: r.signal, graceMs: r.graceMs, onGroup: PROC ? noop : r.onGroup });
    this.#onHelper = r.onHelper;
    r.onHelper?.(this.#child.pid!, true);
    this.#jobs.set(id, { run: r, file: argv[0], group, started: false, lines: undefined, resolve });
    if (this.#jobs.size === 1) this.#ref();
    return id;
  }

  /** Environments perl was sent (tests: a long \`pipe watch\` must not grow this). */
  get envsDefined(): number {
    return this.#nextEnv - 1;
  }

  /**
   * The env's definition message when perl has not seen this env yet, else "". Recipes with the
   * same declared env share one object (recipeEnv), so the content is looked at a few times per
   * build, and sent only when it is new to this perl.
   */
  #defineEnv(env: Record<string, string>): string {
    if (this.#envIds.has(env)) return "";
    let payload = "";
    for (const k in env) {
      const v = env[k];
      // An entry with a NUL cannot be passed to exec at all; node's spawn refuses it too.
      if (k.includes("\0") || k.includes("=") || v.includes("\0")) continue;
      payload += (payload ? "\0" : "") + k + "=" + v;
    }
    const known = this.#envByText.get(payload);
    if (known !== undefined) {
      this.#envIds.set(env, known);
      return "";
    }
    const id = this.#nextEnv++;
    this.#envIds.set(env, id);
    this.#envByText.set(payload, id);
    return `E${id} ${Buffer.byteLength(payload)}\n${payload}`;
  }

  /** While a recipe runs, perl's output keeps pipe alive; otherwise the spawner must not. */
  #ref(): void {
    if (this.#referenced) return;
    this.#referenced = true;
    this.#child.ref();
    (this.#child.stdout as unknown as { ref?: () => void }).ref?.();
  }

  #unref(): void {
    this.#referenced = false;
    this.#child.unref();
    (this.#child.stdout as unknown as { unref?: () => void }).unref?.();
    (this.#child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  #onData(chunk: Buffer): void {
    this.#heard = true;
    const buf = this.#buf ? Buffer.concat([this.#buf, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const head = buf.toString("latin1", pos, nl);
      const sp = head.indexOf(" ");
      const id = Number(head.slice(1, sp));
      const kind = head.charCodeAt(0);
      if (kind === 79 /* O */) {
        const sp2 = head.indexOf(" ", sp + 1);
        const len = Number(head.slice(sp2 + 1));
        if (nl + 1 + len > buf.length) break;
        this.#output(id, head.charCodeAt(sp + 1) === 50 ? 1 : 0, buf.subarray(nl + 1, nl + 1 + len));
        pos = nl + 1 + len;
        continue;
      }
      pos = nl + 1;
      const rest = head.slice(sp + 1);
      if (kind === 83 /* S */) this.#started(id, Number(rest));
      else if (kind === 88 /* X */) {
        const [code, sig, empty, handed] = rest.split(" ").map(Number);
        this.#exited(id, code < 0 ? null : code, code < 0 ? (signalNames.get(sig) ?? null) : null, empty === 1, handed === 1);
      } else if (kind === 70 /* F */) this.#failed(id, Number(rest));
    }
    this.#buf = pos < buf.length ? buf.subarray(pos) : undefined;
  }

  #started(id: number, pid: number): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    job.started = true;
    job.group.started(pid);
  }

  #output(id: number, stream: 0 | 1, bytes: Buffer): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    // Most cheap recipes print nothing: the splitters exist only for those that do.
    job.lines ??= [new LineSplitter((l) => job.run.onLine(l, "stdout")), new LineSplitter((l) => job.run.onLine(l, "stderr"))];
    job.lines[stream].push(bytes);
  }

  #exited(id: number, code: number | null, signal: NodeJS.Signals | null, empty: boolean, handed: boolean): void {
    const job = this.#take(id);
    if (!job) return;
    // The helper started the queued command in this job's slot (before this job settles, so
    // the engine sees the slot taken when it frees it).
    if (handed) job.next?.startedInLane();
    if (job.lines) for (const l of job.lines) l.end();
    job.group.exited(() => job.resolve({ code, signal, killed: job.group.killed }), empty);
  }

  #failed(id: number, errno: number): void {
    const job = this.#take(id);
    if (!job) return;
    if (errno === -1) {
      // A queued command cancelled before it started (lanes.ts).
      job.group.notStarted();
      job.resolve(CANCELLED);
      return;
    }
    const redirect = errno >= 100000;
    const name = errnoNames.get(redirect ? errno - 100000 : errno) ?? `errno ${errno}`;
    const result: ShellResult = { code: 127, signal: null, killed: false, spawnError: redirect ? cannotOpen(job.run.stdout!, name) : name === "ENOENT" ? `command not found: ${job.file}` : `spawn ${job.file} ${name}` };
    if (job.lines) for (const l of job.lines) l.end();
    if (job.started) job.group.exited(() => job.resolve(result));
    else {
      job.group.notStarted();
      job.resolve(result);
    }
  }

  #take(id: number): Job | undefined {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    this.#jobs.delete(id);
    if (this.#jobs.size === 0) this.#unref();
    return job;
  }

  /**
   * perl is gone. If it never answered, it probably never ran (no perl): the jobs it was given
   * run the node way. Otherwise their groups are killed and the jobs fail with a message.
   */
  #onDeath(e: NodeJS.ErrnoException | undefined): void {
    if (this.#dead) return;
    this.#dead = true;
    if (!this.#heard) this.#onUnusable?.();
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    this.#unref();
    // The helper may have started a recipe it never told of (its start message is held a few
    // ms): whatever is left in its session is stopped before any job is settled, re-run or
    // forgotten by the lock.
    if (PROC) void stopSession(this.#child.pid!, 2000).then(() => this.#settleDead(jobs, e));
    else this.#settleDead(jobs, e);
  }

  #settleDead(jobs: Job[], e: NodeJS.ErrnoException | undefined): void {
    // The lock forgets this helper's session once every group of its recipes is confirmed gone
    // (until then the supervisor would still stop them if pipe died).
    let left = jobs.length + 1;
    const settled = () => {
      if (--left === 0) this.#onHelper?.(this.#child.pid!, false);
    };
    for (const job of jobs) {
      if (!this.#heard && !job.started) {
        job.group.notStarted();
        void this.#fallback(job.run).then(job.resolve);
        settled();
        continue;
      }
      if (job.lines) for (const l of job.lines) l.end();
      const why = e ? e.message : "it exited unexpectedly";
      if (job.started) {
        job.group.exited(() => {
          settled();
          job.resolve({ code: null, signal: null, killed: job.group.killed, spawnError: `the recipe runner (${this.kind}) failed: ${why}` });
        });
      } else {
        settled();
        job.group.notStarted();
        job.resolve({ code: 127, signal: null, killed: false, spawnError: `the recipe runner (${this.kind}) failed: ${why}` });
      }
    }
    settled();
  }
}
