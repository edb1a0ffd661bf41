import { describe, it, expect } from 'vitest';
import { createReadStream, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import {
  parseRunscLog, parseRunscLogDir, parseRunscLogFiles, runscBootLogs, goDurationSeconds, splitTopLevel,
} from '../../parsers/runsc-log.js';
import { releaseFromUname } from '../../src/compare.js';
import type { SyscallEvent, TraceEvent } from '../../parsers/events.js';
import { ParseError } from '../../parsers/errors.js';
import { collect } from '../helpers/collect.js';

const DIR = 'fixtures/runsc';

const calls = (ev: TraceEvent[]) => ev.filter((e): e is SyscallEvent => e.kind === 'syscall');
const fromText = (text: string) => parseRunscLog(Readable.from([text]), { file: 't' });

describe('parseRunscLog on real runsc 20221219 --strace boot logs', () => {
  it('pairs E/X of uname -r into one event per call and reads the release the app saw', async () => {
    const ev = await collect(parseRunscLogDir(`${DIR}/uname`));
    const sys = calls(ev);
    const uname = sys.filter((e) => e.name === 'uname');
    expect(uname).toHaveLength(1);
    expect(uname[0]!.source).toBe('runsc');
    expect(uname[0]!.pid).toBe(1);
    expect(uname[0]!.comm).toBe('uname');
    expect(uname[0]!.result).toMatchObject({ value: '0', annotation: '(0x0)' });
    expect(uname[0]!.args).toContain('Release: 4.4.0');
    expect(uname[0]!.endLine).toBe(uname[0]!.line + 1);
    expect(uname[0]!.duration).toBeGreaterThan(0);
    // The one reader of uname's release, for strace -v and the Sentry's log alike.
    expect(releaseFromUname(uname[0]!)).toBe('4.4.0');
    // Every strace line is accounted for: E+X pairs, nothing unparsed.
    const [boot] = await runscBootLogs(`${DIR}/uname`);
    const straceLines = (await collect(parseRunscLog(createReadStream(boot!), { file: boot! }))).filter((e) => e.kind === 'syscall').length;
    expect(sys.length).toBe(straceLines);
    expect(ev.filter((e) => e.kind === 'unparsed')).toEqual([]);
    expect(sys.every((e) => e.result !== null)).toBe(true);
  });

  it('reads errno=N (message) as an errno name and keeps the printed value', async () => {
    const sys = calls(await collect(parseRunscLogDir(`${DIR}/uname`)));
    const rseq = sys.find((e) => e.name === 'rseq')!;
    expect(rseq.result).toMatchObject({ value: '0', errno: 'ENOSYS', errnoMessage: 'invalid system call number' });
  });

  it('a failing command: ENOENT from the Sentry and exit status 1 as an exit event', async () => {
    const ev = await collect(parseRunscLogDir(`${DIR}/failing`));
    const errs = calls(ev).filter((e) => e.result?.errno === 'ENOENT');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.some((e) => e.args.includes('/nonexistent'))).toBe(true);
    const exits = ev.filter((e) => e.kind === 'exit');
    expect(exits).toMatchObject([{ how: 'exited', code: 1 }]);
  });

  it('sh -c: busybox sh execs its last command (comm sh -> exe); the write buffer is kept from the entry', async () => {
    const ev = await collect(parseRunscLogDir(`${DIR}/sh-echo-cat`));
    const sys = calls(ev);
    // Measured: busybox sh runs the last command of -c by exec, in the same task.
    expect(new Set(sys.map((e) => e.pid))).toEqual(new Set([1]));
    const exec = sys.find((e) => e.name === 'execve')!;
    expect(exec.args).toContain('["cat", "/tmp/f"]');
    // Measured: the exit line still names the old comm; busybox re-execs /proc/self/exe, so
    // the calls after it are comm `exe`.
    expect(exec.comm).toBe('sh');
    expect(sys[sys.indexOf(exec) + 1]!.comm).toBe('exe');
    expect(sys.find((e) => e.name === 'openat' && e.args.includes('/tmp/f'))!.comm).toBe('sh');
    const write = sys.find((e) => e.name === 'write' && e.args.includes('"hi\\n"'));
    expect(write).toBeDefined();
    expect(write!.args).not.toContain('...');
    expect(ev.filter((e) => e.kind === 'exit')).toMatchObject([{ how: 'exited', code: 0 }]);
  });

  it('a killed app: kill(…, SIGSEGV) then "killed by signal 11"', async () => {
    const ev = await collect(parseRunscLogDir(`${DIR}/killed`));
    expect(calls(ev).some((e) => e.name === 'kill' && e.args.includes('SIGSEGV'))).toBe(true);
    expect(ev.filter((e) => e.kind === 'exit')).toMatchObject([{ how: 'killed', signal: 'SIGSEGV' }]);
  });

  it('non-strace debug-log lines are message events, never dropped', async () => {
    const [boot] = await runscBootLogs(`${DIR}/uname`);
    const ev = await collect(parseRunscLogFiles([boot!]));
    const msgs = ev.filter((e) => e.kind === 'message');
    expect(msgs.some((m) => m.kind === 'message' && m.text.startsWith('EXEC: [/bin/uname -r]'))).toBe(true);
  });

  it('the fixtures dir holds one boot log per run', () => {
    for (const d of ['uname', 'failing', 'sh-echo-cat', 'killed']) {
      expect(readdirSync(`${DIR}/${d}`).filter((f) => f.endsWith('.boot.txt'))).toHaveLength(1);
    }
  });
});

