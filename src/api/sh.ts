/**
 * Shell recipes: `sh\`cat ${inputs} > ${outputs[0]}\``. Every interpolated value is quoted as
 * one literal word (arrays as one word per element), so a param can never inject shell syntax.
 * Unquoted text needs the explicitly named `sh.raw()`. The command text after interpolation is
 * part of the target's fingerprint.
 *
 * When the template's own text uses no shell feature (no pipes, redirections, quotes, `$`,
 * globs...), the command is also given as an argv and run without a shell: spawning `sh -c`
 * costs measurably more than a direct exec (ecosystem.md, bench). One redirection is common
 * enough to be worth the same: a command whose last words are `> ${path}` runs without a
 * shell too, with its standard output opened on that path (truncated or created, as `>` does).
 */
export const SH = Symbol.for("pipefile.sh");

export interface ShellCommand {
  readonly [SH]: true;
  /** The command as `sh -c` would run it, every value quoted. */
  readonly script: string;
  /** The same command as argv when it needs no shell; undefined otherwise. */
  readonly argv: readonly string[] | undefined;
  /** With argv: the path its standard output goes to (`cmd ... > ${path}`), if any. */
  readonly stdout?: string;
}

/** Text inserted without quoting. Use only for trusted, constant fragments. */
export interface RawShell {
  readonly [SH]: "raw";
  readonly text: string;
}

export type ShellValue = string | number | boolean | RawShell | readonly (string | number | boolean)[];

const SAFE_WORD = /^[A-Za-z0-9_./:=,+@%^-]+$/;
const SAFE_LITERAL = /^[A-Za-z0-9_./:=,+@%^\s-]*$/;
/**
 * Words that only a shell runs as the shell means them: builtins with no program of that name,
 * and `echo`, whose builtin in dash (Debian's sh) expands backslashes where coreutils' does not.
 */
const BUILTINS = new Set(["cd", "export", "set", "unset", "source", ".", "eval", "exec", "alias", "unalias", "read", "readonly", "ulimit", "umask", "wait", "trap", "shift", "local", "return", "break", "continue", ":", "exit", "echo", "command", "type", "hash", "times", "jobs", "fg", "bg", "getopts", "let"]);

/** Quotes one value for POSIX sh. */
export function quote(value: string): string {
  if (value.includes("\0")) throw new ShellValueError(`shell value contains a NUL byte: ${JSON.stringify(value)}`);
  if (value !== "" && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The words of the value of the template's `index`th `${}`; throws a ShellValueError naming it. */
function words(strings: readonly string[], index: number, value: ShellValue): string[] {
  const elements: readonly unknown[] = Array.isArray(value) ? value : [value];
  return elements.map((v, k) => {
    const w = scalar(v);
    if (w !== undefined && !w.includes("\0")) return w;
    const what = Array.isArray(value) ? `an array whose element [${k}] is ${describeValue(v)}` : describeValue(v);
    const takes = w === undefined ? "; sh takes a string, number, boolean or an array of them" : "";
    const fix = w !== undefined ? "remove the NUL byte: no shell word can hold one" : fixFor(v, Array.isArray(value));
    throw new ShellValueError(`the ${ordinal(index + 1)} \${} in ${templateText(strings, index)} is ${what}${takes}\n  hint: ${fix}`);
  });
}

/** A value as its shell word, or undefined when it has none. */
function scalar(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/**
 * A value that sh cannot interpolate, reported from the recipe's own call of sh (see `sh`).
 * Its message is worded for the recipe's author: a failure shows it without "TypeError:".
 */
class ShellValueError extends TypeError {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, Symbol.for("pipefile.worded"), { value: true });
  }
}

/** What a value is, in a few words: its type and a short preview. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "string") return `a string with a NUL byte (${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)})`;
  if (typeof v === "function") return v.name ? `the function ${v.name}` : "a function";
  if (typeof v !== "object") return `the ${typeof v} ${String(v)}${typeof v === "bigint" ? "n" : ""}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isShellCommand(v)) return "a sh`...` command";
  if (typeof (v as { then?: unknown }).then === "function") return "a Promise";
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  if (proto !== null && proto !== Object.prototype) return `a ${proto.constructor?.name || "object"}`;
  const keys = Object.keys(v);
  if (keys.length === 0) return "an empty object";
  return `an object with key${keys.length === 1 ? "" : "s"} ${keys.slice(0, 6).join(", ")}${keys.length > 6 ? ", ..." : ""}`;
}

/** The fix for a value `describeValue` described (`inArray`: it is an element of an array). */
function fixFor(v: unknown, inArray: boolean): string {
  if (v === undefined) return "check the name (an input, output or param the target does not declare reads as undefined; so does a declared env var that is not set: give it a default, e.g. ${ctx.env.X ?? ''})";
  if (v === null) return "pass a string, or leave the value out";
  if (typeof v === "function") return "call it, and interpolate what it returns";
  if (typeof v !== "object") return "convert it first, e.g. String(…)";
  if (Array.isArray(v)) return "spread it into one flat array: [...a, ...b], or a.flat()";
  if (isShellCommand(v)) return "write the whole command in one sh`...` (or sh.raw(cmd.script) for a trusted fragment)";
  if (typeof (v as { then?: unknown }).then === "function") return "await it first (the recipe must be async)";
  const proto = Object.getPrototypeOf(v);
  if (proto !== null && proto !== Object.prototype) return "convert it to a string first, e.g. String(…)";
  const keys = Object.keys(v as object);
  if (keys.length === 0) return "pass a path (a string) instead";
  const values = Object.values(v as object);
  if (inArray) return `pick one field of each element, e.g. list.map((x) => x.${keys[0]})`;
  return `pick one of its ${values.every((x) => typeof x === "string") ? "paths" : "fields"}, e.g. \${….${keys[0]}}, or pass all of its values as an array: Object.values(…)`;
}

/** 1st, 2nd, 3rd, 4th, 11th, 21st... */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

/** How far the template is shown on each side of the placeholder in a message. */
const AROUND = 30;

/** The template as the recipe wrote it, every `${}` shown as `${…}`, around the `index`th one. */
function templateText(strings: readonly string[], index: number): string {
  const flat = strings.map((s) => s.replace(/\s+/g, " "));
  const before = flat.slice(0, index + 1).join("${…}").trimStart();
  const after = flat.slice(index + 1).join("${…}").trimEnd();
  // Cut at word boundaries (never inside a `${…}`).
  const head = before.length > AROUND ? `…${before.slice(-AROUND).replace(/^\S*\s/, "")}` : before;
  const tail = after.length > AROUND ? `${after.slice(0, AROUND).replace(/\s\S*$/, "")}…` : after;
  return `sh\`${head}\${…}${tail}\``;
}

/** Whether `v` is a `sh.raw(...)` fragment. */
export function isRaw(v: unknown): v is RawShell {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[SH] === "raw";
}

function build(strings: TemplateStringsArray | readonly string[], values: readonly ShellValue[]): ShellCommand {
  let script = strings[0];
  let argvOk = SAFE_LITERAL.test(strings[0]);
  const argv: string[] = [];
  let current: string | null = null; // word being built
  const pushLiteral = (text: string) => {
    const parts = text.split(/(\s+)/);
    for (const part of parts) {
      if (part === "") continue;
      if (/^\s+$/.test(part)) {
        if (current !== null) argv.push(current);
        current = null;
      } else current = (current ?? "") + part;
    }
  };
  pushLiteral(strings[0]);
  values.forEach((value, i) => {
    const next = strings[i + 1];
    if (isRaw(value)) {
      script += value.text;
      argvOk = false;
    } else {
      const ws = words(strings, i, value);
      script += Array.isArray(value) ? ws.map(quote).join(" ") : quote(ws[0]);
      const standalone = current === null && (/^\s/.test(next) || (next === "" && i === values.length - 1));
      if (Array.isArray(value)) {
        if (!standalone) argvOk = false;
        else for (const w of ws) argv.push(w);
      } else {
        current = (current ?? "") + ws[0];
      }
    }
    script += next;
    if (!SAFE_LITERAL.test(next)) argvOk = false;
    pushLiteral(next);
  });
  if (current !== null) argv.push(current);
  // `LC_ALL=C sort ...`: a leading assignment sets the command's env, which only a shell does.
  if (argv.length === 0 || BUILTINS.has(argv[0]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0])) argvOk = false;
  if (!argvOk) {
    const r = redirected(strings, values);
    if (r) return Object.freeze({ [SH]: true as const, script: script.trim(), argv: r.argv, stdout: r.stdout });
  }
  return Object.freeze({ [SH]: true as const, script: script.trim(), argv: argvOk ? Object.freeze(argv) : undefined });
}

