/**
 * The bench compares pipe with GNU make and ninja, "installed with apt-get if absent" (the
 * issue): missing packages are installed here, as root or through `sudo -n`, unless the bench
 * runs with `--no-install`.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** What aptInstall needs of the machine (tests give fakes). */
export interface AptHost {
  /** The apt-get binary, if the machine has one. */
  aptGet: string | undefined;
  root: boolean;
  /** Runs a command; undefined on success, else what went wrong. */
  run: (cmd: string, args: string[]) => string | undefined;
  log: (line: string) => void;
}

const realHost = (): AptHost => ({
  aptGet: ["/usr/bin/apt-get", "/bin/apt-get"].find((p) => existsSync(p)),
  root: typeof process.getuid === "function" && process.getuid() === 0,
  run: (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, encoding: "utf8", timeout: 10 * 60_000 });
    return r.status === 0 ? undefined : (r.error?.message ?? (r.stderr.trim().split("\n").at(-1) || `exit ${r.status}`));
  },
  log: (line) => console.log(line),
});

/**
 * Installs missing Debian packages with apt-get (as root, or through `sudo -n`), as the issue
 * asks of the bench ("installed with apt-get if absent"); `--no-install` or a machine without
 * apt-get skips it. The package lists are refreshed only when a first try fails (a fresh
 * container has none). Returns whether the packages were installed.
 */
export function aptInstall(packages: string[], allowed: boolean, host: AptHost = realHost()): boolean {
  if (packages.length === 0) return true;
  const how = `apt-get install ${packages.join(" ")}`;
  if (!allowed) {
    host.log(`not installing ${packages.join(", ")} (--no-install): ${how} to measure them`);
    return false;
  }
  const apt = host.aptGet;
  if (!apt) {
    host.log(`${packages.join(", ")} missing and no apt-get here: install them by hand to measure them`);
    return false;
  }
  // sudo resets the environment: the non-interactive front end goes through env(1).
  const run = (args: string[]) => (host.root ? host.run(apt, args) : host.run("sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", apt, ...args]));
  host.log(`installing ${packages.join(", ")} with apt-get${host.root ? "" : " (sudo -n)"}...`);
  let problem = run(["install", "-y", "-qq", ...packages]);
  if (problem !== undefined && run(["update", "-qq"]) === undefined) problem = run(["install", "-y", "-qq", ...packages]);
  if (problem !== undefined) host.log(`could not install ${packages.join(", ")} (${problem}): ${how} by hand to measure them`);
  return problem === undefined;
}
