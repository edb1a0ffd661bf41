// What bin/trace-compare.js runs (from dist/, or from the bundled build of it, dist/bundle/). Each step is a
// dynamic import so that it runs before the next module loads: in the bundle each is a chunk of its own, so
// bpftrace is spawned before node has even parsed the CLI.

// A stop signal while the CLI loads is held for the command (which cleans up), not fatal.
const { holdEarlySignals } = await import('./early-signals.js');
holdEarlySignals();
// A command that may trace starts the host-kernel count now: its start overlaps the CLI's load.
const { prestartFor } = await import('./prestart.js');
prestartFor(process.argv.slice(2));
const { runCli } = await import('./cli.js');
await runCli();

export {};
