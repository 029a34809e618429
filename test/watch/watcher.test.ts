import { test } from "node:test";
import assert from "node:assert/strict";
import { WatchLoop, fallbackMessage } from "../../src/watch/watcher.ts";
import { eventLog, FakeBuilds, FakeClock, FakeContent, FakeWatcher, flush, sampleSet } from "./fakes.ts";
import { globSource, type WatchSet } from "../../src/watch/watch-set.ts";

const DEBOUNCE = 100;

/** A loop over the sample set, started, with its first build finished and idle. */
async function idleLoop(o: { set?: WatchSet; catchUp?: (roots: string[]) => string[] } = {}) {
  const clock = new FakeClock();
  const watcher = new FakeWatcher();
  const content = new FakeContent();
  const builds = new FakeBuilds(o.set ?? sampleSet());
  const log = eventLog();
  const catchUps: string[][] = [];
  const loop = new WatchLoop({
    clock,
    createWatcher: watcher.factory,
    content,
    runBuild: builds.runBuild,
    catchUp: (roots) => (catchUps.push(roots), o.catchUp ? o.catchUp(roots) : []),
    emit: log.emit,
    debounceMs: DEBOUNCE,
  });
  loop.start();
  await flush();
  await builds.last.finish();
  return { clock, watcher, content, builds, log, loop, catchUps };
}

test("the first build runs at once; then every root is watched and the loop says it is idle", async () => {
  const { builds, watcher, log, loop, catchUps } = await idleLoop();
  assert.deepEqual(builds.started.map((b) => b.changed), [[]]);
  assert.deepEqual([...watcher.watched], ["/p/Pipelinefile.ts", "/p/data", "/p/flag.txt", "/p/sentinel.txt"]);
  assert.deepEqual(catchUps, [["/p/Pipelinefile.ts", "/p/data", "/p/flag.txt", "/p/sentinel.txt"]]);
  assert.deepEqual(log.events, [{ type: "watch-idle", watched: 4, lastRunOk: true }]);
  assert.equal(loop.state, "idle");
});

test("a burst of changes becomes one run, after the quiet period that follows the last change", async () => {
  const { clock, watcher, builds, log, loop } = await idleLoop();
  for (const p of ["/p/data/a.csv", "/p/flag.txt", "/p/data/a.csv", "/p/data/b.csv"]) {
    watcher.change(p);
    clock.advance(DEBOUNCE - 1);
  }
  assert.equal(builds.started.length, 1, "no run while changes keep coming");
  assert.equal(loop.state, "debouncing");
  clock.advance(1);
  await flush();
  assert.equal(builds.started.length, 2);
  assert.deepEqual(builds.last.changed, ["/p/data/a.csv", "/p/data/b.csv", "/p/flag.txt"]);
  assert.deepEqual(log.events.at(-1), { type: "watch-change", paths: ["data/a.csv", "data/b.csv", "flag.txt"] });
  assert.equal(loop.state, "running");
});

test("pipe's own writes and paths that are not sources never start the quiet period", async () => {
  const { clock, watcher, builds, loop } = await idleLoop();
  const notSources = [
    "/p/data/all.csv", // an output inside the globbed folder
    "/p/.pipe/records", // state
    "/p/.pipe/staging/1/data/all.csv", // staging
    "/p/node_modules/.cache/pipe/index.json", // compile cache
    "/p/data/notes.txt", // in the glob's folder, not matching it
    "/p/data/sub/x.csv", // below the glob's folder
    "/p/README.md", // not watched at all
  ];
  for (const p of notSources) watcher.change(p);
  assert.equal(loop.state, "idle");
  assert.equal(clock.armed, 0);
  clock.advance(10 * DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 1);
});

test("a new file matching a glob counts", async () => {
  const { clock, watcher, builds } = await idleLoop();
  watcher.change("/p/data/new.csv", "add");
  clock.advance(DEBOUNCE);
  await flush();
  assert.deepEqual(builds.last.changed, ["/p/data/new.csv"]);
});

test("a save without changes runs nothing and prints nothing", async () => {
  const { clock, watcher, content, builds, log, loop } = await idleLoop();
  content.same.add("/p/flag.txt");
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 1);
  assert.equal(loop.state, "idle");
  assert.deepEqual(log.types(), ["watch-idle"], "no watch-change, no second watch-idle");
});

