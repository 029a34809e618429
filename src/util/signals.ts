/** The signals that interrupt pipe (exit code 130): each one stops a build the same way. */
export const INTERRUPT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let early: (() => void) | undefined;

/**
 * Until a reporter takes them over (`takeOverInterrupts`), INT, TERM and HUP run `handler`
 * (cli/main.ts: say "interrupted", exit 130). Commands without a reporter (clean, gc, status...)
 * keep it to the end: they ended by the signal (143 for TERM, 129 for HUP) once main let go.
 */
export function installEarlyInterrupt(handler: () => void): void {
  takeOverInterrupts();
  early = handler;
  for (const s of INTERRUPT_SIGNALS) process.on(s, handler);
}

/** Removes the early handler: the caller handles the signals from now on. */
export function takeOverInterrupts(): void {
  if (early) for (const s of INTERRUPT_SIGNALS) process.off(s, early);
  early = undefined;
}

/**
 * What must hold on the terminal if an interrupt signal ends pipe without running any of its
 * JavaScript: while a Pipelinefile's own code runs, INT/TERM/HUP have their default action (see
 * load.ts `evaluate`). A live view that hid the cursor shows it for that span (`enter`) and
 * hides it again after (`leave`), so a Ctrl-C there (in `pipe watch`'s reload) never leaves the
 * user's shell without a cursor.
 */
export interface UnguardedSpanGuard {
  enter(): void;
  leave(): void;
}

const guards = new Set<UnguardedSpanGuard>();

/** Registers a guard; returns its removal. */
export function guardUnguardedSpans(guard: UnguardedSpanGuard): () => void {
  guards.add(guard);
  return () => void guards.delete(guard);
}

/** Runs around a span in which an interrupt signal ends pipe at once (its default action). */
export function enterUnguardedSpan(): void {
  for (const g of guards) g.enter();
}

/** The end of that span: pipe's own signal handlers are back. */
export function leaveUnguardedSpan(): void {
  for (const g of guards) g.leave();
}

/**
 * Runs `fn`, a long synchronous step (copying or hashing an output of gigabytes), with INT, TERM
 * and HUP at their default action: pipe's handlers are JavaScript, which cannot run until the
 * step returns, so a Ctrl-C waited for the whole copy (5 s for 3 GB; reliability.md P18 asks for
 * 2). Ending there is safe as a kill -9 is (reliability.md A1): the copy goes to a temp name,
 * the lock's supervisor stops the recipes still running, and the next build sweeps the rest.
 */
export function withDefaultSignals<T>(fn: () => T): T {
  const saved = INTERRUPT_SIGNALS.map((s) => [s, process.listeners(s)] as const);
  // Nothing to take off and put back (no handler of pipe's is on).
  if (saved.every(([, l]) => l.length === 0)) return fn();
  for (const [s] of saved) process.removeAllListeners(s);
  enterUnguardedSpan();
  try {
    return fn();
  } finally {
    for (const [s, listeners] of saved) for (const l of listeners) process.on(s, l as NodeJS.SignalsListener);
    leaveUnguardedSpan();
  }
}
