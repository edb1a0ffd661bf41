// gVisor's own account of its syscalls: `runsc help syscalls --format=json` (amd64 table). Read from the
// installed runsc when there is one (it may be newer than the committed copy), else from the copy
// scripts/make-annotations.ts committed in data/gvisor-amd64.json. Either way the version is named.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { which } from '../runners/which.js';
import { tableFromRunscHelp, runscVersionOf, type GvisorTable } from './gvisor-table.js';
import committed from './data/gvisor-amd64.json' with { type: 'json' };

export type { GvisorTable };

export const COMMITTED_TABLE: GvisorTable = committed as GvisorTable;

const run = promisify(execFile);

/** The installed runsc's table, or null when there is no runsc or it cannot print one. */
export async function installedTable(): Promise<GvisorTable | null> {
  const runsc = await which('runsc');
  if (!runsc) return null;
  try {
    // SIGKILL: a runsc that ignores SIGTERM (a hung one) must not hold the report forever.
    const opts = { timeout: 5_000, killSignal: 'SIGKILL' as const, maxBuffer: 8 << 20 };
    const [help, version] = await Promise.all([run(runsc, ['help', 'syscalls', '--format=json'], opts), run(runsc, ['--version'], opts)]);
    return tableFromRunscHelp(JSON.parse(help.stdout), runscVersionOf(version.stdout), `installed ${runsc}`);
  } catch {
    return null;
  }
}

let loaded: Promise<GvisorTable> | null = null;

/** Once per process: the installed runsc's table when it can be read, else the committed one. */
export function gvisorTable(): Promise<GvisorTable> {
  loaded ??= installedTable().then((t) => t ?? COMMITTED_TABLE);
  return loaded;
}
