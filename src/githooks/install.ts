/**
 * `pipe hooks install`: writes pipe's pre-commit, post-checkout and post-merge hooks into the
 * directory git reads hooks from, chaining whatever hook was there.
 *
 * Coexistence. A hook file that is not pipe's (hand-written, husky, lefthook, the pre-commit
 * framework: all of them install plain files in the hooks directory) is renamed, not copied, to
 * `<hook>.pipe-chained`, so its bytes, mode and even symlink-ness are kept exactly, and pipe's
 * hook runs it first: a plain sh hook (`#!/bin/sh`, `#!/usr/bin/env sh`) is sourced in a
 * subshell so it still sees its original path as $0 (husky v9 and v4 pick the hook to run
 * from `basename "$0"`); any other hook is executed. Uninstall renames it back.
 * Known limits, none of which loses a hook:
 *   - a non-sh hook that derives its name from $0 sees `<hook>.pipe-chained`;
 *   - a tool that later rewrites the hook file (husky on `npm install`, `lefthook install`)
 *     replaces pipe's hook; run `pipe hooks install` again afterwards, or call
 *     `pipe hooks run <hook>` from that tool's own config;
 *   - `pre-commit install` moves pipe's hook to `<hook>.legacy` and still runs it; fine;
 *   - with core.hooksPath inside the work tree (husky v4-v8 `.husky/`), the moved hook is a
 *     tracked file, so git status shows the rename until uninstall (reported as a warning);
 *   - one pipe project per repository: the hooks run pipe in the project directory given at
 *     install time (relative to the work tree root, so it works in every worktree), with the
 *     node and bin/pipe.js paths of that install.
 *
 * Crash safety: the existing hook is moved aside before pipe's is written, and pipe's is
 * written to a temp file and renamed into place, so an interrupted install leaves either the
 * old state or a state that install and uninstall both recover from.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { Stats } from "node:fs";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import { CHAINED_SUFFIX, HOOK_NAMES, hookProject, isPipeHook, renderHookScript, shellQuote } from "./hook-script.ts";
import type { HookName } from "./hook-script.ts";
import { GitHooksError, isWithin, locateGit } from "./git-paths.ts";

/** What `pipe hooks install` needs. */
export interface InstallOptions {
  /** The pipe project directory (holding Pipelinefile.ts); the hooks run pipe there. */
  projectDir: string;
  /** Absolute path of the node binary that runs pipe (the CLI passes process.execPath). */
  nodePath: string;
  /** Absolute path of pipe's bin/pipe.js; if it disappears the hooks fall back to `npx --no-install pipe`. */
  pipeBin: string;
  /** Which hooks to install; all of HOOK_NAMES when absent. */
  hooks?: readonly HookName[];
  /** The Pipelinefile install was given with --file (relative to projectDir): the hooks pass it on. */
  pipelinefile?: string;
}

/**
 * What happened to one hook: "created" (there was none), "chained" (the existing hook was moved
 * aside and is run first), "updated" (pipe's hook rewritten with new paths), "unchanged",
 * "conflict" (nothing touched; see message), and for uninstall "removed", "restored",
 * "not-installed", "left-alone".
 */
export type HookAction = "created" | "chained" | "updated" | "unchanged" | "conflict" | "removed" | "restored" | "not-installed" | "left-alone";

/** The outcome for one hook, with a message ready to print. */
export interface HookChange {
  hook: HookName;
  /** Absolute path of the hook file. */
  path: string;
  action: HookAction;
  /** One line for the user (an error line plus a hint line for "conflict"). */
  message: string;
}

/** What install or uninstall did. The CLI exits 2 when any change is a "conflict". */
export interface HooksReport {
  hooksDir: string;
  changes: HookChange[];
  /** Things the user should know that are not errors (hooks path inside the work tree...). */
  warnings: string[];
}

/** The existing file at a hook path, as install and uninstall classify it. */
export type HookFileState = { kind: "missing" } | { kind: "pipe"; text: string } | { kind: "foreign"; stats: Stats };

/** Classifies a hook path without following symlinks: a symlink is never pipe's. */
export function inspectHookFile(path: string): HookFileState {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    throw e;
  }
  if (stats.isFile()) {
    const text = readFileSync(path, "latin1");
    if (isPipeHook(text)) return { kind: "pipe", text };
  }
  return { kind: "foreign", stats };
}