test("of several changes, only those whose content changed are reported and built", async () => {
  const { clock, watcher, content, builds, log } = await idleLoop();
  content.same.add("/p/flag.txt");
  watcher.change("/p/flag.txt");
  watcher.change("/p/sentinel.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.deepEqual(builds.last.changed, ["/p/sentinel.txt"]);
  assert.deepEqual(log.events.at(-1), { type: "watch-change", paths: ["sentinel.txt"] });
});

test("changes during a run queue exactly one follow-up run, even if their content looks unchanged", async () => {
  const { clock, watcher, content, builds, loop } = await idleLoop();
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 2);
  // While it runs: three changes, one of which looks like a save without changes.
  content.same.add("/p/sentinel.txt");
  watcher.change("/p/sentinel.txt");
  watcher.change("/p/data/a.csv");
  watcher.change("/p/data/a.csv");
  assert.equal(loop.state, "running-queued");
  clock.advance(10 * DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 2, "never two runs at once");
  await builds.last.finish();
  assert.equal(loop.state, "debouncing", "the follow-up waits for quiet too (the change may still be arriving)");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 3);
  assert.deepEqual(builds.last.changed, ["/p/data/a.csv", "/p/sentinel.txt"]);
  await builds.last.finish();
  clock.advance(100 * DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 3, "and then nothing more");
  assert.equal(loop.state, "idle");
});

test("a file still being written (its stat still moving) is waited for", async () => {
  const { clock, watcher, content, builds, loop } = await idleLoop();
  content.sigs.set("/p/data/big.csv", "size=10");
  watcher.change("/p/data/big.csv", "add");
  // The writer goes on without an event reaching us (polling, or event latency).
  content.sigs.set("/p/data/big.csv", "size=20");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 1, "not yet: it grew during the quiet period");
  assert.equal(loop.state, "debouncing");
  content.sigs.set("/p/data/big.csv", "size=30");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 1);
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 2, "stable for one quiet period: go");
  assert.deepEqual(builds.last.changed, ["/p/data/big.csv"]);
});

test("after a run, with no further change, the loop stays quiet", async () => {
  const { clock, watcher, builds, log } = await idleLoop();
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  await builds.last.finish({ ok: false });
  clock.advance(1_000_000);
  await flush();
  assert.equal(builds.started.length, 2, "a failed run is not retried on its own");
  assert.equal(clock.armed, 0);
  assert.deepEqual(log.types(), ["watch-idle", "watch-change", "watch-idle"]);
  assert.deepEqual(log.events.at(-1), { type: "watch-idle", watched: 4, lastRunOk: false });
});

test("a new watch set is applied: added roots are watched and caught up, removed ones unwatched", async () => {
  const missed = new Set(["/p/lib/helpers.ts"]);
  const { clock, watcher, builds, catchUps } = await idleLoop({ catchUp: (roots) => roots.filter((r) => missed.has(r)) });
  watcher.change("/p/Pipelinefile.ts");
  clock.advance(DEBOUNCE);
  await flush();
  const next = sampleSet({ files: ["/p/Pipelinefile.ts", "/p/lib/helpers.ts", "/p/sentinel.txt"], code: ["/p/Pipelinefile.ts", "/p/lib/helpers.ts"] });
  await builds.last.finish({ watch: next });
  assert.deepEqual(watcher.calls.slice(-2), ["unwatch /p/flag.txt", "add /p/lib/helpers.ts"]);
  assert.deepEqual(catchUps.at(-1), ["/p/lib/helpers.ts"]);
  // The module changed before it was watched: that is a change, and it runs without a content check.
  clock.advance(DEBOUNCE);
  await flush();
  assert.deepEqual(builds.last.changed, ["/p/lib/helpers.ts"]);
  assert.equal(builds.started.length, 3);
  watcher.change("/p/flag.txt");
  assert.equal(clock.armed, 0, "a source no longer used does not count");
});

test("running out of inotify watches is reported with the remedy; changes meanwhile are looked for", async () => {
  const { clock, watcher, builds, log } = await idleLoop({ catchUp: (roots) => (roots.length > 1 ? ["/p/data/a.csv"] : []) });
  watcher.polling = true;
  watcher.notice({ type: "fallback", code: "ENOSPC", limit: 8192, intervalMs: 500, root: "/p" });
  assert.deepEqual(log.events.at(-1), {
    type: "warning",
    message:
      "the file watcher hit the inotify watch limit (ENOSPC: fs.inotify.max_user_watches = 8192) while watching /p; falling back to polling every 500 ms (changes are still seen, a little later)\n" +
      "  hint: raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 (add it to /etc/sysctl.conf to keep it)",
  });
  clock.advance(DEBOUNCE);
  await flush();
  assert.deepEqual(builds.last.changed, ["/p/data/a.csv"]);
  await builds.last.finish();
  assert.deepEqual(log.events.at(-1), { type: "watch-idle", watched: 4, lastRunOk: true, polling: true });
});

