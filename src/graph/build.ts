/**
 * Builds the Graph from a PipelineSpec: instantiates families, resolves inputs (globs expanded,
 * files produced by other targets become edges), checks outputs, params, cycles and missing
 * sources, and reports every problem at once.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Dirent } from "node:fs";
import { listFolder, listingHash, user } from "../load/trace.ts";
import { parseSize } from "../util/size.ts";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { createRequire } from "node:module";
import { declKind, type Family, type Instance, type Target } from "../api/target.ts";
import { declarationProblems, isParam, type Param } from "../api/params.ts";
import type { Decl, PipelineSpec } from "../load/load.ts";
import { UserError, type Diagnostic } from "../util/errors.ts";
import { didYouMean, suggestion } from "../util/did-you-mean.ts";
import { checkParamValue, defaultValue, formatValue, isProblem, paramSummary, parseParamText, type ParamText, type ParamValue } from "./param-values.ts";
import { closure, instanceId, parseTargetId, type Graph, type GraphTarget, type InputItem } from "./graph.ts";
import { findCycles } from "./cycles.ts";
import { guardLoops } from "../util/glob-loops.ts";
import { describeBadItem, describeBadShape } from "./bad-item.ts";
import { ineffectiveParams, type RequestedInstance } from "./param-effect.ts";
import { stableStringify } from "../util/stable-json.ts";
import { fillKey, matchOutputTemplates, outputTemplates, type TemplateMatch } from "./templates.ts";
import type { StatLike } from "../hash/file-hasher.ts";

export interface BuildOptions {
  /** `--param name=value` settings, as text (those from a `--params` file with their line). */
  paramText: ParamText;
  /** Targets the user asked for (ids or family names); empty means the defaults. */
  requested: string[];
  /** Today's date for `"today"` defaults. */
  today: string;
  /** Stats of project files taken a moment ago (the no-op check), used instead of stat-ing again. */
  knownStats?: ReadonlyMap<string, StatLike>;
  /**
   * Build only part of the graph, for a partial build the no-op snapshot vouches for the rest of
   * (cli/session.ts): `plan` targets are built whole; `outputsOnly` ones are created for their
   * outputs (which the planned targets read), with no inputs or edges. Checks that need every
   * target (cycles, other targets' outputs) were passed by the build that made the snapshot.
   * Throws SubsetMiss when an id names no declaration.
   */
  subset?: { plan: string[]; outputsOnly: string[]; keys: ReadonlyMap<string, Record<string, unknown> | null> };
  /**
   * Leave out the problems that matter only for building (a param without a value, a missing
   * source file): `pipe params` answers "what must I set?" instead of failing on it.
   */
  lenient?: boolean;
  /**
   * How many instances resolving inputs may make (DEFAULT_MAX_INSTANCES; `PIPE_MAX_INSTANCES`):
   * a family whose inputs name another instance of itself with no base case would grow forever.
   */
  maxInstances?: number;
}

/** See BuildOptions.maxInstances. */
export const DEFAULT_MAX_INSTANCES = 100_000;

/** A subset id that does not name a declaration (the caller builds the whole graph instead). */
export class SubsetMiss extends Error {}

