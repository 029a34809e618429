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
  if (value.includes("\0")) throw new TypeError(`shell value contains a NUL byte: ${JSON.stringify(value)}`);
  if (value !== "" && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function words(value: ShellValue): string[] {
  if (Array.isArray(value)) return (value as readonly unknown[]).map((v) => scalar(v));
  return [scalar(value)];
}

function scalar(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new TypeError(`cannot interpolate ${v === null ? "null" : typeof v} into a shell command; pass a string, number, boolean or an array of them`);
}

function isRaw(v: unknown): v is RawShell {
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
      const ws = words(value);
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
  const path = scalar(last);
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

export const sh: Sh = Object.assign((strings: TemplateStringsArray, ...values: ShellValue[]) => build(strings, values), {
  raw: (text: string): RawShell => Object.freeze({ [SH]: "raw" as const, text }),
});

export function isShellCommand(x: unknown): x is ShellCommand {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[SH] === true;
}
