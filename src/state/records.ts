/**
 * The record store: what each successful run left, keyed by fingerprint. Immutable records in
 * an append-only journal.
 *
 * Format (`.pipe/records.jsonl`):
 *   line 1:  {"format":"pipe-records","version":2}
 *   then:    <record JSON>\t<32 hex: HMAC-SHA256 of the JSON with the machine key>\n
 * Appends are single write(2) calls under the project lock, so a crash leaves at most a torn
 * last line; a line whose HMAC does not verify (torn, bit-flipped, written on another machine or
 * by someone else: reliability.md G5) is ignored with a warning and only its target rebuilds. A journal of a newer version is refused, never
 * rewritten. Compaction (rewrite to temp + fsync + rename) drops records beyond the newest
 * KEEP_PER_TARGET of each target.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { createHmac } from "node:crypto";
import { machineKey } from "./machine-key.ts";
import { UserError } from "../util/errors.ts";
import { quarantine } from "./quarantine.ts";
import { crashPoint } from "../util/crash-point.ts";
import { endsWithNewline, readText } from "../util/read-text.ts";

export const RECORDS_VERSION = 2;
const HEADER = JSON.stringify({ format: "pipe-records", version: RECORDS_VERSION });
export const KEEP_PER_TARGET = 32;

/** Which records a compaction keeps: by target, fingerprint, and place (0: the target's newest). */
export type Keep = (target: string, fingerprint: string, fromNewest: number) => boolean;

export interface OutputRecord {
  path: string;
  kind: "file" | "dir";
  hash: string;
  /** File mode bits (files only), restored with the bytes. */
  mode?: number;
}

export interface BuildRecord {
  target: string;
  fingerprint: string;
  outputs: OutputRecord[];
  /** The parts of the fingerprint, for `pipe why` (value-level differences). */
  parts: FingerprintParts;
  durationMs: number;
  /** Epoch ms when the run finished. */
  time: number;
}

/** Everything that went into a fingerprint, by component. */
export interface FingerprintParts {
  format: number;
  /**
   * The target's id (format 2 on): a recipe may write it into its outputs (ctx.id), so a renamed
   * target is a new one. Absent in older records.
   */
  target?: string;
  code: string;
  /** Local modules the recipe code hash covered (project-relative), for messages. */
  codeFiles: string[];
  /** Each code file's share of `code` (descriptive, like codeFiles; absent in older records). */
  codeHashes?: Record<string, string>;
  /** Packages (name@version) the recipe code uses. */
  packages: string[];
  /**
   * Hash of the recipe command after interpolation (declared output paths), for recipes that
   * only build a `sh` command (plan/command.ts); absent otherwise and in older records.
   */
  command?: string;
  params: Record<string, unknown>;
  /**
   * The command-line name of each param whose key in `params` (its name in the recipe's
   * ctx.params) differs, for messages (descriptive, like codeFiles; absent when none differ).
   */
  paramNames?: Record<string, string>;
  /** [path, content hash] for every input file (target inputs: their outputs). */
  inputs: [string, string][];
  /** Declared env vars: name -> keyed hash of the value ("" when unset). */
  env: Record<string, string>;
  outputs: string[];
}

const sum = (json: string) => createHmac("sha256", machineKey(process.env, keyDir).key).update(json).digest("hex").slice(0, 32);
/** The state folder whose fallback key applies (set when a store is loaded; one project per process). */
let keyDir: string | undefined;

/** The fields read without parsing a line: records are written with these keys first. */
const PREFIX = /^\{"target":("(?:[^"\\]|\\.)*"),"fingerprint":"([0-9a-f]+)","durationMs":(\d+)/;
/** A line's finish time, which serialize writes right after the prefix. */
const TIME = /^\{"target":"(?:[^"\\]|\\.)*","fingerprint":"[0-9a-f]+","durationMs":\d+,"time":(\d+)/;

