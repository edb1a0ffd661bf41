// Every way a run can end — abort (Ctrl-C), timeout, crash, runtime failure, the SIGINT registry —
// leaves nothing: no container in the run's state root or the default roots, no live process of the
// run (checked with ps, independently of the runner's own process finder), no temp dir.

import { describe, it, expect, vi, afterEach } from 'vitest';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { runEnvironment as realRun } from '../../src/runners/run.js';
import { cleanupAll, installSignalCleanup, liveResources } from '../../src/runners/registry.js';
import type { EnvironmentSpec, RunOutcome, RunOptions } from '../../src/runners/types.js';
import { has } from '../helpers/live.js';

const isRoot = process.getuid?.() === 0;
const why = (rt: string) => (!isRoot ? `needs root (uid ${process.getuid?.()})` : !has(rt) ? `${rt} is not installed` : null);
const reasons: Record<string, string | null> = { host: has('strace') ? null : 'strace is not installed', runc: why('runc'), runsc: why('runsc') };
for (const [k, r] of Object.entries(reasons)) if (r) console.warn(`skipping ${k} cleanup tests: ${r}`);
const noPerf = !has('perf');
if (noPerf) console.warn('skipping perf-wrapped cleanup tests: perf is not installed');

const ENVS: EnvironmentSpec[] = [
  { name: 'host', runtime: 'host' },
  { name: 'runc', runtime: 'runc' },
  { name: 'gvisor', runtime: 'runsc' },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A sleep duration nobody else uses marks this test's workload in `ps`.
let seq = 0;
const marker = () => `30.${process.pid % 1000}${String(++seq).padStart(3, '0')}`;

interface PsRow { pid: number; stat: string; args: string }
async function ps(): Promise<PsRow[]> {
  const r = await execa('ps', ['-eo', 'pid=,stat=,args=']);
  return String(r.stdout).split('\n').map((l) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), stat: m[2]!, args: m[3]! }));
}
/** Live processes (zombies are already dead) of one run: by its sleep marker, its temp dir, its cgroup. */
async function processesOf(tempDir: string, sleepArg: string, containerId: string | null): Promise<PsRow[]> {
  const rows = (await ps()).filter((p) => !p.stat.startsWith('Z') && p.pid !== process.pid);
  return rows.filter((p) => {
    if (p.args.includes(`sleep ${sleepArg}`) || (tempDir && p.args.includes(tempDir))) return true;
    if (!containerId) return false;
    const cg = (() => { try { return readFileSync(`/proc/${p.pid}/cgroup`, 'utf8'); } catch { return ''; } })();
    return cg.split('\n').some((l) => l.split('/').includes(containerId));
  });
}

async function expectNothingLeft(o: RunOutcome, sleepArg: string, bin: string | null): Promise<void> {
  // Reaping by init can lag a moment; a live process is what counts.
  let left = await processesOf(o.tempDir, sleepArg, o.containerId);
  for (let i = 0; i < 20 && left.length; i++) { await sleep(100); left = await processesOf(o.tempDir, sleepArg, o.containerId); }
  expect(left.map((p) => `${p.pid} ${p.args}`)).toEqual([]);
  const state = path.join(o.tempDir, 'state');
  expect(existsSync(state), 'state root removed').toBe(false);
  // No state root, so `list` has nothing to show; running it anyway would make runc create the dir.
  if (bin && existsSync(state)) {
    const list = await execa(bin, ['--root', state, 'list', '-q'], { reject: false });
    expect(String(list.stdout).trim()).toBe('');
  }
  await o.dispose();
  expect(existsSync(o.tempDir), 'temp dir removed').toBe(false);
}

async function defaultRootIds(): Promise<string[]> {
  const ids: string[] = [];
  for (const bin of ['runc', 'runsc']) {
    if (!has(bin) || !isRoot) continue;
    const r = await execa(bin, ['list', bin === 'runsc' ? '-quiet' : '-q'], { reject: false });
    expect(r.exitCode, `${bin} list: ${r.stderr}`).toBe(0);
    ids.push(...String(r.stdout).split('\n').filter((l) => l.startsWith('trace-compare-')));
  }
  return ids;
}

