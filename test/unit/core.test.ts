// Unit tests of the pure core: quoting, canonical JSON, params, ids, cycles, suggestions,
// explanations, the heap and the statement splitter of the code hash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sh, quote } from "../../src/api/sh.ts";
import { param } from "../../src/api/params.ts";
import { stableStringify, NotSerializableError } from "../../src/util/stable-json.ts";
import { parseParamText, checkParamValue, defaultValue } from "../../src/graph/param-values.ts";
import { instanceId, parseTargetId } from "../../src/graph/graph.ts";
import { findCycles } from "../../src/graph/cycles.ts";
import { didYouMean } from "../../src/util/did-you-mean.ts";
import { explain, fingerprintOf } from "../../src/plan/fingerprint.ts";
import { Evaluator } from "../../src/plan/evaluate.ts";
import { Heap } from "../../src/util/heap.ts";
import { declaredNames, withoutLiterals } from "../../src/load/code-hash.ts";
import { initHasher } from "../../src/hash/xxh.ts";
import type { BuildRecord, FingerprintParts, RecordStore } from "../../src/state/records.ts";
import type { Graph, GraphTarget } from "../../src/graph/graph.ts";
import type { OutputCache } from "../../src/state/cache.ts";
import type { FileHasher } from "../../src/hash/file-hasher.ts";
import type { CodeHasher } from "../../src/load/code-hash.ts";
import { checkOutputPath } from "../../src/graph/build.ts";
import { formatDiagnostics } from "../../src/util/errors.ts";

test("sh quotes every interpolated value as one word", () => {
  const evil = "x; rm -rf / $(touch PWNED) `id` 'q'";
  const c = sh`cat ${evil} > ${"out file.txt"}`;
  assert.equal(c.script, `cat 'x; rm -rf / $(touch PWNED) \`id\` '\\''q'\\''' > 'out file.txt'`);
  assert.deepEqual(c.argv, ["cat", evil], "a final `> ${path}` needs no shell");
  assert.equal(c.stdout, "out file.txt");
  assert.equal(quote("plain-word_1.txt"), "plain-word_1.txt");
  assert.equal(quote(""), "''");
  assert.throws(() => quote("a\0b"), /NUL byte/);
});

test("sh: a piece of the template with an escape JavaScript does not know reaches the shell as written", () => {
  const c = sh`printf 'a\377b\n' > ${"out/x"}`;
  assert.equal(c.script, "printf 'a\\377b\\n' > out/x", "the whole piece as written: \\377 and \\n for printf");
  assert.equal(sh`printf 'x\n' > ${"out/y"}`.script, "printf 'x\n' > out/y", "a piece without one: as JavaScript reads it (a newline)");
  const g = sh`printf '\xZZ' > ${"out/z"}`;
  assert.equal(g.script, "printf '\\xZZ' > out/z", "a malformed \\x too");
});

test("sh gives an argv when the template uses no shell feature; arrays are one word per element", () => {
  const c = sh`cp ${["a b.txt", "c.txt"]} ${"dest dir/"}`;
  assert.deepEqual(c.argv, ["cp", "a b.txt", "c.txt", "dest dir/"]);
  assert.equal(c.script, "cp 'a b.txt' c.txt 'dest dir/'");
  assert.deepEqual(sh`tool --out=${"x y"} -n ${3}`.argv, ["tool", "--out=x y", "-n", "3"]);
  assert.equal(sh`cd ${"x"}`.argv, undefined, "builtins need a shell");
  assert.equal(sh`LC_ALL=C sort ${"x"}`.argv, undefined, "a leading assignment needs a shell");
  assert.equal(sh`echo ${"a\\nb"} > ${"o"}`.argv, undefined, "echo is sh's own (dash expands backslashes, coreutils does not)");
  assert.equal(sh`LC_ALL=C sort ${"x"} > ${"o"}`.argv, undefined, "also before a redirection");
  assert.deepEqual(sh`tool ${"x"} --opt=1`.argv, ["tool", "x", "--opt=1"], "= later on is an argument");
  assert.equal(sh`echo ${sh.raw("$HOME")}`.argv, undefined, "raw text may be shell syntax");
  assert.equal(sh`echo ${sh.raw("$HOME")}`.script, "echo $HOME");
});

