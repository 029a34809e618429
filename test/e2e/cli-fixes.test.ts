// CLI regressions found in review: signals, dry runs, why for families, graph, clean, help.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collect, finished, Project, waitForLine } from "../helpers/rig.ts";

const HEAD = `import { target, family, param, sh } from "pipefile";\n`;

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${sig} during a build prints the interrupt line and exits 130`, async () => {
    const p = new Project({
      "Pipelinefile.ts": HEAD + `export const slow = target({ outputs: ["build/slow.txt"], run: (c) => sh\`sh -c 'echo READY; sleep 300; echo x > "$1"' _ \${c.outputs[0]}\` });\n`,
    });
    const child = p.spawn(["build", "--verbose"]);
    const result = collect(child);
    await waitForLine(child, (l) => l.includes("READY"));
    child.kill(sig);
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /^interrupt: stopping 1 running target$/m, r.stdout);
  });
}

test("clean keeps bytes edited by hand in the cache and says where, before removing the outputs", async () => {
  const p = new Project({
    "src/in.txt": "hi\n",
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ inputs: ["src/in.txt"], outputs: ["build/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });\n` +
      `export const d = target({ inputs: ["src/in.txt"], outputs: ["build/dir/"], run: ({ inputs, outputs }) => sh\`sh -c 'mkdir "$2" && cp "$1" "$2/f"' _ \${inputs[0]} \${outputs[0]}\` });\n` +
      `export default [a, d];\n`,
  });
  assert.equal((await p.run(["build", "-q"])).code, 0);
  p.write({ "build/a.txt": "MY HAND EDIT\n", "build/dir/notes.txt": "MY NOTES\n" });
  const r = await p.run(["clean"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(p.exists("build/a.txt") || p.exists("build/dir"), false, "both outputs removed");
  const cp = /to get them back: cp (\S+) build\/a\.txt && chmod 644 build\/a\.txt\)/.exec(r.stdout);
  assert.ok(cp, r.stdout);
  assert.equal(p.read(cp[1]), "MY HAND EDIT\n", "the edited file's bytes are where clean says");
  const tree = /output build\/dir of "d" was changed outside pipe; pipe kept those bytes before removing them \(to get them back: cp -R (\S+)\/\. build\/dir\)/.exec(r.stdout);
  assert.ok(tree, r.stdout);
  assert.equal(p.read(`${tree[1]}/notes.txt`), "MY NOTES\n", "the kept copy holds the added file");
  assert.match(r.stdout, /^2 outputs removed \(their bytes stay in the cache, except 2 changed outside pipe, which were kept first: see above; `pipe build` restores what it built\)$/m);
  // The build restores what it built, and the edits are gone from the outputs (but kept).
  const b = await p.run(["build", "--json"]);
  assert.deepEqual(b.events.filter((e) => e.type === "target-finished").map((e) => [e.target, e.status]).sort(), [["a", "restored"], ["d", "restored"]]);
  assert.equal(p.read("build/a.txt"), "hi\n");
});

test("why <family> explains every instance, not just the first", async () => {
  const p = new Project({
    "in.txt": "hi\n",
    "Pipelinefile.ts":
      HEAD +
      `export const a = target({ inputs: ["in.txt"], outputs: ["build/a.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export const fam = family({ key: { k: param.enum(["x", "y"]) }, inputs: [a], outputs: ["build/f-{k}.txt"], run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\` });\n` +
      `export default [fam({ k: "x" }), fam({ k: "y" })];\n`,
  });
  assert.equal((await p.run(["build", "-q"])).code, 0);
  p.write({ "build/f-y.txt": "edited\n" });
  const r = await p.run(["why", "fam"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^fam\[k=x\] is up to date$/m, r.stdout);
  assert.match(r.stdout, /^fam\[k=y\] is restorable/m, r.stdout);
});

test("a dry run says what would run and be restored, once each, and counts them so", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ outputs: ["build/a.txt"], run: (c) => sh\`echo a > \${c.outputs[0]}\` });\n` +
      `export const b = target({ outputs: ["build/b.txt"], run: (c) => sh\`echo b > \${c.outputs[0]}\` });\n` +
      `export const c = target({ inputs: ["data.txt"], outputs: ["build/c.txt"], run: (x) => sh\`cp \${x.inputs[0]} \${x.outputs[0]}\` });\n`,
    "data.txt": "1\n",
  });
  assert.equal((await p.run(["build", "a", "b", "c"])).code, 0);
  p.write({ "data.txt": "2\n" });
  const { rmSync } = await import("node:fs");
  rmSync(p.path("build/a.txt"));
  const plain = await p.run(["build", "-n", "a", "b", "c"]);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trim().split("\n");
  assert.deepEqual(lines.filter((l) => /\b(a|c)\b/.test(l) && !l.startsWith("ok")), ["would restore a (output build/a.txt is missing)", "would run c (input data.txt changed)"]);
  assert.match(lines.at(-1)!, /^ok \(dry run\): would run 1, would restore 1, 1 up to date \(checked in \d+ms\)$/);
  const json = await p.run(["build", "-n", "--json", "a", "b", "c"]);
  const fin = Object.fromEntries(json.events.flatMap((e) => (e.type === "target-finished" ? [[e.target, `${e.status}: ${e.reason}`]] : [])));
  assert.deepEqual(fin, { a: "skipped: would restore: output build/a.txt is missing", b: "up-to-date: up to date", c: "skipped: would run: input data.txt changed" });
  assert.equal(p.exists("build/a.txt"), false, "a dry run restores nothing");
  assert.equal(p.read("build/c.txt"), "1\n", "a dry run runs nothing");
  p.remove();
});

