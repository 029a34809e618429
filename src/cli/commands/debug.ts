/** `pipe debug crash-points`: the labels PIPE_TEST_CRASH_AT accepts (for crash tests). */
import { CRASH_POINTS } from "../../util/crash-point.ts";
import { UserError } from "../../util/errors.ts";
import { COMMON, EXIT, type Command } from "../main.ts";

export const command: Command = {
  name: "debug",
  summary: "Internals for tests. `pipe debug crash-points` lists the durability steps PIPE_TEST_CRASH_AT=<label>[:n] can stop at.",
  usage: "pipe debug crash-points",
  flags: COMMON,
  run: async (ctx) => {
    if (ctx.args.positional[0] !== "crash-points") throw new UserError({ message: "pipe debug: unknown subcommand", hint: "pipe debug crash-points" });
    ctx.stdout.write(CRASH_POINTS.join("\n") + "\n");
    return EXIT.ok;
  },
};
