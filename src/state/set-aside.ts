/**
 * Notes of state that was in the way of a write and moved to `.pipe/quarantine/` (atomic.ts),
 * kept apart from atomic.ts so the CLI can print them at its end without loading the writer: a
 * dynamic import there was the last 5-10 ms of every build (the module's read waited behind the
 * build's own file work in node's thread pool).
 */
const notes: string[] = [];

/** Records one note (a sentence). */
export function noteSetAside(message: string): void {
  notes.push(message);
}

/** What was set aside since the last call, one sentence each. */
export function takeSetAside(): string[] {
  return notes.splice(0);
}
