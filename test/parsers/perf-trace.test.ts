import { describe, it, expect } from 'vitest';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parsePerfTrace, parsePerfResult, lostEvents } from '../../parsers/perf-trace.js';
import type { SyscallEvent, TraceEvent } from '../../parsers/events.js';
import { collect } from '../helpers/collect.js';

const DIR = 'fixtures/perf';

const calls = (ev: TraceEvent[]) => ev.filter((e): e is SyscallEvent => e.kind === 'syscall');
const parseFile = (name: string) => collect(parsePerfTrace(createReadStream(`${DIR}/${name}`), { file: name }));
const parseText = (text: string) => collect(parsePerfTrace(Readable.from([text]), { file: 't' }));

describe('parsePerfTrace on real perf 6.1 output', () => {
  it('host uname -r: every line is understood; uname entered the kernel once', async () => {
    const ev = await parseFile('host-uname.txt');
    expect(ev.filter((e) => e.kind === 'unparsed')).toEqual([]);
    const sys = calls(ev);
    const lines = readFileSync(`${DIR}/host-uname.txt`, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    expect(sys.length).toBe(lines); // single-threaded: one line per call
    const uname = sys.filter((e) => e.name === 'uname');
    expect(uname).toHaveLength(1);
    expect(uname[0]).toMatchObject({ source: 'perf', comm: 'uname', enteredKernel: true, result: { value: '0' } });
    expect(uname[0]!.timestamp).toMatch(/^\d+\.\d{3}$/);
    expect(uname[0]!.duration).toBeGreaterThan(0);
    expect(uname[0]!.duration).toBeLessThan(0.01); // ms converted to seconds
    // The first exec: its entry came before perf enabled its events.
    expect(sys[0]).toMatchObject({ name: 'execve', enteredKernel: false, result: { value: '0' } });
    expect(sys[sys.length - 1]).toMatchObject({ name: 'exit_group', enteredKernel: true, result: { value: '?' } });
    const enoent = sys.find((e) => e.result?.errno === 'ENOENT')!;
    expect(enoent.result).toMatchObject({ value: '-1', errnoMessage: 'No such file or directory' });
  });

  it('runc: an entry cut by another task (`...`) and its `[continued]` exit make one call', async () => {
    const ev = await parseFile('runc-uname.txt');
    expect(ev.filter((e) => e.kind === 'unparsed')).toEqual([]);
    const sys = calls(ev);
    const split = sys.filter((e) => e.split && e.enteredKernel && e.endLine !== undefined);
    expect(split.length).toBeGreaterThan(10);
    for (const e of split) expect(e.endLine!).toBeGreaterThan(e.line);
    // The child side of clone: an exit with no entry, value printed empty or 0.
    const childSide = sys.filter((e) => ['clone', 'clone3'].includes(e.name) && e.enteredKernel === false);
    expect(childSide.length).toBeGreaterThan(3);
    for (const e of childSide) expect(['', '0']).toContain(e.result!.value);
    expect(sys.filter((e) => e.name === 'uname' && e.comm === 'uname')).toHaveLength(1);
  });

  it('runsc: the app\'s uname shows only as an exit with no entry (PTRACE_SYSEMU)', async () => {
    const sys = calls(await parseFile('runsc-uname.txt'));
    const app = sys.filter((e) => e.name === 'uname' && e.enteredKernel === false);
    expect(app).toHaveLength(1);
    expect(app[0]).toMatchObject({ comm: 'exe', args: '', result: { value: '0' } });
    expect(app[0]!.timestamp).toBeUndefined();
    // The Sentry and gofer call uname themselves, for real.
    expect(sys.filter((e) => e.name === 'uname' && e.enteredKernel === true).length).toBeGreaterThanOrEqual(1);
  });

  it('tracepoint lines (-e sched:...) are message events with their tid', async () => {
    const ev = await parseFile('host-sh-sched.txt');
    expect(ev.filter((e) => e.kind === 'unparsed')).toEqual([]);
    const forks = ev.filter((e) => e.kind === 'message' && e.text.startsWith('sched:sched_process_fork('));
    expect(forks.length).toBe(2);
    expect(forks[0]!.pid).not.toBeNull();
  });
});

describe('parsePerfTrace line forms', () => {
  const head = (ts: string, dur: string) => `${ts.padStart(10)} (${dur}): `;
  it('pending entries flush with result null when the tid starts another call or the trace ends', async () => {
    const text = [
      head('5.807', '         ') + 'sh/5562 rt_sigreturn()                                      ...',
      head('5.830', ' 0.011 ms') + 'sh/5562 wait4(upid: -1, stat_addr: 0x7ffc062c2bac, options: NOHANG) = -1 ECHILD (No child processes)',
      head('6.054', '         ') + 'sh/5562 wait4(upid: -1)                                      ...',
    ].join('\n');
    const sys = calls(await parseText(text));
    expect(sys.map((e) => [e.name, e.result?.value ?? null])).toEqual([['rt_sigreturn', null], ['wait4', '-1'], ['wait4', null]]);
  });

  it('a [continued] exit with a stale time but no pending entry did not enter', async () => {
    const sys = calls(await parseText(head('375.395', ' 0.057 ms') + 'exe/6055  ... [continued]: rt_sigprocmask())    = 0'));
    expect(sys).toMatchObject([{ name: 'rt_sigprocmask', enteredKernel: false, pid: 6055 }]);
    expect(sys[0]!.timestamp).toBeUndefined();
    expect(sys[0]!.duration).toBeUndefined();
  });

  it('comm with spaces, slashes or perf\'s `:tid` placeholder', async () => {
    const sys = calls(await parseText([
      head('1.000', ' 0.001 ms') + 'runc:[2:INIT]/80 getpid()        = 80',
      head('1.000', ' 0.001 ms') + 'kworker/0:1/12 getpid()        = 12',
      head('1.000', ' 0.001 ms') + ':4071/4071 getpid()        = 4071',
      head('1.000', ' 0.001 ms') + 'a b/7 getpid()        = 7',
    ].join('\n')));
    expect(sys.map((e) => [e.comm, e.pid])).toEqual([['runc:[2:INIT]', 80], ['kworker/0:1', 12], [':4071', 4071], ['a b', 7]]);
  });

  it('LOST lines are messages that lostEvents() counts; garbage is unparsed, never dropped', async () => {
    const ev = await parseText('LOST 12 events!\nhello world\n');
    expect(ev.map(lostEvents)).toEqual([12, null]);
    expect(ev[1]).toMatchObject({ kind: 'unparsed', code: 'PERF_BAD_LINE', line: 2, text: 'hello world' });
  });

  it('results: errno, pid with comm, empty, ?, hex', () => {
    expect(parsePerfResult('-1 ENOENT (No such file or directory)')).toEqual({ value: '-1', errno: 'ENOENT', errnoMessage: 'No such file or directory' });
    expect(parsePerfResult('4023 (uname)')).toEqual({ value: '4023', annotation: '(uname)' });
    expect(parsePerfResult('')).toEqual({ value: '' });
    expect(parsePerfResult('?')).toEqual({ value: '?' });
    expect(parsePerfResult('0x55ded720b000')).toEqual({ value: '0x55ded720b000' });
    expect(parsePerfResult('0 (Timeout)')).toEqual({ value: '0', annotation: '(Timeout)' });
  });
});
