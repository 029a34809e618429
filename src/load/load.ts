/**
 * Finds, compiles and evaluates the Pipelinefile, and names what it declares. Returns a value
 * (no registry, no globals): the declarations, their names and the module info the code hash
 * needs.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { format, inspect } from "node:util";
import { collectDeclarations, declKind, FAMILY_OPTIONS, NOTHING_TO_CHECK, TARGET_OPTIONS, type Family, type Instance, type Target } from "../api/target.ts";
import { declarationProblems, isParam, type Param } from "../api/params.ts";
import { startWatchdog } from "./watchdog.ts";
import { siteInText } from "./text-site.ts";
import { enterUnguardedSpan, INTERRUPT_SIGNALS, leaveUnguardedSpan } from "../util/signals.ts";
import { UserError, type Diagnostic } from "../util/errors.ts";
import { suggestion } from "../util/did-you-mean.ts";
import { compilePipelinefile, type Compiled } from "./compile.ts";
import { userAsync } from "./trace.ts";
import { parseFirstForeignFrame, setSiteCapture } from "../api/site.ts";
import { parseSize } from "../util/size.ts";

export { findPipelinefile } from "./find.ts";

export type Decl = Target | Family;

/** What the Pipelinefile declares, named. */
export interface PipelineSpec {
  root: string;
  file: string;
  /** Every named target and family, by name. */
  decls: Map<string, Decl>;
  /** Names by declaration object. */
  names: Map<Decl, string>;
  /** What a bare `pipe build` builds (targets or instances). */
  defaults: (Target | Instance)[];
  /**
   * Family instances the Pipelinefile exports (by name, or in exported arrays and objects):
   * declared like exported targets, so they are listed, checked and built.
   */
  instances: Instance[];
  /** Every param reachable from the declarations, by command-line name. */
  params: Map<string, Param>;
  /** Params the Pipelinefile exports that no target uses, by command-line name (for messages). */
  unusedParams?: Map<string, Param>;
  /**
   * Mistakes found while naming the declarations (a target without a name, two with one name,
   * an unknown option, a param that is not one): reported with the graph's problems, so a cycle
   * or a missing input elsewhere is named in the same run. Declarations they concern have a
   * provisional name (see `provisional`), so the graph can still be built for its messages.
   */
  problems?: Diagnostic[];
  /**
   * Provisional names given to declarations whose own name is missing, invalid or taken, each
   * with the problem that named it: such a spec never builds (its problems are errors).
   */
  provisional?: Map<string, Diagnostic>;
  /**
   * Targets and families declared while the Pipelinefile was evaluated that no export reaches
   * (not exported, not an input of an exported one): pipe never sees them, so an empty build or
   * an unknown target names them.
   */
  unexported?: Decl[];
  compiled: Compiled;
  /** Functions exported by each local module (by identity): where a recipe function lives. */
  exportedBy: Map<Function, string>;
}

export interface LoadOptions {
  /** Whether the compile cache may be written (false for read-only commands without node_modules). */
  write: boolean;
  /** Evaluation timeout (ms). */
  timeoutMs?: number;
  /**
   * The same code, reading the same files and env (the no-op snapshot checked them), finished
   * loading last time: no watchdog thread for an endless loop (it costs ~10 ms). The timer stays.
   */
  knownToFinish?: boolean;
  /**
   * Record where each target, family and instance is declared (api/site.ts). Off, the first
   * load of a process is faster; on, every local module is evaluated again, as new instances
   * (from a copy of the compiled folder), so that an error message can name the line.
   */
  sites?: boolean;
}

