/**
 * `pipe graph` on a terminal: each root as a tree of its dependencies.
 *
 *   ✔ report
 *   ├─ ● model — input data/raw.csv changed
 *   │  └─ ● features — input data/raw.csv changed
 *   │     └─ ✔ clean
 *   └─ ✔ plots
 *      └─ ✔ clean (see above)
 *
 * Why "(see above)": pipelines are DAGs with heavy sharing (every model reads `clean`), and
 * printing shared subtrees in full makes the output grow exponentially with depth. A target is
 * expanded the first time it is printed; later mentions show its state and point back. The same
 * rule stops a cycle, should a view ever contain one.
 *
 * Why the depth is capped: each level indents three columns, so a 1,000-deep chain made lines
 * of 3,000 columns (1.5 MB in all; 15 MB for 10,000). A target MAX_DEPTH levels down is printed
 * with "continued below" and its dependencies start a new tree at the left margin after the
 * current one. Trees of one line (a target with no dependencies) are not separated by blank
 * lines: 10,000 independent targets made 20,000 lines.
 */
import type { GraphView, TargetState, TargetView } from "../graph/view.ts";
import { STATES, STATE_LABELS, compareStrings } from "./common.ts";

/** Options for toText. */
export interface TextOptions {
  /** Terminal columns; longer lines are cut with "…", reasons first. No limit when absent. */
  width?: number;
  /** Also list each target's source files (files no target produces), after its dependencies. */
  files?: boolean;
  /** The targets asked for (`pipe graph a b`): their trees come first, before the default targets'. */
  first?: string[];
}

/** The marker printed before each target, per state. */
export const STATE_MARKERS: Readonly<Record<TargetState, string>> = {
  "up-to-date": "✔",
  restorable: "↺",
  stale: "●",
  failed: "✖",
};

const EXTERNAL_MARKER = "○";
/** The deepest level a tree indents to; below it, the tree continues at the left margin. */
export const MAX_DEPTH = 20;
/** Marks a source file listed under a target (`--files`). */
export const FILE_MARKER = "·";

/**
 * Shows control characters as escapes (`\n`, `\x1b`) so an id or reason can neither break the
 * tree across lines nor send escape sequences to the terminal.
 */
function visible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

function fit(head: string, tail: string, width: number | undefined): string {
  const line = head + tail;
  if (width === undefined) return line;
  const chars = [...line];
  if (chars.length <= width) return line;
  const headLen = [...head].length;
  // Keep the id whole when we can and shorten the reason; otherwise cut the line itself.
  if (tail !== "" && headLen + 4 <= width) return [...head, ...[...tail].slice(0, width - headLen - 1), "…"].join("");
  return chars.slice(0, Math.max(0, width - 1)).join("") + "…";
}

/**
 * Renders the view as indented trees: the targets asked for (`first`) and the default targets
 * first, then every other target that
 * nothing depends on, each with its dependencies beneath. Each line shows a state marker
 * (✔ up to date, ↺ restorable, ● stale, ✖ failed) and the reason when the target is not up to
 * date. Ends with a legend that counts targets per state. Children are sorted by id; with
 * `files`, each target's source files follow its dependencies, marked "·".
 */
export function toText(view: GraphView, options: TextOptions = {}): string {
  const width = options.width;
  const byId = new Map(view.targets.map((t) => [t.id, t]));
  const hasDependents = new Set(view.targets.flatMap((t) => t.deps));
  const printed = new Set<string>();
  /** Trees printed so far, a list of lines each. */
  const blocks: string[][] = [];
  let lines: string[] = [];
  /** Targets at MAX_DEPTH whose dependencies are printed as a tree of their own, next. */
  const continued: string[] = [];

  const label = (id: string, t: TargetView | undefined, repeat: boolean): [string, string] => {
    if (t === undefined) return [`${EXTERNAL_MARKER} ${visible(id)}`, " (not in this selection)"];
    const head = `${STATE_MARKERS[t.state]} ${visible(id)}`;
    if (repeat) return [head, " (see above)"];
    return [head, t.state !== "up-to-date" && t.reason ? ` — ${visible(t.reason)}` : ""];
  };

  const visit = (id: string, prefix: string, branch: string, depth: number): void => {
    const t = byId.get(id);
    const repeat = printed.has(id);
    const deeper = t !== undefined && !repeat && depth >= MAX_DEPTH && (t.deps.length > 0 || (options.files === true && t.files.length > 0));
    const [head, tail] = deeper ? [`${STATE_MARKERS[t.state]} ${visible(id)}`, " (continued below)"] : label(id, t, repeat);
    lines.push(fit(prefix + branch + head, tail, width));
    if (deeper) continued.push(id);
    if (t === undefined || repeat || deeper) return;
    printed.add(id);
    const children = [...new Set(t.deps)].sort(compareStrings);
    const files = options.files ? [...new Set(t.files)].sort(compareStrings) : [];
    const childPrefix = prefix + (branch === "" ? "" : branch === "├─ " ? "│  " : "   ");
    const last = children.length + files.length - 1;
    children.forEach((dep, i) => visit(dep, childPrefix, i === last ? "└─ " : "├─ ", depth + 1));
    files.forEach((f, j) => lines.push(fit(`${childPrefix}${children.length + j === last ? "└─ " : "├─ "}${FILE_MARKER} ${visible(f)}`, "", width)));
  };

  const sortedIds = [...byId.keys()].sort(compareStrings);
  const roots = [
    ...(options.first ?? []).filter((id) => byId.has(id)),
    ...[...new Set(view.defaults)].sort(compareStrings),
    ...sortedIds.filter((id) => !hasDependents.has(id)),
    // Only targets on a cycle remain unprinted after the roots; show them rather than drop them.
    ...sortedIds,
  ];
  const tree = (id: string): void => {
    lines = [];
    visit(id, "", "", 0);
    blocks.push(lines);
  };
  for (const id of roots) {
    if (printed.has(id)) continue;
    tree(id);
    for (let next = continued.shift(); next !== undefined; next = continued.shift()) if (!printed.has(next)) tree(next);
  }
  lines = [];
  blocks.forEach((b, i) => {
    // A blank line around every tree but between two one-line ones.
    if (i > 0 && (b.length > 1 || blocks[i - 1].length > 1)) lines.push("");
    lines.push(...b);
  });

  if (view.targets.length === 0) lines.push("no targets");
  const counts = STATES.map((s) => `${STATE_MARKERS[s]} ${view.targets.filter((t) => t.state === s).length} ${STATE_LABELS[s]}`);
  const legend = counts.join("  ");
  lines.push("", ...(width === undefined || [...legend].length <= width ? [legend] : counts));
  return lines.map((l) => l.trimEnd()).join("\n") + "\n";
}
