/**
 * Warnings for param values (`--param`, `--params`) that change nothing in the requested build:
 * no target in it uses the param, or the requested instance has it as a key, which params do not
 * set (`pipe build "forecast[model=forest]" -p window=14` builds window=7). Without a word the
 * user would take the result for what they asked. Warnings, not errors: a script may pass the
 * same params to every build. Pure: the caller gives the graph's targets and what was asked.
 */
import { relative } from "node:path";
import type { Family } from "../api/target.ts";
import type { Param } from "../api/params.ts";
import type { PipelineSpec } from "../load/load.ts";
import type { GraphTarget } from "./graph.ts";
import { formatValue, type ParamText } from "./param-values.ts";

/** An instance named on the command line, with the key values written there. */
export interface RequestedInstance {
  id: string;
  family: string;
  given: Readonly<Record<string, string>>;
}

export interface ParamEffectInput {
  spec: Pick<PipelineSpec, "root" | "params" | "unusedParams" | "decls" | "names">;
  targets: ReadonlyMap<string, GraphTarget>;
  /** Ids of the targets the build needs (the requested ones and their dependencies). */
  needed: Iterable<string>;
  paramText: ParamText;
  requested: readonly RequestedInstance[];
}

/** One message per param value that has no effect on the build, or on a requested instance. */
export function ineffectiveParams(o: ParamEffectInput): string[] {
  const warnings: string[] = [];
  const needed = [...o.needed].map((id) => o.targets.get(id)!);
  /** The key of `t` that stands for the param (the same param object, or a key of that name). */
  const keyFor = (t: GraphTarget | undefined, p: Param, name: string): string | undefined => {
    if (!t?.key || t.family === undefined) return undefined;
    const keySpec = ((o.spec.decls.get(t.family) as Family | undefined)?.options.key ?? {}) as Record<string, Param>;
    for (const [k, q] of Object.entries(keySpec)) if (q === p) return k;
    return Object.hasOwn(keySpec, name) ? name : undefined;
  };
  /** `fam[k=v,...]` with the keys written on the command line and the settings that did not reach it. */
  const example = (r: RequestedInstance, extra: Record<string, string>) => {
    const key = { ...r.given, ...extra };
    return `${r.family}[${Object.keys(key).sort().map((k) => `${k}=${key[k]}`).join(",")}]`;
  };
  /** Why a param no target declares is read by none, and what to do instead. */
  const nowhere = (p: Param, name: string): string => {
    const at = p.site.location();
    const declared = at ? ` (declared at ${relative(o.spec.root, at.file) || at.file}:${at.line}:${at.column})` : "";
    const families = [...o.spec.decls].filter(([, d]) => Object.values(((d as Family).options.key ?? {}) as Record<string, Param>).includes(p));
    if (families.length === 0) return `no target uses param ${JSON.stringify(name)}${declared}; to use it, add it to the params of the targets meant to read it: params: { ${name} }`;
    const [family, decl] = families[0];
    const keySpec = ((decl as Family).options.key ?? {}) as Record<string, Param>;
    const k = Object.keys(keySpec).find((n) => keySpec[n] === p)!;
    // The family's other keys without a default must be named too; those with one may be left out.
    const others = Object.entries(keySpec).filter(([n, q]) => n !== k && (q.options as { default?: unknown }).default === undefined).map(([n]) => `${n}=<${n}>`);
    const id = `${family}[${[...others, `${k}=${o.paramText.get(name)}`].sort().join(",")}]`;
    return `param ${JSON.stringify(name)}${declared} is only a key of family ${JSON.stringify(family)}, which params do not set; name an instance: ${id}`;
  };
  const declOf = (t: GraphTarget) => o.spec.decls.get(t.family ?? t.id);
  // Key values the params meant to set, by requested instance: one example names them all.
  const meant = new Map<RequestedInstance, Record<string, string>>();
  const notes: { request?: RequestedInstance; text: (ex: string | undefined) => string }[] = [];
  for (const [name, text] of o.paramText) {
    // A param no target declares (the Pipelinefile exports it, maybe as a family key) is a value
    // that changes nothing, like one no target of this build uses.
    const unused = !o.spec.params.has(name);
    const p = o.spec.params.get(name) ?? o.spec.unusedParams?.get(name);
    if (!p) continue; // an unknown param is an error of its own
    const source = o.paramText.sources?.get(name);
    const set = source ? `${name}=${text} (from ${source.shown}:${source.line})` : `--param ${name}=${text}`;
    const users = needed.filter((t) => t.params.some((pu) => !pu.isKey && pu.cli === name));
    /** Targets of the whole graph that read the param and name their inputs with a function. */
    const readers = () => [...o.targets.values()].filter((t) => t.params.some((pu) => !pu.isKey && pu.cli === name) && typeof (declOf(t)?.options as { inputs?: unknown } | undefined)?.inputs === "function");
    if (users.length === 0) {
      // The requested instances first: the ones the user is looking at.
      const asked = new Set(o.requested.map((r) => r.id));
      const keyed = needed.filter((t) => keyFor(t, p, name) !== undefined).sort((a, b) => Number(asked.has(b.id)) - Number(asked.has(a.id)));
      if (keyed.length === 0 && unused) {
        notes.push({ text: () => `${set} changes nothing: ${nowhere(p, name)}` });
        continue;
      }
      // A target reading it made instances with its value under another key's name (`inputs:
      // ({ which }) => [raw({ src: which })]`): the value chose what `pipe build raw` holds.
      if (keyed.length === 0 && !unused && readers().length > 0 && needed.some((t) => t.key !== undefined && Object.values(t.key).some((v) => formatValue(v) === text))) continue;
      if (keyed.length === 0) {
        const elsewhere = [...o.spec.decls].filter(([, d]) => Object.values((d.options as { params?: object }).params ?? {}).includes(p)).map(([n]) => JSON.stringify(n));
        const by = elsewhere.length ? ` (${elsewhere.slice(0, 3).join(", ")}${elsewhere.length > 3 ? ` and ${elsewhere.length - 3} more` : ""} ${elsewhere.length === 1 ? "uses" : "use"} it)` : "";
        notes.push({ text: () => `${set} changes nothing: no target in this build uses param ${JSON.stringify(name)}${by}` });
        continue;
      }
      // A target that reads the param may have made these instances with its value (an inputs
      // function: `inputs: ({ window }) => [smooth({ attribute, window })]`): then the value chose
      // what this build holds, and "changes nothing" would be false.
      const chose = keyed.some((t) => formatValue(t.key![keyFor(t, p, name)!]) === text) && readers().length > 0;
      if (chose) continue;
      const request = o.requested.find((r) => keyed.some((t) => t.id === r.id) && !Object.hasOwn(r.given, keyFor(o.targets.get(r.id), p, name)!));
      if (request) meant.set(request, { ...meant.get(request), [keyFor(o.targets.get(request.id), p, name)!]: text });
      const k = keyFor(keyed[0], p, name)!;
      const who = keyed.length === 1 ? JSON.stringify(keyed[0].id) : `${JSON.stringify(keyed[0].id)} and ${keyed.length - 1} more`;
      notes.push({ request, text: (ex) => `${set} changes nothing: no target in this build uses param ${JSON.stringify(name)}; ${who} ${keyed.length === 1 ? "has" : "have"} ${k} as a key, which params do not set${ex ? `; name it in the target: ${ex}` : ""}` });
      continue;
    }
    // Used in the build, but a requested instance left this key out: it got the key's default.
    for (const r of o.requested) {
      const t = o.targets.get(r.id);
      const k = keyFor(t, p, name);
      if (k === undefined || Object.hasOwn(r.given, k) || formatValue(t!.key![k]) === text) continue;
      meant.set(r, { ...meant.get(r), [k]: text });
      notes.push({ request: r, text: (ex) => `${set} does not reach ${JSON.stringify(r.id)}: ${k} is a key of it, which params do not set (it took the key's default, ${formatValue(t!.key![k])})${ex ? `; name it in the target: ${ex}` : ""}` });
    }
  }
  for (const n of notes) warnings.push(n.text(n.request ? example(n.request, meant.get(n.request) ?? {}) : undefined));
  return warnings;
}
