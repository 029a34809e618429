/**
 * Where git keeps things, asked of git itself: `git rev-parse --show-toplevel --git-dir
 * --git-path hooks`. Asking git (rather than assuming `.git/hooks`) honours core.hooksPath
 * (husky), linked worktrees (hooks live in the common dir) and `.git` files (submodules).
 * Nothing here writes to the repository.
 */
import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Thrown when the hooks cannot be installed or removed; `message` is a complete error line. */
export class GitHooksError extends Error {
  override name = "GitHooksError";
  /** The fix, when there is one, shown on its own line. */
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** Absolute, symlink-free locations for one repository, as seen from one directory in it. */
export interface GitLocations {
  /** The work tree root (where git runs hooks). */
  topLevel: string;
  /** This work tree's git dir (`.git`, or `.git/worktrees/<name>` in a linked worktree). */
  gitDir: string;
  /** The directory git reads hooks from (core.hooksPath when set). */
  hooksDir: string;
  /** The directory asked about, resolved (`realpath`). */
  cwd: string;
}

/** True when `path` is `dir` or inside it. */
export function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * Asks git where the work tree, git dir and hooks dir of the repository holding `dir` are.
 * `command` is what the user ran (`pipe hooks install`, `pipe hooks run pre-commit`): the hints
 * of the GitHooksError thrown outside a work tree (or without git) say to run it again there.
 */
export function locateGit(dir: string, command = "pipe hooks install"): GitLocations {
  let cwd: string;
  try {
    cwd = realpathSync(dir);
  } catch {
    throw new GitHooksError(`error: directory ${JSON.stringify(dir)} does not exist`);
  }
  let out: string;
  try {
    out = execFileSync("git", ["rev-parse", "--show-toplevel", "--git-dir", "--git-path", "hooks"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") throw new GitHooksError("error: git is not installed (or not on PATH)", `install git, then run \`${command}\` again`);
    const detail = (err.stderr ?? "").trim().split("\n")[0];
    throw new GitHooksError(
      `error: ${JSON.stringify(cwd)} is not inside a git work tree${detail ? ` (${detail})` : ""}`,
      `run \`${command}\` in a clone of your repository (hooks need a work tree; bare repositories have none)`,
    );
  }
  const [topLevel, gitDir, hooksDir] = out.replace(/\n$/, "").split("\n");
  if (!topLevel || !gitDir || !hooksDir) {
    throw new GitHooksError(`internal error: unexpected output from \`git rev-parse\`: ${JSON.stringify(out)}; this is a bug, please report it with the output of --version`);
  }
  // git prints --git-dir and --git-path relative to the directory it ran in.
  return { topLevel, gitDir: resolve(cwd, gitDir), hooksDir: resolve(cwd, hooksDir), cwd };
}