/**
 * `words... > ${path}` at the very end of the template, the words needing no shell: their argv
 * and the path. Only a plain `>` preceded by a blank counts (not `2>`, `>>`, `>|` or `&>`), and
 * only a single interpolated value after it, which is one literal word however it looks.
 */
function redirected(strings: TemplateStringsArray | readonly string[], values: readonly ShellValue[]): { argv: readonly string[]; stdout: string } | undefined {
  const n = values.length;
  if (n === 0 || !/^\s*$/.test(strings[n])) return undefined;
  const m = /^([^]*\s)>\s*$/.exec(strings[n - 1]);
  const last = values[n - 1];
  if (!m || isRaw(last) || Array.isArray(last)) return undefined;
  const path = scalar(last)!; // build() checked every value
  // /dev/stdout, /dev/fd/2, /proc/self/...: names of the opener's own descriptors, which only
  // the shell (in the recipe's own process) resolves the way `>` means them.
  if (path === "" || /^\/(dev|proc)\//.test(path)) return undefined;
  const head = build([...strings.slice(0, n - 1), m[1]], values.slice(0, n - 1));
  return head.argv && !head.stdout ? { argv: head.argv, stdout: path } : undefined;
}

export interface Sh {
  (strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand;
  /** Unquoted text, for trusted constant fragments only (visible to review by its name). */
  raw(text: string): RawShell;
}

function shTag(strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand {
  try {
    // An escape JavaScript does not know (`printf '\377'`, `'\xZZ'`) leaves that piece of a
    // tagged template undefined: it reaches the shell as written (it failed with "Cannot read
    // properties of undefined", found by a review).
    return build(strings.includes(undefined as unknown as string) ? strings.map((t, i) => t ?? strings.raw[i]) : strings, values);
  } catch (e) {
    // The stack starts at the recipe's call of sh: pipe's own frames say nothing to its author.
    if (e instanceof ShellValueError) Error.captureStackTrace(e, shTag);
    throw e;
  }
}

export const sh: Sh = Object.assign(shTag, {
  raw: (text: string): RawShell => Object.freeze({ [SH]: "raw" as const, text }),
});

/** Whether `e` is sh's own error for a `${}` it cannot interpolate (its message has a hint line). */
export function isShellValueError(e: unknown): e is Error {
  return e instanceof ShellValueError;
}

export function isShellCommand(x: unknown): x is ShellCommand {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[SH] === true;
}
