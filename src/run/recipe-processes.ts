/**
 * Processes that TypeScript recipes start. A TS recipe runs in a worker thread of pipe's own
 * process, so what it starts with node:child_process (or execa, ...) is a child of pipe, in
 * pipe's process group: no recipe group (groups.ts) holds it, the lock's supervisor does not
 * know it, and a `kill -INT <pipe>`, a CI runner's SIGTERM or a SIGHUP never reaches it (only a
 * terminal's Ctrl-C does, as it signals the whole foreground group). P11 holds for them too:
 * on an interrupt they get SIGTERM at once (their process group as well when they lead one:
 * `detached: true`), SIGKILL after the grace period, and the build ends only once they are gone.
 *
 * They are found in /proc (Linux): pipe's descendants, walked down each task's `children` list
 * (a scan of every /proc/<pid>/stat where the kernel keeps no such lists), except the subtrees
 * of pipe's own helpers: the children registered with ownChild() (recipe spawners), recipes
 * started with node's own spawn (their groups are handled already), and the children pipe had
 * before the build's first TypeScript recipe started (the lock's supervisor, esbuild's
 * service). A process once found stays watched after its parent exits; a process whose parent
 * exited before pipe looked (an orphan reparented to init) is not found unless it is in a
 * group led by one that is. Without /proc (macOS) nothing is found.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isLiveGroup } from "./groups.ts";
import { procPids } from "../util/proc.ts";

/** A process as /proc shows it. `start` (boot-relative start time) tells a reused pid apart. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  start: string;
}

/** One process a recipe left: its pid and command line (for messages). */
export interface StrayProcess {
  pid: number;
  command: string;
}

const PROC = existsSync("/proc/self/stat");
/** Whether the kernel keeps /proc/<pid>/task/<tid>/children lists (CONFIG_PROC_CHILDREN). */
const CHILDREN_LISTS = PROC && existsSync(`/proc/self/task/${process.pid}/children`);

/** pipe's own helper processes (by pid): neither they nor what they start are recipes' strays. */
const own = new Set<number>();

/** Registers (alive) or forgets one of pipe's own helper processes, a direct child of pipe. */
export function ownChild(pid: number | undefined, alive: boolean): void {
  if (pid === undefined) return;
  if (alive) own.add(pid);
  else own.delete(pid);
}

export function procInfo(pid: number): ProcInfo | undefined {
  let st: string;
  try {
    st = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // After the command name (which may hold anything, even ") "): state ppid pgrp session ... starttime (22nd field).
  const f = st.slice(st.lastIndexOf(") ") + 2).split(" ");
  return { pid, ppid: Number(f[1]), pgid: Number(f[2]), state: f[0], start: f[19] };
}

/** A process's command line read again, or what was read before if it cannot be. */
function nowOr(pid: number, before: string): string {
  const now = commandOf(pid);
  return now === "?" || now === "" ? before : now;
}

function commandOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ");
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return "?";
  }
}

/** Children of each of `pids`, from the tasks' children lists, or from one scan of /proc. */
function childrenOf(pids: number[]): Map<number, number[]> {
  const out = new Map<number, number[]>(pids.map((p) => [p, []]));
  if (CHILDREN_LISTS) {
    for (const pid of pids) {
      let tasks: string[];
      try {
        tasks = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tasks) {
        let text: string;
        try {
          text = readFileSync(`/proc/${pid}/task/${tid}/children`, "latin1");
        } catch {
          continue;
        }
        for (const c of text.split(" ")) if (c !== "" && c !== "\n") out.get(pid)!.push(Number(c));
      }
    }
    return out;
  }
  for (const pid of procPids() ?? []) {
    const info = procInfo(pid);
    if (info) out.get(info.ppid)?.push(info.pid);
  }
  return out;
}

/** Live stopping runs, for a second Ctrl-C (killRecipeProcesses). */
const active = new Set<RecipeProcesses>();

/** A second Ctrl-C: SIGKILL to every process TypeScript recipes started that is being stopped. */
export function killRecipeProcesses(): void {
  for (const r of active) r.killNow();
}

export interface StopResult {
  /** Every process this stop found and signalled. */
  found: StrayProcess[];
  /** Those still alive when the grace period ended (or a second Ctrl-C came): SIGKILLed. */
  killed: StrayProcess[];
}

/**
 * The processes TypeScript recipes of one build started. Made when the build's first TS recipe
 * is about to start: pipe's children at that moment are its own (esbuild's service and the like).
 */
export class RecipeProcesses {
  /** pipe's children (pid to start time) before the build's first TypeScript recipe. */
  readonly #before: Map<number, string>;
  /** Processes found (and signalled) and not yet seen gone. */
  readonly #tracked = new Map<number, ProcInfo & { command: string }>();
  /** Process groups led by a found process: their members get the signals too. */
  readonly #groups = new Set<number>();
  #run: Promise<StopResult> | undefined;
  #killNow = false;
  #wake: (() => void) | undefined;

  private constructor(before: Map<number, string>) {
    this.#before = before;
  }

