/** `pipe hooks install | uninstall | run <hook>`: git hooks (see src/githooks). */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import { closure, downstream, sourceFiles } from "../../graph/graph.ts";
import { predict } from "../../plan/evaluate.ts";
import { restoreTarget } from "../../run/publish.ts";
import { UserError } from "../../util/errors.ts";
import { flagValue } from "../args.ts";
import { COMMON, EXIT, type Command } from "../main.ts";
import { findPipelinefile } from "../../load/load.ts";
import { openProject, openProjectLocked, publishContextOf, type Project } from "../project.ts";
import { existsSync, mkdirSync, realpathSync } from "node:fs";
import { removeTree } from "../../util/remove-tree.ts";

export const command: Command = {
  name: "hooks",
  summary: "Install or uninstall git hooks: pre-commit blocks a commit whose staged files leave targets stale; post-checkout and post-merge restore the recorded outputs of the checked-out state from the cache (never running a recipe).",
  usage: "pipe hooks install | uninstall | run <hook> [args...]",
  details: [
    "Existing hooks (hand-written, husky, lefthook, pre-commit) are kept and run first; uninstall puts them back byte for byte.",
    "The hooks do nothing while a rebase, merge or cherry-pick is in progress, and never touch the git index or refs.",
  ].join("\n"),
  flags: COMMON,
  run: async (ctx) => {
    const [sub, ...rest] = ctx.args.positional;
    const gh = await import("../../githooks/index.ts");
    const fileFlag = flagValue(ctx.args, "file");
    let pipelinefile: string;
    try {
      pipelinefile = findPipelinefile(ctx.cwd, fileFlag);
    } catch (e) {
      // A hook in a repository whose Pipelinefile was renamed or removed since install: nothing
      // can be stale, so no commit is blocked and no checkout is touched; say why once.
      if (sub !== "run" || !(e instanceof UserError)) throw e;
      ctx.stderr.write(`pipe: skipping the ${rest[0] ?? ""} hook: ${e.diagnostics[0]?.message ?? e.message} (pipe hooks uninstall removes the hooks)\n`);
      return EXIT.ok;
    }
    const projectDir = dirname(pipelinefile);
    if (sub === "install" || sub === "uninstall") {
      let report;
      try {
        report =
          sub === "install"
            ? gh.installHooks({ projectDir, nodePath: process.execPath, pipeBin: fileURLToPath(new URL("../../../../bin/pipe.js", import.meta.url)), pipelinefile: fileFlag === undefined ? undefined : relative(projectDir, pipelinefile) })
            : gh.uninstallHooks({ projectDir });
      } catch (e) {
        throw asUserError(e, gh.GitHooksError);
      }
      for (const c of report.changes) ctx.stdout.write(`${c.message}\n`);
      for (const w of report.warnings) ctx.stderr.write(`warning: ${w}\n`);
      return report.changes.some((c) => c.action === "conflict") ? EXIT.usage : EXIT.ok;
    }
    if (sub !== "run" || !rest[0]) throw new UserError({ message: "pipe hooks needs install, uninstall or run <hook>", hint: "pipe hooks install" });
    const hook = rest[0];
    if (!(gh.HOOK_NAMES as readonly string[]).includes(hook)) {
      throw new UserError({ message: `unknown hook ${JSON.stringify(hook)}; pipe runs pre-commit, post-checkout and post-merge` });
    }
    // git runs hooks only in a work tree. Run by hand anywhere else, every hook is refused as
    // install is (pre-commit's `git diff --cached` would fail with git's whole usage text).
    let topLevel: string;
    try {
      topLevel = gh.locateGit(projectDir, `pipe hooks run ${hook}`).topLevel;
    } catch (e) {
      throw asUserError(e, gh.GitHooksError);
    }
    // The fix is typed where git was run, at the work tree's top: a project in a subfolder needs a cd.
    const subdir = relative(realpathSync(topLevel), realpathSync(projectDir));
    const fileText = flagValue(ctx.args, "file");
    // `npx pipe` where npm installed pipe's binary (here or in a folder above); else this pipe
    // itself: in a checkout that links pipe, `npx pipe` would fetch npm's unrelated "pipe".
    // Looked up only when a fix is printed: a hook that finds nothing stale walks no folders.
    const npx = () => (binaryAbove(projectDir) ? "npx pipe" : `node ${gh.shellWord(fileURLToPath(new URL("../../../../bin/pipe.js", import.meta.url)))}`);
    const fixCommand = (command: string) => `${subdir ? `cd ${gh.shellWord(subdir)} && ` : ""}${command.replace(/^npx pipe\b/, npx)}${fileText === undefined ? "" : ` --file ${gh.shellWord(relative(projectDir, pipelinefile))}`}`;
    const mutating = hook === "post-checkout" || hook === "post-merge";
    // Fast exits before loading anything (git hooks must return quickly when there is nothing to do).
    const staged = hook === "pre-commit" ? stagedFiles(projectDir) : undefined;
    if (staged && staged.length === 0) return EXIT.ok;
    if (hook === "post-checkout" && rest[3] !== "1") return EXIT.ok;
    const options = { cwd: projectDir, file: flagValue(ctx.args, "file"), paramText: new Map<string, string>(), requested: [], readOnly: !mutating, env: ctx.env };
    const { project, lock } = mutating ? await openProjectLocked(options, { command: `pipe hooks run ${hook}` }) : { project: await openProject(options), lock: undefined };
    try {
      const code = gh.runHook(hook, rest.slice(1), {
        stagedFiles: () => staged ?? stagedFiles(project.root),
        targetsReading: (files) => targetsReading(project, files),
        staleTargets: (ids) => {
          const pred = predict(project.evaluator, closure(project.graph, ids));
          return ids.filter((id) => pred.get(id)!.state !== "up-to-date").map((id) => ({ id, reason: pred.get(id)!.reasons.join("; ") }));
        },
        restoreAll: () => restoreAll(project, (line) => ctx.stderr.write(line + "\n")),
        emit: (line) => ctx.stderr.write(line + "\n"),
        fixCommand,
        defaultBuildIncludes: (ids) => {
          const built = new Set(closure(project.graph, project.selected));
          return ids.every((id) => built.has(id));
        },
      });
      if (mutating) {
        project.records.close();
        project.saveState();
      }
      return code;
    } finally {
      await lock?.release();
    }
  },
};

