// A damaged cache entry is replaced by the bytes of the run it caused, so the next switch back
// restores; `status --verify` names each bad entry once and says how to fix it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { Project, finished } from "../helpers/rig.ts";

//  file (param n) -> build/f.txt        tree (param n) -> build/d/ (a.txt)
const PIPELINEFILE = `import { target, param, sh } from "pipefile";
const n = param.int("n", { default: 1 });
export const file = target({ params: { n }, outputs: ["build/f.txt"], run: ({ outputs, params }) => sh\`echo value \${String(params.n)} > \${outputs[0]}\` });
export const tree = target({ params: { n }, outputs: ["build/d/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]} && echo tree \${String(params.n)} > \${outputs[0]}/a.txt\` });
`;

test("a damaged cache entry is replaced when the recipe runs instead, so the next switch back restores", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  const build = async (n: number) => {
    const r = await p.run(["build", "--json", "-p", `n=${n}`]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  await build(1);
  await build(2);
  // Flip a byte of the n=1 bytes of each: "value 1\n" (build/f.txt) and "tree 1\n" (build/d/a.txt).
  const packPath = p.path(".pipe/cache/pack/objects.pack");
  const pack = readFileSync(packPath);
  const damaged: string[] = [];
  for (const line of readFileSync(p.path(".pipe/cache/pack/objects.idx"), "utf8").split("\n").slice(1, -1)) {
    const [hash, offset, length] = line.split(" ");
    const bytes = pack.subarray(Number(offset), Number(offset) + Number(length)).toString();
    if (bytes !== "value 1\n" && bytes !== "tree 1\n") continue;
    pack[Number(offset) + 1] ^= 1;
    damaged.push(hash);
  }
  assert.equal(damaged.length, 2);
  writeFileSync(packPath, pack);
  const hash = damaged[0];

  const v0 = await p.run(["status", "--verify"]);
  assert.equal(v0.code, 1);
  assert.equal(v0.stdout.match(/^problem: /gm)?.length, 2, v0.stdout);
  assert.match(v0.stdout, new RegExp(`^problem: cache object ${hash} is damaged: its bytes hash to [0-9a-f]+ \\(output build/f\\.txt of "file"\\)$`, "m"));
  assert.match(v0.stdout, /^hint: build "file", "tree" with the params of the runs that recorded these outputs/m);

  // Restoring n=1 finds the bytes damaged and runs the recipes instead.
  const first = await build(1);
  assert.deepEqual(finished(first.events, "built"), ["file", "tree"]);
  assert.equal(p.read("build/f.txt"), "value 1\n");
  assert.equal(p.read("build/d/a.txt"), "tree 1\n");
  const v1 = await p.run(["status", "--verify"]);
  assert.equal(v1.code, 0, v1.stdout);
  // Back and forth: restored from the cache every time now.
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(finished((await build(2)).events, "restored"), ["file", "tree"]);
    assert.deepEqual(finished((await build(1)).events, "restored"), ["file", "tree"]);
  }
  assert.equal(p.read("build/d/a.txt"), "tree 1\n");
  assert.equal((await p.run(["status", "--verify"])).code, 0);
});

test("a rebuilt output whose bytes the pack holds damaged supersedes them, even when no restore came across the damage first", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE });
  assert.equal((await p.run(["build", "-q", "file"])).code, 0);
  const packPath = p.path(".pipe/cache/pack/objects.pack");
  const pack = readFileSync(packPath);
  pack[1] ^= 1;
  writeFileSync(packPath, pack);
  // The record is gone (a new journal), so the build runs the recipe without trying a restore.
  writeFileSync(p.path(".pipe/records.jsonl"), readFileSync(p.path(".pipe/records.jsonl"), "utf8").split("\n")[0] + "\n");
  const r = await p.run(["build", "--json", "file"]);
  assert.deepEqual(finished(r.events, "built"), ["file"]);
  const v = await p.run(["status", "--verify"]);
  assert.equal(v.code, 0, v.stdout);
});