test("sh names the ${} it cannot interpolate, what the value is, and the fix", () => {
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail("no error");
  };
  const bad = <T>(v: T) => v as unknown as string;
  const inputs = { a: { csv: "a.csv", json: "a.json" } };
  const takes = "; sh takes a string, number, boolean or an array of them";
  const cases: [string, () => unknown, string][] = [
    ["an object of paths", () => sh`cat ${bad(inputs.a)}`, "the 1st ${} in sh`cat ${…}` is an object with keys csv, json" + takes + "\n  hint: pick one of its paths, e.g. ${….csv}, or pass all of its values as an array: Object.values(…)"],
    ["undefined, 2nd", () => sh`cp ${"x"} ${bad(undefined)}`, "the 2nd ${} in sh`cp ${…} ${…}` is undefined" + takes + "\n  hint: check the name (an input, output or param the target does not declare reads as undefined; so does a declared env var that is not set: give it a default, e.g. ${ctx.env.X ?? ''})"],
    ["a nested array", () => sh`cat ${bad([["a"], "b"])} > ${"o"}`, "the 1st ${} in sh`cat ${…} > ${…}` is an array whose element [0] is an array of 1" + takes + "\n  hint: spread it into one flat array: [...a, ...b], or a.flat()"],
    ["objects in an array", () => sh`cat ${bad([{ path: "a" }])}`, "the 1st ${} in sh`cat ${…}` is an array whose element [0] is an object with key path" + takes + "\n  hint: pick one field of each element, e.g. list.map((x) => x.path)"],
    ["a Promise", () => sh`x ${bad(Promise.resolve("a"))}`, "the 1st ${} in sh`x ${…}` is a Promise" + takes + "\n  hint: await it first (the recipe must be async)"],
    ["a NUL byte", () => sh`x ${"a\0b"}`, 'the 1st ${} in sh`x ${…}` is a string with a NUL byte ("a\\u0000b")\n  hint: remove the NUL byte: no shell word can hold one'],
    [
      "a long template, shown around the ${}",
      () => sh`python3 scripts/train_the_model.py --input ${"x"} --output ${"y"} --seed ${bad(null)} --log-level debug --threads 8 --verbose`,
      "the 3rd ${} in sh`…${…} --output ${…} --seed ${…} --log-level debug --threads…` is null" + takes + "\n  hint: pass a string, or leave the value out",
    ],
    [
      "the 12th",
      () => sh(Object.assign(["x", ..." ".repeat(12)], { raw: [] }) as unknown as TemplateStringsArray, ...Array.from({ length: 11 }, () => "a"), bad(true && {})),
      "the 12th ${} in sh`…${…} ${…} ${…} ${…} ${…} ${…}` is an empty object" + takes + "\n  hint: pass a path (a string) instead",
    ],
  ];
  for (const [what, f, expected] of cases) assert.equal(message(f), expected, what);
  // The stack starts at the caller of sh (the recipe), not inside pipe.
  try {
    sh`cat ${bad({ a: 1 })}`;
  } catch (e) {
    const frames = (e as Error).stack!.split("\n").filter((l) => /^\s+at /.test(l));
    assert.match(frames[0], /core\.test\.(ts|js)/, frames.join("\n"));
    assert.doesNotMatch(frames.join("\n"), /api\/sh\.(ts|js)/);
  }
});

