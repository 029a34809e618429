/**
 * The record store: what each successful run left, keyed by fingerprint. Immutable records in
 * an append-only journal.
 *
 * Format (`.pipe/records.jsonl`):
 *   line 1:  {"format":"pipe-records","version":1}
 *   then:    <record JSON>\t<16 hex: XXH64-based checksum of the JSON>\n
 * Appends are single write(2) calls under the project lock, so a crash leaves at most a torn
 * last line; a line whose checksum does not match (torn or bit-flipped) is ignored with a
 * warning and only its target rebuilds. A journal of a newer version is refused, never
 * rewritten. Compaction (rewrite to temp + fsync + rename) drops records beyond the newest
 * KEEP_PER_TARGET of each target.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { hashString } from "../hash/xxh.ts";
import { UserError } from "../util/errors.ts";
import { quarantine } from "./quarantine.ts";

export const RECORDS_VERSION = 1;
const HEADER = JSON.stringify({ format: "pipe-records", version: RECORDS_VERSION });
const KEEP_PER_TARGET = 32;

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
  code: string;
  /** Local modules the recipe code hash covered (project-relative), for messages. */
  codeFiles: string[];
  /** Packages (name@version) the recipe code uses. */
  packages: string[];
  /** The recipe command after interpolation, for shell recipes when known. */
  params: Record<string, unknown>;
  /** [path, content hash] for every input file (target inputs: their outputs). */
  inputs: [string, string][];
  /** Declared env vars: name -> keyed hash of the value ("" when unset). */
  env: Record<string, string>;
  outputs: string[];
}

const sum = (json: string) => hashString(json).slice(0, 16);

export class RecordStore {
  readonly #path: string;
  readonly #byFingerprint = new Map<string, BuildRecord>();
  readonly #byTarget = new Map<string, BuildRecord[]>();
  #lines = 0;
  #fd: number | undefined;
  readonly warnings: string[] = [];

  readonly #readOnly: boolean;

  private constructor(path: string, readOnly: boolean) {
    this.#path = path;
    this.#readOnly = readOnly;
  }

  /** Loads the journal. Never throws on corrupt bytes; refuses a newer format. */
  static load(stateDir: string, options: { readOnly: boolean }): RecordStore {
    const store = new RecordStore(join(stateDir, "records.jsonl"), options.readOnly);
    store.#read();
    return store;
  }

  #read(): void {
    let text: string;
    try {
      text = readFileSync(this.#path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      if ((e as NodeJS.ErrnoException).code === "EISDIR") {
        this.warnings.push(quarantine(this.#path, "is a directory", !this.#readOnly));
        return;
      }
      throw new UserError({ message: `cannot read ${this.#path}: ${(e as Error).message}`, hint: "check the permissions of .pipe/" });
    }
    const lines = text.split("\n");
    const first = lines[0];
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
    if ((header.version ?? 0) > RECORDS_VERSION) {
      throw new UserError({
        message: `.pipe/records.jsonl was written by a newer pipe (format v${header.version}; this pipe reads v${RECORDS_VERSION}); refusing to touch it`,
        hint: "upgrade pipe, or move .pipe/ aside to start over (outputs are kept; everything will be re-checked)",
      });
    }
    let bad = 0;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (line === "") continue;
      const tab = line.lastIndexOf("\t");
      if (i === lines.length - 1 && !text.endsWith("\n")) continue; // torn tail: a crash or a concurrent append
      if (tab < 0) {
        bad++;
        continue;
      }
      const json = line.slice(0, tab);
      if (sum(json) !== line.slice(tab + 1)) {
        bad++;
        continue;
      }
      try {
        this.#add(JSON.parse(json) as BuildRecord);
        this.#lines++;
      } catch {
        bad++;
      }
    }
    if (bad) this.warnings.push(`ignored ${bad} damaged line${bad > 1 ? "s" : ""} of ${this.#path} (a torn write or corruption); the targets they recorded will rebuild`);
  }

  #add(r: BuildRecord): void {
    this.#byFingerprint.set(r.fingerprint, r);
    const list = this.#byTarget.get(r.target) ?? [];
    list.push(r);
    this.#byTarget.set(r.target, list);
  }

  get(fingerprint: string): BuildRecord | undefined {
    return this.#byFingerprint.get(fingerprint);
  }

  /** The newest record of a target, if any. */
  latest(target: string): BuildRecord | undefined {
    const list = this.#byTarget.get(target);
    return list?.[list.length - 1];
  }

  /** Recorded durations of a target's runs (oldest first). */
  durations(target: string): number[] {
    return (this.#byTarget.get(target) ?? []).map((r) => r.durationMs);
  }

  get size(): number {
    return this.#byFingerprint.size;
  }

  /** Appends a record (one write(2) call). Durable against process crashes at once. */
  append(r: BuildRecord): void {
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.#path), { recursive: true });
      if (this.#readOnly) throw new Error("internal error: append to a read-only record store; this is a bug");
      const fresh = !existsSync(this.#path);
      this.#fd = openSync(this.#path, "a", 0o600);
      if (fresh) writeSync(this.#fd, HEADER + "\n");
      else if (!endsWithNewline(this.#path)) writeSync(this.#fd, "\n"); // seal a torn tail
    }
    const json = JSON.stringify(r);
    writeSync(this.#fd, `${json}\t${sum(json)}\n`);
    this.#add(r);
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
    if (this.#lines > 2 * keep + 1000) this.#compact();
  }

  #compact(): void {
    const out: string[] = [HEADER];
    for (const list of this.#byTarget.values()) {
      const kept = list.slice(-KEEP_PER_TARGET);
      for (const r of kept) {
        const json = JSON.stringify(r);
        out.push(`${json}\t${sum(json)}`);
      }
    }
    const tmp = `${this.#path}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    writeSync(fd, out.join("\n") + "\n");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.#path);
    fsyncDir(dirname(this.#path));
    this.#lines = out.length - 1;
  }
}

function endsWithNewline(path: string): boolean {
  const text = readFileSync(path);
  return text.length === 0 || text[text.length - 1] === 10;
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
