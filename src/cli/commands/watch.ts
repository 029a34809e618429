/** `pipe watch [targets...]`: build, then keep the targets up to date as their sources change. */
import { POLL_INTERVAL_MS } from "../../watch/poll.ts";
import { spawnerWarning } from "../../run/shell.ts";
import { dirname, resolve } from "node:path";
import { initHasher } from "../../hash/xxh.ts";
import { findPipelinefile } from "../../load/load.ts";
import { UserError } from "../../util/errors.ts";
import { ChokidarWatcher } from "../../watch/chokidar-watcher.ts";
import { ContentLedger } from "../../watch/content-ledger.ts";
import { systemClock } from "../../watch/ports.ts";
import { WatchBuild } from "../../watch/watch-build.ts";
import { WatchLoop } from "../../watch/watcher.ts";
import { flagValue, hasFlag } from "../args.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { paramTextFrom } from "../param-text.ts";
import { jobsFrom, withReporter } from "../reporting.ts";
import { JOBS_FLAG, KEEP_GOING_FLAG, OUTPUT_FLAGS, wholeNumber } from "../flags.ts";
import { buildOnce } from "../session.ts";

const DEFAULT_DEBOUNCE_MS = 150;

export const command: Command = {
  name: "watch",
  summary: "Build, then rebuild as sources change, until interrupted.",
  usage: "pipe watch [targets...] [--param name=value] [-j N] [-k] [--debounce ms] [--poll] [--json]",
  details: [
    "Builds the targets (default: the default export, or every target without one), then watches their sources: input",
    "files, the folders of glob inputs (a new matching file counts), directory inputs, the Pipelinefile",
    "and the local modules it imports. Once changes have been quiet for --debounce ms (and no changed file",
    "is still growing), it runs one build; as in `pipe build`, only what is stale runs.",
    "",
    "- A change during a build queues exactly one more build.",
    "- pipe's own writes (outputs, .pipe/) and saves that change no bytes never start a build.",
    "- A target that failed is retried only once one of its sources, or the Pipelinefile, changes.",
    "  Until then each run's summary counts it as still failed, and the run is not ok.",
    "- If the Pipelinefile stops loading, the error is shown and watching goes on. A mistake in the",
    "  request itself (an unknown target or param) ends watch with exit code 2, as in `pipe build`.",
    "- If the system runs out of inotify watches, pipe says so and polls instead (--poll forces it).",
    "",
    "--json prints the same events as NDJSON, plus `watch-change` (what changed) and `watch-idle`",
    "(waiting for changes) after each build.",
    "",
    "Stop it with Ctrl-C (or SIGTERM, SIGHUP): a running build is interrupted as in `pipe build`, and pipe",
    "exits with code 130. A second Ctrl-C kills running recipes at once. A closed stdout (`pipe watch | head`,",
    "or a parent that died) stops it the same way, at its next write.",
  ].join("\n"),
  flags: [
    PARAM,
    PARAMS_FILE,
    JOBS_FLAG,
    KEEP_GOING_FLAG,
    { name: "debounce", value: true, meta: "ms", help: `quiet period after the last change before a build starts; a file being written must pause this long to count as complete (default ${DEFAULT_DEBOUNCE_MS})` },
    { name: "poll", help: `look at every watched file every ${POLL_INTERVAL_MS} ms instead of using inotify (network filesystems, some containers)` },
    ...OUTPUT_FLAGS,
    ...COMMON,
  ],
  run: async (ctx) => {
    const jobs = jobsFrom(ctx);
    const debounceText = flagValue(ctx.args, "debounce");
    const debounceMs = debounceText === undefined ? DEFAULT_DEBOUNCE_MS : wholeNumber(debounceText);
    if (!Number.isInteger(debounceMs) || debounceMs < 0) throw new UserError({ message: `--debounce needs a whole number of milliseconds, got ${JSON.stringify(debounceText)}`, hint: "e.g. --debounce 300" });
    const file = flagValue(ctx.args, "file");
    const pipelinefile = findPipelinefile(ctx.cwd, file);
    const root = dirname(pipelinefile);
    // Read again for each build (a params file edited while watching counts, and reloads).
    paramTextFrom(ctx.args, ctx.cwd);
    const paramsFile = flagValue(ctx.args, "params");

    let loop: WatchLoop | undefined;
    return withReporter(ctx, jobs, { onAbort: () => void loop?.stop(), endOnBrokenStdout: true }, async (emit, signal) => {
      await initHasher();
      const spawner = spawnerWarning(ctx.env);
      if (spawner) emit({ type: "warning", message: spawner });
      const driver = new WatchBuild({
        root,
        pipelinefile,
        requested: ctx.args.positional,
        ledger: new ContentLedger(),
        emit,
        config: paramsFile === undefined ? [] : [resolve(ctx.cwd, paramsFile)],
        build: (requested, { notRetried, fresh, emit: noted }) =>
          buildOnce({
            cwd: ctx.cwd,
            file,
            paramText: paramTextFrom(ctx.args, ctx.cwd),
            trace: true,
            freshLoad: fresh,
            requested,
            jobs,
            keepGoing: hasFlag(ctx.args, "keep-going"),
            dryRun: false,
            env: ctx.env,
            emit: noted,
            signal,
            command: `pipe ${process.argv.slice(2).join(" ")}`,
            notRetried,
          }),
      });
      loop = new WatchLoop({
        clock: systemClock,
        createWatcher: (listener, filter) => new ChokidarWatcher(listener, filter, { root, polling: hasFlag(ctx.args, "poll") }),
        content: driver,
        runBuild: async (changed) => {
          const outcome = await driver.runBuild(changed);
          // A mistake in the request (an unknown target): exit 2 as `pipe build` does.
          if (driver.requestError) void loop?.stop();
          return outcome;
        },
        catchUp: (roots) => driver.catchUp(roots),
        emit,
        debounceMs,
      });
      if (signal.aborted) return EXIT.interrupted;
      loop.start();
      await loop.done;
      // The loop only ends on a signal, on a mistake in the request, or when its first build
      // crashed (reported as an error).
      if (signal.aborted) return EXIT.interrupted;
      if (driver.requestError) throw driver.requestError;
      return EXIT.failed;
    });
  },
};
