/**
 * Where the case study's data files are, for tests run from test/ or dist/test/: the shipped
 * synthetic series, and the real national series read in place from ../shared/data (tests that
 * need it skip when it is absent; it is never copied into the project).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo root: the nearest folder up with this package's package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "pipefile") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("package.json of pipefile not found above the test file");
    dir = up;
  }
}

export const ROOT = repoRoot();
/** The synthetic series shipped in data/. */
export const SYNTHETIC = join(ROOT, "data/dpc-covid19-ita-andamento-nazionale.csv");
/** The real series beside the clone (may be absent). */
export const REAL = resolve(ROOT, "../shared/data/dpc-covid19-ita-andamento-nazionale.csv");
