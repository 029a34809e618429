// The README's CLI reference against the CLI itself: every command `pipe --help` lists, and every
// flag each command takes, is documented (issue: "the README documents every command and flag").
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Project, REPO } from "../helpers/rig.ts";

test("README documents every command pipe --help lists and every flag of each", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Commands"), readme.indexOf("\n### Exit codes"));
  assert.ok(section.length > 100, "the README has a Commands section before Exit codes");
  const p = new Project({});
  const help = p.runSync(["--help"]).stdout;
  const commands = [...help.slice(help.indexOf("commands:")).matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(commands.length >= 9, help);
  // Rows of the options table: `| `cmd` | ... |`, plus the rows for flags every command shares.
  const rows = new Map([...section.matchAll(/^\| `([a-z]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2]]));
  const shared = [...section.matchAll(/^\| all[^|]* \| (.*) \|$/gm)].map((m) => m[1]).join(" ");
  const missing: string[] = [];
  for (const cmd of commands) {
    if (!new RegExp(`^pipe ${cmd}\\b`, "m").test(section)) missing.push(`command ${cmd} (in the block of commands)`);
    const out = p.runSync([cmd, "--help"]).stdout;
    const flags = [...out.slice(out.indexOf("options:")).matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]);
    assert.ok(flags.includes("help"), `${cmd} --help lists its options`);
    const row = rows.get(cmd) ?? "";
    for (const f of new Set(flags)) {
      if (!row.includes(`--${f}`) && !shared.includes(`--${f}`)) missing.push(`pipe ${cmd} --${f}`);
    }
  }
  assert.deepEqual(missing, [], "undocumented in README's Commands section");
});
