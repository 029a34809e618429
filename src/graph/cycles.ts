/**
 * Cycle detection with the whole trail. An iterative DFS keeps the current path; a back edge
 * to a node on the path is a cycle, reported from that node round to itself
 * ("a" -> "b" -> "c" -> "a"). Each cycle is reported once (by its smallest rotation).
 */
export function findCycles(targets: Map<string, { deps: string[] }>): string[][] {
  const state = new Map<string, 1 | 2>(); // 1 = on the path, 2 = done
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const start of [...targets.keys()].sort()) {
    if (state.has(start)) continue;
    const path: string[] = [start];
    const next: number[] = [0];
    state.set(start, 1);
    while (path.length) {
      const id = path[path.length - 1];
      const deps = targets.get(id)?.deps ?? [];
      const i = next[next.length - 1]++;
      if (i >= deps.length) {
        state.set(id, 2);
        path.pop();
        next.pop();
        continue;
      }
      const d = deps[i];
      const s = state.get(d);
      if (s === 1) {
        // The path goes dependent -> dependency; print it in "needs" order starting at d.
        const at = path.indexOf(d);
        const loop = path.slice(at);
        const min = loop.reduce((m, x, j) => (x < loop[m] ? j : m), 0);
        const canon = [...loop.slice(min), ...loop.slice(0, min)];
        const key = canon.join("\u0000");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...canon, canon[0]]);
        }
      } else if (s === undefined && targets.has(d)) {
        state.set(d, 1);
        path.push(d);
        next.push(0);
      }
    }
  }
  return cycles;
}
