#!/usr/bin/env node
// pipe's launcher: the compiled CLI lives in dist/ (built by `npm run build` / `prepare`).
import { main } from "../dist/src/cli/main.js";

const code = await main(process.argv.slice(2));
process.exitCode = code;
