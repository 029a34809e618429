/** `pipe clean [targets]`: removes declared outputs (the cache keeps their bytes). */
import { lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closure } from "../../graph/graph.ts";
import { ProjectLock } from "../../state/lock.ts";
import { flagValue } from "../args.ts";
import { COMMON, EXIT, type Command } from "../main.ts";
import { openProject } from "../project.ts";

export const command: Command = {
  name: "clean",
  summary: "Remove the outputs of targets (all targets when none are named). The cache is kept, so a later build restores them without running anything.",
  usage: "pipe clean [targets...]",
  flags: [{ name: "deps", help: "also clean the named targets' dependencies" }, ...COMMON],
  run: async (ctx) => {
    const project = await openProject({ cwd: ctx.cwd, file: flagValue(ctx.args, "file"), paramText: new Map(), requested: ctx.args.positional, readOnly: false, env: ctx.env });
    const lock = await ProjectLock.acquire(project.stateDir, { command: "pipe clean", onWait: (h) => ctx.stderr.write(`waiting for the project lock (held by ${h})\n`) });
    try {
      const ids = ctx.args.positional.length === 0 ? project.graph.order : ctx.args.flags.has("deps") ? closure(project.graph, project.selected) : project.selected;
      let removed = 0;
      for (const id of ids) {
        for (const o of project.graph.targets.get(id)!.outputs) {
          const abs = join(project.root, o.path);
          try {
            lstatSync(abs);
          } catch {
            continue;
          }
          // rmSync removes a symlink itself, never what it points to.
          rmSync(abs, { recursive: true, force: true });
          project.hasher.forget(o.path, o.dir);
          ctx.stdout.write(`removed ${o.path}${o.dir ? "/" : ""}\n`);
          removed++;
        }
      }
      ctx.stdout.write(`${removed} output${removed === 1 ? "" : "s"} removed (their bytes stay in the cache: \`pipe build\` restores them)\n`);
      project.saveState();
      return EXIT.ok;
    } finally {
      await lock.release();
    }
  },
};
