/**
 * Worker-thread entry: evaluates recipe functions off the main thread. Each worker imports the
 * compiled Pipelinefile once, then runs one invocation at a time. A recipe that throws, hangs or
 * calls process.exit() takes down only this worker (the pool fails that target and replaces
 * the worker). A recipe that returns `sh\`...\`` hands the command back to the main thread,
 * which runs it in its own process group.
 */
import { parentPort, workerData } from "node:worker_threads";
import { format } from "node:util";
import { isShellCommand } from "../api/sh.ts";
import { nameDeclarations, type Decl } from "../load/load.ts";
import type { Invocation, InvocationResult, WorkerMessage } from "./invocation.ts";

const port = parentPort!;
const send = (m: WorkerMessage) => port.postMessage(m);
let decls: Map<string, Decl> | undefined;
let current: AbortController | undefined;

async function init(): Promise<void> {
  process.setSourceMapsEnabled(true);
  try {
    const ns = (await import(workerData.entryUrl as string)) as Record<string, unknown>;
    const spec = nameDeclarations(workerData.root as string, workerData.pipelinefile as string, ns, { entryUrl: workerData.entryUrl, dir: "", modules: {}, compiledNow: false });
    decls = spec.decls;
    send({ type: "ready" });
  } catch (e) {
    send({ type: "load-error", message: (e as Error).message });
  }
}

/** ctx.params: reading an undeclared param is an error naming it; reads are tracked. */
function paramsProxy(inv: Invocation, read: Set<string>): Record<string, unknown> {
  return new Proxy(inv.params, {
    get(target, prop) {
      if (typeof prop === "symbol" || prop === "toJSON" || prop === "then") return undefined;
      if (!Object.prototype.hasOwnProperty.call(target, prop)) {
        throw new Error(`recipe for ${JSON.stringify(inv.id)} read param ${JSON.stringify(prop)}, which the target does not declare; add it to the target's params: { ${prop} }`);
      }
      read.add(prop);
      return target[prop];
    },
    ownKeys(target) {
      for (const k of Object.keys(target)) read.add(k);
      return Reflect.ownKeys(target);
    },
  });
}

async function run(inv: Invocation): Promise<InvocationResult> {
  const read = new Set<string>();
  const readParams = () => [...read];
  const decl = decls?.get(inv.name);
  const fn = (decl?.options as { run?: unknown } | undefined)?.run;
  if (typeof fn !== "function") return { kind: "error", message: `target ${JSON.stringify(inv.id)} has no recipe in the loaded Pipelinefile`, readParams: readParams() };
  // The recipe sees only the allowlisted and declared env vars.
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, inv.env);
  current = new AbortController();
  const ctx = {
    id: inv.id,
    inputs: inv.inputs,
    outputs: inv.outputs,
    params: paramsProxy(inv, read),
    env: Object.freeze({ ...inv.env }),
    root: inv.root,
    signal: current.signal,
    log: (...args: unknown[]) => {
      for (const line of format(...args).split("\n")) send({ type: "log", line });
    },
    progress: (done: number, total?: number) => send({ type: "progress", done, total }),
  };
  try {
    const result = await (fn as (c: typeof ctx) => unknown).call(decl!.options, ctx);
    if (isShellCommand(result)) return { kind: "shell", script: result.script, argv: result.argv ? [...result.argv] : undefined, readParams: readParams() };
    return { kind: "done", readParams: readParams() };
  } catch (e) {
    const err = e as Error;
    return { kind: "error", message: err?.message ?? String(e), stack: err?.stack, readParams: readParams() };
  } finally {
    current = undefined;
  }
}

port.on("message", (msg: { type: "run"; invocation: Invocation } | { type: "abort" }) => {
  if (msg.type === "abort") current?.abort(new Error("interrupted"));
  else void run(msg.invocation).then((result) => send({ type: "result", result }));
});

void init();
