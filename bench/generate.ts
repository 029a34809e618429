/**
 * The benchmark pipelines: one graph model per (shape, size), rendered three ways (a
 * Pipelinefile.ts with loops, a Makefile, a build.ninja), plus the "floor" script.
 *
 * Shapes (N targets in all of them, every target has exactly one output `out/<k>.txt`):
 *   wide   N independent targets: `cp in/<k>.txt out/<k>.txt`.
 *   tree   a complete 10-ary tree in array layout: node k's children are 10k+1..10k+10 (< N).
 *          Leaves copy their input (`cp in/<k>.txt out/<k>.txt`); internal nodes concatenate
 *          their children's outputs (`cat out/<c1>.txt ... > out/<k>.txt`). One root, node 0.
 *   chain  chains 1,000 deep (N/1,000 of them side by side). Link 0 copies its input; link i
 *          concatenates the previous link's output and its own input file
 *          (`cat out/<k-1>.txt in/<k>.txt > out/<k>.txt`), so changing the input of the link at
 *          depth 500 rebuilds exactly the 500 links from there down.
 *
 * The Makefile and build.ninja list every target explicitly (what a generator would write);
 * the Pipelinefile declares them in loops (what a person would write). The self-check builds
 * all three and compares the outputs byte for byte.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Shape = "wide" | "tree" | "chain";
export type Tool = "pipe" | "make" | "ninja";
export const SHAPES: readonly Shape[] = ["wide", "tree", "chain"];
export const TOOLS: readonly Tool[] = ["make", "ninja", "pipe"];

export const FAN_IN = 10;
export const CHAIN_DEPTH = 1000;

/** One target of the model. Its recipe concatenates `deps` outputs then `files` (cp when only one). */
export interface Node {
  name: string;
  out: string;
  /** Indices of the targets whose outputs it reads, in order. */
  deps: number[];
  /** Source files it reads, after the deps. */
  files: string[];
}

export interface Model {
  shape: Shape;
  size: number;
  nodes: Node[];
  /** Source files and their initial contents. */
  inputs: Map<string, string>;
  /** Indices of the targets a bare build builds. */
  defaults: number[];
  /** The input file the "one input changed" scenario appends to. */
  changeFile: string;
  /** How many targets must run after changing it. */
  expectedRebuilt: number;
}

/** How many targets a shape has at a requested size (chains come in whole 1,000-deep units). */
export function effectiveSize(shape: Shape, size: number): number {
  if (shape === "chain") {
    if (size <= CHAIN_DEPTH) return size;
    return Math.max(1, Math.round(size / CHAIN_DEPTH)) * CHAIN_DEPTH;
  }
  return size;
}

export function chainDepth(size: number): number {
  return Math.min(CHAIN_DEPTH, size);
}

export function buildModel(shape: Shape, requestedSize: number): Model {
  const size = effectiveSize(shape, requestedSize);
  const nodes: Node[] = [];
  const inputs = new Map<string, string>();
  const inFile = (k: number) => {
    const p = `in/${k}.txt`;
    inputs.set(p, `input ${k}\n`);
    return p;
  };
  const out = (k: number) => `out/${k}.txt`;
  let defaults: number[];
  let changeIndex: number;
  if (shape === "wide") {
    for (let k = 0; k < size; k++) nodes.push({ name: `w${k}`, out: out(k), deps: [], files: [inFile(k)] });
    defaults = nodes.map((_, k) => k);
    changeIndex = Math.floor(size / 2);
  } else if (shape === "tree") {
    for (let k = 0; k < size; k++) {
      const deps: number[] = [];
      for (let c = FAN_IN * k + 1; c <= FAN_IN * k + FAN_IN && c < size; c++) deps.push(c);
      nodes.push({ name: `n${k}`, out: out(k), deps, files: deps.length === 0 ? [inFile(k)] : [] });
    }
    defaults = [0];
    changeIndex = size - 1; // a deepest leaf
  } else {
    const depth = chainDepth(size);
    defaults = [];
    for (let c = 0; c < size / depth; c++) {
      for (let i = 0; i < depth; i++) {
        const k = c * depth + i;
        nodes.push({ name: `c${k}`, out: out(k), deps: i === 0 ? [] : [k - 1], files: [inFile(k)] });
      }
      defaults.push(c * depth + depth - 1);
    }
    changeIndex = Math.floor(depth / 2); // depth 500 of the first chain
  }
  const changeFile = nodes[changeIndex].files[0];
  return { shape, size, nodes, inputs, defaults, changeFile, expectedRebuilt: downstream(nodes, changeIndex) };
}

/** How many targets depend on target `k` (itself included), directly or not. */
function downstream(nodes: Node[], k: number): number {
  const users = new Map<number, number[]>();
  nodes.forEach((n, i) => n.deps.forEach((d) => users.set(d, [...(users.get(d) ?? []), i])));
  const seen = new Set<number>([k]);
  const queue = [k];
  while (queue.length) for (const u of users.get(queue.pop()!) ?? []) if (!seen.has(u)) seen.add(u), queue.push(u);
  return seen.size;
}

/** Every input and output path (for the floor script). */
export function allPaths(m: Model): string[] {
  return [...m.inputs.keys(), ...m.nodes.map((n) => n.out)];
}

function recipeWords(m: Model, n: Node): { cat: boolean; args: string[] } {
  const args = [...n.deps.map((d) => m.nodes[d].out), ...n.files];
  return { cat: args.length > 1, args };
}

// ---------------------------------------------------------------------------------------------
// Renderings

