#!/usr/bin/env node
// pipe's launcher: the compiled CLI lives in dist/ (built by `npm run build` / `prepare`).
import { main } from "../dist/src/cli/main.js";

// `pipe status | head`: a closed pipe is not an error.
for (const s of [process.stdout, process.stderr]) s.on("error", (e) => { if (e.code !== "EPIPE") throw e; });
process.exitCode = await main(process.argv.slice(2));
