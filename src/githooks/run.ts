/**
 * `pipe hooks run <hook>`: what pipe does when git calls one of its hooks. The decisions live
 * here; everything that reads git, the graph or the cache is injected (HookDeps), so this file
 * has no I/O and the CLI wires the real core in.
 *
 *   pre-commit     staged files -> targets reading them -> stale ones block the commit (exit 1)
 *   post-checkout  on a branch checkout: restore outputs from the cache, report what is stale
 *   post-merge     the same after a merge; both always exit 0, as git ignores them anyway
 */

/** A target that is not up to date, with the reason `pipe explain` would give. */
export interface StaleTarget {
  id: string;
  reason: string;
}

/** What runHook needs from the core. None of these may run a recipe or touch the git index. */
export interface HookDeps {
  /** Paths staged for this commit (`git diff --cached --name-only`), relative to the project. */
  stagedFiles(): string[];
  /** Targets whose inputs include any of the files, plus whatever depends on them. */
  targetsReading(files: string[]): string[];
  /** The subset of `ids` that is not up to date, in the order to list them. */
  staleTargets(ids: string[]): StaleTarget[];
  /** Restores every output recorded for the checked-out state from the cache; never runs a recipe. */
  restoreAll(): { restored: string[]; stillStale: StaleTarget[] };
  /** Prints one line to the user (stderr in the CLI). */
  emit(line: string): void;
  /**
   * The command as the user types it where git runs (the work tree's top): with a `cd` into a
   * project in a subfolder, and the Pipelinefile given to install with --file. Default: as is.
   */
  fixCommand?(command: string): string;
  /**
   * Whether a bare `pipe build` (the Pipelinefile's default targets) builds every one of `ids`:
   * then the fix it prints can be that, when naming them would make too long a line.
   */
  defaultBuildIncludes?(ids: string[]): boolean;
}

/** Exit codes of `pipe hooks run`: 1 blocks the commit; 2 is a usage error. */
export const HOOK_EXIT = { ok: 0, blocked: 1, usage: 2 } as const;

/** At most this many targets are listed one per line. */
const MAX_LISTED = 20;
/** The longest build command printed as the fix (10,000 stale ids made a 60 KB line). */
const MAX_COMMAND = 200;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Quotes an id or a path for a copy-pastable command (`trend[attribute=x]` is a glob in sh). */
export function shellWord(id: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(id) ? id : `'${id.replace(/'/g, `'\\''`)}'`;
}

/**
 * A short command that builds the stale targets, and a note when the command does not name
 * them. The first of these that fits in MAX_COMMAND: their ids; a bare `npx pipe build` when
 * the default targets include them all; their names with a family's instances as the family
 * name (which builds every instance the Pipelinefile asks for: the others are up to date or
 * unrelated, so it may build more, never less). Otherwise no short command is exact: the bare
 * build, and that the rest must be named.
 */
function buildCommand(stale: StaleTarget[], deps: Pick<HookDeps, "defaultBuildIncludes">): [string, string?] {
  const ids = stale.map((t) => t.id);
  const fits = (words: string[]) => {
    const line = `npx pipe build ${words.map(shellWord).join(" ")}`;
    return line.length <= MAX_COMMAND ? line : undefined;
  };
  const named = fits(ids);
  if (named) return [named];
  if (deps.defaultBuildIncludes?.(ids)) return ["npx pipe build", `  (the default targets include all ${ids.length})`];
  const families = fits([...new Set(ids.map((id) => id.replace(/\[.*$/s, "")))]);
  if (families) return [families];
  return ["npx pipe build", `  (builds those among the default targets; name the others too: pipe status lists all ${ids.length})`];
}

function emitStaleList(heading: string, stale: StaleTarget[], deps: Pick<HookDeps, "emit" | "defaultBuildIncludes" | "fixCommand">): void {
  deps.emit(heading);
  for (const t of stale.slice(0, MAX_LISTED)) deps.emit(`  ${JSON.stringify(t.id)}: ${t.reason}`);
  if (stale.length > MAX_LISTED) deps.emit(`  … and ${stale.length - MAX_LISTED} more`);
  const [command, note] = buildCommand(stale, deps);
  deps.emit(`run: ${deps.fixCommand ? deps.fixCommand(command) : command}`);
  if (note) deps.emit(note);
}

function dedupe(stale: StaleTarget[]): StaleTarget[] {
  const seen = new Set<string>();
  return stale.filter((t) => !seen.has(t.id) && (seen.add(t.id), true));
}

function preCommit(deps: HookDeps): number {
  const staged = deps.stagedFiles();
  if (staged.length === 0) return HOOK_EXIT.ok;
  const ids = deps.targetsReading(staged);
  if (ids.length === 0) return HOOK_EXIT.ok;
  const stale = dedupe(deps.staleTargets(ids));
  if (stale.length === 0) return HOOK_EXIT.ok;
  emitStaleList(`pipe: ${plural(stale.length, "target is", "targets are")} stale for this commit:`, stale, deps);
  deps.emit("hint: or commit anyway with `git commit --no-verify`");
  return HOOK_EXIT.blocked;
}

function restore(deps: HookDeps, after: string): number {
  let result: ReturnType<HookDeps["restoreAll"]>;
  try {
    result = deps.restoreAll();
  } catch (e) {
    // A post-* hook cannot undo the checkout or merge; a failure here must not look like one.
    deps.emit(`pipe: warning: could not restore outputs from the cache after this ${after}: ${(e as Error).message}`);
    return HOOK_EXIT.ok;
  }
  if (result.restored.length > 0) deps.emit(`pipe: restored ${plural(result.restored.length, "target", "targets")} from the cache`);
  const stale = dedupe(result.stillStale);
  if (stale.length > 0) emitStaleList(`pipe: ${plural(stale.length, "target is", "targets are")} stale after this ${after}:`, stale, deps);
  return HOOK_EXIT.ok;
}

/**
 * Runs pipe's part of git hook `name` with git's arguments `args`; returns the exit code.
 * pre-commit returns 1 when a target reading a staged file is stale (blocking the commit),
 * after printing the targets, reasons and the build command. post-checkout (branch checkouts
 * only: third argument "1", HEAD moved) and post-merge restore from the cache and return 0.
 * An unknown hook name prints an error and returns 2.
 */
export function runHook(name: string, args: readonly string[], deps: HookDeps): number {
  switch (name) {
    case "pre-commit":
      return preCommit(deps);
    case "post-checkout":
      // args: previous HEAD, new HEAD, 1 for a branch checkout (0 for `git checkout -- file`).
      if (args[2] !== "1" || args[0] === args[1]) return HOOK_EXIT.ok;
      return restore(deps, "checkout");
    case "post-merge":
      return restore(deps, "merge");
    default:
      deps.emit(`error: unknown hook ${JSON.stringify(name)}; pipe runs pre-commit, post-checkout and post-merge`);
      return HOOK_EXIT.usage;
  }
}