afterEach(async () => {
  expect(liveResources()).toEqual([]);
  expect(await defaultRootIds()).toEqual([]);
});

// Outcomes are disposed after each test even when an assertion failed half-way.
const outcomes: RunOutcome[] = [];
async function runEnvironment(env: EnvironmentSpec, opts: RunOptions): Promise<RunOutcome> {
  const o = await realRun(env, opts);
  outcomes.push(o);
  return o;
}
afterEach(async () => {
  for (const o of outcomes.splice(0)) await o.dispose();
});

const binOf = (e: EnvironmentSpec) => (e.runtime === 'host' ? null : e.runtime);

describe.each(ENVS)('$name: interrupted and timed-out runs leave nothing', (env) => {
  const reason = reasons[env.runtime];
  for (const tracePerf of [false, true]) {
    const tag = tracePerf ? ' under perf trace' : '';
    it.skipIf(!!reason || (tracePerf && noPerf))(`abort 2 s into sleep 30${tag}`, async () => {
      const arg = marker();
      const ac = new AbortController();
      let seenRunning = 0;
      // From 2 s on, abort once the workload runs (the tracers' start, bpftrace's compile on a loaded machine,
      // may take longer than 2 s), or after 20 s whatever it is doing.
      const deadline = Date.now() + 20_000;
      const look = () => {
        // Under gVisor the sleep runs inside ptrace stubs ("exe"): find the run by dir and cgroup.
        const live = liveResources()[0];
        void processesOf(live?.tempDir ?? '', arg, live?.containerId ?? null).then((p) => {
          seenRunning = p.length;
          if (p.length > 0 || Date.now() > deadline) ac.abort();
          else setTimeout(look, 250);
        });
      };
      setTimeout(look, 2000);
      const t0 = Date.now();
      const o = await runEnvironment(env, { command: ['sleep', arg], timeoutMs: 60_000, tracePerf, signal: ac.signal });
      expect(seenRunning, 'the workload was running when aborted').toBeGreaterThan(0);
      expect(o.interrupted).toBe(true);
      expect(o.timedOut).toBe(false);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(o.exitCode === 0).toBe(false);
      await expectNothingLeft(o, arg, binOf(env));
    });
    it.skipIf(!!reason || (tracePerf && noPerf))(`timeout after 2 s of sleep 30${tag}`, async () => {
      const arg = marker();
      const o = await runEnvironment(env, { command: ['sleep', arg], timeoutMs: 2000, tracePerf });
      expect(o.timedOut).toBe(true);
      expect(o.interrupted).toBe(false);
      expect(o.wallMs).toBeGreaterThanOrEqual(1900);
      expect(o.wallMs).toBeLessThan(15_000);
      // The trace survives until dispose(): the caller can still report what happened.
      if (env.runtime !== 'runsc') expect(readFileSync(o.workloadTrace.files[0]!, 'utf8')).toContain(`"sleep", "${arg}"`);
      if (tracePerf) expect(existsSync(o.hostTrace!.file)).toBe(true);
      await expectNothingLeft(o, arg, binOf(env));
    });
  }

  it.skipIf(!!reason || !has('busybox'))('a crashing workload (SIGSEGV) is reported and cleaned up', async () => {
    const arg = marker();
    const o = await runEnvironment(env, { command: ['busybox', 'sh', '-c', `kill -SEGV $$; sleep ${arg}`], timeoutMs: 30_000, tracePerf: false });
    if (env.runtime === 'host') {
      expect(o.signal).toBe('SIGSEGV'); // strace re-raises the tracee's fatal signal on itself
    } else {
      expect(o.exitCode).toBe(128 + os.constants.signals.SIGSEGV);
    }
    expect(o.timedOut || o.interrupted).toBe(false);
    await expectNothingLeft(o, arg, binOf(env));
  });

  it.skipIf(!!reason)('an already aborted signal starts nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const o = await runEnvironment(env, { command: ['sleep', marker()], timeoutMs: 10_000, tracePerf: false, signal: ac.signal });
    expect(o.interrupted).toBe(true);
    expect(o.exitCode).toBeNull();
    await expectNothingLeft(o, 'never-started', binOf(env));
  });
});

