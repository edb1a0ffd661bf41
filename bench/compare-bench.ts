// Each figure beside its anchor, measured the same way in the same run (issue 8's targets):
// 1. `find /usr/lib -name '*.so*'` on the host (about 170,000 syscalls): bare; under `strace -f` alone (the
//    workload view); the host-kernel view by each mechanism: live `perf trace -f` around strace (the first,
//    only with BENCH_LIVE=1: about 70 s a run), `perf trace record` around strace then the text made from the
//    record (both phases timed), and the in-kernel counts (bpftrace) the product uses; the anchors
//    `perf record -e raw_syscalls:*` of the bare command and of strace. The product's own runs (runEnvironment
//    on the host, strace alone vs strace + the host-kernel view, figures read) are timed the same way.
//    Target: the host-kernel view adds at most 50% to the run traced by strace alone.
// 2. The three-way `uname -r` (host, runc, gVisor, traced by strace, runsc --strace and the host-kernel view)
//    beside a bare `runsc run` of the same kind of bundle, and its phases: each environment run alone
//    (runEnvironment) and its figures read. Target: within 3x the bare run (aim 2x).
// 3. The `find` three-way through the CLI beside its parts (each environment alone) and a bare runsc run.
// Needs root, runc, runsc, strace and perf. Prints figures; asserts nothing. FIND_RUNS (default 3) and RUNS
// (default 5) set the repetitions; medians are printed with every run.

import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workloadEnvironment } from '../src/runners/environment.js';
import { createBundle } from '../src/runners/bundle.js';
import { which } from '../src/runners/which.js';
import { STRACE_FLAGS } from '../src/runners/bundle.js';
import { RECORD_THEN_REPLAY, type HostTracer } from '../src/runners/host-trace.js';
import { readCounts } from '../src/runners/bpf-count.js';
import { bpfCounter, startCount } from '../src/runners/bpf-session.js';
import { runEnvironment } from '../src/runners/run.js';
import type { EnvironmentSpec, RunOutcome } from '../src/runners/types.js';
import { measureEnvironment } from '../src/measure.js';
import { parseStraceFiles } from '../parsers/strace-ff.js';
import { parseRunscLogFiles } from '../parsers/runsc-log.js';
import { parsePerfTrace } from '../parsers/perf-trace.js';
import { createReadStream } from 'node:fs';