/** Compiles and evaluates the Pipelinefile, then names its declarations. */
export async function loadPipelinefile(file: string, options: LoadOptions): Promise<PipelineSpec> {
  const root = dirname(file);
  const compiled = await compilePipelinefile(root, file, { write: options.write });
  // Module URLs are what make instances: a copy of the compiled folder holds new ones. Its
  // modules carry their source maps inline, with absolute source paths, and the import.meta
  // values of their sources, so they behave and report exactly like the originals. The copy
  // sits next to the compiled folder, so that packages resolve from the same node_modules
  // (not in .pipe/ for a read-only command: the temp folder then).
  const inTemp = !options.write && isInside(dirname(compiled.dir), join(root, ".pipe"));
  const copyParent = inTemp ? tmpdir() : dirname(compiled.dir);
  const prefix = inTemp ? "pipe-sites-" : ".sites-";
  if (options.sites) sweepCopies(copyParent, prefix);
  const copy = options.sites ? mkdtempSync(join(copyParent, prefix)) : undefined;
  const dir = copy ?? compiled.dir;
  const was = setSiteCapture(options.sites === true);
  try {
    if (copy) cpSync(compiled.dir, copy, { recursive: true });
    const entryUrl = copy ? pathToFileURL(join(copy, relative(compiled.dir, fileURLToPath(compiled.entryUrl)))).href : compiled.entryUrl;
    const take = collectDeclarations();
    let declared: object[];
    let ns: Record<string, unknown>;
    try {
      ns = await evaluate(entryUrl, file, options.timeoutMs ?? 30_000, { dir, modules: compiled.modules }, options.knownToFinish !== true);
    } finally {
      declared = take();
    }
    const spec = nameDeclarations(root, file, ns, compiled);
    spec.unexported = (declared as Decl[]).filter((d) => !spec.names.has(d));
    // Every local module is already loaded; its namespace tells which functions it exports.
    for (const m of Object.values(compiled.modules)) {
      if (m.compiled.endsWith(".json")) continue; // data: exports no function
      const mod = (await import(pathToFileURL(join(dir, m.compiled)).href)) as Record<string, unknown>;
      for (const v of Object.values(mod)) if (typeof v === "function" && !spec.exportedBy.has(v)) spec.exportedBy.set(v, m.source);
    }
    return spec;
  } finally {
    setSiteCapture(was);
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}

/** A copy this old was left by a pipe killed while loading (a load takes seconds at most). */
const STALE_COPY_MS = 10 * 60_000;

/** Removes the copies for sites (named `prefix`...) that killed pipes left behind (best effort). */
function sweepCopies(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const p = join(parent, n);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory() && now - st.mtimeMs > STALE_COPY_MS) rmSync(p, { recursive: true, force: true });
  }
}

function isInside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

/** pipe's own compiled code (dist/src/): no frame in it is where a user's mistake is. */
const PIPE_SRC = dirname(dirname(fileURLToPath(import.meta.url))) + "/";

/** Imports the compiled module. Errors thrown at load become UserErrors with their location. */
export async function evaluate(url: string, file: string, timeoutMs: number, compiled?: Pick<Compiled, "dir" | "modules">, guardLoops = true): Promise<Record<string, unknown>> {
  process.setSourceMapsEnabled(true);
  let timer: NodeJS.Timeout | undefined;
  const shown = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000}s` : `${timeoutMs}ms`;
  const problem = new UserError({ message: `Pipelinefile evaluation did not finish within ${shown}`, location: { file, line: 1, column: 1 }, hint: "look for a top-level await that never settles or an endless loop (PIPE_LOAD_TIMEOUT_MS sets the limit)" });
  // Referenced: a top-level await that never settles leaves nothing else to keep pipe alive (it
  // exited 13, silently); the timer makes it report instead.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(problem), timeoutMs);
  });
  // An endless synchronous loop blocks that timer too: the watchdog stops the loop a little later.
  const watchdog = !guardLoops ? { stop() {} } : startWatchdog(timeoutMs + Math.min(2000, Math.ceil(timeoutMs / 2)), `error: ${problem.message}\n  at ${file}:1:1\n  pipe was stopped`);
  // While the Pipelinefile's own code runs, Ctrl-C, SIGTERM and SIGHUP get their default action
  // (pipe ends at once): pipe's handlers are JavaScript, which an endless loop there never lets
  // run. Nothing is lost: the project is not locked yet and no recipe runs.
  const saved = INTERRUPT_SIGNALS.map((s) => [s, process.listeners(s)] as const);
  for (const [s] of saved) process.removeAllListeners(s);
  enterUnguardedSpan();
  // What the Pipelinefile's top-level code prints goes to stderr: stdout carries --json events,
  // `graph --dot` text and the live view, which a stray line would break.
  const consoleWas = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = (...args: unknown[]) => void process.stderr.write(format(...args) + "\n");
  try {
    return (await userAsync(() => Promise.race([import(url), timeout]))) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = e as Error;
    const missing = compiled && missingPackage(err, compiled);
    if (missing) throw new UserError(missing);
    const loc = parseFirstForeignFrame(err?.stack ?? "", PIPE_SRC);
    // Something not an Error (`throw "text"`) has no stack: no line to name (1:1 misled).
    const isError = e instanceof Error || (typeof err?.message === "string" && typeof err?.stack === "string");
    throw new UserError({
      message: `Pipelinefile failed while loading: ${isError ? err.message : typeof e === "string" ? e : inspect(e, { depth: 2, breakLength: Infinity })}`,
      location: loc ?? (isError ? { file, line: 1, column: 1 } : undefined),
      hint: isError ? "fix the error above; nothing was run" : `its code threw ${typeof e === "string" ? "a string" : "a value that is not an Error"}, which carries no line: throw new Error(...) to see where; nothing was run`,
    });
  } finally {
    watchdog.stop();
    clearTimeout(timer);
    Object.assign(console, consoleWas);
    for (const [s, listeners] of saved) for (const l of listeners) process.on(s, l as NodeJS.SignalsListener);
    leaveUnguardedSpan();
  }
}

/**
 * A package that is not installed: Node names the compiled module that imports it (under
 * node_modules/.cache/pipe/), which means nothing to the user; this names the source line.
 */
function missingPackage(err: Error, compiled: Pick<Compiled, "dir" | "modules">): Diagnostic | undefined {
  const m = /^Cannot find package '([^']+)' imported from (.+)$/.exec(err?.message ?? "");
  if ((err as NodeJS.ErrnoException)?.code !== "ERR_MODULE_NOT_FOUND" || !m) return undefined;
  const [, pkg, from] = m;
  const importer = Object.values(compiled.modules).find((mod) => join(compiled.dir, mod.compiled) === from);
  let location: Diagnostic["location"];
  if (importer) {
    location = { file: importer.source, line: 1, column: 1 };
    let text = "";
    try {
      text = readFileSync(importer.source, "utf8");
    } catch {
      // the line stays unknown
    }
    const quoted = new RegExp(`(["'])${pkg.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?:/[^"']*)?\\1`);
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const hit = quoted.exec(lines[i]);
      if (hit) {
        location = { file: importer.source, line: i + 1, column: hit.index + 1 };
        break;
      }
    }
  }
  return { message: `package ${JSON.stringify(pkg)} is not installed`, location, hint: `install it (npm install ${pkg}) in the project, or check the name` };
}

