// `trace-compare cleanup`: removes what runs killed with SIGKILL left (processes, containers, cgroups,
// mounts, temp dirs). Runs still going are left alone. The work is in src/runners/leftovers.ts.

import { ExitCode, UserError } from '../errors.js';
import { cleanupLeftovers } from '../runners/leftovers.js';
import { SCRATCH_ROOT } from '../runners/run-dir.js';
import { escapeControls } from '../report/escape.js';
import type { ArgsOf, OptionSpec } from './options.js';

export const CLEANUP_OPTIONS = {
  'dry-run': { type: 'boolean', default: false, describe: 'only list what would be removed' },
  tmpdir: { type: 'string', value: 'DIR', describe: 'the temp dir the runs used (default: $TMPDIR or /tmp)' },
} as const satisfies Record<string, OptionSpec>;

export async function runCleanup(a: ArgsOf<typeof CLEANUP_OPTIONS>): Promise<number> {
  const opts = { dryRun: a['dry-run'], ...(a.tmpdir !== undefined ? { tmpdir: a.tmpdir } : {}) };
  if (process.getuid?.() !== 0 && !opts.dryRun) {
    throw new UserError('cleanup needs root: the leftovers are root\'s containers, cgroups and files', ExitCode.MissingRuntime,
      'run it as root (sudo), or add --dry-run to list them');
  }
  const r = await cleanupLeftovers({ ...(opts.tmpdir ? { tmp: opts.tmpdir } : {}), scratch: SCRATCH_ROOT, dryRun: opts.dryRun });
  const verb = opts.dryRun ? 'would remove' : 'removed';
  for (const line of r.removed) process.stdout.write(`${verb}: ${escapeControls(line)}\n`);
  for (const line of r.live) process.stdout.write(`left alone (its run is still going): ${escapeControls(line)}\n`);
  for (const line of r.failed) process.stderr.write(`trace-compare: could not remove ${escapeControls(line)}\n`);
  if (r.removed.length === 0 && r.failed.length === 0) process.stdout.write('nothing left by earlier runs\n');
  return r.failed.length ? ExitCode.Failure : ExitCode.Ok;
}
