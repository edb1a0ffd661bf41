// Columns differ only by the runtime: the same files, variables, working directory and stdin in every
// environment (issue #7). Real host, runc and runsc; skips without root or the runtimes.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { has } from '../helpers/live.js';
import { mkdtempSync, rmSync } from 'node:fs';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');
const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...['runc', 'runsc', 'strace', 'python3', 'git'].filter((c) => !has(c))];
if (missing.length) console.warn(`same-environment tests skipped: need ${missing.join(', ')}`);

interface Env { name: string; exitCode: number | null; stdout: string; stderr: string; syscalls: { syscall: string; calls: number }[] }

async function compare(args: string[], input?: string): Promise<Env[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-same-'));
  try {
    const r = await execa('node', [bin, '--pod', 'runc', '--pod', 'gvisor', '--no-perf', '--format', 'json', ...args], {
      reject: false, cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp, LANG: 'C.UTF-8' },
      ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
    });
    expect(r.exitCode, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { environments: Env[] }).environments;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe.skipIf(missing.length > 0)('every environment runs the command alike', () => {
  it('host programs run unchanged in the pods, no --include: python3 -c, a shell pipeline, git --version', async () => {
    for (const [cmd, out] of [
      [['python3', '-c', 'import json; print(json.dumps([1]))'], '[1]\n'],
      [['sh', '-c', 'printf "b\\na\\n" | sort | tr a-z A-Z | head -1'], 'A\n'],
      [['git', '--version'], null],
    ] as const) {
      const envs = await compare(['--', ...cmd]);
      for (const e of envs) {
        expect(e.exitCode, `${e.name}: ${cmd.join(' ')}: ${e.stderr}`).toBe(0);
        expect(e.stdout, e.name).toBe(out ?? envs[0]!.stdout);
      }
    }
  });

  it('the same variables and working directory everywhere', async () => {
    const envs = await compare(['--env', 'EXTRA=1', '--', 'sh', '-c', 'env | sort; pwd']);
    const host = envs[0]!.stdout;
    expect(host).toMatch(/^EXTRA=1$/m);
    expect(host).toMatch(/^LANG=C\.UTF-8$/m);
    expect(host).toMatch(/^\/$/m);
    // sh adds its own PWD/SHLVL/_ alike everywhere; nothing else may differ.
    for (const e of envs) expect(e.stdout, e.name).toBe(host);
  });

  it('stdin is read once and replayed to every environment', async () => {
    const envs = await compare(['cat'], 'hello\nworld\n');
    for (const e of envs) expect(e.stdout, e.name).toBe('hello\nworld\n');
  });

  it('uname -r issues the same syscalls on the host and in runc (same files, same locale)', async () => {
    const [host, runc] = await compare(['uname', '-r']);
    const calls = (e: Env) => Object.fromEntries(e.syscalls.map((s) => [s.syscall, s.calls]));
    expect(calls(runc!)).toEqual(calls(host!));
  });
});
