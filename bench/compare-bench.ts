// Wall time of the three-way `uname -r` comparison (host, runc, gVisor, traced by strace, runsc --strace and
// perf) beside a bare `runsc run` of the same kind of bundle. Target: the comparison within 3x the bare run.
// Needs root, runc, runsc, strace and perf. Prints figures; asserts nothing.

import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workloadEnvironment } from '../src/runners/environment.js';
import { createBundle } from '../src/runners/bundle.js';
import { which } from '../src/runners/resolve.js';

const RUNS = Number(process.env.RUNS ?? 5);
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
  for (const tool of ['runc', 'strace', 'perf']) if (!(await which(tool))) missing.push(tool);
  if (missing.length > 0 || !runsc) {
    console.log(`compare bench skipped: needs ${missing.join(', ')}`);
    return;
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'tc-bench-'));
  try {
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
        const r = await execa('node', [bin, 'uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--format', 'json'], { reject: false });
        if (r.exitCode !== 0) throw new Error(`trace-compare exited ${r.exitCode}: ${r.stderr}`);
      }));
    }
    const b = median(bare);
    const f = median(full);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(`bare runsc run of uname -r:            median ${b.toFixed(0)} ms  (runs: ${fmt(bare)})`);
    console.log(`trace-compare uname -r (host+runc+gvisor, strace+runsc --strace+perf): median ${f.toFixed(0)} ms  (runs: ${fmt(full)})`);
    console.log(`ratio: ${(f / b).toFixed(2)}x the bare gVisor run (target: <= 3x)  [${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}]`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`compare bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
