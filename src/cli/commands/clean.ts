/**
 * `pipe clean [targets]`: removes declared outputs. Their bytes stay in the cache: the ones pipe
 * made are there already, and bytes it never made (an output edited by hand, a file added to a
 * directory output) are kept first (see keepEdited), as a build does before it replaces an output.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { closure } from "../../graph/graph.ts";
import { keepEdited } from "../../run/publish.ts";
import { flagValue } from "../args.ts";
import { COMMON, EXIT, type Command } from "../main.ts";
import { PARAM, PARAMS_FILE } from "../flags.ts";
import { paramTextFrom } from "../param-text.ts";
import { openProjectLocked, publishContextOf } from "../project.ts";
import { removeProblem, removeTree } from "../../util/remove-tree.ts";

export const command: Command = {
  name: "clean",
  summary: "Remove the outputs of targets (all targets when none are named). The cache is kept, so a later build restores them without running anything.",
  usage: "pipe clean [targets...] [-p name=value]",
  // Params choose some outputs' paths (a family instance picked by a param): clean those of the
  // values given, as build would make them.
  flags: [{ name: "deps", help: "also clean the named targets' dependencies" }, PARAM, PARAMS_FILE, ...COMMON],
  run: async (ctx) => {
    const { project, lock } = await openProjectLocked({ cwd: ctx.cwd, file: flagValue(ctx.args, "file"), paramText: paramTextFrom(ctx.args, ctx.cwd), requested: ctx.args.positional, readOnly: false, env: ctx.env }, { command: "pipe clean", onWait: (h) => ctx.stderr.write(`waiting for the project lock (held by ${h})\n`) });
    try {
      const ids = ctx.args.positional.length === 0 ? project.graph.order : ctx.args.flags.has("deps") ? closure(project.graph, project.selected) : project.selected;
      let removed = 0;
      let edited = 0;
      let uncached = 0;
      let failed = 0;
      const pub = publishContextOf(
        project,
        (message) => ctx.stdout.write(`warning: ${message}\n`),
        () => join(".pipe", "staging", "clean"),
      );
      for (const id of ids) {
        const t = project.graph.targets.get(id)!;
        for (const o of t.outputs) {
          const abs = join(project.root, o.path);
          try {
            lstatSync(abs);
          } catch {
            continue;
          }
          // Bytes pipe never made are kept first ("" matches no hash: keep whatever is not in the cache).
          const kept = keepEdited(pub, t, o, "", "removing");
          if (kept === "edited") edited++;
          else if (kept === "uncached") uncached++;
          // rmSync removes a symlink itself, never what it points to.
          try {
            removeTree(abs);
          } catch (e) {
            // Its folder is read-only, or something in it belongs to another user: named, and
            // the rest is cleaned (it was an internal error, found by a review).
            ctx.stderr.write(`error: ${removeProblem(o.path, e)}\n`);
            failed++;
            continue;
          }
          project.hasher.forget(o.path, o.dir);
          ctx.stdout.write(`removed ${o.path}${o.dir ? "/" : ""}\n`);
          removed++;
        }
      }
      const keptWhat = [edited > 0 ? `${edited} changed outside pipe` : "", uncached > 0 ? `${uncached} missing from the cache` : ""].filter(Boolean);
      const kept = keptWhat.length ? `, except ${keptWhat.join(" and ")}, which ${edited + uncached === 1 ? "was" : "were"} kept first: see above` : "";
      ctx.stdout.write(`${removed} output${removed === 1 ? "" : "s"} removed (their bytes stay in the cache${kept}; \`pipe build\` restores what it built)\n`);
      project.saveState();
      return failed > 0 ? EXIT.failed : EXIT.ok;
    } finally {
      await lock.release();
    }
  },
};
