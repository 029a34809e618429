/**
 * Fingerprints and decisions (design.md "Deciding what to do with a target").
 *
 *   fingerprint = hash(format, target id, recipe code hash, params the target uses, (path,
 *                      content hash) of every input, declared env (keyed hashes), declared
 *                      output paths)
 *
 * `decide` is pure: given the fingerprint, the record store and the outputs on disk it answers
 * up to date / restorable / stale, with reasons. `explain` compares the parts with a record of
 * the target (the one whose outputs are on disk, else the newest), value by value, for `pipe why`
 * and for the reason a target runs.
 */
import { createHmac } from "node:crypto";
import type { GraphTarget } from "../graph/graph.ts";
import { formatValue } from "../graph/param-values.ts";
import type { BuildRecord, FingerprintParts, OutputRecord } from "../state/records.ts";
import { hashString } from "../hash/xxh.ts";
import { stableStringify } from "../util/stable-json.ts";
import type { CodeHash } from "../load/code-hash.ts";
import { nameSome, summarizeReasons } from "./reasons.ts";

/**
 * 2: the target's id counts (a TypeScript recipe can write ctx.id into its outputs; a review
 * renamed a target and its output kept the old name, up to date). Records of format 1 match no
 * fingerprint: each target runs once more, explained as "record format 1 -> 2".
 */
export const FINGERPRINT_FORMAT = 2;

/** The current hash of each output on disk (undefined = missing). */
export type OutputState = Map<string, { kind: "file" | "dir"; hash: string } | undefined>;

export type Decision =
  | { kind: "up-to-date"; record: BuildRecord }
  | { kind: "restorable"; record: BuildRecord; reasons: string[]; edited: string[] }
  | {
      kind: "stale";
      reasons: string[];
      /** The target's record whose outputs were on disk when it was decided, when it was looked up. */
      onDisk?: BuildRecord;
    };

/** The env part: names with keyed hashes of their values, so secrets never reach the store. */
export function envParts(names: string[], env: NodeJS.ProcessEnv, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = env[n];
    out[n] = v === undefined ? "" : createHmac("sha256", key).update(v).digest("hex").slice(0, 32);
  }
  return out;
}

export function fingerprintParts(t: GraphTarget, code: CodeHash, inputs: [string, string][], env: Record<string, string>, command?: string): FingerprintParts {
  const params: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const p of t.params) {
    params[p.local] = p.value;
    if (p.cli !== undefined && p.cli !== p.local) names[p.local] = p.cli;
  }
  return {
    format: FINGERPRINT_FORMAT,
    target: t.id,
    code: code.hash,
    codeFiles: code.files,
    codeHashes: code.fileHashes,
    packages: code.packages,
    ...(command === undefined ? {} : { command }),
    params,
    ...(Object.keys(names).length ? { paramNames: names } : {}),
    inputs,
    env,
    outputs: t.outputs.map((o) => (o.dir ? o.path + "/" : o.path)),
  };
}

/**
 * The fingerprint of some parts (codeFiles/codeHashes/packages are descriptive, the code hash
 * covers them; paramNames only name params for messages: renaming a command-line name changes
 * no output).
 */
export function fingerprintOf(parts: FingerprintParts): string {
  const { codeFiles: _f, codeHashes: _h, packages: _p, paramNames: _n, ...rest } = parts;
  return hashString(stableStringify(rest));
}

/** What `decide` weighs, besides the fingerprint's parts. */
export interface DecideInput {
  parts: FingerprintParts;
  /** The record of this fingerprint, if any. */
  record: BuildRecord | undefined;
  /** The current hashes of the target's outputs (needed when there is a record). */
  outputs: OutputState;
  inCache: (o: OutputRecord) => boolean;
  /**
   * The target's record whose outputs are the ones on disk now, if any (asked only when it is
   * needed: to explain a stale target, or whose result a restorable target's outputs hold).
   */
  onDisk: () => BuildRecord | undefined;
  /** The target's newest record (compared with when no record's outputs are on disk). */
  latest: () => BuildRecord | undefined;
  /**
   * Outputs on disk whose bytes pipe never made there (no record of this target names them at
   * that path): asked only for a stale target none of whose records is on disk.
   */
  editedOutputs?: () => string[];
  /** Whether a record of this target names these bytes at this path (pipe made them there). */
  madeHere?: (o: OutputRecord) => boolean;
}

