// Type-level check: the README's example Pipelinefile compiles under strict TypeScript.
import { target, family, param, sh, type RecipeContext } from "pipefile";

export const version = param.date("version", { default: "today" });
export const window = param.int("window", { default: 7, min: 1 });

export const words = target({
  inputs: ["data/*.txt"],
  outputs: ["build/words.txt"],
  run: ({ inputs, outputs }) => sh`cat ${inputs} | wc -w > ${outputs[0]}`,
});

async function plotTrend(ctx: RecipeContext<{ table: string[] }, { svg: string }, { window: number; attribute: "total_positive" | "recovered" }>) {
  const w: number = ctx.params.window;
  const a: string = ctx.params.attribute;
  const t: string[] = ctx.inputs.table;
  const s: string = ctx.outputs.svg;
  void [w, a, t, s];
}

export const trend = family({
  key: { attribute: param.enum(["total_positive", "recovered"]) },
  params: { window },
  inputs: { table: words },
  outputs: ({ attribute }) => ({ svg: `build/trend/${attribute}.svg` }),
  env: ["MPLBACKEND"],
  run: plotTrend,
});

export const named = target({
  inputs: { csv: "data/a.csv", many: "data/*.csv", t: trend({ attribute: "recovered" }) },
  outputs: { out: "build/x.txt" },
  params: { version },
  run: async (ctx) => {
    const csv: string = ctx.inputs.csv;
    const many: string[] = ctx.inputs.many;
    const svg: string = ctx.inputs.t.svg as string;
    const v: string = ctx.params.version;
    const o: string = ctx.outputs.out;
    void [csv, many, svg, v, o];
  },
});

export default [trend({ attribute: "recovered" })];
