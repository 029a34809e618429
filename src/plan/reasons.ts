/**
 * Keeps reasons short when the lists in them grow with the graph. `explain` and `predict` say
 * one thing per item ("input a changed", "dependency "x" will rebuild"); a target reading 500
 * files or depending on 500 instances then had one reason per item, joined on one line by
 * `status`, `build --dry-run` and the build's start lines (35 KB for one target). Here runs of
 * same-shaped reasons become one that names a few items and counts the rest:
 *
 *   dependencies "s[i=0]", "s[i=1]", "s[i=2]" and 497 more will rebuild
 *
 * A handful stays as it was (one reason each), so small projects read as before.
 */

/** How many items a summarised reason names before "and N more". */
export const NAMED = 3;

/**
 * The items joined with ", ", or, when there are more than `named` + 1 of them, the first
 * `named` and a count: `"a", "b", "c" and 4 more` ("and 1 more" would be longer than the item).
 */
export function nameSome(items: readonly string[], named = NAMED): string {
  if (items.length <= named + 1) return items.join(", ");
  return `${items.slice(0, named).join(", ")} and ${items.length - named} more`;
}

/**
 * The per-item reasons `explain`, `decide` and `predict` make, as (pattern, plural form). The
 * pattern's group 1 is the item; the plural form gets the named items at `%`.
 */
const SHAPES: [RegExp, string][] = [
  [/^dependency (".*") will rebuild$/, "dependencies % will rebuild"],
  [/^input (.+) changed$/, "inputs % changed"],
  [/^input (.+) added$/, "inputs % added"],
  [/^input (.+) removed$/, "inputs % removed"],
  [/^output (.+) is missing$/, "outputs % are missing"],
  [/^output (.+) is missing, and its recorded bytes are not in the cache$/, "outputs % are missing, and their recorded bytes are not in the cache"],
  [/^output (.+) differs from the recorded build \(edited outside pipe\?\)$/, "outputs % differ from the recorded build (edited outside pipe?)"],
  [
    /^output (.+) differs from the recorded build \(edited outside pipe\?\), and its recorded bytes are not in the cache$/,
    "outputs % differ from the recorded build (edited outside pipe?), and their recorded bytes are not in the cache",
  ],
  [/^env (.+) changed$/, "env % changed"],
  [/^env (.+) was unset, now set$/, "env % were unset, now set"],
  [/^env (.+) was set, now unset$/, "env % were set, now unset"],
  // Param reasons carry values (`param a 1 -> 2`, `param b added (3)`): named whole.
  [/^param (.+)$/, "params % changed"],
];

/**
 * `reasons` with each shape that occurs more than NAMED + 1 times merged into one reason, at
 * the place of its first occurrence. Everything else is kept, in order.
 */
export function summarizeReasons(reasons: readonly string[]): string[] {
  if (reasons.length <= NAMED + 1) return [...reasons];
  const items = new Map<number, string[]>();
  const shapeOf = reasons.map((r) => {
    const i = SHAPES.findIndex(([re]) => re.test(r));
    if (i >= 0) {
      const list = items.get(i) ?? [];
      list.push(SHAPES[i][0].exec(r)![1]);
      items.set(i, list);
    }
    return i;
  });
  const out: string[] = [];
  const done = new Set<number>();
  reasons.forEach((r, k) => {
    const i = shapeOf[k];
    const list = i >= 0 ? items.get(i)! : undefined;
    if (!list || list.length <= NAMED + 1) out.push(r);
    else if (!done.has(i)) {
      done.add(i);
      out.push(SHAPES[i][1].replace("%", nameSome(list)));
    }
  });
  return out;
}
