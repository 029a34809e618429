// Property test for incremental correctness.
//
// A random DAG of 32+ targets mixing shell recipes (inline in the Pipelinefile) and TypeScript
// recipes (one module each under recipes/, all with the same function text), then a random
// sequence of edits: input content changed, touch only, param changed, recipe code edited,
// comment-only edit, unrelated target added, output deleted, output edited by hand, a declared
// env var's value changed, a file added to a glob input.
// After each edit:
//   - the incremental build's outputs are byte-identical to a clean build of the same state in
//     a fresh copy, and to what an independent model of the recipes computes;
//   - the recipes that ran are exactly those whose (code, params, input content) combination
//     was never built before: early cutoff and restores from the cache included. What ran is
//     read from a log the recipes themselves append to (logs/runs.log), not only from pipe's events,
//     and the targets restored from the cache are checked too.
// Three seeds by default (PIPE_PROPERTY_SEEDS=4,5 for others); each seed's DAG has a `len`
// target over a source with a dependent, and an edit that keeps that source's length, so early
// cutoff is exercised whatever the seed (the test fails if no step saw one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { utimesSync, rmSync } from "node:fs";
import { finished, Project } from "../helpers/rig.ts";

type Kind = "upper" | "len" | "rev" | "cat";
interface Node {
  id: string;
  kind: Kind;
  inputs: string[]; // "src/sN.txt", GLOB or target ids
  usesSalt: boolean;
  /** Declares env var MODE_VAR and prints it (shell recipes only). */
  usesEnv: boolean;
}

/** A glob input: the files under extra/ in name order. */
const GLOB = "extra/*.txt";
const MODE_VAR = "PIPE_PROPERTY_MODE";

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"];

class World {
  readonly r: () => number;
  readonly nodes: Node[] = [];
  readonly sources = new Map<string, string>();
  readonly extras = new Map<string, string>(); // extra/eNN.txt, matched by GLOB
  readonly versions = new Map<string, string>(); // TS target id -> VERSION
  readonly comments = new Map<string, number>(); // module -> comment lines
  readonly shVariants = new Map<string, number>(); // "upper" target id -> which of two commands (same output)
  salt = "s0";
  mode = "m0";
  readonly seen = new Map<string, Set<string>>(); // target -> built combinations

  constructor(seed: number, size: number) {
    this.r = rng(seed);
    for (let i = 0; i < 8; i++) this.sources.set(`src/s${i}.txt`, this.words());
    this.addExtra();
    for (let i = 0; i < size; i++) this.addNode();
    // Someone reads the glob, and someone the env var, whatever the seed.
    if (!this.nodes.some((n) => n.inputs.includes(GLOB))) this.nodes[0].inputs.push(GLOB);
    const shell = this.nodes.filter((n) => n.kind !== "rev");
    if (shell.length && !shell.some((n) => n.usesEnv)) shell[0].usesEnv = true;
    // Early cutoff, whatever the seed: a `len` over one source, read by another target.
    const len = { id: `t${this.nodes.length}`, kind: "len" as const, inputs: ["src/s0.txt"], usesSalt: false, usesEnv: false };
    this.nodes.push(len, { id: `t${this.nodes.length + 1}`, kind: "cat" as const, inputs: [len.id, "src/s1.txt"], usesSalt: false, usesEnv: false });
    if (!this.nodes.some((n) => n.kind === "upper")) this.nodes.push({ id: `t${this.nodes.length}`, kind: "upper", inputs: ["src/s2.txt"], usesSalt: false, usesEnv: false });
  }

  addExtra(): void {
    this.extras.set(`extra/e${String(this.extras.size).padStart(2, "0")}.txt`, this.words());
  }

  /** What a recipe reads for one input: a source's bytes, the glob's files in name order, or a target's output. */
  read(i: string, files: Map<string, string>, outs: Map<string, string>): string {
    if (i === GLOB) return [...this.extras.keys()].sort().map((k) => this.extras.get(k)!).join("");
    return i.startsWith("src/") ? files.get(i)! : outs.get(i)!;
  }

  pick<T>(xs: T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }

  words(): string {
    const n = 1 + Math.floor(this.r() * 5);
    return Array.from({ length: n }, () => this.pick(WORDS)).join(" ") + "\n";
  }