test("a target that would run only because a dependency will rebuild is one that \"may run\": early cutoff can spare it, and then does", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const a = target({ inputs: ["x.txt"], outputs: ["build/a.txt"], run: (c) => sh\`sort \${c.inputs[0]} > \${c.outputs[0]}\` });\n` +
      `export const b = target({ inputs: [a], outputs: ["build/b.txt"], run: (c) => sh\`wc -l < \${c.inputs[0]} > \${c.outputs[0]}\` });\n` +
      `export const c = target({ inputs: [b, "y.txt"], outputs: ["build/c.txt"], run: (c) => sh\`cat \${c.inputs} > \${c.outputs[0]}\` });\n` +
      `export default [c];\n`,
    "x.txt": "c\nb\na\n",
    "y.txt": "1\n",
  });
  try {
    // Never built: each would run (a review found b and c called "may run").
    const first = await p.run(["build", "-n"]);
    assert.match(first.stdout, /^dry run: 3 to run /m);
    assert.match(first.stdout, /^would run c \(no record of an earlier run; dependency "b" will rebuild\)$/m);
    assert.equal((await p.run(["build"])).code, 0);
    // The same lines in another order: a reruns, and sorts them to the same bytes.
    p.write({ "x.txt": "b\na\nc\n" });
    const dry = await p.run(["build", "-n"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(dry.stdout.trim().split("\n").map((l) => l.replace(/\d+ms/g, "Nms")), [
      "dry run: 1 to run, 2 may run (jobs 2, about Nms)",
      "would run a (input x.txt changed)",
      'may run b (dependency "a" will rebuild)',
      'may run c (dependency "b" will rebuild)',
      "ok (dry run): would run 1, may run 2 (checked in Nms)",
    ]);
    const json = await p.run(["build", "-n", "--json"]);
    const plan = json.events.find((e) => e.type === "build-started");
    assert.deepEqual(plan?.type === "build-started" && plan.plan.map((t) => [t.target, t.action, t.ifDepsChange ?? false]), [["a", "run", false], ["b", "run", true], ["c", "run", true]]);
    const built = await p.run(["build", "--json"]);
    const fin = Object.fromEntries(built.events.flatMap((e) => (e.type === "target-finished" ? [[e.target, e.status]] : [])));
    assert.deepEqual(fin, { a: "built", b: "up-to-date", c: "up-to-date" });
    // Its output deleted by hand, its bytes in the cache: restored if b comes out as recorded,
    // else run; so it "may run" (a review found "would run" and then "restored").
    p.write({ "x.txt": "c\na\nb\n" });
    const { rmSync } = await import("node:fs");
    rmSync(p.path("build/c.txt"));
    const gone = await p.run(["build", "-n"]);
    assert.match(gone.stdout, /^may run b \(dependency "a" will rebuild\)$/m);
    assert.match(gone.stdout, /^may run c \(output build\/c\.txt is missing; dependency "b" will rebuild\)$/m);
    // The build's own plan says the same, and c is brought back from the cache.
    const goneBuild = await p.run(["build", "--json"]);
    assert.equal(goneBuild.code, 0);
    const gonePlan = goneBuild.events.find((e) => e.type === "build-started");
    assert.deepEqual(gonePlan?.type === "build-started" && gonePlan.plan.map((t) => [t.target, t.ifDepsChange ?? false]), [["a", false], ["b", true], ["c", true]]);
    assert.deepEqual(finished(goneBuild.events, "restored"), ["c"]);
    assert.equal(p.read("build/c.txt"), "3\n1\n");
    // Not in the cache (removed): then it would run whatever b does.
    rmSync(p.path("build/c.txt"));
    rmSync(p.path(".pipe/cache"), { recursive: true });
    p.write({ "x.txt": "a\nb\nc\n" });
    const uncached = await p.run(["build", "-n"]);
    assert.match(uncached.stdout, /^would run c \(output build\/c\.txt is missing; dependency "b" will rebuild\)$/m);
    assert.equal((await p.run(["build"])).code, 0);
    // A reason of its own makes it one that would run, whatever its dependency does.
    p.write({ "x.txt": "a\nc\nb\n", "y.txt": "2\n" });
    const both = await p.run(["build", "-n"]);
    assert.match(both.stdout, /^may run b \(dependency "a" will rebuild\)$/m);
    assert.match(both.stdout, /^would run c \(input y\.txt changed; dependency "b" will rebuild\)$/m);
    assert.match(both.stdout, /^ok \(dry run\): would run 2, may run 1 \(checked in \d+ms\)$/m);
    // The build's own plan says the same (c's input of its own), and it runs so.
    const real = await p.run(["build", "--json"]);
    const realPlan = real.events.find((e) => e.type === "build-started");
    assert.deepEqual(realPlan?.type === "build-started" && realPlan.plan.map((t) => [t.target, t.action, t.ifDepsChange ?? false]), [["a", "run", false], ["b", "run", true], ["c", "run", false]]);
    const done = Object.fromEntries(real.events.flatMap((e) => (e.type === "target-finished" ? [[e.target, e.status]] : [])));
    assert.deepEqual(done, { a: "built", b: "up-to-date", c: "built" });
    assert.match(real.events.flatMap((e) => (e.type === "target-started" && e.target === "c" ? [e.reason ?? ""] : [])).join(), /input y\.txt changed/);
  } finally {
    p.remove();
  }
});

test("an unknown PIPE_SPAWNER is a warning naming the choices; the build goes on", async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + `export const a = target({ outputs: ["build/a.txt"], run: (c) => sh\`echo a > \${c.outputs[0]}\` });\n` });
  const r = await p.run(["build"], { env: { PIPE_SPAWNER: "bogus" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /warning: PIPE_SPAWNER="bogus" is not one of node, perl, python; recipes start the usual way/);
  assert.equal(p.read("build/a.txt"), "a\n");
  const ok = await p.run(["build", "--json"], { env: { PIPE_SPAWNER: "python" } });
  assert.equal(ok.events.some((e) => e.type === "warning"), false);
  p.remove();
});

