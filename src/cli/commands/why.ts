/** `pipe why <target>`: the value-level difference from the target's last record. Read-only. */
import { UserError } from "../../util/errors.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { inspect } from "../inspect.ts";

export const command: Command = {
  name: "why",
  summary: "Explain why a target is stale or restorable: what changed since its last run, value by value. Writes nothing.",
  usage: "pipe why <target> [--param name=value]",
  flags: [PARAM, PARAMS_FILE, ...COMMON],
  run: async (ctx) => {
    if (ctx.args.positional.length !== 1) throw new UserError({ message: "pipe why needs exactly one target", hint: "e.g. pipe why report" });
    const { project, predictions } = await inspect(ctx, { all: false });
    const id = project.selected[0];
    const p = predictions.get(id)!;
    const latest = project.records.latest(id);
    const lines: string[] = [];
    if (p.state === "up-to-date") lines.push(`${id} is up to date`);
    else {
      lines.push(`${id} is ${p.state === "stale" ? "stale" : "restorable (its recorded outputs are in the cache; nothing needs to run)"}:`);
      for (const r of p.reasons) lines.push(`  ${r}`);
    }
    if (latest) lines.push(`last run: ${new Date(latest.time).toISOString()}, took ${(latest.durationMs / 1000).toFixed(2)}s`);
    else lines.push("last run: never");
    ctx.stdout.write(lines.join("\n") + "\n");
    return EXIT.ok;
  },
};
