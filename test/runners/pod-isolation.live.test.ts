// A pod must not reach the host through the tool: nothing the workload can touch inside is a host path
// the tool (root) later writes or reads by name. Real runc and runsc; skips without root or runtimes.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { has } from '../helpers/live.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');
const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...['runc', 'runsc', 'strace'].filter((c) => !has(c))];
if (missing.length) console.warn(`pod isolation tests skipped: need ${missing.join(', ')}`);

interface Env { name: string; exitCode: number | null; stdout: string; stderr: string; unparsed: number; totals: { calls: number } }

describe.skipIf(missing.length > 0)('a workload cannot reach host files through the tool', () => {
  let tmp: string;
  let victim: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-iso-'));
    victim = path.join(tmp, 'victim');
    return () => rmSync(tmp, { recursive: true, force: true });
  });
  const run = (pods: string[], script: string) => execa('node', [bin, '--no-host', ...pods.flatMap((p) => ['--pod', p]),
    '--no-perf', '--timeout', '20', '--format', 'json', '--include', 'ln', '--include', 'rm', '--include', 'mkfifo',
    '--include', 'ls', '--', 'sh', '-c', script, 'sh', victim], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', TMPDIR: tmp } });

  it('symlinks, FIFOs and writes aimed at the tool\'s files change no host file, hang nothing, and the exit status is the workload\'s', async () => {
    writeFileSync(victim, 'precious\n');
    // Every name the tool's files had or have inside the pod, pointed at a host file; then a FIFO.
    const script = [
      'd=/dev/.trace-compare',
      'for n in status strace.log out out/status out/strace.log perf.txt init.pid; do ln -sf "$1" "$d/$n"; done',
      'rm -f $d/strace.log; mkfifo $d/strace.log',
      'echo forged > /forged; echo into-tools > $d/tools/x',
      'exit 42',
    ].join('\n');
    const t0 = Date.now();
    const r = await run(['runc', 'gvisor'], script);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    const envs = (JSON.parse(r.stdout) as { environments: Env[] }).environments;
    for (const e of envs) {
      expect(e.exitCode, e.name).toBe(42);
      expect(e.totals.calls, e.name).toBeGreaterThan(0);
    }
    const runc = envs.find((e) => e.name === 'runc')!;
    expect(runc.unparsed).toBe(0); // the log strace wrote is whole: nothing was spliced into it
    // The log is a mountpoint: it cannot be removed or replaced from inside.
    expect(runc.stderr).toMatch(/strace\.log.*(busy|Device or resource busy)/i);
    // The root filesystem is read-only; the tool dir is read-only.
    expect(runc.stderr).toMatch(/\/forged.*Read-only file system/);
    expect(runc.stderr).toMatch(/tools\/x.*Read-only file system/);
    expect(readdirSync(tmp)).toEqual(['victim']);
  });

  it('the run\'s private dir is never mounted into a pod: the pod sees only the log file and the tools', async () => {
    const r = await execa('node', [bin, '--no-host', '--pod', 'runc', '--no-perf', '--format', 'json', '--include', 'ls',
      '--', 'ls', '-A', '/dev/.trace-compare'], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', TMPDIR: tmp } });
    const e = (JSON.parse(r.stdout) as { environments: Env[] }).environments[0]!;
    expect(e.stdout.split('\n').filter(Boolean).sort()).toEqual(['strace.log', 'tools']);
    expect(existsSync(victim)).toBe(true);
  });
});