test("sh runs `cmd ... > ${path}` without a shell; every other redirection keeps one", () => {
  const c = sh`cat ${["a.txt", "b c.txt"]} > ${"out/x y.txt"}`;
  assert.deepEqual([c.argv, c.stdout, c.script], [["cat", "a.txt", "b c.txt"], "out/x y.txt", "cat a.txt 'b c.txt' > 'out/x y.txt'"]);
  assert.deepEqual([sh`sort -u > ${"o"}`.argv, sh`sort -u > ${"o"}`.stdout], [["sort", "-u"], "o"]);
  for (const [what, c2] of [
    ["append", sh`cat ${"a"} >> ${"o"}`],
    ["stderr", sh`cat ${"a"} 2> ${"o"}`],
    ["no blank before >", sh`cat ${"a"}> ${"o"}`],
    ["a pipe before it", sh`cat ${"a"} | sort > ${"o"}`],
    ["text after the path", sh`cat ${"a"} > ${"o"} 2>&1`],
    ["path glued to text", sh`cat ${"a"} > ${"o"}.txt`],
    ["a list as the path", sh`cat ${"a"} > ${["o", "p"]}`],
    ["raw path", sh`cat ${"a"} > ${sh.raw("$OUT")}`],
    ["builtin", sh`cd ${"a"} > ${"o"}`],
    ["two redirections", sh`cat ${"a"} > ${"b"} > ${"o"}`],
    ["/dev/stdout (the shell's own descriptor)", sh`cat ${"a"} > ${"/dev/stdout"}`],
    ["/dev/fd/2", sh`cat ${"a"} > ${"/dev/fd/2"}`],
    ["/proc/self/fd/1", sh`cat ${"a"} > ${"/proc/self/fd/1"}`],
  ] as const) {
    assert.equal(c2.argv, undefined, `${what}: needs a shell`);
    assert.equal(c2.stdout, undefined, what);
  }
});

test("canonical JSON ignores key order and -0, and rejects values with no deterministic meaning", () => {
  assert.equal(stableStringify({ b: 1, a: [1, { d: -0, c: "x" }] }), stableStringify({ a: [1, { c: "x", d: 0 }], b: 1 }));
  assert.equal(stableStringify({ b: 1, a: 2 }), '{"a":2,"b":1}');
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  for (const [bad, kind] of [[() => 1, "function"], [Symbol("s"), "Symbol"], [10n, "BigInt"], [NaN, "NaN"], [cyc, "cycle"], [new Map(), "Map"]] as const) {
    assert.throws(() => stableStringify({ p: bad }, "params"), (e: unknown) => e instanceof NotSerializableError && e.message.includes(kind) && e.message.startsWith("params.p"));
  }
});

test("canonical JSON: the same text as a plain reference for random data (the fast walk), also for Dates and data deeper than it goes", () => {
  // The reference: keys sorted, no whitespace, -0 as 0, undefined as null (the format fingerprints were made with).
  const ref = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number") return Object.is(v, -0) ? "0" : JSON.stringify(v);
    if (typeof v !== "object") return JSON.stringify(v);
    if (v instanceof Date) return JSON.stringify(v.toISOString());
    if (Array.isArray(v)) return "[" + v.map(ref).join(",") + "]";
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + ref((v as Record<string, unknown>)[k])).join(",") + "}";
  };
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const gen = (depth: number): unknown => {
    switch (rand(depth > 3 ? 6 : 9)) {
      case 0: return rand(2) === 0 ? -0 : rand(1000) - 500 + rand(100) / 7;
      case 1: return ["", "a", "é\u0000\n\"", "x".repeat(rand(5))][rand(4)];
      case 2: return rand(2) === 0;
      case 3: return null;
      case 4: return undefined;
      case 5: return new Date(rand(1e9) * 1000);
      case 6: case 7: return Array.from({ length: rand(4) }, () => gen(depth + 1));
      default: return Object.fromEntries(Array.from({ length: rand(5) }, () => [["b", "a", "é", "10", "2", "__proto__x"][rand(6)], gen(depth + 1)]));
    }
  };
  for (let i = 0; i < 2000; i++) {
    const v = gen(0);
    assert.equal(stableStringify(v), ref(v));
  }
  let deep: unknown = "end";
  for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { k: deep };
  assert.equal(stableStringify(deep), ref(deep));
});

