// The pod's confinement: containerd's rendered defaults as data, ociConfinement's mapping, and live runc
// pods (root, runc and busybox-static) showing the filter, the limits and the cgroup namespace at work.

import { describe, it, expect, afterAll } from 'vitest';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, copyFileSync, rmSync } from 'node:fs';
import {
  ociConfinement, parseLimit, confinementSummary, DEFAULT_LIMITS, CPU_PERIOD_US, CONTAINERD_VERSION,
  type ConfinementOptions, type OciSeccomp, type OciConfinement,
} from '../../src/runners/confinement.js';
import { inspectExecutable } from '../../src/runners/elf.js';
import { buildToolDir } from '../../src/runners/rootfs.js';
import { RunError } from '../../src/runners/errors.js';
import seccompDefault from '../../src/runners/confinement/seccomp-runtime-default.json' with { type: 'json' };
import seccompSysPtrace from '../../src/runners/confinement/seccomp-runtime-default-sys-ptrace.json' with { type: 'json' };
import containerd from '../../src/runners/confinement/containerd-defaults.json' with { type: 'json' };

const base: ConfinementOptions = { privileged: false, limits: { ...DEFAULT_LIMITS }, traceWithStrace: false, runtime: 'runc' };

/** Syscalls a rule allows whatever their arguments. */
function allowedOutright(p: OciSeccomp): Set<string> {
  return new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length).flatMap((r) => r.names));
}
/** Syscalls any allow rule names, with or without argument conditions. */
function allowedAtAll(p: OciSeccomp): Set<string> {
  return new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
}

