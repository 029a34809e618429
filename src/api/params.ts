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

/** A declaration's arguments of the wrong shape, each with its fix (reported by declarationProblems). */
interface ArgumentProblem {
  problem: string;
  hint: string;
}

function make<T>(type: ParamType, name: string | undefined, options: ParamOptions<T>, values?: readonly string[], argumentProblems?: ArgumentProblem[]): Param<T> {
  if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new TypeError(`param name ${JSON.stringify(name)} is not valid: use letters, digits, "_", "-" or "."`);
  }
  // Typos (`defualt`) are noted here and reported with the Pipelinefile's other problems
  // (load.ts): ignored, `defualt: "q"` read as "no default", and the message said "not set".
  let unknown: string[] | undefined;
  if (options && typeof options === "object") for (const k in options) if (!PARAM_OPTIONS.includes(k) && Object.hasOwn(options, k)) (unknown ??= []).push(k);
  // Options that are not an object (`param.int("window", 7)`, Luigi's habit) were dropped: the
  // param had no default, and the message said "not set" under a line that plainly set one.
  const good = options && typeof options === "object" && !Array.isArray(options);
  const base = { [PARAM]: true as const, name, type, options: Object.freeze(good ? { ...options } : {}), values, site: captureSite() };
  const extra = { ...(unknown ? { unknownOptions: unknown } : {}), ...(argumentProblems?.length ? { argumentProblems } : {}) };
  return Object.freeze({ ...base, ...extra });
}

/**
 * Mistakes in a param's declaration, each with its fix: an unknown option (a typo), min above
 * max (no value would be allowed), an enum without values (none could be given) or with a
 * default outside them. Empty when
 * the declaration is sound. Cheap: load.ts asks it of every param the Pipelinefile reaches.
 */
export function declarationProblems(p: Param): { problem: string; hint: string }[] {
  const out: { problem: string; hint: string }[] = [...((p as { argumentProblems?: ArgumentProblem[] }).argumentProblems ?? [])];
  for (const k of (p as { unknownOptions?: string[] }).unknownOptions ?? []) {
    out.push({ problem: `has an unknown option ${JSON.stringify(k)}${suggestion(k, PARAM_OPTIONS)}`, hint: `options: ${[...PARAM_OPTIONS].sort().join(", ")}` });
  }
  const { min, max } = p.options as { min?: unknown; max?: unknown };
  // Bounds mean something for numbers and dates only (on a string they were kept and shown,
  // and checked as text); a date's must be dates (text compared with "Jan 2020" misled).
  const bounded = p.type === "number" || p.type === "int" || p.type === "date";
  for (const [k, v] of [["min", min], ["max", max]] as const) {
    if (v === undefined) continue;
    if (!bounded) out.push({ problem: `has ${k} ${JSON.stringify(v)}, but ${p.type === "enum" ? "an" : "a"} ${p.type} param has no bounds`, hint: `remove ${k}${p.type === "enum" ? " (the values list is what it allows)" : ""}` });
    else if (p.type === "date" && (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(v))) out.push({ problem: `has ${k} ${JSON.stringify(v)}, which is not a date`, hint: `write it as YYYY-MM-DD (${k}: "2020-01-01")` });
  }
  if ((typeof min === "number" && typeof max === "number") || (typeof min === "string" && typeof max === "string")) {
    if (min > max) out.push({ problem: `has min ${JSON.stringify(min)} above its max ${JSON.stringify(max)}, so no value is allowed`, hint: `swap them (min: ${JSON.stringify(max)}, max: ${JSON.stringify(min)}), or fix the one that is wrong` });
  }
  if (p.type === "enum" && (p.values === undefined || p.values.length === 0)) {
    out.push({ problem: "has no values: an enum param needs the list of values it allows", hint: `list them: param.enum(${p.name === undefined ? "" : `${JSON.stringify(p.name)}, `}["a", "b"])` });
  } else if (p.type === "enum") {
    // At the declaration, also for a param no target uses yet (it was said only once one did).
    const d = (p.options as { default?: unknown }).default;
    if (d !== undefined && !p.values!.includes(d as string)) {
      out.push({ problem: `has the default ${JSON.stringify(d)}, which is not one of its values ${p.values!.map((v) => JSON.stringify(v)).join(", ")}`, hint: `make the default one of the values, or add ${JSON.stringify(d)} to them` });
    }
  }
  return out;
}

/** Options of a param without bounds (string, boolean, list, enum): no min or max, and no "today". */
export interface PlainParamOptions<T> {
  /** Used when the param is not set. Without a default the param is required. */
  default?: T;
  /** One line shown in messages about the param (the list an unknown param gets, a bad value's message). */
  doc?: string;
}

