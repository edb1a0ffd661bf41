// --backend cri on this machine: real pods through a real containerd (the private one of
// scripts/setup-cri.sh, started here when it is not running), handlers runc and runsc. Needs root,
// containerd, runc, runsc, strace and perf; skips with the reason otherwise.

import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gvisorRelease, has } from '../helpers/live.js';
import { connectCri } from '../../src/runners/cri/client.js';
import { privateCriEndpoint } from '../../src/runners/cri/endpoint.js';
import { RUN_LABEL } from '../../src/runners/cri/pod-spec.js';
import { cgroupMounts } from '../../src/runners/cgroup.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/trace-compare.js');

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return `the CRI backend needs root (uid ${process.getuid?.()})`;
  for (const tool of ['containerd', 'ctr', 'runc', 'runsc', 'strace', 'perf']) if (!has(tool)) return `${tool} is not installed`;
  return null;
}
const reason = skipReason();
if (reason) console.warn(`skipping CRI backend tests: ${reason}`);

let endpoint = '';
beforeAll(async () => {
  if (reason) return;
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, reject: false });
  endpoint = (await privateCriEndpoint()) ?? '';
  if (!endpoint) {
    await execa('bash', [path.join(root, 'scripts/setup-cri.sh'), 'start'], { stdin: 'ignore' });
    endpoint = (await privateCriEndpoint()) ?? '';
  }
});

interface Env { name: string; kernelRelease: string | null; exitCode: number | null; ended?: string; stdout: string; syscalls: { syscall: string; calls: number; hostKernelCalls: number | null }[] }

async function cli(args: string[], opts: { tmp?: string } = {}) {
  return execa('node', [bin, ...args], {
    cwd: root, stdin: 'ignore', reject: false, timeout: 180_000,
    env: opts.tmp ? { TMPDIR: opts.tmp } : {},
  });
}

function envs(stdout: string): Env[] {
  return (JSON.parse(stdout) as { environments: Env[] }).environments;
}
const row = (e: Env, name: string) => e.syscalls.find((s) => s.syscall === name);

