/** `pipe status [targets]`: every target, up to date / restorable / stale, and why. Read-only. */
import { hasFlag } from "../args.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { inspect } from "../inspect.ts";
import { loadLastRun } from "../last-run.ts";

export const command: Command = {
  name: "status",
  summary: "Show every target as up to date, restorable (the cache has its outputs) or stale, with the reason. Writes nothing.",
  usage: "pipe status [targets...] [--param name=value] [--exit-code] [--json]",
  flags: [
    PARAM,
    { name: "exit-code", help: "exit 1 when any target is not up to date (for scripts and git hooks)" },
    { name: "json", help: "print one JSON document: { targets: [{ id, state, reasons, lastRun }] }" },
    ...COMMON,
  ],
  run: async (ctx) => {
    const { project, ids, predictions } = await inspect(ctx, { all: true });
    const last = loadLastRun(project.stateDir);
    const rows = ids.map((id) => ({ id, state: predictions.get(id)!.state, reasons: predictions.get(id)!.reasons, lastRun: last.get(id) }));
    if (hasFlag(ctx.args, "json")) ctx.stdout.write(JSON.stringify({ targets: rows }) + "\n");
    else {
      for (const w of project.warnings) ctx.stderr.write(`warning: ${w}\n`);
      const label = { "up-to-date": "up to date", restorable: "restorable", stale: "stale" } as const;
      for (const r of rows) {
        const failed = r.lastRun === "failed" && r.state !== "up-to-date" ? " (failed last time)" : "";
        const why = r.reasons.length ? `  ${r.reasons.join("; ")}` : "";
        ctx.stdout.write(`${label[r.state].padEnd(11)} ${r.id}${failed}${why}\n`);
      }
      const n = (s: string) => rows.filter((r) => r.state === s).length;
      ctx.stdout.write(`${rows.length} target${rows.length === 1 ? "" : "s"}: ${n("up-to-date")} up to date, ${n("restorable")} restorable, ${n("stale")} stale\n`);
    }
    const clean = rows.every((r) => r.state === "up-to-date");
    return hasFlag(ctx.args, "exit-code") && !clean ? EXIT.failed : EXIT.ok;
  },
};
