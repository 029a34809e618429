/**
 * `pipe hooks install | uninstall | run`: git hooks that keep outputs in step with the
 * checked-out code and stop commits of stale work. Only `git rev-parse` is ever run; the git
 * index and refs are never written.
 */
export { installHooks, inspectHookFile } from "./install.ts";
export type { InstallOptions, HooksReport, HookChange, HookAction, HookFileState } from "./install.ts";
export { uninstallHooks } from "./uninstall.ts";
export type { UninstallOptions } from "./uninstall.ts";
export { runHook, HOOK_EXIT, shellWord } from "./run.ts";
export type { HookDeps, StaleTarget } from "./run.ts";
export { renderHookScript, isPipeHook, HOOK_NAMES, HOOK_MARKER, CHAINED_SUFFIX } from "./hook-script.ts";
export type { HookName, HookScriptOptions } from "./hook-script.ts";
export { GitHooksError, locateGit } from "./git-paths.ts";
export type { GitLocations } from "./git-paths.ts";
