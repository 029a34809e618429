// The terminal UI under a real pseudo-terminal (tmux), and piped.
// Synchronisation uses tmux's own channels (`tmux wait-for`): no sleeps in the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { PIPE_BIN, Project } from "../helpers/rig.ts";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const HEAD = `import { target, sh } from "pipefile";\n`;

class Tmux {
  readonly socket = `pipe-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  t(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }
  /**
   * Starts `command` in a 100x30 terminal (or `width` columns); when it ends, its exit code is
   * written and `done` signalled. With `signalOn`, each channel is signalled once the terminal has
   * shown its text, in order: a text counts only in what the terminal shows after the previous one.
   */
  start(dir: string, command: string, signalOn?: Signal | Signal[], width = 100): void {
    const env = ["env", "-u", "CI", "-u", "CONTINUOUS_INTEGRATION", "NO_COLOR=1", "PIPE_TODAY=2024-06-01", "PIPE_KILL_GRACE_MS=3000", "TERM=xterm-256color"];
    // The wrapper survives Ctrl-C (a trap, not an ignore: pipe must still get SIGINT).
    const script = `trap : INT; cd ${JSON.stringify(dir)} && ${env.join(" ")} ${command}; echo $? > exit.code; tmux -L ${this.socket} wait-for -S done; sleep 600`;
    this.t("new-session", "-d", "-x", String(width), "-y", "30", "sh", "-c", script);
    const log = JSON.stringify(dir + "/raw.log");
    if (!signalOn) {
      this.t("pipe-pane", "-o", `cat >> ${log}`);
      return;
    }
    const signals = Array.isArray(signalOn) ? signalOn : [signalOn];
    const watcher = [
      `const { appendFileSync } = require("node:fs"); const { execFileSync } = require("node:child_process");`,
      `const signals = ${JSON.stringify(signals)}; let seen = "", next = 0;`,
      `process.stdin.on("data", (d) => { appendFileSync(${log}, d); if (next >= signals.length) return; seen = (seen + d).slice(-4096);`,
      `if (seen.includes(signals[next].text)) { seen = ""; execFileSync("tmux", ["-L", ${JSON.stringify(this.socket)}, "wait-for", "-S", signals[next++].channel]); } });`,
    ].join(" ");
    this.t("pipe-pane", "-o", `${process.execPath} -e ${shellQuote(watcher)}`);
  }
  waitFor(channel: string): void {
    this.t("wait-for", channel);
  }
  screen(): string {
    return this.t("capture-pane", "-p");
  }
  cursorVisible(): boolean {
    return this.t("display-message", "-p", "#{cursor_flag}").trim() === "1";
  }
  kill(): void {
    try {
      this.t("kill-server");
    } catch {
      // already gone
    }
  }
}

/** A tmux channel to signal once the terminal shows `text`. */
interface Signal {
  text: string;
  channel: string;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function forty(slow: string): string {
  const lines = [HEAD.trim()];
  for (let i = 0; i < 40; i++) {
    const run = i % 10 === 0 ? slow : "(c) => sh`touch ${c.outputs[0]}`";
    lines.push(`export const t${i} = target({ ${i >= 10 ? `inputs: [t${i - 10}], ` : ""}outputs: ["build/t${i}"], env: ["TMUX"], run: ${run} });`);
  }
  lines.push(`export default [${Array.from({ length: 40 }, (_, i) => `t${i}`).join(", ")}];`);
  return lines.join("\n") + "\n";
}

test("under a terminal: a 40-target build at -j 4 shows the live view and ends with the summary", { skip: !hasTmux && "tmux not installed" }, async () => {
  const p = new Project({ "Pipelinefile.ts": forty("(c) => sh`sh -c ${'sleep 0.3; touch \"$0\"'} ${c.outputs[0]}`") });
  const tmux = new Tmux();
  try {
    tmux.start(p.dir, `${process.execPath} ${PIPE_BIN} build -j 4`);
    tmux.waitFor("done");
    assert.equal(p.read("exit.code").trim(), "0");
    const raw = readFileSync(p.path("raw.log"), "utf8");
    assert.match(raw, /\x1b\[\?25l/, "the live view hides the cursor while it draws");
    assert.match(raw, /running/, "the header counts running targets");
    assert.match(raw, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, "spinners on running targets");
    const screen = tmux.screen();
    assert.match(screen, /40 built/, screen);
    assert.match(screen, /critical path/i);
    assert.doesNotMatch(screen, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, "no live area is left over");
    assert.ok(tmux.cursorVisible(), "the cursor is visible again");
  } finally {
    tmux.kill();
    p.remove();
  }
});

test("piped, the same build prints plain lines without escape codes", async () => {
  const p = new Project({ "Pipelinefile.ts": forty("(c) => sh`touch ${c.outputs[0]}`") });
  try {
    const r = await p.run(["build", "-j", "4"], { env: { CI: "" } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /\x1b/);
    assert.match(r.stdout, /^built t0 /m);
    assert.match(r.stdout, /40 built/);
  } finally {
    p.remove();
  }
});

test("Ctrl-C in the live view: exit 130, no recipe process left, cursor restored", { skip: !hasTmux && "tmux not installed" }, async () => {
  const token = `pipe-tty-${process.pid}-${Date.now()}`;
  const tmux = new Tmux();
  // The slow recipes tell the test they have started (through tmux), then wait in background jobs.
  const slow = `(c) => sh\`sh -c \${"tmux -L ${tmux.socket} wait-for -S started; sh -c 'sleep 300; true' ${token} & sh -c 'sleep 300; true' ${token} & wait"}\``;
  const p = new Project({ "Pipelinefile.ts": forty(slow) });
  try {
    tmux.start(p.dir, `${process.execPath} ${PIPE_BIN} build -j 4`);
    tmux.waitFor("started");
    tmux.t("send-keys", "C-c");
    tmux.waitFor("done");
    assert.equal(p.read("exit.code").trim(), "130");
    const left = spawnSync("pgrep", ["-f", token], { encoding: "utf8" }).stdout.trim();
    assert.equal(left, "", "no recipe process survives");
    assert.ok(tmux.cursorVisible(), "the cursor is visible again");
    const screen = tmux.screen();
    assert.match(screen, /interrupt/i, screen);
    assert.doesNotMatch(screen, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, "no live area is left over");
  } finally {
    tmux.kill();
    p.remove();
  }
});

