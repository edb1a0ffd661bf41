// Real runs on this machine: host, runc, gVisor (runsc), crun. Container tests need root and the
// runtime installed; they skip with a message saying which is missing.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync, symlinkSync, readdirSync, statSync } from 'node:fs';
import { resolveEnvironment, toolsFor, checkTools, checkRuntime, installMissing } from '../../src/runners/resolve.js';
import { which } from '../../src/runners/which.js';
import { inspectExecutable, sharedLibraries } from '../../src/runners/elf.js';
import { runEnvironment, probeKernelRelease } from '../../src/runners/run.js';
import { RECORD_THEN_REPLAY } from '../../src/runners/host-trace.js';
import { readCounts } from '../../src/runners/bpf-count.js';
import { RunError } from '../../src/runners/errors.js';
import { liveResources } from '../../src/runners/registry.js';
import type { EnvironmentSpec, RunOutcome, RunOptions } from '../../src/runners/types.js';
import { gvisorRelease, has } from '../helpers/live.js';

const isRoot = process.getuid?.() === 0;
function skipReason(runtime: string): string | null {
  if (!isRoot) return `${runtime} tests need root (uid ${process.getuid?.()})`;
  if (!has(runtime)) return `${runtime} is not installed`;
  if (!has('strace')) return 'strace is not installed';
  return null;
}
const reasons = { runc: skipReason('runc'), runsc: skipReason('runsc'), crun: skipReason('crun') };
for (const [k, r] of Object.entries(reasons)) if (r) console.warn(`skipping ${k} runner tests: ${r}`);
const noPerf = !has('perf');
const GVISOR_RELEASE = has('runsc') ? await gvisorRelease() : '';
if (noPerf) console.warn('skipping perf-wrapped runs: perf is not installed');

const HOST: EnvironmentSpec = { name: 'host', runtime: 'host' };
const RUNC: EnvironmentSpec = { name: 'runc', runtime: 'runc' };
const GVISOR: EnvironmentSpec = { name: 'gvisor', runtime: 'runsc' };
const CRUN: EnvironmentSpec = { name: 'crun', runtime: 'crun' };

const outcomes: RunOutcome[] = [];
async function run(env: EnvironmentSpec, command: string[], extra: Partial<RunOptions> = {}): Promise<RunOutcome> {
  const o = await runEnvironment(env, { command, timeoutMs: 60_000, tracePerf: false, ...extra });
  outcomes.push(o);
  return o;
}
afterAll(async () => {
  for (const o of outcomes) {
    await o.dispose();
    expect(existsSync(o.tempDir), `${o.tempDir} removed by dispose()`).toBe(false);
  }
});

describe('resolveEnvironment', () => {
  it('maps RuntimeClass-style names and NAME=HANDLER', () => {
    expect(resolveEnvironment('runc')).toEqual({ name: 'runc', runtime: 'runc' });
    expect(resolveEnvironment('gvisor')).toEqual({ name: 'gvisor', runtime: 'runsc' });
    expect(resolveEnvironment('crun')).toEqual({ name: 'crun', runtime: 'crun' });
    expect(resolveEnvironment('host')).toEqual({ name: 'host', runtime: 'host' });
    expect(resolveEnvironment('sandboxed=runsc')).toEqual({ name: 'sandboxed', runtime: 'runsc' });
  });
  it('rejects unknown names and handlers with a hint', () => {
    for (const bad of ['kata', 'x=kata', '=runc', 'a b=runc']) {
      let err: unknown;
      try { resolveEnvironment(bad); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).code).toBe('BAD_REQUEST');
      expect((err as RunError).context.hint).toBeTruthy();
    }
  });
  it('lists the tools each environment needs', () => {
    expect(toolsFor('host', { tracePerf: false })).toEqual(['strace']);
    expect(toolsFor('runsc', { tracePerf: true })).toEqual(['runsc', 'perf']);
    expect(toolsFor('runc', { tracePerf: false, traceWorkload: false })).toEqual(['runc']);
  });
  it('a missing tool is a NOT_AVAILABLE RunError naming the package', async () => {
    const oldPath = process.env.PATH;
    process.env.PATH = ''; // strace lives in /usr/bin, which is then not searched
    try {
      const err = await checkTools(['strace', 'perf']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).code).toBe('NOT_AVAILABLE');
      expect((err as RunError).context.hint).toContain('apt-get install strace linux-perf');
    } finally {
      process.env.PATH = oldPath;
    }
    expect(await which('definitely-not-a-command-xyz')).toBeNull();
  });
  it.skipIf(!isRoot)('checkRuntime finds runc as root', async () => {
    if (!has('runc')) return;
    expect(await checkRuntime('runc')).toMatch(/runc$/);
    expect(await checkRuntime('host')).toBeNull();
  });
});

