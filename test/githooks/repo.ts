/**
 * Real git repositories in temp dirs for the hook tests, and a fake `pipe` that records how it
 * was called (not a test file itself).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Git must not see the developer's global config (a global core.hooksPath would move the hooks)
 * nor the variables of a hook the tests might run inside. Every git call, including the
 * installer's, inherits this process's environment, so fix it here, once per test file.
 */
export function isolateGit(): void {
  process.env.GIT_CONFIG_GLOBAL = "/dev/null";
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  for (const v of ["GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX"]) delete process.env[v];
}

/** A temp git repository with one commit and an empty hooks directory. */
export interface Repo {
  dir: string;
  hooksDir: string;
  git(...args: string[]): string;
  /** Runs git without throwing; returns its exit status and output. */
  tryGit(...args: string[]): { status: number | null; output: string };
  remove(): void;
}

export function makeRepo(): Repo {
  const root = mkdtempSync(join(tmpdir(), "pipe-hooks-"));
  const dir = join(root, "repo");
  mkdirSync(dir);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const tryGit = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: dir, encoding: "utf8" });
    return { status: r.status, output: r.stdout + r.stderr };
  };
  git("init", "-q", "--template=", "-b", "main");
  git("config", "user.email", "test@example.com");
  git("config", "user.name", "Test");
  git("config", "commit.gpgsign", "false");
  writeFileSync(join(dir, "README"), "hello\n");
  git("add", "README");
  git("commit", "-q", "-m", "initial", "--no-verify");
  const hooksDir = join(dir, ".git", "hooks");
  mkdirSync(hooksDir);
  return { dir, hooksDir, git, tryGit, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fake pipe: `<node> <bin>` appends one JSON line per call to `log` and exits with `exitCode`. */
export interface FakePipe {
  bin: string;
  log: string;
  calls(): Array<{ argv: string[]; cwd: string; indexFile?: string }>;
  /** Makes later calls exit with this code. */
  setExitCode(code: number): void;
}

/** Creates a fake pipe under a directory whose name needs shell quoting. */
export function makeFakePipe(root: string): FakePipe {
  const dir = join(root, "it's a \"pipe\" dir", "bin");
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, "pipe.js");
  const log = join(root, "calls.log");
  const codeFile = join(dir, "exit-code");
  writeFileSync(
    bin,
    `const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(log)}, "pipe " + JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), indexFile: process.env.GIT_INDEX_FILE }) + "\\n");
process.exit(fs.existsSync(${JSON.stringify(codeFile)}) ? Number(fs.readFileSync(${JSON.stringify(codeFile)}, "utf8")) : 0);
`,
  );
  // A .js file outside any package.json with "type": "module" runs as CommonJS.
  return {
    bin,
    log,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l.startsWith("pipe "))
            .map((l) => JSON.parse(l.slice(5)))
        : [],
    setExitCode: (code) => writeFileSync(codeFile, String(code)),
  };
}

/** Writes a hand-made hook with exact bytes and mode. */
export function writeHook(path: string, bytes: string | Buffer, mode: number): void {
  writeFileSync(path, bytes);
  chmodSync(path, mode);
}

/** Every entry of a directory: name -> type, mode and bytes (or link target). */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    const mode = (st.mode & 0o7777).toString(8);
    out[name] = st.isSymbolicLink() ? `link ${readlinkSync(p)}` : st.isFile() ? `file ${mode} ${readFileSync(p).toString("base64")}` : `other ${mode}`;
  }
  return out;
}