interface Entry {
  line: string;
  target: string;
  fingerprint: string;
  durationMs: number;
  /** Parsed and checksum-verified record; null when the line turned out damaged. */
  record?: BuildRecord | null;
}

/**
 * Loading indexes each line by its prefix (target, fingerprint, duration) and parses and
 * verifies a record only when it is asked for: a 10,000-target no-op reads 10,000 of the
 * journal's records, not all of them, and keeps the rest as strings.
 */
export class RecordStore {
  readonly #path: string;
  readonly #byTarget = new Map<string, Entry[]>();
  #lines = 0;
  #bad = 0;
  /** A line turned out damaged when it was read (lazily, after loading). */
  #sawBad = false;
  /** Output path -> "kind:hash" of every record (built by madeAt when first needed). */
  #byPath: Map<string, Set<string>> | undefined;
  /** Lines that did not verify at load (not indexed). */
  #unindexed = 0;
  /** A line did not verify, or the header is an older format: rewrite the journal on close. */
  #rewrite = false;
  #fd: number | undefined;
  readonly warnings: string[] = [];
  /** Receives warnings found after loading (a damaged record is noticed when first read). */
  onWarning: ((message: string) => void) | undefined;

  readonly #readOnly: boolean;

  private constructor(path: string, readOnly: boolean) {
    this.#path = path;
    this.#readOnly = readOnly;
  }

  /** Loads the journal. Never throws on corrupt bytes; refuses a newer format. */
  static load(stateDir: string, options: { readOnly: boolean }): RecordStore {
    const store = new RecordStore(join(stateDir, "records.jsonl"), options.readOnly);
    keyDir = stateDir;
    const key = machineKey(process.env, stateDir, { writeState: !options.readOnly });
    if (key.problem) store.warnings.push(key.problem);
    store.#read();
    return store;
  }

  #read(): void {
    let text: string;
    try {
      text = readText(this.#path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      if ((e as NodeJS.ErrnoException).code === "EISDIR") {
        this.warnings.push(quarantine(this.#path, "is a directory", !this.#readOnly));
        return;
      }
      if ((e as NodeJS.ErrnoException).code === "ENOTDIR") throw new UserError({ message: `.pipe/ (${dirname(this.#path)}) is not a folder: pipe keeps its records and cache there`, hint: "move it aside (mv .pipe .pipe.old) and build again" });
      throw new UserError({ message: `cannot read ${this.#path}: ${(e as Error).message}`, hint: "check the permissions of .pipe/" });
    }
    const firstEnd = text.indexOf("\n");
    const first = firstEnd < 0 ? text : text.slice(0, firstEnd);
    let header: { format?: string; version?: number } | undefined;
    try {
      header = JSON.parse(first);
    } catch {
      header = undefined;
    }
    if (header?.format !== "pipe-records") {
      if (text.length) this.warnings.push(quarantine(this.#path, "has no valid header", !this.#readOnly));
      return;
    }
    if ((header.version ?? 0) < RECORDS_VERSION) this.#rewrite = true;
    if ((header.version ?? 0) > RECORDS_VERSION) {
      throw new UserError({
        message: `.pipe/records.jsonl was written by a newer pipe (format v${header.version}; this pipe reads v${RECORDS_VERSION}); refusing to touch it`,
        hint: "upgrade pipe, or move .pipe/ aside to start over (outputs are kept; everything will be re-checked)",
      });
    }
    let pos = firstEnd + 1;
    // A journal whose first record does not verify was most likely made with another machine's
    // key (copied, committed, crafted): check every line now, and say so once.
    let eager = false;
    {
      const nl = text.indexOf("\n", pos);
      if (nl > pos && verify(text.slice(pos, nl)) === null) eager = true;
    }
    while (pos > 0 && pos < text.length) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0) break; // torn tail: a crash or a concurrent append
      const line = text.slice(pos, nl);
      pos = nl + 1;
      if (line === "") continue;
      const m = eager ? null : PREFIX.exec(line);
      if (m) {
        try {
          this.#index({ line, target: JSON.parse(m[1]) as string, fingerprint: m[2], durationMs: Number(m[3]) });
          this.#lines++;
          continue;
        } catch {
          // fall through to the full parse
        }
      }
      const r = verify(line);
      if (r) {
        this.#index({ line, target: r.target, fingerprint: r.fingerprint, durationMs: r.durationMs, record: r });
        this.#lines++;
      } else {
        this.#bad++;
        this.#unindexed++;
      }
    }
    this.#warnBad();
  }

  #warnBad(): void {
    if (this.#bad) {
      this.#rewrite = true;
      const message = `ignored ${this.#bad} line${this.#bad > 1 ? "s" : ""} of ${this.#path} that did not verify (a torn write, corruption, or records not made on this machine: their HMAC does not match this machine's key); the targets they recorded will rebuild`;
      if (this.onWarning) this.onWarning(message);
      else this.warnings.push(message);
    }
    this.#bad = 0;
  }

