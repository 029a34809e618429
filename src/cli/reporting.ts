/** Picks and opens the reporter from argv/env (the CLI's job, not the UI's). */
import type { Reporter } from "../events.ts";
import { hasFlag } from "./args.ts";
import type { Flag } from "./args.ts";
import type { CommandContext } from "./main.ts";

export const OUTPUT_FLAGS: Flag[] = [
  { name: "json", help: "print NDJSON events on stdout (one per line) instead of the live view" },
  { name: "quiet", short: "q", help: "print only failures and the summary" },
  { name: "verbose", short: "v", help: "print recipe output live, each line prefixed with its target" },
  { name: "no-color", help: "no colours (also: NO_COLOR=1)" },
];

export function colorWanted(ctx: CommandContext): boolean {
  if (hasFlag(ctx.args, "no-color") || (ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== "")) return false;
  const force = ctx.env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  return ctx.stdout.isTTY === true;
}

export async function openReporter(ctx: CommandContext, jobs: number, onInterrupt: () => void): Promise<Reporter> {
  const ui = await import("../ui/index.ts");
  const mode = ui.pickMode({ isTTY: ctx.stdout.isTTY, env: ctx.env, json: hasFlag(ctx.args, "json") });
  return ui.createReporter({
    mode,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    color: colorWanted(ctx),
    quiet: hasFlag(ctx.args, "quiet"),
    verbose: hasFlag(ctx.args, "verbose"),
    columns: ctx.stdout.columns,
    jobs,
    onInterrupt,
  });
}