/** Pipelinefile.ts: the same graph, declared with loops. */
export function pipelinefile(m: Model): string {
  const head = `// Generated by pipe's bench (bench/generate.ts): ${m.shape}, ${m.size} targets.\nimport { target, sh } from "pipefile";\n\n`;
  if (m.shape === "wide") {
    return `${head}const N = ${m.size};

export const wide = Array.from({ length: N }, (_, k) =>
  target({
    name: \`w\${k}\`,
    inputs: [\`in/\${k}.txt\`],
    outputs: [\`out/\${k}.txt\`],
    run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\`,
  }),
);

export default wide;
`;
  }
  if (m.shape === "tree") {
    return `${head}const N = ${m.size};
const FAN_IN = ${FAN_IN};

// Node k's children are FAN_IN*k+1 .. FAN_IN*k+FAN_IN; declared from the last node up.
const nodes: any[] = new Array(N);
for (let k = N - 1; k >= 0; k--) {
  const children = [];
  for (let c = FAN_IN * k + 1; c <= FAN_IN * k + FAN_IN && c < N; c++) children.push(nodes[c]);
  nodes[k] =
    children.length === 0
      ? target({
          name: \`n\${k}\`,
          inputs: [\`in/\${k}.txt\`],
          outputs: [\`out/\${k}.txt\`],
          run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\`,
        })
      : target({
          name: \`n\${k}\`,
          inputs: children,
          outputs: [\`out/\${k}.txt\`],
          run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\`,
        });
}

export const tree = nodes;
export default [nodes[0]];
`;
  }
  return `${head}const N = ${m.size};
const DEPTH = ${chainDepth(m.size)};

export const chain: any[] = [];
const ends: any[] = [];
for (let c = 0; c < N / DEPTH; c++) {
  let prev: any = undefined;
  for (let i = 0; i < DEPTH; i++) {
    const k = c * DEPTH + i;
    prev =
      prev === undefined
        ? target({
            name: \`c\${k}\`,
            inputs: [\`in/\${k}.txt\`],
            outputs: [\`out/\${k}.txt\`],
            run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\`,
          })
        : target({
            name: \`c\${k}\`,
            inputs: [prev, \`in/\${k}.txt\`],
            outputs: [\`out/\${k}.txt\`],
            run: ({ inputs, outputs }) => sh\`cat \${inputs} > \${outputs[0]}\`,
          });
    chain.push(prev);
  }
  ends.push(prev);
}

export default ends;
`;
}

/** Makefile: every target explicit; built-in rules off, as a careful Makefile author would. */
export function makefile(m: Model): string {
  const lines = [
    `# Generated by pipe's bench (bench/generate.ts): ${m.shape}, ${m.size} targets.`,
    "MAKEFLAGS += --no-builtin-rules",
    ".SUFFIXES:",
    ".PHONY: all",
    `all: ${m.defaults.map((d) => m.nodes[d].out).join(" ")}`,
    "",
  ];
  for (const n of m.nodes) {
    const { cat, args } = recipeWords(m, n);
    lines.push(`${n.out}: ${args.join(" ")}`);
    lines.push(cat ? `\tcat ${args.join(" ")} > ${n.out}` : `\tcp ${args[0]} ${n.out}`);
  }
  return lines.join("\n") + "\n";
}

/** build.ninja: every target explicit. */
export function buildNinja(m: Model): string {
  const lines = [
    `# Generated by pipe's bench (bench/generate.ts): ${m.shape}, ${m.size} targets.`,
    "rule cp",
    "  command = cp $in $out",
    "rule cat",
    "  command = cat $in > $out",
    "",
  ];
  for (const n of m.nodes) {
    const { cat, args } = recipeWords(m, n);
    lines.push(`build ${n.out}: ${cat ? "cat" : "cp"} ${args.join(" ")}`);
  }
  lines.push("", `default ${m.defaults.map((d) => m.nodes[d].out).join(" ")}`);
  return lines.join("\n") + "\n";
}

/** floor.mjs: node start-up plus one statSync per input and output file. */
export function floorScript(m: Model): string {
  return `// Generated by pipe's bench: the floor, node start-up + statSync of every input and output.
import { statSync } from "node:fs";
const paths = JSON.parse(${JSON.stringify(JSON.stringify(allPaths(m)))});
let bytes = 0;
for (const p of paths) bytes += statSync(p).size;
if (bytes < 0) console.log(bytes);
`;
}

/**
 * Writes a fresh project for `tool` into `dir` (which must not exist): the inputs, an empty
 * out/ (make does not create folders), the build file, and for pipe the `node_modules/pipefile`
 * symlink to the repo.
 */
export function writeProject(m: Model, tool: Tool, dir: string, repoRoot: string, rendered: Record<Tool, string>): void {
  mkdirSync(join(dir, "in"), { recursive: true });
  mkdirSync(join(dir, "out"));
  for (const [p, text] of m.inputs) writeFileSync(join(dir, p), text);
  if (tool === "pipe") {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(repoRoot, join(dir, "node_modules", "pipefile"), "dir");
    writeFileSync(join(dir, "Pipelinefile.ts"), rendered.pipe);
  } else if (tool === "make") writeFileSync(join(dir, "Makefile"), rendered.make);
  else writeFileSync(join(dir, "build.ninja"), rendered.ninja);
}

export function renderAll(m: Model): Record<Tool, string> {
  return { pipe: pipelinefile(m), make: makefile(m), ninja: buildNinja(m) };
}
