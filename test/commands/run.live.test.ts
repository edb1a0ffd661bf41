// The main job end to end, on the real runtimes: host, runc and gVisor, traced by strace, runsc --strace and
// perf in the same run. Needs root, runc, runsc, strace and perf; skips saying which is missing.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa, execaSync } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gvisorRelease, has } from '../helpers/live.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');

const missing = [
  ...(process.getuid?.() === 0 ? [] : ['root']),
  ...['runc', 'runsc', 'strace', 'perf'].filter((c) => !has(c)),
];
const reason = `runtime comparison tests skipped: need ${missing.join(', ')} (run as root after scripts/setup.sh)`;
if (missing.length) console.warn(reason);
const GVISOR_RELEASE = has('runsc') ? await gvisorRelease() : '';

interface Env {
  name: string; runtime: string; kernelRelease: string | null; exitCode: number | null; stdout: string;
  syscalls: { syscall: string; calls: number; errors: number; hostKernelCalls: number | null }[];
  totals: { calls: number; distinct: number; hostKernelCalls: number | null };
  hostKernel: { syscalls: { syscall: string; calls: number }[]; processes: { role: string }[]; workloadSeen: number; workloadEntered: number } | null;
}

function leftovers(tmp: string) {
  const ps = execaSync('ps', ['-eo', 'args'], { reject: false }).stdout.split('\n');
  return {
    tempDirs: readdirSync(tmp),
    // Pods' bundles are made on the tmpfs /dev/shm (runners/leftovers.ts makeScratchDir).
    scratchDirs: readdirSync('/dev/shm').filter((n) => n.startsWith('trace-compare-')),
    processes: ps.filter((a) => a.includes(tmp)),
    runc: execaSync('runc', ['list', '-q'], { reject: false }).stdout.trim(),
    runsc: execaSync('runsc', ['list', '-q'], { reject: false }).stdout.trim(),
    // Runs name their cgroups (host run, runc and runsc containers) trace-compare-<hex>, in every hierarchy.
    cgroups: execaSync('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-name', 'trace-compare-*'], { reject: false }).stdout.trim(),
  };
}
const NOTHING_LEFT = { tempDirs: [], scratchDirs: [], processes: [], runc: '', runsc: '', cgroups: '' };

