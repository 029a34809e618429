/** `pipe why <target>`: the value-level difference from the target's last record. Read-only. */
import { UserError } from "../../util/errors.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { inspect } from "../inspect.ts";

export const command: Command = {
  name: "why",
  summary: "Explain why a target is stale or restorable: what changed since its last run, value by value. Writes nothing.",
  usage: "pipe why <target|family>... [--param name=value]",
  flags: [PARAM, PARAMS_FILE, ...COMMON],
  run: async (ctx) => {
    if (ctx.args.positional.length === 0) throw new UserError({ message: "pipe why needs a target", hint: "e.g. pipe why report (a family name explains each of its instances)" });
    const { project, predictions } = await inspect(ctx, { all: false });
    // A family name (or several ids) selects several targets: explain every one, never just the first.
    const blocks = project.selected.map((id) => explain(id, predictions.get(id)!, project.records.latest(id)));
    ctx.stdout.write(blocks.join("\n\n") + "\n");
    return EXIT.ok;
  },
};

type Prediction = { state: string; reasons: string[] };

/** One target's explanation: its state, the reasons, and its last run. */
function explain(id: string, p: Prediction, latest: { time: number; durationMs: number } | undefined): string {
  const lines: string[] = [];
  if (p.state === "up-to-date") lines.push(`${id} is up to date`);
  else {
    lines.push(`${id} is ${p.state === "stale" ? "stale" : "restorable (its recorded outputs are in the cache; nothing needs to run)"}:`);
    for (const r of p.reasons) lines.push(`  ${r}`);
  }
  if (latest) lines.push(`last run: ${new Date(latest.time).toISOString()}, took ${(latest.durationMs / 1000).toFixed(2)}s`);
  else lines.push("last run: never");
  return lines.join("\n");
}
