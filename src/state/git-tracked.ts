/**
 * Whether the state folder is tracked by git (reliability.md G5): a committed `.pipe/` is
 * unreliable (another clone's records and cache) and insecure (anyone can craft it). The
 * records' HMAC already keeps such state from being trusted; this says why, and how to fix it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export function stateTrackedByGit(root: string): string | undefined {
  let inRepo = false;
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) {
      inRepo = true;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (!inRepo) return undefined;
  const r = spawnSync("git", ["ls-files", "--", ".pipe"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
  if (r.status !== 0 || !r.stdout.trim()) return undefined;
  return "state directory .pipe/ is tracked by git (insecure/unreliable): records made on other machines are not trusted and their targets rebuild; remove it from git with `git rm -r --cached .pipe` and commit";
}