describe.skipIf(missing.length > 0)('trace-compare CMD --pod runc --pod gvisor (real runtimes)', () => {
  let tmp: string;
  beforeAll(() => {
    if (!existsSync(path.join(root, 'dist/src/cli.js'))) execaSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
    // A private TMPDIR: whatever the run leaves behind shows up here.
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-run-test-'));
    return () => rmSync(tmp, { recursive: true, force: true });
  });
  const run = (args: string[]) =>
    execa('node', [bin, ...args], { reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp } });

  it('uname -r: host and runc report this kernel and their uname reaches it; gVisor reports its own release and its uname never does', async () => {
    const r = await run(['uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { command: string[]; environments: Env[] };
    expect(c.command).toEqual(['uname', '-r']);
    const [host, runc, gvisor] = c.environments;
    for (const e of [host!, runc!]) {
      expect(e.kernelRelease).toBe(os.release());
      expect(e.stdout).toBe(os.release() + '\n');
      expect(e.exitCode).toBe(0);
      const u = e.syscalls.find((s) => s.syscall === 'uname')!;
      expect(u.calls).toBe(1);
      expect(u.hostKernelCalls).toBeGreaterThanOrEqual(1);
    }
    expect(gvisor!.runtime).toBe('runsc');
    expect(gvisor!.kernelRelease).toBe(GVISOR_RELEASE);
    expect(gvisor!.stdout).toBe(GVISOR_RELEASE + '\n');
    const gu = gvisor!.syscalls.find((s) => s.syscall === 'uname')!;
    expect(gu.calls).toBeGreaterThanOrEqual(1);
    expect(gu.hostKernelCalls).toBe(0);
    // What the host kernel saw from the sandbox is listed: the Sentry, gofer and runsc made syscalls.
    expect(gvisor!.hostKernel!.syscalls.length).toBeGreaterThan(0);
    expect(gvisor!.hostKernel!.processes.some((p) => p.role === 'runtime')).toBe(true);
    // perf saw the app's calls only as exits without entry: as many as the Sentry logged, none entered.
    expect(gvisor!.hostKernel!.workloadSeen).toBeGreaterThan(0);
    expect(gvisor!.hostKernel!.workloadEntered).toBe(0);
    expect(host!.hostKernel!.workloadEntered).toBe(host!.totals.calls);
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
  });

  it('a failing command: its exit code is reported per environment, trace-compare still exits 0', async () => {
    const r = await run(['cat', '/nonexistent', '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { environments: Env[] };
    expect(c.environments.map((e) => [e.name, e.exitCode])).toEqual([['host', 1], ['runc', 1], ['gvisor', 1]]);
    for (const e of c.environments) {
      const open = e.syscalls.find((s) => s.syscall === 'openat' || s.syscall === 'open')!;
      expect(open.errors).toBeGreaterThanOrEqual(1);
    }
  });

  it('a workload killed by a signal: 128+N from the runtime, and the signal named from its own trace', async () => {
    const r = await run(['sh', '-c', 'kill -9 $$', '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { environments: (Env & { ended?: string })[] };
    expect(c.environments.map((e) => [e.name, e.exitCode, e.ended])).toEqual([
      ['host', 137, 'killed by SIGKILL'], ['runc', 137, 'killed by SIGKILL'], ['gvisor', 137, 'killed by SIGKILL'],
    ]);
  });

  it('a command that writes a file: the write happens in each environment and is traced', async () => {
    const out = path.join('/tmp', `tc-write-test-${process.pid}`);
    const r = await run(['--pod', 'runc', '--pod', 'gvisor', '--format', 'json', '--', 'cp', '/etc/hostname', out]);
    rmSync(out, { force: true });
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { environments: Env[] };
    for (const e of c.environments) {
      expect(e.exitCode).toBe(0);
      const opened = e.syscalls.filter((s) => s.syscall === 'openat').reduce((n, s) => n + s.calls, 0);
      expect(opened).toBeGreaterThan(0);
    }
    expect(c.environments.find((e) => e.name === 'gvisor')!.totals.hostKernelCalls).toBe(0);
  });

  it('a shell running a pipeline: --include puts ls and wc in the pods; no syscall is counted entering more often than issued', async () => {
    const r = await run(['sh', '-c', 'echo hi; ls / | wc -l', '--include', 'ls', '--include', 'wc', '--format', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as { environments: Env[] };
    for (const e of c.environments) {
      expect(e.exitCode, e.name).toBe(0);
      expect(e.stdout.startsWith('hi\n'), e.name).toBe(true);
      // The workload is the sh strace started, not perf's status wrapper (also an sh).
      for (const s of e.syscalls) expect(s.hostKernelCalls!, `${e.name} ${s.syscall}`).toBeLessThanOrEqual(s.calls);
      expect(e.syscalls.find((s) => s.syscall === 'wait4')?.calls ?? 0, e.name).toBeGreaterThanOrEqual(1);
    }
  });

  // Each stop signal at another moment: while the runtimes start (1 s), while the workload runs (3-4 s), later (6 s).
  for (const [signal, delay, code] of [['SIGINT', 4000, 130], ['SIGTERM', 1000, 143], ['SIGHUP', 3000, 129], ['SIGQUIT', 6000, 131]] as const) {
    it(`${signal} ${delay / 1000} s into sleep 30 ends within 10 s, exit ${code}, leaving no container, process, cgroup or temp dir`, async () => {
      const child = execa('node', [bin, 'sleep', '30', '--pod', 'runc', '--pod', 'gvisor'], {
        // execa would SIGKILL 5 s after the signal: the cleanup's own time is what is measured here.
        reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp }, forceKillAfterDelay: false,
      });
      await new Promise((r) => setTimeout(r, delay));
      const sent = Date.now();
      child.kill(signal);
      const r = await child;
      expect(Date.now() - sent).toBeLessThan(10_000);
      expect(r.exitCode).toBe(code);
      expect(r.stderr).toContain(`interrupted by ${signal}`);
      expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
    });
  }

  it('SIGKILL leaves processes, containers, cgroups and temp dirs; `cleanup` removes them all and leaves a live run alone', async () => {
    const killed = execa('node', [bin, 'sleep', '30', '--pod', 'runc', '--pod', 'gvisor'], { reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp } });
    await new Promise((r) => setTimeout(r, 4000));
    killed.kill('SIGKILL');
    await killed;
    const left = leftovers(tmp);
    // What docs/cli.md says SIGKILL leaves: a dir per environment and the count's, a bundle dir per pod and
    // the rootfs the pods share.
    expect(left.tempDirs.length).toBe(4);
    expect(left.scratchDirs.length).toBe(3);
    expect(left.processes.length).toBeGreaterThan(0);
    expect(left.cgroups).not.toBe('');
    // A run still going, in the same temp dir, while cleanup runs.
    const live = execa('node', [bin, '--no-host', '--pod', 'runc', '--no-perf', '--format', 'json', 'sleep', '6'], { reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp } });
    await new Promise((r) => setTimeout(r, 2500));
    const c = await run(['cleanup']);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/left alone \(its run is still going\)/);
    const l = await live;
    expect(l.exitCode, l.stderr).toBe(0);
    expect((JSON.parse(l.stdout) as { environments: Env[] }).environments[0]!.exitCode).toBe(0);
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
    expect((await run(['cleanup'])).stdout.trim()).toBe('nothing left by earlier runs');
  });

  it('a closed stdout (| head -c 100) and a full one (> /dev/full): no hang, documented exit, nothing left', async () => {
    const piped = await execa('sh', ['-c', 'node "$@" | head -c 100 >/dev/null', 'sh', bin, '--format', 'json', '--pod', 'runc', '--pod', 'gvisor', 'seq', '100000'], {
      reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp }, timeout: 60_000,
    });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
    const full = await execa('sh', ['-c', 'node "$@" > /dev/full', 'sh', bin, '--pod', 'runc', 'true'], {
      reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp }, timeout: 60_000,
    });
    expect(full.exitCode).toBe(1);
    expect(full.stderr.trim().split('\n')).toEqual(['trace-compare: cannot write the report to standard output: no space left on device (ENOSPC)']);
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
  });

  it('output far beyond memory (100 MB of NULs) is counted in full, sampled, and kills nothing', async () => {
    const r = await run(['--format', 'json', '--pod', 'runc', '--no-perf', '--', 'head', '-c', '100000000', '/dev/zero']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const e of (JSON.parse(r.stdout) as { environments: (Env & { outputBytes: { stdout: number } })[] }).environments) {
      expect(e.exitCode, e.name).toBe(0);
      expect(e.outputBytes.stdout, e.name).toBe(100_000_000);
      expect(e.stdout.length, e.name).toBeLessThan(100_000);
    }
  });

  it('a full trace disk (TMPDIR on a 1 MiB tmpfs): the figures are marked incomplete with the reason, exit 6, nothing left', async () => {
    const small = mkdtempSync(path.join(os.tmpdir(), 'tc-small-'));
    execaSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const r = await execa('node', [bin, '--no-host', '--pod', 'host', '--format', 'json', '--', 'find', '/usr/lib', '-name', '*.so*'], {
        reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: small },
      });
      expect(r.exitCode, r.stderr).toBe(6);
      const e = (JSON.parse(r.stdout) as { environments: (Env & { incomplete?: string[] })[] }).environments[0]!;
      expect(e.incomplete?.join('\n')).toMatch(/is full/);
      expect(readdirSync(small)).toEqual([]);
    } finally {
      execaSync('umount', [small], { reject: false });
      rmSync(small, { recursive: true, force: true });
    }
  });

  it('a daemon that left with setsid is ended with the host run (its cgroup), not left under PID 1', async () => {
    const r = await run(['--no-host', '--pod', 'host', '--timeout', '4', '--', 'sh', '-c', 'setsid sleep 97 </dev/null >/dev/null 2>&1 & exit 0']);
    expect(r.exitCode).toBe(124); // strace -f waits for every process it traces, the daemon included
    await new Promise((res) => setTimeout(res, 300));
    expect(execaSync('pgrep', ['-f', '^sleep 97$'], { reject: false }).stdout).toBe('');
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
  });

  it('a hung runtime with --timeout 4: the whole run ends within 20 s, nothing left', async () => {
    // A runsc that ignores every signal and never answers: first on PATH, for this run only.
    const fake = mkdtempSync(path.join(os.tmpdir(), 'tc-fake-rt-'));
    try {
      writeFileSync(path.join(fake, 'runsc'), '#!/bin/sh\ntrap "" INT TERM HUP QUIT\nexec sleep 1000\n', { mode: 0o755 });
      const t0 = Date.now();
      const r = await execa('node', [bin, '--timeout', '4', '--no-host', '--pod', 'gvisor', 'true'], {
        reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp, PATH: `${fake}:${process.env.PATH}` },
      });
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(r.exitCode).toBe(124);
      expect(execaSync('pgrep', ['-f', '^sleep 1000$'], { reject: false }).stdout).toBe('');
      expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it('--timeout beyond what a timer holds (2200000, 1e308, Infinity) is a usage error, not a timeout after 1 ms', async () => {
    for (const t of ['2200000', '1e308', 'Infinity', '0', '-1']) {
      const r = await run(['--timeout', t, 'true']);
      expect(r.exitCode, t).toBe(2);
      expect(r.stderr, t).toMatch(/--timeout must be/);
    }
  });

  it('an environment that cannot start (bad --rootfs) stops the others at once: exit 2, nothing left', async () => {
    const started = Date.now();
    const r = await run(['sleep', '20', '--pod', 'runc', '--pod', 'gvisor', '--rootfs', '/nonexistent-rootfs']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--rootfs /nonexistent-rootfs is not a directory');
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
    // The host's own `sleep 20` (traced by strace, not under TMPDIR) was stopped too.
    const ps = execaSync('ps', ['-eo', 'args'], { reject: false }).stdout.split('\n');
    expect(ps.filter((a) => /(^|\/)sleep 20$/.test(a.trim()))).toEqual([]);
  });

  it('--timeout tears a run down with exit 124 and leaves nothing', async () => {
    const r = await run(['sleep', '30', '--pod', 'gvisor', '--timeout', '2', '--format', 'json']);
    expect(r.exitCode).toBe(124);
    const c = JSON.parse(r.stdout) as { environments: (Env & { ended?: string })[] };
    expect(c.environments.every((e) => e.ended === 'timeout')).toBe(true);
    // Reported the same way everywhere: no exit status, and a trace cut mid-line is no bad input.
    expect(c.environments.map((e) => e.exitCode)).toEqual([null, null]);
    expect(c.environments.map((e) => e.unparsed)).toEqual([0, 0]);
    expect(r.stderr).not.toMatch(/not understood|expected a/);
    expect(leftovers(tmp)).toEqual(NOTHING_LEFT);
  });
});

describe('without root', () => {
  it.skipIf(process.getuid?.() !== 0 || !has('setpriv'))('explicit pods are a clear error (exit 4); the host alone still works', async () => {
    const asNobody = (args: string[]) =>
      execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', bin, ...args], { reject: false, stdin: 'ignore', cwd: '/tmp', env: { NO_COLOR: '1' } });
    const pods = await asNobody(['uname', '-r', '--pod', 'gvisor']);
    expect(pods.exitCode).toBe(4);
    expect(pods.stderr).toMatch(/need root/);
    const host = await asNobody(['uname', '-r', '--format', 'json']);
    expect(host.stderr).toMatch(/not root/);
    expect(host.exitCode).toBe(0);
    const c = JSON.parse(host.stdout) as { environments: Env[] };
    expect(c.environments.map((e) => e.name)).toEqual(['host']);
    expect(c.environments[0]!.kernelRelease).toBe(os.release());
    expect(c.environments[0]!.hostKernel).toBeNull();
  });
});
