/**
 * The machine-local key that authenticates pipe's state (reliability.md G5): records and no-op
 * snapshots carry an HMAC made with it, so a `.pipe/` committed to git by mistake, copied from
 * another machine or crafted by an attacker is not trusted (its targets rebuild, with a
 * message) instead of vouching for outputs pipe never produced here.
 *
 * It lives outside the project, in `$XDG_STATE_HOME/pipe/machine-key` (default
 * `~/.local/state/pipe/machine-key`), mode 0600, made once with 32 random bytes. Created with
 * link(2) from a complete temp file, so two pipes starting at once agree on one key.
 */
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

let cached: { key: string; problem?: string } | undefined;

export function machineKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME || homedir(), ".local", "state");
  return join(base, "pipe", "machine-key");
}

/** Reads the key, or undefined when there is none yet (never creates one: for read-only checks). */
export function readMachineKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cached) return cached.key;
  try {
    const key = readFileSync(machineKeyPath(env), "utf8").trim();
    if (key.length >= 32) {
      cached = { key };
      return key;
    }
  } catch {
    // none yet
  }
  return undefined;
}

/**
 * The key, made if missing. When it cannot be kept (no writable home), a key for this process
 * only, and `problem` says so: what this run records will not be trusted by the next one.
 */
export function machineKey(env: NodeJS.ProcessEnv = process.env): { key: string; problem?: string } {
  if (cached) return cached;
  const existing = readMachineKey(env);
  if (existing) return cached!;
  const path = machineKeyPath(env);
  const fresh = randomBytes(32).toString("hex");
  try {
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, fresh + "\n", { mode: 0o600 });
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
    const key = readFileSync(path, "utf8").trim();
    cached = { key };
  } catch (e) {
    cached = { key: fresh, problem: `cannot keep pipe's machine key at ${path} (${(e as Error).message}); what this run records will not be trusted by the next run` };
  }
  return cached;
}
