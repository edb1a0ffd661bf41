import { describe, it, expect } from 'vitest';
import { SummaryBuilder, summarize, countsInSummary, syscallNumber } from '../src/summary.js';
import type { SyscallEvent, SyscallResult, TraceEvent } from '../parsers/events.js';

let line = 0;
function call(name: string, result: SyscallResult | null, extra: Partial<SyscallEvent> = {}): SyscallEvent {
  return { kind: 'syscall', source: 'strace', file: 't', line: ++line, pid: 1, name, args: '', result, ...extra };
}
const ok = (value = '0'): SyscallResult => ({ value });
const err = (errno: string, value = '-1'): SyscallResult => ({ value, errno });

async function* stream(events: TraceEvent[]): AsyncGenerator<TraceEvent> {
  yield* events;
}

describe('SummaryBuilder: strace -c counting rules', () => {
  it('counts completed calls and errno returns; a bare ? or an unfinished call does not count', () => {
    const b = new SummaryBuilder();
    for (const e of [
      call('execve', ok()),
      call('openat', ok('3')),
      call('openat', err('ENOENT')),
      call('exit_group', { value: '?' }),
      call('read', null, { split: true }),
      call('clock_nanosleep', { value: '?', errno: 'ERESTART_RESTARTBLOCK' }),
      call('wait4', { value: '?', errno: 'ERESTARTSYS' }),
      call('syscall_0x1f4', err('ENOSYS')),
    ]) b.add(e);
    b.add({ kind: 'exit', file: 't', line: 99, pid: 1, how: 'exited', code: 0 });
    b.add({ kind: 'unparsed', file: 't', line: 100, pid: null, text: 'x', reason: 'y' });
    const s = b.result();
    const rows = Object.fromEntries(s.syscalls.map((r) => [r.syscall, [r.calls, r.errors]]));
    expect(rows).toEqual({
      execve: [1, 0],
      openat: [2, 1],
      clock_nanosleep: [1, 1],
      wait4: [1, 1],
    });
    expect(s.total).toEqual({ syscall: 'total', calls: 5, errors: 3 });
    expect(s.syscalls[0]).toEqual({ syscall: 'openat', calls: 2, errors: 1 });
  });

  it('out-of-table syscall_0x names only drop for strace (strace -c skips them)', () => {
    expect(countsInSummary(call('syscall_0x1f4', err('ENOSYS')))).toBe(false);
    expect(countsInSummary(call('syscall_0x1f4', err('ENOSYS'), { source: 'runsc' }))).toBe(true);
  });

  it('time columns come from -T durations, truncated usecs/call, percent of total, sorted by time', async () => {
    const s = await summarize(
      stream([
        call('read', ok('5'), { duration: 0.000010 }),
        call('read', ok('5'), { duration: 0.000015 }),
        call('write', ok('5'), { duration: 0.000075 }),
        call('close', ok(), { duration: 0.000000 }),
        call('exit_group', { value: '?' }),
      ]),
    );
    expect(s.syscalls.map((r) => r.syscall)).toEqual(['write', 'read', 'close']);
    expect(s.syscalls[1]).toEqual({ syscall: 'read', calls: 2, errors: 0, seconds: 0.000025, usecsPerCall: 12, percentTime: 25 });
    expect(s.total).toEqual({ syscall: 'total', calls: 4, errors: 0, seconds: 0.0001, usecsPerCall: 25, percentTime: 100 });
  });

  it('without durations: calls descending, ties in syscall number order; every -S order', () => {
    const events = [
      call('mmap', ok()), call('close', ok()), call('read', ok()), call('read', ok()), call('brk', err('ENOMEM')),
      call('zz_unknown', ok()),
    ];
    const b = (sortBy?: 'time' | 'calls' | 'errors' | 'name' | 'nothing') => {
      const x = new SummaryBuilder(sortBy ? { sortBy } : {});
      events.forEach((e) => x.add(e));
      return x.result().syscalls.map((r) => r.syscall);
    };
    expect(b()).toEqual(['read', 'close', 'mmap', 'brk', 'zz_unknown']);
    expect(b('nothing')).toEqual(['read', 'close', 'mmap', 'brk', 'zz_unknown']);
    expect(b('name')).toEqual(['brk', 'close', 'mmap', 'read', 'zz_unknown']);
    expect(b('errors')).toEqual(['brk', 'read', 'close', 'mmap', 'zz_unknown']);
    expect(syscallNumber('read')).toBe(0);
    expect(syscallNumber('rseq')).toBe(334);
    expect(syscallNumber('clone3')).toBe(435);
  });

  it('an empty stream gives an empty table', async () => {
    expect(await summarize(stream([]))).toEqual({ syscalls: [], total: { syscall: 'total', calls: 0, errors: 0 } });
  });

  it('memory stays one entry per syscall name over a million events', () => {
    const b = new SummaryBuilder();
    const e = call('getpid', ok('1'), { duration: 0.000001 });
    for (let i = 0; i < 1_000_000; i++) b.add(e);
    const s = b.result();
    expect(s.total.calls).toBe(1_000_000);
    expect(s.total.seconds).toBeCloseTo(1, 9);
  });
});
