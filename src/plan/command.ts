/**
 * The shell command a recipe builds, as part of its fingerprint (design.md "Code": "Shell
 * recipes: the command after interpolation is part of the hash"). The code hash sees the
 * recipe's text; the command also sees the values that text interpolates and that change
 * without the text changing: a loop variable (`configs.map((cfg) => target({ run: ... ${cfg.lr}
 * ... }))`) or a value read while the Pipelinefile loaded.
 *
 * Only recipes that do nothing but build the command are called while planning: a function,
 * not async, whose body is the `sh` template itself (`(c) => sh\`...\``, or `sh.raw(...)`).
 * Anything else may do work or touch files when called, so it is not called before it runs.
 * The command is built with the declared output paths (the run uses staging paths in their
 * place); a recipe that throws while building it is not fingerprinted by command (its run
 * reports the error).
 */
import type { Graph, GraphTarget } from "../graph/graph.ts";
import { isShellCommand, isShellValueError } from "../api/sh.ts";
import { hashString } from "../hash/xxh.ts";
import { recipeEnv } from "../run/invocation.ts";
import { paramsProxy } from "../run/call-recipe.ts";
import { buildsOnlyCommand, paramNames, referencedNames, withoutStrings } from "../load/code-hash.ts";

export { buildsOnlyCommand };

/** Names an interpolation may use whose values the fingerprint already covers or that are constant. */
const PURE_GLOBALS = new Set(["String", "Number", "Boolean", "JSON", "Object", "Array", "undefined", "null", "true", "false"]);

/**
 * Whether building the command could see a value the fingerprint does not already hold: true
 * unless every `${...}` of the template uses only the recipe's own parameters (ctx, or
 * `{ inputs, outputs, params, env }`) and constant globals. `(c) => sh\`cp ${c.inputs[0]}
 * ${c.outputs[0]}\`` is fully described by its inputs, outputs and code: no need to build it.
 */
