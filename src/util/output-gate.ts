/**
 * Back-pressure from pipe's own stdout to the readers of recipe output. When whatever reads
 * pipe's output falls behind (`pipe build -v | tee ci.log`, a `--json` consumer), the reporter
 * closes the gate and the readers stop taking recipe output (the helper's pipe, a TypeScript
 * worker's messages) until it has drained: the recipes then wait on their own writes, as
 * under make, and nothing is left out or buffered without bound. Before, lines past 8 MiB
 * waiting were left out, and with stdout a pipe that was most of a chatty recipe's output even
 * for a reader as quick as `cat` (node writes a pipe's 64 KiB per turn of its loop, while a turn
 * read 64 KiB of recipe output that became more in events).
 *
 * Once released (an interrupt, a stdout that broke), the gate never closes again: stopping must
 * not wait for a reader, and the reporter leaves lines out instead. One per process.
 */
let closed = false;
let released = false;
let waiting: (() => void)[] = [];

/** Whether readers of recipe output should wait (see whenOutputOpen). */
export function outputClosed(): boolean {
  return closed;
}

/** Closes the gate; false once released (the caller leaves lines out instead). */
export function closeOutput(): boolean {
  if (released) return false;
  closed = true;
  return true;
}

/** Opens the gate: every waiting reader goes on. */
export function openOutput(): void {
  if (!closed) return;
  closed = false;
  const now = waiting;
  waiting = [];
  for (const fn of now) fn();
}

/** Runs `fn` now if the gate is open, else when it opens. */
export function whenOutputOpen(fn: () => void): void {
  if (closed) waiting.push(fn);
  else fn();
}

/** Opens the gate for good (interrupt, broken stdout). */
export function releaseOutput(): void {
  released = true;
  openOutput();
}

/** Whether the gate was released for good. */
export function outputReleased(): boolean {
  return released;
}

/** Back to the start (tests: one process runs many reporters). */
export function resetOutputGate(): void {
  released = false;
  openOutput();
}
