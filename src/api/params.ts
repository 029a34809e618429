/**
 * Typed params: named values set with `--param name=value`, validated against their declared
 * type before anything runs. A param object is plain data plus a parser; it holds no state.
 */
import { captureSite, type Site } from "./site.ts";

export const PARAM = Symbol.for("pipefile.param");

export type ParamType = "string" | "number" | "int" | "boolean" | "date" | "enum" | "list";

/** A declared param. `T` is the type the recipe sees in `ctx.params`. */
export interface Param<T = unknown> {
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

function make<T>(type: ParamType, name: string | undefined, options: ParamOptions<T>, values?: readonly string[]): Param<T> {
  if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new TypeError(`param name ${JSON.stringify(name)} is not valid: use letters, digits, "_", "-" or "."`);
  }
  return Object.freeze({ [PARAM]: true as const, name, type, options: Object.freeze({ ...options }), values, site: captureSite() });
}

type Named<T> = ((name: string, options?: ParamOptions<T>) => Param<T>) & ((options?: ParamOptions<T>) => Param<T>);

function named<T>(type: ParamType): Named<T> {
  return ((a?: string | ParamOptions<T>, b?: ParamOptions<T>) =>
    typeof a === "string" ? make<T>(type, a, b ?? {}) : make<T>(type, undefined, a ?? {})) as Named<T>;
}

function enumParam<const V extends string>(values: readonly V[], options?: ParamOptions<V>): Param<V>;
function enumParam<const V extends string>(name: string, values: readonly V[], options?: ParamOptions<V>): Param<V>;
function enumParam(a: string | readonly string[], b?: readonly string[] | ParamOptions<string>, c?: ParamOptions<string>): Param<string> {
  if (typeof a === "string") return make("enum", a, c ?? {}, [...(b as readonly string[])]);
  return make("enum", undefined, (b as ParamOptions<string>) ?? {}, [...a]);
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
