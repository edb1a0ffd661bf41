// Finding an executable on PATH (and in the sbin dirs). Node's built-ins only: the entry point looks for
// bpftrace before the CLI has loaded (prestart.ts).

import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Absolute path of `name` on PATH, or null. */
export async function which(name: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  return whichSync(name, envPath);
}

/**
 * which(), synchronously: a few access() calls, each a few microseconds. The entry point spawns bpftrace with
 * it before the CLI's module evaluation (which holds the event loop for ~0.2 s) would let a promise settle.
 */
export function whichSync(name: string, envPath = process.env.PATH ?? ''): string | null {
  if (name.includes('/')) {
    const abs = path.resolve(name);
    return isExecutable(abs) ? abs : null;
  }
  // sbin dirs are not on every user's PATH but that is where Debian puts runc.
  const dirs = [...envPath.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
