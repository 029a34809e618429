/** `pipe why <target>`: the value-level difference from the target's last record. Read-only. */
import type { Graph } from "../../graph/graph.ts";
import type { Prediction } from "../../plan/evaluate.ts";
import { UserError } from "../../util/errors.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { loadLastRun } from "../last-run.ts";
import { logPathFor } from "../../run/log-path.ts";
import { inspect } from "../inspect.ts";

export const command: Command = {
  name: "why",
  summary: "Explain why a target is stale or restorable: what changed since its last run, value by value. Writes nothing.",
  usage: "pipe why <target|family>... [--param name=value]",
  flags: [PARAM, PARAMS_FILE, ...COMMON],
  run: async (ctx) => {
    if (ctx.args.positional.length === 0) throw new UserError({ message: "pipe why needs a target", hint: "pipe why <target>: pipe status lists the targets; a family name explains each of its instances" });
    const { project, predictions } = await inspect(ctx, { all: false });
    // A family name (or several ids) selects several targets: explain every one, never just the first.
    const last = loadLastRun(project.stateDir);
    const blocks = project.selected.map((id) => explain(id, predictions, project.graph, project.records.latest(id), last.get(id) === "failed"));
    for (const w of project.warnings) ctx.stderr.write(`warning: ${w}\n`);
    ctx.stdout.write(blocks.join("\n\n") + "\n");
    return EXIT.ok;
  },
};

/** How many root causes `why` names before "and N more". */
const CAUSES_NAMED = 3;

/** Reasons of a target's own (not "dependency ... will rebuild"). */
function ownReasons(p: Prediction): string[] {
  return p.own ?? p.reasons;
}

/**
 * The targets upstream of `id` that are stale for reasons of their own (a changed input, param,
 * code...), found by following stale dependencies: what "dependency c998 will rebuild" comes down
 * to. Nearest first, with their distance in steps (a breadth-first walk, so each target once).
 */
export function rootCauses(id: string, predictions: Map<string, Prediction>, graph: Graph): { id: string; steps: number; reasons: string[] }[] {
  const out: { id: string; steps: number; reasons: string[] }[] = [];
  const seen = new Set([id]);
  let level = [id];
  for (let steps = 1; level.length; steps++) {
    const next: string[] = [];
    for (const at of level) {
      for (const d of graph.targets.get(at)?.deps ?? []) {
        const p = predictions.get(d);
        if (seen.has(d) || p?.state !== "stale") continue;
        seen.add(d);
        next.push(d);
        const own = ownReasons(p);
        if (own.length) out.push({ id: d, steps, reasons: own });
      }
    }
    level = next;
  }
  return out;
}

/** One target's explanation: its state, the reasons, what they come down to, and its last run. */
function explain(id: string, predictions: Map<string, Prediction>, graph: Graph, latest: { time: number; durationMs: number } | undefined, failedLast: boolean): string {
  const p = predictions.get(id)!;
  const lines: string[] = [];
  if (p.state === "up-to-date") lines.push(`${id} is up to date`);
  else {
    lines.push(`${id} is ${p.state === "stale" ? "stale" : "restorable (its recorded outputs are in the cache; nothing needs to run)"}:`);
    for (const r of p.reasons) lines.push(`  ${r}`);
    if (p.state === "stale" && p.own !== undefined) {
      const causes = rootCauses(id, predictions, graph);
      for (const c of causes.slice(0, CAUSES_NAMED)) lines.push(`  because ${c.id}: ${c.reasons.join("; ")} (${c.steps} step${c.steps === 1 ? "" : "s"} upstream)`);
      const more = causes.length - CAUSES_NAMED;
      if (more > 0) lines.push(`  and ${more} more upstream target${more === 1 ? "" : "s"} stale for reasons of ${more === 1 ? "its" : "their"} own`);
    }
  }
  // The record is of the last run that succeeded; a failure since is named, with its log.
  if (latest) lines.push(`last ${failedLast ? "successful " : ""}run: ${new Date(latest.time).toISOString()}, took ${(latest.durationMs / 1000).toFixed(2)}s`);
  else lines.push(failedLast ? "last successful run: never" : "last run: never");
  if (failedLast && p.state !== "up-to-date") lines.push(`the last build that ran it failed (log: ${logPathFor(id)})`);
  return lines.join("\n");
}
