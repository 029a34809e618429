/**
 * Content hashing. 128-bit digests made of two seeded XXH64 passes (xxhash-wasm): fast enough
 * that syscalls, not hashing, dominate for small files (ecosystem.md §5), and wide enough for a
 * content-addressed cache. Call `initHasher()` once before using the sync functions.
 */
import { readSync } from "node:fs";
import xxhash from "xxhash-wasm";

type Api = Awaited<ReturnType<typeof xxhash>>;
let api: Api | undefined;
const SEED_A = 0n;
const SEED_B = 0x9e3779b97f4a7c15n;
const encoder = new TextEncoder();

/** Loads the wasm module; idempotent. */
export async function initHasher(): Promise<void> {
  if (!api) api = await xxhash();
}

function need(): Api {
  if (!api) throw new Error("internal error: hasher used before initHasher(); this is a bug");
  return api;
}

const hex = (n: bigint) => n.toString(16).padStart(16, "0");

/** 128-bit hex digest of bytes. */
export function hashBytes(bytes: Uint8Array): string {
  const a = need();
  return hex(a.h64Raw(bytes, SEED_A)) + hex(a.h64Raw(bytes, SEED_B));
}

/** 128-bit hex digest of a string (UTF-8). */
export function hashString(text: string): string {
  return hashBytes(encoder.encode(text));
}

/** A streaming 128-bit hasher, for files too big to read at once. */
export function createHasher(): { update(chunk: Uint8Array): void; digest(): string } {
  const a = need();
  const h1 = a.create64(SEED_A);
  const h2 = a.create64(SEED_B);
  return {
    update(chunk) {
      h1.update(chunk);
      h2.update(chunk);
    },
    digest: () => hex(h1.digest()) + hex(h2.digest()),
  };
}

/** Files at least this big are hashed in chunks (and shown with progress); smaller ones at once. */
export const BIG_FILE = 8 << 20;
const CHUNK = 1 << 20;
/** How often (bytes) `hashFd` reports progress. */
const PROGRESS_EVERY = 64 * CHUNK;

/**
 * Content hash of an open file read from its start in 1 MiB chunks: constant memory for any
 * size. `onProgress(done)` every PROGRESS_EVERY bytes. The one streaming loop behind the file
 * hasher, its worker, the no-op check and `status --verify`.
 */
export function hashFd(fd: number, onProgress?: (done: number) => void): string {
  const h = createHasher();
  const buf = Buffer.allocUnsafe(CHUNK);
  let done = 0;
  let reported = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, done);
    if (n <= 0) break;
    h.update(n === CHUNK ? buf : buf.subarray(0, n));
    done += n;
    if (onProgress && done - reported >= PROGRESS_EVERY) {
      reported = done;
      onProgress(done);
    }
  }
  return h.digest();
}