test("EMFILE names the descriptor and inotify instance limits", () => {
  assert.equal(
    fallbackMessage({ type: "fallback", code: "EMFILE", intervalMs: 500, root: "/p" }),
    "the file watcher ran out of file descriptors or inotify instances (EMFILE) while watching /p; falling back to polling every 500 ms (changes are still seen, a little later)\n" +
      "  hint: raise the limits: ulimit -n 65536, and sudo sysctl fs.inotify.max_user_instances=1024 (add it to /etc/sysctl.conf to keep it)",
  );
});

test("other watcher errors are warnings; watching goes on", async () => {
  const { clock, watcher, builds, log } = await idleLoop();
  watcher.notice({ type: "error", message: "EACCES: permission denied, watch '/p/data'" });
  assert.deepEqual(log.events.at(-1), { type: "warning", message: "file watcher: EACCES: permission denied, watch '/p/data'" });
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 2);
});

test("a build that throws (a bug) is reported and watching goes on with the last set", async () => {
  const { clock, watcher, builds, log, loop } = await idleLoop();
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  await builds.last.fail(new Error("boom"));
  const err = log.events.find((e) => e.type === "error");
  assert.ok(err && err.type === "error" && err.message.startsWith("internal error: Error: boom"));
  assert.equal(loop.state, "idle");
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 3);
});

test("stop() while idle or debouncing ends at once, closes the watcher and runs nothing", async () => {
  for (const debouncing of [false, true]) {
    const { clock, watcher, builds, loop } = await idleLoop();
    if (debouncing) watcher.change("/p/flag.txt");
    await loop.stop();
    assert.equal(loop.state, "stopped");
    assert.equal(watcher.closed, true);
    assert.equal(clock.armed, 0);
    watcher.change("/p/flag.txt");
    clock.advance(10 * DEBOUNCE);
    await flush();
    assert.equal(builds.started.length, 1);
  }
});

test("stop() during a run waits for it, drops queued changes, then closes", async () => {
  const { clock, watcher, builds, loop } = await idleLoop();
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  watcher.change("/p/sentinel.txt");
  let stopped = false;
  void loop.stop().then(() => (stopped = true));
  await flush();
  assert.equal(loop.state, "stopping");
  assert.equal(stopped, false);
  assert.equal(watcher.closed, false);
  await builds.last.finish();
  assert.equal(stopped, true);
  assert.equal(loop.state, "stopped");
  assert.equal(watcher.closed, true);
  clock.advance(10 * DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 2);
});

test("the watcher is told to prune folders that cannot hold sources, and never a root", async () => {
  const set = sampleSet({ dirs: ["/p/assets"], globs: [...sampleSet().globs, globSource("/p", "src/**/*.ts", [])] });
  const { watcher } = await idleLoop({ set });
  const ignored = (p: string, isDir?: boolean) => watcher.filter.isIgnored(p, isDir);
  assert.equal(ignored("/p/.pipe", true), true);
  assert.equal(ignored("/p/data/all.csv", false), true);
  assert.equal(ignored("/p/data", true), false, "a root");
  assert.equal(ignored("/p/data/sub", true), true, "data/*.csv cannot match below data/");
  assert.equal(ignored("/p/src/deep/er", true), false, "src/**/*.ts can");
  assert.equal(ignored("/p/src/.hidden", true), true, "dot folders never match");
  assert.equal(ignored("/p/assets/img", true), false, "inside a directory input");
  assert.equal(ignored("/p/data/notes.txt", false), false, "files are filtered by the loop, not pruned");
});

