/**
 * Worker-thread entry that hashes big files (reliability.md P18): streaming in 1 MiB chunks, so
 * memory stays constant, and off the main thread, so Ctrl-C and the lock stay responsive while a
 * 20 GB input is read. Messages: in { id, path }; out { id, done, total } progress, then
 * { id, hash } or { id, error }.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { hashFd, initHasher } from "./xxh.ts";

const port = parentPort!;

port.on("message", async (m: { id: number; path: string }) => {
  try {
    await initHasher();
    const fd = openSync(m.path, "r");
    let hash: string;
    try {
      const total = fstatSync(fd).size;
      hash = hashFd(fd, (done) => port.postMessage({ id: m.id, done, total }));
    } finally {
      closeSync(fd);
    }
    port.postMessage({ id: m.id, hash });
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).message });
  }
});
