/**
 * `pipe params [targets]`: the params a build of those targets reads, each with the value it
 * would get and where that value comes from, its type, doc, the targets using it and where it
 * was declared; and the keys of the families involved (how to name their instances). Read-only:
 * luigi's `--help` on a task, for a whole pipeline.
 */
import { relative } from "node:path";
import { declKind, type Family } from "../../api/target.ts";
import type { Param } from "../../api/params.ts";
import { closure, type Graph } from "../../graph/graph.ts";
import { formatValue, typeDescription, type ParamText } from "../../graph/param-values.ts";
import { flagValue, hasFlag } from "../args.ts";
import { PARAMS_FILE } from "../flags.ts";
import { COMMON, EXIT, PARAM, type Command } from "../main.ts";
import { openProject } from "../project.ts";
import { paramTextFrom } from "../param-text.ts";

export const command: Command = {
  name: "params",
  summary: "List the params a build of the targets reads: the value each would get and from where (default, --param, --params file), its type and doc, the targets that use it, where it is declared; and the keys that name the families' instances. Writes nothing.",
  usage: "pipe params [targets...] [--param name=value] [--json]",
  details: "Without targets: every param the Pipelinefile declares, including those no target uses.",
  flags: [PARAM, PARAMS_FILE, { name: "json", help: "print one JSON document: { params: [...], keys: [...] }" }, ...COMMON],
  run: async (ctx) => {
    const paramText = paramTextFrom(ctx.args, ctx.cwd);
    const project = await openProject({ cwd: ctx.cwd, file: flagValue(ctx.args, "file"), paramText, requested: ctx.args.positional, readOnly: true, env: ctx.env, lenient: true });
    const named = ctx.args.positional.length > 0;
    const ids = named ? closure(project.graph, project.selected) : project.graph.order;
    const keyParams = new Set<Param>();
    for (const d of project.spec.decls.values()) if (declKind(d) === "family") for (const k of Object.values((d as Family).options.key ?? {})) keyParams.add(k as Param);
    const rows = paramRows(project.graph, ids, project.spec.params, named ? undefined : (project.spec.unusedParams ?? new Map()), keyParams, paramText, ctx.cwd);
    const keys = keyRows(project.graph, ids, project.spec.decls, project.spec.params, !named);
    if (hasFlag(ctx.args, "json")) {
      ctx.stdout.write(JSON.stringify({ params: rows, keys }) + "\n");
      return EXIT.ok;
    }
    for (const w of project.warnings) ctx.stderr.write(`warning: ${w}\n`);
    ctx.stdout.write(render(rows, keys, named, Math.max(60, Math.min(ctx.stdout.columns || 100, 120))));
    return EXIT.ok;
  },
};

export interface ParamRow {
  name: string;
  type: Param["type"];
  /** Allowed values (enum params). */
  values?: string[];
  min?: unknown;
  max?: unknown;
  /** As written in the Pipelinefile (`"today"` for a date that follows the clock); absent: required. */
  default?: unknown;
  /** What the build would use, as text (`a,b` for a list); absent when required and not set. */
  value?: string;
  /** Where the value comes from: the default, `--param`, or a params file (`file:line`). */
  source: "default" | "--param" | string;
  doc?: string;
  /** Targets (of those considered) whose params include it. */
  usedBy: string[];
  /** `file:line:column`, relative to the current directory. */
  declaredAt?: string;
}

export interface KeyRow {
  family: string;
  /** How many instances of the family are among the targets considered. */
  instances: number;
  keys: {
    name: string;
    /** The command-line param this key is (the same declaration), if any: described there. */
    param?: string;
    type: Param["type"];
    values?: string[];
    min?: unknown;
    max?: unknown;
    default?: unknown;
    /** The key param's `doc`. */
    doc?: string;
  }[];
}

function paramRows(graph: Graph, ids: string[], declared: Map<string, Param>, all: Map<string, Param> | undefined, keyParams: Set<Param>, text: ParamText, cwd: string): ParamRow[] {
  // Users by declaration (a param without a value has no ParamUse), values by the graph.
  const byParam = new Map<Param, string>();
  for (const [name, p] of declared) byParam.set(p, name);
  const users = new Map<string, string[]>();
  const values = new Map<string, string>();
  for (const id of ids) {
    const t = graph.targets.get(id)!;
    for (const p of Object.values((t.decl.options as { params?: Record<string, Param> }).params ?? {})) {
      const name = byParam.get(p);
      if (name === undefined) continue;
      if (!users.has(name)) users.set(name, []);
      users.get(name)!.push(id);
    }
    for (const u of t.params) if (!u.isKey && u.cli !== undefined && u.value !== undefined) values.set(u.cli, formatValue(u.value));
  }
  const rows: ParamRow[] = [];
  const add = (name: string, p: Param, usedBy: string[]) => {
    const o = p.options as { default?: unknown; min?: unknown; max?: unknown; doc?: unknown };
    const src = text.sources?.get(name);
    const row: ParamRow = { name, type: p.type, source: text.has(name) ? (src ? `${relative(cwd, src.file) || src.shown}:${src.line}` : "--param") : "default", usedBy };
    if (p.values) row.values = [...p.values];
    if (o.min !== undefined) row.min = o.min;
    if (o.max !== undefined) row.max = o.max;
    if (o.default !== undefined) row.default = o.default;
    const v = values.get(name) ?? (text.has(name) ? text.get(name) : o.default === undefined ? undefined : formatValue(o.default));
    if (v !== undefined) row.value = v;
    if (typeof o.doc === "string" && o.doc !== "") row.doc = o.doc;
    const at = p.site.location();
    if (at) row.declaredAt = `${relative(cwd, at.file) || at.file}:${at.line}:${at.column}`;
    rows.push(row);
  };
  for (const [name, usedBy] of users) add(name, declared.get(name)!, usedBy);
  // Without targets named, every declared param: those of families no instance of which is
  // built, and those the Pipelinefile exports but gives to no target.
  // A param exported only to be a family's key is listed with the keys, not as one to set.
  if (all) for (const m of [declared, all]) for (const [name, p] of m) if (!rows.some((r) => r.name === name) && !keyParams.has(p)) add(name, p, []);
  return rows.sort((a, b) => (a.name < b.name ? -1 : 1));
}


