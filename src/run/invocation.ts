/**
 * A recipe invocation is plain data (design.md: serialisable, so another executor, such as a
 * cluster scheduler, can run it elsewhere): which Pipelinefile, which target, and the resolved
 * context values.
 */
export interface Invocation {
  /** file URL of the compiled Pipelinefile to import. */
  entryUrl: string;
  /** Path of the Pipelinefile source (for messages). */
  pipelinefile: string;
  root: string;
  /** Target id and its declaration name (a family's name for instances). */
  id: string;
  name: string;
  inputs: unknown;
  /** Staging paths, shaped like the declared outputs. */
  outputs: unknown;
  params: Record<string, unknown>;
  /** Key param names (not reported as unused). */
  keyParams: string[];
  env: Record<string, string>;
}

/** What running the recipe function produced. */
export type InvocationResult =
  | { kind: "done"; readParams: string[]; returnedText?: string; returnedValue?: string }
  | { kind: "shell"; script: string; argv?: string[]; stdout?: string; readParams: string[] }
  | { kind: "error"; message: string; stack?: string; readParams: string[] };

/** Messages a worker sends while a recipe runs. */
export type WorkerMessage =
  /** What a recipe said, in order: lines, and progress as [done, total?] (recipe-worker.ts). */
  | { type: "out"; items: OutItem[] }
  /**
   * `retire`: the recipe left work running; the pool terminates this worker before settling.
   * `markers`: how many of stdout and stderr carry OUTPUT_END after this recipe (one it ended
   * carries none).
   */
  | { type: "result"; result: InvocationResult; retire?: boolean; markers: number }
  | { type: "ready" }
  | { type: "load-error"; message: string }
  /**
   * The recipe's children write into the FIFO at `path` (child-stdio.ts): open it, then answer
   * on the shared [generation, ok] with `gen`. It carries OUTPUT_END after the recipe (counted
   * in its result's `markers`).
   */
  | { type: "capture"; path: string; gen: number };

/**
 * What a recipe worker may have sent that pipe has not handled yet (log lines, progress, what it
 * printed), in bytes, before it waits: a recipe printing in a loop runs only as fast as pipe
 * takes its lines, as a shell recipe writing to a pipe does. Without it the lines queued up in
 * memory: 1,000,000 console.log lines held 730 MB. See worker-pool.ts and recipe-worker.ts.
 */
export const WORKER_OUTPUT_LIMIT = 4 << 20;
/** What a progress report counts for. */
export const PROGRESS_COST = 64;
/** What a message counts for besides its items: one message per line (a recipe awaiting between lines) is bounded too. */
export const MESSAGE_COST = 256;
/** About how many bytes of lines a worker sends in one message. */
export const LOG_BATCH = 64 << 10;

/**
 * What one line costs beyond its characters: handling a line (an event, a write in verbose
 * mode) costs about as much as 64 more characters. Counted by characters alone, 4 MiB of
 * one-character lines was 4,000,000 lines on their way, seconds of work for the main thread.
 */
export const LINE_COST = 64;

/** What a line counts for against WORKER_OUTPUT_LIMIT and LOG_BATCH. */
export const lineCost = (line: string): number => line.length + LINE_COST;

/** A line, or a progress report [done, total?]. */
export type OutItem = string | [number] | [number, number];

/** What an out message counts for against WORKER_OUTPUT_LIMIT. */
export function outCost(items: OutItem[]): number {
  let n = MESSAGE_COST;
  for (const it of items) n += typeof it === "string" ? lineCost(it) : PROGRESS_COST;
  return n;
}

/** Written by a worker to its stdout and stderr after each recipe: what it printed has all arrived (worker-pool.ts). */
export const OUTPUT_END = "\u0000pipe:end-of-recipe-output\u0000";

/** Env vars every recipe sees, besides the ones it declares. */
export const ENV_ALLOWLIST = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "TZ", "TMPDIR", "TERM"];

export function recipeEnv(declared: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ENV_ALLOWLIST) if (env[k] !== undefined) out[k] = env[k]!;
  for (const k of Object.keys(env)) if (k.startsWith("PIPE_") && !k.startsWith("PIPE_TEST_")) out[k] = env[k]!;
  for (const k of declared) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}