  /** Undefined where processes cannot be found (no /proc). */
  static start(): RecipeProcesses | undefined {
    if (!PROC) return undefined;
    const before = new Map<number, string>();
    for (const pid of childrenOf([process.pid]).get(process.pid)!) {
      const info = procInfo(pid);
      if (info) before.set(pid, info.start);
    }
    return new RecipeProcesses(before);
  }

  /**
   * Stops whatever the recipes started that still runs: SIGTERM (and SIGCONT, so a stopped
   * one can act on it) now, SIGKILL once `graceMs` has passed; resolves when none is left. As
   * for a shell recipe's group, what appears meanwhile (a cleanup that a TERM handler starts)
   * gets no SIGTERM of its own, and SIGKILL if it still runs when the grace period ends. A call
   * while a stop runs shares it.
   */
  stop(graceMs: number): Promise<StopResult> {
    if (this.#run) return this.#run;
    const run = this.#stop(graceMs).finally(() => {
      active.delete(this);
      this.#run = undefined;
    });
    this.#run = run;
    active.add(this);
    return run;
  }

  /** SIGKILL at once to what is being stopped (a second Ctrl-C). */
  killNow(): void {
    this.#killNow = true;
    this.#wake?.();
  }

  async #stop(graceMs: number): Promise<StopResult> {
    const found: StrayProcess[] = [];
    const killed: StrayProcess[] = [];
    const t0 = Date.now();
    let killing = false;
    for (let tries = 0; ; tries++) {
      this.#prune();
      const fresh = this.#find();
      for (const p of fresh) found.push({ pid: p.pid, command: p.command });
      if (!killing && (this.#killNow || Date.now() - t0 >= graceMs) && (this.#tracked.size > 0 || this.#groups.size > 0)) {
        killing = true;
        // Its command line now: a child forked just before it was found may have exec'd since.
        for (const p of this.#tracked.values()) killed.push({ pid: p.pid, command: nowOr(p.pid, p.command) });
        for (const g of this.#groups) signalGroup(g, "SIGKILL");
      }
      if (killing) {
        for (const p of fresh) if (!killed.some((k) => k.pid === p.pid)) killed.push({ pid: p.pid, command: p.command });
        for (const p of this.#tracked.values()) signal(p.pid, "SIGKILL");
        for (const g of this.#groups) signalGroup(g, "SIGKILL");
      } else if (tries === 0) {
        for (const p of fresh) {
          signal(p.pid, "SIGTERM");
          signal(p.pid, "SIGCONT");
        }
        for (const g of fresh.filter((p) => this.#groups.has(p.pid)).map((p) => p.pid)) {
          signalGroup(g, "SIGTERM");
          signalGroup(g, "SIGCONT");
        }
      }
      if (this.#tracked.size === 0 && this.#groups.size === 0) return { found, killed };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, tries < 20 ? 10 : 50);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  /** Forgets the processes and groups that are gone (a zombie is gone: it only waits to be reaped). */
  #prune(): void {
    for (const [pid, p] of this.#tracked) {
      const now = procInfo(pid);
      if (!now || now.state === "Z" || now.start !== p.start) this.#tracked.delete(pid);
    }
    for (const g of this.#groups) if (!groupAlive(g)) this.#groups.delete(g);
  }

  /** Newly found processes: descendants of pipe outside its helpers' subtrees, and of processes found before. */
  #find(): (ProcInfo & { command: string })[] {
    const fresh: (ProcInfo & { command: string })[] = [];
    let level = [process.pid, ...this.#tracked.keys()];
    const seen = new Set<number>(level);
    while (level.length) {
      const next: number[] = [];
      for (const [parent, kids] of childrenOf(level)) {
        for (const pid of kids) {
          if (seen.has(pid)) continue;
          seen.add(pid);
          if (parent === process.pid && (own.has(pid) || isLiveGroup(pid))) continue;
          if (!this.#tracked.has(pid)) {
            const info = procInfo(pid);
            if (!info || info.state === "Z") continue;
            if (parent === process.pid && this.#before.get(pid) === info.start) continue;
            const p = { ...info, command: commandOf(pid) };
            this.#tracked.set(pid, p);
            if (info.pgid === pid) this.#groups.add(pid);
            fresh.push(p);
          }
          next.push(pid);
        }
      }
      level = next;
    }
    return fresh;
  }
}

/**
 * Whether a group has a member that is not a zombie. The leader may be a zombie for good: a
 * child of pipe whose worker thread was terminated is never reaped by pipe (only by init, once
 * pipe exits), and a group of zombies still answers kill(-pgid, 0).
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  const leader = procInfo(pgid);
  if (leader && leader.state !== "Z" && leader.pgid === pgid) return true;
  const pids = procPids();
  if (!pids) return true;
  for (const pid of pids) {
    const info = procInfo(pid);
    if (info && info.pgid === pgid && info.state !== "Z") return true;
  }
  return false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // gone
  }
}

/** "pid 123 (sleep 301), pid 124 (sh -c ...)" */
export function describeProcesses(ps: StrayProcess[]): string {
  return ps.map((p) => `pid ${p.pid} (${p.command})`).join(", ");
}
