/**
 * `pipe graph --format json`: the view as JSON for other tools, and back.
 *
 * Format (version 1), pretty-printed with two spaces, fields always in this order:
 *
 *   { "format": "pipe-graph", "version": 1,
 *     "defaults": [id, ...],
 *     "targets": [{ "id", "family"?, "key"?, "params"?, "state", "reason"?, "files", "outputs",
 *                   "deps", "description"? }, ...] }
 *
 * Targets keep the view's order (dependencies before dependents), which consumers may rely on;
 * `key` and `params` entries are sorted by name (`params` was added within version 1: optional,
 * and readers ignore fields they do not know). Optional fields are omitted when absent, never `null`.
 * Recovery rule: fromJson refuses another `format` or a newer `version` with a message naming
 * the field, and never guesses.
 */
import type { GraphView, TargetState, TargetView } from "../graph/view.ts";
import { STATES, compareStrings } from "./common.ts";

/** The value of the "format" field. */
export const GRAPH_JSON_FORMAT = "pipe-graph";
/** The format version this code writes and reads. */
export const GRAPH_JSON_VERSION = 1;

/** Thrown by fromJson when the text is not a graph this version can read; names the field. */
export class GraphJsonError extends Error {
  override name = "GraphJsonError";
}

function targetToJson(t: TargetView): Record<string, unknown> {
  const o: Record<string, unknown> = { id: t.id };
  if (t.family !== undefined) o.family = t.family;
  if (t.key !== undefined) {
    o.key = Object.fromEntries(Object.keys(t.key).sort(compareStrings).map((k) => [k, t.key![k]]));
  }
  if (t.params !== undefined) {
    o.params = Object.fromEntries(Object.keys(t.params).sort(compareStrings).map((k) => [k, t.params![k]]));
  }
  o.state = t.state;
  if (t.reason !== undefined) o.reason = t.reason;
  o.files = [...t.files];
  o.outputs = [...t.outputs];
  o.deps = [...t.deps];
  if (t.description !== undefined) o.description = t.description;
  return o;
}

/** Serializes the view; fromJson(toJson(v)) deep-equals v. */
export function toJson(view: GraphView): string {
  const doc = {
    format: GRAPH_JSON_FORMAT,
    version: GRAPH_JSON_VERSION,
    defaults: [...view.defaults],
    targets: view.targets.map(targetToJson),
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

function fail(where: string, what: string): never {
  throw new GraphJsonError(`invalid graph JSON: ${where} ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) fail(where, "must be an array of strings");
  v.forEach((s, i) => {
    if (typeof s !== "string") fail(`${where}[${i}]`, "must be a string");
  });
  return [...(v as string[])];
}

function optionalString(o: Record<string, unknown>, field: string, where: string): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail(`${where}.${field}`, "must be a string");
  return v;
}

function stringRecord(o: Record<string, unknown>, field: string, where: string): Record<string, string> | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(`${where}.${field}`, "must be an object of strings");
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") fail(`${where}.${field}.${k}`, "must be a string");
  }
  // fromEntries defines own properties, so a key named "__proto__" stays a key.
  return Object.fromEntries(Object.entries(v)) as Record<string, string>;
}

function targetFromJson(v: unknown, where: string): TargetView {
  if (!isObject(v)) fail(where, "must be an object");
  if (typeof v.id !== "string" || v.id === "") fail(`${where}.id`, "must be a non-empty string");
  if (!STATES.includes(v.state as TargetState)) fail(`${where}.state`, `must be one of ${STATES.map((s) => JSON.stringify(s)).join(", ")}`);
  const t: TargetView = { id: v.id, state: v.state as TargetState, files: [], outputs: [], deps: [] };
  const family = optionalString(v, "family", where);
  if (family !== undefined) t.family = family;
  const key = stringRecord(v, "key", where);
  if (key !== undefined) t.key = key;
  const params = stringRecord(v, "params", where);
  if (params !== undefined) t.params = params;
  const reason = optionalString(v, "reason", where);
  if (reason !== undefined) t.reason = reason;
  t.files = stringArray(v.files, `${where}.files`);
  t.outputs = stringArray(v.outputs, `${where}.outputs`);
  t.deps = stringArray(v.deps, `${where}.deps`);
  const description = optionalString(v, "description", where);
  if (description !== undefined) t.description = description;
  return t;
}

/**
 * Parses text written by toJson back into a GraphView. Throws GraphJsonError naming the first
 * bad field (`targets[3].state must be one of ...`) for anything else.
 */
export function fromJson(text: string): GraphView {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new GraphJsonError(`invalid graph JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) fail("the document", "must be an object");
  if (doc.format !== GRAPH_JSON_FORMAT) fail('"format"', `must be ${JSON.stringify(GRAPH_JSON_FORMAT)}, got ${JSON.stringify(doc.format)}`);
  if (doc.version !== GRAPH_JSON_VERSION) {
    throw new GraphJsonError(`graph JSON has format v${String(doc.version)} (expected v${GRAPH_JSON_VERSION}); re-export it with this version of pipe`);
  }
  if (!Array.isArray(doc.targets)) fail('"targets"', "must be an array");
  const targets = doc.targets.map((t, i) => targetFromJson(t, `targets[${i}]`));
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    if (seen.has(t.id)) fail(`targets[${i}].id`, `repeats ${JSON.stringify(t.id)}`);
    seen.add(t.id);
  });
  return { targets, defaults: stringArray(doc.defaults, '"defaults"') };
}