test("a folder's manifest that no longer matches its name (valid JSON, an exec bit and a link target changed) is not restored: the recipe runs, and the next switch back restores", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
const n = param.int("n", { default: 1 });
export const tree = target({ params: { n }, outputs: ["build/d/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]} && echo tree \${String(params.n)} > \${outputs[0]}/m.txt && printf '#!/bin/sh\\\\n' > \${outputs[0]}/x.sh && chmod +x \${outputs[0]}/x.sh && ln -s m.txt \${outputs[0]}/link\` });
`,
  });
  const build = async (n: number) => {
    const r = await p.run(["build", "--json", "-p", `n=${n}`]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  await build(1);
  const treeOf1 = (await p.run(["history", "--json", "tree"])).stdout;
  await build(2);
  // The n=1 record's tree: its manifest edited so that it still parses.
  const hash = /"kind":"dir","hash":"([0-9a-f]+)"/.exec(treeOf1)?.[1];
  assert.ok(hash, treeOf1);
  const manifest = p.path(`.pipe/cache/trees/${hash}.json`);
  const text = readFileSync(manifest, "utf8");
  assert.match(text, /"exec":true/);
  writeFileSync(manifest, text.replace('"exec":true', '"exec":false').replace('"link":"m.txt"', '"link":"zz.txt"'));

  const first = await build(1);
  assert.deepEqual(finished(first.events, "built"), ["tree"], "the damaged manifest is not restored");
  assert.equal(p.read("build/d/m.txt"), "tree 1\n");
  assert.equal(readlinkSync(p.path("build/d/link")), "m.txt");
  assert.ok((statSync(p.path("build/d/x.sh")).mode & 0o111) !== 0, "x.sh is executable");
  assert.equal((await p.run(["status", "--verify"])).code, 0, "the manifest was written again whole");
  assert.deepEqual(finished((await build(2)).events, "restored"), ["tree"]);
  assert.deepEqual(finished((await build(1)).events, "restored"), ["tree"]);
  assert.equal(readlinkSync(p.path("build/d/link")), "m.txt");
  assert.ok((statSync(p.path("build/d/x.sh")).mode & 0o111) !== 0);
  p.remove();
});

test("folders inside a folder output come back from the cache with their modes (a 0700 folder stays private; a 0555 one is filled first)", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
const n = param.int("n", { default: 1 });
export const tree = target({ params: { n }, outputs: ["build/d/"], run: ({ outputs, params }) => sh\`d=\${outputs[0]} && mkdir -p $d/private/deep $d/shared $d/empty $d/ro && echo s\${String(params.n)} > $d/private/deep/s && echo r > $d/ro/r && chmod 700 $d/private && chmod 710 $d/private/deep && chmod 750 $d/shared && chmod 700 $d/empty && chmod 555 $d/ro && chmod 751 $d\` });
`,
  });
  const mode = (f: string) => (statSync(p.path(`build/d${f}`)).mode & 0o777).toString(8);
  const modes = () => ["", "/private", "/private/deep", "/shared", "/empty", "/ro"].map(mode);
  const want = ["751", "700", "710", "750", "700", "555"];
  assert.equal((await p.run(["build"])).code, 0);
  assert.deepEqual(modes(), want, "as the recipe made them");
  assert.equal((await p.run(["build", "-p", "n=2"])).code, 0);
  const back = await p.run(["build", "--json"]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(finished(back.events, "restored"), ["tree"]);
  assert.equal(p.read("build/d/private/deep/s"), "s1\n");
  assert.equal(p.read("build/d/ro/r"), "r\n");
  assert.deepEqual(modes(), want, "as restored from the cache");
  assert.equal((await p.run(["status", "--verify"])).code, 0, "the manifest with folder modes verifies");
  p.remove();
});

test("files inside a folder output come back from the cache with their modes (a 0600 file stays private)", async () => {
  const p = new Project({
    "Pipelinefile.ts": `import { target, param, sh } from "pipefile";
const n = param.int("n", { default: 1 });
export const tree = target({ params: { n }, outputs: ["build/d/"], run: ({ outputs, params }) => sh\`mkdir -p \${outputs[0]} && echo s\${String(params.n)} > \${outputs[0]}/secret && chmod 600 \${outputs[0]}/secret && echo g\${String(params.n)} > \${outputs[0]}/group && chmod 640 \${outputs[0]}/group && echo x > \${outputs[0]}/run.sh && chmod 750 \${outputs[0]}/run.sh\` });
`,
  });
  const mode = (f: string) => (statSync(p.path(`build/d/${f}`)).mode & 0o777).toString(8);
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal((await p.run(["build", "-p", "n=2"])).code, 0);
  const back = await p.run(["build", "--json"]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(finished(back.events, "restored"), ["tree"]);
  assert.equal(p.read("build/d/secret"), "s1\n");
  assert.deepEqual([mode("secret"), mode("group"), mode("run.sh")], ["600", "640", "750"]);
  p.remove();
});
