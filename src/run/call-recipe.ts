/**
 * Calling a recipe function with its context: shared by the worker threads (TypeScript
 * recipes) and the main thread (functions that only build a `sh` command).
 */
import { format, inspect } from "node:util";
import { isRaw, isShellCommand } from "../api/sh.ts";
import type { Invocation, InvocationResult } from "./invocation.ts";

export interface CallHooks {
  signal: AbortSignal;
  log: (line: string) => void;
  progress: (done: number, total?: number) => void;
}

/** ctx.params: reading an undeclared param is an error naming it; reads are tracked. */
export function paramsProxy(inv: Pick<Invocation, "id" | "params">, read: Set<string>): Record<string, unknown> {
  return new Proxy(inv.params, {
    get(target, prop) {
      if (typeof prop === "symbol" || prop === "toJSON" || prop === "then") return undefined;
      if (!Object.prototype.hasOwnProperty.call(target, prop)) {
        throw new Error(`recipe for ${JSON.stringify(inv.id)} read param ${JSON.stringify(prop)}, which the target does not declare; add it to the target's params: { ${prop} }`);
      }
      read.add(prop);
      return target[prop];
    },
    ownKeys(target) {
      for (const k of Object.keys(target)) read.add(k);
      return Reflect.ownKeys(target);
    },
  });
}

export async function callRecipe(options: { run?: unknown } | undefined, inv: Invocation, hooks: CallHooks): Promise<InvocationResult> {
  const read = new Set<string>();
  const readParams = () => [...read];
  const fn = options?.run;
  if (typeof fn !== "function") return { kind: "error", message: `target ${JSON.stringify(inv.id)} has no recipe in the loaded Pipelinefile`, readParams: readParams() };
  const ctx = {
    id: inv.id,
    inputs: shapeGuard(inv.inputs, "inputs", inv.id),
    outputs: shapeGuard(inv.outputs, "outputs", inv.id),
    params: paramsProxy(inv, read),
    env: Object.freeze({ ...inv.env }),
    root: inv.root,
    signal: hooks.signal,
    log: (...args: unknown[]) => {
      for (const line of format(...args).split("\n")) hooks.log(line);
    },
    progress: hooks.progress,
  };
  try {
    const result = await (fn as (c: typeof ctx) => unknown).call(options, ctx);
    if (isShellCommand(result)) return { kind: "shell", script: result.script, argv: result.argv ? [...result.argv] : undefined, stdout: result.stdout, readParams: readParams() };
    // sh.raw("...") returned as the whole command: its text is the script (it did nothing).
    if (isRaw(result)) return { kind: "shell", script: result.text.trim(), readParams: readParams() };
    // Text returned (a template without its `sh` tag?) is kept for the message if the outputs
    // turn out missing: the Pipelinefile is compiled without type checks, so nothing else says why.
    if (typeof result === "string") return { kind: "done", readParams: readParams(), returnedText: result.length > 80 ? `${result.slice(0, 77)}...` : result };
    if (result !== undefined) {
      const shown = inspect(result, { depth: 1, breakLength: Infinity });
      return { kind: "done", readParams: readParams(), returnedValue: shown.length > 80 ? `${shown.slice(0, 77)}...` : shown };
    }
    return { kind: "done", readParams: readParams() };
  } catch (e) {
    return { kind: "error", message: thrownMessage(e), stack: userFrames(e as Error), readParams: readParams() };
  }
}

/**
 * ctx.inputs / ctx.outputs, saying what to write when read the wrong way: an index of named
 * outputs (`ctx.outputs[0]` when they are `{ svg, png }`), or an index past the end of a list. Without this, `undefined` went on to a confusing error of node's
 * (ERR_INVALID_ARG_TYPE ... Received undefined) or into a shell command as an empty word.
 */
