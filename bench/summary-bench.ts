// Throughput of the `summary` path against a bare split2 line count of the same file in the same run, on
// traces of >= 150 MB: a generated one (a real -f -tt -T fixture repeated with varied pids) and one of each real
// kind (bench/gen-trace.ts realTrace: copies of the real fixtures in fixtures/strace, made by
// scripts/make-strace-fixtures.sh): threads (python threads, -f -tt -T -y, mostly `<unfinished ...>` /
// `<... resumed>` halves), forks (process trees: xargs -P 4 and make -j4, -f -tt -T, with -o and on stderr),
// pipelines (seq | grep | sort | uniq -c: -f, -tt -T, -tt -T -y, stderr) and mixed (all of them in turn).
// Each figure is printed beside its anchor; the within-run ratios of every run and their medians close the report.
// Run: npm run build && node dist/bench/summary-bench.js [TRACE ...] [--runs N] [--kinds generated,threads,...]
// (npm run build, not tsc alone: the CLI runs the bundle only when it is newer than the tsc build, see below).
// Each measurement runs in its own process, so its peak RSS is its own and JIT state is not shared. Time it
// alone: `flock /tmp/tc-bench.lock npm run bench:summary` (two cores: any other load moves the figures).

import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import split2 from 'split2';
import { readLineBatches } from '../parsers/lines.js';
import { parseStrace, parseStraceBatches } from '../parsers/strace.js';
import { SummaryBuilder, type Summary } from '../src/summary.js';
import { REAL_KINDS, generateTrace, realTrace, type RealKind } from './gen-trace.js';

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
/**
 * The CLI entry point: bin/trace-compare.js runs the bundle (dist/bundle/, made by npm run build) when it is
 * newer than dist/src/entry.js, else the tsc build itself (same parser code, ~0.3 s more start-up).
 */
const cli = fileURLToPath(new URL('../../bin/trace-compare.js', import.meta.url));

