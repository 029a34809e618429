/**
 * git's racy rule, shared by the stat cache and the no-op snapshot: a (stat -> hash) fact is
 * trusted only when the file's mtime is clearly older than the moment its content was read.
 * A write in the same timestamp tick as the read could otherwise leave mtime (and size)
 * unchanged while the bytes differ.
 */

/** How close (ms) to its hash time a file's mtime may be before the fact is distrusted. */
const RACY_MS = 50;
/** Filesystems with whole-second timestamps (vfat: 2 s) need a wider margin. */
const RACY_COARSE_MS = 2100;

export function isRacy(mtimeMs: number, hashedAt: number): boolean {
  const coarse = mtimeMs % 1000 === 0;
  return hashedAt - mtimeMs < (coarse ? RACY_COARSE_MS : RACY_MS);
}
