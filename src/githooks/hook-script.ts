/**
 * The text of the hook files `pipe hooks install` writes: small POSIX sh scripts that run the
 * hook they replaced (moved aside to `<hook>.pipe-chained`), then `pipe hooks run <hook>`.
 *
 * Why the script checks for a rebase, merge, cherry-pick or revert itself, before starting
 * node: git runs hooks for every commit and checkout it makes while replaying history, and a
 * node start costs ~50 ms per commit. The check costs one `git rev-parse` (P19, dvc#2208).
 * post-merge does not look at MERGE_HEAD: git still has it when post-merge runs after every
 * non-fast-forward merge (checked on git 2.39), so the check would skip every real merge.
 */

/** The hooks pipe installs. */
export const HOOK_NAMES = ["pre-commit", "post-checkout", "post-merge"] as const;

/** One of HOOK_NAMES. */
export type HookName = (typeof HOOK_NAMES)[number];

/** The line that marks a hook file as pipe's: install rewrites such files, uninstall removes them. */
export const HOOK_MARKER = "# installed by pipe hooks";

/** Suffix of the file holding the hook that was there before pipe's (kept byte-identical). */
export const CHAINED_SUFFIX = ".pipe-chained";

/** What a hook script needs to know, fixed at install time. */
export interface HookScriptOptions {
  hook: HookName;
  /** Absolute path of the node binary. */
  nodePath: string;
  /** Absolute path of pipe's bin/pipe.js; when it is gone the hook falls back to npx. */
  pipeBin: string;
  /** The project directory relative to the work tree root ("" when they are the same). */
  projectSubdir: string;
  /** The Pipelinefile given to install with --file, relative to the project directory. */
  pipelinefile?: string;
}

/** Quotes a value for POSIX sh as one word. */
export function shellQuote(value: string): string {
  if (value !== "" && /^[A-Za-z0-9_./:=,+@%-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** True when a hook file's text carries pipe's marker line. */
export function isPipeHook(text: string): boolean {
  return text.split(/\r?\n/).includes(HOOK_MARKER);
}

/**
 * The project folder (relative to the work tree's top, "" for the top) a pipe hook runs in: its
 * `cd` line, the inverse of cdBlock. A repository has one hooks folder, so one project's hooks.
 */
export function hookProject(text: string): string {
  const m = /^cd ('(?:[^']|'\\'')*'|\S+) \|\| exit "\$chained_rc"$/m.exec(text);
  if (!m) return "";
  return m[1].startsWith("'") ? m[1].slice(1, -1).replace(/'\\''/g, "'") : m[1];
}

/** Files git keeps while it replays or combines commits; pipe's hooks defer while one exists. */
function busyMarkers(hook: HookName): string[] {
  const all = ["rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"];
  return hook === "post-merge" ? all.filter((f) => f !== "MERGE_HEAD") : all;
}

/**
 * Why the cd block makes git's variables absolute: git runs hooks at the work tree root and may
 * pass GIT_INDEX_FILE (and GIT_DIR) relative to it (`.git/index`, seen on git 2.39). After a cd
 * into the project, a git command reading the relative path would use a wrong, empty index.
 */
function cdBlock(subdir: string): string[] {
  if (subdir === "") return [];
  const lines = ["# Run pipe in its project directory; keep git's relative paths pointing where they did."];
  for (const v of ["GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"]) {
    lines.push(`case \${${v}-} in ''|/*) ;; *) ${v}="$PWD/$${v}"; export ${v} ;; esac`);
  }
  lines.push(`cd ${shellQuote(subdir)} || exit "$chained_rc"`, "");
  return lines;
}

/**
 * Renders the hook script. pre-commit stops at a failing chained hook (its exit code blocks the
 * commit) and otherwise exits with pipe's code; post-checkout and post-merge always exit with
 * the chained hook's code (git makes it the exit code of `git checkout`), whatever pipe does.
 */
export function renderHookScript(o: HookScriptOptions): string {
  const blocking = o.hook === "pre-commit";
  const run = `hooks run ${o.hook} "$@"${o.pipelinefile === undefined ? "" : ` --file ${shellQuote(o.pipelinefile)}`}`;
  return [
    "#!/bin/sh",
    HOOK_MARKER,
    `# pipe's ${o.hook} hook: runs the hook that was here before, if any (${o.hook}${CHAINED_SUFFIX}),`,
    `# then \`pipe hooks run ${o.hook}\`. \`pipe hooks uninstall\` removes it and puts that hook back.`,
    "",
    `chained="$(dirname "$0")/${o.hook}${CHAINED_SUFFIX}"`,
    "chained_rc=0",
    'if [ -x "$chained" ]; then',
    "  # A plain sh hook is sourced, in a subshell, so that its $0 is this file's path as it was",
    "  # before pipe moved it: husky finds the hook to run from basename \"$0\".",
    '  IFS= read -r shebang < "$chained"',
    "  case $shebang in",
    `    '#!/bin/sh' | '#!/usr/bin/env sh') (. "$chained") ;;`,
    '    *) "$chained" "$@" ;;',
    "  esac",
    "  chained_rc=$?",
    ...(blocking ? ['  [ "$chained_rc" -eq 0 ] || exit "$chained_rc"'] : []),
    "fi",
    "",
    "# Defer while git replays or combines commits: those commits and checkouts are git's, not the user's.",
    'git_dir=$(git rev-parse --git-dir 2>/dev/null) || exit "$chained_rc"',
    `for f in ${busyMarkers(o.hook).join(" ")}; do`,
    '  if [ -e "$git_dir/$f" ]; then exit "$chained_rc"; fi',
    "done",
    "",
    ...cdBlock(o.projectSubdir),
    `node=${shellQuote(o.nodePath)}`,
    `pipe_js=${shellQuote(o.pipeBin)}`,
    'if [ -x "$node" ] && [ -f "$pipe_js" ]; then',
    `  "$node" "$pipe_js" ${run}${blocking ? "" : " || :"}`,
    "elif command -v npx >/dev/null 2>&1; then",
    `  npx --no-install pipe ${run}${blocking ? "" : " || :"}`,
    "else",
    `  echo "pipe: skipping the ${o.hook} hook: $pipe_js is gone and npx is not on PATH" >&2`,
    "fi",
    ...(blocking ? ["exit $?"] : ['exit "$chained_rc"']),
    "",
  ].join("\n");
}
