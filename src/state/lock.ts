/**
 * The project lock: one `pipe` process builds a project at a time; a second one waits, naming
 * the holder, and re-plans once it has the lock (so each recipe runs once).
 *
 * Why flock(1) in a helper process: Node has no flock, and a lock directory with a pid and a
 * heartbeat can be stolen from a live holder whose event loop is busy (reliability.md B3). The
 * helper `flock -x .pipe/lock sh -c ...` holds an OS lock that the kernel releases when the
 * helper dies, so a crashed holder never needs a manual unlock, and pid reuse cannot fool it.
 *
 * The helper doubles as the supervisor of recipe process groups: pipe tells it, on its stdin,
 * which groups are running ("+pgid", "-pgid"). If pipe dies (even by SIGKILL) its stdin reaches
 * EOF without a "done" line, and it kills those groups (TERM, then KILL) before releasing the
 * lock, so no recipe outlives pipe and the next build cannot race an orphan. Recipes started
 * by a spawner helper (spawner.ts) are not announced one by one: the helper's session is
 * ("*pid"), and the supervisor stops every process in it (see SUPERVISOR).
 * It runs in its own process group so a terminal Ctrl-C does not reach it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.ts";
import { refuseStateLinks } from "./links.ts";
import { UserError, WRITE_REFUSED, writeRefusedHint } from "../util/errors.ts";

// dash (Debian's sh) has no `kill --`: negative pids go right after the signal.
//
// A recipe helper ("*pid", spawner.ts) leads its own session, and every recipe it starts is in
// that session (recipes lead their own process groups, not sessions). So the supervisor looks
// after the whole session: TERM to every live member (the helper then stops its recipes too),
// wait until none is left, KILL what is (the whole stop takes at most about 2 s: reliability
// F3; the helper's own grace is 1.5 s). That holds even when the helper itself was killed with
// pipe or is stuck. Members are found in /proc (field 6 of stat is the session); zombies do not
// count: their parent (pipe, or a dead helper) is gone, and some inits (this container's) take
// seconds to reap an orphan. Without /proc only the helper itself is seen. "x<pid>": that
// helper's session is empty and gone (pipe confirmed it), so its id could be reused.
const SUPERVISOR = `
echo locked
pgs=" "
helpers=" "
while IFS= read -r line; do
  case "$line" in
    done) exit 0 ;;
    +*) pgs="$pgs\${line#+} " ;;
    -*) id="\${line#-}"; case "$pgs" in *" $id "*) pgs="\${pgs%% $id *} \${pgs#* $id }" ;; esac ;;
    \\**) helpers="$helpers\${line#?} " ;;
    x*) id="\${line#x}"; case "$helpers" in *" $id "*) helpers="\${helpers%% $id *} \${helpers#* $id }" ;; esac ;;
  esac
done
members() {
  out=""
  if [ "$helpers" = " " ]; then
    :
  elif [ -r /proc/self/stat ]; then
    for f in /proc/[0-9]*/stat; do
      st=""
      { while IFS= read -r l; do st="$st$l "; done < "$f"; } 2>/dev/null
      case "$st" in *") "*) ;; *) continue ;; esac
      set -- \${st##*) }
      case "$helpers" in *" $4 "*) [ "$1" != Z ] && { p="\${f#/proc/}"; out="$out \${p%/stat}"; } ;; esac
    done
  else
    for h in $helpers; do kill -0 "$h" 2>/dev/null && out="$out $h"; done
  fi
  echo "$out"
}
for p in $pgs; do kill -TERM "-$p" 2>/dev/null; done
for m in $(members); do kill -TERM "$m" 2>/dev/null; done
for i in 1 2 3 4 5 6 7 8; do
  alive=""
  for p in $pgs; do kill -0 "-$p" 2>/dev/null && alive="$alive $p"; done
  alive="$alive$(members)"
  [ -z "$alive" ] && exit 0
  sleep 0.2
done
for p in $pgs; do kill -KILL "-$p" 2>/dev/null; done
# Again, for a process forked between one look and the KILL.
for i in 1 2 3; do
  left="$(members)"
  [ -z "$left" ] && break
  for m in $left; do kill -KILL "$m" 2>/dev/null; done