function siteOf(d: { site: { location: () => { file: string; line: number; column: number } | undefined } }) {
  return d.site.location();
}

/** Where the Pipelinefile's `export default` is (its first one in the text), for messages about what it lists. */
function defaultExportAt(root: string, file: string): { file: string; line: number; column: number } | undefined {
  return siteInText(root, file, /\bexport\s+default\b/);
}

/**
 * Names come from export names (or the `name` option). Arrays and objects of targets may be
 * exported too (programmatic declarations), if each has a `name`. Targets only referenced as
 * inputs must have a `name`.
 */
export function nameDeclarations(root: string, file: string, ns: Record<string, unknown>, compiled: Compiled): PipelineSpec {
  const diags: Diagnostic[] = [];
  const optionProblems: Diagnostic[] = [];
  const decls = new Map<string, Decl>();
  const names = new Map<Decl, string>();
  const params = new Map<string, Param>();
  const paramSites = new Map<Param, string>();
  const exportedParams = new Set<Param>();
  const instances = new Set<Instance>();

  const provisional = new Map<string, Diagnostic>();
  let unnamed = 0;
  /**
   * A name for a declaration whose own is missing, invalid or taken, so that the graph can still
   * be built and its problems (a cycle, a missing input) reported in the same run. It can never
   * be a valid name (it has a space or parentheses), and it is the same on every load
   * (numbered in the order declarations are found), as the second load for sites needs.
   */
  const nameProvisionally = (d: Decl, base: string, problem: Diagnostic) => {
    let name = base;
    for (let i = 2; decls.has(name); i++) name = `${base} (${i})`;
    decls.set(name, d);
    names.set(d, name);
    provisional.set(name, problem);
    diags.push(problem);
  };

  const add = (d: Decl, exportName: string | undefined, container?: string) => {
    if (names.has(d)) return;
    const name = (d.options as { name?: string }).name ?? exportName;
    if (!(d as { [NOTHING_TO_CHECK]?: true })[NOTHING_TO_CHECK]) {
      checkOptions(d, name, optionProblems);
      checkTemplates(d, name, optionProblems);
    }
    const kind = declKind(d) === "family" ? "family" : "target";
    if (!name) {
      const where = container === undefined ? "" : ` in the exported ${JSON.stringify(container)}`;
      const hint = container === undefined ? `export it (\`export const x = ${kind}(...)\`) or give it \`name: "..."\`` : `give each one \`name: "..."\`, unique (e.g. made from the loop's value: name: \`count:\${f}\`)`;
      nameProvisionally(d, `(unnamed ${kind} ${++unnamed})`, { message: `a ${kind}${where} has no name`, location: siteOf(d), hint });
      return;
    }
    if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_.:/-]*$/.test(name)) {
      nameProvisionally(d, `(invalid name ${JSON.stringify(String(name))})`, { message: `${kind} name ${JSON.stringify(name)} is not valid`, location: siteOf(d), hint: "use letters, digits and _ . : / -, starting with a letter or _" });
      return;
    }
    const prev = decls.get(name);
    if (prev && prev !== d) {
      const loc = siteOf(prev);
      const here = siteOf(d);
      // Both at one place: a loop made the same name twice (a.csv and sub/a.csv both "prep:a").
      const sameLine = loc !== undefined && here !== undefined && loc.file === here.file && loc.line === here.line && loc.column === here.column;
      nameProvisionally(d, `${name} (2)`, {
        message: `two ${declKind(prev) === kind ? `${kind === "family" ? "families" : "targets"}` : "declarations"} are named ${JSON.stringify(name)}`,
        location: here,
        details: sameLine ? ["both are declared here: the loop gave two of its items the same name"] : loc ? [`the other one is at ${loc.file}:${loc.line}:${loc.column}`] : undefined,
        // The same on both loads (the first has no sites; see project.ts sameMessages).
        hint: "rename one of them (in a loop: make the name from all that tells its items apart, e.g. the whole relative path, not the base name)",
      });
      return;
    }
    decls.set(name, d);
    names.set(d, name);
  };

  const visitExport = (value: unknown, exportName: string | undefined, depth: number, container?: string) => {
    const kind = declKind(value);
    if (kind === "target" || kind === "family") add(value as Decl, exportName, container);
    else if (kind === "instance") {
      add((value as Instance).family, undefined);
      instances.add(value as Instance);
    }
    else if (isParam(value)) {
      if (exportName && !value.name) paramSites.set(value, exportName);
      exportedParams.add(value);
    } else if (depth < 2 && Array.isArray(value)) value.forEach((v) => visitExport(v, undefined, depth + 1, exportName ?? container));
    else if (depth < 2 && value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      for (const v of Object.values(value)) visitExport(v, undefined, depth + 1, exportName ?? container);
    }
  };
  // Named declarations first: a module namespace lists its exports sorted by name, so an exported
  // instance (\`export const a = fam({...})\`) can come before its family's export, and an
  // instance names nothing.
  const exported = Object.entries(ns).filter(([exportName]) => exportName !== "default");
  for (const [exportName, value] of exported) {
    const kind = declKind(value);
    if (kind === "target" || kind === "family") add(value as Decl, exportName);
  }
  for (const [exportName, value] of exported) visitExport(value, exportName, 0);

  const defaults: (Target | Instance)[] = [];
  const def = ns.default;
  for (const v of def === undefined ? [] : Array.isArray(def) ? def : [def]) {
    const kind = declKind(v);
    if (kind === "target" || kind === "instance") {
      defaults.push(v as Target | Instance);
      visitExport(v, undefined, 1);
    } else if (kind === "family") {
      const l = siteOf(v as Family);
      const name = names.get(v as Family);
      const fam = name === undefined ? "a family" : `family ${JSON.stringify(name)}`;
      diags.push({ message: `the default export lists ${fam}; list instances instead`, location: defaultExportAt(root, file) ?? l, details: l ? [`${fam === "a family" ? "the family" : fam} is declared at ${l.file}:${l.line}:${l.column}`] : undefined, hint: "e.g. export default [trend({ attribute: \"recovered\" })]" });
    } else diags.push({ message: "the default export must be a target or a list of targets", location: defaultExportAt(root, file) ?? { file, line: 1, column: 1 }, hint: "export default [report]" });
  }

  // Referenced-only declarations (inputs of named targets); they need explicit names.
  /** Every param the Pipelinefile reaches (exported, a target's, a key), as messages name it. */
  const reached = new Map<Param, string>();
  for (const p of exportedParams) if (p.name !== undefined || paramSites.has(p)) reached.set(p, `param ${JSON.stringify(p.name ?? paramSites.get(p))}`);
  /** The name each param got first, and the declaration that gave it. */
  const cliOf = new Map<Param, { cli: string; by: Decl }>();
  const paramAt = (p: Param): string[] => {
    const l = p.site.location();
    return l ? [`the param is declared at ${l.file}:${l.line}:${l.column}`] : [];
  };
  const queue = [...decls.values()];
  while (queue.length) {
    const d = queue.pop()!;
    for (const ref of staticRefs(d)) {
      const target = declKind(ref) === "instance" ? (ref as Instance).family : (ref as Target);
      if (!names.has(target)) {
        add(target, undefined);
        queue.push(target);
      }
    }
    const isFamily = declKind(d) === "family";
    // A target without params (most of 10,000 declared in a loop) has nothing more to add.
    if (!isFamily && d.options.params === undefined) continue;
    if (isFamily) {
      for (const [k, p] of Object.entries(((d as Family).options.key ?? {}) as Record<string, unknown>)) {
        if (isParam(p) && !reached.has(p)) reached.set(p, p.name === undefined ? `param of key ${JSON.stringify(k)} of family ${JSON.stringify(names.get(d))}` : `param ${JSON.stringify(p.name)}`);
      }
    }
    const keyNames = isFamily && (d as Family).options.key && typeof (d as Family).options.key === "object" ? Object.keys((d as Family).options.key as object) : [];
    for (const [local, p] of Object.entries((d.options.params ?? {}) as Record<string, unknown>)) {
      // ctx.params holds keys and params under their names: the key's value would hide the
      // param's (which then reached neither the recipe nor the fingerprint).
      if (keyNames.includes(local)) {
        diags.push({ message: `family ${JSON.stringify(names.get(d))} has ${JSON.stringify(local)} both as a key and in params`, location: siteOf(d), hint: `a key is already in ctx.params: drop params.${local}, or give the param another name there (params: { ${local}2: ... })` });
        continue;
      }
      if (isParam(p) && !reached.has(p)) reached.set(p, `param ${JSON.stringify(p.name ?? paramSites.get(p) ?? local)}`);
      if (!isParam(p)) {
        diags.push({ message: `params.${local} of target ${JSON.stringify(names.get(d))} is not a param`, location: siteOf(d), hint: "declare it with param.int(...), param.string(...), ..." });
        continue;
      }
      const cli = p.name ?? paramSites.get(p) ?? local;
      // An unnamed param that is not exported takes its name from params: { <name>: p }; one
      // shared under two names had both, and a value set by one was dropped for the other.
      const first = cliOf.get(p);
      if (first === undefined) cliOf.set(p, { cli, by: d });
      else if (first.cli !== cli) {
        const loc = siteOf(first.by);
        diags.push({ message: `a param without a name is used as ${JSON.stringify(first.cli)} by target ${JSON.stringify(names.get(first.by))} and as ${JSON.stringify(cli)} by target ${JSON.stringify(names.get(d))}`, location: siteOf(d), details: [...(loc ? [`target ${JSON.stringify(names.get(first.by))} is declared at ${loc.file}:${loc.line}:${loc.column}`] : []), ...paramAt(p)], hint: `give the param one name: declare it with its name (param.${p.type}(${JSON.stringify(first.cli)}, ...)) or export it (export const ${first.cli} = ...)` });
        continue;
      }
      const prev = params.get(cli);
      if (prev && prev !== p) {
        const loc = prev.site.location();
        diags.push({ message: `two different params are named ${JSON.stringify(cli)}`, location: p.site.location(), details: loc ? [`the other one is at ${loc.file}:${loc.line}:${loc.column}`] : undefined, hint: "declare the param once and share it between targets" });
      } else params.set(cli, p);
    }
  }
  // No throw here: these problems are reported with the graph's (buildGraph), all in one run.
  const used = new Set(params.values());
  const unusedParams = new Map<string, Param>();
  for (const p of exportedParams) {
    const cli = p.name ?? paramSites.get(p);
    if (cli !== undefined && !used.has(p) && !params.has(cli)) unusedParams.set(cli, p);
  }
  for (const [p, label] of reached) {
    for (const { problem, hint } of declarationProblems(p)) optionProblems.push({ message: `${label} ${problem}`, location: p.site.location(), hint });
  }
  const problems = [...diags, ...optionProblems];
  return { root, file, decls, names, defaults, instances: [...instances], params, unusedParams, problems, provisional, compiled, exportedBy: new Map() };
}

