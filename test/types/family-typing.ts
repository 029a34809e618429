// Type-level checks: family outputs as a function or a template, recipes typed separately.
import { family, param, target, sh, type RecipeContext } from "pipefile";
const window = param.int("window", { default: 7, min: 1 });
const words = target({ inputs: ["data/*.txt"], outputs: ["build/words.txt"], run: ({ inputs, outputs }) => sh`cat ${inputs} > ${outputs[0]}` });
export const f1 = family({
  key: { attribute: param.enum(["a", "b"]) },
  inputs: { table: words },
  outputs: ({ attribute }) => ({ svg: `build/${attribute}.svg` }),
  run: async (ctx) => { const s: string = ctx.outputs.svg; void s; },
});
export const f2 = family({
  key: { attribute: param.enum(["a", "b"]) },
  params: { window },
  outputs: ({ attribute }) => ({ svg: `build/${attribute}.svg` }),
  run: async (ctx) => { const s: string = ctx.outputs.svg; void s; },
});
export const f3 = family({
  key: { attribute: param.enum(["a", "b"]) },
  env: ["X"],
  outputs: ({ attribute }) => ({ svg: `build/${attribute}.svg` }),
  run: async (ctx) => { const s: string = ctx.outputs.svg; void s; },
});
async function plot(ctx: RecipeContext<string[], { svg: string }, { attribute: "a" | "b" }>) { void ctx; }
export const f4 = family({
  key: { attribute: param.enum(["a", "b"]) },
  outputs: ({ attribute }) => ({ svg: `build/${attribute}.svg` }),
  run: plot,
});
export const f5 = family({
  key: { attribute: param.enum(["a", "b"]) },
  outputs: { svg: "build/{attribute}.svg" },
  run: plot,
});
export const useF5 = target({
  inputs: { s: f5({ attribute: "a" }) }, outputs: ["x"],
  run: (ctx) => { const s: string = ctx.inputs.s.svg; void s; },
});
// A family's `{key}` placeholder fills in one path (a string); a brace list `{a,b}` or a `*` is a glob (a list).
export const f6 = family({
  key: { attribute: param.enum(["a", "b"]) },
  inputs: { table: "data/{attribute}.csv", both: "data/{a,b}.csv", all: "data/{attribute}/*.csv" },
  outputs: { svg: "build/{attribute}.svg" },
  run: (ctx) => {
    const one: string = ctx.inputs.table;
    const list: string[] = ctx.inputs.both;
    const many: string[] = ctx.inputs.all;
    // @ts-expect-error a glob input is a list of paths
    const wrong: string = ctx.inputs.all;
    void one, list, many, wrong;
  },
});
// A key with a default may be left out when naming an instance; one without may not.
export const f7 = family({
  key: { attribute: param.enum(["a", "b"]), n: param.int({ default: 1 }), mode: param.enum(["x", "y"], { default: "x" }) },
  outputs: { svg: "build/{attribute}-{n}-{mode}.svg" },
  run: (ctx) => { const n: number = ctx.params.n; const m: "x" | "y" = ctx.params.mode; void n, m; },
});
export const f7a = f7({ attribute: "a" });
export const f7b = f7({ attribute: "b", n: 2, mode: "y" });
// @ts-expect-error attribute has no default
export const f7c = f7({ n: 2 });
// @ts-expect-error a key's value has its type
export const f7d = f7({ attribute: "a", n: "2" });

// Params: an enum's values alone say its type (a default outside them is a type error, not a
// wider type); bounds only on numbers and dates.
export const e1 = param.enum("e1", ["a", "b"], { default: "b" });
const e1value: "a" | "b" = (null as unknown as import("pipefile").ResolvedParams<{ e: typeof e1 }>).e;
void e1value;
// @ts-expect-error "c" is not one of the values
export const e2 = param.enum("e2", ["a", "b"], { default: "c" });
// @ts-expect-error a string param has no bounds
export const s1 = param.string("s1", { min: "m", default: "a" });
export const d1 = param.date("d1", { default: "today", min: "2020-01-01" });
export const n1 = param.int("n1", { default: 3, min: 1, max: 9 });
export type Exported = [import("pipefile").RecipeResult, import("pipefile").KeyArgs<{ k: typeof e1 }>, import("pipefile").PlainParamOptions<string>];

// Without inputs, ctx.inputs is the empty list it is at run time (was a list-or-record union).
export const noInputs = target({ outputs: ["build/none"], run: (ctx) => { const list: string[] = ctx.inputs; void list; } });
export const noInputsFamily = family({ key: { k: param.enum(["a"]) }, outputs: ["build/none-{k}"], run: (ctx) => { const list: string[] = ctx.inputs; void list; } });