test("param text is parsed by type and checked against bounds", () => {
  const today = "2024-06-01";
  assert.equal(parseParamText(param.int({ min: 1 }), "14", today), 14);
  assert.deepEqual(parseParamText(param.int({ min: 1 }), "0", today), { problem: "0 is below the minimum 1" });
  assert.deepEqual(parseParamText(param.int(), "1.5", today), { problem: '"1.5" is not an integer' });
  assert.equal(parseParamText(param.number(), "1.5", today), 1.5);
  assert.equal(parseParamText(param.boolean(), "yes", today), true);
  assert.equal(parseParamText(param.date(), "today", today), today);
  assert.deepEqual(parseParamText(param.date(), "2023-02-29", today), { problem: '"2023-02-29" is not a date YYYY-MM-DD (or "today")' });
  assert.deepEqual(parseParamText(param.list(), "a, b,c", today), ["a", "b", "c"]);
  assert.deepEqual(parseParamText(param.enum(["x", "y"]), "z", today), { problem: '"z" is not one of "x", "y"' });
  assert.deepEqual(checkParamValue(param.string(), "a\0b", today), { problem: "the value contains a NUL byte" });
  // Values from code are shown as JavaScript writes them, not as JSON would (NaN was "null").
  assert.deepEqual(checkParamValue(param.int(), NaN, today), { problem: "NaN is not an integer" });
  assert.deepEqual(checkParamValue(param.number(), -Infinity, today), { problem: "-Infinity is not a number" });
  assert.deepEqual(checkParamValue(param.int(), 10n, today), { problem: "10n is not an integer" });
  assert.deepEqual(checkParamValue(param.int(), undefined, today), { problem: "undefined is not an integer" });
  assert.deepEqual(checkParamValue(param.string(), 3, today), { problem: "3 is not a string" });
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  assert.deepEqual(checkParamValue(param.list(), loop, today), { problem: "[object Object] is not a list of strings" });
  assert.deepEqual(defaultValue(param.string(), today), { problem: "it has no default and was not set" });
  assert.equal(defaultValue(param.date({ default: "today" }), today), today);
});

test("instance ids sort their keys and parse back", () => {
  const id = instanceId("model", { window: 7, attribute: "recovered", model: "linear" });
  assert.equal(id, "model[attribute=recovered,model=linear,window=7]");
  assert.deepEqual(parseTargetId(id), { name: "model", key: { attribute: "recovered", model: "linear", window: "7" } });
  assert.deepEqual(parseTargetId("report"), { name: "report" });
  assert.equal(parseTargetId("a[b]"), undefined);
  // List values (and values with commas) read back as written.
  const listed = instanceId("table", { cols: ["date", "recovered"], k: 3, title: "a, b" });
  assert.equal(listed, "table[cols=date,recovered,k=3,title=a, b]");
  assert.deepEqual(parseTargetId(listed), { name: "table", key: { cols: "date,recovered", k: "3", title: "a, b" } });
  // Key names need not be identifiers; with the family's keys known, a value part with "=" stays a value.
  assert.deepEqual(parseTargetId("f[out-dir=x,a.b=1]"), { name: "f", key: { "out-dir": "x", "a.b": "1" } });
  assert.deepEqual(parseTargetId("f[opts=k=v,w=1,n=2]", () => ["opts", "n"]), { name: "f", key: { opts: "k=v,w=1", n: "2" } });
  // Each key once: a repeated "key=" is part of the value before it (the value held it).
  const repeated = instanceId("rep", { cols: [], tag: "a,tag=b" });
  assert.equal(repeated, "rep[cols=,tag=a,tag=b]");
  assert.deepEqual(parseTargetId(repeated, () => ["cols", "tag"]), { name: "rep", key: { cols: "", tag: "a,tag=b" } });
  // Keys typed in another order still parse.
  assert.deepEqual(parseTargetId("model[window=7,attribute=recovered]"), { name: "model", key: { window: "7", attribute: "recovered" } });
});

test("cycles are reported once each, with the whole trail", () => {
  //  a -> b -> c -> a ; d -> d ; e -> a (not on a cycle)
  const g = new Map([
    ["a", { deps: ["b"] }],
    ["b", { deps: ["c"] }],
    ["c", { deps: ["a"] }],
    ["d", { deps: ["d"] }],
    ["e", { deps: ["a"] }],
  ]);
  assert.deepEqual(findCycles(g), [["a", "b", "c", "a"], ["d", "d"]]);
  assert.deepEqual(findCycles(new Map([["x", { deps: [] }]])), []);
});