test("under a terminal, a no-op answered from the snapshot prints the live view's summary line", { skip: !hasTmux && "tmux not installed" }, async () => {
  const p = new Project({ "Pipelinefile.ts": HEAD + Array.from({ length: 40 }, (_, i) => `export const t${i} = target({ outputs: ["build/t${i}"], run: (c) => sh\`touch \${c.outputs[0]}\` });\n`).join("") });
  assert.equal((await p.run(["build"])).code, 0);
  assert.equal((await p.run(["build"])).code, 0);
  const tmux = new Tmux();
  try {
    // Once through the live view (full plan), once from the snapshot: the same line.
    tmux.start(p.dir, `sh -c ${JSON.stringify(`PIPE_NO_SNAPSHOT=1 ${process.execPath} ${PIPE_BIN} build && ${process.execPath} ${PIPE_BIN} build`)}`);
    tmux.waitFor("done");
    assert.equal(p.read("exit.code").trim(), "0");
    const lines = tmux.screen().split("\n").filter((l) => l.includes("up to date"));
    assert.equal(lines.length, 2, tmux.screen());
    for (const l of lines) assert.match(l, /^✔ ok: 40 up to date in \d+ms$/);
  } finally {
    tmux.kill();
  }
  // --verbose lists every up-to-date target: from the snapshot as in a full no-op.
  const screens: string[] = [];
  for (const env of ["PIPE_NO_SNAPSHOT=1 ", ""]) {
    const run = new Tmux();
    try {
      run.start(p.dir, `sh -c ${JSON.stringify(`${env}${process.execPath} ${PIPE_BIN} build -v`)}`);
      run.waitFor("done");
      assert.equal(p.read("exit.code").trim(), "0");
      screens.push(run.screen().replace(/in \d+ms/, "in Nms").trimEnd());
    } finally {
      run.kill();
    }
  }
  assert.match(screens[1], /up to date t39/);
  assert.equal(screens[1], screens[0]);
  p.remove();
});

