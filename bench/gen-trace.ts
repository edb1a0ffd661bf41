// Writes the summary bench's large strace traces (>= 150 MB by default):
// - generateTrace: a real -f -tt -T fixture repeated with varied pids (every path of the parser runs);
// - realTrace: copies of real traces of one kind (fixtures/strace/*.log.gz, made by
//   scripts/make-strace-fixtures.sh), byte for byte as strace wrote them, one after another, each without its
//   -C table: `threads` (python threads, -f -tt -T -y; most lines are `<unfinished ...>` / `<... resumed>`
//   halves), `forks` (process trees: xargs -P 4 and make -j4 of shells, -f -tt -T, with -o and on stderr),
//   `pipelines` (seq | grep | sort | uniq -c with -f, -tt -T, -tt -T -y, on stderr) or `mixed` (all of them).
// Usage: node dist/bench/gen-trace.js OUT [MEGABYTES] [--kind generated|threads|forks|pipelines|mixed]

import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { splitStraceSummary } from '../parsers/strace-c.js';

/** The -f -tt -T fixture: pids, pairs, signals and exits, so the parser's every path runs. */
const SOURCE = fileURLToPath(new URL('../../fixtures/strace-unit/sh-child-signal.trace', import.meta.url));

/** The real fixtures of each kind (fixtures/strace, each with its -C table and its .cmd). */
export const REAL_KINDS = {
  threads: ['threads-io'],
  forks: ['forks', 'forks-stderr', 'make-j'],
  pipelines: ['pipe', 'pipe-tt-T', 'pipe-tt-T-y', 'pipe-stderr'],
  mixed: ['threads-io', 'forks', 'pipe', 'forks-stderr', 'pipe-tt-T', 'make-j', 'pipe-tt-T-y', 'pipe-stderr'],
} as const;
export type RealKind = keyof typeof REAL_KINDS;

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

/** One real fixture's trace, without its -C table (a table mid-file is not what a trace holds). */
export function realFixtureTrace(name: string): string {
  const path = fileURLToPath(new URL(`../../fixtures/strace/${name}.log.gz`, import.meta.url));
  const trace = splitStraceSummary(gunzipSync(readFileSync(path)).toString('utf8')).trace;
  return trace.endsWith('\n') ? trace : trace + '\n';
}

/** Copies of the real traces of `kind`, taken in turn, until `megabytes` MiB are written. */
export async function realTrace(out: string, kind: RealKind, megabytes = 150): Promise<number> {
  const traces = REAL_KINDS[kind].map(realFixtureTrace);
  let k = 0;
  return writeRepeated(out, megabytes, () => traces[k++ % traces.length]!);
}

/** Copies of the real threaded trace (threads-io). */
export function realThreadedTrace(out: string, megabytes = 150): Promise<number> {
  return realTrace(out, 'threads', megabytes);
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
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--kind');
  const kind = at >= 0 ? argv[at + 1] : argv.includes('--threaded') ? 'threads' : 'generated';
  const args = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--kind');
  const out = args[0];
  if (out === undefined || (kind !== 'generated' && !(kind! in REAL_KINDS))) {
    console.error(`usage: gen-trace OUT [MEGABYTES] [--kind generated|${Object.keys(REAL_KINDS).join('|')}]`);
    process.exit(2);
  }
  const mb = Number(args[1] ?? (kind === 'generated' ? 160 : 150));
  const n = kind === 'generated' ? await generateTrace(out, mb) : await realTrace(out, kind as RealKind, mb);
  console.log(`wrote ${(n / 1e6).toFixed(1)} MB to ${out}`);
}
