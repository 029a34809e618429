import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createReporter, isCi, pickMode } from "../../src/ui/index.ts";
import { finished, MemoryStream, start, started } from "./fixtures.ts";

describe("pickMode", () => {
  const cases: Array<[string, { isTTY: boolean | undefined; env: Record<string, string>; json: boolean; columns?: number }, string]> = [
    ["--json wins everywhere", { isTTY: true, env: {}, json: true }, "json"],
    ["a TTY outside CI gets Ink", { isTTY: true, env: {}, json: false }, "ink"],
    ["a pipe gets plain lines", { isTTY: false, env: {}, json: false }, "plain"],
    ["unknown TTY-ness gets plain lines", { isTTY: undefined, env: {}, json: false }, "plain"],
    ["CI=true on a TTY gets plain lines", { isTTY: true, env: { CI: "true" }, json: false }, "plain"],
    ["CI set to empty still counts as CI", { isTTY: true, env: { CI: "" }, json: false }, "plain"],
    ["CI=1 counts as CI", { isTTY: true, env: { CI: "1" }, json: false }, "plain"],
    ["CI=false does not", { isTTY: true, env: { CI: "false" }, json: false }, "ink"],
    ["CI=0 does not", { isTTY: true, env: { CI: "0" }, json: false }, "ink"],
    ["CONTINUOUS_INTEGRATION counts like Ink's is-in-ci", { isTTY: true, env: { CONTINUOUS_INTEGRATION: "yes" }, json: false }, "plain"],
    ["TERM=dumb gets plain lines", { isTTY: true, env: { TERM: "dumb" }, json: false }, "plain"],
    ["a TTY of 0 columns (no size known) gets plain lines", { isTTY: true, env: {}, json: false, columns: 0 }, "plain"],
    ["a TTY of 80 columns gets Ink", { isTTY: true, env: {}, json: false, columns: 80 }, "ink"],
  ];
  for (const [name, inputs, mode] of cases) {
    test(name, () => assert.equal(pickMode(inputs), mode));
  }
  test("isCi ignores unset variables", () => assert.equal(isCi({ CI: undefined }), false));
});

describe("createReporter", () => {
  const events = [started([["a", "run"]]), start("a"), finished({ built: 1 }, 1200, ["a"], 1100)];
  const base = { stderr: new MemoryStream(), color: false, quiet: false, verbose: false, jobs: 2, now: () => 0 };

  test("plain mode writes lines to stdout and nothing to stderr", async () => {
    const stdout = new MemoryStream();
    const stderr = new MemoryStream();
    const r = await createReporter({ ...base, stderr, mode: "plain", stdout });
    for (const e of events) r.onEvent(e);
    await r.close();
    assert.deepEqual(stdout.lines, ["plan: 1 to run (jobs 2)", "start a (no record)", "ok: 1 built in 1.2s; critical path 1.1s: a"]);
    assert.equal(stderr.text, "");
  });

  test("json mode writes one line per event", async () => {
    const stdout = new MemoryStream();
    const r = await createReporter({ ...base, mode: "json", stdout, quiet: true, verbose: true });
    for (const e of events) r.onEvent(e);
    await r.close();
    assert.deepEqual(stdout.lines.map((l) => JSON.parse(l)), events);
  });

  test("--quiet wins over --verbose", async () => {
    const stdout = new MemoryStream();
    const r = await createReporter({ ...base, mode: "plain", stdout, quiet: true, verbose: true });
    for (const e of events) r.onEvent(e);
    r.onEvent({ type: "log", target: "a", stream: "stdout", line: "x" });
    await r.close();
    assert.deepEqual(stdout.lines, ["ok: 1 built in 1.2s; critical path 1.1s: a"]);
  });

  test("Ctrl-C (SIGINT) is shown and forwarded to onInterrupt while the reporter is open", async () => {
    const stdout = new MemoryStream();
    let calls = 0;
    const listenersBefore = process.listenerCount("SIGINT");
    const r = await createReporter({ ...base, mode: "plain", stdout, onInterrupt: () => calls++ });
    assert.equal(process.listenerCount("SIGINT"), listenersBefore + 1);
    r.onEvent(events[0]);
    r.onEvent(events[1]);
    process.emit("SIGINT");
    process.emit("SIGINT");
    assert.equal(calls, 2, "every Ctrl-C is forwarded, so the caller can escalate");
    await r.close();
    assert.equal(process.listenerCount("SIGINT"), listenersBefore, "the handler is removed on close");
    assert.deepEqual(stdout.lines.slice(-2), ["interrupt: stopping 1 running target", "interrupt again: killing 1 running target"]);
  });

  test("without onInterrupt no signal handler is installed", async () => {
    const before = process.listenerCount("SIGINT");
    const r = await createReporter({ ...base, mode: "plain", stdout: new MemoryStream() });
    assert.equal(process.listenerCount("SIGINT"), before);
    await r.close();
  });
});

describe("startup cost", () => {
  // A fresh node records every module it loads (a module hook appends each URL to a file),
  // creates a plain and a JSON reporter, and exits. Ink and React must not be among them.
  test("plain and json modes never load Ink or React", () => {
    const dir = mkdtempSync(join(tmpdir(), "pipe-ui-startup-"));
    try {
      const log = join(dir, "loaded.txt");
      const index = new URL("../../src/ui/index.js", import.meta.url).href;
      writeFileSync(
        join(dir, "hooks.mjs"),
        `import { appendFileSync } from "node:fs";
        export async function load(url, context, next) {
          appendFileSync(${JSON.stringify(log)}, url + "\\n");
          return next(url, context);
        }`,
      );
      writeFileSync(
        join(dir, "main.mjs"),
        `import { register } from "node:module";
        register(new URL("./hooks.mjs", import.meta.url));
        const { createReporter } = await import(${JSON.stringify(index)});
        const sink = { write: (_s, cb) => { if (typeof cb === "function") cb(); return true; } };
        for (const mode of ["plain", "json"]) {
          const r = await createReporter({ mode, stdout: sink, stderr: sink, color: false, quiet: false, verbose: false, jobs: 1 });
          r.onEvent({ type: "warning", message: "w" });
          await r.close();
        }`,
      );
      const r = spawnSync(process.execPath, [join(dir, "main.mjs")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const loaded = readFileSync(log, "utf8").trim().split("\n");
      assert.ok(loaded.some((u) => u.endsWith("/ui/plain-reporter.js")), "the hook saw the UI modules");
      const heavy = loaded.filter((u) => /node_modules\/(ink|react|yoga[^/]*|ink-[^/]+)\//.test(u) || u.includes("/ui/ink/"));
      assert.deepEqual(heavy, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the Ink reporter is reached only through a dynamic import", () => {
    const js = readFileSync(fileURLToPath(new URL("../../src/ui/index.js", import.meta.url)), "utf8");
    assert.match(js, /await import\("\.\/ink\/render\.js"\)/);
    assert.doesNotMatch(js, /^import .*ink/m);
  });
});
