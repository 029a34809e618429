import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChokidarOptions } from "chokidar";
import { ChokidarWatcher, type ChokidarLike } from "../../src/watch/chokidar-watcher.ts";
import type { WatcherNotice } from "../../src/watch/ports.ts";
import { flush } from "./fakes.ts";

/** A stand-in for chokidar's FSWatcher: the test emits its events. */
class FakeFsw extends EventEmitter implements ChokidarLike {
  closed = false;
  readonly unwatched: string[] = [];
  readonly readded: string[] = [];
  constructor(
    readonly paths: string[],
    readonly options: ChokidarOptions,
  ) {
    super();
  }
  add(paths: string[]): this {
    this.readded.push(...paths);
    return this;
  }
  unwatch(paths: string[]): this {
    this.unwatched.push(...paths);
    return this;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function rig(isIgnored: (p: string, isDir: boolean | undefined) => boolean = () => false) {
  const made: FakeFsw[] = [];
  const notices: WatcherNotice[] = [];
  const w = new ChokidarWatcher((n) => notices.push(n), { isIgnored }, {
    root: "/p",
    watch: (paths, options) => {
      const f = new FakeFsw(paths, options);
      made.push(f);
      return f;
    },
    readLimit: () => 8192,
  });
  /** `add`, with the new instance reporting ready. */
  const add = async (paths: string[]) => {
    const before = made.length;
    const done = w.add(paths);
    if (made.length > before) made[made.length - 1].emit("ready");
    await done;
  };
  return { w, made, notices, add };
}

const enospc = () => Object.assign(new Error("ENOSPC: System limit for number of file watchers reached"), { code: "ENOSPC" });

test("chokidar is asked for atomic saves, no initial events and no write-finish delay", async () => {
  const { made, add } = rig();
  await add(["/p/a.txt"]);
  const o = made[0].options;
  assert.deepEqual([o.atomic, o.ignoreInitial, o.usePolling, o.awaitWriteFinish], [true, true, false, undefined]);
});

test("ENOSPC replaces every instance by one polling instance over all paths, then says so once it is ready", async () => {
  const { w, made, notices, add } = rig();
  await add(["/p/a.txt"]);
  await add(["/p/data", "/p/a.txt"]);
  assert.deepEqual(made.map((m) => m.paths), [["/p/a.txt"], ["/p/data"]], "one instance per batch of new paths");
  made[1].emit("error", enospc());
  made[0].emit("error", enospc()); // many watches fail at once: one fallback
  await flush();
  assert.deepEqual([made[0].closed, made[1].closed], [true, true]);
  assert.equal(made.length, 3);
  assert.deepEqual(made[2].paths, ["/p/a.txt", "/p/data"]);
  assert.deepEqual([made[2].options.usePolling, made[2].options.interval], [true, 500]);
  assert.equal(w.polling, true);
  assert.deepEqual(notices, [], "not before the polling watcher is ready");
  made[2].emit("ready");
  await flush();
  assert.deepEqual(notices, [{ type: "fallback", code: "ENOSPC", limit: 8192, intervalMs: 500, root: "/p" }]);
  made[0].emit("all", "change", "/p/a.txt");
  made[2].emit("all", "change", "/p/a.txt");
  assert.deepEqual(notices.slice(1), [{ type: "fs", kind: "change", path: "/p/a.txt" }], "events of closed instances are dropped");
});

test("other errors are passed on as they are; only file and folder events are reported", async () => {
  const { made, notices, add } = rig();
  await add(["/p/a.txt"]);
  made[0].emit("error", Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }));
  made[0].emit("all", "raw", "/p/a.txt");
  made[0].emit("all", "unlink", "/p/a.txt");
  assert.deepEqual(notices, [
    { type: "error", message: "EACCES: permission denied" },
    { type: "fs", kind: "unlink", path: "/p/a.txt" },
  ]);
});

test("a deleted root is watched again, so a folder re-created there is seen", async () => {
  const { made, notices, add } = rig();
  await add(["/p/data", "/p/flag.txt"]);
  made[0].emit("all", "unlink", "/p/data/a.csv");
  made[0].emit("all", "unlinkDir", "/p/data");
  made[0].emit("all", "unlink", "/p/flag.txt");
  assert.deepEqual(made[0].readded, ["/p/data", "/p/flag.txt"]);
  assert.equal(notices.length, 3, "and the deletions are still reported");
});

test("unwatch() forgets paths and closes an instance once none of its paths are left", async () => {
  const { w, made, add } = rig();
  await add(["/p/a.txt", "/p/b.txt"]);
  w.unwatch(["/p/a.txt"]);
  assert.deepEqual(made[0].unwatched, ["/p/a.txt"]);
  assert.equal(made[0].closed, false);
  w.unwatch(["/p/b.txt"]);
  assert.equal(made[0].closed, true);
  await add(["/p/a.txt"]);
  assert.equal(made.length, 2, "watched again after being forgotten");
});

test("the ignore predicate learns whether chokidar is asking about a folder", async () => {
  const asked: [string, boolean | undefined][] = [];
  const { made, add } = rig((p, isDir) => (asked.push([p, isDir]), false));
  await add(["/p/data"]);
  const ignored = made[0].options.ignored as (p: string, st?: { isDirectory(): boolean }) => boolean;
  ignored("/p/data/sub", { isDirectory: () => true });
  ignored("/p/data/a.csv", { isDirectory: () => false });
  ignored("/p/data/b.csv");
  assert.deepEqual(asked, [["/p/data/sub", true], ["/p/data/a.csv", false], ["/p/data/b.csv", undefined]]);
});

test("with real chokidar, a file renamed into a watched folder and an atomic overwrite each arrive once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-chokidar-"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "data/a.csv"), "a");
  const seen: WatcherNotice[] = [];
  let wake: (() => void) | undefined;
  const w = new ChokidarWatcher((n) => (seen.push(n), wake?.()), { isIgnored: () => false }, { root: dir });
  const next = (pred: (n: WatcherNotice) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (seen.some(pred) ? resolve() : undefined);
      wake = check;
      check();
    });
  try {
    await w.add([join(dir, "data")]);
    writeFileSync(join(dir, "data/.b.csv.tmp"), "b");
    renameSync(join(dir, "data/.b.csv.tmp"), join(dir, "data/b.csv"));
    await next((n) => n.type === "fs" && n.path === join(dir, "data/b.csv"));
    writeFileSync(join(dir, "data/.a.csv.tmp"), "A");
    renameSync(join(dir, "data/.a.csv.tmp"), join(dir, "data/a.csv"));
    await next((n) => n.type === "fs" && n.path === join(dir, "data/a.csv"));
    const forFile = (name: string) => seen.filter((n) => n.type === "fs" && n.path === join(dir, "data", name));
    assert.deepEqual(forFile("b.csv"), [{ type: "fs", kind: "add", path: join(dir, "data/b.csv") }]);
    assert.deepEqual(forFile("a.csv"), [{ type: "fs", kind: "change", path: join(dir, "data/a.csv") }]);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