/** Writes an executable file atomically (temp file in the same directory, then rename). */
function writeExecutable(path: string, text: string): void {
  const tmp = join(path, "..", `.${basename(path)}.pipe-tmp-${process.pid}`);
  try {
    writeFileSync(tmp, text, { mode: 0o755 });
    chmodSync(tmp, 0o755); // the mode given to writeFileSync is reduced by the umask
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Shows a path relative to the project directory, as error messages do. */
export function displayPath(path: string, base: string): string {
  const rel = relative(base, path);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function installOne(hook: HookName, hooksDir: string, script: string, base: string, projectSubdir: string): HookChange {
  const path = join(hooksDir, hook);
  const chained = path + CHAINED_SUFFIX;
  const shown = JSON.stringify(displayPath(path, base));
  const current = inspectHookFile(path);
  if (current.kind === "pipe") {
    if (current.text === script) return { hook, path, action: "unchanged", message: `${shown} is already pipe's hook` };
    // Another project of the repository installed it: replaced, its hooks silently stopped.
    const theirs = hookProject(current.text);
    if (theirs !== projectSubdir) {
      const there = theirs === "" ? "the repository's top folder" : JSON.stringify(theirs);
      return {
        hook,
        path,
        action: "conflict",
        message:
          `error: ${shown} is pipe's hook for the project in ${there}; a repository has one hooks folder, so one project's hooks: left it alone\n` +
          `  hint: to move the hooks to this project, uninstall them there first (${theirs === "" ? "" : `cd ${shellQuote(theirs)} from the top, then `}pipe hooks uninstall), then run \`pipe hooks install\` here`,
      };
    }
    writeExecutable(path, script);
    return { hook, path, action: "updated", message: `updated pipe's hook ${shown}` };
  }
  if (current.kind === "foreign") {
    if (inspectHookFile(chained).kind !== "missing" || current.stats.isDirectory()) {
      return {
        hook,
        path,
        action: "conflict",
        message:
          `error: ${shown} is not pipe's hook and ${JSON.stringify(displayPath(chained, base))} ${current.stats.isDirectory() ? "cannot be made: it is a directory" : "already exists"}; left both alone\n` +
          `  hint: move one of them out of the way, then run \`pipe hooks install\` again`,
      };
    }
    renameSync(path, chained);
    writeExecutable(path, script);
    return { hook, path, action: "chained", message: `moved the existing ${shown} to ${basename(chained)}; pipe's hook runs it first` };
  }
  writeExecutable(path, script);
  const note = inspectHookFile(chained).kind !== "missing" ? ` (it runs the existing ${basename(chained)} first)` : "";
  return { hook, path, action: "created", message: `created ${shown}${note}` };
}

/** Warnings about where the hooks directory is (see the module header). */
export function hooksDirWarnings(hooksDir: string, topLevel: string, gitDir: string, base: string): string[] {
  if (!isWithin(hooksDir, topLevel) || isWithin(hooksDir, gitDir) || relative(topLevel, hooksDir).split(sep)[0] === ".git") return [];
  const shown = JSON.stringify(displayPath(hooksDir, base));
  const warnings = [`the hooks directory ${shown} (core.hooksPath) is inside the work tree; git status may show pipe's hook files and any hook moved aside`];
  if (basename(hooksDir) === "_" && basename(join(hooksDir, "..")) === ".husky") {
    warnings.push(
      `warning: husky rewrites ${shown} when it installs (npm install), which removes pipe's hooks\n` +
        `  hint: add \`npx pipe hooks run <hook> "$@"\` to .husky/<hook> instead, or run \`pipe hooks install\` again after husky`,
    );
  }
  return warnings;
}

/**
 * Installs pipe's hooks where `git rev-parse --git-path hooks` says (so core.hooksPath is
 * honoured), chaining existing hooks. Idempotent: a second call with the same options changes
 * no byte. Never touches the git index or refs. Throws GitHooksError outside a git work tree.
 */
export function installHooks(options: InstallOptions): HooksReport {
  for (const [name, p] of [["nodePath", options.nodePath], ["pipeBin", options.pipeBin]] as const) {
    if (!isAbsolute(p)) throw new GitHooksError(`internal error: installHooks needs an absolute ${name}, got ${JSON.stringify(p)}; this is a bug, please report it with the output of --version`);
  }
  const git = locateGit(options.projectDir);
  const projectSubdir = relative(git.topLevel, git.cwd);
  if (!isWithin(git.cwd, git.topLevel)) {
    throw new GitHooksError(`error: project directory ${JSON.stringify(git.cwd)} is outside the git work tree ${JSON.stringify(git.topLevel)}`);
  }
  mkdirSync(git.hooksDir, { recursive: true });
  const changes = (options.hooks ?? HOOK_NAMES).map((hook) => {
    const script = renderHookScript({ hook, nodePath: options.nodePath, pipeBin: options.pipeBin, projectSubdir: projectSubdir.split(sep).join("/"), pipelinefile: options.pipelinefile });
    return installOne(hook, git.hooksDir, script, git.cwd, projectSubdir.split(sep).join("/"));
  });
  return { hooksDir: git.hooksDir, changes, warnings: hooksDirWarnings(git.hooksDir, git.topLevel, git.gitDir, git.cwd) };
}