function shapeGuard<T>(value: T, what: "inputs" | "outputs", id: string): T {
  if (typeof value !== "object" || value === null) return value;
  const list = Array.isArray(value);
  const names = list ? [] : Object.keys(value);
  return new Proxy(value as object, {
    get(target, prop, receiver) {
      if (typeof prop === "symbol" || prop in target) return Reflect.get(target, prop, receiver);
      const index = /^(0|[1-9]\d*)$/.test(prop);
      // Only index reads: code that probes other names (`.size`, `.length` of a record, to
      // tell what it was given) must still get undefined.
      if (list && index) throw new Error(`${JSON.stringify(id)} has ${(target as unknown[]).length} ${what}: ctx.${what}[${prop}] is past the end`);
      if (!list && index) throw new Error(`ctx.${what}[${prop}]: the ${what} of ${JSON.stringify(id)} are named: ${names.map((n) => `ctx.${what}.${n}`).join(", ") || "(none)"}`);
      return undefined;
    },
  }) as T;
}

/**
 * What a recipe threw, as one line: an error's message, named when it is not a plain Error
 * (`TypeError: ...`), followed by its causes (`new Error("...", { cause })`: the cause was the
 * part that said what went wrong); anything else thrown (`throw { code: 42 }`) as inspect shows it.
 */
export function thrownMessage(e: unknown): string {
  const one = (x: unknown): string => {
    if (x instanceof Error || (typeof x === "object" && x !== null && typeof (x as Error).message === "string")) {
      const err = x as Error;
      // pipe's own API (sh, a param read) words its errors for the user already.
      const named = typeof err.name === "string" && err.name !== "Error" && !thrownByPipe(err);
      const name = named ? `${err.name}: ` : "";
      return `${name}${err.message}`;
    }
    return typeof x === "string" ? x : inspect(x, { depth: 2, breakLength: Infinity });
  };
  let text = one(e);
  let cause = (e as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause !== undefined && depth < 3; depth++) {
    text += `; caused by ${one(cause)}`;
    cause = (cause as { cause?: unknown } | null)?.cause;
  }
  return text;
}

/** This module's URL: the frames from here on are pipe's and node's, not the recipe's. */
const HERE = import.meta.url;
/** pipe's own compiled modules: a frame there (sh, a param read) is never the recipe's. */
const PIPE_SRC = new URL("../", import.meta.url).href;

/**
 * Whether an error was made by pipe's own modules: marked so (sh's, whose stack starts at the
 * recipe's call), or its first stack frame is there.
 */
function thrownByPipe(err: Error): boolean {
  if ((err as unknown as Record<symbol, unknown>)[Symbol.for("pipefile.worded")] === true) return true;
  const first = typeof err.stack === "string" ? err.stack.split("\n").find((l) => /^\s+at /.test(l)) : undefined;
  return first !== undefined && first.includes(PIPE_SRC);
}

/**
 * The part of an error's stack that is the user's: its frames down to pipe's call of the
 * recipe, without the "Error: message" head (the failure already says the message) and
 * without frames of pipe's own modules or node's internals. Undefined when nothing is left.
 */
export function userFrames(err: Error | undefined): string | undefined {
  const stack = typeof err?.stack === "string" ? err.stack : undefined;
  if (!stack) return undefined;
  const head = `${err!.name}: ${err!.message}`;
  const body = stack.startsWith(head) ? stack.slice(head.length) : stack;
  const lines = body.split("\n").filter((l) => l.trim() !== "");
  const cut = lines.findIndex((l) => l.includes(HERE));
  const mine = (cut >= 0 ? lines.slice(0, cut) : lines).filter((l) => !/\(node:internal\/|^\s*at node:internal\//.test(l) && !l.includes(PIPE_SRC));
  return mine.length ? mine.join("\n") : undefined;
}

/**
 * Whether a recipe only builds a shell command (not async, and uses the `sh` template): such
 * functions are called on the main thread, skipping a worker round trip; building a string is
 * cheap. Anything else is TypeScript work and runs in a worker thread.
 */
export function buildsShellCommand(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  const text = Function.prototype.toString.call(fn);
  return !/^async\b/.test(text) && /\bsh(?:\s*`|\.raw\s*\()/.test(text);
}
