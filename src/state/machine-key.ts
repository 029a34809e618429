/**
 * The machine-local key that authenticates pipe's state (reliability.md G5): records and no-op
 * snapshots carry an HMAC made with it, so a `.pipe/` committed to git by mistake, copied from
 * another machine or crafted by an attacker is not trusted (its targets rebuild, with a
 * message) instead of vouching for outputs pipe never produced here.
 *
 * It lives outside the project, in `$XDG_STATE_HOME/pipe/machine-key` (default
 * `~/.local/state/pipe/machine-key`), mode 0600, made once with 32 random bytes. Created with
 * link(2) from a complete temp file, so two pipes starting at once agree on one key.
 *
 * When the home location cannot be written, the key is kept in `.pipe/machine-key`, tied to that
 * folder (its device and inode are written next to the key): a copy of `.pipe/` (committed,
 * cloned, copied to another machine) is a different folder, so its key is ignored there.
 */
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

let cached: { key: string; problem?: string } | undefined;

function machineKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME || homedir(), ".local", "state");
  return join(base, "pipe", "machine-key");
}

/**
 * Reads the key, or undefined when there is none yet (never creates one). `stateDir`: also look
 * for the fallback key in `.pipe/machine-key` (see `machineKey`).
 */
export function readMachineKey(env: NodeJS.ProcessEnv = process.env, stateDir?: string): string | undefined {
  if (cached) return cached.key;
  const key = readKey(machineKeyPath(env)) ?? (stateDir ? readKey(join(stateDir, "machine-key"), folderId(stateDir)) : undefined);
  if (key) cached = { key };
  return key;
}

/** The key in `path`, if there is one (and, for a folder's key, tied to that folder). */
function readKey(path: string, tiedTo?: string): string | undefined {
  try {
    const [key, tie] = readFileSync(path, "utf8").split("\n");
    if (key.length < 32 || (tiedTo !== undefined && tie !== tiedTo)) return undefined;
    return key;
  } catch {
    return undefined;
  }
}

/** Identifies a folder itself, not its contents: a copy gets another inode. */
function folderId(dir: string): string | undefined {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The key, made if missing. When the home location cannot be written (a read-only home in a
 * container), the key is kept in `.pipe/machine-key` instead, said once when it is made: state
 * copied together with it would be trusted, but builds still skip what is done. Without even
 * that, a key for this process only (`problem` says so).
 */
export function machineKey(env: NodeJS.ProcessEnv = process.env, stateDir?: string, options: { writeState?: boolean } = {}): { key: string; problem?: string } {
  if (cached) return cached;
  if (readMachineKey(env, stateDir)) return cached!;
  const home = machineKeyPath(env);
  let why = "";
  try {
    cached = { key: makeKey(home) };
    return cached;
  } catch (e) {
    why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  const tie = stateDir && options.writeState !== false ? folderId(stateDir) : undefined;
  if (stateDir && tie) {
    try {
      const key = makeFolderKey(join(stateDir, "machine-key"), tie);
      cached = { key, problem: `cannot keep pipe's machine key at ${home} (${why}); keeping it in .pipe/machine-key instead, tied to this folder (a copy of .pipe/ is not trusted)` };
      return cached;
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
  }
  cached = { key: randomBytes(32).toString("hex"), problem: `cannot keep pipe's machine key at ${home} (${why}); what this run records will not be trusted by the next run` };
  return cached;
}

/** Creates the key file at `path` unless it exists (link(2) from a complete temp file), and reads it. */
function makeKey(path: string): string {
  makeDirs(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  const key = readFileSync(path, "utf8").trim();
  if (key.length < 32) throw new Error(`${path} holds no key`);
  return key;
}

/**
 * A key for `.pipe/` only, tied to the folder. A key file tied to another folder (it came with a
 * copy) is replaced: rename, not link, since the name is taken.
 */
function makeFolderKey(path: string, tie: string): string {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${randomBytes(32).toString("hex")}\n${tie}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  const key = readKey(path, tie);
  if (!key) throw new Error(`${path} holds no key`);
  return key;
}

/**
 * mkdir -p, one component at a time: node's recursive mkdirSync never returns for some paths
 * (seen under /proc), and a key that cannot be kept must fail, not hang.
 */
function makeDirs(dir: string): void {
  const parts = dir.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = "/" + parts.slice(0, i).join("/");
    try {
      mkdirSync(p, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
