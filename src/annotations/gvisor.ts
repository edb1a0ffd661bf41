// gVisor's own account of its syscalls: `runsc help syscalls --format=json` (amd64 table). Read from the
// installed runsc when there is one (it may be newer than the committed copy), else from the copy
// scripts/make-annotations.ts committed in data/gvisor-amd64.json. Either way the version is named.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { which } from '../runners/which.js';
import { fileKey, readCached, writeCached } from '../cache.js';
import { tableFromRunscHelp, runscVersionOf, type GvisorTable } from './gvisor-table.js';
import committed from './data/gvisor-amd64.json' with { type: 'json' };

export type { GvisorTable };

export const COMMITTED_TABLE: GvisorTable = committed as GvisorTable;

const run = promisify(execFile);

/**
 * The installed runsc's table, or null when there is no runsc or it cannot print one. What runsc printed is
 * cached under its file's identity (cache.ts): its two runs took ~80 ms of CPU at each command's start.
 */
export async function installedTable(): Promise<GvisorTable | null> {
  const runsc = await which('runsc');
  if (!runsc) return null;
  let name: string | null = null;
  try {
    name = `runsc-syscalls-${fileKey(runsc)}.json`;
  } catch {
    // Gone since `which` found it: asked below, which says so.
  }
  const cached = name ? readCached(name) : null;
  if (cached !== null) {
    const table = tableOf(runsc, cached);
    if (table) return table;
    // Not what this code wrote: asked again below, and written over.
  }
  try {
    // SIGKILL: a runsc that ignores SIGTERM (a hung one) must not hold the report forever.
    const opts = { timeout: 5_000, killSignal: 'SIGKILL' as const, maxBuffer: 8 << 20 };
    const [help, version] = await Promise.all([run(runsc, ['help', 'syscalls', '--format=json'], opts), run(runsc, ['--version'], opts)]);
    const printed = JSON.stringify({ help: help.stdout, version: version.stdout });
    const table = tableOf(runsc, printed);
    if (table && name) writeCached(name, printed);
    return table;
  } catch {
    return null;
  }
}

/** The table from what runsc printed (`{ help, version }`, as cached), or null when it is not a table. */
function tableOf(runsc: string, printed: string): GvisorTable | null {
  try {
    const { help, version } = JSON.parse(printed) as { help: string; version: string };
    return tableFromRunscHelp(JSON.parse(help), runscVersionOf(version), `installed ${runsc}`);
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
