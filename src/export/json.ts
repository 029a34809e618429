/**
 * `pipe graph --format json`: the view as JSON for other tools, and back.
 *
 * Format (version 1), pretty-printed with two spaces, fields always in this order:
 *
 *   { "format": "pipe-graph", "version": 1,
 *     "defaults": [id, ...],
 *     "targets": [{ "id", "family", "key", "params", "state", "reason", "files", "outputs",
 *                   "deps", "description" }, ...] }
 *
 * Every target has every field: `family`, `key`, `reason` and `description` are `null` where
 * they do not apply (a target outside any family; an up-to-date target; no description), and
 * `params` is `{}` for a target that reads none. Targets keep the view's order (dependencies
 * before dependents), which consumers may rely on; `key` and `params` entries are sorted by name.
 * Within version 1, earlier writers omitted those fields instead (and `params` came later): the
 * reader takes an absent field as `null` / `{}`, and ignores fields it does not know.
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

/** A copy with entries sorted by name (`fromEntries` keeps a key named "__proto__" a key). */
function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(r).sort(compareStrings).map((k) => [k, r[k]]));
}

function targetToJson(t: TargetView): Record<string, unknown> {
  return {
    id: t.id,
    family: t.family ?? null,
    key: t.key === undefined ? null : sortedRecord(t.key),
    params: t.params === undefined ? {} : sortedRecord(t.params),
    state: t.state,
    reason: t.reason ?? null,
    files: [...t.files],
    outputs: [...t.outputs],
    deps: [...t.deps],
    description: t.description ?? null,
  };
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

/** A string field that may be `null` or absent (both: undefined). */
function optionalString(o: Record<string, unknown>, field: string, where: string): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") fail(`${where}.${field}`, "must be a string");
  return v;
}

/** An object-of-strings field that may be `null` or absent (both: undefined). */
function stringRecord(o: Record<string, unknown>, field: string, where: string): Record<string, string> | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
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
  // `{}` is how toJson writes "reads no params"; the view leaves the field out for that.
  const params = stringRecord(v, "params", where);
  if (params !== undefined && Object.keys(params).length > 0) t.params = params;
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