/** Which build bin/trace-compare.js runs now (its own test, repeated): printed beside the CLI's figures. */
function cliBuild(): string {
  const mtime = (p: string): number => statSync(new URL(p, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const built = mtime('../src/entry.js');
  return built > 0 && mtime('../bundle/trace-compare.mjs') >= built ? 'bundle' : 'tsc build';
}

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
  return { secs, rssMb: m ? Number(m[1]) / 1024 : null, note: cliBuild() };
}

/** Wall time of the CLI doing nothing (`--version`): node start-up and module loading. */
async function cliStartup(): Promise<number> {
  const t = performance.now();
  await execa(process.execPath, [cli, '--version'], { stdout: 'ignore' });
  return (performance.now() - t) / 1000;
}

interface Trace { label: string; path: string; mb: number }
/** What one run measured on one trace: seconds of each mode, the CLI's, and peak RSS. */
interface Row { split: Measure; lines: Measure; events: Measure; batches: Measure; cli: Measure; startup: number }

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

async function measureRun(t: Trace): Promise<Row> {
  // The CLI right after its anchor: on this VM one core can run far slower than the other for a while, and the
  // ratio that matters should not straddle the other measurements.
  const split = await child('split2', t.path);
  const cli = await timeCli(t.path);
  const startup = await cliStartup();
  const lines = await child('lines', t.path);
  const events = await child('events', t.path);
  const batches = await child('batches', t.path);
  return { split, lines, events, batches, cli, startup };
}

function printRun(t: Trace, r: Row): void {
  const fmt = (m: Measure): string =>
    `${(t.mb / m.secs).toFixed(1).padStart(6)} MB/s ${m.secs.toFixed(2).padStart(5)} s  RSS ${m.rssMb === null ? '?' : m.rssMb.toFixed(0)} MB`;
  const ratio = (m: Measure): string => (r.split.secs / m.secs).toFixed(2);
  const bare = r.cli.secs - r.startup;
  console.log(`  ${t.label}:`);
  console.log(`    split2 line count (anchor)      ${fmt(r.split)}  (${r.split.note})`);
  console.log(`    readLineBatches line count      ${fmt(r.lines)}  ratio ${ratio(r.lines)}`);
  console.log(`    parseStrace -> SummaryBuilder   ${fmt(r.events)}  ratio ${ratio(r.events)}  (${r.events.note})`);
  console.log(`    parseStraceBatches -> builder   ${fmt(r.batches)}  ratio ${ratio(r.batches)}`);
  console.log(`    CLI summary --format json       ${fmt(r.cli)}  ratio ${ratio(r.cli)}  (wall, includes node start-up; ${r.cli.note})`);
  console.log(`    CLI start-up (--version)        ${r.startup.toFixed(2).padStart(18)} s  (CLI without it: ${(t.mb / bare).toFixed(1)} MB/s, ratio ${(r.split.secs / bare).toFixed(2)})`);
}

/** Medians over the runs: each ratio is taken within its run (the anchor measured beside it), then the median. */
function printMedians(t: Trace, rows: Row[]): void {
  const each = (f: (r: Row) => number): string => rows.map((r) => (r.split.secs / f(r)).toFixed(2)).join(' ');
  const mbs = (f: (r: Row) => number): string => `${median(rows.map((r) => t.mb / f(r))).toFixed(1).padStart(6)} MB/s`;
  const ratio = (f: (r: Row) => number): string => `ratio ${median(rows.map((r) => r.split.secs / f(r))).toFixed(2)}`;
  const rss = (f: (r: Row) => Measure): string => `peak RSS ${Math.max(...rows.map((r) => f(r).rssMb ?? 0)).toFixed(0)} MB`;
  console.log(`  ${t.label} (${t.mb.toFixed(1)} MB), median of ${rows.length} run(s):`);
  console.log(`    split2 line count (anchor)      ${mbs((r) => r.split.secs)}`);
  console.log(`    parseStrace -> SummaryBuilder   ${mbs((r) => r.events.secs)}  ${ratio((r) => r.events.secs)}  ${rss((r) => r.events)}`);
  console.log(`    CLI summary --format json       ${mbs((r) => r.cli.secs)}  ${ratio((r) => r.cli.secs)}  ${rss((r) => r.cli)}  (each run: ${each((r) => r.cli.secs)})`);
  console.log(`    CLI without start-up            ${mbs((r) => r.cli.secs - r.startup)}  ${ratio((r) => r.cli.secs - r.startup)}  (each run: ${each((r) => r.cli.secs - r.startup)})`);
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
  const kindsAt = argv.indexOf('--kinds');
  const kinds = kindsAt >= 0 ? argv[kindsAt + 1]!.split(',') : ['generated', ...Object.keys(REAL_KINDS)];
  for (const k of kinds) {
    if (k !== 'generated' && !(k in REAL_KINDS)) {
      console.error(`unknown kind ${k}: generated, ${Object.keys(REAL_KINDS).join(', ')}`);
      process.exit(2);
    }
  }
  const given = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--runs' && argv[i - 1] !== '--kinds');
  // The traces made here (~150 MB each) live in a temp dir of their own, removed however the bench exits.
  const dir = given.length > 0 ? null : mkdtempSync(join(tmpdir(), 'tc-summary-bench-'));
  if (dir) process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(128 + constants.signals[sig]));
  const traces: Trace[] = [];
  if (dir) {
    for (const kind of kinds) {
      const path = join(dir, `${kind}.trace`);
      if (kind === 'generated') {
        console.log(`generating ${path} (fixtures/strace-unit/sh-child-signal.trace, pids varied) ...`);
        await generateTrace(path);
        traces.push({ label: 'generated -f -tt -T trace', path, mb: statSync(path).size / 1e6 });
      } else {
        const names = REAL_KINDS[kind as RealKind];
        console.log(`generating ${path} (copies of fixtures/strace/{${names.join(',')}}.log.gz in turn, without their tables) ...`);
        await realTrace(path, kind as RealKind);
        traces.push({ label: `real ${kind} trace (${names.join(', ')})`, path, mb: statSync(path).size / 1e6 });
      }
    }
  } else {
    for (const p of given) traces.push({ label: basename(p), path: p, mb: statSync(p).size / 1e6 });
  }
  for (const t of traces) console.log(`file: ${t.label}: ${t.path} (${t.mb.toFixed(1)} MB)`);
  const rows: Row[][] = traces.map(() => []);
  for (let run = 1; run <= runs; run++) {
    console.log(`run ${run}:`);
    for (let k = 0; k < traces.length; k++) {
      const r = await measureRun(traces[k]!);
      rows[k]!.push(r);
      printRun(traces[k]!, r);
    }
  }
  console.log('medians:');
  for (let k = 0; k < traces.length; k++) printMedians(traces[k]!, rows[k]!);
  // Issue 8: each real kind's CLI summary at least 0.4 (aim 0.5) of the split2 count of the same file in every
  // run, peak RSS under 200 MB. Each verdict is from this run's figures.
  for (let k = 0; k < traces.length; k++) {
    if (!traces[k]!.label.startsWith('real ')) continue;
    const worst = Math.min(...rows[k]!.map((r) => r.split.secs / r.cli.secs));
    const rss = Math.max(...rows[k]!.map((r) => r.cli.rssMb ?? 0));
    console.log(`target, ${traces[k]!.label}: lowest ratio ${worst.toFixed(2)} (>= 0.40: ${worst >= 0.4 ? 'met' : 'NOT met'}; aim 0.50), peak RSS ${rss.toFixed(0)} MB (< 200 MB: ${rss < 200 ? 'met' : 'NOT met'})`);
  }
}
