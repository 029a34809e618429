/**
 * Words for a value that is not what an `inputs` or `outputs` item must be (a path, a glob, a
 * target): what it is (`param "window"`, `the number 42`, `undefined`) and how to fix it. Three
 * identical lines "an input of "a" is not a path, glob or target" left the user to guess which
 * item was meant and why it was wrong. Pure.
 */
import { declKind } from "../api/target.ts";
import { isParam, type Param } from "../api/params.ts";

export interface BadItem {
  /** What the value is, in the message's words: `undefined`, `the number 42`, `param "window"`. */
  what: string;
  /** Why such a value shows up, when that is not obvious. */
  detail?: string;
  hint: string;
}

export interface DescribeOptions {
  /** An item of `inputs` (a path, glob or target) or of `outputs` (a path). */
  kind: "input" | "output";
  /** The param's command-line name, when it has one. */
  paramName: (p: Param) => string | undefined;
  /** A target's or instance's name as the Pipelinefile writes it (`x`, `f({ ... })`). */
  declName: (d: unknown) => string | undefined;
}

/** Describes `x`, which is not a valid item; see BadItem. */
export function describeBadItem(x: unknown, o: DescribeOptions): BadItem {
  const expected = o.kind === "input" ? "a path, a glob or a target" : "a path";
  if (x === undefined) {
    return {
      what: "undefined",
      detail: "undefined usually means it was used before its declaration, or a circular import",
      hint: "declare what this item names above this target (or break the import cycle), or leave the item out",
    };
  }
  if (x === null) return { what: "null", hint: `list ${expected}, or leave the item out` };
  if (isParam(x)) {
    const name = o.paramName(x);
    const what = name === undefined ? "a param" : `param ${JSON.stringify(name)}`;
    const n = name !== undefined && /^[A-Za-z_$][\w$]*$/.test(name) ? name : "p";
    return {
      what,
      hint: o.kind === "input"
        ? `a param is not an input: give it to the target (params: { ${n} }) and choose inputs by its value with a function: inputs: ({ ${n} }) => [\`data/\${${n}}.csv\`]`
        : `a param is not an output: a target's outputs are fixed paths; make it a family with the key ${n} and write outputs: ["build/{${n}}.csv"]`,
    };
  }
  const kind = declKind(x);
  if (kind === "target" || kind === "instance") {
    // Only outputs get here: a target is a valid input.
    const name = o.declName(x);
    return { what: name === undefined ? `a ${kind === "target" ? "target" : "family instance"}` : `${kind === "target" ? "target" : "instance"} ${JSON.stringify(name)}`, hint: "outputs are the paths this recipe writes; to read another target's outputs, list it in inputs" };
  }
  if (typeof x === "string") return { what: "an empty string", hint: "write the path, or leave the item out" };
  if (typeof x === "number" || typeof x === "bigint") {
    return { what: `the number ${String(x)}`, hint: `write a path as a string ("${String(x)}")${o.kind === "input" ? ", or list a glob or a target" : ""}` };
  }
  if (typeof x === "boolean") {
    return { what: `the boolean ${String(x)}`, hint: `to list an item only sometimes, spread it in: ...(condition ? ["data/x.csv"] : [])` };
  }
  if (Array.isArray(x)) return { what: "a list", hint: `spread it into the list: [...list, "other/path"]` };
  if (typeof x === "function") {
    return {
      what: "a function",
      hint: o.kind === "input" ? "a function must be the whole inputs option (inputs: ({ ... }) => [...]), not an item of it" : "a function must be the whole outputs option of a family (outputs: (key) => [...]), not an item of it",
    };
  }
  if (typeof x === "object") {
    return { what: "an object", hint: `named ${o.kind}s are an object of their own (${o.kind}s: { name: "path" }), not an item of a list` };
  }
  return { what: `a ${typeof x}`, hint: `list ${expected}` };
}

/**
 * Words for a whole `inputs` or `outputs` option (or what its function returned) that is neither
 * a list nor named items: one item where a list belongs (`outputs: "build/g"`) needs only the
 * brackets, which the hint writes out.
 */
export function describeBadShape(x: unknown, o: DescribeOptions & { fromFunction: boolean }): BadItem {
  const option = `${o.kind}s`;
  if (o.fromFunction && x === undefined) return { what: "undefined (what its function returned)", hint: `return the list from the function: ${option}: (...) => [...]` };
  if (typeof x === "string" && x !== "") return { what: `${JSON.stringify(x)} (a string)`, hint: `write ${option}: [${JSON.stringify(x)}]` };
  if (typeof x === "number") return { what: `the number ${x}`, hint: `write ${option}: ["${x}"]` };
  const kind = declKind(x);
  if (o.kind === "input" && (kind === "target" || kind === "instance")) {
    const name = o.declName(x);
    const ident = name !== undefined && /^[A-Za-z_$][\w$]*$/.test(name) ? name : undefined;
    return { what: `${kind} ${name === undefined ? "" : `${JSON.stringify(name)} `}alone`, hint: ident ? `put it in a list: inputs: [${ident}]` : "put it in a list: inputs: [...]" };
  }
  const bad = describeBadItem(x, o);
  return kind === undefined && !isParam(x) && x !== undefined ? { ...bad, hint: o.kind === "input" ? `write inputs: ["data/x.csv", other] (a list) or inputs: { table: "data/x.csv" } (named)` : `write outputs: ["build/x.txt"] (a list) or outputs: { model: "build/model.pkl" } (named)` } : bad;
}
