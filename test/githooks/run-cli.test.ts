// `pipe hooks run <hook>` through the real CLI, where git itself does not call it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { dirname } from "node:path";
import { Project } from "../helpers/rig.ts";
import { isolateGit } from "./repo.ts";

isolateGit();

const PIPELINEFILE = `import { target, sh } from "pipefile";
export const a = target({ inputs: ["in.txt"], outputs: ["build/a.txt"], run: ({ inputs, outputs }) => sh\`cp \${inputs[0]} \${outputs[0]}\` });
`;

test("every hook run outside a git work tree is a user error naming the folder and the fix (exit 2, no stack)", async () => {
  const p = new Project({ "Pipelinefile.ts": PIPELINEFILE, "in.txt": "hi\n" });
  try {
    // No repository above the temp folder may count either.
    const env = { GIT_CEILING_DIRECTORIES: dirname(p.dir) };
    const cases = [["pre-commit"], ["post-checkout", "1111", "2222", "1"], ["post-checkout", "1111", "2222", "0"], ["post-merge", "0"]];
    for (const args of cases) {
      const r = await p.run(["hooks", "run", ...args], { env });
      const what = `hooks run ${args.join(" ")}`;
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.match(lines[0], new RegExp(`^error: ${JSON.stringify(realpathSync(p.dir)).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not inside a git work tree`), what);
      assert.equal(lines[1], `  hint: run \`pipe hooks run ${args[0]}\` in a clone of your repository (hooks need a work tree; bare repositories have none)`, what);
      assert.equal(lines.length, 2, `${what}: nothing but the error and its hint\n${r.stderr}`);
      assert.equal(r.stdout, "", what);
      assert.equal(p.exists(".pipe"), false, `${what}: nothing written`);
    }
    const unknown = await p.run(["hooks", "run", "pre-push"], { env });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'error: unknown hook "pre-push"; pipe runs pre-commit, post-checkout and post-merge\n');
  } finally {
    p.remove();
  }
});
