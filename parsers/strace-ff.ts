// strace -ff sets (`strace -ff -o prefix` writes `prefix.<pid>` files): finding and recognising their files,
// and reading them as one trace, merged in time order when their timestamps are absolute.

import { open as openFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TraceEvent } from './events.js';
import { parseStrace, type ParseStraceOptions } from './strace.js';

const FF_SUFFIX = /\.(\d+)$/;

/** True when the paths are one `strace -ff -o prefix` set: every name is `prefix.<pid>`, same prefix. */
export function isStraceFfSet(paths: string[]): boolean {
  if (paths.length === 0) return false;
  let prefix: string | null = null;
  for (const p of paths) {
    const m = FF_SUFFIX.exec(p);
    if (m === null) return false;
    const pre = p.slice(0, m.index);
    if (prefix === null) prefix = pre;
    else if (pre !== prefix) return false;
  }
  return true;
}

/** The files of an `-ff` set written with `-o prefix`, sorted by pid. */
export async function findStraceFfFiles(prefix: string): Promise<string[]> {
  const dir = dirname(prefix);
  const base = basename(prefix) + '.';
  const names = await readdir(dir);
  return names
    .filter((n) => n.startsWith(base) && /^\d+$/.test(n.slice(base.length)))
    .sort((a, b) => Number(a.slice(base.length)) - Number(b.slice(base.length)))
    .map((n) => join(dir, n));
}

/** Sort key of an absolute timestamp (`-t`, `-tt`, `-ttt`): [seconds, nanoseconds]; null if relative or absent. */
export function timestampKey(ts: string | undefined): [number, number] | null {
  if (ts === undefined) return null;
  const dot = ts.indexOf('.');
  const whole = dot >= 0 ? ts.slice(0, dot) : ts;
  const frac = dot >= 0 ? Number((ts.slice(dot + 1) + '000000000').slice(0, 9)) : 0;
  if (whole.indexOf(':') >= 0) {
    const [h, m, s] = whole.split(':').map(Number);
    return [(h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0), frac];
  }
  const secs = Number(whole);
  // `-r` prints small relative deltas; `-ttt` prints seconds since the epoch.
  return secs >= 100_000_000 ? [secs, frac] : null;
}

function eventTimestamp(e: TraceEvent): string | undefined {
  return e.timestamp ?? (e.kind === 'syscall' ? e.endTimestamp : undefined);
}

/**
 * Parses an `-ff` set (`prefix.1234`...; each file's pid comes from its suffix). With absolute
 * timestamps the files merge into one trace in time order; otherwise they follow one another.
 */
export async function* parseStraceFiles(paths: string[], maxLine?: number): AsyncGenerator<TraceEvent> {
  const ff = isStraceFfSet(paths);
  const open = (path: string): AsyncGenerator<TraceEvent> => {
    const m = FF_SUFFIX.exec(path);
    const opts: ParseStraceOptions = { file: path };
    if (ff && m !== null) opts.pid = Number(m[1]);
    if (maxLine !== undefined) opts.maxLine = maxLine;
    return parseStrace(fileChunks(path), opts);
  };
  const gens = paths.map(open);
  const heads: (TraceEvent | null)[] = [];
  for (const g of gens) {
    const r = await g.next();
    heads.push(r.done ? null : r.value);
  }
  const mergeable = heads.every((h) => h === null || timestampKey(eventTimestamp(h)) !== null);
  if (!mergeable) {
    for (let i = 0; i < gens.length; i++) {
      if (heads[i] === null) continue;
      yield heads[i]!;
      yield* gens[i]!;
    }
    return;
  }
  // k-way merge; an event without a timestamp keeps its file's last one (ties: earlier file first).
  const keys: ([number, number] | null)[] = heads.map((h) => (h === null ? null : timestampKey(eventTimestamp(h))));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i] === null) continue;
      if (best < 0) { best = i; continue; }
      const a = keys[i]!, b = keys[best]!;
      if (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    const r = await gens[best]!.next();
    if (r.done) { heads[best] = null; continue; }
    heads[best] = r.value;
    const k = timestampKey(eventTimestamp(r.value));
    if (k !== null) keys[best] = k;
  }
}

const FF_CHUNK = 64 * 1024;

/**
 * A file's bytes, reopened for every chunk: merging an -ff set keeps every file's parser alive at once, and
 * holding each one's descriptor ran out of them (EMFILE) past `ulimit -n` files. Chunks are sized to what is
 * left, so each parked parser keeps a small file's bytes, not a whole 64 KiB buffer.
 */
async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  for (let pos = 0; ; ) {
    const fh = await openFile(path, 'r');
    let chunk: Buffer;
    try {
      const want = Math.max(1, Math.min(FF_CHUNK, (await fh.stat()).size - pos));
      const buf = Buffer.allocUnsafeSlow(want);
      chunk = buf.subarray(0, (await fh.read(buf, 0, want, pos)).bytesRead);
    } finally {
      await fh.close();
    }
    if (chunk.length === 0) return;
    pos += chunk.length;
    yield chunk;
  }
}
