// Output that grows with the graph: every line a command prints stays short when a target has
// hundreds of dependencies, inputs or params, or when a chain is hundreds of targets deep
// (found by a new-user review on a 500-instance family and a 1,000-deep chain).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Project } from "../helpers/rig.ts";

function longest(text: string): number {
  return Math.max(0, ...text.split("\n").map((l) => l.length));
}

//   s[i=0] ... s[i=11]  ──►  merged
const FAMILY = `import { target, family, param, sh } from "pipefile";
export const scale = param.int("scale", { default: 1 });
export const s = family({
  key: { i: param.int({ min: 0, max: 100 }) },
  params: { scale },
  inputs: { raw: "data/{i}.txt" }, outputs: { out: "build/s/{i}.txt" },
  run: ({ inputs, outputs, params }) => sh\`sh -c \${'cat "$1"; echo "$2"'} _ \${inputs.raw} \${String(params.scale)} > \${outputs.out}\`,
});
export const instances = Array.from({ length: 12 }, (_, i) => s({ i }));
export const merged = target({ inputs: instances, outputs: ["build/merged.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });
export default [merged];
`;

function familyProject(): Project {
  const files: Record<string, string> = { "Pipelinefile.ts": FAMILY };
  for (let i = 0; i < 12; i++) files[`data/${i}.txt`] = `row ${i}\n`;
  return new Project(files);
}

test("a target over many stale dependencies names three and counts the rest, in status, build --dry-run and why", async () => {
  // Before: 'dependency "s[i=0]" will rebuild; dependency "s[i=1]" will rebuild; ...' once per
  // dependency, on one line (35 KB for a target over 500 instances).
  const p = familyProject();
  assert.equal((await p.run(["build", "-q"])).code, 0);
  const expected = `dependencies "s[i=0]", "s[i=10]", "s[i=11]" and 9 more will rebuild`;
  const status = await p.run(["status", "-p", "scale=2"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^stale\\s+merged +${expected.replace(/[[\]]/g, "\\$&")}$`, "m"));
  const json = JSON.parse((await p.run(["status", "-p", "scale=2", "--json"])).stdout) as { targets: { id: string; reasons: string[] }[] };
  assert.deepEqual(json.targets.find((t) => t.id === "merged")!.reasons, [expected]);
  const dry = await p.run(["build", "--dry-run", "-p", "scale=2"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok(dry.stdout.includes(expected), dry.stdout);
  assert.ok(longest(dry.stdout + dry.stderr) < 200, dry.stdout);
  // why names the dependencies the same way, then what they come down to.
  const why = await p.run(["why", "merged", "-p", "scale=2"]);
  assert.equal(why.code, 0, why.stderr);
  assert.equal(
    why.stdout.split("\n").slice(0, 6).join("\n"),
    [
      "merged is stale:",
      `  ${expected}`,
      "  because s[i=0]: param scale 1 -> 2 (1 step upstream)",
      "  because s[i=10]: param scale 1 -> 2 (1 step upstream)",
      "  because s[i=11]: param scale 1 -> 2 (1 step upstream)",
      "  and 9 more upstream targets stale for reasons of their own",
    ].join("\n"),
  );
});

test("pipe why on a deep chain names the root cause and how far upstream it is", async () => {
  //   in/0.txt ─► c0 ─► c1 ─► ... ─► c29
  // Before: only 'dependency "c28" will rebuild', which says nothing of in/0.txt.
  const p = new Project({
    "in/0.txt": "zero\n",
    "Pipelinefile.ts":
      `import { target, sh } from "pipefile";\n` +
      `let prev: any = target({ name: "c0", inputs: ["in/0.txt"], outputs: ["out/0.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `for (let i = 1; i < 30; i++) prev = target({ name: \`c\${i}\`, inputs: [prev], outputs: [\`out/\${i}.txt\`], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export default [prev];\n`,
  });
  assert.equal((await p.run(["build", "-q"])).code, 0);
  p.write({ "in/0.txt": "changed\n" });
  const why = await p.run(["why", "c29"]);
  assert.equal(why.code, 0, why.stderr);
  assert.equal(why.stdout.split("\n").slice(0, 3).join("\n"), ['c29 is stale:', '  dependency "c28" will rebuild', "  because c0: input in/0.txt changed (29 steps upstream)"].join("\n"));
  // A target stale for its own reason only has no "because".
  const own = await p.run(["why", "c0"]);
  assert.equal(own.stdout.split("\n").slice(0, 2).join("\n"), "c0 is stale:\n  input in/0.txt changed");
  assert.doesNotMatch(own.stdout, /because/);
});

test("params a family's instances leave unread: one warning for the family, naming three params and the id once", async () => {
  // Before: one warning per instance (500 on the review's project), each naming every unread
  // param, with the id twice: 'warning: [s[i=0]] "s[i=0]" did not read params "a", "b", ...'.
  const params = Array.from({ length: 8 }, (_, k) => `const k${k} = param.int("knob_${k}", { default: ${k} });`).join("\n");
  const p = new Project({
    "Pipelinefile.ts":
      `import { target, family, param, sh } from "pipefile";\n${params}\n` +
      `export const s = family({ key: { i: param.int({ min: 0, max: 100 }) }, params: { k0, k1, k2, k3, k4, k5, k6, k7 }, outputs: { out: "build/s/{i}.txt" }, run: ({ outputs }) => sh\`touch \${outputs.out}\` });\n` +
      `export const one = target({ params: { k0 }, outputs: ["build/one.txt"], run: ({ outputs }) => sh\`touch \${outputs[0]}\` });\n` +
      `export default [...Array.from({ length: 20 }, (_, i) => s({ i })), one];\n`,
  });
  const r = await p.run(["build", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.events.flatMap((e) => (e.type === "warning" ? [`${e.target}: ${e.message}`] : [])).sort();
  const tail = "if no run needs them, remove them from params (a declared param is in the fingerprint: changing it reruns the recipe)";
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.equal(warnings[0], `one: did not read param "knob_0" (k0 in this target) in this run (knob_0=0); if no run needs it, remove it from params (a declared param is in the fingerprint: changing it reruns the recipe)`);
  assert.match(warnings[1], /^s\[i=\d+\]: did not read params "knob_0" \(k0\), "knob_1" \(k1\), "knob_2" \(k2\) and 5 more in this run \(knob_0=0, knob_1=1, knob_2=2, knob_3=3, knob_4=4, knob_5=5 and 2 more\); /);
  assert.ok(warnings[1].endsWith(`; ${tail}; not repeated for the other instances of "s" that leave the same params unread in this build`), warnings[1]);
  // The plain reporter prints the id once, and a rebuild of the 20 instances (knob_7 changed;
  // "one" does not use it) warns once again, not 20 times.
  const plain = await p.run(["build", "-p", "knob_7=9"]);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = (plain.stdout + plain.stderr).split("\n").filter((l) => l.includes("did not read"));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines.join("\n"), /^warning: \[s\[i=\d+\]\] did not read params "knob_0"/m);
  for (const l of lines) assert.ok(l.length < 400, l);
});