const RUNS = Number(process.env.RUNS ?? 5);
const FIND_RUNS = Number(process.env.FIND_RUNS ?? 3);
const FIND = ['find', '/usr/lib', '-name', '*.so*'];
// What a run did before it recorded: perf trace formatting every event live (kept here as the anchor of
// the change; the product no longer has it).
const LIVE_PERF = ['trace', '-f', '-m', '1024', '--syscalls', '-e', 'sched:sched_process_fork,sched:sched_process_exec'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/trace-compare.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  const runsc = await which('runsc');
  const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...(runsc ? [] : ['runsc (apt-get install runsc)'])];
  for (const tool of ['runc', 'strace', 'perf', 'bpftrace']) if (!(await which(tool))) missing.push(tool);
  if (missing.length > 0 || !runsc) {
    console.log(`compare bench skipped: needs ${missing.join(', ')}`);
    return;
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'tc-bench-'));
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  const line = (what: string, xs: number[], vs?: { name: string; ms: number }) =>
    console.log(`${what.padEnd(58)} median ${median(xs).toFixed(0).padStart(6)} ms` +
      (vs ? `  = ${(median(xs) / vs.ms).toFixed(2)}x ${vs.name}` : '') + `  (runs: ${fmt(xs)})`);
  try {
    const perf = (await which('perf'))!;
    const strace = (await which('strace'))!;
    const slog = path.join(dir, 'strace.log');
    const sh = async (argv: string[]) => {
      const r = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
      if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${r.exitCode}: ${String(r.stderr).slice(-300)}`);
    };
    const straceArgv = [strace, ...STRACE_FLAGS, '-o', slog, '--', ...FIND];
    const counter = bpfCounter()!;
    const rows = {
      bare: [] as number[], strace: [] as number[], live: [] as number[], record: [] as number[], replay: [] as number[], recorded: [] as number[],
      counted: [] as number[], anchor: [] as number[], anchorStrace: [] as number[], runStrace: [] as number[], runCounted: [] as number[], runRecorded: [] as number[],
    };
    // What the product does on the host, figures read: strace alone, or with the host-kernel view.
    const product = async (tracePerf: boolean, hostTracer?: HostTracer) => {
      const o = await runEnvironment({ name: 'host', runtime: 'host' }, { command: FIND, timeoutMs: 600_000, tracePerf, ...(hostTracer ? { hostTracer } : {}) });
      try {
        await figures(o, FIND);
      } finally {
        await o.dispose();
      }
    };
    for (let i = 0; i < FIND_RUNS; i++) {
      rows.bare.push(await timed(() => sh(FIND)));
      rows.strace.push(await timed(() => sh(straceArgv)));
      if (process.env.BENCH_LIVE === '1') {
        rows.live.push(await timed(() => sh([perf, ...LIVE_PERF, '-o', path.join(dir, 'live.txt'), '--', ...straceArgv])));
        await rm(path.join(dir, 'live.txt'), { force: true });
      }
      // The in-kernel counts as the product takes them: bpftrace started, ready, then the command it follows.
      // A dir of its own each time: the session keeps its program beside its data file.
      const sessionDir = await mkdtemp(path.join(dir, 'count-'));
      const counts = path.join(sessionDir, 'counts.txt');
      rows.counted.push(await timed(async () => {
        const session = startCount(counter, counts, sessionDir);
        await session.ready;
        const child = execa(straceArgv[0]!, straceArgv.slice(1), { stdio: 'ignore', reject: false });
        await child;
        await session.stop();
        await readCounts(counts, child.pid!);
        await session.kill(); // the product waits for bpftrace's exit too
      }));
      await rm(sessionDir, { recursive: true, force: true });
      const data = path.join(dir, 'perf.data');
      const text = path.join(dir, 'perf.txt');
      const rec = await timed(() => sh([perf, ...RECORD_THEN_REPLAY.args(data), ...straceArgv]));
      const rep = await timed(() => RECORD_THEN_REPLAY.finish(perf, data, text));
      await rm(text, { force: true });
      rows.record.push(rec);
      rows.replay.push(rep);
      rows.recorded.push(rec + rep);
      rows.anchor.push(await timed(() => sh([perf, 'record', '-q', '-e', 'raw_syscalls:*', '-o', data, '--', ...FIND])));
      rows.anchorStrace.push(await timed(() => sh([perf, 'record', '-q', '-e', 'raw_syscalls:*', '-o', data, '--', ...straceArgv])));
      await rm(data, { force: true });
      rows.runStrace.push(await timed(() => product(false)));
      rows.runCounted.push(await timed(() => product(true)));
      rows.runRecorded.push(await timed(() => product(true, RECORD_THEN_REPLAY)));
    }
    const s = { name: 'strace -f alone', ms: median(rows.strace) };
    if (FIND_RUNS > 0) {
    console.log(`find /usr/lib -name '*.so*' on the host, ${FIND_RUNS} runs each, interleaved:`);
    line('bare', rows.bare);
    line('strace -f alone (the workload view)', rows.strace);
    if (rows.live.length > 0) line('first: live perf trace -f of strace -f', rows.live, s);
    else console.log('first: live perf trace -f of strace -f                      (BENCH_LIVE=1 runs it: about 7x strace)');
    line('then: perf trace record of strace -f (during the run)', rows.record, s);
    line('then: text from the record (perf trace -i + perf script)', rows.replay);
    line('then: record + text, the whole host-kernel view', rows.recorded, s);
    line('now: bpftrace counts of strace -f (start, run, counts read)', rows.counted, s);
    line('anchor: perf record -e raw_syscalls:* of the bare find', rows.anchor, { name: 'bare', ms: median(rows.bare) });
    line('anchor: perf record -e raw_syscalls:* of strace -f', rows.anchorStrace, s);
    const r = { name: 'product, strace alone', ms: median(rows.runStrace) };
    line('product (runEnvironment + figures): strace alone', rows.runStrace);
    line('product: strace + host-kernel view, in-kernel counts', rows.runCounted, r);
    line('product: strace + host-kernel view, perf record + replay', rows.runRecorded, r);
    const ratio = Math.max(median(rows.counted) / s.ms, median(rows.runCounted) / r.ms);
    console.log(`target: the host-kernel view adds at most 50% to strace alone (<= 1.50x): ${ratio <= 1.5 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x, the larger of the two ratios)`);
    console.log('');
    }

    const bundle = await createBundle({ kind: 'runsc', dir, command: ['uname', '-r'], env: workloadEnvironment(process.env) });
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const id = `tc-bench-${randomBytes(4).toString('hex')}`;
      const state = path.join(dir, 'state');
      bare.push(await timed(async () => {
        const r = await execa(runsc, ['--root', state, '--network=none', 'run', '--bundle', bundle.dir, id], { reject: false });
        // gVisor's own release (4.4.0, or 4.19.0-gvisor on newer runsc), never the host's.
        if (r.exitCode !== 0 || !/^\d+\.\d+/.test(r.stdout) || r.stdout.trim() === os.release()) throw new Error(`bare runsc run printed ${JSON.stringify(r.stdout)}: ${r.stderr}`);
      }));
      await execa(runsc, ['--root', state, 'delete', '-force', id], { reject: false });
    }
    const full: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      full.push(await timed(async () => {
        const r = await execa('node', [bin, 'uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--format', 'json'], { reject: false, stdin: 'ignore' });
        if (r.exitCode !== 0) throw new Error(`trace-compare exited ${r.exitCode}: ${r.stderr}`);
      }));
    }
    // Phases: each environment alone as the CLI runs it (run, then figures read), in sequence: without the
    // host-kernel view (the floor), with the in-kernel counts (the product), with perf record + replay.
    const phases = new Map<string, { run: number[]; read: number[] }>();
    const envs: EnvironmentSpec[] = [{ name: 'host', runtime: 'host' }, { name: 'runc', runtime: 'runc' }, { name: 'gvisor', runtime: 'runsc' }];
    const variants: [string, boolean, HostTracer | undefined][] = [['no host-kernel view', false, undefined], ['in-kernel counts', true, undefined], ['perf record + replay', true, RECORD_THEN_REPLAY]];
    for (let i = 0; i < RUNS; i++) {
      for (const env of envs) {
        for (const [what, tracePerf, hostTracer] of variants) {
          const key = `${env.name}, ${what}`;
          const ph = phases.get(key) ?? { run: [], read: [] };
          phases.set(key, ph);
          let o: RunOutcome | null = null;
          ph.run.push(await timed(async () => { o = await runEnvironment(env, { command: ['uname', '-r'], timeoutMs: 60_000, tracePerf, ...(hostTracer ? { hostTracer } : {}) }); }));
          try {
            ph.read.push(await timed(() => figures(o!, ['uname', '-r'])));
          } finally {
            await o!.dispose();
          }
        }
      }
    }
    const b = median(bare);
    const f = median(full);
    for (const [name, ph] of phases) {
      line(`phase: ${name}: run`, ph.run, { name: 'bare runsc run', ms: b });
      line(`phase: ${name}: figures read`, ph.read);
    }
    console.log(`bare runsc run of uname -r:            median ${b.toFixed(0)} ms  (runs: ${fmt(bare)})`);
    console.log(`trace-compare uname -r (host+runc+gvisor, strace/runsc --strace + host-kernel view): median ${f.toFixed(0)} ms  (runs: ${fmt(full)})`);
    console.log(`ratio: ${(f / b).toFixed(2)}x the bare gVisor run (target: <= 3x: ${f / b <= 3 ? 'met' : 'NOT met'})  [${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}]`);

    // 3. The `find` three-way through the CLI beside its parts: each environment alone through the CLI (with
    // and without the host-kernel view), and a bare `runsc run` of the same command. FIND3_RUNS (default 1;
    // 0 skips) runs: about 3 minutes each on 2 cores.
    const FIND3_RUNS = Number(process.env.FIND3_RUNS ?? 1);
    if (FIND3_RUNS > 0) {
      const findBundle = await createBundle({ kind: 'runsc', dir: path.join(dir, 'find'), command: FIND, env: workloadEnvironment(process.env) });
      const cli = async (args: string[]) => {
        const r = await execa('node', [bin, ...args, '--format', 'json', '--', ...FIND], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
        if (r.exitCode !== 0) throw new Error(`trace-compare ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr).slice(-300)}`);
      };
      const parts: [string, string[]][] = [
        ['three-way (host, runc, gvisor)', ['--pod', 'runc', '--pod', 'gvisor']],
        ['part: host alone', ['--no-host', '--pod', 'host']],
        ['part: runc alone', ['--no-host', '--pod', 'runc']],
        ['part: gvisor alone', ['--no-host', '--pod', 'gvisor']],
        ['part: gvisor alone, no host-kernel view', ['--no-host', '--pod', 'gvisor', '--no-perf']],
      ];
      const times = new Map<string, number[]>(parts.map(([k]) => [k, []]));
      const bareFind: number[] = [];
      for (let i = 0; i < FIND3_RUNS; i++) {
        for (const [k, args] of parts) times.get(k)!.push(await timed(() => cli(args)));
        const id = `tc-bench-${randomBytes(4).toString('hex')}`;
        bareFind.push(await timed(() => sh([runsc, '--root', path.join(dir, 'state'), '--network=none', 'run', '--bundle', findBundle.dir, id])));
        await execa(runsc, ['--root', path.join(dir, 'state'), 'delete', '-force', id], { reject: false });
      }
      console.log('');
      console.log(`find /usr/lib -name '*.so*' three-way through the CLI beside its parts, ${FIND3_RUNS} run(s) each:`);
      const slowest = Math.max(...parts.slice(1, 4).map(([k]) => median(times.get(k)!)));
      for (const [k] of parts) line(k, times.get(k)!, k.startsWith('three') ? { name: 'its slowest part', ms: slowest } : undefined);
      line('anchor: bare runsc run of the same command', bareFind);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An environment's figures as the CLI makes them (both views parsed, attributed, counted). */
async function figures(o: RunOutcome, command: string[]): Promise<void> {
  const files = o.workloadTrace.files;
  const host = o.hostTrace;
  await measureEnvironment({
    name: o.env.name,
    runtime: o.env.runtime,
    workload: { events: o.workloadTrace.format === 'runsc' ? parseRunscLogFiles(files) : parseStraceFiles(files), format: o.workloadTrace.format },
    perf: host && host.format !== 'bpf-counts' ? parsePerfTrace(createReadStream(host.file), { file: host.file }) : null,
    hostCounts: host?.format === 'bpf-counts' ? await readCounts(host.file, host.root) : null,
    command,
    ...(o.workloadHostPids ? { workloadPids: o.workloadHostPids } : {}),
  });
}

main().catch((err: unknown) => {
  console.error(`compare bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