/**
 * Up to date / restorable / stale, with reasons. A stale target is explained against the
 * record whose outputs are on disk (what the user has), else the newest: after switching a
 * param back and forth, the newest record is often not what the outputs came from.
 */
export function decide(d: DecideInput): Decision {
  const { parts, record, outputs, inCache } = d;
  // Asked at most once: it hashes the outputs a record names (and may go through the history).
  let there: { r: BuildRecord | undefined } | undefined;
  const onDisk = (): BuildRecord | undefined => (there ??= { r: d.onDisk() }).r;
  if (!record) {
    const reasons = explain(parts, onDisk() ?? d.latest());
    // Said before a build replaces them (it keeps them first and prints the way back).
    if (!onDisk() && d.latest()) for (const path of d.editedOutputs?.() ?? []) reasons.push(`output ${path} was changed outside pipe (building keeps those bytes first)`);
    const was = onDisk();
    return was ? { kind: "stale", reasons, onDisk: was } : { kind: "stale", reasons };
  }
  const differing: string[] = [];
  const others: string[] = [];
  const edited: string[] = [];
  for (const o of record.outputs) {
    const now = outputs.get(o.path);
    if (!now) differing.push(`output ${o.path} is missing`);
    else if (now.kind !== o.kind || now.hash !== o.hash) {
      // Bytes a run of this target published at this path are another build's result: a
      // different param or input combination. Anything else was changed outside pipe, even
      // bytes the cache holds for another reason (another target's, a kept edit: a review
      // found those let --keep-edited replace an edit without a word).
      const here = { path: o.path, kind: now.kind, hash: now.hash };
      if (d.madeHere ? d.madeHere(here) : onDisk()?.outputs.some((r) => r.path === o.path && r.kind === now.kind && r.hash === now.hash)) others.push(o.path);
      else {
        differing.push(`output ${o.path} differs from the recorded build (edited outside pipe?)`);
        edited.push(o.path);
      }
    }
  }
  if (others.length) {
    // Say which build's result they hold: what differs between it and the one to restore.
    const other = onDisk();
    const what = other && other.fingerprint !== record.fingerprint ? summarizeReasons(explain(parts, other).filter((r) => !r.startsWith("no record"))) : [];
    const outs = others.length === 1 ? `output ${others[0]} holds` : `outputs ${nameSome(others)} hold`;
    differing.unshift(`${outs} another build's result${what.length ? ` (${what.join("; ")})` : ""}`);
  }
  if (differing.length === 0) return { kind: "up-to-date", record };
  if (record.outputs.every(inCache)) return { kind: "restorable", record, reasons: differing, edited };
  return { kind: "stale", reasons: differing.map((r) => `${r}, and its recorded bytes are not in the cache`) };
}

/**
 * The code files whose share of the code hash differs from the record's (added and removed
 * ones too): none when only packages changed; every code file when the record has no shares
 * (older records).
 */
function editedCodeFiles(parts: FingerprintParts, old: FingerprintParts): string[] {
  const now = parts.codeHashes;
  const was = old.codeHashes;
  if (!now || !was) return parts.codeFiles;
  const names = [...new Set([...Object.keys(now), ...Object.keys(was)])].sort();
  return names.filter((f) => (Object.hasOwn(now, f) ? now[f] : undefined) !== (Object.hasOwn(was, f) ? was[f] : undefined));
}

