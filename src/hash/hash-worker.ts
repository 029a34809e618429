/**
 * Worker-thread entry that hashes big files (reliability.md P18): streaming in 1 MiB chunks, so
 * memory stays constant, and off the main thread, so Ctrl-C and the lock stay responsive while a
 * 20 GB input is read. Messages: in { id, path }; out { id, done, total } progress, then
 * { id, hash } or { id, error }.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { createHasher, initHasher } from "./xxh.ts";

const port = parentPort!;
const CHUNK = 1 << 20;
const REPORT_EVERY = 64 * CHUNK;

port.on("message", async (m: { id: number; path: string }) => {
  try {
    await initHasher();
    const h = createHasher();
    const buf = Buffer.allocUnsafe(CHUNK);
    const fd = openSync(m.path, "r");
    try {
      const total = fstatSync(fd).size;
      let done = 0;
      let reported = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n <= 0) break;
        h.update(n === CHUNK ? buf : buf.subarray(0, n));
        done += n;
        if (done - reported >= REPORT_EVERY) {
          reported = done;
          port.postMessage({ id: m.id, done, total });
        }
      }
    } finally {
      closeSync(fd);
    }
    port.postMessage({ id: m.id, hash: h.digest() });
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).message });
  }
});
