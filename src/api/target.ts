/**
 * The Pipelinefile API: `target()` and `family()`. Declarations are plain frozen values; no
 * registry is kept. The loader names them by their export names (or their `name` option) and
 * builds the graph from what the Pipelinefile exports.
 */
import type { Param } from "./params.ts";
import { isParam } from "./params.ts";
import type { ShellCommand } from "./sh.ts";
import { captureSite, type Site } from "./site.ts";

export const TARGET = Symbol.for("pipefile.target");

/** A target, a family or a family instance: anything that can be an input. */
export interface TargetRef<O = OutputsSpec> {
  readonly [TARGET]: "target" | "instance";
  /** Phantom: the shape of the target's outputs, for typing `ctx.inputs`. Never set. */
  readonly __outputs?: O;
}

/** A single input: a file, a directory (ends in "/"), a glob, or another target. */
export type InputItem = string | TargetRef;
/** Inputs: a list (ctx.inputs is a flat list of paths) or named (ctx.inputs.name). */
export type InputsSpec = readonly InputItem[] | { readonly [name: string]: InputItem | readonly InputItem[] };
/** Outputs: a list of paths or named paths. A path ending in "/" is a directory. */
export type OutputsSpec = readonly string[] | { readonly [name: string]: string };

type HasGlob<S extends string> = S extends `${string}${"*" | "?" | "[" | "{"}${string}` ? true : false;
/** A family's input template without its `{key}` placeholders (filled before globbing); `{a,b}` stays. */
type WithoutKeys<S extends string> = S extends `${infer A}{${infer K}}${infer B}` ? (K extends `${string}${"," | "*" | "?" | "[" | "{"}${string}` ? S : `${A}${WithoutKeys<B>}`) : S;

/** The paths a target reference stands for, shaped like its outputs. */
export type PathsOf<O> = O extends readonly string[] ? string[] : { [K in keyof O]: string };

type InputValue<X, Keyed extends boolean> = X extends TargetRef<infer O>
  ? PathsOf<O>
  : X extends readonly unknown[]
    ? string[]
    : X extends string
      ? HasGlob<Keyed extends true ? WithoutKeys<X> : X> extends true
        ? string[]
        : string
      : never;

/**
 * What `ctx.inputs` looks like for an inputs spec (`Keyed`: a family's, whose `{key}`
 * placeholders are filled in, so `"data/{region}.csv"` is one path, not a glob).
 */
export type ResolvedInputs<I, Keyed extends boolean = false> = I extends readonly unknown[] ? string[] : I extends undefined ? string[] : { [K in keyof I]: InputValue<I[K], Keyed> };
/** What `ctx.outputs` looks like: the same shape as declared, with staging paths. */
export type ResolvedOutputs<O> = O extends readonly string[] ? string[] : { [K in keyof O]: string };
/** What `ctx.params` looks like for a params spec. */
export type ResolvedParams<P> = { [K in keyof P]: P[K] extends Param<infer T> ? T : never };

/** What a recipe receives. Outputs are staging paths: pipe moves them into place on success. */
export interface RecipeContext<I = any, O = any, P = any> {
  /** The target id, e.g. `trend[attribute=recovered]`. */
  readonly id: string;
  readonly inputs: I;
  readonly outputs: O;
  readonly params: P;
  /** The declared env vars (plus PATH, HOME and the locale). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The project root (the Pipelinefile's folder); the working directory of every recipe. */
  readonly root: string;
  /** Writes a line to the target's log. */
  log(...args: unknown[]): void;
  /** Reports progress: `progress(3, 10)` or `progress(0.3)`. */
  progress(done: number, total?: number): void;
  /** Aborted when the build is interrupted; long recipes should stop when it fires. */
  readonly signal: AbortSignal;
}

/** A recipe: a TypeScript function (runs off the main thread) or one that returns `sh\`...\``. */
export type Recipe<I = any, O = any, P = any> = (ctx: RecipeContext<I, O, P>) => RecipeResult;
export type RecipeResult = void | ShellCommand | Promise<void | ShellCommand>;