test("did you mean picks the closest name within reach", () => {
  assert.equal(didYouMean("trian", ["train", "report", "trend"]), "train");
  assert.equal(didYouMean("windw", ["window", "days"]), "window");
  assert.equal(didYouMean("zzzzzz", ["window", "days"]), undefined);
  assert.equal(didYouMean("biuld", ["build", "status"]), "build", "a swap of two letters is one edit");
});

test("did you mean offers only close names: not one that shares no letter with a short name", () => {
  // Before: any candidate within 2 edits, so "zz" (a param in a params file) got "s".
  assert.equal(didYouMean("zz", ["s", "i"]), undefined);
  assert.equal(didYouMean("x", ["y"]), undefined);
  assert.equal(didYouMean("abc", ["xyz", "a"]), undefined);
  assert.equal(didYouMean("nme", ["name"]), "name");
  assert.equal(didYouMean("cpus", ["cpu", "mem"]), "cpu");
  assert.equal(didYouMean("kk", ["k"]), "k");
});

test("explanations name each changed part value by value", async () => {
  await initHasher();
  const parts: FingerprintParts = { format: 1, code: "c1", codeFiles: ["recipes/plot.ts"], codeHashes: { "recipes/plot.ts": "s1" }, packages: ["vega@6.4.0"], params: { window: 7 }, inputs: [["data/a.csv", "h1"]], env: { MODE: "x" }, outputs: ["build/x.svg"] };
  const record = { target: "t", fingerprint: fingerprintOf(parts), outputs: [], parts, durationMs: 1, time: 0 } as BuildRecord;
  const now: FingerprintParts = { ...parts, code: "c2", codeHashes: { "recipes/plot.ts": "s2" }, params: { window: 14 }, inputs: [["data/a.csv", "h2"], ["data/b.csv", "h3"]], env: { MODE: "y" } };
  assert.deepEqual(explain(now, record), ["recipe code recipes/plot.ts changed", "param window 7 -> 14", "input data/a.csv changed", "input data/b.csv added", "env MODE changed"]);
  assert.deepEqual(explain(now, undefined), ["no record of an earlier run"]);
  // The code the same, a package upgraded: the package's doing.
  const pkg = { ...parts, code: "c3", packages: ["vega@6.5.0"] };
  assert.deepEqual(explain(pkg, record), ["package vega@6.5.0 changed (was vega@6.4.0)"]);
  // The code edited to import another package: the code's doing, with what it now uses.
  const edit = { ...parts, code: "c4", codeHashes: { "recipes/plot.ts": "s3" }, packages: ["lodash@4.17.21", "vega@6.4.0"] };
  assert.deepEqual(explain(edit, record), ["recipe code recipes/plot.ts changed (now uses lodash@4.17.21)"]);
  // A record from before code shares were kept: the code files, with the package difference.
  const older = { ...record, parts: { ...parts, codeHashes: undefined } } as BuildRecord;
  assert.deepEqual(explain(pkg, older), ["recipe code recipes/plot.ts changed (now uses vega@6.5.0; no longer uses vega@6.4.0)"]);
  assert.notEqual(fingerprintOf(now), fingerprintOf(parts));
  assert.equal(fingerprintOf({ ...parts, codeFiles: ["other.ts"] }), fingerprintOf(parts), "descriptive fields do not count");
});

