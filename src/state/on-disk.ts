/**
 * What is on disk at recorded output paths, as `kind:hash` (empty when missing or unreadable),
 * for the commands that read only `.pipe/` and the outputs (`pipe history`, `pipe gc`): the
 * stat cache vouches for unchanged files, so only changed ones are read. Memoised by path.
 */
import { FileHasher } from "../hash/file-hasher.ts";
import { loadStatCache } from "./stat-cache.ts";

export function diskHashes(root: string, stateDir: string): (path: string) => string {
  const hasher = new FileHasher(root, loadStatCache(stateDir, [], true));
  const seen = new Map<string, string>();
  return (path) => {
    let h = seen.get(path);
    if (h === undefined) {
      try {
        const r = hasher.hashPath(path);
        h = r.kind === "file" || r.kind === "dir" ? `${r.kind}:${r.hash}` : "";
      } catch {
        h = ""; // unreadable: not these bytes
      }
      seen.set(path, h);
    }
    return h;
  };
}
