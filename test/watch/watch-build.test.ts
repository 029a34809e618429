import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TargetStatus } from "../../src/events.ts";
import type { Graph } from "../../src/graph/graph.ts";
import { initHasher } from "../../src/hash/xxh.ts";
import { UserError } from "../../src/util/errors.ts";
import { ContentLedger } from "../../src/watch/content-ledger.ts";
import { listingOf } from "../../src/load/trace.ts";
import { WatchBuild, type BuildSession } from "../../src/watch/watch-build.ts";
import { eventLog } from "./fakes.ts";
import { graphOf, SAMPLE } from "./graphs.ts";

before(async () => {
  await initHasher();
});
const temps: string[] = [];
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "pipe-wb-"));
  temps.push(d);
  return d;
};

/** A fake `buildOnce`: answers from a queue, records each request. */
function fakeBuild(root: string, graph: Graph, selected: string[]) {
  const requests: string[][] = [];
  const answers: (Partial<Record<string, TargetStatus>> | Error)[] = [];
  const notRetried: string[][] = [];
  const build = async (requested: string[], options: { notRetried: string[] }): Promise<BuildSession> => {
    requests.push(requested);
    notRetried.push(options.notRetried);
    const a = answers.shift() ?? {};
    if (a instanceof Error) throw a;
    const statuses = new Map(Object.entries(a) as [string, TargetStatus][]);
    return {
      result: { ok: ![...statuses.values()].includes("failed"), statuses },
      project: {
        root,
        file: join(root, "Pipelinefile.ts"),
        stateDir: join(root, ".pipe"),
        graph,
        selected: requested.length ? requested : selected,
        spec: { compiled: { modules: { [join(root, "Pipelinefile.ts")]: {}, [join(root, "recipes/model.ts")]: {} } } },
        hasher: { cache: new Map() },
      },
    };
  };
  return { build, requests, answers, notRetried };
}

function driver(root = "/p", graph = graphOf("/p", SAMPLE), selected = ["model", "check", "mark"]) {
  const fb = fakeBuild(root, graph, selected);
  const log = eventLog();
  const wb = new WatchBuild({ root, pipelinefile: join(root, "Pipelinefile.ts"), requested: [], build: fb.build, ledger: new ContentLedger(), emit: log.emit, now: () => Date.now() + 60_000 });
  return { wb, fb, log };
}

test("a failed target is held back until one of its sources changes; the rest still builds", async () => {
  const { wb, fb, log } = driver();
  fb.answers.push({ check: "failed", mark: "built", model: "built", clean: "built" });
  assert.equal((await wb.runBuild([])).ok, false);
  fb.answers.push({ mark: "built", model: "up-to-date", clean: "up-to-date" });
  const second = await wb.runBuild(["/p/sentinel.txt"]);
  assert.deepEqual(fb.requests[1], ["mark", "model"]);
  assert.deepEqual(fb.notRetried[1], ["check"], "the build is told which failed target it does not retry");
  assert.deepEqual(log.events.filter((e) => e.type === "warning"), [
    { type: "warning", target: "check", message: "not retried: it failed in an earlier run and none of its sources changed since (edit one of them or the Pipelinefile, or restart pipe watch, to retry; saving the same bytes is no change)" },
  ]);
  assert.equal(second.ok, false, "not ok while a failure is held back");
  assert.ok(second.watch.files.includes("/p/flag.txt"), "its sources are still watched");
  fb.answers.push({ check: "built" });
  assert.equal((await wb.runBuild(["/p/flag.txt"])).ok, true);
  assert.deepEqual(fb.requests[2], [], "its source changed: the user's own request again");
  assert.deepEqual(fb.notRetried[2], []);
});

test("a change to a module of the Pipelinefile retries failed targets", async () => {
  const { wb, fb } = driver();
  fb.answers.push({ check: "failed" });
  await wb.runBuild([]);
  await wb.runBuild(["/p/recipes/model.ts"]);
  assert.deepEqual(fb.requests[1], []);
});

test("a Pipelinefile that no longer loads: the error is shown, the last watch set is kept, plus the file at fault", async () => {
  const { wb, fb, log } = driver();
  const first = await wb.runBuild([]);
  fb.answers.push(new UserError({ message: "Pipelinefile failed while loading: x is not defined", location: { file: "/p/recipes/new.ts", line: 3, column: 1 }, hint: "fix the error above; nothing was run" }));
  const second = await wb.runBuild(["/p/Pipelinefile.ts"]);
  assert.deepEqual(log.events.at(-1), {
    type: "error",
    message: "error: Pipelinefile failed while loading: x is not defined\n  at recipes/new.ts:3:1\n  hint: fix the error above; nothing was run",
  });
  assert.equal(second.ok, false);
  assert.deepEqual(second.watch.files, [...first.watch.files, "/p/recipes/new.ts"].sort());
  assert.deepEqual(second.watch.globs, first.watch.globs);
  // Fixing it reloads and builds what the user asked for.
  fb.answers.push({ model: "up-to-date" });
  assert.equal((await wb.runBuild(["/p/recipes/new.ts"])).ok, true);
  assert.deepEqual(fb.requests[2], []);
});

