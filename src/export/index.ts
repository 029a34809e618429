/**
 * Graph exporters for `pipe graph`: pure functions from a GraphView to text. They never read
 * files or print; the CLI writes their result where the user asked.
 */
export { toDot, quoteDot } from "./dot.ts";
export type { DotOptions } from "./dot.ts";
export { toMermaid, escapeMermaidLabel, MERMAID_CLASSES } from "./mermaid.ts";
export type { MermaidOptions } from "./mermaid.ts";
export { toJson, fromJson, GraphJsonError, GRAPH_JSON_FORMAT, GRAPH_JSON_VERSION } from "./json.ts";
export { toText, STATE_MARKERS } from "./text.ts";
export type { TextOptions } from "./text.ts";
export type { DiagramOptions } from "./common.ts";
