/** pipe's own version, from its package.json ("0" when it cannot be read). Read once. */
import { readFileSync } from "node:fs";

let version: string | undefined;

export function pipeVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0";
    } catch {
      version = "0";
    }
  }
  return version;
}
