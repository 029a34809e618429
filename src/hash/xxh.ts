/**
 * Content hashing. 128-bit digests made of two seeded XXH64 passes (xxhash-wasm): fast enough
 * that syscalls, not hashing, dominate for small files (ecosystem.md §5), and wide enough for a
 * content-addressed cache. Call `initHasher()` once before using the sync functions.
 */
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