  addNode(): Node {
    const id = `t${this.nodes.length}`;
    const kind = this.pick<Kind>(["upper", "len", "rev", "rev", "cat"]);
    const pool = [...this.sources.keys(), GLOB, ...this.nodes.map((n) => n.id)];
    const k = 1 + Math.floor(this.r() * 3);
    const inputs = [...new Set(Array.from({ length: k }, () => (this.r() < 0.6 && this.nodes.length ? this.pick(this.nodes).id : this.pick(pool))))];
    const node = { id, kind, inputs, usesSalt: this.r() < 0.3, usesEnv: kind !== "rev" && this.r() < 0.2 };
    this.nodes.push(node);
    if (kind === "rev") this.versions.set(id, "v0");
    return node;
  }

  out(id: string): string {
    return `build/${id}.txt`;
  }

  /** The model: what each recipe writes, given the files it reads. */
  compute(files: Map<string, string>): Map<string, string> {
    const outs = new Map<string, string>();
    for (const n of this.nodes) {
      const text = n.inputs.map((i) => this.read(i, files, outs)).join("");
      const tail = (n.usesSalt ? this.salt + "\n" : "") + (n.usesEnv ? this.mode + "\n" : "");
      let o: string;
      if (n.kind === "upper") o = text.toUpperCase() + tail;
      else if (n.kind === "len") o = `${Buffer.byteLength(text)}\n` + tail;
      else if (n.kind === "cat") o = text + tail;
      else o = text.split("\n").reverse().join("\n") + `|${this.versions.get(n.id)}|${n.usesSalt ? this.salt : ""}\n`;
      outs.set(n.id, o);
    }
    return outs;
  }

  /** Targets that must run: their combination of code, params and input bytes is new. */
  expectRuns(outs: Map<string, string>): string[] {
    const ran: string[] = [];
    for (const n of this.nodes) {
      // A glob counts with its file names, as pipe's fingerprint does.
      const text = n.inputs.map((i) => (i === GLOB ? JSON.stringify([...this.extras].sort()) : this.read(i, this.sources, outs))).join("\u0000");
      const combo = JSON.stringify([n.kind, n.inputs, this.versions.get(n.id) ?? "", this.shVariants.get(n.id) ?? 0, n.usesSalt ? this.salt : "", n.usesEnv ? this.mode : "", text]);
      const seen = this.seen.get(n.id) ?? new Set();
      if (!seen.has(combo)) {
        ran.push(n.id);
        seen.add(combo);
        this.seen.set(n.id, seen);
      }
    }
    return ran.sort();
  }

  files(): Record<string, string> {
    // Recipes log their runs in logs/runs.log, outside every output and input.
    const f: Record<string, string> = { ...Object.fromEntries([...this.sources, ...this.extras]), "logs/.keep": "" };
    const lines = [`import { target, param, sh } from "pipefile";`, `export const salt = param.string("salt", { default: "s0" });`];
    for (const n of this.nodes) {
      const ins = n.inputs.map((i) => (i.startsWith("src/") || i === GLOB ? JSON.stringify(i) : i)).join(", ");
      const params = (n.usesSalt ? ", params: { salt }" : "") + (n.usesEnv ? `, env: [${JSON.stringify(MODE_VAR)}]` : "");
      let run: string;
      if (n.kind !== "rev") {
        // Two commands for "upper", with the same output: editing one into the other is a code
        // edit of a shell recipe (it reruns; its dependents are spared by early cutoff).
        const upper = (this.shVariants.get(n.id) ?? 0) === 0 ? "cat ${c.inputs} | tr a-z A-Z" : "cat ${c.inputs} | tr '[:lower:]' '[:upper:]'";
        const body = { upper, len: "cat ${c.inputs} | wc -c", cat: "cat ${c.inputs}" }[n.kind];
        const more = [n.usesSalt ? "echo ${c.params.salt}" : "", n.usesEnv ? `echo \${c.env.${MODE_VAR}}` : ""].filter(Boolean);
        // Each run says so in runs.log (outside build/), for the check to count runs itself.
        run = `(c) => sh\`(${[body, ...more].join("; ")}) > \${c.outputs[0]}; echo ${n.id} >> logs/runs.log\``;
      } else {
        lines.push(`import { rev as rev_${n.id} } from "./recipes/${n.id}.ts";`);
        run = `rev_${n.id}`;
        const comments = "// a comment\n".repeat(this.comments.get(n.id) ?? 0);
        f[`recipes/${n.id}.ts`] =
          `${comments}import { appendFileSync, readFileSync, writeFileSync } from "node:fs";\nexport const VERSION = ${JSON.stringify(this.versions.get(n.id))};\n` +
          `export async function rev(ctx: any) {\n  appendFileSync("logs/runs.log", ctx.id + "\\n");\n  const text = ctx.inputs.map((p: string) => readFileSync(p, "utf8")).join("");\n` +
          `  writeFileSync(ctx.outputs[0], text.split("\\n").reverse().join("\\n") + "|" + VERSION + "|" + ("salt" in ctx.params ? ctx.params.salt : "") + "\\n");\n}\n`;
      }
      lines.push(`export const ${n.id} = target({ inputs: [${ins}], outputs: [${JSON.stringify(this.out(n.id))}]${params}, run: ${run} });`);
      lines.push("// " + "x".repeat(this.comments.get("Pipelinefile.ts") ?? 0));
    }
    lines.push(`export default [${this.nodes.map((n) => n.id).join(", ")}];`);
    f["Pipelinefile.ts"] = lines.join("\n") + "\n";
    return f;
  }
}

