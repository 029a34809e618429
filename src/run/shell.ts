/**
 * Runs a shell recipe in its own process group (detached), so an interrupt reaches every
 * descendant: SIGTERM to the group (background jobs of `sh` ignore SIGINT, ecosystem.md §7),
 * SIGKILL after a grace period, and the group is confirmed empty before we return.
 * stdin is /dev/null: a recipe never waits for input.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Process groups of running recipes, so a second Ctrl-C can kill them all at once. */
const liveGroups = new Set<number>();

export function killAllGroups(signal: NodeJS.Signals): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // gone
    }
  }
}

export interface ShellRun {
  script: string;
  argv?: string[];
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  graceMs: number;
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  onGroup: (pgid: number, alive: boolean) => void;
}

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when we had to SIGKILL the group after the grace period. */
  killed: boolean;
  spawnError?: string;
}

export function runShell(r: ShellRun): Promise<ShellResult> {
  return new Promise((resolve) => {
    const [file, args] = r.argv ? [r.argv[0], r.argv.slice(1)] : ["/bin/sh", ["-c", r.script]];
    const child = spawn(file, args, { cwd: r.cwd, env: r.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let killed = false;
    let spawnError: string | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;
    if (pgid) {
      liveGroups.add(pgid);
      r.onGroup(pgid, true);
    }
    const killGroup = (sig: NodeJS.Signals) => {
      if (!pgid) return;
      try {
        process.kill(-pgid, sig);
      } catch {
        // group already gone
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      graceTimer = setTimeout(() => {
        killed = true;
        killGroup("SIGKILL");
      }, r.graceMs);
    };
    if (r.signal.aborted) onAbort();
    else r.signal.addEventListener("abort", onAbort, { once: true });
    for (const [stream, name] of [[child.stdout!, "stdout"], [child.stderr!, "stderr"]] as const) {
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => r.onLine(line, name));
    }
    child.on("error", (e) => {
      spawnError = (e as NodeJS.ErrnoException).code === "ENOENT" ? `command not found: ${file}` : e.message;
    });
    // "close" waits for the pipes; a background grandchild holding them would hang us, so
    // settle on "exit" and then make sure the group is gone.
    child.on("exit", (code, signal) => {
      r.signal.removeEventListener("abort", onAbort);
      const finish = () => {
        clearTimeout(graceTimer);
        if (pgid) {
          liveGroups.delete(pgid);
          r.onGroup(pgid, false);
        }
        resolve({ code, signal, killed, spawnError });
      };
      if (!pgid) return finish();
      // Leftover members of the group (background jobs): TERM, then KILL, then wait until empty.
      let tries = 0;
      const reap = () => {
        let alive = true;
        try {
          process.kill(-pgid, 0);
        } catch {
          alive = false;
        }
        if (!alive) return finish();
        tries++;
        killGroup(tries === 1 ? "SIGTERM" : tries > 20 ? "SIGKILL" : "SIGCONT");
        setTimeout(reap, tries > 20 ? 50 : 10);
      };
      reap();
    });
    child.on("error", () => {
      if (child.pid === undefined) {
        r.signal.removeEventListener("abort", onAbort);
        resolve({ code: 127, signal: null, killed, spawnError });
      }
    });
  });
}
