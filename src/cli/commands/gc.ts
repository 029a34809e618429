/**
 * `pipe gc`: frees the cache of the bytes no record names (state/cache-gc.ts). Reads only
 * `.pipe/`, so it works while the Pipelinefile does not load; holds the project lock (a dry
 * run, which changes nothing, does not).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { initHasher } from "../../hash/xxh.ts";
import { collectGarbage, finishCacheGc, keptForUser, liveOutputs } from "../../state/cache-gc.ts";
import { ensureKeptList } from "../../state/cache.ts";
import { diskHashes } from "../../state/on-disk.ts";
import { LockBusy, ProjectLock } from "../../state/lock.ts";
import { assertRecordsVersion, KEEP_PER_TARGET, RecordStore, type BuildRecord, type Keep } from "../../state/records.ts";
import { formatBytes } from "../../ui/format.ts";
import { UserError } from "../../util/errors.ts";
import { wholeNumber } from "../flags.ts";
import { flagValue, hasFlag } from "../args.ts";
import { findPipelinefile } from "../../load/find.ts";
import { COMMON, EXIT, type Command } from "../main.ts";

export const command: Command = {
  name: "gc",
  summary: "Free the cache of output bytes of runs pipe no longer keeps: all but the 32 newest of each target (what the journal keeps), or with --keep-runs N the N newest. Reads only .pipe/ and the outputs (works while the Pipelinefile does not load).",
  usage: "pipe gc [--keep-runs N] [--dry-run] [--json]",
  details: [
    "The run whose outputs are on disk now is always kept (a restore records no new run), and",
    "so are the bytes pipe kept for you (an output edited by hand that a build replaced) and",
    ".pipe/kept/. Going back to a forgotten run's params, data or code runs its recipe again",
    "instead of restoring.",
  ].join("\n"),
  flags: [
    { name: "keep-runs", value: true, meta: "N", help: "forget all but the N newest recorded runs of each target (and the run whose outputs are on disk now): their records and their cached outputs (default: 32, what the journal keeps)" },
    { name: "dry-run", short: "n", help: "say what would be removed and forgotten; change nothing" },
    { name: "json", help: "print one JSON document: { dryRun, kept: { entries, bytes }, removed: { entries, bytes }, damaged, keptForUser, records, forgotten }" },
    { name: "no-wait", help: "when another pipe is building this project, exit at once with code 75 instead of waiting" },
    ...COMMON,
  ],
  run: async (ctx) => {
    const keepText = flagValue(ctx.args, "keep-runs");
    const keepRuns = keepText === undefined ? undefined : wholeNumber(keepText);
    if (keepRuns !== undefined && (!Number.isInteger(keepRuns) || keepRuns < 1)) {
      throw new UserError({ message: `--keep-runs needs a whole number of runs, at least 1; got ${JSON.stringify(keepText)}`, hint: "e.g. pipe gc --keep-runs 3 (the outputs of each target's 3 newest runs stay restorable)" });
    }
    if (ctx.args.positional.length) {
      throw new UserError({ message: `pipe gc takes no targets; got ${ctx.args.positional.map((p) => JSON.stringify(p)).join(", ")}`, hint: "gc works on the whole cache; --keep-runs N keeps the N newest runs of every target" });
    }
    const dryRun = hasFlag(ctx.args, "dry-run");
    const json = hasFlag(ctx.args, "json");
    const stateDir = join(dirname(findPipelinefile(ctx.cwd, flagValue(ctx.args, "file"))), ".pipe");
    const say = (r: object, text: string) => ctx.stdout.write(json ? `${JSON.stringify(r)}\n` : `${text}\n`);
    if (!existsSync(join(stateDir, "cache"))) {
      say({ dryRun, kept: { entries: 0, bytes: 0 }, removed: { entries: 0, bytes: 0 }, damaged: 0, keptForUser: 0, records: 0, forgotten: 0 }, "gc: the cache is empty (nothing was built here yet, or .pipe/ was removed)");
      return EXIT.ok;
    }
    assertRecordsVersion(stateDir);
    await initHasher();
    // A dry run only reads (design.md: read-only commands never write to .pipe/), so it takes no
    // lock and never waits for a build: what it says holds for the journal as it read it.
    let lock: ProjectLock | undefined;
    if (!dryRun) {
      try {
        lock = await ProjectLock.acquire(stateDir, { command: "pipe gc", noWait: hasFlag(ctx.args, "no-wait"), onWait: (h) => ctx.stderr.write(`waiting for the project lock (held by ${h})\n`) });
      } catch (e) {
        if (!(e instanceof LockBusy)) throw e;
        ctx.stderr.write(`busy: ${e.message}\nhint: run again when it is done, or leave out --no-wait to wait for it\n`);
        return EXIT.busy;
      }
    }
    try {
      // Read under the lock (a build that held it may have recorded runs meanwhile), and
      // read-only first: a journal without a valid header is set aside by a writable load.
      const checked = RecordStore.load(stateDir, { readOnly: true });
      const { records, bad } = checked.verifyAll();
      const refuse = (problem: string, hint: string): number => {
        ctx.stderr.write(`error: ${problem}: gc cannot tell which cache entries the lost records name, so it removes nothing\nhint: ${hint}\n`);
        return EXIT.failed;
      };
      // Their outputs cannot be known: removing what no readable record names could remove
      // theirs (a journal made with another machine key reads as all bad).
      if (checked.warnings.length) return refuse(checked.warnings.join("; "), "`pipe status --verify` says more; a build sets a damaged journal aside (and its targets run again), and gc works after that");
      if (bad) return refuse(`${bad} line${bad === 1 ? "" : "s"} of .pipe/records.jsonl did not verify (damaged, or not made on this machine)`, "`pipe status --verify` says more; a build drops such lines from the journal, and gc works after that");
      if (!existsSync(join(stateDir, "records.jsonl")) && records.length === 0) return refuse(".pipe/records.jsonl is missing", "without records no build can restore from the cache: if you want its space back, remove .pipe/cache yourself");
      // Bytes kept for the user: a list that exists and cannot be read stops gc, as the journal does.
      const user = keptForUser(stateDir, records);
      if (!user) return refuse(".pipe/cache/kept.list (or kept-earlier.list) cannot be read", "it names the bytes pipe kept for you (edited outputs it replaced); make it a readable file again, then run gc");
      // Each target's newest runs (the 32 the journal keeps, or --keep-runs N), and the run
      // whose outputs are on disk now (a restore records no new run: the newest may be another).
      const newest = keepRuns ?? KEEP_PER_TARGET;
      const current = runsOnDisk(dirname(stateDir), stateDir, records);
      const keep: Keep = (target, fingerprint, fromNewest) => fromNewest < newest || current.get(target)?.has(fingerprint) === true;
      const { files, trees, forgotten } = liveOutputs(records, keep);
      const live = { files, trees, user: user.all };
      if (!dryRun) {
        finishCacheGc(stateDir);
        ensureKeptList(stateDir);
        // The journal first: a record whose bytes are gone is a run pipe cannot restore (and
        // \`status --verify\` would report it); killed between the two, the next gc finishes.
        if (forgotten) {
          const store = RecordStore.load(stateDir, { readOnly: false });
          store.retain(keep);
          store.close();
        }
      }
      const r = collectGarbage(stateDir, live, { dryRun });
      const verb = dryRun ? "would remove" : "removed";
      const parts = [
        `gc: ${verb} ${plural(r.removed.entries, "cache entry", "cache entries")} (${formatBytes(r.removed.bytes)})`,
        `kept ${plural(r.kept.entries, "entry", "entries")} (${formatBytes(r.kept.bytes)}) named by ${plural(records.length - forgotten, "recorded run", "recorded runs")} (the ${newest} newest of each target, and those on disk now)${r.keptForUser ? ` and ${plural(r.keptForUser, "object", "objects")} pipe kept for you` : ""}`,
      ];
      if (forgotten) parts.push(`${plural(forgotten, "older run", "older runs")} ${dryRun ? "would be " : ""}forgotten (\`pipe history\` ${dryRun ? "would no longer list" : "no longer lists"} ${forgotten === 1 ? "it" : "them"})`);
      // Objects an earlier pipe's cache held that no record names: kept, as they may be edits.
      const fromEarlier = user.earlier.size;
      if (fromEarlier) parts.push(`${plural(fromEarlier, "object", "objects")} of them from a cache an earlier pipe made, which did not list the bytes it kept for you: no record names them, so they may hold edited outputs (.pipe/cache/kept-earlier.list; delete a line there to let gc remove one)`);
      if (r.damaged) parts.push(`${plural(r.damaged, "damaged pack entry", "damaged pack entries")} dropped (${r.damaged === 1 ? "its target runs" : "their targets run"} again when needed)`);
      say({ dryRun, kept: r.kept, removed: r.removed, damaged: r.damaged, keptForUser: r.keptForUser, records: records.length - forgotten, forgotten }, parts.join("; "));
      return EXIT.ok;
    } finally {
      await lock?.release();
    }
  },
};

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/**
 * For each target, the fingerprints of its records whose outputs on disk now are theirs (one at
 * least; a missing one does not count against it), hashed as \`pipe history\` does (the stat
 * cache vouches for unchanged files). Every such record, not the newest alone: two runs (p=1 and
 * p=2) that made the same bytes both are on disk, and keeping only the newer one made the next
 * build with p=1 run its recipe again.
 */
function runsOnDisk(root: string, stateDir: string, records: BuildRecord[]): Map<string, Set<string>> {
  const disk = diskHashes(root, stateDir);
  const out = new Map<string, Set<string>>();
  for (const r of records) {
    if (r.outputs.length === 0) continue;
    // Outputs removed since (by hand, \`pipe clean\`) do not count against it: the ones still there must be its.
    const there = r.outputs.map((o) => [disk(o.path), `${o.kind}:${o.hash}`]).filter(([h]) => h !== "");
    if (there.length === 0 || !there.every(([h, want]) => h === want)) continue;
    let set = out.get(r.target);
    if (!set) out.set(r.target, (set = new Set()));
    set.add(r.fingerprint);
  }
  return out;
}
