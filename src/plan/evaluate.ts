/**
 * Evaluates targets against the filesystem and the records: input hashes, fingerprint parts,
 * decision. Shared by `pipe build` (at run time, as dependencies finish) and by the read-only
 * commands (`status`, `why`, `graph`, `--dry-run`), which predict with `predict()`.
 */
import { commandReadsState, plannedCommand } from "./command.ts";
import { isDeclaredOutput, type Graph, type GraphTarget } from "../graph/graph.ts";
import { NOT_REGULAR, type FileHasher } from "../hash/file-hasher.ts";
import type { CodeHasher } from "../load/code-hash.ts";
import type { OutputCache } from "../state/cache.ts";
import type { BuildRecord, FingerprintParts, OutputRecord, RecordStore } from "../state/records.ts";
import { decide, envParts, explain, fingerprintOf, fingerprintParts, type Decision, type OutputState } from "./fingerprint.ts";
import { nameSome, summarizeReasons } from "./reasons.ts";

export interface Evaluation {
  fingerprint: string;
  parts: FingerprintParts;
  decision: Decision;
}

/** An input that cannot be hashed: the target cannot run. */
export interface InputProblem {
  problem: string;
}

export class Evaluator {
  readonly graph: Graph;
  readonly records: RecordStore;
  readonly cache: OutputCache;
  readonly hasher: FileHasher;
  readonly code: CodeHasher;
  readonly #envKey: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(o: { graph: Graph; records: RecordStore; cache: OutputCache; hasher: FileHasher; code: CodeHasher; envKey: string; env: NodeJS.ProcessEnv }) {
    this.graph = o.graph;
    this.records = o.records;
    this.cache = o.cache;
    this.hasher = o.hasher;
    this.code = o.code;
    this.#envKey = o.envKey;
    this.#env = o.env;
  }

  /**
   * Declared outputs whose current bytes no run of the target produced there (no record of it
   * names them): edited by hand or made outside pipe. `--keep-edited` refuses to replace them;
   * a stale target's explanation names them.
   */
  editedOutputs(t: GraphTarget): string[] {
    const out: string[] = [];
    for (const [path, now] of this.outputState(t)) if (now && !this.madeHere(t, { path, kind: now.kind, hash: now.hash })) out.push(path);
    return out;
  }

  /**
   * Whether a run published these bytes at this path (a record names them: of `t`, or of a
   * target that had this path before, renamed or moved): pipe's own result. Bytes the cache
   * holds for another reason (another target's output at its own path, a kept edit) are not.
   */
  madeHere(t: GraphTarget, o: OutputRecord): boolean {
    return this.records.madeAt(t.id, o, () => this.cache.has(o.hash, o.kind));
  }

  /** Current hashes of a target's declared outputs on disk. */
  outputState(t: GraphTarget): OutputState {
    const out: OutputState = new Map();
    for (const o of t.outputs) {
      const h = this.hasher.hashPath(o.path);
      out.set(o.path, h.kind === "file" || h.kind === "dir" ? { kind: h.kind, hash: h.hash } : undefined);
    }
    return out;
  }

  /**
   * (path, hash) of every input file. `produced` gives the hashes of files that dependencies
   * produce (their recorded outputs), which win over the disk: a restorable dependency's
   * output is not on disk yet.
   */
  inputHashes(t: GraphTarget, produced: Map<string, OutputRecord>): [string, string][] | InputProblem {
    const out: [string, string][] = [];
    const seen = new Set<string>();
    const add = (path: string): InputProblem | undefined => {
      if (seen.has(path)) return undefined;
      seen.add(path);
      const p = produced.get(path);
      if (p) {
        out.push([p.kind === "dir" ? path + "/" : path, p.hash]);
        return undefined;
      }
      let h;
      try {
        h = this.hasher.hashPath(path);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        return { problem: err.code === NOT_REGULAR ? `input ${err.message}` : `cannot read input ${path}: ${err.message}` };
      }
      if (h.kind === "missing") return { problem: `input ${JSON.stringify(path)} is missing` };
      if (h.kind === "dangling") return { problem: `input ${JSON.stringify(path)} is a dangling symlink -> ${h.link}` };
      out.push([h.kind === "dir" ? path + "/" : path, h.hash]);
      return undefined;
    };
    for (const g of t.inputs) {
      for (const it of g.items) {
        for (const f of it.files) {
          const problem = add(f);
          if (problem) return problem;
        }
      }
    }
    return out;
  }

  /**
   * The newest record of `t` whose outputs are the ones on disk now (every recorded output has
   * the recorded hash), if any. The newest record is tried first: it usually is the one.
   */
  recordOnDisk(t: GraphTarget, parts?: FingerprintParts): BuildRecord | undefined {
    const latest = this.records.latest(t.id);
    if (!latest) return undefined;
    const seen = new Map<string, string>();
    const onDisk = (o: OutputRecord): boolean => {
      let h = seen.get(o.path);
      if (h === undefined) {
        try {
          const r = this.hasher.hashPath(o.path);
          h = r.kind === "file" || r.kind === "dir" ? `${r.kind}:${r.hash}` : "";
        } catch {
          h = ""; // unreadable: not these bytes
        }
        seen.set(o.path, h);
      }
      return h === `${o.kind}:${o.hash}`;
    };
    const matches = (r: BuildRecord) => r.outputs.length > 0 && r.outputs.every(onDisk);
    if (!parts) return matches(latest) ? latest : this.records.history(t.id).find(matches);
    // Several runs can have made the bytes on disk (a changed env var that changed nothing):
    // the one closest to the current parts is explained against, so that what is named as
    // changed is what changed since those bytes, not since the newest run that made them.
    // The usual case costs no more than before: the newest run made them and differs only
    // in input files (no older run can differ in fewer parts that the user set).
    if (matches(latest) && distance(parts, latest.parts, false) === 0) return latest;
    let best: BuildRecord | undefined;
    let bestDistance = Infinity;
    for (const r of this.records.history(t.id)) {
      if (!matches(r)) continue;
      const d = distance(parts, r.parts);
      if (d < bestDistance) [best, bestDistance] = [r, d];
      if (d === 0) break;
    }
    return best;
  }

  /** The record a target's current parts are explained against: the one on disk, else the newest. */
  baseline(t: GraphTarget): BuildRecord | undefined {
    return this.recordOnDisk(t) ?? this.records.latest(t.id);
  }

  /**
   * What changed in the target itself (code, params, env, which files it reads, the source
   * files it reads) since its last record (the one on disk, else the newest), without the
   * outputs of other targets: for explaining a target below a stale dependency. `restorable`:
   * the only reasons are its outputs (missing, or edited) and the cache holds the recorded ones,
   * so it is restored if its dependencies' outputs come out as recorded (Prediction.ownRestorable).
   */
  explainOwn(t: GraphTarget): { reasons: string[]; restorable: boolean } {
    const onDisk = this.recordOnDisk(t);
    const latest = onDisk ?? this.records.latest(t.id);
    // Never built: it runs whatever its dependencies' outputs turn out to be.
    if (!latest) return { reasons: ["no record of an earlier run"], restorable: false };
    const run = (t.decl.options as { run?: unknown }).run;
    const code = typeof run === "function" ? this.code.hashOf(run, t.name) : { hash: "none", files: [], packages: [] };
    const paths = t.inputs.flatMap((g) => g.items.flatMap((i) => i.files));
    const parts = fingerprintParts(t, code, paths.map((p) => [p, ""]), envParts(t.env, this.#env, this.#envKey), this.#command(t));
    const old = new Set(latest.parts.inputs.map(([p]) => p.replace(/\/$/, "")));
    const now = new Set(paths);
    const reasons = explain(parts, latest).filter((r) => !r.startsWith("input ") && !r.startsWith("no record"));
    // Source files (no target makes them) are hashed: one that changed is a reason of its own,
    // and the target will run whatever its dependency's outputs turn out to be.
    const was = new Map(latest.parts.inputs.map(([p, h]) => [p.replace(/\/$/, ""), h]));
    for (const p of paths) {
      const h = was.get(p);
      if (h === undefined || isDeclaredOutput(this.graph, p)) continue;
      let cur;
      try {
        cur = this.hasher.hashPath(p);
      } catch {
        reasons.push(`cannot read input ${p}`);
        continue;
      }
      if (cur.kind === "missing" || cur.kind === "dangling") reasons.push(`input ${JSON.stringify(p)} is missing`);
      else if (cur.hash !== h) reasons.push(`input ${p} changed`);
    }
    // Its outputs are no run's (missing, or edited by hand): something is restored or run,
    // whatever its dependencies' outputs turn out to be.
    // (A recorded output no longer declared is the "declared outputs changed" above.)
    const others = reasons.length;
    if (!onDisk) {
      let state: OutputState | undefined;
      try {
        state = this.outputState(t);
      } catch {
        state = undefined; // unreadable (not a regular file): as missing
      }
      for (const o of latest.outputs) {
        if (state && !state.has(o.path)) continue;
        const cur = state?.get(o.path);
        if (!cur) reasons.push(`output ${o.path} is missing`);
        else if (cur.kind !== o.kind || cur.hash !== o.hash) reasons.push(`output ${o.path} differs from the recorded build (edited outside pipe?)`);
      }
    }
    const added = paths.filter((p) => !old.has(p));
    const removed = [...old].filter((p) => !now.has(p));
    if (added.length) reasons.push(`now reads ${nameSome(added)}`);
    if (removed.length) reasons.push(`no longer reads ${nameSome(removed)}`);
    // Only output reasons (none before them, none after), and the recorded bytes are cached.
    const restorable = others === 0 && reasons.length > 0 && !added.length && !removed.length && latest.outputs.every((o) => this.cache.has(o.hash, o.kind));
    return { reasons, restorable };
  }

  /**
   * Targets whose sh command read env, files or the clock while it was built (see
   * plan/command.ts): the no-op snapshot must not answer for them without planning.
   */
  readonly commandsReadingState = new Set<string>();

  #command(t: GraphTarget): string | undefined {
    const run = (t.decl.options as { run?: unknown }).run;
    if (commandReadsState(run)) this.commandsReadingState.add(t.id);
    return plannedCommand(this.graph, t, this.#env);
  }

  /** Evaluates one target given its dependencies' outputs. */
  evaluate(t: GraphTarget, produced: Map<string, OutputRecord>): Evaluation | InputProblem {
    const inputs = this.inputHashes(t, produced);
    if ("problem" in inputs) return inputs;
    const run = (t.decl.options as { run?: unknown }).run;
    const code = typeof run === "function" ? this.code.hashOf(run, t.name) : { hash: "none", files: [], packages: [] };
    const parts = fingerprintParts(t, code, inputs, envParts(t.env, this.#env, this.#envKey), this.#command(t));
    const fingerprint = fingerprintOf(parts);
    const record = this.records.ofTarget(t.id, fingerprint);
    const outputs = record ? this.outputState(t) : new Map();
    const decision = decide({ parts, record, outputs, inCache: (o) => this.cache.has(o.hash, o.kind), onDisk: () => this.recordOnDisk(t, parts), latest: () => this.records.latest(t.id), editedOutputs: () => this.editedOutputs(t), madeHere: (o) => this.madeHere(t, o) });
    // One reason per changed input is too many for a target reading hundreds of files.
    if (decision.kind !== "up-to-date") decision.reasons = summarizeReasons(decision.reasons);
    return { fingerprint, parts, decision };
  }
}

export interface Prediction {
  state: "up-to-date" | "restorable" | "stale";
  reasons: string[];
  /**
   * Set when the target is stale because a dependency will rebuild: its reasons of its own (a
   * changed input, param, code...), maybe none (`pipe why` follows the dependencies upstream).
   */
  own?: string[];
  /**
   * Its own reasons are only outputs missing or edited whose recorded bytes the cache holds: it
   * is restored if its dependencies' outputs come out as recorded, else run ("may run").
   */
  ownRestorable?: true;
  evaluation?: Evaluation;
  /** The record whose outputs dependents will see (up to date / restorable). */
  record?: BuildRecord;
}

/**
 * What a build would do, without doing it (read-only). A target below a stale dependency is
 * predicted stale "because its dependency will rebuild": early cutoff may still spare it.
 */
export function predict(ev: Evaluator, ids: string[]): Map<string, Prediction> {
  const out = new Map<string, Prediction>();
  for (const id of ids) {
    const t = ev.graph.targets.get(id)!;
    const staleDeps = t.deps.filter((d) => out.get(d)?.state === "stale");
    if (staleDeps.length) {
      // Named a few at a time: a target over 500 instances had a 35 KB reason.
      const { reasons: own, restorable } = ev.explainOwn(t);
      out.set(id, { state: "stale", reasons: summarizeReasons([...own, ...staleDeps.map((d) => `dependency ${JSON.stringify(d)} will rebuild`)]), own: summarizeReasons(own), ...(restorable ? { ownRestorable: true as const } : {}) });
      continue;
    }
    const produced = new Map<string, OutputRecord>();
    for (const d of t.deps) for (const o of out.get(d)?.record?.outputs ?? []) produced.set(o.path, o);
    const e = ev.evaluate(t, produced);
    if ("problem" in e) {
      out.set(id, { state: "stale", reasons: [e.problem] });
      continue;
    }
    const dec = e.decision;
    if (dec.kind === "up-to-date") out.set(id, { state: "up-to-date", reasons: [], evaluation: e, record: dec.record });
    else if (dec.kind === "restorable") out.set(id, { state: "restorable", reasons: dec.reasons, evaluation: e, record: dec.record });
    else out.set(id, { state: "stale", reasons: dec.reasons, evaluation: e });
  }
  return out;
}

/** How many parts of a fingerprint differ (code, each param, each env var, and each input file unless `withInputs` is false). */
function distance(a: FingerprintParts, b: FingerprintParts, withInputs = true): number {
  let n = a.code === b.code ? 0 : 1;
  const keys = (x: Record<string, unknown>, y: Record<string, unknown>) => new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const k of keys(a.params, b.params)) if (JSON.stringify(a.params[k]) !== JSON.stringify(b.params[k])) n++;
  for (const k of keys(a.env, b.env)) if (a.env[k] !== b.env[k]) n++;
  if (!withInputs) return n;
  const theirs = new Map(b.inputs);
  const mine = new Set<string>();
  for (const [p, h] of a.inputs) {
    mine.add(p);
    if (theirs.get(p) !== h) n++;
  }
  for (const [p] of b.inputs) if (!mine.has(p)) n++;
  return n;
}
