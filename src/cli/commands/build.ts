/** `pipe build [targets...]`: bring targets up to date. */
import { flagValue, hasFlag } from "../args.ts";
import { EXIT, type Command } from "../main.ts";
import { BUILD_FLAGS } from "../flags.ts";
import { paramTextFrom } from "../param-text.ts";
import { buildOnce } from "../session.ts";
import { prewarmHelper, spawnerWarning } from "../../run/shell.ts";
import { LockBusy, LockWaitAborted } from "../../state/lock.ts";
import { parseSize } from "../../util/size.ts";
import { UserError } from "../../util/errors.ts";
import { jobsFrom, withReporter } from "../reporting.ts";

export const command: Command = {
  name: "build",
  summary: "Bring targets up to date: restore what the cache holds, run what is stale, in parallel.",
  usage: "pipe build [targets...] [--param name=value] [-j N] [-k] [--dry-run] [--json]",
  details: [
    "Targets are ids as `pipe status` shows them: `report`, `trend[attribute=recovered]`; a family",
    "name alone means every instance the Pipelinefile uses. Without targets, builds the default export.",
  ].join("\n"),
  flags: BUILD_FLAGS,
  run: async (ctx) => {
    const jobs = jobsFrom(ctx);
    const dryRun = hasFlag(ctx.args, "dry-run");
    const memText = flagValue(ctx.args, "mem");
    const memBudget = memText === undefined ? undefined : parseSize(memText);
    if (memText !== undefined && (memBudget === undefined || memBudget <= 0)) throw new UserError({ message: `--mem needs a size such as 8G or 512M, got ${JSON.stringify(memText)}` });
    if (!dryRun) prewarmHelper();
    return withReporter(ctx, jobs, { onAbort: () => undefined }, async (emit, signal) => {
      const spawner = spawnerWarning(ctx.env);
      if (spawner) emit({ type: "warning", message: spawner });
      let session;
      try {
        session = await buildOnce({
          cwd: ctx.cwd,
          file: flagValue(ctx.args, "file"),
          paramText: paramTextFrom(ctx.args, ctx.cwd),
          requested: ctx.args.positional,
          jobs,
          keepGoing: hasFlag(ctx.args, "keep-going"),
          keepEdited: hasFlag(ctx.args, "keep-edited"),
          memBudget,
          noopHint: ctx.noopHint,
          dryRun,
          shuffle: hasFlag(ctx.args, "shuffle"),
          env: ctx.env,
          emit,
          signal,
          command: `pipe ${process.argv.slice(2).join(" ")}`,
          snapshot: !dryRun,
          noWait: hasFlag(ctx.args, "no-wait"),
        });
      } catch (e) {
        if (e instanceof LockWaitAborted) return EXIT.interrupted;
        if (!(e instanceof LockBusy)) throw e;
        const text = `busy: ${e.message}\nhint: run again when it is done, or leave out --no-wait to wait for it`;
        ctx.stderr.write(text + "\n");
        // A program reading --json learns why nothing else came, as for exit-2 errors (main.ts).
        if (hasFlag(ctx.args, "json")) emit({ type: "error", message: text });
        return EXIT.busy;
      }
      const { result } = session;
      if (!result) return EXIT.interrupted;
      return result.interrupted ? EXIT.interrupted : result.ok ? EXIT.ok : EXIT.failed;
    });
  },
};