export function commandMayAddValues(text: string): boolean {
  const own = new Set(paramNames(text));
  const body = text.slice(text.indexOf("=>") + 2);
  // sh.raw(...) and anything else after the arrow that is not the template: count it.
  if (!/^\s*\(?\s*sh\s*`/.test(body)) return true;
  for (let i = body.indexOf("${"); i >= 0; i = body.indexOf("${", i)) {
    let depth = 0;
    let j = i + 1;
    for (; j < body.length; j++) {
      if (body[j] === "{") depth++;
      else if (body[j] === "}" && --depth === 0) break;
    }
    const expr = body.slice(i + 2, j);
    // Strings inside the expression are text, not names; a nested template is not looked into.
    if (expr.includes("`")) return true;
    for (const n of referencedNames(withoutStrings(expr))) if (!own.has(n) && !PURE_GLOBALS.has(n)) return true;
    i = j + 1;
  }
  return false;
}

/** What planning needs to know of a recipe function, from its text (once per distinct text). */
interface CommandFacts {
  /** Its command is built while planning and fingerprinted (command-only, and adds values). */
  built: boolean;
  /** Building it reads env, files or the clock (see READS_STATE). */
  readsState: boolean;
}
const facts = new Map<string, CommandFacts>();
const NONE: CommandFacts = { built: false, readsState: false };

function commandFacts(fn: unknown): CommandFacts {
  if (typeof fn !== "function") return NONE;
  const text = Function.prototype.toString.call(fn);
  let f = facts.get(text);
  if (!f) {
    const only = buildsOnlyCommand(fn);
    f = { built: only && commandMayAddValues(text), readsState: only && READS_STATE.test(withoutStrings(text)) };
    facts.set(text, f);
  }
  return f;
}

/**
 * What `ctx.inputs` and `ctx.outputs` hold for target `t`, shaped like its declarations; output
 * paths through `outputPath` (staging paths for a run, the declared paths while planning).
 */
export function contextShapes(graph: Graph, t: GraphTarget, outputPath: (path: string) => string): { inputs: unknown; outputs: unknown } {
  let inputs: unknown;
  const flat = (g: GraphTarget["inputs"][number]) => g.items.flatMap((i) => i.files.map(notAnOption));
  if (t.inputsShape === "list") inputs = t.inputs.flatMap(flat);
  else {
    const rec: Record<string, unknown> = {};
    for (const g of t.inputs) {
      if (g.single) rec[g.name!] = notAnOption(g.items[0].files[0]);
      else if (g.items.length === 1 && g.items[0].kind === "target") {
        const dep = graph.targets.get(g.items[0].target!)!;
        if (dep.outputsShape === "record") {
          const o: Record<string, string> = {};
          for (const out of dep.outputs) o[out.name!] = notAnOption(out.path);
          rec[g.name!] = o;
        } else rec[g.name!] = dep.outputs.map((x) => notAnOption(x.path));
      } else rec[g.name!] = flat(g);
    }
    inputs = rec;
  }
  let outputs: unknown;
  if (t.outputsShape === "list") outputs = t.outputs.map((o) => notAnOption(outputPath(o.path)));
  else {
    const rec: Record<string, string> = {};
    for (const o of t.outputs) rec[o.name!] = notAnOption(outputPath(o.path));
    outputs = rec;
  }
  return { inputs, outputs };
}

/**
 * A project-relative path as the recipe gets it: one starting with "-" (a file `-n.csv` a glob
 * matched) as `./-n.csv`, so that a command never takes it for an option (`cat -n.csv` failed,
 * `rm` or `tar` could do something else). Paths are never absolute here.
 */
function notAnOption(path: string): string {
  return path.startsWith("-") ? `./${path}` : path;
}

const NEVER = new AbortController().signal;

/** recipeEnv per process env and declared names (enumerating process.env costs tens of µs). */
const envs = new WeakMap<NodeJS.ProcessEnv, Map<string, Readonly<Record<string, string>>>>();
function envOf(declared: string[], env: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
  let byNames = envs.get(env);
  if (!byNames) envs.set(env, (byNames = new Map()));
  const key = declared.join("\u0000");
  let out = byNames.get(key);
  if (!out) byNames.set(key, (out = Object.freeze(recipeEnv(declared, env))));
  return out;
}

/**
 * Code in a template that reads state while planning (env, files, the clock, a child process):
 * the no-op snapshot, which answers without planning, cannot see those change.
 */
const READS_STATE = /\bprocess\b|\bglobalThis\b|\bDate\b|\bMath\.random\b|\b(?:readFileSync|readFile|readdirSync|existsSync|statSync|execSync|execFileSync|spawnSync|fetch|require)\b/;

/** Whether building `fn`'s command (a command-only recipe) reads state: see READS_STATE. */
export function commandReadsState(fn: unknown): boolean {
  return commandFacts(fn).readsState;
}

/**
 * The hash of the command a command-only recipe builds for `t` (declared output paths), or
 * undefined. A hash, not the text: a command may hold an env value, and records keep secrets
 * only as keyed hashes (the env part says which env var changed).
 */
export function plannedCommand(graph: Graph, t: GraphTarget, env: NodeJS.ProcessEnv): string | undefined {
  const options = t.decl.options as { run?: unknown };
  const fn = options.run;
  if (!commandFacts(fn).built) return undefined;
  try {
    const result = callForCommand(graph, t, env);
    return isShellCommand(result) ? hashString(`${result.script}\u0000${result.stdout ?? ""}`) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For a command-only recipe about to run: sh's message for a `${}` it cannot interpolate (an
 * object where a path goes: `${inputs.stats}` of named outputs), found before anything runs. It
 * failed only when the recipe's turn came, after every target upstream had run (a review: 34
 * training targets), and a dry run said all was well.
 */
export function commandProblem(graph: Graph, t: GraphTarget, env: NodeJS.ProcessEnv): string | undefined {
  const fn = (t.decl.options as { run?: unknown }).run;
  if (!buildsOnlyCommand(fn)) return undefined;
  // Whether sh can interpolate a value depends on its kind, not on the path it holds: targets
  // declared in a loop, alike in everything but paths, are checked once (13 µs each was 1% of
  // a cold build of cheap recipes).
  const key = `${Function.prototype.toString.call(fn)}\u0000${shapeOf(graph, t, env)}`;
  if (checked.has(key)) return checked.get(key);
  let problem: string | undefined;
  try {
    callForCommand(graph, t, env);
  } catch (e) {
    if (isShellValueError(e)) problem = e.message;
  }
  checked.set(key, problem);
  return problem;
}

const checked = new Map<string, string | undefined>();

/**
 * What a command-only recipe's ctx holds, but for the text of paths and values: the kinds and
 * counts of inputs, outputs, params, env. Two targets alike here build commands that differ only
 * in such text (which sh always takes: paths are never empty or NUL-bearing, see notAnOption).
 */
function shapeOf(graph: Graph, t: GraphTarget, env: NodeJS.ProcessEnv): string {
  let k = `${t.inputsShape}${t.outputsShape}:${t.outputs.map((o) => o.name ?? "").join(",")}`;
  for (const g of t.inputs) {
    k += `|${g.name ?? ""}${g.single ? "!" : ""}`;
    if (g.items.length === 1 && g.items[0].kind === "target") {
      const dep = graph.targets.get(g.items[0].target!)!;
      k += `>${dep.outputsShape}:${dep.outputs.map((o) => o.name ?? "").join(",")}`;
    }
    k += `#${g.items.map((i) => i.files.length).join(",")}`;
  }
  for (const p of t.params) k += `|${p.local}=${kindOf(p.value)}`;
  for (const e of t.env) k += `|$${e}${env[e] === undefined ? "-" : "+"}`;
  return k;
}

function kindOf(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(kindOf).join(",")}]` : v === null ? "null" : typeof v;
}

/** Calls a command-only recipe as planning does (declared output paths); throws what it throws. */
function callForCommand(graph: Graph, t: GraphTarget, env: NodeJS.ProcessEnv): unknown {
  const options = t.decl.options as { run?: unknown };
  const fn = options.run;
  const { inputs, outputs } = contextShapes(graph, t, (p) => p);
  const params: Record<string, unknown> = {};
  for (const p of t.params) params[p.local] = p.value;
  const ctx = {
    id: t.id,
    inputs,
    outputs,
    // Reading an undeclared param throws here as in the run (caught below); the run reports it.
    params: paramsProxy({ id: t.id, params }, new Set()),
    env: envOf(t.env, env),
    root: graph.root,
    signal: NEVER,
    log: () => undefined,
    progress: () => undefined,
  };
  return (fn as (c: typeof ctx) => unknown).call(options, ctx);
}