/** Options with a default: the param it declares may be left unset. */
type WithDefault<T, O extends { default?: unknown } = ParamOptions<T>> = O & { default: NonNullable<O["default"]> };

type Named<T, O extends { default?: unknown } = ParamOptions<T>> = ((name: string, options: WithDefault<T, O>) => Param<T, true>) &
  ((name: string, options?: O) => Param<T, false>) &
  ((options: WithDefault<T, O>) => Param<T, true>) &
  ((options?: O) => Param<T, false>);

/** The example a message about a param's options gives: `{ default: 7 }` for the value that was passed. */
function asOptions(v: unknown): string {
  return `{ default: ${typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? JSON.stringify(v) : "..."} }`;
}

/** A problem when `options` is not an options object (undefined is: no options). */
function optionsProblem(call: string, v: unknown, example: string): ArgumentProblem[] {
  if (v === undefined || (v !== null && typeof v === "object" && !Array.isArray(v))) return [];
  const what = v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "string" ? `the string ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`;
  return [{ problem: `was given ${what} where its options belong: they are an object`, hint: `write ${call}(${example})` }];
}

function named<T>(type: ParamType): Named<T> {
  return ((a?: unknown, b?: unknown, ...rest: unknown[]) => {
    const call = `param.${type}`;
    if (typeof a === "string") {
      const problems = optionsProblem(call, b, `${JSON.stringify(a)}, ${asOptions(b)}`);
      if (rest.length) problems.push({ problem: `was given ${rest.length + 2} arguments; it takes a name and an options object`, hint: `write ${call}(${JSON.stringify(a)}, { default: ... })` });
      return make<T>(type, a, problems.length ? {} : ((b as ParamOptions<T>) ?? {}), undefined, problems);
    }
    const problems = optionsProblem(call, a, asOptions(a));
    if (b !== undefined) problems.push({ problem: "was given a second argument after its options; the name comes first", hint: `write ${call}(${typeof b === "string" ? JSON.stringify(b) : '"name"'}, { ... })` });
    return make<T>(type, undefined, problems.length ? {} : ((a as ParamOptions<T>) ?? {}), undefined, problems);
  }) as Named<T>;
}

// NoInfer: the values alone say what V is (a default outside them widened V and type-checked).
function enumParam<const V extends string>(values: readonly V[], options: WithDefault<NoInfer<V>, PlainParamOptions<NoInfer<V>>>): Param<V, true>;
function enumParam<const V extends string>(values: readonly V[], options?: PlainParamOptions<NoInfer<V>>): Param<V, false>;
function enumParam<const V extends string>(name: string, values: readonly V[], options: WithDefault<NoInfer<V>, PlainParamOptions<NoInfer<V>>>): Param<V, true>;
function enumParam<const V extends string>(name: string, values: readonly V[], options?: PlainParamOptions<NoInfer<V>>): Param<V, false>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads above type the calls
function enumParam(a: string | readonly string[], b?: readonly string[] | ParamOptions<any>, c?: ParamOptions<any>): Param<string, boolean> {
  // Values that are not a list (`param.enum("kind")`) are none: declarationProblems reports it.
  if (typeof a === "string") {
    const problems = optionsProblem("param.enum", c, `${JSON.stringify(a)}, [...], ${asOptions(c)}`);
    return make("enum", a, problems.length ? {} : (c ?? {}), Array.isArray(b) ? [...b] : [], problems);
  }
  // (values, "name", options): the name after the values.
  if (typeof b === "string") {
    const values = Array.isArray(a) ? (a as string[]) : [];
    return make("enum", undefined, c && typeof c === "object" ? c : {}, [...values], [{ problem: "was given its name after its values", hint: `write param.enum(${JSON.stringify(b)}, [${values.map((v) => JSON.stringify(v)).join(", ")}]${c === undefined ? "" : ", { ... }"})` }]);
  }
  const problems = optionsProblem("param.enum", b, `[...], ${asOptions(b)}`);
  if (c !== undefined) problems.push({ problem: "was given a third argument after its values and options", hint: `write param.enum("name", [...], { default: ... })` });
  return make("enum", undefined, problems.length ? {} : ((b as ParamOptions<string>) ?? {}), Array.isArray(a) ? [...a] : [], problems);
}

/** Param constructors: `param.int("window", { default: 7, min: 1 })`. */
export const param = {
  string: named<string>("string") as Named<string, PlainParamOptions<string>>,
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
