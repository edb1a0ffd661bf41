// The CRI backend's requests and readers, as data: no runtime needed.

import { describe, it, expect } from 'vitest';
import { containerConfig, isHandlerMissing, isPauseLine, parseCriLogLine, resolveCriEnvironment, sandboxConfig, RUN_LABEL } from '../../../src/runners/cri/pod-spec.js';
import { DEFAULT_LIMITS } from '../../../src/runners/confinement.js';
import { RunError } from '../../../src/runners/errors.js';

describe('resolveCriEnvironment', () => {
  it('resolves names as a RuntimeClass would, and lets the runtime judge any other handler', () => {
    expect(resolveCriEnvironment('gvisor')).toEqual({ name: 'gvisor', runtime: 'runsc', handler: 'runsc' });
    expect(resolveCriEnvironment('runc')).toEqual({ name: 'runc', runtime: 'runc', handler: 'runc' });
    expect(resolveCriEnvironment('kata')).toEqual({ name: 'kata', runtime: 'runc', handler: 'kata' });
    expect(resolveCriEnvironment('sandboxed=runsc')).toEqual({ name: 'sandboxed', runtime: 'runsc', handler: 'runsc' });
    expect(resolveCriEnvironment('fc=kata-fc')).toEqual({ name: 'fc', runtime: 'runc', handler: 'kata-fc' });
  });
  it('refuses names that are no names, and host', () => {
    for (const bad of ['=runc', 'a b', 'x=', 'x=a/b', 'host']) expect(() => resolveCriEnvironment(bad)).toThrow(RunError);
  });
});

describe('isHandlerMissing', () => {
  it('knows containerd\'s, dockershim\'s and CRI-O\'s words for a handler the node lacks', () => {
    expect(isHandlerMissing('failed to get sandbox runtime: no runtime for "kata" is configured')).toBe(true);
    expect(isHandlerMissing('RuntimeHandler "runsc" not supported')).toBe(true);
    expect(isHandlerMissing('failed to find runtime handler kata from runtime list map[crun:... runc:...]')).toBe(true);
    expect(isHandlerMissing('failed to create containerd task: OCI runtime create failed')).toBe(false);
  });
});

describe('sandboxConfig and containerConfig', () => {
  it('a pod in the node network with our label, the cgroup parent and, for gVisor, the Sentry log dir', () => {
    const s = sandboxConfig({ id: 'trace-compare-0123456789ab', logDirectory: '/tmp/x/logs', cgroupParent: '/trace-compare-0123456789ab', privileged: false, runscLogDir: '/tmp/x/out/runsc/' });
    expect(s.labels).toEqual({ [RUN_LABEL]: 'trace-compare-0123456789ab' });
    expect(s.hostname).toBeUndefined();
    expect(s.linux?.cgroupParent).toBe('/trace-compare-0123456789ab');
    expect(s.linux?.securityContext?.namespaceOptions?.network).toBe('NODE');
    expect(s.linux?.securityContext?.seccomp).toEqual({ profileType: 'RuntimeDefault' });
    expect(s.annotations).toEqual({ 'dev.gvisor.flag.debug-log': '/tmp/x/out/runsc/', 'dev.gvisor.flag.strace': 'true' });
    expect(sandboxConfig({ id: 'i', logDirectory: '/l', cgroupParent: '/i', privileged: true, runscLogDir: null }).annotations).toEqual({});
  });
  it('the argv exactly, the host mounts read-only, the strace log the one writable bind, SYS_PTRACE only for the in-pod strace', () => {
    const c = containerConfig({
      id: 'i', image: 'img', argv: ['uname', '-r'], cwd: '/', env: { PATH: '/bin', A: 'x=y' },
      readOnly: [{ source: '/usr', destination: '/usr' }], straceLog: { source: '/tmp/x/out/strace.log', destination: '/dev/.trace-compare/strace.log' },
      privileged: false, ptrace: true, limits: { ...DEFAULT_LIMITS }, logPath: 'workload.log',
    });
    expect(c.command).toEqual(['uname']);
    expect(c.args).toEqual(['-r']);
    expect(c.envs).toEqual([{ key: 'A', value: 'x=y' }, { key: 'PATH', value: '/bin' }]);
    expect(c.mounts).toEqual([
      { containerPath: '/usr', hostPath: '/usr', readonly: true },
      { containerPath: '/dev/.trace-compare/strace.log', hostPath: '/tmp/x/out/strace.log', readonly: false },
    ]);
    expect(c.linux?.securityContext?.capabilities).toEqual({ addCapabilities: ['SYS_PTRACE'] });
    expect(c.linux?.resources).toMatchObject({ cpuPeriod: 100_000, cpuQuota: 100_000, memoryLimitInBytes: 1024 ** 3, memorySwapLimitInBytes: 1024 ** 3 });
  });
});

describe('readers', () => {
  it('containerd log lines: stream, partial or full, text', () => {
    expect(parseCriLogLine('2026-11-26T15:34:14.322454572Z stdout F 6.18.44')).toEqual({ stream: 'stdout', partial: false, text: '6.18.44' });
    expect(parseCriLogLine('2026-11-26T15:34:14.3Z stderr P part')).toEqual({ stream: 'stderr', partial: true, text: 'part' });
    expect(parseCriLogLine('2026-11-26T15:34:14.3Z stdout F ')).toEqual({ stream: 'stdout', partial: false, text: '' });
    expect(parseCriLogLine('garbage')).toBeNull();
  });
  it('the pause container\'s lines of a pod\'s boot log: thread group 1, and the root container\'s exit', () => {
    expect(isPauseLine('I1126 15:34:25.114511   25778 strace.go:561] [   1:   1] sleep E brk(0x0)')).toBe(true);
    expect(isPauseLine('I1126 15:34:26.242543   25778 strace.go:561] [   2:   2] uname E close(0x2 host:[6])')).toBe(false);
    expect(isPauseLine('I1126 15:34:26.242543   25778 strace.go:561] [  12:  13] uname E close(0x2)')).toBe(false);
    expect(isPauseLine('I1126 15:35:00.1   25778 boot.go:100] application exiting with killed by signal 9')).toBe(true);
    expect(isPauseLine('I1126 15:34:26.254110   25778 loader.go:924] Gofer socket disconnected')).toBe(false);
  });
});
