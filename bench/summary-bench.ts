// Throughput of the `summary` path against a bare split2 line count, on a >= 150 MB trace.
// Run: npx tsc -p tsconfig.json && node dist/bench/summary-bench.js [TRACE] [--runs N]
// Each measurement runs in its own process, so its peak RSS is its own and JIT state is not shared.

import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import split2 from 'split2';
import { readLineBatches } from '../parsers/lines.js';
import { parseStrace, parseStraceBatches } from '../parsers/strace.js';
import { SummaryBuilder, type Summary } from '../src/summary.js';
import { generateTrace } from './gen-trace.js';

type Mode = 'split2' | 'lines' | 'events' | 'batches';

interface Measure {
  secs: number;
  /** Peak RSS in MB, when known. */
  rssMb: number | null;
  note: string;
}

const MODES: Record<Mode, (path: string) => Promise<string>> = {
  async split2(path) {
    let n = 0;
    for await (const _ of createReadStream(path).pipe(split2())) n++;
    return `${n} lines`;
  },
  async lines(path) {
    let n = 0;
    for await (const b of readLineBatches(createReadStream(path))) n += b.length;
    return `${n} lines`;
  },
  /** What `summary` does: every event through parseStrace's per-event iterator into SummaryBuilder. */
  async events(path) {
    const b = new SummaryBuilder();
    for await (const e of parseStrace(createReadStream(path), { file: path })) b.add(e);
    return describe(b.result());
  },
  /** The same work, consuming parseStraceBatches. */
  async batches(path) {
    const b = new SummaryBuilder();
    for await (const evs of parseStraceBatches(createReadStream(path), { file: path })) {
      for (let i = 0; i < evs.length; i++) b.add(evs[i]!);
    }
    return describe(b.result());
  },
};

function describe(s: Summary): string {
  return `${s.total.calls} calls counted, ${s.syscalls.length} names`;
}

const self = fileURLToPath(import.meta.url);
/** The CLI entry point: bin/trace-compare.js runs this build's dist/src/cli.js. */
const cli = fileURLToPath(new URL('../../bin/trace-compare.js', import.meta.url));

async function child(mode: Mode, path: string): Promise<Measure> {
  const r = await execa(process.execPath, [self, '--one', mode, path]);
  return JSON.parse(r.stdout) as Measure;
}

async function timeCli(path: string): Promise<Measure> {
  const args = [cli, 'summary', path, '--format', 'json'];
  // GNU time reports the child's peak RSS; without it only the wall time is measured.
  const gnuTime = existsSync('/usr/bin/time');
  const t = performance.now();
  const r = gnuTime
    ? await execa('/usr/bin/time', ['-f', 'RSS_KB=%M', process.execPath, ...args], { stdout: 'ignore' })
    : await execa(process.execPath, args, { stdout: 'ignore' });
  const secs = (performance.now() - t) / 1000;
  const m = /RSS_KB=(\d+)/.exec(r.stderr);
  return { secs, rssMb: m ? Number(m[1]) / 1024 : null, note: 'node bin/trace-compare.js summary FILE --format json' };
}

/** Wall time of the CLI doing nothing (`--version`): node start-up and module loading. */
async function cliStartup(): Promise<number> {
  const t = performance.now();
  await execa(process.execPath, [cli, '--version'], { stdout: 'ignore' });
  return (performance.now() - t) / 1000;
}

const argv = process.argv.slice(2);
if (argv[0] === '--one') {
  const mode = argv[1] as Mode;
  const t = performance.now();
  const note = await MODES[mode](argv[2]!);
  const secs = (performance.now() - t) / 1000;
  const m: Measure = { secs, rssMb: process.resourceUsage().maxRSS / 1024, note };
  console.log(JSON.stringify(m));
} else {
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3;
  const given = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--runs');
  // A generated trace (~160 MB) lives in a temp dir of its own, removed however the bench exits.
  const genDir = given ? null : mkdtempSync(join(tmpdir(), 'tc-summary-bench-'));
  if (genDir) process.on('exit', () => rmSync(genDir, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(128 + constants.signals[sig]));
  const path = given ?? join(genDir!, 'trace-compare-bench.trace');
  if (genDir) {
    console.log(`generating ${path} ...`);
    await generateTrace(path);
  }
  const mb = statSync(path).size / 1e6;
  console.log(`file: ${path} (${mb.toFixed(1)} MB)`);
  const fmt = (m: Measure): string =>
    `${(mb / m.secs).toFixed(1).padStart(6)} MB/s ${m.secs.toFixed(2).padStart(5)} s  RSS ${m.rssMb === null ? '?' : m.rssMb.toFixed(0)} MB`;
  for (let run = 1; run <= runs; run++) {
    const split = await child('split2', path);
    const lines = await child('lines', path);
    const events = await child('events', path);
    const batches = await child('batches', path);
    const whole = await timeCli(path);
    const startup = await cliStartup();
    const ratio = (m: Measure): string => (split.secs / m.secs).toFixed(2);
    console.log(`run ${run}:`);
    console.log(`  split2 line count            ${fmt(split)}  (${split.note})`);
    console.log(`  readLineBatches line count   ${fmt(lines)}  ratio ${ratio(lines)}`);
    console.log(`  parseStrace -> SummaryBuilder ${fmt(events)}  ratio ${ratio(events)}  (${events.note})`);
    console.log(`  parseStraceBatches -> builder ${fmt(batches)}  ratio ${ratio(batches)}`);
    console.log(`  CLI summary --format json    ${fmt(whole)}  ratio ${ratio(whole)}  (wall, includes node start-up)`);
    console.log(`  CLI start-up (--version)     ${startup.toFixed(2).padStart(18)} s  (CLI without it: ${(mb / (whole.secs - startup)).toFixed(1)} MB/s, ratio ${(split.secs / (whole.secs - startup)).toFixed(2)})`);
  }
  console.log('targets: summary path ratio >= 0.33 (aim 0.5), RSS < 200 MB');
}