done
exit 0
`;

/** flock's exit code when the lock is taken and -n was given (chosen so it cannot be the supervisor's). */
const BUSY_CODE = 75;

/** `--no-wait` and another pipe holds the lock. */
export class LockBusy extends Error {
  constructor(readonly holder: string) {
    super(`another pipe holds .pipe/lock (${holder})`);
  }
}

/** The wait for the lock was given up (Ctrl-C, SIGTERM, SIGHUP): the build is interrupted. */
export class LockWaitAborted extends Error {
  constructor() {
    super("interrupted while waiting for the project lock");
  }
}

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export class ProjectLock {
  readonly #child: ChildProcess;
  readonly #infoPath: string;
  #released = false;

  /** The holder a lock.json left behind names (a pipe killed while holding the lock), if any. */
  readonly recovered: string | undefined;

  private constructor(child: ChildProcess, infoPath: string, recovered?: string) {
    this.#child = child;
    this.#infoPath = infoPath;
    this.recovered = recovered;
  }

  /**
   * Takes the lock, waiting as long as another pipe holds it. `onWait` is called once, with the
   * holder's description, if the lock is not free at once.
   */
  static acquire(stateDir: string, options: { onWait?: (holder: string) => void; command: string; noWait?: boolean; signal?: AbortSignal }): Promise<ProjectLock> {
    if (options.signal?.aborted) return Promise.reject(new LockWaitAborted());
    // Every command that writes state takes the lock first (gc without prepareStateDir too).
    refuseStateLinks(stateDir);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const lockPath = join(stateDir, "lock");
    const infoPath = join(stateDir, "lock.json");
    // --no-wait: flock -n fails at once (exit code BUSY_CODE) when another pipe holds the lock.
    const flags = options.noWait ? ["-n", "-E", String(BUSY_CODE), "-x"] : ["-x"];
    const child = spawn("flock", [...flags, lockPath, "sh", "-c", SUPERVISOR], { stdio: ["pipe", "pipe", "ignore"], detached: true });
    return new Promise((resolve, reject) => {
      // "Waiting for ..." only when pipe would wait: with --no-wait a slow flock start must not
      // print it just before saying busy.
      let waitTimer: NodeJS.Timeout | undefined = options.noWait
        ? undefined
        : setTimeout(() => {
            waitTimer = undefined;
            options.onWait?.(describeHolder(infoPath));
          }, 150);
      // Interrupted while waiting: stop waiting at once (flock and its supervisor are in their
      // own group, which holds nothing yet), not when the holder is done.
      const onAbort = () => {
        clearTimeout(waitTimer);
        child.removeAllListeners("exit");
        child.stdout!.removeAllListeners("data");
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
        reject(new LockWaitAborted());
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      child.once("error", (e) => {
        clearTimeout(waitTimer);
        options.signal?.removeEventListener("abort", onAbort);
        reject(new Error(`cannot take the project lock with flock(1): ${e.message}; install util-linux`));
      });
      child.once("exit", (code) => {
        clearTimeout(waitTimer);
        options.signal?.removeEventListener("abort", onAbort);
        if (options.noWait && code === BUSY_CODE) reject(new LockBusy(describeHolder(infoPath)));
        else reject(new Error(`the project lock helper exited early (code ${code})`));
      });
      child.stdout!.once("data", () => {
        clearTimeout(waitTimer);
        options.signal?.removeEventListener("abort", onAbort);
        child.removeAllListeners("exit");
        child.stdout!.destroy();
        // The helper must not keep pipe alive, nor die with pipe's own process group.
        child.unref();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
        const info: LockHolder = { pid: process.pid, command: options.command, since: new Date().toISOString() };
        // A release removes lock.json: one still there is of a pipe that ended without one
        // (killed), whose lock the OS freed. Said, so that a rerun of its work is explained.
        const left = statSync(infoPath, { throwIfNoEntry: false })?.isFile() ? describeHolder(infoPath) : undefined;
        const lock = new ProjectLock(child, infoPath, left);
        try {
          writeFileAtomic(infoPath, JSON.stringify(info));
        } catch (e) {
          // .pipe/ turned unwritable, or the disk is full (an event handler must not throw:
          // pipe crashed with a stack trace).
          void lock.release().finally(() => reject(stateWriteError(infoPath, e as NodeJS.ErrnoException)));
          return;
        }
        resolve(lock);
      });
    });
  }

  /**
   * Tells the supervisor a recipe's process group exists. Lines go out once per turn of the
   * event loop, in one write: each write wakes the supervisor, and a build of cheap recipes
   * starts and ends groups by the thousand. A group that starts and ends within one turn
   * (pipe often hears of a cheap recipe's start and exit together) is never written at all:
   * it no longer exists by the time the supervisor could act on it.
   */
  watchGroup(pgid: number): void {
    if (this.#released || this.#watched.has(pgid)) return;
    this.#watched.add(pgid);
    this.#adds.add(pgid);
    this.#schedule();
  }

  /**
   * Tells the supervisor a recipe helper (spawner.ts) runs: if pipe dies, the supervisor stops
   * the helper and every process of its session (its recipes) before the lock is released. The
   * recipes are not announced one by one: that cost the supervisor a wake-up per recipe.
   */
  watchHelper(pid: number): void {
    if (this.#released || this.#helpers.has(pid)) return;
    this.#helpers.add(pid);
    // At once, not with the next batch: the helper is about to be sent its first recipe.
    this.#write(`*${pid}\n`);
  }

  /** The helper died and every group of its recipes is confirmed gone: forget its session. */
  unwatchHelper(pid: number): void {
    if (this.#released || !this.#helpers.delete(pid)) return;
    this.#write(`x${pid}\n`);
  }

  #write(text: string): void {
    try {
      this.#child.stdin!.write(text);
    } catch {
      // the supervisor is gone: so is the lock
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  /**
   * Tells the supervisor a recipe's process group is gone. The line may wait for the next
   * write (at most a moment): until then the supervisor would only signal a group that no
   * longer exists, which matters only if its id were reused meanwhile.
   */
  unwatchGroup(pgid: number): void {
    if (this.#released || !this.#watched.delete(pgid)) return;
    if (this.#adds.delete(pgid)) return;
    this.#gone += `-${pgid}\n`;
    this.#goneTimer ??= setTimeout(() => this.#flush(), 100).unref();
  }

  /** Groups watched now. */
  readonly #watched = new Set<number>();
  /** Recipe helpers announced ("*pid"): each once, until it is gone ("x<pid>"). */
  readonly #helpers = new Set<number>();
  /** Groups to announce ("+"), and departures ("-") of groups announced earlier. */
  readonly #adds = new Set<number>();
  #gone = "";
  #scheduled = false;
  #goneTimer: NodeJS.Timeout | undefined;

  #flush(): void {
    clearTimeout(this.#goneTimer);
    this.#goneTimer = undefined;
    // Departures first: a "+" for a reused id must come after the "-" of its earlier group.
    let out = this.#gone;
    for (const pgid of this.#adds) out += `+${pgid}\n`;
    this.#gone = "";
    this.#adds.clear();
    if (out === "" || this.#released) return;
    this.#child.stdin!.write(out);
  }

  /** Closes the supervisor's input without "done", as pipe's death would (tests). */
  closeInput(): void {
    this.#released = true;
    this.#child.stdin!.end();
  }

  /** Releases the lock (the helper exits; the kernel drops the flock). */
  /**
   * Releases the lock. The promise settles once "done" has reached the helper's pipe; a caller
   * that exits right after should wait for it: a helper that sees its stdin close without
   * "done" takes that for pipe's death and stops the (idle) recipe helpers first.
   */
  release(): Promise<void> {
    if (this.#released) return Promise.resolve();
    this.#flush();
    this.#released = true;
    try {
      unlinkSync(this.#infoPath);
    } catch {
      // gone already, or not writable: the next pipe then says it recovered the lock
    }
    return new Promise((resolve) => {
      try {
        this.#child.stdin!.end("done\n", () => resolve());
      } catch {
        resolve(); // helper already gone: the lock is released with it
        return;
      }
      // An error (the helper died) settles it too: the lock went with the helper.
      this.#child.stdin!.once("error", () => resolve());
    });
  }
}

function describeHolder(infoPath: string): string {
  try {
    const h = JSON.parse(readFileSync(infoPath, "utf8")) as LockHolder;
    return `pid ${h.pid}: ${h.command}, since ${h.since}`;
  } catch {
    return "another pipe process";
  }
}

/** A write to `.pipe/` that the machine refused (a full disk, permissions): the user's to fix, not a bug. */
export function stateWriteError(path: string, e: NodeJS.ErrnoException): Error {
  if (!e.code || !WRITE_REFUSED.has(e.code)) return e;
  return new UserError({ message: `cannot write ${path}: ${e.code}${e.code === "ENOSPC" ? " (no space left on device)" : ""}`, hint: writeRefusedHint(e.code) });
}