describe('parseRunscLog edge cases (lines as printed by strace.go)', () => {
  const E = (tid: number, name: string, args: string) => `I1125 14:48:48.044429    1981 strace.go:561] [   1:${String(tid).padStart(4)}] app E ${name}(${args})`;
  const X = (tid: number, name: string, args: string, tail: string) => `I1125 14:48:48.044439    1981 strace.go:599] [   1:${String(tid).padStart(4)}] app X ${name}(${args}) = ${tail}`;

  it('interleaved threads pair per tid; an E with no X ends with result null', async () => {
    const text = [
      E(2, 'read', '0x3, 0x7f00, 0x10'),
      E(3, 'getpid', ''),
      X(3, 'getpid', '', '1 (0x1) (120ns)'),
      X(2, 'read', '0x3, 0x7f00 "ab", 0x10', '2 (0x2) (1.5ms)'),
      E(4, 'futex', '0x1, 0x0'),
    ].join('\n');
    const ev = calls(await collect(fromText(text)));
    expect(ev.map((e) => [e.pid, e.name, e.result?.value ?? null])).toEqual([[3, 'getpid', '1'], [2, 'read', '2'], [4, 'futex', null]]);
    expect(ev[1]!.split).toBe(true);
    expect(ev[1]!.duration).toBeCloseTo(0.0015);
    expect(ev[1]!.args).toBe('0x3, 0x7f00 "ab", 0x10');
  });

  it('a line that is not a glog line is unparsed, with its line number', async () => {
    const ev = await collect(fromText('goroutine 1 [running]:\n' + E(1, 'getpid', '')));
    expect(ev[0]).toMatchObject({ kind: 'unparsed', code: 'RUNSC_BAD_LINE', line: 1 });
    expect(ev[1]).toMatchObject({ kind: 'syscall', name: 'getpid', result: null });
  });

  it('an X without E (log starts mid-call) is still one event', async () => {
    const ev = calls(await collect(fromText(X(1, 'wait4', '0xffffffffffffffff, 0x0, 0x0, 0x0', '0 (0x0) errno=10 (no child processes) (3µs)'))));
    expect(ev).toMatchObject([{ name: 'wait4', result: { errno: 'ECHILD', errnoMessage: 'no child processes' } }]);
  });

  it('Go durations and top-level argument splitting', () => {
    expect(goDurationSeconds('1.252µs')).toBeCloseTo(1.252e-6);
    expect(goDurationSeconds('350ns')).toBeCloseTo(3.5e-7);
    expect(goDurationSeconds('1m2.5s')).toBeCloseTo(62.5);
    expect(goDurationSeconds('abc')).toBeUndefined();
    expect(splitTopLevel('0x1, 0x2 {a: 1, b: [c, d]}, 0x3 "x, y"')).toEqual(['0x1', '0x2 {a: 1, b: [c, d]}', '0x3 "x, y"']);
  });

  it('a directory without a boot log is a ParseError coded RUNSC_NO_BOOT_LOG, with a hint', async () => {
    const err = await runscBootLogs('fixtures/perf').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({ code: 'RUNSC_NO_BOOT_LOG', context: { file: 'fixtures/perf', hint: expect.stringMatching(/--debug-log=DIR\//) } });
  });

  it('an unreadable directory is a ParseError coded RUNSC_LOG_DIR_UNREADABLE', async () => {
    await expect(runscBootLogs('fixtures/no-such-dir')).rejects.toMatchObject({ code: 'RUNSC_LOG_DIR_UNREADABLE', context: { file: 'fixtures/no-such-dir' } });
  });
});
