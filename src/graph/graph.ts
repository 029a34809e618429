/**
 * The target graph: every target and family instance with its resolved inputs, outputs, params
 * and edges. Immutable once built; no I/O here (see build.ts for construction).
 */
import type { Decl } from "../load/load.ts";
import type { ParamValue } from "./param-values.ts";

/** One declared input item, resolved to files. */
export interface InputItem {
  kind: "file" | "glob" | "dir" | "target";
  /** As written: a path, a pattern, or the target id. */
  spec: string;
  /** Project-relative paths this item stands for (glob matches sorted; a target's outputs). */
  files: string[];
  /** For kind "target": the id of the target whose outputs these are. */
  target?: string;
}

/** A list input (`inputs: [...]`) has one unnamed group; named inputs have one group per name. */
export interface InputGroup {
  name?: string;
  /** True when the named entry is a single file/dir (ctx gets a string, not a list). */
  single: boolean;
  items: InputItem[];
}

export interface OutputDecl {
  /** Name for record-shaped outputs. */
  name?: string;
  /** Project-relative, normalised, no trailing slash. */
  path: string;
  dir: boolean;
}

export interface ParamUse {
  /** Name in ctx.params. */
  local: string;
  /** Command-line name (undefined for key params). */
  cli?: string;
  value: ParamValue;
  isKey: boolean;
}

export interface GraphTarget {
  /** `name` or `name[k=v,...]` (keys sorted). */
  id: string;
  name: string;
  family?: string;
  key?: Record<string, ParamValue>;
  decl: Decl;
  /** Where it (or the instance) was declared. */
  location?: { file: string; line: number; column: number };
  inputsShape: "list" | "record";
  inputs: InputGroup[];
  outputsShape: "list" | "record";
  outputs: OutputDecl[];
  params: ParamUse[];
  env: string[];
  cpu: number;
  /** Bytes of memory declared in `resources.mem` (0: none declared). */
  mem: number;
  /** Ids of targets whose outputs this one reads, sorted. */
  deps: string[];
  /** Params the inputs function read (they count as used even if the recipe never reads them). */
  paramsReadByInputs: string[];
  description?: string;
}

export interface Graph {
  root: string;
  targets: Map<string, GraphTarget>;
  /** Ids in dependency order (dependencies first). */
  order: string[];
  /** Reverse edges. */
  dependents: Map<string, string[]>;
  /** Declared output path -> owning target id. */
  outputOwner: Map<string, string>;
  /** What a bare `pipe build` builds. */
  defaults: string[];
}

/** Whether a target declares `path` as an output, or a folder output holding it. */
export function isDeclaredOutput(graph: Pick<Graph, "outputOwner">, path: string): boolean {
  if (graph.outputOwner.has(path)) return true;
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) if (graph.outputOwner.has(path.slice(0, i))) return true;
  return false;
}

/** Every project-relative source file a target reads directly (not outputs of other targets). */
export function sourceFiles(t: GraphTarget): string[] {
  const out: string[] = [];
  // Loops, not push(...spread): a glob can match more files than a call takes arguments.
  for (const g of t.inputs) {
    for (const i of g.items) {
      if (i.kind === "target") continue;
      if (i.kind === "dir") out.push(i.files[0] + "/");
      else if (!i.target) for (const f of i.files) out.push(f);
    }
  }
  return out;
}

/** The transitive dependencies of `ids` (included), in dependency order. */
export function closure(graph: Graph, ids: Iterable<string>): string[] {
  const want = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (want.has(id)) continue;
    want.add(id);
    for (const d of graph.targets.get(id)!.deps) stack.push(d);
  }
  return graph.order.filter((id) => want.has(id));
}

/** The transitive dependents of `ids` (included). */
export function downstream(graph: Graph, ids: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const d of graph.dependents.get(id) ?? []) stack.push(d);
  }
  return out;
}

/** Formats an instance id: keys sorted, values as written on the command line. */
export function instanceId(name: string, key: Record<string, ParamValue>): string {
  const keys = Object.keys(key).sort();
  return `${name}[${keys.map((k) => `${k}=${Array.isArray(key[k]) ? (key[k] as string[]).join(",") : String(key[k])}`).join(",")}]`;
}

/**
 * Parses `name[k=v,...]`; values stay text. A part that does not start with `<key>=` continues
 * the value before it, so list values and values with commas read back as instanceId wrote
 * them: `f[cols=a,b,k=1]` is cols "a,b" and k "1"; a key seen already continues too. `keysOf`
 * gives a family's key names, so that a value part like `a=b` is not taken for a key; without
 * it, any `word=` starts a key.
 */
export function parseTargetId(id: string, keysOf?: (name: string) => readonly string[] | undefined): { name: string; key?: Record<string, string> } | undefined {
  const m = /^([^[\]]+)(?:\[(.*)\])$|^([^[\]]+)$/s.exec(id.trim());
  if (!m) return undefined;
  if (m[3] !== undefined) return { name: m[3] };
  const key: Record<string, string> = {};
  if (m[2].trim() === "") return { name: m[1], key };
  const known = keysOf?.(m[1]);
  let last: string | undefined;
  for (const part of m[2].split(",")) {
    const k = /^\s*([^\s=]+)\s*=/.exec(part);
    // A key already set does not start again (an id lists each key once): `tag=a,tag=b` is the
    // one value "a,tag=b".
    if (k && (!known || known.includes(k[1])) && !(k[1] in key)) {
      last = k[1];
      key[last] = part.slice(k[0].length);
    } else if (last !== undefined) key[last] += "," + part;
    else return undefined;
  }
  for (const k of Object.keys(key)) key[k] = key[k].trim();
  return { name: m[1], key };
}