test("a bug in the build is reported as one, and the last watch set is kept", async () => {
  const { wb, fb, log } = driver();
  const first = await wb.runBuild([]);
  fb.answers.push(new TypeError("cannot read x of undefined"));
  const second = await wb.runBuild(["/p/flag.txt"]);
  const err = log.events.at(-1);
  assert.ok(err?.type === "error" && err.message.startsWith("internal error: TypeError: cannot read x of undefined"), JSON.stringify(err));
  assert.ok(err?.type === "error" && err.message.endsWith("this is a bug; please report it with the output of `pipe --version`"));
  assert.deepEqual(second.watch, first.watch);
});

test("when the first load fails, the Pipelinefile and the project's code files are watched", async () => {
  const root = tempDir();
  mkdirSync(join(root, "recipes"));
  mkdirSync(join(root, "node_modules/pkg"), { recursive: true });
  for (const f of ["Pipelinefile.ts", "recipes/a.ts", "node_modules/pkg/index.js", "data.csv"]) writeFileSync(join(root, f), "");
  const { wb, fb, log } = driver(root, graphOf(root, SAMPLE));
  fb.answers.push(new UserError({ message: "Pipelinefile does not compile: Unexpected \";\"", location: { file: join(root, "Pipelinefile.ts"), line: 1, column: 9 } }));
  const out = await wb.runBuild([]);
  assert.equal(log.types().join(), "error");
  assert.deepEqual(out.watch.files, [join(root, "Pipelinefile.ts")]);
  assert.deepEqual(out.watch.globs.map((g) => g.matches), [[join(root, "Pipelinefile.ts"), join(root, "recipes/a.ts")]]);
});

test("catch-up finds files added to a glob folder, and edits, made before the watcher was watching", async () => {
  const root = tempDir();
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "data/a.csv"), "a");
  writeFileSync(join(root, "data/b.csv"), "b");
  writeFileSync(join(root, "flag.txt"), "ok");
  const graph = graphOf(root, { combine: { inputs: ["data/*.csv", "flag.txt"], outputs: ["data/all.txt"] } }, { "data/*.csv": ["data/a.csv", "data/b.csv"] });
  const { wb } = driver(root, graph, ["combine"]);
  const out = await wb.runBuild([]);
  assert.deepEqual(wb.catchUp([join(root, "data"), join(root, "flag.txt")]), [], "nothing changed yet");
  writeFileSync(join(root, "data/c.csv"), "c");
  writeFileSync(join(root, "data/all.txt"), "an output: never counts");
  writeFileSync(join(root, "data/b.csv"), "B");
  writeFileSync(join(root, "flag.txt"), "ok");
  assert.deepEqual(wb.catchUp([join(root, "data"), join(root, "flag.txt")]), [join(root, "data/b.csv"), join(root, "data/c.csv")]);
  assert.deepEqual(wb.catchUp([join(root, "flag.txt")]), [], "only the roots asked about");
  assert.ok(out.watch.ignored.includes(join(root, "data/all.txt")));
});

test("catch-up finds entries added to, or removed from, a folder the Pipelinefile listed while loading", async () => {
  const root = tempDir();
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "data/a.csv"), "a");
  const dataDir = join(root, "data");
  const graph = graphOf(root, { a: { inputs: ["data/a.csv"], outputs: ["out/a.txt"] } });
  const fb = fakeBuild(root, graph, ["a"]);
  const listing = listingOf(dataDir)!;
  const build = async (requested: string[], options: { notRetried: string[] }) => ({ ...(await fb.build(requested, options)), loadTrace: { reads: new Map(), lists: new Map([[dataDir, listing]]), stats: new Map() } });
  const wb = new WatchBuild({ root, pipelinefile: join(root, "Pipelinefile.ts"), requested: [], build, ledger: new ContentLedger(), emit: eventLog().emit, now: () => Date.now() + 60_000 });
  const out = await wb.runBuild([]);
  assert.deepEqual(out.watch.loadDirs, [dataDir]);
  assert.deepEqual(wb.catchUp([dataDir]), [], "the listing is the one the load saw");
  writeFileSync(join(root, "data/b.csv"), "b"); // landed while the first build ran
  assert.deepEqual(wb.catchUp([dataDir]), [dataDir]);
  rmSync(join(root, "data/b.csv"));
  assert.deepEqual(wb.catchUp([dataDir]), []);
  rmSync(join(root, "data/a.csv"));
  assert.deepEqual(wb.catchUp([dataDir]), [dataDir]);
});