export interface Resources {
  /** How many of the `-j` slots this target takes (default 1). */
  cpu?: number;
  /**
   * Memory the recipe needs: bytes, or a size such as "512M", "4G", "1.5GiB". Recipes run at
   * once only while their sizes add up to at most `--mem` (default: the machine's RAM); one
   * bigger than that runs alone.
   */
  mem?: number | string;
}

export interface TargetOptions<I extends InputsSpec | undefined, O extends OutputsSpec, P extends Record<string, Param<any>>> {
  /** The id users type. Defaults to the export name; required for targets not exported by name. */
  name?: string;
  description?: string;
  /**
   * Inputs, or a function of the target's param values that returns them (so a param can
   * choose which files or family instances a target reads: `({ attributes }) => ...`).
   */
  inputs?: I | ((values: ResolvedParams<P>) => I);
  outputs: O;
  params?: P;
  /** Env vars the recipe may see; their values are part of the fingerprint. */
  env?: readonly string[];
  resources?: Resources;
  /** The recipe. (A method signature, so a recipe typed with a narrower context is accepted.) */
  run(ctx: RecipeContext<NoInfer<ResolvedInputs<I>>, NoInfer<ResolvedOutputs<O>>, NoInfer<ResolvedParams<P>>>): RecipeResult;
}

export interface Target<I extends InputsSpec | undefined = any, O extends OutputsSpec = any, P extends Record<string, Param<any>> = any> extends TargetRef<O> {
  readonly [TARGET]: "target";
  readonly options: TargetOptions<I, O, P>;
  readonly site: Site;
}

type KeySpec = Record<string, Param<any>>;
type KeyValues<K extends KeySpec> = ResolvedParams<K>;
/** What naming an instance takes: every key, except those with a default, which may be left out. */
export type KeyArgs<K extends KeySpec> = { [k in keyof K as K[k] extends Param<any, true> ? never : k]: K[k] extends Param<infer T> ? T : never } & {
  [k in keyof K as K[k] extends Param<any, true> ? k : never]?: K[k] extends Param<infer T> ? T : never;
};

export interface FamilyOptions<K extends KeySpec, I extends InputsSpec | undefined, O extends OutputsSpec, P extends Record<string, Param<any>>> {
  name?: string;
  description?: string;
  /** The key params; each instance has one value for each (`trend[attribute=recovered]`). */
  key: K;
  /** Inputs, or a function of the instance's key values and param values that returns them. */
  inputs?: I | ((values: KeyValues<K> & ResolvedParams<P>) => I);
  /**
   * Output paths of an instance: a function of the key, or the same shape with `{key}`
   * placeholders (`{ svg: "build/trend/{attribute}.svg" }`), which types `ctx.inputs` precisely
   * even when the recipe is a separately typed function.
   */
  outputs: O | ((key: KeyValues<K>) => O);
  params?: P;
  env?: readonly string[];
  resources?: Resources;
  run(ctx: RecipeContext<NoInfer<ResolvedInputs<I, true>>, NoInfer<ResolvedOutputs<O>>, NoInfer<ResolvedParams<P> & KeyValues<K>>>): RecipeResult;
}

export interface Instance<O extends OutputsSpec = any> extends TargetRef<O> {
  readonly [TARGET]: "instance";
  readonly family: Family<any, any, O, any>;
  readonly key: Readonly<Record<string, unknown>>;
  readonly site: Site;
}

export interface Family<K extends KeySpec = any, I extends InputsSpec | undefined = any, O extends OutputsSpec = any, P extends Record<string, Param<any>> = any> {
  (key: KeyArgs<K>): Instance<O>;
  readonly [TARGET]: "family";
  readonly options: FamilyOptions<K, I, O, P>;
  readonly site: Site;
}

/** Declares a target. */
/** The options target() knows; family() knows `key` too. */
export const TARGET_OPTIONS: readonly string[] = ["name", "description", "inputs", "outputs", "params", "env", "resources", "run"];
export const FAMILY_OPTIONS: readonly string[] = [...TARGET_OPTIONS, "key"];
const TARGET_SET = new Set(TARGET_OPTIONS);
const FAMILY_SET = new Set(FAMILY_OPTIONS);

