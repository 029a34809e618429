// The bench installs the tools it compares with when they are missing (the issue: "make and
// ninja, installed with apt-get if absent"): as root directly, otherwise through `sudo -n`;
// the package lists are refreshed only when a first try fails; never with --no-install.
import { test } from "node:test";
import assert from "node:assert/strict";
import { aptInstall, type AptHost } from "../../bench/apt.ts";

/** A fake machine: records every command; `fail` decides which ones fail. */
function host(o: { root: boolean; aptGet?: string; fail?: (cmd: string, args: string[], n: number) => string | undefined }): AptHost & { calls: string[]; lines: string[] } {
  const calls: string[] = [];
  const lines: string[] = [];
  return {
    aptGet: "aptGet" in o ? o.aptGet : "/usr/bin/apt-get",
    root: o.root,
    run: (cmd, args) => {
      calls.push([cmd, ...args].join(" "));
      return o.fail?.(cmd, args, calls.length);
    },
    log: (line) => lines.push(line),
    calls,
    lines,
  };
}

test("as root, missing packages are installed with apt-get, without refreshing the lists when that works", () => {
  const h = host({ root: true });
  assert.equal(aptInstall(["make", "ninja-build"], true, h), true);
  assert.deepEqual(h.calls, ["/usr/bin/apt-get install -y -qq make ninja-build"]);
  assert.match(h.lines.join("\n"), /installing make, ninja-build with apt-get\.\.\./);
});

test("a fresh machine without package lists: update, then install again", () => {
  const h = host({ root: true, fail: (_c, args, n) => (args[0] === "install" && n === 1 ? "Unable to locate package ninja-build" : undefined) });
  assert.equal(aptInstall(["ninja-build"], true, h), true);
  assert.deepEqual(h.calls, ["/usr/bin/apt-get install -y -qq ninja-build", "/usr/bin/apt-get update -qq", "/usr/bin/apt-get install -y -qq ninja-build"]);
});

test("not root: through sudo -n (never a password prompt); a refusal is reported with the command to type", () => {
  const h = host({ root: false, fail: () => "sudo: a password is required" });
  assert.equal(aptInstall(["ninja-build"], true, h), false);
  assert.deepEqual(h.calls, ["sudo -n env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y -qq ninja-build", "sudo -n env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get update -qq"]);
  assert.match(h.lines.at(-1)!, /could not install ninja-build \(sudo: a password is required\): apt-get install ninja-build by hand/);
});

test("--no-install, no apt-get, or nothing missing: no command runs", () => {
  const off = host({ root: true });
  assert.equal(aptInstall(["make"], false, off), false);
  assert.deepEqual(off.calls, []);
  assert.match(off.lines[0], /not installing make \(--no-install\)/);
  const none = host({ root: true, aptGet: undefined });
  assert.equal(aptInstall(["make"], true, none), false);
  assert.deepEqual(none.calls, []);
  assert.match(none.lines[0], /no apt-get here/);
  const nothing = host({ root: true });
  assert.equal(aptInstall([], true, nothing), true);
  assert.deepEqual(nothing.calls, []);
});