test("explanations name a removed input, an added or removed param and changed declared outputs", async () => {
  await initHasher();
  const parts: FingerprintParts = { format: 1, code: "c1", codeFiles: ["Pipelinefile.ts"], packages: [], params: { window: 7, cols: ["a", "b"] }, inputs: [["data/a.csv", "h1"], ["data/b.csv", "h2"]], env: {}, outputs: ["build/x.svg"] };
  const record = { target: "t", fingerprint: fingerprintOf(parts), outputs: [], parts, durationMs: 1, time: 0 } as BuildRecord;
  const why = (now: Partial<FingerprintParts>) => explain({ ...parts, ...now }, record);
  assert.deepEqual(why({ inputs: [["data/a.csv", "h1"]] }), ["input data/b.csv removed"]);
  assert.deepEqual(why({ inputs: [] }), ["input data/a.csv removed", "input data/b.csv removed"]);
  assert.deepEqual(why({ params: { window: 7, cols: ["a", "b"], mode: "fast" } }), ["param mode added (fast)"]);
  assert.deepEqual(why({ params: { window: 7 } }), ["param cols removed (was a,b)"]);
  assert.deepEqual(why({ params: { cols: ["a", "b"], days: 3 } }), ["param days added (3)", "param window removed (was 7)"]);
  assert.deepEqual(why({ outputs: ["build/x.svg", "build/y.svg"] }), ["declared outputs changed (build/x.svg -> build/x.svg, build/y.svg)"]);
  assert.deepEqual(why({ outputs: ["build/plots/"] }), ["declared outputs changed (build/x.svg -> build/plots/)"]);
  // All at once: each reason once, in the order code, params, inputs, env, outputs.
  assert.deepEqual(why({ params: { window: 7 }, inputs: [["data/b.csv", "h2"]], outputs: ["build/y.svg"] }), ["param cols removed (was a,b)", "input data/a.csv removed", "declared outputs changed (build/x.svg -> build/y.svg)"]);
  assert.deepEqual(why({}), ["no record for this combination of inputs, params and code"], "nothing differs: the record is another combination's");
});

test("a target below a stale dependency is explained by the files it now reads or no longer reads, the source files that changed, and its own outputs", async () => {
  await initHasher();
  const run = () => undefined;
  const code = { hash: "c1", files: ["Pipelinefile.ts"], packages: [] };
  const target = (files: string[], params: Record<string, unknown> = {}) =>
    ({
      id: "t",
      decl: { options: { run } },
      inputs: [{ single: false, items: files.map((f) => ({ kind: "file", spec: f, files: [f] })) }],
      params: Object.entries(params).map(([local, value]) => ({ local, value, isKey: false })),
      outputs: [{ path: "build/t.txt", dir: false }],
      env: [],
    }) as unknown as GraphTarget;
  // Recorded: it read a.csv, b.csv, the folder build/plots (stored with a trailing "/") and a
  // file inside the folder build/gen, another target's output; it wrote build/t.txt (o1).
  const parts: FingerprintParts = { format: 2, target: "t", code: "c1", codeFiles: ["Pipelinefile.ts"], packages: [], params: {}, inputs: [["data/a.csv", "h1"], ["data/b.csv", "h2"], ["build/plots/", "h3"], ["build/gen/one.txt", "h6"]], env: {}, outputs: ["build/t.txt"] };
  const record = { target: "t", fingerprint: fingerprintOf(parts), outputs: [{ path: "build/t.txt", kind: "file", hash: "o1" }], parts, durationMs: 1, time: 0 } as BuildRecord;
  // The files as they are now (build/plots and what build/gen holds are other targets' outputs:
  // never hashed here).
  const disk = new Map<string, string | undefined>([["data/a.csv", "h1"], ["data/b.csv", "h2"], ["data/c.csv", "h4"], ["data/d.csv", "h5"], ["build/t.txt", "o1"]]);
  const hashed: string[] = [];
  const hasher = {
    hashPath: (p: string) => {
      hashed.push(p);
      const h = disk.get(p);
      return h === undefined ? { kind: "missing" } : { kind: "file", hash: h };
    },
  };
  const ev = new Evaluator({
    graph: { targets: new Map(), outputOwner: new Map([["build/plots", "plots"], ["build/gen", "gen"]]) } as unknown as Graph,
    records: { latest: (id: string) => (id === "t" ? record : undefined), history: (id: string) => (id === "t" ? [record] : []) } as unknown as RecordStore,
    cache: { has: () => true } as unknown as OutputCache,
    hasher: hasher as unknown as FileHasher,
    code: { hashOf: () => code } as unknown as CodeHasher,
    envKey: "k",
    env: {},
  });
  const same = ["data/a.csv", "data/b.csv", "build/plots", "build/gen/one.txt"];
  assert.deepEqual(ev.explainOwn(target(same)).reasons, [], "the same files (a folder too): nothing of its own changed");
  assert.deepEqual(ev.explainOwn(target([...same, "data/c.csv"])).reasons, ["now reads data/c.csv"]);
  assert.deepEqual(ev.explainOwn(target(["data/a.csv"])).reasons, ["no longer reads data/b.csv, build/plots, build/gen/one.txt"]);
  assert.deepEqual(ev.explainOwn(target(["data/b.csv", "build/plots", "build/gen/one.txt", "data/c.csv", "data/d.csv"], { window: 7 })).reasons, ["param window added (7)", "now reads data/c.csv, data/d.csv", "no longer reads data/a.csv"]);
  assert.deepEqual(ev.explainOwn({ ...target([]), id: "new" }).reasons, ["no record of an earlier run"], "never built: it runs whatever its dependencies make");
  assert.ok(!hashed.includes("build/plots") && !hashed.includes("build/gen/one.txt"), "other targets' outputs are not looked at");
  // Its own output edited by hand, then gone: restored or run, whatever its dependencies make.
  disk.set("build/t.txt", "o2");
  assert.deepEqual(ev.explainOwn(target(same)).reasons, ["output build/t.txt differs from the recorded build (edited outside pipe?)"]);
  disk.delete("build/t.txt");
  assert.deepEqual(ev.explainOwn(target(same)).reasons, ["output build/t.txt is missing"]);
  assert.equal(ev.explainOwn(target(same)).restorable, true, "only its output, cached: restored unless the dependency changes");
  assert.equal(ev.explainOwn(target([...same, "data/c.csv"])).restorable, false, "a reason of its own too");
  disk.set("build/t.txt", "o1");
  disk.set("data/a.csv", "h9");
  disk.delete("data/b.csv");
  assert.deepEqual(ev.explainOwn(target(same)).reasons, ["input data/a.csv changed", 'input "data/b.csv" is missing']);
});

