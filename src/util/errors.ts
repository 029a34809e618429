/**
 * User mistakes are values: a `Diagnostic` names the thing, where it was declared and the fix.
 * The CLI prints every diagnostic of a `UserError` at once and exits 2, with no stack trace.
 */
import { relative } from "node:path";

export interface Diagnostic {
  /** What went wrong, in the user's terms, names quoted. */
  message: string;
  /** Where it was declared, when known. */
  location?: { file: string; line: number; column: number };
  /** Extra context lines: a cycle trail, the failing command. */
  details?: string[];
  /** The fix, or "did you mean ...?". */
  hint?: string;
  /**
   * A mistake in the command's request (an unknown target, an unknown param or a bad value
   * given for one), not in the Pipelinefile: `pipe watch` ends on it instead of waiting for an
   * edit to fix it.
   */
  request?: true;
}

/** One or more user mistakes (exit code 2). */
export class UserError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | Diagnostic | string) {
    const list = typeof diagnostics === "string" ? [{ message: diagnostics }] : Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => d.message).join("\n"));
    this.diagnostics = list;
  }
}

/** Renders diagnostics in the style.md shape: error line, location, details, hint. */
export function formatDiagnostics(diags: Diagnostic[], cwd: string, kind = "error"): string {
  // The same problem at the same place (targets declared in a loop without names) is said once,
  // with how many times it occurs.
  const blocks = new Map<string, number>();
  for (const d of diags) {
    const block = formatOne(d, cwd, kind);
    blocks.set(block, (blocks.get(block) ?? 0) + 1);
  }
  return [...blocks].map(([block, n]) => (n === 1 ? block : timesOnFirstLine(block, n))).join("\n");
}

function timesOnFirstLine(block: string, n: number): string {
  const nl = block.indexOf("\n");
  return nl < 0 ? `${block} (${n} times)` : `${block.slice(0, nl)} (${n} times)${block.slice(nl)}`;
}

function formatOne(d: Diagnostic, cwd: string, kind: string): string {
  const lines = [`${kind}: ${d.message}`];
  if (d.location) lines.push(`  at ${relative(cwd, d.location.file) || d.location.file}:${d.location.line}:${d.location.column}`);
  // "declared at /abs/Pipelinefile.ts:6:21" in a detail reads like the location above it.
  for (const x of d.details ?? []) lines.push(`  ${x.replace(/(?<![\w.])(\/[^\s:"']+):(\d+):(\d+)/g, (_, f: string, l: string, c: string) => `${relative(cwd, f) || f}:${l}:${c}`)}`);
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join("\n");
}

/** Error codes of a write the machine refused (not a bug): a full disk, a read-only file system, permissions. */
export const WRITE_REFUSED = new Set(["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM"]);

/** What to do about a write refused with `code` (one of WRITE_REFUSED). */
export function writeRefusedHint(code: string | undefined): string {
  if (code === "ENOSPC" || code === "EDQUOT") return "free some space on that file system (or raise the quota) and run pipe again";
  if (code === "EROFS") return "the file system is read-only: build where it can be written (read-only commands, pipe status, why, graph, work here)";
  return "make it writable for this user (chmod -R u+w .pipe; or run as the user who owns it); read-only commands (pipe status, why, graph) work as it is";
}
