// Writes the summary bench's large strace traces (>= 150 MB by default):
// - generateTrace: a real -f -tt -T fixture repeated with varied pids (every path of the parser runs);
// - realThreadedTrace: copies of a real threaded trace (python threads, -f -tt -T -y; most lines are
//   `<unfinished ...>` / `<... resumed>` halves), byte for byte as strace wrote it.
// Usage: node dist/bench/gen-trace.js OUT [MEGABYTES] [--threaded]

import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { splitStraceSummary } from '../parsers/strace-c.js';

/** The -f -tt -T fixture: pids, pairs, signals and exits, so the parser's every path runs. */
const SOURCE = fileURLToPath(new URL('../../fixtures/strace-unit/sh-child-signal.trace', import.meta.url));
/** A real threaded trace with its -C table (scripts/make-strace-fixtures.sh, threads-io). */
const THREADED = fileURLToPath(new URL('../../fixtures/strace/threads-io.log.gz', import.meta.url));

export async function generateTrace(out: string, megabytes = 160): Promise<number> {
  const lines = readFileSync(SOURCE, 'utf8').split('\n').filter((l) => l.length > 0);
  // Pids of the fixture, renamed on each repetition so every copy looks like new processes.
  const pids = [...new Set(lines.map((l) => /^(\d+) /.exec(l)?.[1]).filter((p): p is string => p !== undefined))];
  let rep = 0;
  return writeRepeated(out, megabytes, () => {
    const map = new Map(pids.map((p, i) => [p, String(10_000 + ((rep * pids.length + i) % 4_000_000))]));
    rep++;
    return lines.map((l) => {
      const m = /^(\d+) /.exec(l);
      return (m ? map.get(m[1]!)! + l.slice(m[1]!.length) : l) + '\n';
    }).join('');
  });
}

/** Copies of the real threaded trace, without its -C table (a table mid-file is not what a trace holds). */
export async function realThreadedTrace(out: string, megabytes = 150): Promise<number> {
  const trace = splitStraceSummary(gunzipSync(readFileSync(THREADED)).toString('utf8')).trace;
  const copy = trace.endsWith('\n') ? trace : trace + '\n';
  return writeRepeated(out, megabytes, () => copy);
}

/** Writes `next()`'s text again and again until `megabytes` MiB are written; returns the bytes written. */
async function writeRepeated(out: string, megabytes: number, next: () => string): Promise<number> {
  const ws = createWriteStream(out);
  const target = megabytes * 1024 * 1024;
  let written = 0;
  while (written < target) {
    const chunk = next();
    written += Buffer.byteLength(chunk);
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2).filter((a) => a !== '--threaded');
  const out = args[0];
  if (out === undefined) {
    console.error('usage: gen-trace OUT [MEGABYTES] [--threaded]');
    process.exit(2);
  }
  const make = process.argv.includes('--threaded') ? realThreadedTrace : generateTrace;
  const n = await make(out, Number(args[1] ?? 160));
  console.log(`wrote ${(n / 1e6).toFixed(1)} MB to ${out}`);
}