export interface BuiltGraph {
  graph: Graph;
  /** The stats taken while classifying inputs, for the hasher to use once instead of stat-ing again. */
  stats: Map<string, StatLike>;
  /** The requested targets resolved to ids (defaults when none were given). */
  selected: string[];
  /** Folders the glob expansion listed (absolute) -> listing hash when listed (for the no-op snapshot). */
  globLists: Map<string, string>;
  /** Param values that change nothing in this build (param-effect.ts); none for a subset. */
  warnings: string[];
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Thrown into an inputs or outputs function that read a name it was not given (see readGuard). */
const STOP_READ: unknown = Object.freeze({ stopped: "an inputs or outputs function read a name it was not given" });

export function buildGraph(spec: PipelineSpec, options: BuildOptions): BuiltGraph {
  // Problems found while naming declarations (unknown options, missing or taken names) come
  // first, with everything found here.
  const diags: Diagnostic[] = [...(spec.problems ?? [])];
  const root = spec.root;
  const targets = new Map<string, GraphTarget>();
  const pending: GraphTarget[] = [];
  const byDecl = new Map<Target | Instance, string>();
  /** Instances whose key was refused (an exported one is often in the default export too). */
  const refused = new Set<Instance>();

  // Params set on the command line (or in a params file) must exist and parse.
  const paramValues = new Map<string, ParamValue>();
  const sources = options.paramText.sources;
  for (const [name, text] of options.paramText) {
    // A param the Pipelinefile exports but gives to no target (or only as a family key) is
    // declared, not unknown: its value is checked, and param-effect.ts warns that it changes
    // nothing, as for a param no target of this build uses (the README's rule).
    const p = spec.params.get(name) ?? spec.unusedParams?.get(name);
    const source = sources?.get(name);
    const fromFile = source ? ` in ${source.shown}` : "";
    const setAt = source ? { file: source.file, line: source.line, column: 1 } : undefined;
    if (!p) {
      // A family key is not a param: its value goes in the instance id.
      const families = [...spec.decls].filter(([n, d]) => declKind(d) === "family" && !spec.provisional?.has(n) && Object.hasOwn((d as Family).options.key ?? {}, name));
      const family = families[0];
      const declared = [...spec.params, ...(spec.unusedParams ?? [])].sort(([a], [b]) => (a < b ? -1 : 1));
      // The instance to type, with the family's other keys that have no default (without them it fails next).
      const instance = (f: [string, Decl]) => {
        const keys = Object.entries(((f[1] as Family).options.key ?? {}) as Record<string, unknown>);
        const needed = keys.filter(([k, q]) => k !== name && isParam(q) && (q.options as { default?: unknown }).default === undefined).map(([k]) => `${k}=...`);
        return `${f[0]}[${[...needed, `${name}=${text}`].join(",")}]`;
      };
      const whose = families.length > 1 ? `families ${families.map(([n]) => JSON.stringify(n)).join(" and ")}` : family ? `family ${JSON.stringify(family[0])}` : "";
      diags.push({
        message: `unknown param ${JSON.stringify(name)}${fromFile}${family ? `; ${JSON.stringify(name)} is a key of ${whose}` : suggestion(name, declared.map(([n]) => n))}`,
        location: setAt,
        details: declared.length && !family ? ["params:", ...declared.map(([n, q]) => `  ${paramSummary(n, q)}`)] : undefined,
        hint: family
          ? `name the instance: ${families.map(instance).join(" or ")} (keys are not set with --param)`
          : declared.length
            ? `set one of the params above${source ? ` (fix the name in ${source.shown})` : ""}`
            : "this Pipelinefile declares no params",
        request: true,
      });
      continue;
    }
    const v = parseParamText(p, text, options.today);
    if (!isProblem(v)) {
      paramValues.set(name, v);
      continue;
    }
    const declaredAt = p.site.location();
    const doc = typeof p.options.doc === "string" && p.options.doc !== "" ? [`${name}: ${p.options.doc}`] : [];
    if (source) {
      // The value is wrong where it was written: the params file's line; the declaration is context.
      diags.push({
        message: `bad value for param ${JSON.stringify(name)}${fromFile}: ${v.problem}`,
        location: setAt,
        details: [...doc, ...(declaredAt ? [`param ${JSON.stringify(name)} is declared at ${declaredAt.file}:${declaredAt.line}:${declaredAt.column}`] : [])],
        hint: `fix the value in ${source.shown}, or override it with --param ${name}=<value>`,
        request: true,
      });
    } else diags.push({ message: `bad value for param ${JSON.stringify(name)}: ${v.problem}`, location: declaredAt, details: doc.length ? doc : undefined, hint: `set it with --param ${name}=<value>`, request: true });
  }
  const paramProblems = new Map<string, Diagnostic>();
  const parentCache = new Map<string, ParentLink | undefined>();
  const missingOnDisk = new Set<string>();
  /** Output paths refused by checkOutputPath, as declared (a dependent's input is not "missing"). */
  const refusedOutputs = new Set<string>();
  /** Inputs whose stat failed with something else than ENOENT: path -> errno code. */
  const unreadableOnDisk = new Map<string, string>();
  // Where each target was declared, resolved only for a message (see create()).
  const locators = new Map<GraphTarget, () => GraphTarget["location"]>();
  const loc = (t: GraphTarget): GraphTarget["location"] => {
    if (t.location === undefined) {
      const f = locators.get(t);
      if (f) {
        t.location = f();
        locators.delete(t);
      }
    }
    return t.location;
  };
  const stats = new Map<string, StatLike>();
  // fast-glob reads folders through this adapter, so we know which listings decided a match.
  const globLists = new Map<string, string>();
  const loops = guardLoops(root);
  const globFs = {
    readdirSync: ((path: string, opts: { withFileTypes: true }) => {
      const entries = loops.readdirSync(path, opts) as Dirent[];
      const abs = resolve(root, path);
      // The snapshot compares listings with their entries' kinds (fast-glob asks for them).
      if (!globLists.has(abs)) globLists.set(abs, typeof entries[0] === "string" ? listFolder(abs) : listingHash(entries as unknown as Dirent[]));
      return entries;
    }) as unknown as typeof readdirSync,
  };
  const valueOf = (cli: string, p: Param): ParamValue | undefined => {
    if (paramValues.has(cli)) return paramValues.get(cli);
    const v = defaultValue(p, options.today);
    if (isProblem(v)) {
      const hasDefault = (p.options as { default?: unknown }).default !== undefined;
      // A declaration with a mistake (`defualt: "q"`, min above max) is reported as such (load.ts):
      // "it has no default and was not set" would send the user the wrong way.
      if (!paramProblems.has(cli) && declarationProblems(p).length === 0) {
        paramProblems.set(
          cli,
          hasDefault
            ? { message: `bad default for param ${JSON.stringify(cli)}: ${v.problem}`, location: p.site.location(), hint: `fix the default where the param is declared (the line above); --param ${cli}=<value> overrides it` }
            : { message: `param ${JSON.stringify(cli)}: ${v.problem}`, location: p.site.location(), hint: `set it with --param ${cli}=<value>, or give it a default where it is declared` },
        );
      }
      return undefined;
    }
    paramValues.set(cli, v);
    return v;
  };
  const cliName = (p: Param, local: string) => {
    for (const [n, q] of spec.params) if (q === p) return n;
    return p.name ?? local;
  };

  const nameOf = (d: Decl) => spec.names.get(d);
  /** How bad-item.ts names a param or a declaration in a message. */
  const describing = {
    paramName: (p: Param) => {
      for (const m of [spec.params, spec.unusedParams ?? new Map<string, Param>()]) for (const [n, q] of m) if (q === p) return n;
      return p.name;
    },
    declName: (d: unknown) => (declKind(d) === "instance" ? byDecl.get(d as Instance) ?? (nameOf((d as Instance).family) === undefined ? undefined : `${nameOf((d as Instance).family)}(...)`) : nameOf(d as Decl)),
  };

  /**
   * The values an inputs or outputs function is called with. Reading a name it was not given
   * (not a key, nor a declared param) stops the function with an error naming the name and the
   * declaration, once per declaration and name, as a recipe reading an undeclared param fails;
   * it used to get `undefined` and surface as `"undefined.txt" is missing`. Reading a declared
   * param that has no value stops it quietly: that param's own problem is reported.
   */
  const undeclaredReads = new Set<string>();
  const readGuard = (decl: Decl, fn: "inputs" | "outputs", values: Record<string, unknown>, declared: Set<string>, onRead?: (name: string) => void) => {
    const proxy = new Proxy(values, {
      get: (obj, prop) => {
        if (typeof prop === "symbol" || prop === "toJSON" || prop === "then" || (prop in Object.prototype && !Object.hasOwn(obj, prop))) return Reflect.get(obj, prop);
        if (Object.hasOwn(obj, prop)) {
          onRead?.(prop);
          return obj[prop];
        }
        if (!declared.has(prop)) reportUndeclared(decl, fn, prop);
        throw STOP_READ;
      },
    });
    return { values: proxy, stopped: (e: unknown) => e === STOP_READ };
  };
  const reportUndeclared = (decl: Decl, fn: "inputs" | "outputs", name: string) => {
    const declName = nameOf(decl) ?? "(unnamed)";
    if (undeclaredReads.has(`${declName}\0${fn}\0${name}`)) return;
    undeclaredReads.add(`${declName}\0${fn}\0${name}`);
    const isFamily = declKind(decl) === "family";
    const what = `${isFamily ? "family" : "target"} ${JSON.stringify(declName)}`;
    const keys = isFamily ? Object.keys((decl as Family).options.key ?? {}) : [];
    const params = Object.keys(((decl.options as { params?: object }).params) ?? {});
    const location = decl.site.location();
    if (fn === "outputs") {
      const isParamName = params.includes(name);
      diags.push({ message: `the outputs function of ${what} reads ${JSON.stringify(name)}, which is ${isParamName ? "a param, not a key" : "not one of its keys"}${isParamName ? "" : suggestion(name, keys)}`, location, hint: isParamName ? `an instance's outputs depend on its key only: make ${name} a key (key: { ${[...keys, name].join(", ")} })` : `keys: ${keys.join(", ") || "none"}` });
      return;
    }
    const known = [...keys, ...params];
    const list = [keys.length ? `keys: ${keys.join(", ")}` : "", params.length ? `params: ${params.join(", ")}` : ""].filter(Boolean).join("; ");
    diags.push({
      message: `the inputs function of ${what} reads param ${JSON.stringify(name)}, which the ${isFamily ? "family" : "target"} does not declare${suggestion(name, known)}`,
      location,
      details: list ? [`it is given ${list}`] : undefined,
      hint: `add it to the ${isFamily ? "family" : "target"}'s params: { ${name} }`,
    });
  };

  /** Returns the id of a target or instance, creating it on first sight. */
  const ensure = (ref: Target | Instance, from: string | undefined): string | undefined => {
    const known = byDecl.get(ref);
    if (known) return known;
    const kind = declKind(ref);
    if (kind === "target") {
      const name = nameOf(ref as Target);
      if (!name) {
        diags.push({ message: `a target used by ${JSON.stringify(from)} has no name`, location: (ref as Target).site.location(), hint: "export it or give it `name: \"...\"`" });
        return undefined;
      }
      byDecl.set(ref, name);
      if (!targets.has(name)) create(name, ref as Target, undefined, () => (ref as Target).site.location());
      return name;
    }
    const inst = ref as Instance;
    if (refused.has(inst)) return undefined; // reported the first time it was seen
    const famName = nameOf(inst.family);
    if (!famName) {
      diags.push({ message: `a family used by ${JSON.stringify(from)} has no name`, location: inst.family.site.location(), hint: "export it or give it `name: \"...\"`" });
      return undefined;
    }
    const key = checkKey(inst.family, famName, inst.key, inst.site.location(), false);
    if (!key) {
      refused.add(inst);
      return undefined;
    }
    const id = instanceId(famName, key);
    byDecl.set(ref, id);
    const same = targets.get(id);
    if (!same) {
      create(id, inst.family, key, () => inst.site.location() ?? inst.family.site.location());
      if (growing && from !== undefined) grew(id, from);
    } else if (same.key && stableStringify(same.key) !== stableStringify(key)) {
      // An id writes values as text (lists as a,b): two keys can read the same. One target
      // for both would build one and silently drop the other.
      diags.push({
        message: `two instances of ${JSON.stringify(famName)} have one id, ${JSON.stringify(id)}: keys ${stableStringify(key)} and ${stableStringify(same.key)}`,
        location: inst.site.location(),
        details: locLine(same, loc),
        hint: "change one key: values must not differ only in commas (a list [\"a,b\"] against [\"a\", \"b\"]) or hold another key's \"name=\"",
      });
      return undefined;
    }
    return id;
  };

  /**
   * Key values of an instance, checked against the key params. `fromText`: written on the
   * command line (`fam[k=v]`: parsed as text, hints in that syntax, a request mistake);
   * otherwise passed in the Pipelinefile (`fam({ k: v })`, at `loc`).
   */
  const checkKey = (fam: Family, famName: string, raw: Record<string, unknown>, loc: Diagnostic["location"], fromText: boolean): Record<string, ParamValue> | undefined => {
    const keySpec = fam.options.key as Record<string, Param>;
    const keyNames = Object.keys(keySpec);
    const out: Record<string, ParamValue> = {};
    let ok = true;
    // On the command line, where the family is declared is context (there is no line to point at).
    const famAt = () => {
      const l = fromText ? fam.site.location() : undefined;
      return l ? [`family ${JSON.stringify(famName)} is declared at ${l.file}:${l.line}:${l.column}`] : undefined;
    };
    const request = fromText ? ({ request: true } as const) : {};
    for (const k of Object.keys(raw)) {
      if (!(k in keySpec)) {
        // `key: { country: param.enum("c", [...]) }`: the key is country; "c" names its param.
        const byParamName = Object.entries(keySpec).find(([, q]) => isParam(q) && q.name === k)?.[0];
        const hint = byParamName ? `${JSON.stringify(k)} names the param of key ${byParamName}; the key is ${byParamName}: write ${famName}[${byParamName}=${String(raw[k])}]` : `keys: ${keyNames.join(", ")}`;
        diags.push({ message: `family ${JSON.stringify(famName)} has no key ${JSON.stringify(k)}${byParamName ? "" : suggestion(k, keyNames)}`, location: loc, details: famAt(), hint, ...request });
        ok = false;
      }
    }
    const unknownKey = !ok;
    for (const [k, p] of Object.entries(keySpec)) {
      let v: ParamValue | { problem: string };
      const given = raw[k] !== undefined;
      // A key left out next to an unknown one is most likely that one misspelt: said once, above.
      if (!given && unknownKey) continue;
      if (!given) v = defaultValue(p, options.today);
      else v = fromText ? parseParamText(p, String(raw[k]), options.today) : checkParamValue(p, raw[k], options.today);
      if (!isProblem(v)) {
        out[k] = v;
        continue;
      }
      ok = false;
      const allowed = p.type === "enum" ? p.values!.map((x) => JSON.stringify(x)).join(", ") : undefined;
      let hint: string;
      // `trend[attribute=recovered,window=3]`: the value swallowed what looks like another
      // name=value pair, most often a param (set with --param, not in the id).
      const pairs = fromText && given ? [...String(raw[k]).matchAll(/,([A-Za-z_][\w.-]*)=([^,]*)/g)].filter((m) => !(m[1] in keySpec)) : [];
      // `agg[country=it,n=3,country=de]`: a key given again continues the value before it
      // (graph.ts parseTargetId), which then failed as "3,country=de".
      const again = fromText && given ? [...String(raw[k]).matchAll(/,([A-Za-z_][\w.-]*)=/g)].find((m) => m[1] in keySpec)?.[1] : undefined;
      if (pairs.length) {
        const head = String(raw[k]).slice(0, pairs[0].index);
        const famParams = Object.entries(((fam.options as { params?: Record<string, unknown> }).params ?? {}) as Record<string, unknown>);
        const cliOf = (n: string) => {
          const own = famParams.find(([local]) => local === n);
          if (own && isParam(own[1])) return own[1].name ?? n;
          return spec.params.has(n) ? n : undefined;
        };
        const asParams = pairs.map((m) => [cliOf(m[1]), m[2]] as const);
        const params = asParams.filter(([n]) => n !== undefined).map(([n, v]) => ` --param ${n}=${v}`).join("");
        const names = pairs.map((m) => m[1]);
        const what = asParams.every(([n]) => n !== undefined) ? `${names.join(", ")} ${names.length > 1 ? "are params" : "is a param"}, not ${names.length > 1 ? "keys" : "a key"}` : `${famName} has no key ${names.filter((_, i) => asParams[i][0] === undefined).join(", ")}`;
        hint = `${what}: write '${famName}[${k}=${head}]'${params}`;
      } else if (again !== undefined) {
        hint = `${again} is given twice in the instance name; give each key once: ${famName}[${keyNames.map((x) => `${x}=...`).join(",")}]`;
      } else if (fromText && given) {
        // `trend[attribute='recovered']` (the shell keeps quotes inside a word), `recoverd`.
        const text = String(raw[k]);
        const unquoted = /^(['"])(.*)\1$/s.exec(text)?.[2];
        const fixed = unquoted !== undefined && !isProblem(parseParamText(p, unquoted, options.today)) ? unquoted : p.type === "enum" ? didYouMean(text, p.values ?? []) : undefined;
        const id = fixed === undefined ? undefined : `'${famName}[${Object.entries({ ...raw, [k]: fixed }).map(([n, v]) => `${n}=${String(v)}`).join(",")}]'`;
        if (id && fixed === unquoted) hint = `quotes inside the brackets are part of the value; quote the whole id for the shell: ${id}`;
        else if (id) hint = `did you mean ${k}=${fixed}? write ${id}`;
        else hint = `write ${famName}[${keyNames.map((x) => `${x}=...`).join(",")}]`;
      } else if (fromText) hint = `write ${famName}[${keyNames.map((x) => `${x}=...`).join(",")}] (${k} has no usable default)`;
      else if (given) hint = `pass another value where the instance is made: ${famName}({ ${k}: ${allowed ? allowed.split(", ")[0] : "..."} })`;
      else hint = `pass ${k} where the instance is made (${famName}({ ${k}: ... })), or fix the default of its key param`;
      const ofDefault = !given && (p.options as { default?: unknown }).default !== undefined ? "the default " : "";
      const doc = typeof (p.options as { doc?: unknown }).doc === "string" && p.options.doc !== "" ? [`${k}: ${p.options.doc}`] : [];
      const details = [...(famAt() ?? []), ...doc];
      diags.push({ message: `bad key ${k} for ${JSON.stringify(famName)}: ${ofDefault}${v.problem}`, location: loc, details: details.length ? details : undefined, hint, ...request });
    }
    return ok ? out : undefined;
  };

  // Locations are formatted only when a message needs them: formatting 10,000 source-mapped
  // stacks costs more than the rest of graph construction (ecosystem.md §10).
  const create = (id: string, decl: Decl, key: Record<string, ParamValue> | undefined, locate: () => GraphTarget["location"]) => {
    const o = decl.options as unknown as Record<string, unknown> & { outputs: unknown; inputs?: unknown; params?: Record<string, Param>; env?: string[]; resources?: { cpu?: number; mem?: unknown }; description?: string };
    const t: GraphTarget = {
      id,
      name: nameOf(decl)!,
      family: key ? nameOf(decl) : undefined,
      key,
      decl,
      inputsShape: "list",
      inputs: [],
      outputsShape: "list",
      outputs: [],
      params: [],
      // Values of the wrong kind were reported while naming the declarations (load.ts).
      env: Array.isArray(o.env) ? o.env.filter((v) => typeof v === "string").sort() : [],
      cpu: Math.max(1, Math.floor(Number(o.resources?.cpu ?? 1)) || 1),
      mem: 0,
      deps: [],
      paramsReadByInputs: [],
      description: o.description,
    };
    locators.set(t, locate);
    const location = () => loc(t);
    targets.set(id, t);
    if (o.resources?.mem !== undefined) t.mem = parseSize(o.resources.mem) ?? 0; // a bad size was reported by load.ts
    if (typeof (o as { run?: unknown }).run !== "function") diags.push({ message: `target ${JSON.stringify(id)} has no recipe`, location: location(), hint: "add run: (ctx) => ... or run: () => sh`...`" });
    // Params: declared ones plus key values.
    for (const [local, p] of Object.entries(o.params ?? {})) {
      if (!isParam(p)) continue; // reported while naming the declarations
      const cli = cliName(p, local);
      const v = valueOf(cli, p);
      if (v !== undefined) t.params.push({ local, cli, value: v, isKey: false });
    }
    for (const [k, v] of Object.entries(key ?? {})) t.params.push({ local: k, value: v, isKey: true });
    t.params.sort((a, b) => (a.local < b.local ? -1 : 1));
    // Outputs.
    let outs = o.outputs as unknown;
    const before = diags.length;
    if (typeof outs === "function") {
      // An outputs function sees the key only (an instance's outputs depend on nothing else).
      const read = readGuard(decl, "outputs", { ...key }, new Set(Object.keys(key ?? {})));
      try {
        outs = user(() => (outs as (k: unknown) => unknown)(read.values));
      } catch (e) {
        if (!read.stopped(e)) diags.push({ message: `outputs of ${JSON.stringify(id)} threw: ${(e as Error)?.message ?? String(e)}`, location: location() });
        pending.push(t); // its inputs may have problems of their own
        return;
      }
    }
    const fill = (s: string) => fillKey(s, key);
    if (Array.isArray(outs)) outs.forEach((p, i) => addOutput(t, undefined, `outputs[${i}]`, p, fill));
    else if (outs && typeof outs === "object" && !isParam(outs) && declKind(outs) === undefined) {
      t.outputsShape = "record";
      for (const [name, p] of Object.entries(outs)) addOutput(t, name, `outputs.${name}`, p, fill);
    } else if (outs !== undefined || typeof o.outputs === "function") {
      // (No outputs option at all is "declares no outputs", below.)
      const bad = describeBadShape(outs, { ...describing, kind: "output", fromFunction: typeof o.outputs === "function" });
      diags.push({ message: `outputs of ${JSON.stringify(id)} must be a list of paths or named paths, not ${bad.what}`, location: location(), details: bad.detail ? [bad.detail] : undefined, hint: bad.hint });
    }
    // Outputs refused above were reported already: "declares no outputs" would be a second, wrong message.
    if (t.outputs.length === 0 && diags.length === before) diags.push({ message: `target ${JSON.stringify(id)} declares no outputs`, location: location(), hint: "list the files or directories its recipe writes in outputs: [...]" });
    pending.push(t);
  };

  const addOutput = (t: GraphTarget, name: string | undefined, label: string, p: unknown, fill: (s: string) => string) => {
    if (typeof p !== "string" || p === "") {
      const bad = describeBadItem(p, { ...describing, kind: "output" });
      diags.push({ message: `${label} of ${JSON.stringify(t.id)} is ${bad.what}, not a path`, location: loc(t), details: bad.detail ? [bad.detail] : undefined, hint: bad.hint });
      return;
    }
    const checked = checkOutputPath(root, fill(p), parentCache);
    if ("problem" in checked) {
      refusedOutputs.add(fill(p).replace(/\/+$/, ""));
      diags.push({ message: `output ${JSON.stringify(p)} of ${JSON.stringify(t.id)} ${checked.problem}`, location: loc(t), hint: checked.hint });
    } else t.outputs.push({ name, path: checked.path, dir: checked.dir });
  };

  const resolveInputs = (t: GraphTarget) => {
    const o = t.decl.options as { inputs?: unknown };
    let inputs = o.inputs;
    if (typeof inputs === "function") {
      // The function sees key values and declared param values; what it reads counts as used.
      const values: Record<string, unknown> = {};
      for (const pu of t.params) values[pu.local] = pu.value;
      const declared = new Set([...Object.keys((o as { params?: object }).params ?? {}), ...Object.keys(t.key ?? {})]);
      const read = readGuard(t.decl, "inputs", values, declared, (name) => t.paramsReadByInputs.push(name));
      try {
        inputs = user(() => (inputs as (k: unknown) => unknown)(read.values));
      } catch (e) {
        if (!read.stopped(e)) diags.push({ message: `inputs of ${JSON.stringify(t.id)} threw: ${(e as Error)?.message ?? String(e)}`, location: loc(t) });
        return;
      }
    }
    if (inputs === undefined) return;
    const fromTemplate = t.key !== undefined && typeof o.inputs !== "function";
    const item = (x: unknown, label: string): InputItem | undefined => {
      // A family's input paths may name its keys, as its outputs do: "data/{attribute}.csv".
      if (fromTemplate && typeof x === "string") x = fillKey(x, t.key);
      const k = declKind(x);
      if (k === "target" || k === "instance") {
        const dep = ensure(x as Target | Instance, t.id);
        return dep ? { kind: "target", spec: dep, files: [], target: dep } : undefined;
      }
      if (k === "family") {
        diags.push({ message: `${JSON.stringify(t.id)} lists a whole family as an input`, location: loc(t), hint: `use an instance: ${nameOf(x as Family) ?? "family"}({ ... })` });
        return undefined;
      }
      if (typeof x !== "string" || x === "") {
        const bad = describeBadItem(x, { ...describing, kind: "input" });
        diags.push({ message: `${label} of ${JSON.stringify(t.id)} is ${bad.what}, not a path, glob or target`, location: loc(t), details: bad.detail ? [bad.detail] : undefined, hint: bad.hint });
        return undefined;
      }
      if (GLOB_CHARS.test(x)) return { kind: "glob", spec: x, files: [] };
      const plain = isPlainRelative(x, root);
      const abs = plain ? `${root}/${x}` : resolve(root, x);
      const rel = plain ? x : relative(root, abs).split(sep).join("/");
      let st: StatLike | undefined;
      try {
        st = options.knownStats?.get(rel) ?? statSync(abs, { throwIfNoEntry: false });
      } catch (e) {
        // A symlink loop, a path through a file, no permission: the input cannot be read.
        unreadableOnDisk.set(rel === "" ? "." : rel, (e as NodeJS.ErrnoException).code ?? "");
      }
      if (st) stats.set(rel === "" ? "." : rel, st);
      const isDir = x.endsWith("/") || (st !== undefined && st.isDirectory());
      if (st === undefined && !unreadableOnDisk.has(rel === "" ? "." : rel)) missingOnDisk.add(rel === "" ? "." : rel);
      if (!isDir && templates.length && rel !== "") pathInputs.push({ t, path: rel });
      return { kind: isDir ? "dir" : "file", spec: x, files: [rel === "" ? "." : rel] };
    };
    if (Array.isArray(inputs)) {
      const items = inputs.map((x, i) => item(x, `inputs[${i}]`)).filter((x): x is InputItem => !!x);
      t.inputs.push({ single: false, items });
    } else if (inputs && typeof inputs === "object" && !isParam(inputs) && declKind(inputs) === undefined) {
      t.inputsShape = "record";
      for (const [name, v] of Object.entries(inputs)) {
        const list = Array.isArray(v) ? v : [v];
        const items = list.map((x, i) => item(x, Array.isArray(v) ? `inputs.${name}[${i}]` : `inputs.${name}`)).filter((x): x is InputItem => !!x);
        const single = !Array.isArray(v) && items.length === 1 && (items[0].kind === "file" || items[0].kind === "dir");
        t.inputs.push({ name, single, items });
      }
    } else {
      // One item where a list belongs (`inputs: "data/x.csv"`, `inputs: prep`): the hint adds the brackets.
      const bad = describeBadShape(inputs, { ...describing, kind: "input", fromFunction: typeof o.inputs === "function" });
      diags.push({ message: `inputs of ${JSON.stringify(t.id)} must be a list or named inputs, not ${bad.what}`, location: loc(t), details: bad.detail ? [bad.detail] : undefined, hint: bad.hint });
    }
  };

  /**
   * An input path no target declares may be a file a family's output template makes
   * (`build/raw/{country}.csv` makes `build/raw/de.csv`): that instance is made as if the
   * Pipelinefile had named it, and so becomes a dependency (templates.ts). Outputs given by a
   * function cannot be matched, nor can directory or glob inputs. Indexed once; a Pipelinefile
   * without templated family outputs pays nothing more.
   */
  const templates = outputTemplates(
    (function* () {
      for (const [n, d] of spec.decls) if (declKind(d) === "family" && !spec.provisional?.has(n) && nameOf(d) !== undefined) yield [nameOf(d)!, d as Family] as const;
    })(),
    (p) => normalizedPath(root, p),
  );
  /** Plain file inputs, in the order seen (only while there are templates). */
  const pathInputs: { t: GraphTarget; path: string }[] = [];
  /** Paths the targets made so far declare (a folder output also with a trailing "/"). */
  const made = new Set<string>();
  let madeUpTo = 0;
  let matchedUpTo = 0;
  const ambiguousPaths = new Set<string>();
  const isMade = (path: string) => {
    for (; madeUpTo < pending.length; madeUpTo++) for (const o of pending[madeUpTo].outputs) made.add(o.dir ? o.path + "/" : o.path).add(o.path);
    if (made.has(path)) return true;
    for (let at = path.indexOf("/"); at > 0; at = path.indexOf("/", at + 1)) if (made.has(path.slice(0, at + 1))) return true;
    return false;
  };
  /**
   * Whether an instance's input matches its own family's template only with a longer string
   * key: `data/{name}.raw.csv` read by a family writing `data/{name}.csv` would make
   * `name=de.raw`, which reads `data/de.raw.raw.csv`, and so on forever (Snakemake calls this a
   * periodic wildcard). Such a path is not matched: it is a source file, as it was before
   * templates were matched.
   */
  const growsOwnKey = (t: GraphTarget, m: TemplateMatch): boolean => {
    if (t.decl !== m.template.family || !t.key) return false;
    const keySpec = m.template.family.options.key as Record<string, Param>;
    for (const [k, v] of Object.entries(m.key)) {
      if (keySpec[k]?.type !== "string" && keySpec[k]?.type !== "list") continue;
      const was = formatValue(t.key[k]);
      const now = formatValue(v);
      if (now.length > was.length && now.includes(was)) return true;
    }
    return false;
  };
  /** Makes the instances that the inputs seen since the last call name by template; false when none. */
  const instantiateFromTemplates = (): boolean => {
    let madeOne = false;
    for (; matchedUpTo < pathInputs.length; matchedUpTo++) {
      const { t, path } = pathInputs[matchedUpTo];
      if (ambiguousPaths.has(path) || isMade(path)) continue;
      const matches = matchOutputTemplates(templates, path, options.today, (p) => normalizedPath(root, p));
      if (matches.length === 0) continue;
      const byId = new Map<string, TemplateMatch>();
      for (const m of matches) if (!byId.has(instanceId(m.template.name, m.key))) byId.set(instanceId(m.template.name, m.key), m);
      if (byId.size > 1) {
        ambiguousPaths.add(path);
        const all = [...byId];
        const first = all[0][1];
        diags.push({
          message: `${JSON.stringify(path)}, needed by ${JSON.stringify(t.id)}, matches the output templates of ${all.length} instances: ${all.map(([id, m]) => `${JSON.stringify(id)} (${JSON.stringify(m.template.text)})`).join(", ")}`,
          location: loc(t),
          details: all.map(([, m]) => {
            const l = m.template.family.site.location();
            return `family ${JSON.stringify(m.template.name)} is declared at ${l ? `${l.file}:${l.line}:${l.column}` : "(unknown line)"}`;
          }),
          hint: `declare the input as an instance, so that pipe knows which one makes it (e.g. ${first.template.name}({ ${Object.entries(first.key).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }) in the inputs of ${JSON.stringify(t.name)})`,
        });
        continue;
      }
      const [[id, m]] = byId;
      if (targets.has(id)) continue; // made, but its outputs were refused (reported)
      if (growsOwnKey(t, m)) continue;
      // The snapshot's graph had every instance a template made: a new one means the full graph.
      if (subset) throw new SubsetMiss(`${path} is made by ${id}, which the snapshot does not list`);
      create(id, m.template.family, m.key, () => m.template.family.site.location());
      grownByTemplate.set(id, `the last one makes ${JSON.stringify(path.length > 80 ? `${path.slice(0, 50)}…${path.slice(-29)}` : path)} (output template ${JSON.stringify(m.template.text)}), an input of the one before`);
      grew(id, t.id);
      madeOne = true;
    }
    return madeOne;
  };

  /**
   * Instances made while resolving inputs, each with the one whose inputs named it: a family
   * whose inputs name a new instance of itself without a base case would grow until memory
   * runs out (minutes, then a V8 crash), so past a bound it is an error showing the chain.
   */
  let growing = false;
  let grown = 0;
  const grownFrom = new Map<string, string>();
  /** Instances made by matching an output template: how (for the message). */
  const grownByTemplate = new Map<string, string>();
  const maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
  const grew = (id: string, from: string) => {
    grownFrom.set(id, from);
    if (++grown > maxInstances) throw tooManyInstances(id);
  };
  const tooManyInstances = (last: string): UserError => {
    const chain = [last];
    for (let at = grownFrom.get(last); at !== undefined; at = grownFrom.get(at)) chain.push(at);
    chain.reverse();
    const t = targets.get(last)!;
    const famName = t.family ?? t.name;
    const families = [...new Set(chain.map((id) => targets.get(id)?.family).filter((f): f is string => f !== undefined))];
    // Ids can grow too (a template matching its own output): each is cut to a readable length.
    const short = (id: string) => (id.length > 60 ? `${id.slice(0, 40)}…${id.slice(-19)}` : id);
    const shown = chain.length <= 8 ? chain.map(short) : [...chain.slice(0, 3).map(short), `… (${(chain.length - 6).toLocaleString("en-US")} more) …`, ...chain.slice(-3).map(short)];
    // Where the family is declared; where the last instance was named (in an inputs function) too.
    const declared = t.decl.site.location();
    const named = loc(t);
    const at = (l: typeof named) => (l ? `${l.file}:${l.line}:${l.column}` : "");
    const via = grownByTemplate.get(last);
    const [k, p] = Object.entries((t.decl.options as { key?: Record<string, Param> }).key ?? {})[0] ?? ["k", undefined];
    const numeric = p?.type === "int" || p?.type === "number";
    const raise = "a Pipelinefile that needs more instances can raise PIPE_MAX_INSTANCES";
    const hint = via
      ? `an instance's input matches an output template again and again: name the instance that makes it in the inputs, or write the outputs so that no instance reads a path another one's template makes; ${raise}`
      : numeric
        ? `give the inputs function of ${JSON.stringify(famName)} a base case that names no further instance (${k} > 0 ? [${famName}({ ${k}: ${k} - 1 })] : []); ${raise}`
        : `give the inputs function of ${JSON.stringify(famName)} a base case that names no further instance, or limit the key's values (param.enum([...])); ${raise}`;
    return new UserError({
      message: `family ${JSON.stringify(famName)} keeps making new instances: resolving inputs made more than ${maxInstances.toLocaleString("en-US")} (the limit, PIPE_MAX_INSTANCES)`,
      location: declared ?? named,
      details: [
        `the chain that led to the last one (${chain.length.toLocaleString("en-US")} instances): ${shown.join(" -> ")}`,
        ...(families.length > 1 ? [`families on the chain: ${families.map((f) => JSON.stringify(f)).join(", ")}`] : []),
        ...(via ? [via] : declared && named && at(named) !== at(declared) ? [`the last one is named at ${at(named)}`] : []),
      ],
      hint,
    });
  };

  const keysOf = (name: string) => {
    const d = spec.decls.get(name);
    return d && declKind(d) === "family" ? Object.keys((d as Family).options.key as object) : undefined;
  };
  const subset = options.subset;
  // Subset: only these get their inputs resolved (and edges); the others are outputs only.
  const resolving = subset ? new Set(subset.plan) : undefined;
  if (subset) {
    for (const id of [...subset.plan, ...subset.outputsOnly]) {
      const parsed = parseTargetId(id, keysOf);
      const decl = parsed ? spec.decls.get(parsed.name) : undefined;
      if (!parsed || !decl) throw new SubsetMiss(`no declaration for ${id}`);
      if (declKind(decl) === "target") {
        if (parsed.key || ensure(decl as Target, undefined) !== id) throw new SubsetMiss(`${id} is not a target`);
        continue;
      }
      // The key as the build that made the snapshot had it (an id's text can read back as
      // another key: ["a,b"] and ["a", "b"] are both a,b).
      const recorded = subset.keys.get(id);
      const key = recorded && checkKey(decl as Family, parsed.name, recorded, undefined, false);
      if (!key || instanceId(parsed.name, key) !== id) throw new SubsetMiss(`${id} is not an instance`);
      if (!targets.has(id)) create(id, decl, key, () => (decl as Family).site.location());
    }
  }
  // Instantiate everything reachable: plain targets, defaults, and what the user asked for.
  if (!subset) for (const d of spec.decls.values()) if (declKind(d) === "target") ensure(d as Target, undefined);
  // Exported instances are declared as exported targets are (a bad key value is reported here).
  if (!subset) for (const inst of spec.instances ?? []) ensure(inst, undefined);
  const defaults = subset ? [] : spec.defaults.map((d) => ensure(d, "the default export")).filter((x): x is string => !!x);
  const selected: string[] = [];
  const requestedFamilies: string[] = [];
  const requestedInstances: RequestedInstance[] = [];
  for (const req of subset ? [] : options.requested) {
    // A key name the family does not have (`f[colour=red]`) does not parse against its keys:
    // read it without them, so that checkKey names the key rather than "unknown target".
    const parsed = parseTargetId(req, keysOf) ?? parseTargetId(req);
    const decl = parsed && !spec.provisional?.has(parsed.name) ? spec.decls.get(parsed.name) : undefined;
    if (!parsed || !decl) {
      const candidates = [...spec.decls.keys(), ...targets.keys()].filter((n) => !spec.provisional?.has(n));
      const bracket = /^([^[\]]+)\[(.*)\]$/s.exec(req.trim());
      const fam = bracket && !spec.provisional?.has(bracket[1]) ? spec.decls.get(bracket[1]) : undefined;
      if (bracket && fam && declKind(fam) === "family") {
        // `trend[recovered]`, `trend[attribute]`: a key list without name=value.
        diags.push({ message: `${JSON.stringify(req)}: a family's keys are written name=value`, hint: `write ${keyListHint(bracket[1], fam as Family, bracket[2])}`, request: true });
        continue;
      }
      // `Trend[attribute=recovered]`: the name misspelt, the keys kept.
      const near = didYouMean(parsed?.name ?? req, candidates);
      const meant = near !== undefined && parsed?.key && bracket ? `${near}[${bracket[2]}]` : near;
      const hidden = meant === undefined ? unexportedLines(spec.unexported ?? []) : [];
      // `hiden` for an unexported target named "hidden": the hint said to export one named hiden.
      const hiddenNames = (spec.unexported ?? []).flatMap((d) => ((d.options as { name?: unknown }).name === undefined ? [] : [String((d.options as { name?: unknown }).name)]));
      const nearHidden = hidden.length ? didYouMean(parsed?.name ?? req, hiddenNames) : undefined;
      const exportAs = nearHidden ?? req;
      diags.push({
        // `b` when a target named b is declared but not exported: "did you mean "b"?" read oddly.
        message: `unknown target ${JSON.stringify(req)}${meant !== undefined ? `; did you mean ${JSON.stringify(meant)}?` : nearHidden === undefined ? "" : nearHidden === (parsed?.name ?? req) ? `: ${JSON.stringify(nearHidden)} is declared but not exported` : `; did you mean ${JSON.stringify(nearHidden)}? (it is declared, not exported)`}`,
        details: hidden.length ? hidden : undefined,
        hint: hidden.length ? `pipe knows a target by its export name (or its name: option): export it (export const ${/^[A-Za-z_$][\w$]*$/.test(exportAs) ? exportAs : "x"} = target({ ... }))` : "`pipe status` lists every target",
        request: true,
      });
      continue;
    }
    if (declKind(decl) === "target") {
      if (parsed.key) {
        // `all[x=1]`: the target by its name; a key that is one of its params is set with --param.
        const declared = new Set(Object.values(((decl as Target).options as { params?: Record<string, unknown> }).params ?? {}).filter(isParam).map((p) => describing.paramName(p)));
        const asParams = Object.entries(parsed.key).filter(([k]) => declared.has(k));
        const hint = asParams.length
          ? `name it without the brackets, and set its params with --param: ${parsed.name} ${asParams.map(([k, v]) => `--param ${k}=${v}`).join(" ")}`
          : `name it without the brackets: ${parsed.name}`;
        diags.push({ message: `${JSON.stringify(parsed.name)} is a target, not a family; it takes no [key=value]`, hint, request: true });
      }
      else selected.push(parsed.name);
    } else if (parsed.key) {
      const key = checkKey(decl as Family, parsed.name, parsed.key, undefined, true);
      if (key) {
        const id = instanceId(parsed.name, key);
        if (!targets.has(id)) create(id, decl, key, () => (decl as Family).site.location());
        selected.push(id);
        requestedInstances.push({ id, family: parsed.name, given: parsed.key });
      }
    } else requestedFamilies.push(parsed.name);
  }
  // Resolve inputs breadth-first: resolving may instantiate more family instances, named in
  // inputs or matched by an output template; those are resolved in turn.
  growing = true;
  for (let i = 0; ; ) {
    for (; i < pending.length; i++) if (!resolving || resolving.has(pending[i].id)) resolveInputs(pending[i]);
    if (!instantiateFromTemplates()) break;
  }
  growing = false;
  for (const fam of requestedFamilies) {
    const ids = [...targets.values()].filter((t) => t.family === fam).map((t) => t.id);
    if (ids.length) for (const id of ids) selected.push(id);
    else {
      // No instance in this Pipelinefile's graph (none exported, in the default export or named
      // by an inputs function): one is named by its keys.
      const d = spec.decls.get(fam) as Family;
      const keys = Object.keys((d.options.key ?? {}) as object);
      const l = d.site.location();
      diags.push({ message: `family ${JSON.stringify(fam)} has no instances here: none is exported, in the default export, or named by another target`, details: l ? [`family ${JSON.stringify(fam)} is declared at ${l.file}:${l.line}:${l.column}`] : undefined, hint: `name one by its keys: '${fam}[${keys.map((k) => `${k}=...`).join(",")}]'`, request: true });
    }
  }

  // Outputs: one owner per path, no output inside another target's directory output.
  const outputOwner = new Map<string, string>();
  const dirOutputs: [string, string][] = [];
  for (const t of targets.values()) {
    for (const out of t.outputs) {
      const prev = outputOwner.get(out.path);
      if (prev === t.id) {
        // Twice in one target (also as "build/./x" or under two names): both staging paths
        // were moved to one place, and the second move failed after the first had published.
        diags.push({ message: `target ${JSON.stringify(t.id)} declares output ${JSON.stringify(out.path)} twice`, location: loc(t), hint: "list each output once" });
      } else if (prev !== undefined) {
        diags.push({ message: `targets ${JSON.stringify(prev)} and ${JSON.stringify(t.id)} both declare output ${JSON.stringify(out.path)}`, location: loc(t), details: locLine(targets.get(prev)!, loc), hint: sameFileHint(targets.get(prev)!, t) ?? "each output must have exactly one target" });
      } else outputOwner.set(out.path, t.id);
      if (out.dir) dirOutputs.push([out.path + "/", t.id]);
    }
  }
  const ownerOf = (path: string): string | undefined => {
    const direct = outputOwner.get(path);
    if (direct !== undefined) return direct;
    for (const [prefix, id] of dirOutputs) if (path.startsWith(prefix)) return id;
    return undefined;
  };
  // An output inside another output: a directory output of another target, and also (they
  // were not checked, and failed every run with EEXIST or "recipe wrote ... directly") a file
  // output used as a folder, or an output inside its own target's directory output
  // (reliability.md D7). Each output's parent folders are looked up: n x depth, not n x n.
  for (const [p, inner] of outputOwner) {
    for (let at = p.indexOf("/"); at > 0; at = p.indexOf("/", at + 1)) {
      const outer = p.slice(0, at);
      const id = outputOwner.get(outer);
      if (id === undefined) continue;
      const isDir = targets.get(id)!.outputs.some((o) => o.path === outer && o.dir);
      const message = !isDir
        ? `output ${JSON.stringify(p)} of ${JSON.stringify(inner)} is inside output ${JSON.stringify(outer)} of ${JSON.stringify(id)}, which is a file`
        : inner === id
          ? `output ${JSON.stringify(p)} of ${JSON.stringify(id)} is inside its own directory output ${JSON.stringify(outer + "/")}`
          : `output ${JSON.stringify(p)} of ${JSON.stringify(inner)} is inside directory output ${JSON.stringify(outer + "/")} of ${JSON.stringify(id)}`;
      const hint = !isDir ? "outputs must not overlap: a path is a file or a folder, not both" : inner === id ? `the directory output holds everything its recipe writes under ${outer}/: leave ${JSON.stringify(p)} out` : "outputs must not overlap";
      diags.push({ message, location: loc(targets.get(inner)!), hint });
      break;
    }
  }

  // Files produced by other targets become edges; globs are expanded now.
  for (const t of targets.values()) {
    if (resolving && !resolving.has(t.id)) continue;
    const deps = new Set<string>();
    const own = new Set(t.outputs.map((o) => o.path));
    for (const g of t.inputs) {
      for (const it of g.items) {
        if (it.kind === "target") {
          deps.add(it.target!);
          it.files = targets.get(it.target!)?.outputs.map((o) => o.path) ?? [];
        } else if (it.kind === "glob") {
          // A glob whose folder is inside another target's directory output matches what that
          // recipe writes, which is known only once it has run: expanded now, it matched
          // nothing on a first build (the target ran beside the producer and read no file, and
          // then passed for up to date). Refused, with the declaration that works.
          const base = picomatch().scan(it.spec).base;
          const inside = dirOutputs.find(([prefix, id]) => id !== t.id && (base + "/").startsWith(prefix));
          if (inside) {
            const [prefix, id] = inside;
            diags.push({
              message: `input ${JSON.stringify(it.spec)} of ${JSON.stringify(t.id)} is a glob inside ${JSON.stringify(prefix)}, the directory output of ${JSON.stringify(id)}: what it matches is known only once ${JSON.stringify(id)} has run`,
              location: loc(t),
              hint: `read the folder as an input instead: inputs: [${id.includes("[") ? JSON.stringify(prefix) : id}] (a target means its outputs) or ${JSON.stringify(prefix)}, and pick the files in the recipe (e.g. sh\`cat ${prefix}*.txt\`)`,
            });
            it.files = [];
            continue;
          }
          const isMatch = picomatch()(it.spec, { dot: false });
          const generated = [...outputOwner.keys()].filter((p) => !own.has(p) && isMatch(p));
          const found = fastGlob().sync(it.spec, { cwd: root, dot: false, onlyFiles: true, ignore: [".pipe/**", "node_modules/**"], followSymbolicLinks: true, fs: globFs });
          const looped = loops.take().sort((a, b) => (a.at < b.at ? -1 : 1));
          // A name that is not valid UTF-8 comes back with U+FFFD in place of its bytes: a path
          // no file has (it failed later as "input ... is missing").
          const undecodable = found.filter((f) => f.includes("\uFFFD") && !existsSync(resolve(root, f)));
          if (undecodable.length) {
            diags.push({
              message: `input ${JSON.stringify(it.spec)} of ${JSON.stringify(t.id)} matches ${undecodable.length === 1 ? "a file whose name is" : `${undecodable.length} files whose names are`} not valid UTF-8 (shown with \uFFFD): ${undecodable.slice(0, 3).join(", ")}${undecodable.length > 3 ? ", ..." : ""}`,
              location: loc(t),
              hint: "pipe names files by their UTF-8 text: rename them (e.g. convmv -f latin1 -t utf8), or write a pattern that does not match them",
            });
          }
          if (looped.length) {
            const rel = (abs: string) => relative(root, abs) || ".";
            diags.push({
              message: `input ${JSON.stringify(it.spec)} of ${JSON.stringify(t.id)} follows symbolic links in a loop: ${looped.map((l) => `${rel(l.at)} leads back to ${rel(l.to)}`).join(", ")}`,
              location: loc(t),
              hint: "a glob follows links into folders: match without descending into the loop (a pattern without **, or the folders it should read), or remove the link if it is the project's",
            });
          }
          // Its own outputs (and what is inside its folder outputs) are left out: a glob is the
          // clean way to read a folder that also holds what the target writes. Each match's
          // owner is looked up once (dirOutputs makes that a scan).
          it.files = [];
          for (const f of [...new Set([...found, ...generated])].sort()) {
            if (own.has(f)) continue;
            const owner = ownerOf(f);
            if (owner === t.id) continue;
            if (owner) deps.add(owner);
            it.files.push(f);
          }
        } else {
          const f = it.files[0];
          const owner = ownerOf(f);
          if (owner && owner !== t.id) deps.add(owner);
          if (owner === t.id && it.kind === "file") {
            // It would read its previous output: never up to date, or missing on the first run.
            diags.push({
              message: `dependency cycle: ${JSON.stringify(t.id)} -> ${JSON.stringify(t.id)}: input ${JSON.stringify(it.spec)} is ${own.has(f) ? "its own output" : `inside its own output ${JSON.stringify(t.outputs.find((o) => o.dir && f.startsWith(o.path + "/"))!.path + "/")}`}`,
              location: loc(t),
              details: ["the recipe would read what its previous run wrote, so it would never be up to date"],
              hint: `remove ${JSON.stringify(it.spec)} from the inputs, or write the output to another path and read that`,
            });
          }
          if (it.kind === "dir") {
            // A folder input holding the target's own output changes with every run of it (it
            // never settles); hashing the folder without it would settle, but the recipe would
            // still read its previous output. Refused, as a glob input is the clean way.
            const inside = t.outputs.find((o) => f === "." || o.path === f || o.path.startsWith(f + "/"));
            if (inside) {
              const out = inside.path + (inside.dir ? "/" : "");
              diags.push({
                message: `directory input ${JSON.stringify(it.spec)} of ${JSON.stringify(t.id)} contains the target's own output ${JSON.stringify(out)}`,
                location: loc(t),
                details: ["the recipe would read its previous output, so what it makes would depend on earlier runs"],
                hint: f === "." ? `list what the recipe reads with a glob (**, or a narrower folder), which leaves its own outputs out` : `write the output outside ${f}/ (e.g. ${outsideExample(f, inside.path)}), or list what the recipe reads with a glob (${f}/**), which leaves its own outputs out`,
              });
            }
          }
          if (it.kind === "dir") for (const [prefix, id] of dirOutputs) if (prefix.startsWith(f + "/") && id !== t.id) deps.add(id);
          if (it.kind === "dir") for (const p of outputOwner.keys()) if (p.startsWith(f === "." ? "" : f + "/") && outputOwner.get(p) !== t.id) deps.add(outputOwner.get(p)!);
        }
      }
    }
    t.deps = [...deps].sort();
  }

  // Cycles, with the whole trail.
  // Each link says which input makes it and where that target is declared: the one location
  // named the first target only, and the input to remove could be on any of the others.
  const link = (from: string, to: string): string => {
    const t = targets.get(from)!;
    let what = "an output";
    find: for (const g of t.inputs) {
      for (const it of g.items) {
        if (it.kind === "target" && it.target === to) {
          what = `the outputs`;
          break find;
        }
        const f = it.files.find((x) => ownerOf(x) === to);
        if (f !== undefined) {
          what = it.kind === "file" ? `${JSON.stringify(f)}, an output` : `${JSON.stringify(f)} (input ${JSON.stringify(it.spec)}), an output`;
          break find;
        }
      }
    }
    const l = loc(t);
    return `${JSON.stringify(from)} reads ${what} of ${JSON.stringify(to)}${l ? ` (${JSON.stringify(from)} is declared at ${l.file}:${l.line}:${l.column})` : ""}`;
  };
  for (const cycle of findCycles(targets)) {
    const details = cycle.slice(0, -1).map((c, i) => link(c, cycle[i + 1]));
    diags.push({ message: `dependency cycle: ${cycle.map((c) => JSON.stringify(c)).join(" -> ")}`, location: loc(targets.get(cycle[0])!), details, hint: "a target cannot depend on its own outputs; remove one of these inputs" });
  }
  // Problems found so far do not stop the checks below: missing sources and params without
  // values are independent of them, and every problem is reported at once.
  const order = topoOrder(targets);
  const dependents = new Map<string, string[]>();
  for (const id of order) for (const d of targets.get(id)!.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(id);
  const graph: Graph = { root, targets, order, dependents, outputOwner, defaults };
  const sel = subset ? subset.plan : options.requested.length ? selected : defaults.length ? defaults : order.filter((id) => !dependents.has(id));

  // Problems that matter only for what will be built: params without values, missing sources.
  const needed = closure(graph, sel);
  const late: Diagnostic[] = [];
  for (const id of needed) {
    const t = targets.get(id)!;
    for (const pu of (Object.entries(((t.decl.options as { params?: Record<string, Param> }).params) ?? {}))) {
      const problem = isParam(pu[1]) ? paramProblems.get(cliName(pu[1], pu[0])) : undefined;
      if (problem && !late.includes(problem)) late.push(problem);
    }
    for (const g of t.inputs) {
      for (const it of g.items) {
        if (it.kind !== "file" && it.kind !== "dir") continue;
        const f = it.files[0];
        if (ownerOf(f) !== undefined) continue;
        // A file that a refused output declares is not missing: the refusal is the problem.
        if (missingOnDisk.has(f) && !refusedOutputs.has(f) && !ambiguousPaths.has(f)) {
          const link = danglingLink(resolve(root, f));
          if (link !== undefined) late.push({ message: `${JSON.stringify(it.spec)}, needed by ${JSON.stringify(id)}, is a dangling symlink: it points to ${JSON.stringify(link)}, which does not exist`, location: loc(t), hint: `create what it points to, or point ${f} at an existing file` });
          else late.push({ message: `${JSON.stringify(it.spec)}, needed by ${JSON.stringify(id)}, is missing and no target produces it`, location: loc(t), hint: `create ${f}, fix the path, or declare a target with it in its outputs` });
        }
        const code = unreadableOnDisk.get(f);
        if (code !== undefined) {
          const why = ERRNO_MEANING[code] ?? `it cannot be read (${code || "unknown error"})`;
          late.push({ message: `${JSON.stringify(it.spec)}, needed by ${JSON.stringify(id)}, cannot be read: ${why}`, location: loc(t), hint: ERRNO_HINT[code] ?? `fix the path ${f} or what it points to` });
        }
      }
    }
  }
  // Declarations, and none that pipe can see: every one of them is missing its export.
  if (!subset && targets.size === 0 && spec.unexported?.length) {
    const [first, ...rest] = spec.unexported;
    const n = spec.unexported.length;
    diags.push({
      message: `the Pipelinefile declares ${n === 1 ? "a target" : `${n} targets and families`} but exports none: pipe finds targets through its exports`,
      location: first.site.location(),
      details: rest.length ? unexportedLines(rest) : undefined,
      hint: ((name) => `export it (export const ${name} = ${declKind(first) === "family" ? "family" : "target"}({ ... })), or list it in the default export (export default [${name}])`)(declaredAs(first, root) ?? "words"),
    });
  }
  if (diags.length || (late.length && !options.lenient)) throw new UserError(withProvisionalNames(options.lenient ? diags : [...diags, ...late], spec.provisional));
  // A subset's closure is not the whole build: the build that made the snapshot had no warnings.
  const warnings = subset || options.paramText.size === 0 ? [] : ineffectiveParams({ spec, targets, needed, paramText: options.paramText, requested: requestedInstances });
  return { graph, selected: sel, stats, globLists, warnings };
}

/** An output path like `path` but outside the folder `dir`: build/x.txt, or out/x.txt when build/ is the folder. */
/** Lines naming declarations no export reaches ("not exported: a target at Pipelinefile.ts:3:1"), a few at most. */
/**
 * The name a declaration goes by in its source, for a hint: its `name:` option, else the variable
 * it is assigned to on its line (`const words = target({`), if that can be read.
 */
function declaredAs(d: Decl, root: string): string | undefined {
  const name = (d.options as { name?: unknown }).name;
  if (typeof name === "string" && /^[A-Za-z_$][\w$]*$/.test(name)) return name;
  const l = d.site.location();
  if (!l) return undefined;
  try {
    const line = readFileSync(resolve(root, l.file), "utf8").split("\n")[l.line - 1] ?? "";
    const vars = [...line.slice(0, Math.max(l.column, 1) + 40).matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/g)];
    return vars.at(-1)?.[1];
  } catch {
    return undefined;
  }
}

function unexportedLines(list: Decl[]): string[] {
  const lines = list.slice(0, 4).map((d) => {
    const l = d.site.location();
    const name = (d.options as { name?: unknown }).name;
    return `not exported: a ${declKind(d) === "family" ? "family" : "target"}${name === undefined ? "" : ` named ${JSON.stringify(String(name))}`}${l ? ` declared at ${l.file}:${l.line}:${l.column}` : ""}`;
  });
  if (list.length > 4) lines.push(`and ${list.length - 4} more`);
  return lines;
}

function outsideExample(dir: string, path: string): string {
  const base = path.split("/").pop()!;
  for (const top of ["build", "out", "dist", "output"]) {
    const candidate = `${top}/${base}`;
    if (!candidate.startsWith(dir + "/")) return candidate;
  }
  return `results/${base}`;
}

/**
 * A declaration without a usable name was given a provisional one (load.ts) so that the graph's
 * problems could be found too; when another message uses it, the naming problem says so.
 */
function withProvisionalNames(diags: Diagnostic[], provisional: PipelineSpec["provisional"]): Diagnostic[] {
  if (!provisional?.size) return diags;
  return diags.map((d) => {
    for (const [name, problem] of provisional) {
      if (d !== problem) continue;
      const quoted = JSON.stringify(name);
      if (!diags.some((o) => o !== d && o.message.includes(quoted))) return d;
      return { ...d, details: [...(d.details ?? []), `the messages below call it ${quoted}`] };
    }
    return d;
  });
}

/** What a failed stat of an input means, in the user's terms. */
const ERRNO_MEANING: Record<string, string> = {
  ELOOP: "it is a symlink loop (ELOOP: too many levels of symbolic links)",
  ENOTDIR: "a part of its path is a file, not a folder (ENOTDIR)",
  EACCES: "permission denied (EACCES)",
  ENAMETOOLONG: "its name is too long (ENAMETOOLONG)",
};
const ERRNO_HINT: Record<string, string> = {
  ELOOP: "make the symlink point at a real file or folder, or fix the path",
  ENOTDIR: "fix the path: only folders can have entries",
  EACCES: "give yourself read permission on it and its folders",
};

/** The text of `abs` if it is a symlink whose target does not exist (only asked for a missing input). */
function danglingLink(abs: string): string | undefined {
  try {
    return lstatSync(abs).isSymbolicLink() ? readlinkSync(abs) : undefined;
  } catch {
    return undefined;
  }
}

function locLine(t: GraphTarget, loc: (t: GraphTarget) => GraphTarget["location"]): string[] | undefined {
  const l = loc(t);
  return l ? [`${JSON.stringify(t.id)} is declared at ${l.file}:${l.line}:${l.column}`] : undefined;
}

/**
 * fast-glob, loaded the first time a Pipelinefile has a glob input: loading it costs ~20 ms,
 * a noticeable part of a small build, and many Pipelinefiles list their files.
 */
let fg: typeof import("fast-glob") | undefined;
function fastGlob(): typeof import("fast-glob") {
  fg ??= createRequire(import.meta.url)("fast-glob") as typeof import("fast-glob");
  return fg;
}

/** picomatch, loaded at the first glob: a Pipelinefile without globs never pays for it (a CommonJS package: its loading took 3-5 ms of a build). */
let pm: typeof import("picomatch") | undefined;
function picomatch(): typeof import("picomatch") {
  pm ??= createRequire(import.meta.url)("picomatch") as typeof import("picomatch");
  return pm;
}

/**
 * Whether `p` is already a normal project-relative path (`a/b.txt`: no leading or doubled `/`,
 * no `.` or `..` part), which resolve() + relative() would return unchanged. Most declared
 * paths are; skipping the two calls matters for 10,000 targets.
 */
function isPlainRelative(p: string, root: string): boolean {
  if (p === "" || sep !== "/" || root === "/" || p.charCodeAt(0) === 47) return false;
  for (const part of p.split("/")) if (part === "" || part === "." || part === "..") return false;
  return true;
}

/** `p` as a normal project-relative path (as inputs and outputs are kept); undefined outside the project. */
function normalizedPath(root: string, p: string): string | undefined {
  if (isPlainRelative(p, root)) return p;
  const rel = relative(root, isAbsolute(p) ? p : resolve(root, p)).split(sep).join("/");
  return rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel) ? undefined : rel;
}

/** A symlink on the way to an output's folder: out of the project, or to another path in it. */
export interface ParentLink {
  outside?: string;
  link?: string;
  parent: string;
  real: string;
  realRoot: string;
}

/** Normalises an output path and checks it stays inside the project and out of `.pipe/`. */
export function checkOutputPath(root: string, p: string, parents: Map<string, ParentLink | undefined> = new Map()): { path: string; dir: boolean } | { problem: string; hint?: string } {
  if (p.includes("\0")) return { problem: "contains a NUL byte" };
  const dir = p.endsWith("/");
  const bare = dir ? p.slice(0, -1) : p;
  const plain = isPlainRelative(bare, root);
  const abs = plain ? `${root}/${bare}` : isAbsolute(p) ? p : resolve(root, p);
  const rel = plain ? bare : relative(root, abs).split(sep).join("/");
  if (rel === "" || rel === ".") return { problem: "is the project root itself", hint: "write outputs into a folder such as build/" };
  if (rel.startsWith("../") || rel === ".." || isAbsolute(rel)) return { problem: "resolves outside the project root", hint: `outputs must be inside ${root}` };
  if (rel === ".pipe" || rel.startsWith(".pipe/")) return { problem: "is inside .pipe/, pipe's own state folder", hint: "write outputs into a folder such as build/" };
  if (rel === "node_modules" || rel.startsWith("node_modules/")) return { problem: "is inside node_modules/", hint: "write outputs into a folder such as build/" };
  // A parent folder that is a symlink would let a write land elsewhere: out of the project, or
  // onto another path of it (build -> src: the recipe would rewrite sources, and two targets
  // could own one file under two names). Compared with the real path of the project root; the
  // link itself is looked for only when the two differ. (Checked once per parent folder: many
  // outputs share one.)
  const dir0 = dirname(abs);
  if (!parents.has(dir0)) {
    let parent = dir0;
    while (!existsSync(parent) && parent !== dirname(parent)) parent = dirname(parent);
    let found: ParentLink | undefined;
    try {
      const real = realpathSync(parent);
      const realRoot = realpathSync(root);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) found = { outside: `${relative(root, parent)} -> ${real}`, parent, real, realRoot };
      else if (real !== resolve(realRoot, relative(root, parent))) {
        const link = findLink(root, relative(root, parent));
        found = { link: link ? `${link.path} -> ${link.target}` : `${relative(root, parent)} -> ${real}`, parent, real, realRoot };
      }
    } catch {
      // an unreadable parent is reported when the recipe runs
    }
    parents.set(dir0, found);
  }
  const found = parents.get(dir0);
  if (found?.outside) return { problem: `resolves outside the project root through a symlink (${found.outside})`, hint: "outputs must be inside the project root" };
  if (found?.link) {
    const realRel = relative(found.realRoot, resolve(found.real, relative(found.parent, abs))).split(sep).join("/") + (dir ? "/" : "");
    return { problem: `goes through a symlinked folder (${found.link}), so it would be written at ${realRel}`, hint: `declare the real path (${JSON.stringify(realRel)}), or replace the link with a folder` };
  }
  return { path: rel, dir };
}

/** The first symlink on the way from the project root to `rel` (a folder), with its text. */
function findLink(root: string, rel: string): { path: string; target: string } | undefined {
  let at = "";
  for (const part of rel.split(sep)) {
    at = at ? `${at}/${part}` : part;
    try {
      if (lstatSync(resolve(root, at)).isSymbolicLink()) return { path: at, target: readlinkSync(resolve(root, at)) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function topoOrder(targets: Map<string, GraphTarget>): string[] {
  const order: string[] = [];
  const state = new Map<string, number>();
  const ids = [...targets.keys()].sort();
  for (const start of ids) {
    if (state.has(start)) continue;
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const deps = targets.get(top[0])!.deps;
      if (top[1] < deps.length) {
        const d = deps[top[1]++];
        if (!state.has(d)) {
          state.set(d, 1);
          stack.push([d, 0]);
        }
      } else {
        stack.pop();
        state.set(top[0], 2);
        order.push(top[0]);
      }
    }
  }
  return order;
}

/**
 * The instance id to type for `fam[text]` written without name=value: a bare value that one
 * key allows (`trend[recovered]` -> `trend[attribute=recovered]`), a bare key name
 * (`trend[attribute]` -> `trend[attribute=<one of its values>]`), else every key.
 */
function keyListHint(name: string, fam: Family, text: string): string {
  const keys = Object.entries((fam.options.key ?? {}) as Record<string, unknown>).filter((e): e is [string, Param] => isParam(e[1]));
  const parts = text.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const out: string[] = [];
  const allowed: string[] = [];
  const used = new Set<string>();
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq > 0) {
      out.push(part);
      used.add(part.slice(0, eq).trim());
      continue;
    }
    const asKey = keys.find(([k]) => k === part);
    if (asKey) {
      used.add(part);
      out.push(`${part}=...`);
      if (asKey[1].type === "enum" && asKey[1].values?.length) allowed.push(`${part}: ${asKey[1].values.join(", ")}`);
      continue;
    }
    const byValue = keys.filter(([k, p]) => !used.has(k) && p.type === "enum" && p.values?.includes(part));
    if (byValue.length === 1) {
      used.add(byValue[0][0]);
      out.push(`${byValue[0][0]}=${part}`);
      continue;
    }
    return `${name}[${keys.map(([k]) => `${k}=...`).join(",")}] (keys: ${keys.map(([k]) => k).join(", ")})`;
  }
  return `'${name}[${out.join(",")}]'${allowed.length ? ` (${allowed.join("; ")})` : ""}`;
}

/**
 * Two instances of one family that write the same file: the keys they differ in are missing
 * from the family's output templates (`build/h-{p}.txt` with keys p and q). Undefined otherwise.
 */
function sameFileHint(a: GraphTarget, b: GraphTarget): string | undefined {
  if (a.family === undefined || a.family !== b.family || !a.key || !b.key) return undefined;
  const differ = Object.keys(a.key).filter((k) => stableStringify(a.key![k]) !== stableStringify(b.key![k]));
  const outputs = (a.decl.options as { outputs?: unknown }).outputs;
  const templates = (Array.isArray(outputs) ? outputs : outputs && typeof outputs === "object" ? Object.values(outputs) : []).filter((o): o is string => typeof o === "string");
  const missing = differ.filter((k) => templates.every((tpl) => !tpl.includes(`{${k}}`)));
  if (missing.length === 0 || templates.length === 0) return undefined;
  const names = missing.map((k) => `{${k}}`).join(", ");
  const first = templates[0];
  const dot = first.lastIndexOf(".");
  const example = dot > first.lastIndexOf("/") ? `${first.slice(0, dot)}-${missing.map((k) => `{${k}}`).join("-")}${first.slice(dot)}` : `${first}-${missing.map((k) => `{${k}}`).join("-")}`;
  return `the outputs of family ${JSON.stringify(a.family)} do not name key${missing.length > 1 ? "s" : ""} ${missing.join(", ")}, so instances that differ only there write the same files: add ${names} to them (e.g. ${JSON.stringify(example)})`;
}