/**
 * Option names a declaration does not know (typos: `ouputs`), found here on the caller's own
 * object (for...in over a fresh literal is cheap; over the frozen copy it cost 5-8 ms per
 * 10,000 targets) and reported when the Pipelinefile is named (load.ts). Undefined if none.
 */
function unknownOptions(options: object, known: Set<string>): string[] | undefined {
  let out: string[] | undefined;
  plain = true;
  for (const k in options) {
    if (!known.has(k)) {
      if (Object.hasOwn(options, k)) (out ??= []).push(k);
    } else if (CHECKED.has(k)) plain = false;
  }
  if (out) plain = false;
  return out;
}

/**
 * The options whose values the loader checks (load.ts: checkOptions, checkTemplates). A target
 * with none of them and no unknown option (most of 10,000 declared in a loop) is marked with
 * NOTHING_TO_CHECK and not looked at again: reading each one's absent options there cost about
 * 20 ms of a 10,000-target load. Set by unknownOptions, for the declaration it scanned last.
 */
const CHECKED = new Set(["description", "params", "env", "resources"]);
let plain = true;
export const NOTHING_TO_CHECK: unique symbol = Symbol("pipe.nothingToCheck");

/** Declarations made while the Pipelinefile is evaluated (see collectDeclarations). */
let made: object[] | undefined;

/**
 * Starts noting every target and family declared, until the returned function is called (it
 * returns them): the loader compares them with what the Pipelinefile exports, to name a target
 * that is declared but reachable from no export (pipe would never see it).
 */
export function collectDeclarations(): () => object[] {
  const mine: object[] = [];
  made = mine;
  return () => {
    if (made === mine) made = undefined;
    return mine;
  };
}

export function target<const I extends InputsSpec | undefined = undefined, const O extends OutputsSpec = OutputsSpec, const P extends Record<string, Param<any>> = {}>(
  options: TargetOptions<I, O, P>,
): Target<I, O, P> {
  if (typeof options !== "object" || options === null) throw new TypeError("target() needs an options object");
  const unknown = unknownOptions(options, TARGET_SET);
  const frozen = Object.freeze({ ...options });
  const site = captureSite(target);
  const decl = Object.freeze(unknown ? { [TARGET]: "target" as const, options: frozen, site, unknownOptions: unknown } : plain ? { [TARGET]: "target" as const, options: frozen, site, [NOTHING_TO_CHECK]: true } : { [TARGET]: "target" as const, options: frozen, site });
  made?.push(decl);
  return decl;
}

/** Declares a parametrised family of targets; call it with key values to get an instance. */
export function family<const K extends KeySpec, const I extends InputsSpec | undefined = undefined, const O extends OutputsSpec = any, const P extends Record<string, Param<any>> = {}>(
  options: FamilyOptions<K, I, O, P>,
): Family<K, I, O, P> {
  if (typeof options !== "object" || options === null) throw new TypeError("family() needs an options object");
  for (const [k, p] of Object.entries(options.key ?? {})) {
    if (!isParam(p)) throw new TypeError(`family key ${JSON.stringify(k)} must be a param (param.enum([...]), param.int(), ...)`);
  }
  const site = captureSite(family);
  const fam = ((key: KeyArgs<K>) =>
    Object.freeze({ [TARGET]: "instance" as const, family: fam, key: Object.freeze({ ...(key as object) }), site: captureSite(fam) })) as unknown as Family<K, I, O, P>;
  Object.defineProperty(fam, TARGET, { value: "family" });
  Object.defineProperty(fam, "options", { value: Object.freeze({ ...options }) });
  Object.defineProperty(fam, "site", { value: site });
  const unknown = unknownOptions(options, FAMILY_SET);
  if (unknown) Object.defineProperty(fam, "unknownOptions", { value: unknown });
  made?.push(fam);
  return Object.freeze(fam);
}

export type AnyDecl = Target | Family | Instance;

export function declKind(x: unknown): "target" | "family" | "instance" | undefined {
  if ((typeof x === "object" || typeof x === "function") && x !== null) {
    const k = (x as Record<symbol, unknown>)[TARGET];
    if (k === "target" || k === "family" || k === "instance") return k;
  }
  return undefined;
}