describe("containerd's rendered defaults", () => {
  const profiles = { default: seccompDefault as OciSeccomp, sysPtrace: seccompSysPtrace as OciSeccomp };
  it('are allow-lists: an errno default action, native and compat architectures', () => {
    for (const p of Object.values(profiles)) {
      expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(p.architectures?.length).toBeGreaterThan(0);
      expect(p.syscalls.length).toBeGreaterThan(5);
    }
    expect(containerd.generated.containerdVersion).toMatch(/^1\.6\./);
    expect(CONTAINERD_VERSION).toBe(containerd.generated.containerdVersion);
  });
  it('allow the everyday calls and ptrace, and not namespace, mount, module or kexec calls', () => {
    for (const p of Object.values(profiles)) {
      const ok = allowedOutright(p);
      for (const name of ['read', 'write', 'openat', 'execve', 'wait4', 'exit_group', 'rt_sigaction', 'ptrace']) {
        expect(ok.has(name), name).toBe(true);
      }
      const any = allowedAtAll(p);
      for (const name of ['unshare', 'setns', 'mount', 'umount2', 'kexec_load', 'init_module', 'bpf', 'reboot']) {
        expect(any.has(name), name).toBe(false);
      }
      // clone only without namespace flags; clone3 (flags in memory, uncheckable) fails with ENOSYS.
      expect(ok.has('clone')).toBe(false);
      expect(any.has('clone')).toBe(true);
      expect(p.syscalls.find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    }
  });
  it("differ exactly by CAP_SYS_PTRACE's conditional rule", () => {
    expect(containerd.capabilitiesWithSysPtrace).toEqual([...containerd.capabilities, 'CAP_SYS_PTRACE']);
    const onlyWithCap = [...allowedOutright(profiles.sysPtrace)].filter((n) => !allowedOutright(profiles.default).has(n));
    expect(onlyWithCap.sort()).toEqual(['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev']);
    expect(allowedAtAll(profiles.default).has('process_vm_readv')).toBe(false);
  });
});

describe('ociConfinement', () => {
  it("gives a default pod containerd's RuntimeDefault profile and capabilities, a cgroup namespace, no user namespace", () => {
    const c = ociConfinement(base);
    expect(c.seccomp).toEqual(seccompDefault);
    expect(c.capabilities).toEqual({
      bounding: containerd.capabilities, effective: containerd.capabilities, permitted: containerd.capabilities, ambient: [],
    });
    expect(c.capabilities.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(c.capabilities.bounding).not.toContain('CAP_SYS_PTRACE');
    expect(c.namespaces.map((n) => n.type)).toEqual([...containerd.namespaces, 'cgroup']);
    expect(c.namespaces.map((n) => n.type)).not.toContain('user');
    expect(c.maskedPaths).toEqual(containerd.maskedPaths);
    expect(c.readonlyPaths).toEqual(containerd.readonlyPaths);
    expect(c.resources.devices).toEqual(containerd.devices);
    expect(c.sysfsWritable).toBe(false);
    expect(c.description).toMatchObject({
      profile: 'RuntimeDefault', seccomp: `RuntimeDefault (containerd ${CONTAINERD_VERSION})`, userNamespace: false,
      capabilities: containerd.capabilities, namespaces: [...containerd.namespaces, 'cgroup'],
    });
    expect(c.description.notes.join('\n')).toMatch(/no user namespace/);
  });

  it('adds CAP_SYS_PTRACE for the in-pod strace with the profile containerd renders for it, and says so', () => {
    const c = ociConfinement({ ...base, traceWithStrace: true });
    expect(c.capabilities.bounding).toEqual(containerd.capabilitiesWithSysPtrace);
    expect(c.seccomp).toEqual(seccompSysPtrace);
    expect(allowedOutright(c.seccomp!).has('process_vm_readv')).toBe(true);
    expect(c.description.notes.join('\n')).toMatch(/CAP_SYS_PTRACE.*strace/);
    for (const runtime of ['crun', 'runc'] as const) {
      expect(ociConfinement({ ...base, runtime, traceWithStrace: true }).capabilities.bounding).toContain('CAP_SYS_PTRACE');
    }
  });

  it('says truthfully that runsc applies linux.seccomp only with --oci-seccomp; runsc needs no ptrace capability', () => {
    const c = ociConfinement({ ...base, runtime: 'runsc', traceWithStrace: true });
    expect(c.capabilities.bounding).toEqual(containerd.capabilities);
    expect(c.seccomp).toEqual(seccompDefault);
    expect(c.description.seccomp).toMatch(/not applied by runsc \(no --oci-seccomp\)/);
    expect(c.description.notes.join('\n')).toMatch(/not the workload's tasks.*sandbox dies/);
    expect(c.description.notes.join('\n')).toMatch(/uid 0 is root of gVisor's Sentry/);
    const withOci = ociConfinement({ ...base, runtime: 'runsc', runscOciSeccomp: true });
    expect(withOci.description.seccomp).toMatch(/applied by runsc.*--oci-seccomp/);
    expect(ociConfinement({ ...base, runtime: 'runc' }).description.seccomp).not.toMatch(/runsc/);
  });

  it('privileged drops seccomp, masked paths and the cgroup namespace, and grants every capability', () => {
    const c = ociConfinement({ ...base, privileged: true, traceWithStrace: true });
    expect(c.seccomp).toBeUndefined();
    expect('seccomp' in c).toBe(false);
    expect(c.capabilities.bounding).toEqual(containerd.privilegedCapabilities);
    for (const cap of [...containerd.capabilitiesWithSysPtrace, 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN']) expect(c.capabilities.bounding).toContain(cap);
    expect(c.maskedPaths).toEqual([]);
    expect(c.readonlyPaths).toEqual([]);
    expect(c.sysfsWritable).toBe(true);
    expect(c.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(c.namespaces.map((n) => n.type)).toEqual(containerd.namespaces);
    expect(c.description).toMatchObject({ profile: 'privileged', seccomp: 'unconfined (--privileged)' });
    // The caller may pass the capabilities its own process holds, as containerd grants its own.
    const own = ociConfinement({ ...base, privileged: true, hostCapabilities: ['CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE'] });
    expect(own.capabilities.permitted).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE']);
    // Limits still hold: a privileged pod in Kubernetes keeps its cgroup limits.
    expect(own.resources.pids.limit).toBe(DEFAULT_LIMITS.pids);
  });

  it('maps limits into linux.resources: pids, memory with swap capped alike, CFS quota per period', () => {
    const c = ociConfinement({ ...base, limits: { pids: 32, memoryBytes: 256 * 1024 ** 2, cpus: 0.5 } });
    expect(c.resources).toMatchObject({
      pids: { limit: 32 },
      memory: { limit: 268435456, swap: 268435456 },
      cpu: { quota: 50_000, period: CPU_PERIOD_US },
    });
    expect(c.description.limits).toEqual({ pids: 32, memoryBytes: 268435456, cpus: 0.5 });
    expect(ociConfinement(base).resources.cpu.quota).toBe(CPU_PERIOD_US);
    for (const limits of [{ pids: 0 }, { pids: 2.5 }, { memoryBytes: 1024 }, { cpus: 0 }, { cpus: Number.NaN }]) {
      expect(() => ociConfinement({ ...base, limits: { ...DEFAULT_LIMITS, ...limits } })).toThrow(RunError);
    }
  });

  it('returns fresh copies and a JSON-able description', () => {
    const a = ociConfinement(base);
    a.seccomp!.syscalls.length = 0;
    a.capabilities.bounding.push('CAP_SYS_ADMIN');
    a.resources.devices.length = 0;
    const b = ociConfinement(base);
    expect(b.seccomp).toEqual(seccompDefault);
    expect(b.capabilities.bounding).toEqual(containerd.capabilities);
    expect(b.resources.devices).toEqual(containerd.devices);
    expect(JSON.parse(JSON.stringify(b.description))).toEqual(b.description);
    expect(confinementSummary(b.description)).toBe(
      `RuntimeDefault (containerd ${CONTAINERD_VERSION}), ${containerd.capabilities.length} capabilities, pids 1024, ` +
        'memory 1Gi, 1 CPU, namespaces pid ipc uts mount network cgroup',
    );
  });
});

describe('parseLimit', () => {
  it('reads Kubernetes-style quantities', () => {
    expect(parseLimit('pids', '512')).toBe(512);
    expect(parseLimit('memoryBytes', '512Mi')).toBe(512 * 1024 ** 2);
    expect(parseLimit('memoryBytes', '2Gi')).toBe(2 * 1024 ** 3);
    expect(parseLimit('memoryBytes', '1G')).toBe(1e9);
    expect(parseLimit('memoryBytes', '104857600')).toBe(104857600);
    expect(parseLimit('cpus', '0.5')).toBe(0.5);
    expect(parseLimit('cpus', '500m')).toBe(0.5);
    expect(parseLimit('cpus', '2')).toBe(2);
  });
  it('rejects nonsense and too-small values, naming the flag', () => {
    for (const [key, text] of [['pids', '1.5'], ['pids', '1'], ['pids', '10k'], ['memoryBytes', '1Qi'], ['memoryBytes', '1Ki'],
      ['cpus', '0'], ['cpus', '-1'], ['cpus', 'two']] as const) {
      expect(() => parseLimit(key, text), `${key} ${text}`).toThrow(RunError);
    }
    expect(() => parseLimit('memoryBytes', 'lots')).toThrow(/--memory "lots": expected bytes or a quantity/);
  });
});

// --- Live: real runc pods built from ociConfinement's output. ---

const isRoot = process.getuid?.() === 0;
const runcPath = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find(existsSync);
const busyboxStatic = existsSync('/bin/busybox') && (await inspectExecutable('/bin/busybox')).kind === 'static';
const stracePath = ['/usr/bin/strace', '/bin/strace', '/usr/local/bin/strace'].find(existsSync);
const liveSkip = !isRoot ? `needs root (uid ${process.getuid?.()})`
  : !runcPath ? 'runc is not installed'
  : !busyboxStatic ? 'busybox-static (a static /bin/busybox) is not installed'
  : null;
if (liveSkip) console.warn(`skipping live confinement tests: ${liveSkip}`);

const APPLETS = ['sh', 'cat', 'echo', 'grep', 'true', 'sleep', 'unshare', 'mount'];
const work = liveSkip ? '' : mkdtempSync(path.join(os.tmpdir(), 'trace-compare-confinement-'));
const state = path.join(work, 'runc-state');
let rootfs = '';
let seq = 0;

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A busybox rootfs shared by the pods (read-only for them), with strace under /tools when present. */
async function sharedRootfs(): Promise<string> {
  if (rootfs) return rootfs;
  const dir = path.join(work, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'mnt', 'tmp']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', path.join(dir, 'bin', a));
  if (stracePath) strace = await buildToolDir(path.join(dir, 'tools'), stracePath, 'strace', '/tools');
  return (rootfs = dir);
}
let strace: string[] = [];

interface Pod { stdout: string; stderr: string; exitCode: number | undefined }

/**
 * Runs `sh -c SCRIPT` in a pod whose config.json is `runc spec` patched with `c`'s confinement;
 * `edit` may loosen it further for a control pod. The container is always deleted.
 */
async function pod(c: OciConfinement, script: string, edit?: (config: Record<string, unknown> & { process: Record<string, unknown>; linux: Record<string, unknown> }) => void): Promise<Pod> {
  const id = `trace-compare-confinement-${process.pid}-${++seq}`;
  const bundle = path.join(work, id);
  mkdirSync(bundle, { recursive: true });
  await execa(runcPath!, ['spec'], { cwd: bundle });
  const config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.root = { path: await sharedRootfs(), readonly: true };
  config.process.terminal = false;
  config.process.args = ['/bin/sh', '-c', script];
  config.process.capabilities = c.capabilities;
  config.process.noNewPrivileges = c.noNewPrivileges;
  config.linux.namespaces = c.namespaces;
  config.linux.resources = c.resources;
  config.linux.maskedPaths = c.maskedPaths;
  config.linux.readonlyPaths = c.readonlyPaths;
  if (c.seccomp) config.linux.seccomp = c.seccomp;
  edit?.(config);
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));
  try {
    const r = await execa(runcPath!, ['--root', state, 'run', '--bundle', bundle, id], {
      stdin: 'ignore', reject: false, timeout: 60_000,
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  } finally {
    await execa(runcPath!, ['--root', state, 'delete', '--force', id], { reject: false });
  }
}

describe.skipIf(liveSkip !== null)('live runc pods', () => {
  it('RuntimeDefault refuses what the kernel alone would allow: unshare(CLONE_NEWUSER) gets EPERM', async () => {
    const script = 'grep Seccomp: /proc/self/status; unshare -U true; echo "unshare -U: $?"; cat /proc/self/cgroup';
    const confined = await pod(ociConfinement(base), script);
    console.log(`confined pod:\n${confined.stdout}\n${confined.stderr}`);
    expect(confined.stdout).toMatch(/^Seccomp:\s+2$/m);
    expect(confined.stdout).toMatch(/^unshare -U: 1$/m);
    expect(confined.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    // Cgroup namespace: every hierarchy shows the pod's own cgroup as its root, v2 included ('0::/').
    const cgroupLines = confined.stdout.split('\n').filter((l) => /^\d+:[^:]*:/.test(l));
    expect(cgroupLines.length).toBeGreaterThan(0);
    for (const l of cgroupLines) expect(l).toMatch(/:\/$/);

    // Control: the same pod without the filter and the cgroup namespace may create a user namespace,
    // and sees where its cgroup lies in the host's tree.
    const control = await pod(ociConfinement(base), script, (config) => {
      delete config.linux.seccomp;
      config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
    });
    console.log(`control pod (no seccomp, no cgroup namespace):\n${control.stdout}\n${control.stderr}`);
    expect(control.stdout).toMatch(/^Seccomp:\s+0$/m);
    expect(control.stdout).toMatch(/^unshare -U: 0$/m);
    expect(control.stdout).toMatch(/^\d+:[^:]*:\/.+$/m);
  });

  it('privileged lifts the filter and grants CAP_SYS_ADMIN: mount works there only', async () => {
    const script = 'grep Seccomp: /proc/self/status; mount -t tmpfs x /mnt; echo "mount: $?"';
    const confined = await pod(ociConfinement(base), script);
    expect(confined.stdout).toMatch(/^mount: [1-9]/m);
    const privileged = await pod(ociConfinement({ ...base, privileged: true }), script);
    console.log(`privileged pod:\n${privileged.stdout}\n${privileged.stderr}`);
    expect(privileged.stdout).toMatch(/^Seccomp:\s+0$/m);
    expect(privileged.stdout).toMatch(/^mount: 0$/m);
  });

  it('applies the limits: pids.max stops a fork loop, memory and CPU limits are set', async () => {
    const limits = { pids: 32, memoryBytes: 256 * 1024 ** 2, cpus: 0.5 };
    // v1 controllers are mounted per hierarchy, v2 has one directory; print whichever exists.
    const show = (v1: string, v2: string) => `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2}`;
    const script = [show('pids/pids.max', 'pids.max'), show('memory/memory.limit_in_bytes', 'memory.max'),
      show('cpu/cpu.cfs_quota_us', 'cpu.max'),
      'i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); echo "started $i"; done; echo all started'].join('; ');
    const r = await pod(ociConfinement({ ...base, limits }), script);
    const started = r.stdout.match(/^started \d+$/gm) ?? [];
    console.log(`pids 32 pod: ${r.stdout.split('\n').slice(0, 3).join(' | ')} | ${started.length} sleeps started | ${r.stderr}`);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['32', String(limits.memoryBytes), '50000']);
    expect(r.stderr).toMatch(/can't fork: Resource temporarily unavailable/);
    expect(started.length).toBeGreaterThan(10);
    expect(started.length).toBeLessThan(32);
    expect(r.stdout).not.toMatch(/all started/);
  });

  it.skipIf(!stracePath)('the in-pod strace works under both profiles; CAP_SYS_PTRACE decides process_vm_readv', async () => {
    await sharedRootfs();
    // An outer strace (no -f) watches the inner strace's own memory reads of its tracee.
    const s = strace.join(' ');
    const script = `${s} -o /dev/shm/outer -e trace=process_vm_readv,ptrace ${s} -f -o /dev/shm/inner sh -c 'echo hi'; ` +
      'echo "strace: $?"; cat /dev/shm/inner; grep -c "process_vm_readv.* = 4096" /dev/shm/outer; ' +
      'grep -c "process_vm_readv.*EPERM" /dev/shm/outer; grep -c PTRACE_PEEKDATA /dev/shm/outer';
    const counts = (out: string) => out.trim().split('\n').slice(-3).map(Number);
    for (const traceWithStrace of [true, false]) {
      const r = await pod(ociConfinement({ ...base, traceWithStrace }), script);
      const [vmOk, vmEperm, peek] = counts(r.stdout);
      console.log(`strace in pod, CAP_SYS_PTRACE ${traceWithStrace}: process_vm_readv ok ${vmOk}, EPERM ${vmEperm}, PTRACE_PEEKDATA ${peek}`);
      expect(r.stdout).toMatch(/^strace: 0$/m);
      expect(r.stdout).toMatch(/execve\("\/bin\/sh", \["sh", "-c", "echo hi"\]/);
      expect(r.stdout).toMatch(/write\(1, "hi\\n", 3\)\s+= 3/);
      if (traceWithStrace) expect([vmOk! > 0, vmEperm, peek]).toEqual([true, 0, 0]);
      else expect([vmOk, vmEperm! > 0, peek! > 0]).toEqual([0, true, true]);
    }
  });
});