test("Ctrl-C while pipe watch reloads the Pipelinefile (signals at their default action): the cursor is visible again", { skip: !hasTmux && "tmux not installed" }, async () => {
  const tmux = new Tmux();
  // Once `stage2` exists, loading the Pipelinefile tells the test and then never finishes: pipe's
  // signal handlers cannot run, so Ctrl-C ends pipe by its default action.
  const p = new Project({
    "Pipelinefile.ts": [
      `import { existsSync } from "node:fs";`,
      `import { execFileSync } from "node:child_process";`,
      HEAD.trim(),
      `if (existsSync("stage2")) { execFileSync("tmux", ["-L", ${JSON.stringify(tmux.socket)}, "wait-for", "-S", "looping"]); for (;;) {} }`,
      `export const a = target({ outputs: ["build/a"], run: (c) => sh\`touch \${c.outputs[0]}\` });`,
      "",
    ].join("\n"),
  });
  try {
    tmux.start(p.dir, `${process.execPath} ${PIPE_BIN} watch`, { text: "waiting for changes", channel: "idle" });
    tmux.waitFor("idle");
    assert.ok(!tmux.cursorVisible(), "the live view hides the cursor while watching");
    p.write({ stage2: "", "Pipelinefile.ts": p.read("Pipelinefile.ts") + "// edited\n" });
    tmux.waitFor("looping");
    tmux.t("send-keys", "C-c");
    tmux.waitFor("done");
    assert.equal(p.read("exit.code").trim(), "130", "SIGINT's default action");
    assert.ok(tmux.cursorVisible(), "the cursor is visible again");
  } finally {
    tmux.kill();
    p.remove();
  }
});

test("pipe watch after the terminal narrows: the live view redraws at the new width, rows cut with …, no stacked frames", { skip: !hasTmux && "tmux not installed" }, async () => {
  const tmux = new Tmux();
  const long = "a recipe log line long enough to be wider than a forty-column terminal, by a good margin";
  const p = new Project({
    "Pipelinefile.ts": HEAD + `export const long = target({ inputs: ["data/in.txt"], outputs: ["build/out.txt"], run: (c) => sh\`sh -c \${${JSON.stringify(`for i in 1 2 3 4; do echo "${long} $i"; sleep 0.2; done; cp "$0" "$1"`)}} \${c.inputs[0]} \${c.outputs[0]}\` });\n`,
    "data/in.txt": "1\n",
  });
  try {
    assert.equal((await p.run(["build"])).code, 0);
    tmux.start(p.dir, `${process.execPath} ${PIPE_BIN} watch`, [{ text: "waiting for changes", channel: "idle" }, { text: "ok: 1 built", channel: "rebuilt" }], 120);
    tmux.waitFor("idle");
    tmux.t("resize-window", "-x", "40");
    p.write({ "data/in.txt": "2\n" });
    tmux.waitFor("rebuilt");
    const screen = tmux.screen();
    assert.doesNotMatch(screen, /\d\/1 done/, `no live header is left over from the build:\n${screen}`);
    assert.match(screen, /^◌ watching \S.*…$/m, `the idle line is cut to the width:\n${screen}`);
    assert.match(screen, /^✔ built long .*…$/m, screen);
  } finally {
    tmux.kill();
    p.remove();
  }
});

test("under a terminal with DEV=true (Ink's React-devtools switch): the live view as usual, no devtools install hint", { skip: !hasTmux && "tmux not installed" }, async () => {
  const p = new Project({ "Pipelinefile.ts": forty("(c) => sh`touch ${c.outputs[0]}`") });
  const tmux = new Tmux();
  try {
    tmux.start(p.dir, `env DEV=true ${process.execPath} ${PIPE_BIN} build -j 4`);
    tmux.waitFor("done");
    assert.equal(p.read("exit.code").trim(), "0");
    const raw = readFileSync(p.path("raw.log"), "utf8");
    assert.match(raw, /\x1b\[\?25l/, "the live view drew");
    assert.doesNotMatch(raw, /devtools/i);
    assert.match(tmux.screen(), /40 built/);
  } finally {
    tmux.kill();
    p.remove();
  }
});

const hasScript = spawnSync("script", ["-V"]).status === 0;

test("a terminal that reports no size (0 columns, as under `script`) gets plain lines, not one character per line", { skip: !hasScript && "script (util-linux) not installed" }, async () => {
  const p = new Project({ "Pipelinefile.ts": forty("(c) => sh`touch ${c.outputs[0]}`") });
  try {
    // script's terminal takes its size from its own stdin; not a terminal here, so 0 x 0.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", TERM: "xterm-256color" };
    delete env.CI;
    delete env.CONTINUOUS_INTEGRATION;
    const r = spawnSync("script", ["-qec", `stty size; ${process.execPath} ${PIPE_BIN} build -j 4`, "/dev/null"], { cwd: p.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout.replace(/\r/g, "");
    assert.match(out, /^0 0$/m, "the terminal has no size");
    assert.match(out, /^built t0 /m);
    assert.match(out, /40 built/);
    assert.doesNotMatch(out, /\x1b\[2J/, "no screen clears");
  } finally {
    p.remove();
  }
});
