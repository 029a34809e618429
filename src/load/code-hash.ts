/**
 * The recipe code hash: what of the code can change a target's outputs.
 *
 * Precision bar (design.md "Code"): editing a recipe, or a local module it imports, makes that
 * target stale and no other; adding or editing an unrelated target makes nothing stale;
 * comments and formatting never count. How:
 *
 * 1. The recipe function's source text, as compiled by esbuild (which reprints the code, so
 *    comments and formatting are already gone), is located in the compiled module that defines
 *    it: the module that exports that very function, else the one module whose code contains
 *    its text (an inline recipe in the Pipelinefile).
 * 2. That module is split into its top-level statements. Starting from the identifiers the
 *    function mentions, we take every top-level statement that declares one of them (helpers,
 *    constants, params), transitively. Unrelated statements (other targets) are not taken.
 * 3. Identifiers bound by imports pull in the imported local module whole (its normalised
 *    hash and those of its own local imports), or the package's installed version (plus its
 *    files' content when it is linked from a folder outside node_modules).
 *
 * 2a. A statement declaring one target or family with pipe's `target`/`family` is taken only when
 *    the code uses its name as a value (`other.options.run(ctx)`): not for a word that is an
 *    object's key (`{ window: param.int(...) }`) or text in a string. What a target makes reaches
 *    its readers as their input; its declaration is its own fingerprint.
 * 2b. The statement that declares the recipe's own target is not taken, but what it hands the
 *    recipe is: in `configs.map((cfg) => target({ run: ... cfg.lr ... }))`, the declaration of
 *    `configs` (not those of other targets, families or params it mentions).
 * 4. Top-level statements that run at load (all but imports and function or class
 *    declarations) and may change a value the recipe uses are taken too: `hyper.lr = 0.01`, `labels.set("cat", 1)`, `epochs = 20`,
 *    `Object.assign(cfg, ...)`, `delete`, an alias, a forEach callback or an IIFE, or
 *    `setup()` whose body does one of these (see `mutatedNames`; the recipes such a statement
 *    declares do not run at load and are left out). A statement that only reads such names is
 *    not taken; handing a name to any function counts as a change (a superset).
 *
 * Identifiers are collected as every name-like token outside literals (a word in a string, a
 * template's text or a regex names nothing; in a module that mentions eval, every token counts)
 * except a property after a dot (`ctx.log`, `ctx.params.scale` name no top-level `log` or
 * `scale`); declarations of
 * targets and families, and the statements that change a value, are looked up only for names
 * used as values (no object key, no text in a string or template: `usedNames`): a superset, so
 * an over-approximation rebuilds too much, never too little. When the function cannot be located
 * in exactly one module, or the module graph has a dynamic import, we fall back to every local
 * module (coarse, but never stale-blind).
 */
import { readdirSync, readFileSync, realpathSync, statSync, type Dirent } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { hashBytes, hashString } from "../hash/xxh.ts";

/** Files of a linked package hashed by content; more count by size and mtime. */
const LINKED_MAX_FILES = 2000;
import type { Compiled, ModuleInfo } from "./compile.ts";

export interface CodeHash {
  hash: string;
  /** Project-relative local modules that count, for `pipe why`. */
  files: string[];
  /** name@version of packages that count. */
  packages: string[];
  /**
   * Each file's share of the hash (the recipe's own code and what it uses from its module; an
   * imported module's whole text), so `pipe why` names the files that changed, not all of them.
   */
  fileHashes?: Record<string, string>;
}

interface Statement {
  text: string;
  declares: string[];
}

interface ModuleIndex {
  stmts: Statement[];
  /** Offset of each statement in the module's text. */
  starts: number[];
  declaredBy: Map<string, Statement[]>;
  /** Names declared at the top level, or bound by imports. */
  named: Set<string>;
  /** Statements that declare nothing and run at load (not imports or re-exports). */
  load: Statement[];
  /** Names bound by imports of other local modules (not packages, not node's own). */
  localImport: Set<string>;
  /** Names bound to pipe's own API package ("pipefile"): target, family, param, sh, or a namespace. */
  api: Set<string>;
  changes: Map<Statement, Set<string>>;
  changers?: Map<string, Statement[]>;
  referencers?: Map<string, Statement[]>;
}

/** A function declaration, or a variable set to an arrow or function expression: a factory when a recipe is in it. */
const FUNCTION_DECL = /^(?:export\s+)?(?:default\s+)?(?:(?:async\s+)?function\b|(?:const|let|var)\s+[\w$]+\s*=\s*(?:async\s*)?(?:function\b|(?:\((?:[^()]|\([^()]*\))*\)|[\w$]+)\s*=>))/;