test("the heap pops in order", () => {
  const h = new Heap<number>((a, b) => a - b);
  for (const x of [5, 1, 4, 1, 9, 2, 6]) h.push(x);
  const out: number[] = [];
  while (h.size) out.push(h.pop()!);
  assert.deepEqual(out, [1, 1, 2, 4, 5, 6, 9]);
});

test("top-level statements declare the names the code hash follows", () => {
  assert.deepEqual(declaredNames("function helper(x) {\n  return x;\n}"), ["helper"]);
  assert.deepEqual(declaredNames("async function go() {}"), ["go"]);
  assert.deepEqual(declaredNames('const window = param.int("window", { default: 7 });'), ["window"]);
  assert.deepEqual(declaredNames("const a = 1, b = 2;"), ["a", "b"]);
  assert.deepEqual(declaredNames("const { x, y } = obj;"), ["x", "y"]);
  assert.deepEqual(declaredNames("class Model {\n}"), ["Model"]);
  assert.deepEqual(declaredNames("export {\n  a\n};"), []);
  assert.deepEqual(declaredNames("let threshold;"), ["threshold"]);
  assert.deepEqual(declaredNames("let a, b;"), ["a", "b"]);
  assert.deepEqual(declaredNames("const [p, q] = pair, r = 3;"), ["p", "q", "r"]);
  // Names inside the values are not declared (a review: `null` and `out` of a recipe's
  // JSON.stringify(out, null, 2), `fold` of a key { model, fold, seed }).
  assert.deepEqual(declaredNames("const summary = target({\n  inputs: ({ model, fold, seed }) => [f(model, fold)],\n  run: async (ctx) => {\n    await writeFile(x, JSON.stringify(out, null, 2));\n  }\n});"), ["summary"]);
  assert.deepEqual(declaredNames("const re = /[(,]/g, b = 2;"), ["re", "b"]);
  assert.deepEqual(declaredNames("const t = `x ${f(a, b)} y`, u = 1;"), ["t", "u"]);
  assert.deepEqual(declaredNames("const h = a / b, k = (c, d);"), ["h", "k"]);
  // A nested template holding a quote, a division after x++, a nested pattern with a default (a review).
  assert.deepEqual(declaredNames("const header = `# ${title ? `${title}'s report` : \"report\"}`, precision = 3;"), ["header", "precision"]);
  assert.deepEqual(declaredNames("const w = x++ / 2, y = z / 3;"), ["w", "y"]);
  assert.deepEqual(declaredNames("const { a: { b } = {}, c } = obj;"), ["a", "b", "c"]);
  // Brackets this scan cannot balance: every candidate (a superset).
  assert.deepEqual(declaredNames("const a = f(x, y;"), ["a", "y"]);
});