describe('ELF inspection', () => {
  it('finds PT_INTERP and shared libraries of a dynamic binary', async () => {
    const uname = (await which('uname'))!;
    const info = await inspectExecutable(uname);
    expect(info.kind).toBe('dynamic');
    if (info.kind !== 'dynamic') return;
    expect(info.interp).toMatch(/^\/.*ld-linux.*\.so/);
    const libs = await sharedLibraries(uname, info.interp);
    expect(libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    expect(libs).toContain(info.interp);
  });
  it.skipIf(!has('busybox'))('reports a static binary as static', async () => {
    expect(await inspectExecutable((await which('busybox'))!)).toEqual({ kind: 'static' });
  });
  it('reads a shebang line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-elf-'));
    const f = path.join(dir, 's');
    writeFileSync(f, '#!/usr/bin/env sh -e\necho hi\n');
    expect(await inspectExecutable(f)).toEqual({ kind: 'script', interpreter: '/usr/bin/env', arg: 'sh -e' });
    rmSync(dir, { recursive: true });
  });
});

describe('uname -r', () => {
  it('host: the machine release, and strace -v shows release="..."', async () => {
    const o = await run(HOST, ['uname', '-r']);
    expect(o.exitCode).toBe(0);
    expect(o.stdout.trim()).toBe(os.release());
    expect(o.workloadTrace.format).toBe('strace');
    expect(readFileSync(o.workloadTrace.files[0]!, 'utf8')).toContain(`release="${os.release()}"`);
    console.log(`host uname -r: ${o.wallMs} ms`);
  });
  it.skipIf(!!reasons.runc)('runc: the host release, traced inside the container from execve on', async () => {
    const o = await run(RUNC, ['uname', '-r']);
    expect(o.runtimeError).toBeNull();
    expect(o.exitCode).toBe(0);
    expect(o.stdout.trim()).toBe(os.release());
    const log = readFileSync(o.workloadTrace.files[0]!, 'utf8');
    expect(log.split('\n')[0]).toMatch(/execve\("\/usr\/bin\/uname", \["uname", "-r"\]/);
    expect(log).toContain(`release="${os.release()}"`);
    expect(log).toContain('nodename="trace-compare"');
    expect(log).not.toMatch(/pivot_root|runc/); // none of runc's own setup
    expect(o.workloadHostPids?.length).toBe(1);
    expect(o.containerId).toMatch(/^trace-compare-[0-9a-f]{12}$/);
    console.log(`runc uname -r: ${o.wallMs} ms`);
  });
  it.skipIf(!!reasons.runsc)('gvisor: its own release, and the Sentry strace in the boot log', async () => {
    const o = await run(GVISOR, ['uname', '-r']);
    expect(o.runtimeError).toBeNull();
    expect(o.exitCode).toBe(0);
    expect(o.stdout.trim()).toBe(GVISOR_RELEASE);
    expect(o.workloadTrace.format).toBe('runsc');
    expect(o.workloadTrace.files.length).toBeGreaterThanOrEqual(1);
    expect(o.workloadTrace.files[0]).toMatch(/\.boot\.txt$/);
    expect(readFileSync(o.workloadTrace.files[0]!, 'utf8')).toMatch(/uname E uname\(/);
    console.log(`runsc uname -r: ${o.wallMs} ms`);
  });
  it.skipIf(!!reasons.runsc)('gvisor bare run (no --strace): timing of the same bundle', async () => {
    const o = await run(GVISOR, ['uname', '-r'], { traceWorkload: false });
    expect(o.stdout.trim()).toBe(GVISOR_RELEASE);
    expect(o.workloadTrace.files).toEqual([]);
    console.log(`bare runsc uname -r: ${o.wallMs} ms`);
  });
  it.skipIf(!!reasons.runsc || !!reasons.runc)('probeKernelRelease: host vs runc vs gvisor', async () => {
    expect(await probeKernelRelease(HOST)).toBe(os.release());
    expect(await probeKernelRelease(RUNC)).toBe(os.release());
    expect(await probeKernelRelease(GVISOR)).toBe(GVISOR_RELEASE);
  });
  it.skipIf(!!reasons.crun)('crun: the host release, or a runtimeError that says why it cannot run here', async () => {
    const o = await run(CRUN, ['uname', '-r']);
    if (o.runtimeError) {
      // e.g. this VM's hybrid cgroup layout: "cgroups in hybrid mode not supported"
      console.warn(`crun cannot run containers here: ${o.runtimeError}`);
      expect(o.exitCode).not.toBe(0);
      return;
    }
    expect(o.stdout.trim()).toBe(os.release());
  });
});

describe('exit codes and files', () => {
  for (const [env, reason] of [[HOST, null], [RUNC, reasons.runc], [GVISOR, reasons.runsc]] as const) {
    it.skipIf(!!reason)(`${env.name}: false and cat /nonexistent exit 1`, async () => {
      const f = await run(env, ['false']);
      expect(f.exitCode).toBe(1);
      expect(f.runtimeError).toBeNull();
      const c = await run(env, ['cat', '/nonexistent']);
      expect(c.exitCode).toBe(1);
      expect(c.stderr).toContain('cat: /nonexistent: No such file or directory');
    });
    it.skipIf(!!reason || !has('busybox'))(`${env.name}: a busybox shell writes and reads /tmp/x`, async () => {
      const o = await run(env, ['busybox', 'sh', '-c', 'echo hi > /tmp/x && cat /tmp/x']);
      expect(o.exitCode).toBe(0);
      expect(o.stdout).toBe('hi\n');
    });
  }
  it.skipIf(!!reasons.runc)('runc: a host shell with an included command', async () => {
    const o = await run(RUNC, ['sh', '-c', 'echo hi > /tmp/x && cat /tmp/x'], { include: ['cat'] });
    expect(o.exitCode).toBe(0);
    expect(o.stdout).toBe('hi\n');
  });
  it.skipIf(!!reasons.runc)('runc: the commands a shell runs are there (the host\'s /usr), /etc is the pod\'s own without secrets', async () => {
    const o = await run(RUNC, ['sh', '-c', 'cat /etc/hostname; test -e /etc/shadow || echo no-shadow; test -e /etc/passwd && echo passwd']);
    expect(o.exitCode, o.stderr).toBe(0);
    expect(o.stdout).toBe('trace-compare\nno-shadow\npasswd\n');
  });
  it.skipIf(!!reasons.runc)('a script whose #! names a file that is not an executable (#!/etc/shadow) is refused, nothing copied', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-shebang-'));
    try {
      const script = path.join(dir, 'evil');
      writeFileSync(script, '#!/etc/shadow\n', { mode: 0o755 });
      const err = await runEnvironment(RUNC, { command: [script], timeoutMs: 10_000, tracePerf: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).message).toMatch(/#! interpreter \/etc\/shadow is not an executable file/);
      expect(liveResources()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('errors before the run', () => {
  it.skipIf(!!reasons.runc)('a command not on this host is a RunError and nothing stays registered', async () => {
    const err = await runEnvironment(RUNC, { command: ['no-such-command-xyz'], timeoutMs: 10_000, tracePerf: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toContain('no-such-command-xyz');
    expect(liveResources()).toEqual([]);
  });
  it('installMissing installs nothing when nothing is missing', async () => {
    expect(await installMissing(['strace'])).toEqual([]);
  });
  it('an empty command is a usage error', async () => {
    await expect(runEnvironment(HOST, { command: [], timeoutMs: 1000, tracePerf: false })).rejects.toBeInstanceOf(RunError);
  });
});

describe('a user rootfs is used as-is and not modified', () => {
  let rootfs = '';
  const snapshot = (dir: string): string[] => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = path.join(d, n);
        const st = statSync(p, { throwIfNoEntry: false });
        out.push(`${path.relative(dir, p)} ${st?.mtimeMs ?? 'dangling'} ${st?.size ?? ''}`);
        if (st?.isDirectory()) walk(p);
      }
    };
    walk(dir);
    return out.sort();
  };
  beforeAll(() => {
    if (!has('busybox')) return;
    rootfs = mkdtempSync(path.join(os.tmpdir(), 'tc-rootfs-'));
    for (const d of ['bin', 'tmp', 'proc', 'dev', 'sys', 'etc']) mkdirSync(path.join(rootfs, d));
    writeFileSync(path.join(rootfs, 'bin', 'busybox'), readFileSync('/usr/bin/busybox'));
    chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'uname', 'cat', 'echo']) symlinkSync('busybox', path.join(rootfs, 'bin', a));
  });
  afterAll(() => { if (rootfs) rmSync(rootfs, { recursive: true, force: true }); });
  for (const [env, reason] of [[RUNC, reasons.runc], [GVISOR, reasons.runsc]] as const) {
    it.skipIf(!!reason || !has('busybox'))(`${env.name} with --rootfs (busybox)`, async () => {
      const before = snapshot(rootfs);
      const o = await run(env, ['sh', '-c', 'echo hi > /tmp/x && cat /tmp/x && uname -r'], { rootfs });
      expect(o.runtimeError).toBeNull();
      expect(o.stdout).toBe(`hi\n${env.runtime === 'runsc' ? GVISOR_RELEASE : os.release()}\n`);
      const w = await run(env, ['sh', '-c', 'echo no > /etc/x'], { rootfs });
      expect(w.exitCode).not.toBe(0); // read-only root
      expect(snapshot(rootfs)).toEqual(before);
    });
  }
});

describe('perf trace wrapping', () => {
  for (const [env, reason] of [[HOST, null], [RUNC, reasons.runc], [GVISOR, reasons.runsc]] as const) {
    it.skipIf(!!reason || noPerf || !has('bpftrace'))(`${env.name}: the in-kernel counts follow the whole run and the exit status survives the status wrapper`, async () => {
      const o = await run(env, ['cat', '/nonexistent'], { tracePerf: true });
      expect(o.exitCode).toBe(1);
      const h = o.hostTrace;
      if (h?.format !== 'bpf-counts') throw new Error(`expected in-kernel counts, got ${JSON.stringify(h)}`);
      const counts = await readCounts(h.file, h.root);
      expect(counts.lostEvents).toBe(0);
      if (env.runtime !== 'runsc') expect(counts.execs.some((x) => x.filename.endsWith('/cat')), 'exec of cat counted').toBe(true);
      else expect(counts.execs.filter((x) => x.filename === '/proc/self/exe').length).toBeGreaterThanOrEqual(2); // Sentry and gofer
    });
    it.skipIf(!!reason || noPerf)(`${env.name}: perf sees the whole run and the exit status survives perf`, async () => {
      const o = await run(env, ['cat', '/nonexistent'], { tracePerf: true, hostTracer: RECORD_THEN_REPLAY });
      expect(o.exitCode).toBe(1); // perf itself always exits 0
      expect(o.hostTrace).not.toBeNull();
      const text = readFileSync(o.hostTrace!.file, 'utf8');
      // Booleans, not toMatch: a failing match would print the whole trace.
      // Under gVisor the app runs inside ptrace stubs, whose comm is "exe", never "cat".
      if (env.runtime !== 'runsc') expect(/ cat\/\d+ /.test(text), 'perf saw cat').toBe(true);
      if (env.runtime === 'runc') {
        expect(/runc:\[\d:CHILD\]\/\d+/.test(text), 'perf saw runc init').toBe(true);
        // The in-container strace is the container's init: its host pid is workloadHostPids[0].
        expect(text.includes(` strace/${o.workloadHostPids?.[0]} `), 'perf saw the in-container strace').toBe(true);
      }
      if (env.runtime === 'runsc') {
        // Sentry, gofer, and the ptrace stubs: all show as "exe" (runsc re-execs /proc/self/exe).
        const exePids = new Set([...text.matchAll(/ exe\/(\d+) /g)].map((m) => m[1]));
        expect(exePids.size).toBeGreaterThanOrEqual(3);
        expect(exePids.has(String(o.workloadHostPids?.[0]))).toBe(true);
      }
    });
  }
});

describe('concurrent runs share nothing', () => {
  it.skipIf(!!reasons.runc || !!reasons.runsc)('host, runc, runc, gvisor, gvisor at once', async () => {
    const envs = [HOST, RUNC, RUNC, GVISOR, GVISOR];
    const res = await Promise.all(envs.map((e) => run(e, ['uname', '-r'])));
    expect(res.map((r) => r.stdout.trim())).toEqual([os.release(), os.release(), os.release(), GVISOR_RELEASE, GVISOR_RELEASE]);
    expect(new Set(res.map((r) => r.tempDir)).size).toBe(envs.length);
  });
});

describe('default runtime roots stay empty', () => {
  for (const [bin, reason] of [['runc', reasons.runc], ['runsc', reasons.runsc]] as const) {
    it.skipIf(!!reason)(`${bin} list -q`, async () => {
      const r = await execa(bin, ['list', bin === 'runsc' ? '-quiet' : '-q'], { reject: false });
      expect(r.exitCode, `${bin} list: ${r.stderr}`).toBe(0);
      expect(String(r.stdout).split('\n').filter((l) => l.startsWith('trace-compare-'))).toEqual([]);
    });
  }
});