const RESOURCE_OPTIONS = ["cpu", "mem"];

/**
 * Reports options target() and family() do not know (`ouputs`, `parms`), and option values of
 * the wrong kind (`env: "HOME"`, `resources: { cpu: 0 }`): silently ignored or misread, a typo
 * would drop the outputs or params it meant to declare, or split "HOME" into four names.
 */
function checkOptions(d: Decl, name: string | undefined, diags: Diagnostic[]): void {
  // Runs for every declaration (10,000 in a big Pipelinefile): target() and family() noted the
  // unknown names already, and the usual values (a list of names, no resources) are passed by
  // the first test; nothing is built until a problem.
  const unknown = (d as { unknownOptions?: string[] }).unknownOptions;
  const o = d.options as { resources?: unknown; env?: unknown; description?: unknown };
  const res = o.resources;
  const env = o.env;
  if (!unknown && res === undefined && (env === undefined || (Array.isArray(env) && env.every(isEnvName))) && (o.description === undefined || typeof o.description === "string")) return;
  const isFamily = declKind(d) === "family";
  const what = () => `${isFamily ? "family" : "target"} ${name === undefined ? "(unnamed)" : JSON.stringify(name)}`;
  const list = isFamily ? FAMILY_OPTIONS : TARGET_OPTIONS;
  for (const k of unknown ?? []) {
    const hint = k === "key" ? "key is an option of family(): declare a parametrised target with family({ key: { ... }, ... })" : `options: ${[...list].sort().join(", ")}`;
    diags.push({ message: `${what()} has an unknown option ${JSON.stringify(k)}${suggestion(k, list)}`, location: siteOf(d), hint });
  }
  if (env !== undefined) {
    if (!Array.isArray(env)) {
      const example = typeof env === "string" ? `env: [${JSON.stringify(env)}]` : `env: ["MPLBACKEND"]`;
      diags.push({ message: `env of ${what()} must be a list of env var names, not ${describeValue(env)}`, location: siteOf(d), hint: `write ${example}` });
    } else {
      for (const v of env) if (!isEnvName(v)) diags.push({ message: `env of ${what()} lists ${describeValue(v)}, which is not an env var name`, location: siteOf(d), hint: "list names only (letters, digits and _), e.g. env: [\"MPLBACKEND\"]; their values are read when the recipe runs" });
    }
  }
  if (o.description !== undefined && typeof o.description !== "string") diags.push({ message: `description of ${what()} must be a string, not ${describeValue(o.description)}`, location: siteOf(d) });
  if (res === undefined) return;
  if (!res || typeof res !== "object" || Array.isArray(res)) {
    diags.push({ message: `resources of ${what()} must be an object, not ${describeValue(res)}`, location: siteOf(d), hint: `write resources: { cpu: 2, mem: "4G" } (both optional)` });
    return;
  }
  for (const k of Object.keys(res)) {
    if (!RESOURCE_OPTIONS.includes(k)) diags.push({ message: `${what()} has an unknown resource ${JSON.stringify(`resources.${k}`)}${suggestion(k, RESOURCE_OPTIONS)}`, location: siteOf(d), hint: "resources: cpu, mem" });
  }
  const { cpu, mem } = res as { cpu?: unknown; mem?: unknown };
  if (cpu !== undefined && !(typeof cpu === "number" && Number.isInteger(cpu) && cpu >= 1)) {
    diags.push({ message: `resources.cpu of ${what()} must be a whole number of -j slots, 1 or more, not ${describeValue(cpu)}`, location: siteOf(d), hint: "leave it out for 1; a target asking for more slots than -j gives runs with all of them" });
  }
  if (mem !== undefined && parseSize(mem) === undefined) {
    diags.push({ message: `resources.mem of ${what()} is not a size: ${JSON.stringify(mem) ?? String(mem)}`, location: siteOf(d), hint: `write bytes, or a size such as "512M", "4G" or "1.5GiB"` });
  }
}