/** How one seed's builds were planned: in full, trusting targets from the snapshot, or from a partial graph. */
type Plans = { full: number; trusted: number; partialGraph: number; steps: string[] };

/** The lines recipes appended to runs.log since the last call (sorted), and the log emptied. */
function takeRuns(p: Project): string[] {
  const text = p.exists("logs/runs.log") ? p.read("logs/runs.log") : "";
  rmSync(p.path("logs/runs.log"), { force: true });
  return text.split("\n").filter(Boolean).sort();
}

async function check(p: Project, w: World, label: string, plans: Plans): Promise<number> {
  const expectedOut = w.compute(w.sources);
  const expectedRuns = w.expectRuns(expectedOut);
  // What must come back from the cache: outputs not as the model has them now, of targets that do not run.
  const before = p.snapshot("build");
  const expectedRestored = w.nodes.map((n) => n.id).filter((id) => !expectedRuns.includes(id) && before[`build/${id}.txt`] !== expectedOut.get(id)).sort();
  const env = { [MODE_VAR]: w.mode };
  const r = await p.run(["build", "--json", "--shuffle", "--param", `salt=${w.salt}`], { env });
  assert.equal(r.code, 0, `${label}: build failed\n${r.stdout}\n${r.stderr}`);
  const started = r.events.find((e) => e.type === "build-started");
  if (started?.type === "build-started") {
    const how = started.partialGraph ? "partialGraph" : started.trustedFromSnapshot ? "trusted" : "full";
    plans[how]++;
    const warned = r.events.flatMap((e) => (e.type === "warning" ? [e.message.slice(0, 120)] : []));
    plans.steps.push(`${label}: ${how}${warned.length ? ` (warnings: ${warned.join(" | ")})` : ""}`);
  }
  const built = finished(r.events, "built");
  if (JSON.stringify(built) !== JSON.stringify(expectedRuns)) {
    // Why pipe ran (or not) what the model did not expect: the reasons in its events.
    const odd = [...built.filter((id) => !expectedRuns.includes(id)), ...expectedRuns.filter((id) => !built.includes(id))].slice(0, 3);
    const reasons = r.events.flatMap((e) => (e.type === "target-finished" && odd.includes(e.target) ? [`${e.target}: ${e.status} (${e.reason ?? ""})`] : []));
    assert.deepEqual(built, expectedRuns, `${label}: the recipes pipe says it ran\n${reasons.join("\n")}`);
  }
  assert.deepEqual(takeRuns(p), expectedRuns, `${label}: the recipes that ran (their own log)`);
  assert.deepEqual(finished(r.events, "restored"), expectedRestored, `${label}: the targets restored from the cache`);
  const got = p.snapshot("build");
  const want = Object.fromEntries([...expectedOut].map(([id, o]) => [`build/${id}.txt`, o]).sort(([a], [b]) => (a < b ? -1 : 1)));
  assert.deepEqual(got, want, `${label}: outputs match the model`);
  // A clean build of the same state in a fresh copy gives the same bytes, running every recipe.
  const fresh = p.freshCopy((rel) => rel.startsWith("build") || rel === "logs/runs.log");
  try {
    const c = await fresh.run(["build", "--json", "--param", `salt=${w.salt}`], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(fresh.snapshot("build"), got, `${label}: incremental == clean build`);
    assert.equal(takeRuns(fresh).length, w.nodes.length, `${label}: the clean build ran every recipe`);
  } finally {
    fresh.remove();
  }
  // Early cutoffs seen: targets that did not run although a target they read did.
  return w.nodes.filter((n) => !expectedRuns.includes(n.id) && n.inputs.some((i) => expectedRuns.includes(i))).length;
}

const seeds = (process.env.PIPE_PROPERTY_SEEDS ?? "1,2,3").split(",").map(Number);
for (const seed of seeds) {
  test(`random DAGs and edits: incremental builds equal clean builds and run exactly the changed recipes (seed ${seed})`, { timeout: 300_000 }, async () => {
    const w = new World(seed, 32);
    const p = new Project(w.files());
    // Per seed: counted across seeds, only the first seed could fail the check at the end.
    const plans: Plans = { full: 0, trusted: 0, partialGraph: 0, steps: [] };
    try {
      let cutoffs = await check(p, w, "initial build", plans);
      const edits = ["content", "touch", "param", "code", "sh-code", "cutoff", "comment", "add", "delete-output", "edit-output", "env", "glob-add"] as const;
      const steps = Number(process.env.PIPE_PROPERTY_STEPS ?? 16);
      for (let step = 0; step < steps; step++) {
        // Every kind of edit at least once, then random ones.
        const edit = step < edits.length ? edits[step] : w.pick([...edits]);
        const label = `step ${step} (${edit})`;
        switch (edit) {
          case "content": {
            const s = w.pick([...w.sources.keys()]);
            const old = w.sources.get(s)!;
            // Half the time keep the length (early cutoff for the "len" recipes).
            const next = w.r() < 0.5 ? old.replace(/[a-z]/, (ch) => (ch === "a" ? "b" : "a")) : w.words();
            w.sources.set(s, next);
            p.write({ [s]: next });
            break;
          }
          case "touch": {
            const t = new Date(Date.now() + 3_600_000 * (1 + step));
            for (const s of [...w.sources.keys(), ...w.extras.keys()]) utimesSync(p.path(s), t, t);
            break;
          }
          case "param":
            w.salt = w.pick(["s0", "s1", "s2"].filter((x) => x !== w.salt));
            break;
          case "code": {
            const ts = w.nodes.filter((n) => n.kind === "rev");
            const n = w.pick(ts);
            w.versions.set(n.id, w.pick(["v0", "v1", "v2"].filter((v) => v !== w.versions.get(n.id))));
            p.write(w.files());
            break;
          }
          case "sh-code": {
            const n = w.pick(w.nodes.filter((x) => x.kind === "upper"));
            w.shVariants.set(n.id, 1 - (w.shVariants.get(n.id) ?? 0));
            p.write(w.files());
            break;
          }
          case "cutoff": {
            // src/s0.txt, read by the `len` target made for this, keeps its length.
            const old = w.sources.get("src/s0.txt")!;
            const next = old.replace(/[a-z]/, (ch) => (ch === "a" ? "b" : "a"));
            w.sources.set("src/s0.txt", next);
            p.write({ "src/s0.txt": next });
            break;
          }
          case "comment": {
            const ts = w.nodes.filter((n) => n.kind === "rev");
            const key = w.r() < 0.5 ? w.pick(ts).id : "Pipelinefile.ts";
            w.comments.set(key, (w.comments.get(key) ?? 0) + 1);
            p.write(w.files());
            break;
          }
          case "add":
            w.addNode();
            p.write(w.files());
            break;
          case "delete-output":
            rmSync(p.path(w.out(w.pick(w.nodes).id)));
            break;
          case "edit-output":
            p.write({ [w.out(w.pick(w.nodes).id)]: "edited by hand\n" });
            break;
          case "env":
            w.mode = w.pick(["m0", "m1", "m2"].filter((x) => x !== w.mode));
            break;
          case "glob-add":
            w.addExtra();
            p.write(Object.fromEntries(w.extras));
            break;
        }
        cutoffs += await check(p, w, label, plans);
      }
      assert.ok(cutoffs > 0, "no step saw an early cutoff");
      // This seed's edits reach every way of planning (content edits plan from a partial graph,
      // a deleted output trusts targets in a whole graph, a code edit plans in full).
      assert.ok(plans.partialGraph > 0 && plans.trusted > 0 && plans.full > 0, `plans: ${JSON.stringify(plans)}`);
    } finally {
      p.remove();
    }
  });
}
