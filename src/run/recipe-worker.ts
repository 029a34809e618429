/**
 * Worker-thread entry: evaluates recipe functions off the main thread. Each worker imports the
 * compiled Pipelinefile once, then runs one invocation at a time. A recipe that throws, hangs or
 * calls process.exit() takes down only this worker (the pool fails that target and replaces
 * the worker). A recipe that returns `sh\`...\`` hands the command back to the main thread,
 * which runs it in its own process group.
 */
import { parentPort, workerData } from "node:worker_threads";
import { nameDeclarations, type Decl } from "../load/load.ts";
import type { Invocation, InvocationResult, WorkerMessage } from "./invocation.ts";
import { callRecipe } from "./call-recipe.ts";
import { setSiteCapture } from "../api/site.ts";

const port = parentPort!;
const send = (m: WorkerMessage) => port.postMessage(m);
let decls: Map<string, Decl> | undefined;
let current: AbortController | undefined;

async function init(): Promise<void> {
  process.setSourceMapsEnabled(true);
  // Recipes need no declaration sites (only the main thread's error messages do).
  setSiteCapture(false);
  try {
    const ns = (await import(workerData.entryUrl as string)) as Record<string, unknown>;
    const spec = nameDeclarations(workerData.root as string, workerData.pipelinefile as string, ns, { entryUrl: workerData.entryUrl, dir: "", modules: {}, compiledNow: false, sources: [] });
    decls = spec.decls;
    send({ type: "ready" });
  } catch (e) {
    send({ type: "load-error", message: (e as Error).message });
  }
}

async function run(inv: Invocation): Promise<InvocationResult> {
  const decl = decls?.get(inv.name);
  // The recipe sees only the allowlisted and declared env vars.
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, inv.env);
  current = new AbortController();
  try {
    return await callRecipe(decl?.options, inv, {
      signal: current.signal,
      log: (line) => send({ type: "log", line }),
      progress: (done, total) => send({ type: "progress", done, total }),
    });
  } finally {
    current = undefined;
  }
}

port.on("message", (msg: { type: "run"; invocation: Invocation } | { type: "abort" }) => {
  if (msg.type === "abort") current?.abort(new Error("interrupted"));
  else void run(msg.invocation).then((result) => send({ type: "result", result }));
});

void init();
