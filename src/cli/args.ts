/**
 * Argument parsing for `pipe`: hand-written (a parser library would cost start-up time, and
 * pipe runs from git hooks). Unknown flags are usage errors with "did you mean".
 */
import { UserError } from "../util/errors.ts";
import { suggestion } from "../util/did-you-mean.ts";

export interface Flag {
  /** Long name without dashes. */
  name: string;
  short?: string;
  /** Takes a value. */
  value?: boolean;
  /** May repeat (values collected). */
  repeat?: boolean;
  help: string;
  /** Shown as `--name <meta>`. */
  meta?: string;
}

export interface Parsed {
  flags: Map<string, string[] | true>;
  positional: string[];
}

/** Options of one command that users try on another (`pipe build --dot`): the hint names the right one. */
const OPTION_OF: Record<string, string> = { dot: "graph", mermaid: "graph", files: "graph", verify: "status", "exit-code": "status", deps: "clean", poll: "watch", debounce: "watch" };

export function parseArgs(argv: string[], flags: Flag[], command: string): Parsed {
  const byLong = new Map(flags.map((f) => [f.name, f]));
  const byShort = new Map(flags.filter((f) => f.short).map((f) => [f.short!, f]));
  const out: Parsed = { flags: new Map(), positional: [] };
  const set = (f: Flag, v: string | undefined) => {
    if (!f.value) {
      out.flags.set(f.name, true);
      return;
    }
    if (v === undefined) throw new UserError({ message: `${command}: --${f.name} needs a value`, hint: `--${f.name} ${f.meta ?? "<value>"}` });
    const prev = out.flags.get(f.name);
    out.flags.set(f.name, f.repeat && Array.isArray(prev) ? [...prev, v] : [v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const f = byLong.get(name);
      if (!f) {
        const elsewhere = Object.hasOwn(OPTION_OF, name) && OPTION_OF[name] !== command ? OPTION_OF[name] : undefined;
        throw new UserError({ message: `${command}: unknown option --${name}${elsewhere ? "" : suggestion(name, byLong.keys()).replace("\"", "\"--")}`, hint: elsewhere ? `--${name} is an option of pipe ${elsewhere} (pipe ${elsewhere} --help)` : `pipe ${command} --help lists the options` });
      }
      // `--dry-run=false` did a dry run: a flag that takes no value refuses one.
      if (!f.value && eq > 0) throw new UserError({ message: `${command}: --${name} takes no value (got ${JSON.stringify(a.slice(eq + 1))})`, hint: `--${name} alone turns it on; leave it out to keep it off` });
      set(f, f.value ? (eq > 0 ? a.slice(eq + 1) : argv[++i]) : undefined);
    } else if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
      // -j4, -j 4, -kq
      for (let k = 1; k < a.length; k++) {
        const f = byShort.get(a[k]);
        if (!f) throw new UserError({ message: `${command}: unknown option -${a[k]}`, hint: `pipe ${command} --help lists the options` });
        if (f.value) {
          const rest = a.slice(k + 1);
          set(f, rest !== "" ? rest : argv[++i]);
          break;
        }
        set(f, undefined);
      }
    } else out.positional.push(a);
  }
  return out;
}

export function flagValue(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

export function flagValues(p: Parsed, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function hasFlag(p: Parsed, name: string): boolean {
  return p.flags.has(name);
}

export function formatFlags(flags: Flag[]): string {
  const rows = flags.map((f) => [`${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? ` <${f.meta ?? "value"}>` : ""}`, f.help]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join("\n");
}
