/**
 * Recipe process groups, whichever way they were started (the perl spawner or node's own
 * spawn): an interrupt sends SIGTERM to the group (background jobs of `sh` ignore SIGINT,
 * ecosystem.md §7), SIGKILL after a grace period, and after the leader exits its leftover
 * members are reaped, so a group is confirmed empty before its recipe counts as finished.
 */

/** Process groups of running recipes, so a second Ctrl-C can kill them all at once. */
const liveGroups = new Set<number>();

/** Whether `pgid` is the group of a running recipe (its leader is a recipe pipe started). */
export function isLiveGroup(pgid: number): boolean {
  return liveGroups.has(pgid);
}

export function killAllGroups(signal: NodeJS.Signals): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // gone
    }
  }
}

interface GroupOptions {
  signal: AbortSignal;
  graceMs: number;
  onGroup: (pgid: number, alive: boolean) => void;
}

/**
 * One recipe's group from start to confirmed end. The group may become known after an abort
 * (the spawner reports pids asynchronously): the abort then reaches it as soon as it is known.
 */
export class RecipeGroup {
  readonly #o: GroupOptions;
  #pgid: number | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #abortRequested = false;
  /** Set when we had to SIGKILL the group after the grace period. */
  killed = false;

  constructor(o: GroupOptions) {
    this.#o = o;
    if (o.signal.aborted) this.#abortRequested = true;
    else o.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The group exists (its leader's pid is its id). */
  started(pgid: number): void {
    this.#pgid = pgid;
    liveGroups.add(pgid);
    this.#o.onGroup(pgid, true);
    if (this.#abortRequested) this.#terminate();
  }

  /** The recipe never started (exec failed): nothing to watch. */
  notStarted(): void {
    this.#o.signal.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#graceTimer);
  }

  /**
   * The leader exited: leftover members of the group (background jobs) get TERM, then KILL
   * (during an interrupt: the rest of the grace period, then KILL), and `done` runs once the
   * group is empty. `empty`: whoever reaped the leader saw the group
   * empty already (a group id that is gone cannot come back with members), so no check.
   */
  exited(done: () => void, empty = false): void {
    this.#o.signal.removeEventListener("abort", this.#onAbort);
    const pgid = this.#pgid;
    const finish = () => {
      clearTimeout(this.#graceTimer);
      if (pgid) {
        liveGroups.delete(pgid);
        this.#o.onGroup(pgid, false);
      }
      done();
    };
    if (!pgid || empty) return finish();
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
      if (this.#abortRequested) {
        // Interrupted: the members got SIGTERM with the leader (#terminate) and have the rest of
        // the grace period to finish their cleanup; the grace timer (or a second Ctrl-C) kills
        // what is left. Without this, a shell leader that died on TERM at once (`sh -c 'a && b'`
        // or `a | b`) had its still-running programs TERMed again and KILLed 0.2 s later,
        // whatever PIPE_KILL_GRACE_MS said. SIGCONT once, so a stopped member can act on TERM.
        if (tries === 1) this.#kill("SIGCONT");
        setTimeout(reap, tries > 20 ? 50 : 10);
        return;
      }
      this.#kill(tries === 1 ? "SIGTERM" : tries > 20 ? "SIGKILL" : "SIGCONT");
      setTimeout(reap, tries > 20 ? 50 : 10);
    };
    reap();
  }

  readonly #onAbort = () => {
    this.#abortRequested = true;
    if (this.#pgid) this.#terminate();
  };

  #terminate(): void {
    this.#kill("SIGTERM");
    this.#graceTimer = setTimeout(() => {
      this.killed = true;
      this.#kill("SIGKILL");
    }, this.#o.graceMs);
  }

  #kill(sig: NodeJS.Signals): void {
    if (!this.#pgid) return;
    try {
      process.kill(-this.#pgid, sig);
    } catch {
      // group already gone
    }
  }
}