describe('host: a workload that leaves a background process', () => {
  it.skipIf(!has('busybox'))('the orphan is killed with the run (untraced, so nothing waits for it)', async () => {
    const arg = marker();
    const o = await runEnvironment({ name: 'host', runtime: 'host' },
      { command: ['busybox', 'sh', '-c', `busybox sleep ${arg} & echo started`], timeoutMs: 20_000, tracePerf: false, traceWorkload: false });
    expect(o.exitCode).toBe(0);
    expect(o.timedOut).toBe(false);
    expect(o.wallMs).toBeLessThan(5000); // not held until the timeout by the orphan's open stdout
    expect(o.stdout).toBe('started\n');
    await expectNothingLeft(o, arg, null);
  });
});

describe('runtime failures', () => {
  const crun: EnvironmentSpec = { name: 'crun', runtime: 'crun' };
  it.skipIf(!!why('crun'))('crun: a runtime that cannot create the container reports runtimeError and leaves nothing', async () => {
    const o = await runEnvironment(crun, { command: ['uname', '-r'], timeoutMs: 30_000, tracePerf: false });
    if (o.runtimeError === null) {
      console.warn('crun works on this machine: no runtime failure to observe');
      expect(o.exitCode).toBe(0);
    } else {
      // e.g. "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
      expect(o.exitCode).not.toBe(0);
      expect(o.stdout).toBe('');
    }
    await expectNothingLeft(o, 'never-started', 'crun');
  });
  for (const env of ENVS.slice(1)) {
    it.skipIf(!!reasons[env.runtime])(`${env.name}: an empty rootfs fails in the runtime and leaves nothing`, async () => {
      const empty = mkdtempSync(path.join(os.tmpdir(), 'tc-empty-'));
      try {
        const o = await runEnvironment(env, { command: ['/nothing-here'], timeoutMs: 30_000, tracePerf: false, rootfs: empty });
        expect(o.exitCode).not.toBe(0);
        expect(o.timedOut || o.interrupted).toBe(false);
        // The container starts (strace is bind-mounted in under runc) and exec of the command fails.
        expect(o.stderr).toMatch(/nothing-here/);
        await expectNothingLeft(o, 'never-started', binOf(env));
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });
  }
});

describe('the registry for the CLI SIGINT handler', () => {
  const env = ENVS[2]!;
  it.skipIf(!!reasons.runsc)('cleanupAll() ends a running gvisor sandbox and removes everything', async () => {
    const arg = marker();
    const running = runEnvironment(env, { command: ['sleep', arg], timeoutMs: 60_000, tracePerf: false });
    await sleep(2000);
    const live = liveResources();
    expect(live.length).toBe(1);
    expect((await processesOf(live[0]!.tempDir, arg, live[0]!.containerId)).length).toBeGreaterThan(0);
    await cleanupAll();
    const o = await running;
    expect(o.interrupted).toBe(true);
    expect(existsSync(o.tempDir), 'SIGINT cleanup removes the whole temp dir').toBe(false);
    await expectNothingLeft(o, arg, 'runsc');
  });

  it.skipIf(!!reasons.runc)('installSignalCleanup: SIGINT tears down live runs, then exits 130', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // Capture the handler instead of emitting a SIGINT the test runner would also hear.
    const on = vi.spyOn(process, 'on');
    const uninstall = installSignalCleanup();
    const sigint = on.mock.calls.find((c) => c[0] === 'SIGINT')?.[1] as ((s: NodeJS.Signals) => void) | undefined;
    on.mockRestore();
    expect(sigint).toBeTypeOf('function');
    try {
      const arg = marker();
      const running = runEnvironment(ENVS[1]!, { command: ['sleep', arg], timeoutMs: 60_000, tracePerf: false } satisfies RunOptions);
      await sleep(1500);
      sigint!('SIGINT');
      const o = await running;
      for (let i = 0; i < 50 && exit.mock.calls.length === 0; i++) await sleep(100);
      expect(exit).toHaveBeenCalledWith(130);
      expect(o.interrupted).toBe(true);
      await expectNothingLeft(o, arg, 'runc');
    } finally {
      uninstall();
      exit.mockRestore();
    }
  });
});
