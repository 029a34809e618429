/**
 * pipefile: the API a Pipelinefile.ts imports.
 *
 *   import { target, family, param, sh } from "pipefile";
 *
 * Kept free of heavy imports: every `pipe` invocation loads it.
 */
export { target, family } from "./api/target.ts";
export type {
  Target,
  Family,
  Instance,
  TargetRef,
  TargetOptions,
  FamilyOptions,
  RecipeContext,
  Recipe,
  InputsSpec,
  OutputsSpec,
  InputItem,
  ResolvedInputs,
  ResolvedOutputs,
  ResolvedParams,
  PathsOf,
  Resources,
  RecipeResult,
  KeyArgs,
} from "./api/target.ts";
export { param } from "./api/params.ts";
export type { Param, ParamOptions, PlainParamOptions, ParamType } from "./api/params.ts";
export { sh, quote } from "./api/sh.ts";
export type { ShellCommand, ShellValue, RawShell } from "./api/sh.ts";