/** A `{name}` placeholder in a path template. (`{a,b}`, a glob's alternatives, is not one.) */
const PLACEHOLDER = /\{([A-Za-z_$][\w$]*)\}/g;

/**
 * Checks the `{name}` placeholders of path templates: a family's outputs and inputs may name its
 * keys (buildGraph fills them in); any other name would be kept as literal text, and the
 * recipe would write `build/f-{kk}` or read nothing. A target's paths are not templates: a
 * placeholder there that names one of its params is the same mistake.
 */
function checkTemplates(d: Decl, name: string | undefined, diags: Diagnostic[]): void {
  const o = d.options as { outputs?: unknown; inputs?: unknown; key?: unknown; params?: unknown };
  const isFamily = declKind(d) === "family";
  // Runs for every declaration: a target without params (most of 10,000) has nothing to check.
  if (!isFamily && (!o.params || typeof o.params !== "object" || Object.keys(o.params).length === 0)) return;
  const paths: [string, string][] = [];
  const collect = (what: string, v: unknown) => {
    if (typeof v === "string") {
      if (v.includes("{")) paths.push([what, v]);
    } else if (Array.isArray(v)) for (const x of v) collect(what, x);
    else if (v && typeof v === "object" && declKind(v) === undefined) for (const x of Object.values(v)) collect(what, x);
  };
  if (typeof o.outputs !== "function") collect("output", o.outputs);
  if (typeof o.inputs !== "function") collect("input", o.inputs);
  if (paths.length === 0) return;
  const what = `${isFamily ? "family" : "target"} ${name === undefined ? "(unnamed)" : JSON.stringify(name)}`;
  const keys = isFamily && o.key && typeof o.key === "object" ? Object.keys(o.key) : [];
  const params = o.params && typeof o.params === "object" ? Object.keys(o.params) : [];
  const reported = new Set<string>();
  for (const [kind, path] of paths) {
    for (const m of path.matchAll(PLACEHOLDER)) {
      const ph = m[1];
      if (keys.includes(ph) || reported.has(ph)) continue;
      if (!isFamily && !params.includes(ph)) continue; // a target's braces are literal (or a glob's)
      reported.add(ph);
      const message = `${kind} ${JSON.stringify(path)} of ${what} has a placeholder {${ph}}, `;
      if (!isFamily) {
        const hint = kind === "output" ? `a target's outputs are fixed paths: make it a family with the key ${ph} (family({ key: { ${ph} }, ... }))` : `use an inputs function: inputs: ({ ${ph} }) => [\`...\${${ph}}...\`]`;
        diags.push({ message: message + `but a target's paths are not templates`, location: siteOf(d), hint });
      } else if (params.includes(ph)) {
        diags.push({ message: message + `which is a param, not a key: paths may name only keys`, location: siteOf(d), hint: kind === "output" ? `make ${ph} a key (key: { ${[...keys, ph].join(", ")} }): an instance's outputs depend on its key only` : `name it in an inputs function: inputs: ({ ${ph} }) => [\`...\${${ph}}...\`]` });
      } else {
        diags.push({ message: message + `which is not one of its keys${suggestion(ph, keys)}`, location: siteOf(d), hint: keys.length ? `keys: ${keys.join(", ")}` : "this family has no keys" });
      }
    }
  }
}

