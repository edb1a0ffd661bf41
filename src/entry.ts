// What bin/trace-compare.js runs (from dist/, or from the bundled build of it, dist/bundle/). The two steps
// before the CLI are small modules of node built-ins, loaded with this one; the CLI is a dynamic import (in
// the bundle a chunk of its own), so bpftrace is spawned before node has even parsed the CLI.

import { holdEarlySignals } from './early-signals.js';
import { prestartFor } from './prestart.js';


// A stop signal while the CLI loads is held for the command (which cleans up), not fatal.
holdEarlySignals();
// A command that may trace starts the host-kernel count now: its start overlaps the CLI's load.
prestartFor(process.argv.slice(2));
const { runCli } = await import('./cli.js');
await runCli();
// Everything is settled and written (stdout and stderr are synchronous on Linux): node's own teardown of
// its heap would take ~20 ms more.
process.exit();
