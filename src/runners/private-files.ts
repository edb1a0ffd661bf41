// The run's own files on the host (logs, status, pid file): created exclusively, read without following
// symlinks, and only when they are regular files. They live in the run's private dir (0700, never
// mounted into a pod), so these checks are a second line: a bug that let a pod reach one of them must
// still not make the tool, as root, read or write anything else through it.

import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';

const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Creates an empty file that did not exist (O_EXCL: never an existing file, symlink or FIFO). */
export async function createPrivateFile(file: string): Promise<void> {
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  await fh.close();
}

/**
 * Calls `use` with `file` opened for reading and its size, when it is a regular file itself; null when
 * it is missing, a symlink or anything else. O_NONBLOCK: a FIFO in its place cannot hang the open.
 */
export async function withRegularFile<T>(file: string, use: (fh: FileHandle, size: number) => Promise<T>): Promise<T | null> {
  const fh = await open(file, NOFOLLOW_READ).catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    return st.isFile() ? await use(fh, st.size) : null;
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<string> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead).toString('utf8');
}

/** A small file's text (at most `max` bytes), or null when it is missing or not a regular file. */
export function readPrivateText(file: string, max = 4096): Promise<string | null> {
  return withRegularFile(file, (fh) => readAt(fh, 0, max));
}

/** Whether `file` is a regular file itself (not a symlink to one). */
export async function isRegularFile(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => null))?.isFile() ?? false;
}

/** What a run wrote to one of its output files: a bounded sample of it, and its full size. */
export interface OutputSample {
  /** The first `head` bytes and, when the file is larger, the last `tail` bytes with a marker between. */
  text: string;
  bytes: number;
  truncated: boolean;
}

/** Reads at most head+tail bytes of `file`, so output of any size costs the same memory. */
export async function readSample(file: string, head = 48 * 1024, tail = 16 * 1024): Promise<OutputSample> {
  const sample = await withRegularFile(file, async (fh, size): Promise<OutputSample> => {
    if (size <= head + tail) return { text: await readAt(fh, 0, size), bytes: size, truncated: false };
    const skipped = size - head - tail;
    const text = `${await readAt(fh, 0, head)}\n[... ${skipped} bytes not shown ...]\n${await readAt(fh, size - tail, tail)}`;
    return { text, bytes: size, truncated: true };
  });
  return sample ?? { text: '', bytes: 0, truncated: false };
}
