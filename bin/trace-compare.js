#!/usr/bin/env node
// A stop signal while the CLI loads is held for the command (which cleans up), not fatal.
const { holdEarlySignals } = await import('../dist/src/early-signals.js');
holdEarlySignals();
// A command that may trace starts the host-kernel count now: its start overlaps the CLI's load.
const { prestartFor } = await import('../dist/src/prestart.js');
prestartFor(process.argv.slice(2));
const { runCli } = await import('../dist/src/cli.js');
await runCli();
