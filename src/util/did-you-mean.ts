/** "did you mean" suggestions by edit distance, as ninja and luigi do for unknown names. */

/**
 * Edit distance where swapping two neighbouring letters counts as one edit (optimal string
 * alignment): `trian` is one edit from `train`, as a typist would count it.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

/**
 * The closest candidate within reach, if any: at most one edit per three letters (at least
 * one), and fewer edits than the longer name has letters (`zz` is not a typo of `s`: every
 * letter would have to change; `kk` may be one of `k`).
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD && d <= limit && d < Math.max(name.length, c.length)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** `; did you mean "x"?` or "". */
export function suggestion(name: string, candidates: Iterable<string>): string {
  const s = didYouMean(name, candidates);
  return s === undefined ? "" : `; did you mean ${JSON.stringify(s)}?`;
}
