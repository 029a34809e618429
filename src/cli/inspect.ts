/** Shared by the read-only commands: open the project read-only and predict every target. */
import { closure } from "../graph/graph.ts";
import { predict, type Prediction } from "../plan/evaluate.ts";
import { flagValue } from "./args.ts";
import type { CommandContext } from "./main.ts";
import { openProject, type Project } from "./project.ts";
import { paramTextFrom } from "./param-text.ts";

export interface Inspection {
  project: Project;
  /** Ids considered, dependencies first. */
  ids: string[];
  predictions: Map<string, Prediction>;
}

/** With no targets named, every target of the Pipelinefile. */
export async function inspect(ctx: CommandContext, options: { all: boolean }): Promise<Inspection> {
  const project = await openProject({
    cwd: ctx.cwd,
    file: flagValue(ctx.args, "file"),
    paramText: paramTextFrom(ctx.args, ctx.cwd),
    requested: ctx.args.positional,
    readOnly: true,
    env: ctx.env,
  });
  const ids = ctx.args.positional.length || !options.all ? closure(project.graph, project.selected) : project.graph.order;
  // A damaged record line is found when first read, during the prediction: said with the
  // project's other warnings (it was dropped silently here, as if never recorded).
  const seen = new Set(project.warnings);
  project.records.onWarning = (message) => {
    if (!seen.has(message)) project.warnings.push(message);
    seen.add(message);
  };
  return { project, ids, predictions: predict(project.evaluator, ids) };
}
