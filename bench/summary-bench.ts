// Throughput of the strace parser against a bare split2 line count, on a >= 150 MB trace.
// Run: npx tsc -p tsconfig.json && node dist/bench/summary-bench.js [TRACE]

import { createReadStream, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import split2 from 'split2';
import { parseStrace } from '../parsers/strace.js';
import { generateTrace } from './gen-trace.js';

async function splitCount(path: string): Promise<number> {
  let n = 0;
  for await (const _ of createReadStream(path).pipe(split2())) n++;
  return n;
}

/** What `summary` does: every event parsed, syscalls counted per name. */
async function summaryCount(path: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const e of parseStrace(createReadStream(path), { file: path })) {
    if (e.kind === 'syscall') counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  }
  return counts;
}

const path = process.argv[2] ?? join(tmpdir(), 'trace-compare-bench.trace');
if (!existsSync(path)) {
  console.log(`generating ${path} ...`);
  await generateTrace(path);
}
const mb = statSync(path).size / 1e6;

let t = performance.now();
const lines = await splitCount(path);
const splitSecs = (performance.now() - t) / 1000;

t = performance.now();
const counts = await summaryCount(path);
const parseSecs = (performance.now() - t) / 1000;

const total = [...counts.values()].reduce((a, b) => a + b, 0);
const splitRate = mb / splitSecs;
const parseRate = mb / parseSecs;
console.log(`file: ${path} (${mb.toFixed(1)} MB, ${lines} lines)`);
console.log(`split2 line count: ${splitRate.toFixed(1)} MB/s (${splitSecs.toFixed(2)} s)`);
console.log(`parseStrace + count per name: ${parseRate.toFixed(1)} MB/s (${parseSecs.toFixed(2)} s), ${total} syscalls, ${counts.size} names`);
console.log(`ratio parser/split2: ${(parseRate / splitRate).toFixed(2)} (target >= 0.33)`);
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (target < 200 MB)`);
