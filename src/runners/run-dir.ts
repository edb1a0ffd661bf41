// A run's private dirs and the owner mark by which `trace-compare cleanup` (leftovers.ts) tells a live run's
// dir from a killed one's. Node's built-ins only, and synchronous: the entry point makes the host-kernel
// count's dir before the CLI has loaded (prestart.ts), while the CLI's module evaluation holds the event loop.

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deadState, statFields } from './procs.js';

export const TEMP_PREFIX = 'trace-compare-';
export const OWNER = 'owner';

/**
 * Start time of a running process in clock ticks since boot (field 22 of /proc/PID/stat), or null when it is
 * gone or dead but not yet reaped (a SIGKILLed run's owner is dead, whatever its parent does).
 */
export function startTime(pid: number): string | null {
  const fields = statFields(pid);
  return fields === null || deadState(fields[0]) ? null : fields[19] ?? null;
}

/** Where a run's generated trees (its bundle, tool copies) are made: a tmpfs, when /dev/shm is one. */
export const SCRATCH_ROOT = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;

/**
 * A private dir (0700) for run `id` on the scratch tmpfs, marked like the run's own dir; null when there is
 * no such tmpfs. Made there because the temp dir's disk file system took 0.3 s to create the ~1,200 entries
 * of a pod's /etc copy (tmpfs: 0.03 s), twice per three-way run, and as long again to remove them.
 */
export async function makeScratchDir(id: string): Promise<string | null> {
  const fs = await statfs(SCRATCH_ROOT).catch(() => null);
  if (fs?.type !== TMPFS_MAGIC) return null;
  try {
    return makeRunDir(id, SCRATCH_ROOT);
  } catch {
    return null;
  }
}

/** Marks `dir` as this process's run `id`. */
export function writeOwner(dir: string, id: string): void {
  writeFileSync(path.join(dir, OWNER), `${process.pid} ${startTime(process.pid)} ${id}\n`, { mode: 0o600 });
}

/** A new private dir (0700) in `root` (default: the temp dir) marked as this process's run `id`. */
export function makeRunDir(id: string, root = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(root, TEMP_PREFIX));
  chmodSync(dir, 0o700);
  writeOwner(dir, id);
  return dir;
}
