/** Whether to colour output: --no-color and NO_COLOR win, then FORCE_COLOR, then "is it a terminal". */
import { hasFlag, type Parsed } from "./args.ts";

export function colorWanted(ctx: { args: Parsed; env: NodeJS.ProcessEnv; stdout: { isTTY?: boolean } }): boolean {
  if (hasFlag(ctx.args, "no-color") || (ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== "")) return false;
  const force = ctx.env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  return ctx.stdout.isTTY === true;
}
