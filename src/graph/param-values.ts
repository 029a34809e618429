/**
 * Param values: parsing `--param name=value` text and checking typed values against their
 * declaration. Pure: "today" is passed in.
 */
import type { Param } from "../api/params.ts";

export type ParamValue = string | number | boolean | string[];

/** A failed parse: what was wrong, in the user's terms. */
export interface ValueProblem {
  problem: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isValidDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** Where a param's text came from when not from `--param`: a params file and line. */
export interface ParamSource {
  /** Absolute. */
  file: string;
  /** As the user wrote it (`--params run.params`), for messages. */
  shown: string;
  line: number;
}

/** `--param` and `--params` values as text; `sources` says which came from a params file. */
export type ParamText = Map<string, string> & { sources?: ReadonlyMap<string, ParamSource> };

/** One line about a param for a message: `window (an integer, default 7): days of history`. */
export function paramSummary(name: string, p: Param): string {
  const d = (p.options as { default?: unknown }).default;
  const type = p.type === "enum" ? typeDescription(p) : p.type;
  const kind = `${type}${d === undefined ? ", required" : `, default ${typeof d === "string" ? d : formatValue(d)}`}`;
  const doc = typeof p.options.doc === "string" && p.options.doc !== "" ? `: ${p.options.doc}` : "";
  return `${name} (${kind})${doc}`;
}

/** What values a param of this type takes, for messages and `pipe params`. */
export function typeDescription(p: Pick<Param, "type" | "values">): string {
  switch (p.type) {
    case "int":
      return "an integer";
    case "number":
      return "a number";
    case "boolean":
      return "true, false, yes, no, 1 or 0";
    case "date":
      return "a date YYYY-MM-DD (or \"today\")";
    case "enum":
      return `one of ${p.values!.map((v) => JSON.stringify(v)).join(", ")}`;
    case "list":
      return "a comma-separated list";
    case "string":
      return "a string";
  }
}

/** Parses command-line text into a typed value. */
export function parseParamText(p: Param, text: string, today: string): ParamValue | ValueProblem {
  let value: ParamValue;
  switch (p.type) {
    case "int":
      if (!/^-?\d+$/.test(text.trim())) return { problem: `${JSON.stringify(text)} is not ${typeDescription(p)}` };
      value = Number(text);
      break;
    case "number":
      if (text.trim() === "" || !Number.isFinite(Number(text))) return { problem: `${JSON.stringify(text)} is not ${typeDescription(p)}` };
      value = Number(text);
      break;
    case "boolean":
      if (!/^(true|false|1|0|yes|no)$/i.test(text)) return { problem: `${JSON.stringify(text)} is not ${typeDescription(p)}` };
      value = /^(true|1|yes)$/i.test(text);
      break;
    case "list":
      value = text === "" ? [] : text.split(",").map((s) => s.trim());
      break;
    case "date":
      value = text === "today" ? today : text;
      break;
    default:
      value = text;
  }
  return checkParamValue(p, value, today);
}

/**
 * A value as a message quotes it: as JSON where JSON shows what it is, else as JavaScript writes
 * it (`fit({ seed: Number("x") })` was said to be "null is not an integer": JSON prints NaN as
 * null, and it throws on a bigint).
 */
export function showValue(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === undefined) return "undefined";
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return v.toString();
  try {
    return JSON.stringify(v);
  } catch {
    return Object.prototype.toString.call(v); // a cycle
  }
}

/** Checks a typed value (from code, a default or parsed text) against the declaration. */
export function checkParamValue(p: Param, value: unknown, today: string): ParamValue | ValueProblem {
  const show = showValue(value);
  if (typeof value === "string" && value.includes("\0")) return { problem: `the value contains a NUL byte` };
  const o = p.options as { min?: number | string; max?: number | string };
  switch (p.type) {
    case "int":
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value) || (p.type === "int" && !Number.isInteger(value))) return { problem: `${show} is not ${typeDescription(p)}` };
      if (typeof o.min === "number" && value < o.min) return { problem: `${value} is below the minimum ${o.min}` };
      if (typeof o.max === "number" && value > o.max) return { problem: `${value} is above the maximum ${o.max}` };
      return Object.is(value, -0) ? 0 : value;
    }
    case "boolean":
      return typeof value === "boolean" ? value : { problem: `${show} is not true or false` };
    case "date": {
      const v = value === "today" ? today : value;
      if (typeof v !== "string" || !isValidDate(v)) return { problem: `${show} is not ${typeDescription(p)}` };
      if (typeof o.min === "string" && v < o.min) return { problem: `${v} is before the minimum ${o.min}` };
      if (typeof o.max === "string" && v > o.max) return { problem: `${v} is after the maximum ${o.max}` };
      return v;
    }
    case "enum":
      return typeof value === "string" && p.values!.includes(value) ? value : { problem: `${show} is not ${typeDescription(p)}` };
    case "list":
      if (!Array.isArray(value) || !value.every((x) => typeof x === "string")) return { problem: `${show} is not a list of strings` };
      if (value.some((x) => x.includes("\0"))) return { problem: "the value contains a NUL byte" };
      return [...value];
    case "string":
      return typeof value === "string" ? value : { problem: `${show} is not ${typeDescription(p)}` };
  }
}

/** The value of a param with no command-line setting; a problem when it is required. */
export function defaultValue(p: Param, today: string): ParamValue | ValueProblem {
  const d = (p.options as { default?: unknown }).default;
  if (d === undefined) return { problem: "it has no default and was not set" };
  return checkParamValue(p, d, today);
}

export function isProblem(x: unknown): x is ValueProblem {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "problem" in x;
}

/** How a value is written in an id or a message: lists as a,b,c. */
export function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.join(",") : String(v);
}

