#!/usr/bin/env node
// The `gatehouse` command. A committed shim, so that npm can link the bin at install time,
// before the TypeScript build has produced dist/ (npm skips bins whose target does not exist).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('gatehouse: the package is not built yet; run `npm run build` first\n');
  process.exit(1);
}
const { runCli } = await import(cli.href);
process.exitCode = await runCli(process.argv.slice(2));
