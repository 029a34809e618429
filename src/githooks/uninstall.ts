/**
 * `pipe hooks uninstall`: removes pipe's hooks and renames every hook pipe chained back into
 * place, so the hooks directory is as it was before `pipe hooks install` (same bytes, same
 * modes). Files that are not pipe's are never deleted.
 */
import { renameSync, rmSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { CHAINED_SUFFIX, HOOK_NAMES, hookProject } from "./hook-script.ts";
import type { HookName } from "./hook-script.ts";
import { locateGit } from "./git-paths.ts";
import { displayPath, inspectHookFile } from "./install.ts";
import type { HookChange, HooksReport } from "./install.ts";

/** What `pipe hooks uninstall` needs. */
export interface UninstallOptions {
  /** A directory inside the repository (the project directory). */
  projectDir: string;
  /** Which hooks to remove; all of HOOK_NAMES when absent. */
  hooks?: readonly HookName[];
}

function uninstallOne(hook: HookName, hooksDir: string, base: string, projectSubdir: string): HookChange {
  const path = join(hooksDir, hook);
  const chained = path + CHAINED_SUFFIX;
  const shown = JSON.stringify(displayPath(path, base));
  const current = inspectHookFile(path);
  if (current.kind === "pipe" && hookProject(current.text) !== projectSubdir) {
    const theirs = hookProject(current.text);
    return { hook, path, action: "left-alone", message: `${shown} is pipe's hook for the project in ${theirs === "" ? "the repository's top folder" : JSON.stringify(theirs)}, not this one; left it alone (uninstall it from there)` };
  }
  const hasChained = inspectHookFile(chained).kind !== "missing";
  if (current.kind === "foreign") {
    if (!hasChained) return { hook, path, action: "not-installed", message: `${shown} is not pipe's hook; left it alone` };
    return {
      hook,
      path,
      action: "left-alone",
      message: `${shown} is no longer pipe's hook (another tool replaced it); left it and ${basename(chained)} (the hook pipe had chained) alone`,
    };
  }
  if (hasChained) {
    // rename() replaces pipe's file in one step, so the hook is never missing in between.
    renameSync(chained, path);
    const note = current.kind === "missing" ? " (pipe's hook was already gone)" : "";
    return { hook, path, action: "restored", message: `restored the previous ${shown}${note}` };
  }
  if (current.kind === "pipe") {
    rmSync(path);
    return { hook, path, action: "removed", message: `removed ${shown}` };
  }
  return { hook, path, action: "not-installed", message: `${shown} is not installed` };
}

/**
 * Removes pipe's hooks from the hooks directory git uses and restores each chained hook
 * byte-identical with its mode. Never touches the git index or refs. Throws GitHooksError
 * outside a git work tree.
 */
export function uninstallHooks(options: UninstallOptions): HooksReport {
  const git = locateGit(options.projectDir, "pipe hooks uninstall");
  const projectSubdir = relative(git.topLevel, git.cwd).split(sep).join("/");
  const changes = (options.hooks ?? HOOK_NAMES).map((hook) => uninstallOne(hook, git.hooksDir, git.cwd, projectSubdir));
  return { hooksDir: git.hooksDir, changes, warnings: [] };
}
