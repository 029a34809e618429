/**
 * Families' output templates, read backwards: an input path that no target declares may be a
 * file a family's template makes (`build/raw/{country}.csv` makes `build/raw/de.csv`), as
 * Snakemake matches a rule's output patterns. build.ts indexes the templates once and asks
 * for the instances a path names. Pure: normalising a path is passed in.
 */
import type { Family } from "../api/target.ts";
import { isParam, type Param } from "../api/params.ts";
import { defaultValue, formatValue, isProblem, parseParamText, type ParamValue } from "./param-values.ts";

const PLACEHOLDER = /\{([A-Za-z_$][\w$]*)\}/g;

/**
 * A path template with its `{key}` placeholders filled (lists as a,b). Other names are left
 * as they are: load.ts reported them (placeholders of a family may name only its keys).
 */
export function fillKey(s: string, key: Record<string, ParamValue> | undefined): string {
  if (!key || !s.includes("{")) return s;
  return s.replace(PLACEHOLDER, (m, k: string) => (Object.hasOwn(key, k) ? formatValue(key[k]) : m));
}

/** One string output of a family that names at least one of its keys. */
export interface OutputTemplate {
  /** The family's name (its instances' ids start with it). */
  name: string;
  family: Family;
  /** As declared: `build/raw/{country}.csv`. */
  text: string;
  /** The normalised template as a pattern: each key's first placeholder is a lazy group, a repeat must be the same text. */
  pattern: RegExp;
  /** The group of each key the template names. */
  groups: Map<string, number>;
  /** Literal text before the first and after the last placeholder: most paths are turned away by these. */
  head: string;
  tail: string;
}

/** An instance whose outputs would hold the path, and the template that said so. */
export interface TemplateMatch {
  template: OutputTemplate;
  key: Record<string, ParamValue>;
}

/**
 * The templates of `families` (name -> family) that can be matched: string outputs, in list or
 * named form, naming a key. An outputs function cannot be read backwards, nor can a directory
 * output (a file input is matched against file outputs only). `normalize` makes a declared path
 * project-relative as outputs are (undefined: not inside the project).
 */
export function outputTemplates(families: Iterable<readonly [string, Family]>, normalize: (p: string) => string | undefined): OutputTemplate[] {
  const out: OutputTemplate[] = [];
  for (const [name, family] of families) {
    const outs = family.options.outputs as unknown;
    if (typeof outs === "function" || outs === null || typeof outs !== "object") continue;
    const keys = Object.keys((family.options.key as object | undefined) ?? {});
    for (const text of Object.values(outs as Record<string, unknown>)) {
      if (typeof text !== "string" || text.endsWith("/") || !text.includes("{")) continue;
      const t = template(name, family, text, keys, normalize);
      if (t) out.push(t);
    }
  }
  return out;
}

function template(name: string, family: Family, text: string, keys: string[], normalize: (p: string) => string | undefined): OutputTemplate | undefined {
  const norm = normalize(text);
  if (norm === undefined) return undefined;
  const groups = new Map<string, number>();
  let source = "^";
  let last = 0;
  let head: string | undefined;
  for (const m of norm.matchAll(PLACEHOLDER)) {
    if (!keys.includes(m[1])) continue; // not a placeholder (load.ts reported it)
    const literal = norm.slice(last, m.index);
    head ??= literal;
    source += escape(literal);
    const seen = groups.get(m[1]);
    if (seen === undefined) {
      groups.set(m[1], groups.size + 1);
      source += "([\\s\\S]*?)";
    } else source += `\\${seen}`;
    last = m.index! + m[0].length;
  }
  if (head === undefined) return undefined;
  const tail = norm.slice(last);
  return { name, family, text, pattern: new RegExp(source + escape(tail) + "$"), groups, head, tail };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The instances whose templates make `path` (project-relative, normalised). A match's values
 * parse and check as the family's keys (keys the template does not name take their defaults; a
 * required one means no match), and the template filled with them renders `path` again: a
 * value the family would write differently (`007` for an int key, which renders `7`) is no match.
 */
export function matchOutputTemplates(templates: readonly OutputTemplate[], path: string, today: string, normalize: (p: string) => string | undefined): TemplateMatch[] {
  const found: TemplateMatch[] = [];
  // No file can have such a path (PATH_MAX, NAME_MAX): a chain of templates that lengthens a
  // key each step ends here, with the path reported missing, instead of growing ids without end.
  if (path.length > 4096 || path.split("/").some((part) => part.length > 255)) return found;
  for (const t of templates) {
    if (path.length < t.head.length + t.tail.length || !path.startsWith(t.head) || !path.endsWith(t.tail)) continue;
    const m = t.pattern.exec(path);
    if (!m) continue;
    const key: Record<string, ParamValue> = {};
    let ok = true;
    for (const [k, p] of Object.entries(t.family.options.key as Record<string, Param>)) {
      const group = t.groups.get(k);
      const v = !isParam(p) ? { problem: "not a param" } : group === undefined ? defaultValue(p, today) : parseParamText(p, m[group], today);
      if (isProblem(v)) {
        ok = false;
        break;
      }
      key[k] = v;
    }
    if (ok && normalize(fillKey(t.text, key)) === path) found.push({ template: t, key });
  }
  return found;
}
