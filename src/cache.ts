// What the tool keeps between runs: outputs of installed programs that only change with the program itself
// (runsc's syscall table), under the name of the program's file identity. A key names the file's device,
// inode, size and change times, so a reinstalled or upgraded program is asked again. Only this user's private
// dir is used (mode 0700, not a symlink, owned by this uid), and files are opened without following symlinks;
// anything else reads as no cache: the caller runs the program, as it would without one.

import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** `$XDG_CACHE_HOME/trace-compare`, else `~/.cache/trace-compare`. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME)
    ? process.env.XDG_CACHE_HOME
    : path.join(os.homedir(), '.cache');
  return path.join(base, 'trace-compare');
}

/** A key for what `file` prints: changes when the file is replaced or modified. */
export async function fileKey(file: string): Promise<string> {
  const st = await stat(file, { bigint: true });
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].map(String).join('-');
}

/** The private dir, made if need be; null when it is not this user's alone. */
async function privateDir(dir: string): Promise<string | null> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => undefined);
  const st = await lstat(dir).catch(() => null);
  const uid = process.getuid?.();
  if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return null;
  return dir;
}

/** The text cached under `name`, or null (no entry, or no private dir). */
export async function readCached(name: string, dir = cacheDir()): Promise<string | null> {
  const d = await privateDir(dir);
  if (!d) return null;
  const fh = await open(path.join(d, name), constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Caches `text` under `name`: written beside it, then renamed over it (a reader never sees half). Never throws. */
export async function writeCached(name: string, text: string, dir = cacheDir()): Promise<void> {
  const d = await privateDir(dir);
  if (!d) return;
  const tmp = path.join(d, `.${name}.${process.pid}.tmp`);
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(d, name));
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}