test("a file a recipe rewrites among its inputs: after the warning, its changes during builds (or their late report) start nothing; an edit between builds still does", async () => {
  // data/log.csv is globbed by the target that appends to it.
  const log = "/p/data/log.csv";
  const { clock, watcher, content, builds, log: events, loop } = await idleLoop();
  const runWritingLog = async (sig: string) => {
    content.sigs.set(log, sig);
    watcher.change(log); // the recipe's write, seen while the build runs
    await builds.last.finish({ changedDuringRun: [log] });
    clock.advance(DEBOUNCE);
    await flush();
  };
  const warnings = () => events.events.filter((e) => e.type === "warning");
  watcher.change(log);
  clock.advance(DEBOUNCE);
  await flush();
  await runWritingLog("s1"); // started by the log's creation: it writes it again
  await runWritingLog("s2"); // started only by that: the loop is found
  assert.equal(builds.started.length, 3);
  assert.equal(warnings().length, 1);
  assert.match((warnings()[0] as { message: string }).message, /^data\/log\.csv changed while the last two builds ran/);
  assert.equal(loop.state, "idle");

  // A real edit of another input runs the recipe once; its rewrite of the log starts nothing.
  for (let i = 0; i < 2; i++) {
    watcher.change("/p/data/a.csv");
    clock.advance(DEBOUNCE);
    await flush();
    assert.deepEqual(builds.last.changed, ["/p/data/a.csv"]);
    await runWritingLog(`s${3 + i}`);
    assert.equal(loop.state, "idle");
  }
  assert.equal(builds.started.length, 5, "one build per edit");
  assert.equal(warnings().length, 1, "the warning is not repeated");

  // The watcher may report the rewrite only after the build ended: still nothing.
  watcher.change(log);
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 5);
  // An edit of the log itself between builds (new bytes) builds.
  content.sigs.set(log, "edited");
  watcher.change(log);
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 6);
  assert.deepEqual(builds.last.changed, [log]);
  await builds.last.finish();

  // After a Pipelinefile edit (declared as an output now?), its changes count again.
  watcher.change("/p/Pipelinefile.ts");
  clock.advance(DEBOUNCE);
  await flush();
  await runWritingLog("s9");
  assert.equal(builds.started.length, 8, "the rewrite during the Pipelinefile's build starts one more");
});

test("a file another recipe writes among the inputs, after its readers ran: judged by when it was written (also when reported late), one more build, then a warning naming the writer", async () => {
  //  data/*.csv ──► a ──► b ──► data/from-b.csv (written by b's recipe; a never sees it change)
  const file = "/p/data/from-b.csv";
  const { clock, watcher, content, builds, log: events, loop } = await idleLoop();
  const warnings = () => events.events.filter((e) => e.type === "warning");
  const quiet = async () => {
    clock.advance(DEBOUNCE);
    await flush();
  };
  // The first build wrote it; a polling watcher reports it only now, after that build ended.
  content.written.add(file);
  content.sigs.set(file, "s1");
  watcher.change(file, "add");
  await quiet();
  assert.deepEqual(builds.last.changed, [file]);
  // This build writes it again (reported late again): no changedDuringRun, only its ctime says so.
  content.sigs.set(file, "s2");
  content.writers.set(file, "b");
  await builds.last.finish();
  assert.equal(warnings().length, 1);
  assert.equal(
    (warnings()[0] as { message: string }).message,
    'data/from-b.csv changed while the last two builds ran, each time while the recipe of "b" ran: it seems to write it. pipe watch does not build again for those changes; declare such a file as an output of the target that writes it, or write it outside the inputs',
  );
  watcher.change(file); // the late report
  await quiet();
  assert.equal(builds.started.length, 2, "the first build and the one its write started");
  assert.equal(loop.state, "idle");

  // The user's edit of the file between builds builds once; the recipe's rewrite during it starts nothing.
  content.written.delete(file);
  content.sigs.set(file, "edited");
  watcher.change(file);
  await quiet();
  assert.equal(builds.started.length, 3);
  assert.deepEqual(builds.last.changed, [file]);
  content.written.add(file);
  content.sigs.set(file, "s3");
  await builds.last.finish();
  watcher.change(file);
  await quiet();
  assert.equal(builds.started.length, 3, "one build for the edit");
  assert.equal(warnings().length, 1, "the warning is not repeated");
  assert.equal(loop.state, "idle");
});

test("a user's save during a build, then none during the build it started, is no loop", async () => {
  const { clock, watcher, content, builds, log: events } = await idleLoop();
  watcher.change("/p/data/a.csv");
  clock.advance(DEBOUNCE);
  await flush();
  // Saved while that build ran: it queues one more.
  content.written.add("/p/flag.txt");
  watcher.change("/p/flag.txt");
  await builds.last.finish();
  clock.advance(DEBOUNCE);
  await flush();
  assert.deepEqual(builds.last.changed, ["/p/flag.txt"]);
  content.written.delete("/p/flag.txt");
  await builds.last.finish();
  assert.equal(events.events.filter((e) => e.type === "warning").length, 0);
  // Saved again, between builds: it builds.
  watcher.change("/p/flag.txt");
  clock.advance(DEBOUNCE);
  await flush();
  assert.equal(builds.started.length, 4);
});
