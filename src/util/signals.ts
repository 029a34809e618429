/** The signals that interrupt pipe (exit code 130): each one stops a build the same way. */
export const INTERRUPT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

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