/** The index of the statement holding offset `at` (starts ascending). */
function statementAt(starts: number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `code` with the contents of its string literals blanked (a word in a string is not code). */
export function withoutStrings(code: string): string {
  return code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""');
}

/**
 * `code` without the keys of its object literals (`{ window: 7, "a": 1 }`): a key names no
 * variable. A name after `{` or `,` and before a single `:` (not `?:`, `::`); a shorthand
 * property (`{ trend }`) is a value and stays.
 */
export function withoutKeys(code: string): string {
  return code.replace(/([{,]\s*)[A-Za-z_$][\w$]*(\s*:(?!:))/g, "$1$2");
}

/** `code` with the literal text of its templates blanked (their `${...}` kept: those are code). */
export function withoutTemplateText(code: string): string {
  if (!code.includes("`")) return code;
  let out = "";
  let at = 0;
  for (let i = code.indexOf("`"); i >= 0; i = code.indexOf("`", at)) {
    out += code.slice(at, i);
    const end = stringEnd(code, i);
    if (end < 0) return out + code.slice(i);
    // Keep each ${...} of this template (its own templates blanked too), drop the text around.
    out += "` ";
    for (let j = i + 1; j < end; j++) {
      if (code[j] === "\\") j++;
      else if (code[j] === "$" && code[j + 1] === "{") {
        const close = exprEnd(code, j + 2);
        out += withoutTemplateText(code.slice(j + 2, close)) + " ";
        j = close;
      }
    }
    out += "`";
    at = end + 1;
  }
  return out + code.slice(at);
}

/** Words after which a slash starts a regex literal, not a division (`return /"/.test(s)`). */
const REGEX_AFTER_WORD = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);
/** Keywords whose `(...)` condition may be followed by a regex literal (`if (x) /re/.test(s)`). */
const CONTROL = new Set(["if", "while", "for", "with"]);

/**
 * `code` with its literals blanked: the text of strings, of templates (their `${...}` kept, read
 * the same way) and of regex literals, and comments. Undefined when it cannot be read to the end
 * (a literal that does not close): then every name-like token must count. A slash starts a
 * regex where an operand goes: at the start, after an operator or an opening bracket, after a
 * keyword such as `return`, after the `)` of an `if (...)`, `while`, `for` or `with` condition,
 * or after `}`; after a name, a number, `)` or `]` (or `x++`) it divides.
 */
export function withoutLiterals(code: string): string | undefined {
  let out = "";
  let prev = ""; // the last character outside literals and white space
  let word = ""; // the name or keyword that character ends, if it ends one
  let controlClose = false; // prev is the ")" of an if/while/for/with condition
  const parens: boolean[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'") {
      const end = stringEnd(code, i);
      if (end < 0) return undefined;
      out += c + c;
      i = end;
    } else if (c === "`") {
      const end = stringEnd(code, i);
      if (end < 0) return undefined;
      out += "`";
      for (let j = i + 1; j < end; j++) {
        if (code[j] === "\\") j++;
        else if (code[j] === "$" && code[j + 1] === "{") {
          const close = exprEnd(code, j + 2);
          const inner = close < 0 ? undefined : withoutLiterals(code.slice(j + 2, close));
          if (inner === undefined) return undefined;
          out += "${" + inner + "}";
          j = close;
        }
      }
      out += "`";
      i = end;
    } else if (c === "/" && code[i + 1] === "/") {
      const nl = code.indexOf("\n", i);
      i = (nl < 0 ? code.length : nl) - 1;
      continue;
    } else if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      if (end < 0) return undefined;
      i = end + 1;
      continue;
    } else if (
      c === "/" &&
      (prev === "" || controlClose || (word !== "" ? REGEX_AFTER_WORD.has(word) : "(,=:[!&|?{};*%<>~^}".includes(prev) || ((prev === "+" || prev === "-") && !/(?:\+\+|--)$/.test(code.slice(0, i).trimEnd()))))
    ) {
      i = regexEnd(code, i);
      if (i < 0) return undefined;
      while (/[a-z]/.test(code[i + 1] ?? "")) i++;
      out += "/r/";
    } else {
      out += c;
      if (/\s/.test(c)) continue;
      if (c === "(") parens.push(CONTROL.has(word));
      controlClose = c === ")" ? (parens.pop() ?? false) : false;
      if (!/[\w$]/.test(c)) word = "";
      else if (/[\w$]/.test(code[i - 1] ?? "")) word += c;
      // A property (`size.of / 2`, `x.return / y`) is no keyword: "." stands in for it.
      else word = prev === "." && code[i - 2] !== "." ? "." : c;
      prev = c;
      continue;
    }
    prev = "x"; // a literal is an operand: a slash after it divides
    word = "";
    controlClose = false;
  }
  return out;
}

/**
 * The names code mentions outside its literals: the statements a recipe takes are looked up for
 * these (`writeFile(out + "/train.csv")` names no function train). Every name-like token counts
 * when `literalsCount` (the module calls eval, which reaches names through strings) or when the
 * code cannot be read to the end.
 */
function codeNames(text: string, literalsCount: boolean): string[] {
  const careful = literalsCount ? undefined : withoutLiterals(text);
  if (careful === undefined) return referencedNames(text);
  return referencedNames(careful);
}

/** The names code uses as values: see `real` in hashOf (literals read as codeNames reads them). */
function usedNames(code: string): string[] {
  return referencedNames(withoutKeys(withoutLiterals(code) ?? withoutStrings(withoutTemplateText(code))));
}

