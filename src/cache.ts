// What the tool keeps between runs: outputs of installed programs that only change with the program itself
// (runsc's syscall table, bpftrace's compiled count program), under the name of the program's file identity.
// A key names the file's device, inode, size and change times, so a reinstalled or upgraded program is asked
// again. Only this user's private dir is used (mode 0700, not a symlink, owned by this uid), and files are
// opened without following symlinks; anything else reads as no cache: the caller runs the program, as it
// would without one.
// Synchronous: a few small file operations, and the count session (runners/bpf-session.ts) reads its program
// here before the CLI has loaded, where nothing may wait for the event loop.

import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `$XDG_CACHE_HOME/trace-compare`, else `~/.cache/trace-compare`. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME)
    ? process.env.XDG_CACHE_HOME
    : path.join(os.homedir(), '.cache');
  return path.join(base, 'trace-compare');
}

/** A key for what `file` prints: changes when the file is replaced or modified. Throws when it is missing. */
export function fileKey(file: string): string {
  const st = statSync(file, { bigint: true });
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].map(String).join('-');
}

/** The private dir, made if need be; null when it is not this user's alone. */
function privateDir(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return null;
    return dir;
  } catch {
    // Not this user's to make or read (another user's HOME): no cache.
    return null;
  }
}

/** The bytes cached under `name`, or null (no entry, or no private dir). */
export function readCachedBytes(name: string, dir = cacheDir()): Buffer | null {
  const d = privateDir(dir);
  if (!d) return null;
  let fd: number;
  try {
    fd = openSync(path.join(d, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The text cached under `name`, or null. */
export function readCached(name: string, dir = cacheDir()): string | null {
  return readCachedBytes(name, dir)?.toString('utf8') ?? null;
}

/** Forgets what is cached under `name` (an entry its program refused). Never throws. */
export function removeCached(name: string, dir = cacheDir()): void {
  const d = privateDir(dir);
  if (!d) return;
  try {
    unlinkSync(path.join(d, name));
  } catch {
    // Not there.
  }
}

/** Caches `data` under `name`: written beside it, then renamed over it (a reader never sees half). Never throws. */
export function writeCached(name: string, data: string | Buffer, dir = cacheDir()): void {
  const d = privateDir(dir);
  if (!d) return;
  const tmp = path.join(d, `.${name}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path.join(d, name));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // Not written.
    }
  }
}
