#!/usr/bin/env node
// A stop signal while the CLI loads is held for the command (which cleans up), not fatal.
const { holdEarlySignals } = await import('../dist/src/early-signals.js');
holdEarlySignals();
const { runCli } = await import('../dist/src/cli.js');
await runCli();