/** A GitHooksError (no git, not a work tree) as the user error it is: exit 2, no stack. */
function asUserError(e: unknown, GitHooksError: new (...args: never[]) => Error): unknown {
  if (!(e instanceof GitHooksError)) return e;
  return new UserError({ message: e.message.replace(/^error: /, ""), hint: (e as { hint?: string }).hint });
}

/** Staged paths relative to the project root (only those inside it). Reads git; writes nothing. */
function stagedFiles(root: string): string[] {
  // --no-renames: a file renamed is its old path removed and its new one added (both matter).
  const out = execFileSync("git", ["diff", "--cached", "--name-only", "--no-renames", "-z", "--relative"], { cwd: root, encoding: "utf8" });
  return out.split("\0").filter(Boolean);
}

/** Targets that read any of `files` (directly, through a glob or a directory), and their dependents. */
function targetsReading(project: Project, files: string[]): string[] {
  const set = new Set(files);
  const code = new Set(Object.keys(project.spec.compiled.modules).map((m) => relative(project.root, m)));
  if (files.some((f) => code.has(f))) return project.graph.order; // the Pipelinefile or a recipe module
  // A staged removal (or a rename away) is no longer among what a glob matches: the targets
  // whose last run read that path are the ones it changes.
  const removed = files.filter((f) => !existsSync(join(project.root, f)));
  const direct: string[] = [];
  for (const t of project.graph.targets.values()) {
    const src = sourceFiles(t);
    if (src.some((s) => set.has(s) || (s.endsWith("/") && files.some((f) => f.startsWith(s))))) direct.push(t.id);
    else if (removed.length && project.records.latest(t.id)?.parts.inputs.some(([p]) => removed.includes(p))) direct.push(t.id);
  }
  const all = downstream(project.graph, direct);
  return project.graph.order.filter((id) => all.has(id));
}

/** Restores every restorable target from the cache; runs nothing. */
function restoreAll(project: Project, emit: (line: string) => void): { restored: string[]; stillStale: { id: string; reason: string }[] } {
  const pred = predict(project.evaluator, project.graph.order);
  const runDir = join(".pipe", "staging", `hook-${process.pid}`);
  let n = 0;
  // Warnings say where bytes changed outside pipe were kept before a restore replaced them:
  // shown, never dropped.
  const ctx = publishContextOf(project, (message) => emit(`pipe: warning: ${message}`), () => join(runDir, `s${n++}`));
  mkdirSync(join(project.root, runDir), { recursive: true });
  const restored: string[] = [];
  const stillStale: { id: string; reason: string }[] = [];
  try {
    for (const id of project.graph.order) {
      const p = pred.get(id)!;
      if (p.state === "restorable" && p.record) {
        const t = project.graph.targets.get(id)!;
        const r = restoreTarget(ctx, t, p.record.outputs, project.evaluator.outputState(t));
        // One output that cannot be written leaves that target stale, not the others unrestored.
        if ("problem" in r) stillStale.push({ id, reason: `cannot restore it: ${r.problem}` });
        else if (r.failed.length) stillStale.push({ id, reason: `cached bytes of ${r.failed.join(", ")} are missing` });
        else restored.push(id);
      } else if (p.state === "stale") stillStale.push({ id, reason: p.reasons.join("; ") });
    }
  } finally {
    try {
      removeTree(join(project.root, runDir));
    } catch {
      // something another user owns: the next build's sweep names it
    }
  }
  return { restored, stillStale };
}

/** Whether `node_modules/.bin/pipe` is in `dir` or a folder above it (where `npx pipe` finds it). */
function binaryAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "node_modules", ".bin", "pipe"))) return true;
    if (dirname(d) === d) return false;
  }
}
