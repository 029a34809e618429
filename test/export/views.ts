/**
 * GraphViews shared by the exporter tests (not a test file itself).
 */
import type { GraphView, TargetState, TargetView } from "../../src/graph/view.ts";

/**
 * A small pipeline with a family, every state, files and a shared dependency:
 *
 *   data/raw.csv ──► clean ──► features ──► model ──────────────► report (default)
 *                      ├──► trend[attribute=confirmed] ─────────────┤
 *                      └──► trend[attribute=recovered] ─────────────┘
 */
export function smallView(): GraphView {
  return {
    defaults: ["report"],
    targets: [
      { id: "clean", state: "up-to-date", files: ["data/raw.csv", "recipes/clean.py"], outputs: ["data/clean.csv"], deps: [], description: "drop bad rows" },
      { id: "features", state: "stale", reason: "input data/raw.csv changed", files: ["recipes/features.py"], outputs: ["data/features.parquet"], deps: ["clean"] },
      { id: "trend[attribute=confirmed]", family: "trend", key: { attribute: "confirmed" }, state: "restorable", reason: "output in cache", files: [], outputs: ["plots/confirmed.png"], deps: ["clean"] },
      { id: "trend[attribute=recovered]", family: "trend", key: { attribute: "recovered" }, state: "failed", reason: "recipe exited with code 1", files: [], outputs: ["plots/recovered.png"], deps: ["clean"] },
      { id: "model", params: { window: "7", attributes: "a,b" }, state: "stale", reason: "dependency \"features\" is stale", files: ["recipes/model.py"], outputs: ["models/model.pkl"], deps: ["features"] },
      { id: "report", state: "stale", reason: "dependency \"model\" is stale", files: ["recipes/report.py", "data/raw.csv"], outputs: ["report.html"], deps: ["model", "trend[attribute=confirmed]", "trend[attribute=recovered]"] },
    ],
  };
}

/** Ids that stress every quoting rule: quotes, backslashes (one trailing), newlines, `#`, HTML, keywords. */
export const NASTY_IDS = ['say["hi"]', "win\\path\\", "two\nlines", "#quot;", "<b>bold</b> & co", "end", "node", "`md`", "ünï ☃"];

/** A view whose target ids are NASTY_IDS, chained one after the other, every other one in a family
 * whose name needs quoting too. */
export function nastyView(): GraphView {
  const targets: TargetView[] = NASTY_IDS.map((id, i) => ({
    id,
    ...(i % 2 === 0 ? { family: 'fam "x"\\' } : {}),
    state: (["up-to-date", "restorable", "stale", "failed"] as const)[i % 4],
    files: [`in/${id}.txt`],
    outputs: [],
    deps: i === 0 ? [] : [NASTY_IDS[i - 1]],
  }));
  return { targets, defaults: [NASTY_IDS[NASTY_IDS.length - 1]] };
}

/**
 * `n` targets: every third one an instance of one of 20 families, each depending on the target
 * before it and on the one at half its index (a deep chain with wide fan-in), states cycling.
 */
export function generatedView(n: number): GraphView {
  const states: TargetState[] = ["up-to-date", "restorable", "stale", "failed"];
  const ids: string[] = [];
  const targets: TargetView[] = [];
  for (let i = 0; i < n; i++) {
    const family = i % 3 === 0 ? `fam${i % 20}` : undefined;
    const id = family ? `${family}[i=${i}]` : `t${i}`;
    ids.push(id);
    const deps = i === 0 ? [] : [...new Set([ids[i - 1], ids[Math.floor(i / 2)]])].filter((d) => d !== id);
    const state = states[i % 4];
    targets.push({
      id,
      family,
      key: family ? { i: String(i) } : undefined,
      state,
      reason: state === "stale" ? `input data/${i}.csv changed` : undefined,
      files: [`data/${i}.csv`],
      outputs: [`out/${i}`],
      deps,
    });
  }
  // Drop explicit undefineds so the view compares equal to its JSON round trip.
  for (const t of targets) for (const k of Object.keys(t) as Array<keyof TargetView>) if (t[k] === undefined) delete t[k];
  return { targets, defaults: [ids[n - 1]] };
}

/** The same view with its targets (and each target's deps) in a seeded pseudo-random order. */
export function shuffled(view: GraphView, seed = 1): GraphView {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const mix = <T>(xs: T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return { defaults: mix(view.defaults), targets: mix(view.targets).map((t) => ({ ...t, deps: mix(t.deps), files: mix(t.files) })) };
}