/**
 * The keys of the families among `ids`; with `every`, of every family, also one no target
 * builds an instance of (a param exported only to be its key is listed nowhere else).
 */
function keyRows(graph: Graph, ids: string[], decls: Map<string, unknown>, declared: Map<string, Param>, every: boolean): KeyRow[] {
  const count = new Map<string, number>();
  if (every) for (const [name, d] of decls) if (declKind(d) === "family") count.set(name, 0);
  for (const id of ids) {
    const f = graph.targets.get(id)!.family;
    if (f !== undefined) count.set(f, (count.get(f) ?? 0) + 1);
  }
  const rows: KeyRow[] = [];
  for (const [family, instances] of count) {
    const key = ((decls.get(family) as Family | undefined)?.options.key ?? {}) as Record<string, Param>;
    const keys: KeyRow["keys"] = [];
    for (const [name, p] of Object.entries(key)) {
      const o = p.options as { default?: unknown; min?: unknown; max?: unknown; doc?: unknown };
      const k: KeyRow["keys"][number] = { name, type: p.type };
      if (typeof o.doc === "string" && o.doc !== "") k.doc = o.doc;
      if (p.name === name && declared.get(name) === p) k.param = name;
      if (p.values) k.values = [...p.values];
      if (o.min !== undefined) k.min = o.min;
      if (o.max !== undefined) k.max = o.max;
      if (o.default !== undefined) k.default = o.default;
      keys.push(k);
    }
    rows.push({ family, instances, keys });
  }
  return rows.sort((a, b) => (a.family < b.family ? -1 : 1));
}

/** `head a, b, c` wrapped to the width, each line indented (continuations by two more). */
function wrapped(head: string, items: string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = indent + head;
  for (let i = 0; i < items.length; i++) {
    const word = items[i] + (i < items.length - 1 ? "," : "");
    if (line.length + 1 + word.length > width && line.trim() !== "") {
      lines.push(line);
      line = indent + "  " + word;
    } else line += " " + word;
  }
  lines.push(line);
  return lines;
}

function typeLines(r: { type: Param["type"]; values?: string[]; min?: unknown; max?: unknown }, indent: string, width: number): string[] {
  if (r.type === "enum") return wrapped("one of", r.values!, indent, width);
  const bounds = [r.min !== undefined ? `min ${String(r.min)}` : "", r.max !== undefined ? `max ${String(r.max)}` : ""].filter(Boolean).join(", ");
  return [`${indent}${typeDescription(r)}${bounds ? `, ${bounds}` : ""}`];
}

const SHOWN_USERS = 4;

function render(rows: ParamRow[], keys: KeyRow[], named: boolean, width: number): string {
  const out: string[] = [];
  if (rows.length === 0) out.push(!named ? (keys.length ? "no params to set with --param: the Pipelinefile declares only family keys (below)" : "no params: the Pipelinefile declares none") : "no params: none of these targets reads one");
  for (const r of rows) {
    const from = r.source === "default" ? (r.default === undefined ? "required: set it with --param" : r.type === "date" && r.default === "today" ? "default: today" : "default") : `from ${r.source}${r.default === undefined ? "" : `; default ${formatValue(r.default)}`}`;
    if (out.length) out.push("");
    out.push(`${r.name} = ${r.value ?? "(not set)"}  (${from})`);
    if (r.doc) out.push(`  ${r.doc}`);
    out.push(...typeLines(r, "  ", width));
    const more = r.usedBy.length - SHOWN_USERS;
    out.push(r.usedBy.length ? `  used by ${r.usedBy.slice(0, SHOWN_USERS).join(", ")}${more > 0 ? ` and ${more} more` : ""}` : "  used by no target: setting it changes nothing");
    if (r.declaredAt) out.push(`  declared at ${r.declaredAt}`);
  }
  if (keys.length) {
    out.push("", "family keys: name an instance as family[key=value,...] (keys are not set with --param)");
    for (const f of keys) {
      out.push(`  ${f.family}[${f.keys.map((k) => k.name).join(", ")}]  (${f.instances === 0 ? "no instance here" : `${f.instances} instance${f.instances === 1 ? "" : "s"} here`})`);
      for (const k of f.keys) {
        if (k.param !== undefined) continue;
        const d = k.default === undefined ? "" : `; default ${formatValue(k.default)}`;
        if (k.doc) out.push(`    ${k.name}: ${k.doc}`);
        out.push(...typeLines(k, k.doc ? `      ` : `    ${k.name}: `, width).map((l, i, all) => (i === all.length - 1 ? l + d : l)));
      }
    }
    if (keys.some((f) => f.keys.some((k) => k.param !== undefined))) out.push("  (a key named like a param above takes the same values)");
  }
  return out.join("\n") + "\n";
}
