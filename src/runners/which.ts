// Finding an executable on PATH (and in the sbin dirs). Node's built-ins only: the entry point looks for
// bpftrace before the CLI has loaded (prestart.ts).

import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** Absolute path of `name` on PATH, or null. */
export async function which(name: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  if (name.includes('/')) {
    const abs = path.resolve(name);
    return (await isExecutable(abs)) ? abs : null;
  }
  // sbin dirs are not on every user's PATH but that is where Debian puts runc.
  const dirs = [...envPath.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
