import { describe, it, expect } from 'vitest';
import { WorkloadCounter, totalsOf, releaseFromUname, type Comparison, type EnvironmentReport } from '../../src/compare.js';
import { renderComparison, findingsOf } from '../../src/report/comparison-report.js';
import { differences } from '../../src/differences.js';
import type { SyscallEvent } from '../../parsers/events.js';

function sys(name: string, args: string, value: string, errno?: string): SyscallEvent {
  return { kind: 'syscall', source: 'strace', file: 't', line: 1, pid: 1, name, args, result: { value, ...(errno ? { errno } : {}) } };
}

function env(name: string, runtime: EnvironmentReport['runtime'], counter: WorkloadCounter, entered: Map<string, number> | null): EnvironmentReport {
  const syscalls = counter.result(entered);
  return {
    name, runtime, sources: [], kernelRelease: counter.kernelRelease, kernelReleaseSource: counter.kernelRelease ? 'workload' : null,
    exitCode: 0, stdout: 'x\n', syscalls, totals: totalsOf(syscalls, entered !== null),
    hostKernel: entered ? { syscalls: [{ syscall: 'futex', calls: 3 }], processes: [{ pid: 9, comm: 'exe', role: 'runtime', what: 'the Sentry' }], workloadSeen: 0, workloadEntered: 0, lostEvents: 0 } : null,
    unparsed: counter.unparsed,
  };
}

describe('release from uname', () => {
  it('reads strace -v and gVisor Sentry forms', () => {
    expect(releaseFromUname(sys('uname', '{sysname="Linux", nodename="m", release="6.1.0-13-amd64", version="#1"}', '0'))).toBe('6.1.0-13-amd64');
    expect(releaseFromUname(sys('uname', '0x7f4a60c5d9a6 {Sysname: Linux, Nodename: runsc, Release: 4.4.0, Version: #1 SMP}', '0'))).toBe('4.4.0');
    expect(releaseFromUname(sys('uname', '{sysname="Linux", nodename="m", ...}', '0'))).toBeNull();
    expect(releaseFromUname(sys('uname', '0x1', '-1', 'EFAULT'))).toBeNull();
  });
});

describe('comparison', () => {
  const host = new WorkloadCounter();
  host.add(sys('uname', '{sysname="Linux", release="6.1.0"}', '0'));
  host.add(sys('openat', 'AT_FDCWD, "/x"', '-1', 'ENOENT'));
  host.add(sys('openat', 'AT_FDCWD, "/y"', '3'));
  const gv = new WorkloadCounter();
  gv.add({ ...sys('uname', '0x1 {Sysname: Linux, Release: 4.4.0, Version: #1}', '0'), source: 'runsc' });
  const c: Comparison = {
    command: ['uname', '-r'],
    environments: [env('host', 'host', host, new Map([['uname', 1], ['openat', 2]])), env('gvisor', 'runsc', gv, new Map())],
  };

  it('counts calls and errors, and fills hostKernelCalls from the measured map (0 when measured and absent)', () => {
    expect(c.environments[0]!.syscalls).toEqual([
      { syscall: 'openat', calls: 2, errors: 1, hostKernelCalls: 2 },
      { syscall: 'uname', calls: 1, errors: 0, hostKernelCalls: 1 },
    ]);
    expect(c.environments[1]!.syscalls).toEqual([{ syscall: 'uname', calls: 1, errors: 0, hostKernelCalls: 0 }]);
    expect(c.environments[1]!.kernelRelease).toBe('4.4.0');
    expect(c.environments[0]!.totals).toEqual({ calls: 3, distinct: 2, hostKernelCalls: 3 });
  });

  it('says only what was measured', () => {
    const f = findingsOf(c);
    expect(f).toContain('gvisor: 0 of the 1 syscalls the workload issued entered the host kernel; never entering it: uname.');
    expect(f).toContain('host: 3 of the 3 syscalls the workload issued entered the host kernel.');
    expect(f).toContain('gvisor: the workload was told by uname the kernel release is 4.4.0.');
  });

  it('renders json, markdown and table', () => {
    // The comparison as given, plus the differences computed from it (src/differences.ts).
    const json = JSON.parse(renderComparison(c, 'json')) as Comparison & { differences: unknown[] };
    expect(json).toEqual({ ...c, differences: differences(c) });
    expect(json.differences).toContainEqual(expect.objectContaining({ kind: 'only-in', syscall: 'openat' }));
    const md = renderComparison(c, 'markdown');
    expect(md).toContain('| uname | 1 → 1 | 1 → 0 |');
    expect(md).toContain('## `uname -r`');
    const table = renderComparison(c, 'table');
    expect(table).toContain('4.4.0');
    expect(table).not.toMatch(/\u001b\[/); // not a terminal: no colour codes
  });

  it('marks views that were not measured', () => {
    const saved: Comparison = { command: null, environments: [env('a.log', null, host, null)] };
    expect(saved.environments[0]!.syscalls[0]!.hostKernelCalls).toBeNull();
    expect(renderComparison(saved, 'table')).toContain('not measured');
  });
});
