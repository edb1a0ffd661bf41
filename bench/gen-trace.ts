// Writes a large strace trace (>= 150 MB by default) by repeating a real fixture with varied pids.
// Usage: node dist/bench/gen-trace.js OUT [MEGABYTES]

import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The -f -tt -T fixture: pids, pairs, signals and exits, so the parser's every path runs. */
const SOURCE = fileURLToPath(new URL('../../fixtures/strace-unit/sh-child-signal.trace', import.meta.url));

export async function generateTrace(out: string, megabytes = 160): Promise<number> {
  const lines = readFileSync(SOURCE, 'utf8').split('\n').filter((l) => l.length > 0);
  // Pids of the fixture, renamed on each repetition so every copy looks like new processes.
  const pids = [...new Set(lines.map((l) => /^(\d+) /.exec(l)?.[1]).filter((p): p is string => p !== undefined))];
  const ws = createWriteStream(out);
  const target = megabytes * 1024 * 1024;
  let written = 0;
  for (let rep = 0; written < target; rep++) {
    const map = new Map(pids.map((p, i) => [p, String(10_000 + ((rep * pids.length + i) % 4_000_000))]));
    const chunk = lines.map((l) => {
      const m = /^(\d+) /.exec(l);
      return (m ? map.get(m[1]!)! + l.slice(m[1]!.length) : l) + '\n';
    }).join('');
    written += Buffer.byteLength(chunk);
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (out === undefined) {
    console.error('usage: gen-trace OUT [MEGABYTES]');
    process.exit(2);
  }
  const n = await generateTrace(out, Number(process.argv[3] ?? 160));
  console.log(`wrote ${(n / 1e6).toFixed(1)} MB to ${out}`);
}