  #index(e: Entry): void {
    const list = this.#byTarget.get(e.target) ?? [];
    list.push(e);
    this.#byTarget.set(e.target, list);
  }

  #record(e: Entry | undefined): BuildRecord | undefined {
    if (!e) return undefined;
    if (e.record === undefined) {
      e.record = verify(e.line);
      if (e.record && (e.record.fingerprint !== e.fingerprint || e.record.target !== e.target)) e.record = null;
      if (e.record === null) {
        this.#bad++;
        this.#sawBad = true;
        this.#warnBad();
      }
    }
    return e.record ?? undefined;
  }

  /**
   * The record of `target` with this fingerprint (its newest line), if intact. Looked up among
   * the target's own lines: a map of every fingerprint cost each load of a 10,000-target journal.
   */
  ofTarget(target: string, fingerprint: string): BuildRecord | undefined {
    const list = this.#byTarget.get(target);
    if (list) for (let i = list.length - 1; i >= 0; i--) if (list[i].fingerprint === fingerprint) return this.#record(list[i]);
    return undefined;
  }

  /** The record with this fingerprint, whatever its target (fingerprints name their target). */
  get(fingerprint: string): BuildRecord | undefined {
    for (const target of this.#byTarget.keys()) {
      const r = this.ofTarget(target, fingerprint);
      if (r) return r;
    }
    return undefined;
  }

  /** The newest intact record of a target, if any. */
  latest(target: string): BuildRecord | undefined {
    const list = this.#byTarget.get(target) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const r = this.#record(list[i]);
      if (r) return r;
    }
    return undefined;
  }

  /** A target's intact records, newest first (`pipe history`). */
  /**
   * The newest intact record of `target` that `match` accepts. Records are verified one at a
   * time, newest first: the usual answer (the newest) costs one.
   */
  find(target: string, match: (r: BuildRecord) => boolean): BuildRecord | undefined {
    const list = this.#byTarget.get(target) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const r = this.#record(list[i]);
      if (r && match(r)) return r;
    }
    return undefined;
  }

  /**
   * Whether a run published these bytes at this path: a record of `target` names them (read
   * newest first), else a record of any target does (a renamed target, an instance whose key
   * gained a default, an output moved to another target: the path is the same, the id is not).
   * The second look reads every record once per process, and only when the first finds nothing
   * (an edit, usually). When some lines did not verify (records of another machine key), pipe's
   * history is unknown: `cached` (are the bytes in the cache?) vouches then, as it did before
   * records were asked.
   */
  madeAt(target: string, o: { path: string; kind: string; hash: string }, cached: () => boolean): boolean {
    const match = (r: BuildRecord) => r.outputs.some((x) => x.path === o.path && x.kind === o.kind && x.hash === o.hash);
    if (this.find(target, match)) return true;
    if (!this.#byPath) {
      this.#byPath = new Map();
      for (const list of this.#byTarget.values()) for (const e of list) this.#notePaths(this.#record(e));
    }
    if (this.#byPath.get(o.path)?.has(`${o.kind}:${o.hash}`)) return true;
    return (this.#unindexed > 0 || this.#sawBad) && cached();
  }

  /** Adds a record's outputs to #byPath (once madeAt built it). */
  #notePaths(r: BuildRecord | undefined): void {
    if (!this.#byPath || !r) return;
    for (const x of r.outputs) {
      let set = this.#byPath.get(x.path);
      if (!set) this.#byPath.set(x.path, (set = new Set()));
      set.add(`${x.kind}:${x.hash}`);
    }
  }

  history(target: string): BuildRecord[] {
    const out: BuildRecord[] = [];
    const list = this.#byTarget.get(target) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const r = this.#record(list[i]);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * The newest `n` intact records across targets, by when they finished. Only the lines looked at
   * are verified (their time is read from the line's prefix to order them; a forged time only
   * moves a line that then fails its HMAC).
   */
  newest(n: number): BuildRecord[] {
    const all: { e: Entry; time: number }[] = [];
    for (const list of this.#byTarget.values()) {
      for (const e of list) {
        const m = TIME.exec(e.line);
        all.push({ e, time: m ? Number(m[1]) : 0 });
      }
    }
    all.sort((a, b) => b.time - a.time);
    const out: BuildRecord[] = [];
    for (const { e } of all) {
      if (out.length >= n) break;
      const r = this.#record(e);
      if (r) out.push(r);
    }
    return out;
  }

  /** Ids of the targets with at least one record line (intact or not), in first-recorded order. */
  targets(): string[] {
    return [...this.#byTarget.keys()];
  }

  /** Recorded durations of a target's runs (oldest first), without parsing the records. */
  durations(target: string): number[] {
    return (this.#byTarget.get(target) ?? []).map((e) => e.durationMs);
  }

  /** Every record, each verified now (`pipe status --verify`), and how many lines did not verify. */
  verifyAll(): { records: BuildRecord[]; bad: number } {
    const records: BuildRecord[] = [];
    let bad = 0;
    for (const list of this.#byTarget.values()) {
      for (const e of list) {
        const r = verify(e.line);
        if (r && r.fingerprint === e.fingerprint && r.target === e.target) records.push(r);
        else bad++;
      }
    }
    return { records, bad: bad + this.#unindexed };
  }

  /** Appends a record (one write(2) call). Durable against process crashes at once. */
  append(r: BuildRecord): void {
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.#path), { recursive: true });
      if (this.#readOnly) throw new Error("internal error: append to a read-only record store; this is a bug");
      this.#fd = openSync(this.#path, "a", 0o600);
      // Empty also counts as new: a pipe killed between creating the journal and writing its
      // header left one, and records appended without it were all set aside a build later.
      if (fstatSync(this.#fd).size === 0) writeSync(this.#fd, HEADER + "\n");
      else if (!endsWithNewline(this.#path)) writeSync(this.#fd, "\n"); // seal a torn tail
    }
    const line = serialize(r);
    writeSync(this.#fd, line + "\n");
    this.#index({ line, target: r.target, fingerprint: r.fingerprint, durationMs: r.durationMs, record: r });
    this.#notePaths(r);
    this.#lines++;
  }

  /** Flushes to disk and, when the journal has grown well past what is kept, compacts it. */
  close(): void {
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    let keep = 0;
    for (const list of this.#byTarget.values()) keep += Math.min(list.length, KEEP_PER_TARGET);
    // A compaction killed before its rename left its temp (reliability.md A5). The journal stayed
    // whole, but what started that compaction may not show again: a damaged line is noticed only
    // when it is read, and a newer record of its fingerprint may hide it now. So it is redone,
    // reading every line it keeps; before, the damage stayed (`status --verify` failed) and so
    // did the temp, a copy of the journal.
    const interrupted = !this.#readOnly && existsSync(this.#compactTemp);
    // Lines that do not verify are dropped once they have been reported, so an upgraded or
    // copied journal warns once, not on every build.
    if (interrupted || this.#lines > 2 * keep + 1000 || (this.#rewrite && !this.#readOnly && existsSync(this.#path))) this.#compact(interrupted);
  }

  /** The compacted journal while it is written (one name: only the lock holder compacts). */
  get #compactTemp(): string {
    return `${this.#path}.compact.tmp`;
  }

  /**
   * Forgets every record `keep` refuses (`pipe gc --keep-runs`): `fromNewest` is 0 for a
   * target's newest line. The journal is compacted at once, every line kept verified first.
   */
  retain(keep: Keep): void {
    if (this.#readOnly) throw new Error("internal error: compaction of a read-only record store; this is a bug");
    if (!existsSync(this.#path)) return;
    this.#compact(true, keep);
    for (const [target, list] of this.#byTarget) this.#byTarget.set(target, list.filter((e, i) => keep(target, e.fingerprint, list.length - 1 - i)));
  }

  /** Rewrites the journal with the records `keep` wants (by default each target's newest KEEP_PER_TARGET); `readAll` verifies every line kept first. */
  #compact(readAll = false, keep: Keep = (_t, _f, fromNewest) => fromNewest < KEEP_PER_TARGET): void {
    const out: string[] = [HEADER];
    for (const [target, list] of this.#byTarget) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (!keep(target, e.fingerprint, list.length - 1 - i)) continue;
        if (readAll) this.#record(e);
        if (e.record !== null) out.push(e.line);
      }
    }
    const tmp = this.#compactTemp;
    const fd = openSync(tmp, "w", 0o600);
    writeSync(fd, out.join("\n") + "\n");
    fsyncSync(fd);
    closeSync(fd);
    crashPoint("compact-rename");
    renameSync(tmp, this.#path);
    fsyncDir(dirname(this.#path));
    this.#lines = out.length - 1;
    this.#rewrite = false;
  }
}

/** One journal line: the record (prefix keys first) and its checksum. */
function serialize(r: BuildRecord): string {
  const ordered: BuildRecord = { target: r.target, fingerprint: r.fingerprint, durationMs: r.durationMs, time: r.time, outputs: r.outputs, parts: r.parts };
  const json = JSON.stringify(ordered);
  return `${json}\t${sum(json)}`;
}

/** Parses a line whose checksum matches; undefined for a damaged line. */
function verify(line: string): BuildRecord | null {
  const tab = line.lastIndexOf("\t");
  if (tab < 0) return null;
  const json = line.slice(0, tab);
  if (sum(json) !== line.slice(tab + 1)) return null;
  try {
    return JSON.parse(json) as BuildRecord;
  } catch {
    return null;
  }
}

/**
 * Refuses a journal written by a newer pipe before anything else touches `.pipe/` (taking the
 * lock writes there). Reads only the first line.
 */
export function assertRecordsVersion(stateDir: string): void {
  let head = "";
  try {
    const fd = openSync(join(stateDir, "records.jsonl"), "r");
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, readSync(fd, buf, 0, 256, 0)).toString("utf8").split("\n")[0];
    } finally {
      closeSync(fd);
    }
  } catch {
    return;
  }
  let version = 0;
  try {
    const h = JSON.parse(head) as { format?: string; version?: number };
    if (h.format === "pipe-records") version = h.version ?? 0;
  } catch {
    return;
  }
  if (version > RECORDS_VERSION) {
    throw new UserError({
      message: `.pipe/records.jsonl was written by a newer pipe (format v${version}; this pipe reads v${RECORDS_VERSION}); refusing to touch it`,
      hint: "upgrade pipe, or move .pipe/ aside to start over (outputs are kept; everything will be re-checked)",
    });
  }
}


export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}