test("output paths must stay inside the project and out of .pipe/", () => {
  assert.deepEqual(checkOutputPath("/p", "build/x.txt"), { path: "build/x.txt", dir: false });
  assert.deepEqual(checkOutputPath("/p", "build/plots/"), { path: "build/plots", dir: true });
  assert.deepEqual(checkOutputPath("/p", "build/../out.txt"), { path: "out.txt", dir: false });
  assert.match((checkOutputPath("/p", "data/../../x") as { problem: string }).problem, /outside the project root/);
  assert.match((checkOutputPath("/p", ".pipe/cache") as { problem: string }).problem, /inside .pipe\//);
  assert.match((checkOutputPath("/p", ".") as { problem: string }).problem, /project root itself/);
});

test("diagnostics render as error, location, details and hint", () => {
  const text = formatDiagnostics([{ message: 'unknown target "trian"; did you mean "train"?', location: { file: "/p/Pipelinefile.ts", line: 3, column: 5 }, details: ["a -> b"], hint: "pipe status lists every target" }], "/p");
  assert.equal(text, 'error: unknown target "trian"; did you mean "train"?\n  at Pipelinefile.ts:3:5\n  a -> b\n  hint: pipe status lists every target');
});

test("the same problem at the same place is said once, with how many times (targets declared in a loop); others stay apart, in order", () => {
  const loop = { message: "a target has no name", location: { file: "/p/Pipelinefile.ts", line: 4, column: 3 }, hint: "give each one a name" };
  const other = { message: "a target has no name", location: { file: "/p/Pipelinefile.ts", line: 9, column: 1 }, hint: "give each one a name" };
  const bare = { message: "the default export must be a target" };
  const text = formatDiagnostics([loop, other, loop, bare, loop, bare], "/p");
  assert.equal(
    text,
    "error: a target has no name (3 times)\n  at Pipelinefile.ts:4:3\n  hint: give each one a name\n" +
      "error: a target has no name\n  at Pipelinefile.ts:9:1\n  hint: give each one a name\n" +
      "error: the default export must be a target (2 times)",
  );
});

test("withoutLiterals blanks strings, template text, regex literals and comments, and keeps code", () => {
  assert.equal(withoutLiterals(`f("a b", 'c') + g`), `f("", '') + g`);
  assert.equal(withoutLiterals("x = `t ${a + `u ${b}`} v` + c"), "x = `${a + `${b}`}` + c");
  // A slash after an operand divides; where an operand goes it starts a regex.
  assert.equal(withoutLiterals(`a / b / c`), `a / b / c`);
  assert.equal(withoutLiterals(`(a) / 2 + x[1] / 3 + i++ / 4`), `(a) / 2 + x[1] / 3 + i++ / 4`);
  assert.equal(withoutLiterals(`size.of / 2 + h() / 3`), `size.of / 2 + h() / 3`, "a property named like a keyword divides");
  assert.equal(withoutLiterals(`return /"/.test(s) ? h("q") : k`), `return /r/.test(s) ? h("") : k`);
  assert.equal(withoutLiterals(`if (ok) /'[/]'/g.test(s) && h()`), `if (ok) /r/.test(s) && h()`);
  assert.equal(withoutLiterals(`s.replace(/"/g, h(y)) + "z"`), `s.replace(/r/, h(y)) + ""`);
  assert.equal(withoutLiterals(String.raw`x => /a\/b/.test(x)`), `x => /r/.test(x)`);
  assert.equal(withoutLiterals(`a // train\nb /* train */ c`), `a \nb  c`);
  // Unreadable to the end: undefined (every token then counts).
  assert.equal(withoutLiterals(`f("open`), undefined);
  assert.equal(withoutLiterals("`open ${a"), undefined);
  assert.equal(withoutLiterals(`x = /open`), undefined);
});
