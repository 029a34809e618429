/**
 * Typed params: named values set with `--param name=value`, validated against their declared
 * type before anything runs. A param object is plain data plus a parser; it holds no state.
 */
import { captureSite, type Site } from "./site.ts";
import { suggestion } from "../util/did-you-mean.ts";

export const PARAM = Symbol.for("pipefile.param");

export type ParamType = "string" | "number" | "int" | "boolean" | "date" | "enum" | "list";

/**
 * A declared param. `T` is the type the recipe sees in `ctx.params`; `D` whether it has a
 * default (a family key with one may be left out when naming an instance).
 */
export interface Param<T = unknown, D extends boolean = boolean> {
  readonly [PARAM]: true;
  /** Name on the command line (`--param name=value`). Key params get theirs from the key. */
  readonly name: string | undefined;
  readonly type: ParamType;
  readonly options: ParamOptions<T>;
  /** Allowed values, for enum params. */
  readonly values?: readonly string[];
  /** Where it was declared (for error messages). */
  readonly site: Site;
  /** Phantom field carrying the value type; never set. */
  readonly __type?: T;
  /** Phantom field: whether a default was declared; never set. */
  readonly __hasDefault?: D;
}

export interface ParamOptions<T> {
  /** Used when the param is not set. Date params accept "today". Without a default the param is required. */
  default?: T | (T extends string ? "today" : never);
  /** Inclusive bounds for numbers and ints; for dates, ISO strings. */
  min?: T extends number ? number : T extends string ? string : never;
  max?: T extends number ? number : T extends string ? string : never;
  /** One line shown in messages about the param (the list an unknown param gets, a bad value's message). */
  doc?: string;
}

/** The options a param declaration knows; any other name is a mistake (see declarationProblems). */
export const PARAM_OPTIONS: readonly string[] = ["default", "min", "max", "doc"];

function make<T>(type: ParamType, name: string | undefined, options: ParamOptions<T>, values?: readonly string[]): Param<T> {
  if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new TypeError(`param name ${JSON.stringify(name)} is not valid: use letters, digits, "_", "-" or "."`);
  }
  // Typos (`defualt`) are noted here and reported with the Pipelinefile's other problems
  // (load.ts): ignored, `defualt: "q"` read as "no default", and the message said "not set".
  let unknown: string[] | undefined;
  if (options && typeof options === "object") for (const k in options) if (!PARAM_OPTIONS.includes(k) && Object.hasOwn(options, k)) (unknown ??= []).push(k);
  const base = { [PARAM]: true as const, name, type, options: Object.freeze({ ...options }), values, site: captureSite() };
  return Object.freeze(unknown ? { ...base, unknownOptions: unknown } : base);
}

/**
 * Mistakes in a param's declaration, each with its fix: an unknown option (a typo), min above
 * max (no value would be allowed), an enum without values (none could be given). Empty when
 * the declaration is sound. Cheap: load.ts asks it of every param the Pipelinefile reaches.
 */
export function declarationProblems(p: Param): { problem: string; hint: string }[] {
  const out: { problem: string; hint: string }[] = [];
  for (const k of (p as { unknownOptions?: string[] }).unknownOptions ?? []) {
    out.push({ problem: `has an unknown option ${JSON.stringify(k)}${suggestion(k, PARAM_OPTIONS)}`, hint: `options: ${[...PARAM_OPTIONS].sort().join(", ")}` });
  }
  const { min, max } = p.options as { min?: unknown; max?: unknown };
  if ((typeof min === "number" && typeof max === "number") || (typeof min === "string" && typeof max === "string")) {
    if (min > max) out.push({ problem: `has min ${JSON.stringify(min)} above its max ${JSON.stringify(max)}, so no value is allowed`, hint: `swap them (min: ${JSON.stringify(max)}, max: ${JSON.stringify(min)}), or fix the one that is wrong` });
  }
  if (p.type === "enum" && (p.values === undefined || p.values.length === 0)) {
    out.push({ problem: "has no values: an enum param needs the list of values it allows", hint: `list them: param.enum(${p.name === undefined ? "" : `${JSON.stringify(p.name)}, `}["a", "b"])` });
  }
  return out;
}

/** Options with a default: the param it declares may be left unset. */
type WithDefault<T> = ParamOptions<T> & { default: NonNullable<ParamOptions<T>["default"]> };

type Named<T> = ((name: string, options: WithDefault<T>) => Param<T, true>) &
  ((name: string, options?: ParamOptions<T>) => Param<T, false>) &
  ((options: WithDefault<T>) => Param<T, true>) &
  ((options?: ParamOptions<T>) => Param<T, false>);

function named<T>(type: ParamType): Named<T> {
  return ((a?: string | ParamOptions<T>, b?: ParamOptions<T>) =>
    typeof a === "string" ? make<T>(type, a, b ?? {}) : make<T>(type, undefined, a ?? {})) as Named<T>;
}

function enumParam<const V extends string>(values: readonly V[], options: WithDefault<V>): Param<V, true>;
function enumParam<const V extends string>(values: readonly V[], options?: ParamOptions<V>): Param<V, false>;
function enumParam<const V extends string>(name: string, values: readonly V[], options: WithDefault<V>): Param<V, true>;
function enumParam<const V extends string>(name: string, values: readonly V[], options?: ParamOptions<V>): Param<V, false>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads above type the calls
function enumParam(a: string | readonly string[], b?: readonly string[] | ParamOptions<any>, c?: ParamOptions<any>): Param<string, boolean> {
  // Values that are not a list (`param.enum("kind")`) are none: declarationProblems reports it.
  if (typeof a === "string") return make("enum", a, c ?? {}, Array.isArray(b) ? [...b] : []);
  return make("enum", undefined, (b as ParamOptions<string>) ?? {}, Array.isArray(a) ? [...a] : []);
}

/** Param constructors: `param.int("window", { default: 7, min: 1 })`. */
export const param = {
  string: named<string>("string"),
  number: named<number>("number"),
  int: named<number>("int"),
  boolean: named<boolean>("boolean"),
  /** An ISO date `YYYY-MM-DD`; the default may be "today" (the local date when pipe starts). */
  date: named<string>("date"),
  /** A list of strings, written `a,b,c` on the command line. */
  list: named<string[]>("list"),
  enum: enumParam,
};

export function isParam(x: unknown): x is Param {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[PARAM] === true;
}
