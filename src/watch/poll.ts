/** How often `pipe watch --poll` (or watch after inotify ran out) looks at each file, in ms. */
export const POLL_INTERVAL_MS = 500;