test("help lists the user's commands only and says what a bare build builds; a skip says why in one parenthesis", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD +
      `export const bad = target({ outputs: ["build/bad.txt"], run: () => sh\`false\` });\n` +
      `export const after = target({ inputs: [bad], outputs: ["build/after.txt"], run: (c) => sh\`cp \${c.inputs[0]} \${c.outputs[0]}\` });\n` +
      // Independent, with a shorter path than bad's: with -j 1, bad starts first and solo never does.
      `export const solo = target({ outputs: ["build/solo.txt"], run: (c) => sh\`echo solo > \${c.outputs[0]}\` });\n`,
  });
  const help = await p.run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ {2}build +bring targets up to date \(default: the Pipelinefile's default export, or every target without one\)$/m);
  assert.doesNotMatch(help.stdout, /^ {2}debug /m, "internals for tests are not listed");
  assert.equal((await p.run(["debug", "--help"])).code, 0, "but they still work");
  const r = await p.run(["build", "-j", "1"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^skipped solo \(not started after an earlier failure; use -k to keep going\)$/m);
  p.remove();
});

test("with --json a user error is also one NDJSON error event on stdout, for every command that has --json", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const a = target({ outputs: ["build/a.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
    "broken/Pipelinefile.ts": HEAD + `export const b = target({ outputs: ["build/b.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` }, );\nexport const c = target(;\n`,
  });
  try {
    const cases = [
      ["build", "nope", "--json"],
      ["build", "--json", "--nope"],
      ["build", "--json", "-j", "0"],
      ["build", "--json", "-f", "broken/Pipelinefile.ts"],
      ["status", "--json", "nope"],
      ["status", "--json", "--verify", "-f", "missing.ts"],
      ["graph", "--json", "nope"],
      ["watch", "--json", "--debounce", "soon"],
      // pipe watch's unknown target went to stdout only (no stderr, none at all with --json).
      ["watch", "--json", "nope"],
      ["status", "--json", "-f", "."],
    ];
    for (const args of cases) {
      const r = await p.run(args);
      const what = args.join(" ");
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^error: /, what);
      const lines = r.stdout.split("\n").filter(Boolean);
      assert.equal(lines.length, 1, `${what}: one line on stdout\n${r.stdout}`);
      assert.deepEqual(JSON.parse(lines[0]), { type: "error", message: r.stderr.trimEnd() }, what);
    }
    // Without --json, stdout stays empty.
    const plain = await p.run(["build", "nope"]);
    assert.equal(plain.code, 2);
    assert.equal(plain.stdout, "");
  } finally {
    p.remove();
  }
});

test("review of the CLI: a flag that takes no value refuses one; --file with a folder; pipe watch's request errors on stderr; status --json still warns; an unexported name near the request is offered", async () => {
  const p = new Project({
    "Pipelinefile.ts": HEAD + `const hidden = target({ name: "hidden", outputs: ["build/h.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\nexport const a = target({ outputs: ["build/a.txt"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`,
  });
  try {
    // `--dry-run=false` did a dry run.
    let r = await p.run(["build", "--dry-run=false"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: build: --dry-run takes no value \(got "false"\)\n  hint: --dry-run alone turns it on; leave it out to keep it off\n$/);
    assert.equal(p.exists("build/a.txt"), false);
    // Whole numbers are written in digits: Number() took 0x10, 1e3 and 4.0 (-j 0x10 ran 16 jobs).
    for (const [args, said] of [
      [["build", "-j", "0x10"], /^error: -j needs a whole number of at least 1, got "0x10"/],
      [["build", "-j", "2.0"], /^error: -j needs a whole number of at least 1, got "2\.0"/],
      [["watch", "--debounce", "1e3"], /^error: --debounce needs a whole number of milliseconds, got "1e3"/],
      [["gc", "--keep-runs", "0x2"], /^error: --keep-runs needs a whole number of runs, at least 1; got "0x2"/],
      [["history", "-n", " 3"], /^error: -n needs a whole number of runs, at least 1; got " 3"/],
    ] as const) {
      const bad = await p.run([...args]);
      assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stdout}${bad.stderr}`);
      assert.match(bad.stderr, said);
    }
    assert.equal(p.exists("build/a.txt"), false);
    r = await p.run(["status", "-f", "."]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --file "\." is a folder, not a Pipelinefile\n  hint: pass the file: --file Pipelinefile\.ts\n$/);
    r = await p.run(["watch", "nope"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: unknown target "nope"/);
    r = await p.run(["build", "hiden"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: unknown target "hiden"; did you mean "hidden"\? \(it is declared, not exported\)\n  not exported: a target named "hidden" declared at Pipelinefile\.ts:2:\d+\n  hint: .*export const hidden = target/);
    r = await p.run(["build", "hidden"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: unknown target "hidden": "hidden" is declared but not exported\n  not exported: a target named "hidden" declared at Pipelinefile\.ts:2:\d+\n  hint: .*export const hidden = target/);
    assert.equal((await p.run(["build", "a"])).code, 0);
    p.write({ ".pipe/stat-cache.json": "{ damaged" });
    r = await p.run(["status", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: .*stat-cache\.json.*damaged/m);
    assert.deepEqual(JSON.parse(r.stdout).targets.map((t: { id: string }) => t.id), ["a"]);
  } finally {
    p.remove();
  }
});