/** What the tool left on the machine: its pods and containers, shims and runsc processes of the private containerd, cgroups, temp dirs. */
async function leftovers(tmp: string): Promise<string[]> {
  const out: string[] = [];
  const c = await connectCri(endpoint);
  try {
    for (const p of (await c.listPodSandbox()).items) if (RUN_LABEL in p.labels) out.push(`pod sandbox ${p.id} (${p.state})`);
    for (const k of (await c.listContainers()).containers) if (RUN_LABEL in k.labels) out.push(`container ${k.id} (${k.state})`);
  } finally {
    c.close();
  }
  const sock = endpoint.replace(/^unix:\/\//, '');
  const ps = String((await execa('ps', ['-eo', 'pid=,args='])).stdout).split('\n');
  for (const l of ps) {
    if (/containerd-shim/.test(l) && l.includes(`-address ${sock}`)) out.push(`shim: ${l.trim().slice(0, 120)}`);
    if (/runsc/.test(l) && l.includes(path.dirname(sock) + '/runtimes/')) out.push(`runsc: ${l.trim().slice(0, 120)}`);
  }
  for (const { dir } of await cgroupMounts()) {
    for (const n of readdirSync(dir)) if (/^trace-compare-[0-9a-f]{12}$/.test(n)) out.push(`cgroup ${path.join(dir, n)}`);
  }
  for (const n of readdirSync(tmp)) out.push(`temp ${path.join(tmp, n)}`);
  return out;
}

/** How many of our containers run, once `want` do or after 20 s (ours carry the run label). */
async function runningContainers(want: number): Promise<number> {
  const c = await connectCri(endpoint);
  let running = 0;
  try {
    for (let i = 0; i < 100 && running < want; i++) {
      await new Promise((r) => setTimeout(r, 200));
      running = (await c.listContainers()).containers.filter((k) => RUN_LABEL in k.labels && k.state === 'CONTAINER_RUNNING').length;
    }
  } finally {
    c.close();
  }
  return running;
}

/** `sleep 30` in a runc and a gVisor pod through CRI, with a TMPDIR of its own, for `body`; the dir goes after. */
async function withSleepRun(body: (child: ReturnType<typeof execa>, tmp: string) => Promise<void>): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cri-live-'));
  try {
    const child = execa('node', [bin, 'sleep', '30', '--backend', 'cri', '--pod', 'runc', '--pod', 'gvisor'], {
      // No SIGKILL 5 s after our signal (execa's default): the CLI's own teardown is what is tested.
      cwd: root, stdin: 'ignore', reject: false, env: { TMPDIR: tmp }, forceKillAfterDelay: false,
    });
    await body(child, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe.skipIf(reason !== null)('--backend cri', () => {
  it('uname -r: the host release in runc, gVisor\'s in gvisor; uname reaches the host kernel once in runc, never in gVisor; as with --backend oci', async () => {
    const cri = await cli(['uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--backend', 'cri', '--format', 'json']);
    expect(cri.exitCode, String(cri.stderr)).toBe(0);
    const [host, runc, gvisor] = envs(String(cri.stdout));
    expect(runc!.kernelRelease).toBe(os.release());
    expect(runc!.stdout.trim()).toBe(os.release());
    expect(gvisor!.kernelRelease).toBe(await gvisorRelease());
    expect(gvisor!.stdout.trim()).toBe(await gvisorRelease());
    expect(row(runc!, 'uname')).toMatchObject({ calls: 1, hostKernelCalls: 1 });
    expect(row(gvisor!, 'uname')).toMatchObject({ calls: 1, hostKernelCalls: 0 });
    // The pods see the host's files: the runc pod's calls are the host's, call for call.
    expect(runc!.syscalls.reduce((n, s) => n + s.calls, 0)).toBe(host!.syscalls.reduce((n, s) => n + s.calls, 0));

    const oci = await cli(['uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--format', 'json']);
    expect(oci.exitCode, String(oci.stderr)).toBe(0);
    const [, ociRunc, ociGvisor] = envs(String(oci.stdout));
    expect(runc!.kernelRelease).toBe(ociRunc!.kernelRelease);
    expect(gvisor!.kernelRelease).toBe(ociGvisor!.kernelRelease);
    expect(row(runc!, 'uname')).toEqual(row(ociRunc!, 'uname'));
    expect(row(gvisor!, 'uname')).toEqual(row(ociGvisor!, 'uname'));
  });

  it('Ctrl-C 4 s into sleep 30 leaves no pod sandbox, container, shim, runsc process, cgroup or temp dir', () =>
    withSleepRun(async (child, tmp) => {
      await new Promise((r) => setTimeout(r, 4000));
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(130);
      expect(await leftovers(tmp)).toEqual([]);
    }));

  it('SIGTERM once both pods run leaves nothing either', () =>
    withSleepRun(async (child, tmp) => {
      expect(await runningContainers(2)).toBe(2);
      child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(143);
      expect(await leftovers(tmp)).toEqual([]);
    }));

  it('SIGKILL leaves pods behind; trace-compare cleanup removes them and everything else the run left', () =>
    withSleepRun(async (child, tmp) => {
      expect(await runningContainers(2)).toBe(2);
      child.kill('SIGKILL');
      await child;
      expect((await leftovers(tmp)).filter((l) => l.startsWith('pod sandbox')).length).toBe(2);
      const cleanup = await cli(['cleanup', '--tmpdir', tmp]);
      expect(cleanup.exitCode, String(cleanup.stdout) + String(cleanup.stderr)).toBe(0);
      expect(String(cleanup.stdout)).toMatch(/pod sandbox \w+ of trace-compare-[0-9a-f]{12} \(handler runsc\)/);
      expect(await leftovers(tmp)).toEqual([]);
    }));

  it('a handler the node lacks (kata) is reported in containerd\'s words, exit 4, the others still measured', async () => {
    const r = await cli(['uname', '-r', '--pod', 'runc', '--pod', 'kata', '--backend', 'cri', '--no-perf', '--format', 'json']);
    expect(r.exitCode, String(r.stderr)).toBe(4);
    const [host, runc, kata] = envs(String(r.stdout));
    expect(host!.kernelRelease).toBe(os.release());
    expect(runc!.kernelRelease).toBe(os.release());
    expect(kata!.ended).toContain('no runtime for "kata" is configured');
    expect(kata!.exitCode).toBeNull();
  });
});