/** `(ctx) => sh\`...\``, `({ inputs, outputs }) => sh.raw(...)`: a body that is the command. */
const COMMAND_ONLY = /^(?:\((?:[^()]|\([^()]*\))*\)|[A-Za-z_$][\w$]*)\s*=>\s*\(?\s*sh\s*(?:`|\.raw\s*\()/;

/** Whether a recipe function only builds a shell command (safe to call while planning). */
export function buildsOnlyCommand(fn: unknown): boolean {
  return typeof fn === "function" && COMMAND_ONLY.test(Function.prototype.toString.call(fn));
}

const IDENT = /[A-Za-z_$][\w$]*/g;

/**
 * esbuild prints a non-ASCII identifier with escapes (`const λ = 0.01` as `const \u03BB = 0.01`),
 * which no name pattern here matched: such a declaration was never taken (an edit of λ reran
 * nothing). Code is read with each escape as a stand-in made of word characters, applied alike
 * to module texts and recipe texts.
 */
export function asciiNames(code: string): string {
  return code.includes("\\u") ? code.replace(/\\u(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{4}))/g, (_, a: string | undefined, b: string | undefined) => `$u${(a ?? b)!.toUpperCase()}$`) : code;
}

/** A function's text as the code hash reads it (see asciiNames). */
function fnText(fn: unknown): string {
  return asciiNames(Function.prototype.toString.call(fn));
}

/**
 * The names a piece of code may refer to: every name-like token, except a property name after a
 * single dot (`c.log`, `a?.b`; a spread `...x` does refer to x) and the tail of a number (`1e5`).
 */
export function referencedNames(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(IDENT)) {
    const i = m.index;
    const prev = i > 0 ? text[i - 1] : "";
    if (prev !== "" && /[\w$]/.test(prev)) continue;
    if (prev === "." && !(text[i - 2] === "." && text[i - 3] === ".")) continue;
    out.add(m[0]);
  }
  return [...out];
}

/** A statement that declares targets, families or params (`const words = target({...})`, a loop of them). */
const DECLARES_TARGET = /\b(?:target|family|param\.[\w$]+)\s*\(/;
/**
 * `const trend = family({...})`: a statement whose value is a target or a family (made with
 * pipe's own target/family: see declaresOne). Taken as a recipe's code only when the code uses
 * that name as a value (see `real` in hashOf), not for a key or a word in a string.
 */
const DECLARATION = /^(?:export\s+)?(?:const|let|var)\s+[\w$]+\s*=\s*(?:([\w$]+)\s*\.\s*)?(target|family)\s*\(/;

/**
 * Whether `id` is bound by an import of module `m`; then its local module or package counts
 * (into `modules` or `packages`; node's own modules count for nothing). Own names only:
 * "toString" or "constructor" in a recipe is not an import.
 */
function importedAs(m: ModuleInfo, id: string, modules: Set<string>, packages: Set<string>): boolean {
  const bound = Object.hasOwn(m.bindings, id) ? m.bindings[id] : undefined;
  if (bound === undefined) return false;
  if (bound.startsWith("pkg:")) packages.add(bound.slice(4));
  else if (!bound.startsWith("builtin:")) modules.add(bound);
  return true;
}

/** Whether `s` declares one target or family with pipe's own `target`/`family` (not a function of the user's so named). */
function declaresOne(s: Statement, ix: ModuleIndex): boolean {
  if (s.declares.length !== 1) return false;
  const m = DECLARATION.exec(s.text);
  return m !== null && ix.api.has(m[1] ?? m[2]);
}

const ASSIGN = String.raw`(?:=(?![=>])|\+=|-=|\*\*?=|\/=|%=|<<=|>>>?=|&&?=|\|\|?=|\^=|\?\?=|\+\+|--)`;
/** `x = `, `x += `, `x++`, `x.a.b = `, `x[k] = `, `x.set(`, `x.a.push(`. */
const MUTATED_AT = new RegExp(String.raw`(?<![\w$.])([A-Za-z_$][\w$]*)((?:\??\.[A-Za-z_$][\w$]*|\[[^\]\n]*\])*)\s*(${ASSIGN}|\()`, "g");
/** `++x`, `--x`. */
const PRE_INCREMENT = /(?:\+\+|--)\s*([A-Za-z_$][\w$]*)/g;
/** `f(x)`, `f(a, x)`: a name handed to a call, which may change it (`Object.assign(x, ...)`). */
const ARGUMENT = /[(,]\s*([A-Za-z_$][\w$]*)\s*(?=[,)])/g;

/**
 * The names a piece of code may change (a superset), and the names it calls (`f(` with no dot
 * before f), whose bodies may change more.
 */
export function mutatedNames(text: string): { changed: Set<string>; called: Set<string> } {
  const changed = new Set<string>();
  const called = new Set<string>();
  for (const m of text.matchAll(MUTATED_AT)) {
    const [, name, path, op] = m;
    if (op !== "(") changed.add(name);
    else if (path === "") called.add(name);
    else changed.add(name); // a method call on it: x.set(...), x.items.push(...)
  }
  for (const m of text.matchAll(PRE_INCREMENT)) changed.add(m[1]);
  for (const m of text.matchAll(ARGUMENT)) changed.add(m[1]);
  for (const m of text.matchAll(DELETED)) changed.add(m[1]);
  // `[a, b] = ...`, `({ a, b } = ...)`: every name in the pattern.
  for (const m of text.matchAll(DESTRUCTURED)) for (const n of m[1].match(IDENT) ?? []) changed.add(n);
  // An alias (`const a = hyper; a.lr = 2`): a change of the alias is one of what it names.
  for (let grew = true; grew; ) {
    grew = false;
    for (const m of text.matchAll(ALIAS)) if (changed.has(m[1]) && !changed.has(m[2])) grew = changed.add(m[2]) !== undefined;
  }
  return { changed, called };
}

/** `delete x.key`, `delete x[k]`. */
const DELETED = /\bdelete\s+([A-Za-z_$][\w$]*)/g;
/** A destructuring assignment's pattern (not a declaration's: those set new names). */
const DESTRUCTURED = /(?<!\b(?:const|let|var)\s*)[[{]([^=\]}]*)[\]}]\s*=(?![=>])/g;
/** `const a = b;`: a names what b names. */
const ALIAS = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*([A-Za-z_$][\w$]*)\s*(?:;|\n|$)/g;
/** Names every module can change and read without declaring them. */
const SHARED_GLOBALS = ["globalThis", "global"];

export class CodeHasher {
  readonly #root: string;
  readonly #compiled: Compiled;
  readonly #texts = new Map<string, string>();
  readonly #statements = new Map<string, Statement[]>();
  readonly #closure = new Map<string, { hashes: string[]; files: string[]; byFile: string[]; packages: string[]; sources: string[] }>();
  readonly #memo = new Map<Function, CodeHash>();
  /** Functions made in a loop are distinct objects with one text: hash the text once. */
  readonly #byText = new Map<string, CodeHash>();
  /** Recipes made by a factory function, by text and target name (see hashOf). */
  readonly #byCall = new Map<string, CodeHash>();
  readonly #versions = new Map<string, string>();
  readonly #dynamic: boolean;
  /** package.json files whose versions entered a code hash (the no-op snapshot watches them). */
  readonly packageFiles = new Set<string>();

  readonly #exportedBy: Map<Function, string>;
  readonly #recipeFns: () => Iterable<unknown>;
  readonly #declNames: () => ReadonlySet<string>;
  #recipeTextList: string[] | undefined;

  /**
   * `recipes`: every declared target's and family's recipe function (see #withoutRecipes);
   * `declNames`: their names (a statement of another module that declares only other targets
   * through a factory call is not this target's code: see hashOf).
   */
  constructor(root: string, compiled: Compiled, exportedBy: Map<Function, string> = new Map(), recipes: () => Iterable<unknown> = () => [], declNames: () => ReadonlySet<string> = () => new Set()) {
    this.#root = root;
    this.#compiled = compiled;
    this.#exportedBy = exportedBy;
    this.#recipeFns = recipes;
    this.#declNames = declNames;
    this.#dynamic = Object.values(compiled.modules).some((m) => m.dynamic);
  }

  /**
   * The code hash of a recipe function (memoised per function). `targetName`: the name of the
   * target it is the recipe of, which picks the call that made it when it was made by a
   * factory function (see below).
   */
  hashOf(fn: Function, targetName?: string): CodeHash {
    const known = this.#memo.get(fn);
    if (known) return known;
    const text = fnText(fn);
    const byCall = this.#byCall.get(`${text}\u0000${targetName ?? ""}`);
    if (byCall) return byCall;
    // The module that exports this very function, else the one whose code contains its text.
    const exporter = this.#exportedBy.get(fn);
    if (!exporter) {
      const same = this.#byText.get(text);
      if (same) {
        this.#memo.set(fn, same);
        return same;
      }
    }
    const owners = this.#dynamic
      ? []
      : exporter && this.#compiled.modules[exporter]
        ? [this.#compiled.modules[exporter]]
        : Object.values(this.#compiled.modules).filter((m) => this.#text(m).includes(text));
    let result: CodeHash;
    let factoryCall: string | undefined;
    if (owners.length !== 1) result = this.#coarse(text);
    else {
      const m = owners[0];
      const ix = this.#index(m);
      const taken = new Set<Statement>();
      const modules = new Set<string>();
      const packages = new Set<string>();
      const seen = new Set<string>();
      // The function's own parameters shadow top-level names everywhere in its body. esbuild
      // renames a parameter that a new top-level name would shadow (`c` -> `c2` once a target
      // named c exists), so parameters are renamed to positions before hashing.
      const own = paramNames(text);
      const canon = canonicalParams(text, own);
      const evalHere = this.#callsEval(m);
      const queue = codeNames(canon, evalHere);
      /**
       * Names the code taken so far uses as values: not object keys, not text in strings or in a
       * template's literal part (`sh\`... echo t1 >> runs.log\``: t1 named no variable, and every
       * statement listing target t1 in an array counted as a change of it). Declarations and
       * changers are looked up for these; other statements for every name-like token (queue).
       */
      const real = new Set<string>(usedNames(canon));
      // The statements the function's text is in (its target's declaration; several when
      // identical inline recipes are declared one by one): covered by the fingerprint's other
      // parts, never taken (that would tie every target to them).
      const inHome = new Set<Statement>();
      const modText = this.#text(m);
      for (let at = modText.indexOf(text); at >= 0; at = modText.indexOf(text, at + text.length)) inHome.add(ix.stmts[statementAt(ix.starts, at)]);
      // But the values such a statement hands the recipe are taken (a loop:
      // `configs.map((cfg) => target(...))` takes `configs`): the names it mentions outside the
      // recipes it declares, except targets, families and params (covered by inputs and params).
      // A recipe that only builds a sh command needs none of this: its command is fingerprinted.
      const commandOnly = buildsOnlyCommand(fn);
      const takeHanded = (code: string): void => {
        for (const id of codeNames(code, evalHere)) {
          const decl = ix.declaredBy.get(id) ?? [];
          if (decl.length > 0 && decl.every((d) => DECLARES_TARGET.test(withoutStrings(d.text)))) continue;
          queue.push(id);
          real.add(id);
        }
      };
      if (!commandOnly) for (const s of inHome) takeHanded(this.#withoutRecipes(s.text));
      // A recipe made inside a function (a factory: `const mk = (name: string, n: number) =>
      // target({ run: ... n ... })`): the values come from the calls. The call that declares
      // this target (`export const m1 = mk("m1", 1)`) counts as its code, with what it hands
      // over; when none is found by the target's name, every call does (more rebuilds, never
      // fewer). A sh template needs none of this (its command is fingerprinted).
      // A declaration that is the recipe itself (`async function recA(ctx) {...}`, exported by
      // name) makes nothing: not a factory (its export list then tied every recipe it names to it).
      const itself = (st: Statement) => st.text.replace(/^export\s+(?:default\s+)?/, "").trim() === text.trim();
      const factories = [...inHome].filter((st) => FUNCTION_DECL.test(st.text) && !itself(st)).flatMap((st) => st.declares);
      const callTexts: string[] = [];
      /** The statements of other modules that make this target (see below), as "<file>\u0000<text>". */
      const abroad: string[] = [];
      if (factories.length > 0 && !commandOnly) {
        // The factory's own code around the recipe (`const s = n * 10`) counts too.
        for (const st of inHome) if (FUNCTION_DECL.test(st.text)) callTexts.push(this.#withoutRecipes(st.text));
        const refs = this.#referencers(ix);
        const calls = new Set<Statement>();
        for (const f of factories) for (const st of refs.get(f) ?? []) if (!inHome.has(st) && !/^(?:import\b|export\s*\{)/.test(st.text)) calls.add(st);
        const mine = targetName === undefined ? [] : [...calls].filter((st) => st.declares.includes(targetName));
        const use = mine.length === 1 ? mine : [...calls];
        factoryCall = use.map((st) => ix.stmts.indexOf(st)).join(",");
        for (const st of use) {
          const outside = this.#withoutRecipes(st.text);
          callTexts.push(outside);
          takeHanded(outside);
        }
        // No call here: the factory (or a wrapper, `run: timed(async (ctx) => ...)`) is called
        // from another module. The statement there that declares this target is its code, with
        // what it hands over from its module (the wrapped function, `mk("m1", base.n)`'s base).
        if (calls.size === 0 && targetName !== undefined) {
          for (const other of Object.values(this.#compiled.modules)) {
            if (other === m || other.compiled.endsWith(".json")) continue;
            for (const st of this.#index(other).declaredBy.get(targetName) ?? []) {
              const outside = this.#withoutRecipes(st.text);
              abroad.push(`${relative(this.#root, other.source)}\u0000${outside}`, ...this.#handedFrom(other, outside, st, modules, packages));
              factoryCall = `abroad:${targetName}`;
            }
          }
        }
      }
      const skipped: Statement[] = [];
      const take = (s: Statement): void => {
        taken.add(s);
        queue.push(...codeNames(s.text, evalHere));
        for (const n of usedNames(s.text)) real.add(n);
      };
      const follow = (): void => {
        while (queue.length) {
          const id = queue.pop()!;
          if (seen.has(id)) continue;
          seen.add(id);
          if (importedAs(m, id, modules, packages)) continue;
          for (const s of ix.declaredBy.get(id) ?? []) {
            if (taken.has(s) || inHome.has(s)) continue;
            // A target's or family's declaration reached only by a word that is no reference
            // (a key of an object, `window: param.int(...)`, or text in a string) is not taken:
            // every declaration of the case study counted as its report's code that way. One
            // the code does use (`other.options.run(ctx)`, `e1.family.options`) is (below).
            if (declaresOne(s, ix) && !real.has(id)) {
              skipped.push(s);
              continue;
            }
            take(s);
          }
        }
      };
      // Statements run at load that may change a value the recipe reaches (step 4 above).
      const changers = this.#changers(ix);
      const checked = new Set<string>();
      const followAll = (): void => {
        follow();
        for (let more = true; more; ) {
          more = false;
          for (const x of real) {
            if (checked.has(x)) continue;
            checked.add(x);
            for (const s of changers.get(x) ?? []) {
              if (taken.has(s) || inHome.has(s)) continue;
              take(s);
              more = true;
            }
          }
          if (more) follow();
        }
      };
      followAll();
      // Declarations skipped before a later text used their name for real.
      const late = () => skipped.filter((s) => !taken.has(s) && real.has(s.declares[0]));
      for (let now = late(); now.length > 0; now = late()) {
        for (const s of now) take(s);
        followAll();
      }
      const parts: string[] = [canon, ...[...taken].map((s) => s.text), ...callTexts];
      // Statements of any local module that, at load, change a value another module exports
      // (`hyper.lr = 0.5` in the Pipelinefile, on `hyper` from config.ts), for every module
      // whose code this recipe covers.
      const covered = new Set<string>([m.source]);
      for (const dep of modules) for (const f of this.#moduleClosure(dep).sources) covered.add(f);
      const external = this.#externalChangers();
      const entries: { stmt: Statement; text: string; mod: ModuleInfo }[] = [];
      for (const f of covered) for (const t of external.get(f) ?? []) if (!taken.has(t.stmt)) entries.push(t);
      // A target made in another module by a call of this module's function (a factory
      // `mk("m1", 1)`, a wrapper `run: timed(async (ctx) => ...)`): that call is its code, and the
      // statements declaring only other targets that way are theirs.
      const names = this.#declNames();
      const mineAbroad = targetName !== undefined && entries.some((t) => t.stmt.declares.includes(targetName));
      if (mineAbroad) factoryCall ??= `abroad:${targetName}`;
      const foreign: string[] = [...abroad];
      for (const t of entries) {
        if (mineAbroad && t.stmt.declares.length > 0 && !t.stmt.declares.includes(targetName!) && t.stmt.declares.every((d) => names.has(d))) continue;
        foreign.push(t.text);
        // And what such a statement hands over from its own module (`mk("m1", cfg.n)`: cfg).
        foreign.push(...this.#handedFrom(t.mod, this.#withoutRecipes(t.stmt.text), t.stmt, modules, packages));
      }
      const foreignSorted = [...new Set(foreign)].sort();
      const home = relative(this.#root, m.source);
      const fileHashes = new Map<string, string>([[home, hashString(parts.join("\u0000"))]]);
      for (const f of foreignSorted) {
        const [rel, stmt] = f.split("\u0000");
        fileHashes.set(rel, hashString(`${fileHashes.get(rel) ?? ""}\u0000${stmt}`));
      }
      parts.push(...foreignSorted);
      const pk = new Set<string>();
      for (const p of packages) pk.add(this.#pkgVersion(p, m.source));
      for (const dep of [...modules].sort()) {
        const c = this.#moduleClosure(dep);
        parts.push(...c.hashes);
        c.files.forEach((f, i) => fileHashes.set(f, f === home ? hashString(`${fileHashes.get(f)}\u0000${c.byFile[i]}`) : c.byFile[i]));
        c.packages.forEach((p) => pk.add(p));
      }
      const pkgs = [...pk].sort();
      const files = [...fileHashes.keys()].sort();
      result = { hash: hashString(["code-v1", ...parts, ...pkgs].join("\u0000")), files, packages: pkgs, fileHashes: Object.fromEntries(files.map((f) => [f, fileHashes.get(f)!])) };
    }
    if (factoryCall !== undefined) {
      // Made by a factory: the result depends on the call, not only on the function.
      this.#byCall.set(`${text}\u0000${targetName ?? ""}`, result);
      return result;
    }
    this.#memo.set(fn, result);
    if (!exporter) this.#byText.set(text, result);
    return result;
  }

  readonly #indexes = new Map<string, ModuleIndex>();

  /** A module's statements with what looking them up needs (built once per module). */
  #index(m: ModuleInfo): ModuleIndex {
    const known = this.#indexes.get(m.source);
    if (known) return known;
    const stmts = this.#stmts(m);
    const starts: number[] = [];
    let at = 0;
    for (const st of stmts) {
      starts.push(at);
      at += st.text.length + 1;
    }
    const declaredBy = new Map<string, Statement[]>();
    // pipe's own API (target, family, param, sh) is called at load to declare things, which
    // changes nothing a recipe reads: `param.int(...)` is not a change of `param` (every param
    // declaration was counted as code of each family whose key declares a param inline).
    const named = new Set(Object.keys(m.bindings).filter((n) => m.bindings[n] !== "pkg:pipefile"));
    for (const st of stmts) {
      for (const d of st.declares) {
        named.add(d);
        let list = declaredBy.get(d);
        if (!list) declaredBy.set(d, (list = []));
        list.push(st);
      }
    }
    // Statements that run at load: all but imports, re-exports and function or class
    // declarations (a declaration's own names being set is not a change: see #changedBy).
    // A class with a static block or static fields runs those at load (`static { registry.scale = 2; }`).
    const load = stmts.filter((st) => !/^(?:import\b|export\s*(?:\{|\*))/.test(st.text) && !FUNCTION_DECL.test(st.text) && !(/^(?:export\s+)?(?:default\s+)?class\b/.test(st.text) && !/\bstatic\b/.test(st.text)));
    const localImport = new Set(Object.entries(m.bindings).filter(([, b]) => !b.startsWith("pkg:") && !b.startsWith("builtin:")).map(([n]) => n));
    const api = new Set(Object.keys(m.bindings).filter((n) => m.bindings[n] === "pkg:pipefile"));
    const ix: ModuleIndex = { stmts, starts, declaredBy, named, load, localImport, api, changes: new Map() };
    this.#indexes.set(m.source, ix);
    return ix;
  }

  /** For each name, the statements of the module that mention it (built once per module). */
  #referencers(ix: ModuleIndex): Map<string, Statement[]> {
    if (ix.referencers) return ix.referencers;
    const out = new Map<string, Statement[]>();
    for (const st of ix.stmts) {
      for (const n of referencedNames(withoutStrings(st.text))) {
        let list = out.get(n);
        if (!list) out.set(n, (list = []));
        list.push(st);
      }
    }
    ix.referencers = out;
    return out;
  }

  /** Whether module `m` mentions eval (a string may then name any of its bindings): see codeNames. */
  #callsEval(m: ModuleInfo): boolean {
    return /\beval\b/.test(this.#text(m));
  }

  #external: Map<string, { stmt: Statement; text: string; mod: ModuleInfo }[]> | undefined;

  /**
   * The declarations in `mod` of the values statement `from` (its code `code`) hands over, as
   * "<file>\u0000<text>" entries, transitively; imported names add their modules or packages. A
   * name declared only by statements that declare targets is left out (their outputs are inputs).
   */
  #handedFrom(mod: ModuleInfo, code: string, from: Statement, modules: Set<string>, packages: Set<string>): string[] {
    const ix = this.#index(mod);
    const rel = relative(this.#root, mod.source);
    const out: string[] = [];
    const taken = new Set<Statement>([from]);
    const seen = new Set<string>();
    const evalHere = this.#callsEval(mod);
    const queue = codeNames(code, evalHere);
    while (queue.length) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      if (importedAs(mod, id, modules, packages)) continue;
      const decl = ix.declaredBy.get(id) ?? [];
      if (decl.length > 0 && decl.every((d) => DECLARES_TARGET.test(withoutStrings(d.text)))) continue;
      for (const d of decl) {
        if (taken.has(d)) continue;
        taken.add(d);
        out.push(`${rel}\u0000${d.text}`);
        queue.push(...codeNames(d.text, evalHere));
      }
    }
    return out;
  }

  /**
   * For each local module, the load-time statements of other modules that may change a value
   * it exports (through an import binding), with the text that counts (the statement and where
   * it is). Built once.
   */
  #externalChangers(): Map<string, { stmt: Statement; text: string; mod: ModuleInfo }[]> {
    if (this.#external) return this.#external;
    const out = new Map<string, { stmt: Statement; text: string; mod: ModuleInfo }[]>();
    for (const mod of Object.values(this.#compiled.modules)) {
      if (mod.compiled.endsWith(".json")) continue;
      const ix = this.#index(mod);
      for (const [name, stmts] of this.#changers(ix)) {
        const bound = Object.hasOwn(mod.bindings, name) ? mod.bindings[name] : undefined;
        if (bound === undefined || bound.startsWith("pkg:") || bound.startsWith("builtin:")) continue;
        let list = out.get(bound);
        if (!list) out.set(bound, (list = []));
        for (const stmt of stmts) list.push({ stmt, text: `${relative(this.#root, mod.source)}\u0000${stmt.text}`, mod });
      }
    }
    this.#external = out;
    return out;
  }

  /** For each top-level name, the statements run at load that may change it (built once per module). */
  #changers(ix: ModuleIndex): Map<string, Statement[]> {
    if (ix.changers) return ix.changers;
    const out = new Map<string, Statement[]>();
    for (const s of ix.load) {
      // Most statements (a target's declaration) can change nothing of the module's: seen on
      // the whole text first (a superset), before the recipes are cut out.
      const whole = mutatedNames(s.text);
      if (![...whole.changed].some((x) => !s.declares.includes(x) && (ix.named.has(x) || SHARED_GLOBALS.includes(x))) && ![...whole.called].some((f) => ix.declaredBy.has(f) || ix.localImport.has(f))) continue;
      // What runs at load: the statement without the recipes it declares (they run later);
      // callbacks and functions it calls at once (forEach, an IIFE) stay.
      for (const x of this.#changedBy(ix, s, this.#withoutRecipes(s.text))) {
        if (!ix.named.has(x) && !SHARED_GLOBALS.includes(x)) continue;
        let list = out.get(x);
        if (!list) out.set(x, (list = []));
        list.push(s);
      }
    }
    ix.changers = out;
    return out;
  }

  /**
   * `text` without the recipe functions of every declared target in it (the statement that
   * declares several targets: what it hands one recipe is not the others' code).
   */
  #withoutRecipes(text: string): string {
    let out = text;
    for (const r of this.#recipeTexts()) if (r.length > 0 && out.includes(r)) out = out.split(r).join(" ");
    return out;
  }

  /**
   * What statement `s` (its code `code`) may change, following the module's own functions it
   * calls (memoised). A declaration's own names being set is not a change.
   */
  #changedBy(ix: ModuleIndex, s: Statement, code: string, active = new Set<Statement>()): Set<string> {
    const known = ix.changes.get(s);
    if (known) return known;
    active.add(s);
    const { changed, called } = mutatedNames(code);
    for (const d of s.declares) changed.delete(d);
    const out = new Set(changed);
    for (const f of called) {
      // A function of another local module, called at load (`configure({ lr: 0.5 })`), may
      // change what that module holds: counted as a change of the name it is imported as. Not
      // in a declaration of targets: a call there (`asAttribute(...)` in an inputs function)
      // mostly runs later, and a target made by such a call counts it itself (see hashOf).
      if (ix.localImport.has(f) && !DECLARES_TARGET.test(withoutStrings(s.text))) out.add(f);
      for (const d of ix.declaredBy.get(f) ?? []) {
        // Calling a family (`model({ seed: 1 })`, an instance) runs pipe's code, not the text
        // of the family's declaration: every statement that made an instance counted as a change
        // of what that declaration mentions, and so as code of the family's recipe.
        if (d === s || active.has(d) || declaresOne(d, ix)) continue;
        for (const x of this.#changedBy(ix, d, d.text, active)) out.add(x);
      }
    }
    active.delete(s);
    // Inside a cycle the answer may be partial: memoise only answers computed from the top.
    if (active.size === 0) ix.changes.set(s, out);
    return out;
  }

  #recipeTexts(): string[] {
    if (!this.#recipeTextList) {
      const texts = new Set<string>();
      for (const f of this.#recipeFns()) if (typeof f === "function") texts.add(fnText(f));
      this.#recipeTextList = [...texts];
    }
    return this.#recipeTextList;
  }

  #coarse(text: string): CodeHash {
    const mods = Object.values(this.#compiled.modules).sort((a, b) => (a.source < b.source ? -1 : 1));
    const pk = new Set<string>();
    for (const m of mods) for (const p of m.packages) pk.add(this.#pkgVersion(p, m.source));
    const pkgs = [...pk].sort();
    const files = mods.map((m) => relative(this.#root, m.source));
    return { hash: hashString(["code-coarse-v1", text, ...mods.map((m) => m.normHash), ...pkgs].join("\u0000")), files, packages: pkgs, fileHashes: Object.fromEntries(mods.map((m, i) => [files[i], m.normHash])) };
  }

  #moduleClosure(source: string): { hashes: string[]; files: string[]; byFile: string[]; packages: string[]; sources: string[] } {
    const known = this.#closure.get(source);
    if (known) return known;
    const hashes: string[] = [];
    const files: string[] = [];
    const packages = new Set<string>();
    const seen = new Set<string>();
    const stack = [source];
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const m = this.#compiled.modules[s];
      if (!m) {
        hashes.push(`missing:${s}`);
        continue;
      }
      hashes.push(m.normHash);
      files.push(relative(this.#root, s) + "\u0000" + m.normHash);
      for (const p of m.packages) packages.add(this.#pkgVersion(p, s));
      stack.push(...m.deps);
    }
    const pairs = files.sort().map((f) => f.split("\u0000"));
    const result = { hashes: hashes.sort(), files: pairs.map((x) => x[0]), byFile: pairs.map((x) => x[1]), packages: [...packages].sort(), sources: [...seen] };
    this.#closure.set(source, result);
    return result;
  }

  /**
   * The package.json of every package any module imports, not only those of recipes hashed so
   * far: the no-op snapshot must notice an upgrade of any of them (a build that trusted most
   * targets hashed few recipes, and the Pipelinefile's own code uses packages too).
   */
  allPackageFiles(): Set<string> {
    for (const m of Object.values(this.#compiled.modules)) for (const p of m.packages) this.#pkgVersion(p, m.source);
    return this.packageFiles;
  }

  #pkgVersion(name: string, from: string): string {
    if (name === "pipefile") return "pipefile";
    const key = `${name}\u0000${dirname(from)}`;
    const known = this.#versions.get(key);
    if (known) return known;
    let version = "?";
    for (let dir = dirname(from); ; dir = dirname(dir)) {
      try {
        const pj = join(dir, "node_modules", name, "package.json");
        version = JSON.parse(readFileSync(pj, "utf8")).version ?? "?";
        this.packageFiles.add(pj);
        // A package linked from a folder of the user's (`npm install ../utils`, a workspace)
        // changes without its version changing: its files count, like a local module's.
        const real = realpathSync(dirname(pj));
        if (!real.split(sep).includes("node_modules")) version += `+local.${this.#linkedHash(real)}`;
        break;
      } catch {
        if (dirname(dir) === dir) break;
      }
    }
    const v = `${name}@${version}`;
    this.#versions.set(key, v);
    return v;
  }

  /**
   * The content of a linked package's folder (every file but node_modules/ and dot folders),
   * its files added to those the no-op snapshot watches. Capped: beyond LINKED_MAX_FILES the
   * rest count by size and mtime only.
   */
  #linkedHash(dir: string): string {
    const parts: string[] = [];
    let n = 0;
    const walk = (d: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        const abs = join(d, e.name);
        if (e.isDirectory()) {
          if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(abs);
        } else if (e.isFile()) {
          const rel = relative(dir, abs);
          if (++n <= LINKED_MAX_FILES) {
            parts.push(`${rel}\u0000${hashBytes(readFileSync(abs))}`);
            this.packageFiles.add(abs);
          } else {
            const st = statSync(abs);
            parts.push(`${rel}\u0000${st.size}:${st.mtimeMs}`);
          }
        }
      }
    };
    walk(dir);
    return hashString(parts.join("\n")).slice(0, 16);
  }

  #text(m: ModuleInfo): string {
    let t = this.#texts.get(m.source);
    if (t === undefined) {
      t = asciiNames(readFileSync(join(this.#compiled.dir, m.compiled), "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, ""));
      this.#texts.set(m.source, t);
    }
    return t;
  }

  /** Top-level statements: esbuild prints each at column 0 and indents what is inside. */
  #stmts(m: ModuleInfo): Statement[] {
    const known = this.#statements.get(m.source);
    if (known) return known;
    const out: Statement[] = [];
    let cur: string[] = [];
    const flush = () => {
      if (cur.length) {
        const text = cur.join("\n");
        out.push({ text, declares: declaredNames(text) });
      }
      cur = [];
    };
    const lines = this.#text(m).split("\n");
    const inside = linesInsideTemplates(lines);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line !== "" && !inside[i] && !/^[\s})\]]/.test(line)) flush();
      cur.push(line);
    }
    flush();
    this.#statements.set(m.source, out);
    return out;
  }
}

/**
 * For each line of esbuild's output, whether it starts inside a template literal: such a line
 * (`world\`;` of a two-line template constant) is text, not a new statement, even at column 0.
 * Split there, the template's later lines and an edit in them counted for no recipe. Quotes
 * end with their line in esbuild's output (only templates span lines); a quote or backtick in
 * a regex can only make a statement longer here (a superset: never a missed edit).
 */
export function linesInsideTemplates(lines: string[]): boolean[] {
  const out: boolean[] = [];
  // Template nesting: for each open template, the `${` brace depth it waits for.
  const stack: number[] = [];
  let braces = 0;
  for (const line of lines) {
    out.push(stack.length > 0 && braces === stack[stack.length - 1]);
    let quote = "";
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      const inTemplate = stack.length > 0 && braces === stack[stack.length - 1];
      if (quote) {
        if (c === "\\") i++;
        else if (c === quote) quote = "";
      } else if (inTemplate) {
        if (c === "\\") i++;
        else if (c === "`") stack.pop();
        else if (c === "$" && line[i + 1] === "{") {
          braces++;
          i++;
        }
      } else if (c === "'" || c === '"') quote = c;
      else if (c === "`") stack.push(braces);
      else if (c === "{") braces++;
      else if (c === "}") braces--;
    }
  }
  return out;
}

/** The function text with its parameter names replaced by `$p0`, `$p1`... (whole words). */
export function canonicalParams(text: string, names: string[]): string {
  if (names.length === 0) return text;
  const index = new Map(names.map((n, i) => [n, i]));
  return text.replace(/(?<![\w$.])[A-Za-z_$][\w$]*/g, (w) => (index.has(w) ? `$p${index.get(w)}` : w));
}

/**
 * The names a function's parameters bind: `(ctx) =>`, `({ inputs, outputs }) =>`,
 * `async function f(a, b = 1)`. Keys renamed in a pattern (`{ inputs: ins }`) and default
 * values are not bindings of those names, so they are left out (they may refer to outer names).
 */
export function paramNames(text: string): string[] {
  let rest = text.replace(/^async\s*/, "");
  const simple = /^([A-Za-z_$][\w$]*)\s*=>/.exec(rest);
  if (simple) return [simple[1]];
  if (rest.startsWith("function")) rest = rest.slice(rest.indexOf("("));
  if (!rest.startsWith("(")) return [];
  let depth = 0;
  let end = -1;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "(" || rest[i] === "{" || rest[i] === "[") depth++;
    else if (rest[i] === ")" || rest[i] === "}" || rest[i] === "]") {
      depth--;
      if (depth === 0) {
        end = i;
        break;
      }
    }
  }
  if (end < 0) return [];
  const list = rest.slice(1, end);
  const names: string[] = [];
  for (const m of list.matchAll(/([A-Za-z_$][\w$]*)\s*([:=]?)/g)) {
    if (m[2] === ":" ) continue; // a renamed key: not a binding of that name
    const before = list.slice(0, m.index).trimEnd();
    if (before.endsWith("=") || before.endsWith(":")) continue; // a default value, or the renamed binding's key side
    names.push(m[1]);
  }
  return names;
}

/**
 * The declarators of a `const`/`let`/`var` statement (the text after the keyword): its parts
 * at the top level, split at commas outside brackets, strings, templates and regex literals.
 * Undefined when the brackets do not balance (a construct this scan misreads).
 */
export function declarators(decl: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let prev = ""; // the last character that is not white space, outside strings
  for (let i = 0; i < decl.length; i++) {
    const c = decl[i];
    if (c === '"' || c === "'" || c === "`") {
      i = stringEnd(decl, i);
      if (i < 0) return undefined;
      prev = c;
      continue;
    }
    // A regex literal where an operand goes (after `x++` or `)` a slash divides).
    if (c === "/" && decl[i + 1] !== "/" && decl[i + 1] !== "*" && (prev === "" || "(,=:[!&|?{};*%<>~^".includes(prev) || ((prev === "+" || prev === "-") && !/(?:\+\+|--)$/.test(decl.slice(0, i).trimEnd())))) {
      i = regexEnd(decl, i);
      if (i < 0) return undefined;
      prev = "/";
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (--depth < 0) return undefined;
    } else if (depth === 0 && (c === "," || c === ";")) {
      parts.push(decl.slice(start, i));
      start = i + 1;
      if (c === ";") break;
    }
    if (!/\s/.test(c)) prev = c;
  }
  if (depth !== 0) return undefined;
  if (start < decl.length) parts.push(decl.slice(start));
  return parts.map((x) => x.trim()).filter((x) => x !== "");
}

/**
 * The index of the quote closing the string or template that opens at `at` (-1: none). A
 * template's `${...}` is code: its strings and templates are skipped in turn (a quote inside
 * `${title ? `${title}'s` : ""}` made the rest of the statement a string).
 */
/** The index of the slash closing the regex literal that starts at `at` (not one inside a class; -1: none on its line). */
function regexEnd(text: string, at: number): number {
  let inClass = false;
  for (let i = at + 1; i < text.length; i++) {
    const r = text[i];
    if (r === "\\") i++;
    else if (r === "[") inClass = true;
    else if (r === "]") inClass = false;
    else if (r === "/" && !inClass) return i;
    else if (r === "\n") return -1;
  }
  return -1;
}

function stringEnd(text: string, at: number): number {
  const q = text[at];
  for (let i = at + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === q) return i;
    else if (q === "`" && c === "$" && text[i + 1] === "{") {
      i = exprEnd(text, i + 2);
      if (i < 0) return -1;
    } else if (q !== "`" && c === "\n") return -1;
  }
  return -1;
}

/** The index of the `}` closing a template's `${` whose expression starts at `at` (-1: none). */
function exprEnd(text: string, at: number): number {
  let depth = 1;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Names a top-level statement declares (functions, classes, variables incl. destructuring). */
export function declaredNames(text: string): string[] {
  const first = text.split("\n")[0];
  let m = /^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s*([\w$]+)/.exec(first) ?? /^(?:export\s+)?class\s+([\w$]+)/.exec(first);
  if (m) return [m[1]];
  m = /^(?:export\s+)?(?:const|let|var)\s+([\s\S]*)$/.exec(text);
  if (m) {
    const names: string[] = [];
    const decl = m[1];
    const parts = declarators(decl);
    if (parts) {
      // Each declarator's name (`a = 1`, `threshold` set later), or every name of its pattern
      // (`{ x, y: z } = obj`: a superset, keys included). Names inside the values are not
      // declared: `JSON.stringify(out, null, 2)` in a target's recipe declared null and out, and
      // a recipe mentioning them took that whole declaration as its code.
      for (const part of parts) {
        const name = /^([\w$]+)/.exec(part);
        if (name) names.push(name[1]);
        else if (/^[{[]/.test(part)) {
          // The pattern: to its own closing bracket (`{ a: { b } = {}, c } = obj` declares c too).
          let depth = 0;
          let end = part.length;
          for (let i = 0; i < part.length; i++) {
            if (part[i] === "{" || part[i] === "[") depth++;
            else if ((part[i] === "}" || part[i] === "]") && --depth === 0) {
              end = i + 1;
              break;
            }
          }
          for (const x of part.slice(0, end).match(IDENT) ?? []) names.push(x);
        }
      }
      return names;
    }
    // Brackets that do not balance here: a superset. Every `name =` / destructured name at the
    // declaration's top level (before each top-level "="), and every name followed by a comma.
    const simple = decl.matchAll(/(?:^|,\s*)([\w$]+)\s*=/g);
    for (const s of simple) names.push(s[1]);
    for (const s of decl.matchAll(/(?:^|,\s*)([\w$]+)\s*(?=[,;]|$)/g)) names.push(s[1]);
    const destruct = /^[{[]([^=]*)[}\]]\s*=/.exec(decl);
    if (destruct) for (const x of destruct[1].match(IDENT) ?? []) names.push(x);
    return names;
  }
  return [];
}