/** Value-level differences between the current parts and a record of the target. */
export function explain(parts: FingerprintParts, latest: BuildRecord | undefined): string[] {
  if (!latest) return ["no record of an earlier run"];
  const old = latest.parts;
  const reasons: string[] = [];
  if (old.format !== parts.format) reasons.push(`record format ${old.format} -> ${parts.format}`);
  if (old.code !== parts.code) {
    const now = parts.packages.filter((p) => !old.packages.includes(p));
    const was = old.packages.filter((p) => !parts.packages.includes(p));
    const edited = editedCodeFiles(parts, old);
    // A package upgraded under unchanged code is the package's doing; an edit that added or
    // dropped an import is the code's (a review found `pipe why` naming only "package
    // node:path@? changed (was absent)" for a recipe edited to use node:path).
    if (edited.length === 0 && (now.length || was.length)) reasons.push(`package ${now.join(", ") || "(none)"} changed (was ${was.join(", ") || "absent"})`);
    else {
      const files = (edited.length ? edited : parts.codeFiles).join(", ") || "the recipe";
      const uses = [now.length ? `now uses ${now.join(", ")}` : "", was.length ? `no longer uses ${was.join(", ")}` : ""].filter(Boolean).join("; ");
      reasons.push(`recipe code ${files} changed${uses ? ` (${uses})` : ""}`);
    }
  }
  const keys = new Set([...Object.keys(old.params), ...Object.keys(parts.params)]);
  for (const k of [...keys].sort()) {
    const a = old.params[k];
    const b = parts.params[k];
    if (stableStringify(a) !== stableStringify(b)) {
      const name = paramName(k, parts, old);
      if (a === undefined) reasons.push(`param ${name} added (${formatValue(b)})`);
      else if (b === undefined) reasons.push(`param ${name} removed (was ${formatValue(a)})`);
      else reasons.push(`param ${name} ${formatValue(a)} -> ${formatValue(b)}`);
    }
  }
  const oldIn = new Map(old.inputs);
  const newIn = new Map(parts.inputs);
  for (const [p, h] of parts.inputs) {
    if (!oldIn.has(p)) reasons.push(`input ${p} added`);
    else if (oldIn.get(p) !== h) reasons.push(`input ${p} changed`);
  }
  for (const [p] of old.inputs) if (!newIn.has(p)) reasons.push(`input ${p} removed`);
  const envKeys = new Set([...Object.keys(old.env), ...Object.keys(parts.env)]);
  // "" is an unset variable (envParts): said as such rather than as a changed value.
  for (const k of [...envKeys].sort()) {
    if (old.env[k] === parts.env[k]) continue;
    reasons.push(old.env[k] === "" ? `env ${k} was unset, now set` : parts.env[k] === "" ? `env ${k} was set, now unset` : `env ${k} changed`);
  }
  if (stableStringify(old.outputs) !== stableStringify(parts.outputs)) reasons.push(`declared outputs changed (${nameSome(old.outputs)} -> ${nameSome(parts.outputs)})`);
  // The command changed and nothing it is built from did: a value its code interpolates that is
  // not written in it (a loop variable, a file or env var read while loading).
  if (reasons.length === 0 && old.command !== parts.command) reasons.push(old.command === undefined ? "recipe command now counts (record from before commands were fingerprinted)" : "recipe command changed (a value it interpolates changed while its code did not: a loop item, a factory's argument, or a file or env var read while loading)");
  if (reasons.length === 0) reasons.push("no record for this combination of inputs, params and code");
  return reasons;
}

/**
 * A param as the user names it: its command-line name (what `-p` takes), with its key in the
 * recipe's ctx.params when that differs (`scale (s in this target)`). A param no longer declared
 * is named as its record names it.
 */
function paramName(key: string, parts: FingerprintParts, old: FingerprintParts): string {
  const names = Object.hasOwn(parts.params, key) ? parts.paramNames : old.paramNames;
  const cli = names && Object.hasOwn(names, key) ? names[key] : undefined;
  return cli === undefined || cli === key ? key : `${cli} (${key} in this target)`;
}
