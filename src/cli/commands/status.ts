/** `pipe status [targets]`: every target, up to date / restorable / stale, and why. Read-only. */
import { dirname, join } from "node:path";
import { flagValue, hasFlag } from "../args.ts";
import { findPipelinefile } from "../../load/find.ts";
import { initHasher } from "../../hash/xxh.ts";
import { OutputCache } from "../../state/cache.ts";
import { assertRecordsVersion, RecordStore } from "../../state/records.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command, type CommandContext } from "../main.ts";
import { inspect } from "../inspect.ts";
import { loadLastRun } from "../last-run.ts";

export const command: Command = {
  name: "status",
  summary: "Show every target as up to date, restorable (the cache has its outputs) or stale, with the reason. Writes nothing.",
  usage: "pipe status [targets...] [--param name=value] [--exit-code] [--verify] [--json]",
  flags: [
    PARAM,
    PARAMS_FILE,
    { name: "exit-code", help: "exit 1 when any target is not up to date (for scripts and git hooks)" },
    { name: "verify", help: "check pipe's state instead: every record verifies and every cache entry they name has the bytes its hash says (exit 1 on a problem)" },
    { name: "json", help: "print one JSON document: { targets: [{ id, state, reasons, lastRun }] }" },
    ...COMMON,
  ],
  run: async (ctx) => {
    if (hasFlag(ctx.args, "verify")) return verifyState(ctx);
    const { project, ids, predictions } = await inspect(ctx, { all: true });
    const last = loadLastRun(project.stateDir);
    const rows = ids.map((id) => ({ id, state: predictions.get(id)!.state, reasons: predictions.get(id)!.reasons, lastRun: last.get(id) }));
    // Warnings go to stderr also with --json (a damaged journal was said nowhere then).
    for (const w of project.warnings) ctx.stderr.write(`warning: ${w}\n`);
    if (hasFlag(ctx.args, "json")) ctx.stdout.write(JSON.stringify({ targets: rows }) + "\n");
    else {
      const label = { "up-to-date": "up to date", restorable: "restorable", stale: "stale" } as const;
      // One write: a stream write per line was 30 ms of a 10,000-target status.
      let text = "";
      // Reasons start in one column (ids up to 40 characters wide are padded to it).
      const head = (r: (typeof rows)[number]) => `${r.id}${r.lastRun === "failed" && r.state !== "up-to-date" ? " (failed last time)" : ""}`;
      let width = 0;
      for (const r of rows) if (r.reasons.length) width = Math.max(width, Math.min(40, head(r).length));
      for (const r of rows) {
        const why = r.reasons.length ? `${head(r).padEnd(width)}  ${r.reasons.join("; ")}` : head(r);
        text += `${label[r.state].padEnd(11)} ${why}\n`;
      }
      const n = (s: string) => rows.filter((r) => r.state === s).length;
      ctx.stdout.write(`${text}${rows.length} target${rows.length === 1 ? "" : "s"}: ${n("up-to-date")} up to date, ${n("restorable")} restorable, ${n("stale")} stale\n`);
    }
    const clean = rows.every((r) => r.state === "up-to-date");
    return hasFlag(ctx.args, "exit-code") && !clean ? EXIT.failed : EXIT.ok;
  },
};

/**
 * `--verify`: loads every record (each line's HMAC checked) and re-hashes every cache entry a
 * record names (reliability.md O-STATE). Reads only, and only the state: the Pipelinefile is
 * not loaded, so the state can be checked even when it does not load (after a crash, say).
 */
async function verifyState(ctx: CommandContext): Promise<number> {
  const stateDir = join(dirname(findPipelinefile(ctx.cwd, flagValue(ctx.args, "file"))), ".pipe");
  assertRecordsVersion(stateDir);
  await initHasher();
  const store = RecordStore.load(stateDir, { readOnly: true });
  const cache = new OutputCache(stateDir);
  const { records, bad } = store.verifyAll();
  const problems: string[] = [];
  if (bad) problems.push(`${bad} line${bad === 1 ? "" : "s"} of .pipe/records.jsonl did not verify (damaged, or not made on this machine)`);
  const checked = new Map<string, string | undefined>();
  // Each bad entry once, with the outputs that name it: several runs of a target record the
  // same bytes (a param switched back and forth), and each was a problem line of its own.
  const named = new Map<string, Set<string>>();
  for (const r of records) {
    for (const o of r.outputs) {
      const k = `${o.kind}:${o.hash}`;
      if (!checked.has(k)) checked.set(k, cache.verify(o.hash, o.kind));
      const problem = checked.get(k);
      if (problem) named.set(problem, (named.get(problem) ?? new Set()).add(`output ${o.path} of ${JSON.stringify(r.target)}`));
    }
  }
  for (const [problem, outputs] of named) problems.push(`${problem} (${[...outputs].join(", ")})`);
  const hints: string[] = [];
  if (named.size) {
    const targets = [...new Set([...named.values()].flatMap((s) => [...s].map((o) => o.slice(o.lastIndexOf(" of ") + 4))))];
    hints.push(`build ${targets.join(", ")} with the params of the runs that recorded these outputs (\`pipe history <target>\` lists them): a build that needs a missing or damaged entry runs the recipe instead of restoring, and the bytes it makes replace the entry`);
  }
  if (bad) hints.push("pipe ignores lines that do not verify (their runs count as never made: those targets run again when asked for), and a build that comes across one drops it from the journal");
  if (hasFlag(ctx.args, "json")) ctx.stdout.write(JSON.stringify({ records: records.length, cacheEntries: checked.size, problems, ...(hints.length ? { hints } : {}) }) + "\n");
  else {
    for (const p of problems) ctx.stdout.write(`problem: ${p}\n`);
    const counted = `${records.length} record${records.length === 1 ? "" : "s"} and ${checked.size} cache entr${checked.size === 1 ? "y" : "ies"}`;
    ctx.stdout.write(problems.length ? `verify: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${counted}\n` : `verify: ${counted}, no problems\n`);
    for (const h of hints) ctx.stdout.write(`hint: ${h}\n`);
  }
  cache.close();
  return problems.length ? EXIT.failed : EXIT.ok;
}
