// The caller's stdin, saved once so every environment reads the same bytes: a pipe or file is copied
// to a private file (streamed: any size, flat memory) that each run gets as its stdin. A terminal is
// not forwarded (an interactive session cannot be replayed), nor is anything when stdin is closed.

import { createWriteStream, fstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import { TEMP_PREFIX, writeOwner } from './run-dir.js';

export interface SavedStdin {
  /** The saved bytes, or null when nothing is forwarded. */
  file: string | null;
  /** Why nothing is forwarded, for the report (null when forwarded). */
  reason: string | null;
  dispose(): Promise<void>;
}

const NONE = (reason: string): SavedStdin => ({ file: null, reason, dispose: async () => undefined });

/** Saves stdin for replay; `signal` stops waiting for a writer that never closes the pipe. */
export async function saveStdin(signal: AbortSignal): Promise<SavedStdin> {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return NONE('stdin is closed');
  }
  if (process.stdin.isTTY) return NONE('stdin is a terminal (not forwarded: an interactive session cannot be replayed)');
  if (st.isCharacterDevice()) return NONE('stdin is a device (such as /dev/null): not forwarded');
  const dir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    writeOwner(dir, 'stdin');
    const file = path.join(dir, 'stdin');
    await pipeline(process.stdin, createWriteStream(file, { mode: 0o600, flags: 'wx' }), { signal });
    return { file, reason: null, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