/** An env var name as `env` lists it: letters, digits and _, not starting with a digit (as a shell reads them). */
function isEnvName(v: unknown): boolean {
  return typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v);
}

/** A value as a message shows it: `"HOME" (a string)`, `0`, `1.5`. */
function describeValue(v: unknown): string {
  if (typeof v === "string") return `${JSON.stringify(v)} (a string)`;
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "a list";
  return typeof v === "function" ? "a function" : `an ${typeof v}`;
}

/** Target references that can be seen without calling anything (static inputs). */
function staticRefs(d: Decl): readonly (Target | Instance)[] {
  const inputs = d.options.inputs;
  if (!inputs || typeof inputs === "function") return NO_REFS;
  // Runs for every declaration: most inputs are paths, and most declarations reference nothing.
  let out: (Target | Instance)[] | undefined;
  const visit = (x: unknown): void => {
    if (typeof x === "string") return;
    const k = declKind(x);
    if (k === "target" || k === "instance") (out ??= []).push(x as Target | Instance);
    else if (Array.isArray(x)) for (const y of x) visit(y);
  };
  for (const x of Array.isArray(inputs) ? inputs : Object.values(inputs as Record<string, unknown>)) visit(x);
  return out ?? NO_REFS;
}
const NO_REFS: readonly (Target | Instance)[] = [];

/** The command-line name of a param as the spec knows it. */
export function paramName(spec: PipelineSpec, p: Param, local: string): string {
  for (const [name, q] of spec.params) if (q === p) return name;
  return p.name ?? local;
}
