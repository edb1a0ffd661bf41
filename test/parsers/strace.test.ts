import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { execa } from 'execa';
import type { SyscallEvent, TraceEvent } from '../../parsers/events.js';
import { parseStrace, parseStraceText } from '../../parsers/strace.js';
import { collect } from '../helpers/collect.js';
import { parseStraceFiles, isStraceFfSet, findStraceFfFiles, timestampKey } from '../../parsers/strace-ff.js';
import { FAST_CALL, FAST_NONE, FAST_RESUMED, FAST_UNFINISHED, fastCall, fastCallBytes, type FastCall, type FastKind } from '../../parsers/strace-fast.js';
import { parseText, type Item } from '../../parsers/strace-line.js';
import fc from 'fast-check';
import { splitStraceSummary } from '../../parsers/strace-c.js';

const DIR = 'fixtures/strace-unit';
const fixture = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const parse = (name: string): Promise<TraceEvent[]> => parseStraceText(fixture(name), name);
const syscalls = (evs: TraceEvent[]): SyscallEvent[] => evs.filter((e): e is SyscallEvent => e.kind === 'syscall');
const kinds = (evs: TraceEvent[], kind: TraceEvent['kind']): TraceEvent[] => evs.filter((e) => e.kind === kind);
const TRACES = readdirSync(DIR).filter((n) => n.endsWith('.trace'));

/** Events without their line numbers, for comparing a trace with its flattened form. */
function withoutLines(evs: TraceEvent[]): unknown[] {
  return evs.map((e) => {
    const { line: _l, ...rest } = e as TraceEvent & { endLine?: number };
    delete (rest as { endLine?: number }).endLine;
    return rest;
  });
}

async function which(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}
const haveStrace = await which('strace');
const haveGcc = await which('gcc');

describe('strace fixtures (real strace 6.1 output)', () => {
  it.each(TRACES)('%s parses with no unparsed events and never loses a line', async (name) => {
    const evs = await parse(name);
    expect(kinds(evs, 'unparsed')).toEqual([]);
    expect(syscalls(evs).length).toBeGreaterThan(0);
  });

  it('plain lines: name, args, decimal/hex values, errno with text', async () => {
    const evs = syscalls(await parse('uname-plain.trace'));
    expect(evs[0]).toMatchObject({ name: 'execve', pid: null, result: { value: '0' }, source: 'strace' });
    expect(evs[0]!.args).toMatch(/^"\/usr\/bin\/uname", \["uname", "-r"\], 0x[0-9a-f]+ \/\* \d+ vars \*\/$/);
    expect(evs[1]).toMatchObject({ name: 'brk', args: 'NULL' });
    expect(evs[1]!.result!.value).toMatch(/^0x[0-9a-f]+$/);
    const access = evs.find((e) => e.name === 'access')!;
    expect(access.result).toEqual({ value: '-1', errno: 'ENOENT', errnoMessage: 'No such file or directory' });
    const exit = evs[evs.length - 1]!;
    expect(exit).toMatchObject({ name: 'exit_group', args: '0', result: { value: '?' } });
  });

  it('-f -tt -T -yy -i -n -Y -X verbose -xx -v: pid<comm>, timestamp, number, ip, duration, decorations', async () => {
    const evs = syscalls(await parse('ls-full.trace'));
    const first = evs[0]!;
    expect(first.pid).toBeGreaterThan(0);
    expect(first.comm).toBe('\\x73\\x74\\x72\\x61\\x63\\x65'); // "strace", -xx escaped
    expect(first.timestamp).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/);
    expect(first.number).toBe(59);
    expect(first.ip).toMatch(/^[0-9a-f]{16}$/);
    expect(first.duration).toBeGreaterThan(0);
    const mmap = evs.find((e) => e.name === 'mmap')!;
    expect(mmap.args).toContain('0x3 /* PROT_READ|PROT_WRITE */');
    // -yy decorations on the value land in the annotation.
    const open = evs.find((e) => e.name === 'openat' && e.result?.value !== '-1')!;
    expect(open.result!.annotation).toMatch(/^<.+>$/);
    const write = evs.find((e) => e.name === 'write')!;
    expect(write.args.endsWith('..., 151') || /, \d+$/.test(write.args)).toBe(true);
  });

  it('-t seconds and -r relative timestamps', async () => {
    expect(syscalls(await parse('seconds.trace'))[0]!.timestamp).toMatch(/^\d\d:\d\d:\d\d$/);
    const rel = syscalls(await parse('relative.trace'));
    expect(rel[0]!.timestamp).toBe('0.000000');
    expect(rel[1]!.timestamp).toMatch(/^0\.\d{6}$/);
  });

  it('-n and -i without pids; -Y comm', async () => {
    const evs = syscalls(await parse('numbers-ip.trace'));
    expect(evs[0]).toMatchObject({ name: 'execve', number: 59 });
    expect(evs[1]).toMatchObject({ name: 'brk', number: 12 });
    expect(evs[1]!.ip).toMatch(/^[0-9a-f]{16}$/);
  });

  it('-k stack frames attach to the preceding call, including exit_group after +++ exited', async () => {
    const evs = await parse('cat-stack.trace');
    expect(kinds(evs, 'unparsed')).toEqual([]);
    const sc = syscalls(evs);
    expect(sc[0]!.stack!.length).toBeGreaterThan(0);
    expect(sc[0]!.stack![0]).toMatch(/^\/.+\(.*\) \[0x[0-9a-f]+\]$/);
    const exitGroup = sc.find((e) => e.name === 'exit_group')!;
    expect(exitGroup.stack!.some((f) => f.includes('_exit'))).toBe(true);
    expect(sc.every((e) => e.stack !== undefined && e.stack.length > 0)).toBe(true);
  });

  it('unfinished/resumed pairs join into one event across interleaved pids', async () => {
    const evs = syscalls(await parse('stopped.trace'));
    const split = evs.filter((e) => e.split);
    expect(split.length).toBeGreaterThan(10);
    const rt = split.find((e) => e.name === 'rt_sigaction')!;
    expect(rt.args).toMatch(/^SIGINT, \{sa_handler=SIG_IGN.*\}, \{sa_handler=.*\}, 8$/);
    expect(rt.result).toEqual({ value: '0' });
    expect(rt.endLine).toBeGreaterThan(rt.line);
    const nf = split.find((e) => e.name === 'newfstatat' && e.result?.errno === 'ENOENT')!;
    expect(nf.args).toMatch(/^AT_FDCWD, ".*", 0x[0-9a-f]+, 0$/);
    // No pending call is left over as a bare `<... resumed>`: every split has its start.
    expect(split.filter((e) => e.result !== null).every((e) => e.timestamp === undefined || e.timestamp !== undefined)).toBe(true);
  });

  it('-tt pairs carry both timestamps and the -T duration of the resumed half', async () => {
    const evs = syscalls(await parse('sh-child-signal.trace'));
    const wait = evs.find((e) => e.name === 'wait4' && e.split && e.result !== null)!;
    expect(wait.timestamp).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/);
    expect(wait.endTimestamp).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/);
    expect(wait.endTimestamp! >= wait.timestamp!).toBe(true);
    expect(wait.duration).toBeGreaterThan(0);
  });

  it('signals, stopped-by, exits, killed, core dumped', async () => {
    const stopped = await parse('stopped.trace');
    const sigs = kinds(stopped, 'signal') as Extract<TraceEvent, { kind: 'signal' }>[];
    expect(sigs.find((s) => s.stopped)).toMatchObject({ signal: 'SIGSTOP', info: '' });
    expect(sigs.find((s) => s.signal === 'SIGCHLD')!.info).toMatch(/^\{si_signo=SIGCHLD, si_code=CLD_/);
    const killed = await parse('timeout-killed.trace');
    expect(kinds(killed, 'exit')).toContainEqual(expect.objectContaining({ how: 'killed', signal: 'SIGTERM' }));
    expect(kinds(killed, 'exit')).toContainEqual(expect.objectContaining({ how: 'exited', code: 124 }));
    const core = await parse('core-dumped.trace');
    expect(kinds(core, 'exit')).toEqual([expect.objectContaining({ how: 'killed', signal: 'SIGSEGV', coreDumped: true })]);
  });

  it('a call the process dies inside is emitted with result null, split', async () => {
    // strace 6.1 prints `<... clock_nanosleep resumed> <unfinished ...>) = ?` for a SIGKILLed sleep.
    const evs = await parse('timeout-sigkill.trace');
    const died = syscalls(evs).filter((e) => e.result === null);
    expect(died.length).toBeGreaterThan(0);
    expect(died.every((e) => e.split === true)).toBe(true);
    const sleep = died.find((e) => e.name === 'clock_nanosleep')!;
    expect(sleep.args).toMatch(/^CLOCK_REALTIME, 0, \{tv_sec=5, tv_nsec=0\}, $/);
    expect(sleep.endTimestamp).toBeDefined();
    expect(kinds(evs, 'exit')).toContainEqual(expect.objectContaining({ pid: sleep.pid, how: 'killed', signal: 'SIGKILL' }));
    // A call still pending when its process's `+++ killed` line comes is emitted then, result null.
    const cut = await parseStraceText('5 read(0,  <unfinished ...>\n6 getpid() = 6\n5 +++ killed by SIGKILL +++\n');
    expect(cut.map((e) => e.kind)).toEqual(['syscall', 'syscall', 'exit']);
    expect(cut[1]).toMatchObject({ name: 'read', args: '0, ', result: null, split: true, pid: 5 });
  });

  it('ERESTART* results', async () => {
    const evs = syscalls(await parse('sh-child-stderr.trace'));
    const r = evs.find((e) => e.result?.errno?.startsWith('ERESTART'))!;
    expect(r.result!.value).toBe('?');
    expect(r.result!.errnoMessage).toMatch(/^To be restarted/);
  });

  it('unknown syscalls: syscall_0x...', async () => {
    const evs = syscalls(await parse('unknown-syscall.trace'));
    expect(evs.find((e) => e.name.startsWith('syscall_0x'))).toMatchObject({ name: 'syscall_0x1f4', result: { errno: 'ENOSYS' } });
  });

  it('program output interleaved with the trace (strace uname -r 2>&1): the call is recovered whole', async () => {
    const evs = await parse('uname-interleaved.trace');
    const out = kinds(evs, 'output');
    // The release this fixture recorded (its write's literal), never the machine running the test.
    const release = /write\(1, "([^"\\]+)\\n"/.exec(fixture('uname-interleaved.trace'))![1]!;
    expect(out).toEqual([expect.objectContaining({ kind: 'output', text: release + '\n' })]);
    const w = syscalls(evs).find((e) => e.name === 'write')!;
    const len = Buffer.byteLength(release) + 1;
    expect(w.args).toBe(`1, "${release}\\n", ${len}`);
    expect(w.result).toEqual({ value: String(len) });
    expect(evs.indexOf(out[0]!)).toBeLessThan(evs.indexOf(w));
  });

  it('stderr mode: [pid N] prefixes, a strace message glued inside a clone line, output of echo', async () => {
    const evs = await parse('sh-child-stderr.trace');
    expect(kinds(evs, 'output')).toEqual([expect.objectContaining({ text: 'hi\n' })]);
    expect(kinds(evs, 'message')).toEqual([expect.objectContaining({ text: expect.stringMatching(/^strace: Process \d+ attached$/) })]);
    const clone = syscalls(evs).find((e) => e.name === 'clone')!;
    expect(clone.args).toMatch(/^child_stack=NULL, flags=CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, child_tidptr=0x[0-9a-f]+$/);
    expect(Number(clone.result!.value)).toBeGreaterThan(0);
    expect(syscalls(evs).some((e) => typeof e.pid === 'number')).toBe(true);
    // A resumption printed without `[pid N]` (one process left) still finds its start.
    expect(syscalls(evs).filter((e) => e.split && e.timestamp === undefined)).toEqual([]);
  });


  it('stderr mode: a call cut by `strace: Process N attached` goes on with the arguments it decoded on return', async () => {
    // forks-stderr.log.gz lines 739-741 and 14305-14306 (-f -tt -T on stderr): the rest starts with a string.
    const lines = gunzipSync(readFileSync('fixtures/strace/forks-stderr.log.gz')).toString('utf8').split('\n');
    const evs = await parseStraceText([...lines.slice(738, 741), ...lines.slice(14304, 14306)].join('\n') + '\n');
    expect(kinds(evs, 'unparsed')).toEqual([]);
    expect(kinds(evs, 'message')).toHaveLength(2);
    const calls = syscalls(evs);
    expect(calls.find((e) => e.name === 'getrandom')).toMatchObject({ args: String.raw`"\x88\xa1\xbb\x9b\xa2\xb0\x99\x98", 8, GRND_NONBLOCK`, result: { value: '8' }, duration: 0.000594 });
    expect(calls.find((e) => e.name === 'pread64')).toMatchObject({ args: expect.stringMatching(/^3, "\\6.*\.\.\., 784, 64$/), result: { value: '784' } });
    // Two lines that are events of their own are not taken as the rest of a cut call.
    const own = await parseStraceText('[pid 7] read(3, strace: Process 9 attached\n[pid 9] close(4) = 0\n[ Process PID=9 runs in 32 bit mode. ]\n');
    expect(syscalls(own).map((e) => [e.name, e.result])).toEqual([['close', { value: '0' }], ['read', null]]);
  });
  it('strace -p attach/detach messages and a call strace detached from', async () => {
    const evs = await parse('attach.trace');
    expect(kinds(evs, 'message').map((m) => (m as { text: string }).text)).toEqual([
      expect.stringMatching(/^strace: Process \d+ attached$/),
      expect.stringMatching(/^strace: Process \d+ detached$/),
    ]);
    expect(syscalls(evs)).toEqual([expect.objectContaining({ name: 'restart_syscall', args: '<... resuming interrupted read ...>', result: null })]);
  });
});

describe('strace lines not reproducible on demand (from strace sources)', () => {
  it('????( <unavailable>) and `= ? <unavailable>`', async () => {
    const evs = await parseStraceText('16820 ????( <unavailable>) = ? <unavailable>\n');
    expect(evs).toEqual([expect.objectContaining({ kind: 'syscall', pid: 16820, name: '????', result: { value: '?', annotation: '<unavailable>' } })]);
  });
  it('<... resumed> without a known start is one syscall event, split, no start', async () => {
    const evs = await parseStraceText('[pid  12] 10:00:00.000001 <... read resumed>"x", 1) = 1 <0.000010>\n');
    expect(evs).toEqual([expect.objectContaining({ kind: 'syscall', pid: 12, name: 'read', args: '"x", 1', split: true, endTimestamp: '10:00:00.000001', duration: 0.00001 })]);
    expect((evs[0] as SyscallEvent).timestamp).toBeUndefined();
  });
  it('calls never resumed come at the end in the order they started, after more pids came and went than slots are kept for', async () => {
    const lines: string[] = [];
    // 300 pids start and finish a call each (more than the table of waiting calls keeps slots for).
    for (let pid = 1000; pid < 1300; pid++) lines.push(`[pid ${pid}] read(3,  <unfinished ...>`);
    for (let pid = 1000; pid < 1300; pid++) lines.push(`[pid ${pid}] <... read resumed>"x", 1) = 1`);
    lines.push(
      '[pid 5] futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>',
      '[pid 3] poll([{fd=3, events=POLLIN}], 1, -1 <unfinished ...>',
      '[pid 9] read(4,  <unfinished ...>',
      '[pid 7] wait4(-1,  <unfinished ...>',
      '[pid 7] <... wait4 resumed>NULL, 0, NULL) = 8',
      // A second start for pid 3: the first is emitted at once, the second waits where the first did.
      '[pid 3] poll([{fd=4, events=POLLIN}], 1, -1 <unfinished ...>',
      '[pid 7] read(5,  <unfinished ...>',
      // Without a pid: the earliest waiting call of that name.
      '<... read resumed>"y", 1) = 1',
    );
    const evs = syscalls(await parseStraceText(lines.join('\n') + '\n'));
    const tail = evs.slice(300).map((e) => [e.pid, e.name, e.args, e.result?.value ?? null]);
    expect(tail).toEqual([
      [7, 'wait4', '-1, NULL, 0, NULL', '8'],
      [3, 'poll', '[{fd=3, events=POLLIN}], 1, -1', null],
      [9, 'read', '4, "y", 1', '1'],
      [5, 'futex', '0x1, FUTEX_WAIT, 0, NULL', null],
      [3, 'poll', '[{fd=4, events=POLLIN}], 1, -1', null],
      [7, 'read', '5, ', null],
    ]);
  });
  it('annotations: (Timeout), (flags ...), decorations', async () => {
    const evs = syscalls(await parseStraceText([
      'poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)',
      'fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)',
      'openat(AT_FDCWD</tmp>, "/etc/passwd", O_RDONLY) = 3</etc/passwd>',
      'socket(AF_INET, SOCK_STREAM, 0) = 3<TCP:[127.0.0.1:4000->127.0.0.1:80]>',
    ].join('\n')));
    expect(evs.map((e) => e.result)).toEqual([
      { value: '0', annotation: '(Timeout)' },
      { value: '0x8000', annotation: '(flags O_RDONLY|O_LARGEFILE)' },
      { value: '3', annotation: '</etc/passwd>' },
      { value: '3', annotation: '<TCP:[127.0.0.1:4000->127.0.0.1:80]>' },
    ]);
    expect(evs[2]!.args).toBe('AT_FDCWD</tmp>, "/etc/passwd", O_RDONLY');
  });
  it('closing parenthesis honours strings with escapes, nesting and comments', async () => {
    const [e] = syscalls(await parseStraceText('write(3, "a)\\"b(", 5) = 5\nx\n'));
    expect(e!.args).toBe('3, "a)\\"b(", 5');
    const [f] = syscalls(await parseStraceText('ioctl(1, TCGETS /* ) */, {c_iflag=ICRNL|IXON, c_cc[VMIN]=1}) = 0'));
    expect(f!.args).toBe('1, TCGETS /* ) */, {c_iflag=ICRNL|IXON, c_cc[VMIN]=1}');
  });
  it('output containing parentheses and quotes inside one line', async () => {
    const evs = await parseStraceText('write(1, "a)\\"(\\n", 5a)"(\n) = 5\n');
    expect(evs.map((e) => e.kind)).toEqual(['output', 'syscall']);
    expect(evs[0]).toMatchObject({ text: 'a)"(\n' });
    expect(evs[1]).toMatchObject({ args: '1, "a)\\"(\\n", 5', result: { value: '5' } });
  });
  it('output of a write whose literal strace truncated (-s)', async () => {
    const text = 'write(1, "abcd"..., 10abcdefghij) = 10\n';
    const evs = await parseStraceText(text);
    expect(evs.map((e) => e.kind)).toEqual(['output', 'syscall']);
    expect(evs[0]).toMatchObject({ text: 'abcdefghij' });
    expect(evs[1]).toMatchObject({ args: '1, "abcd"..., 10', result: { value: '10' } });
  });
});

describe('garbage and limits', () => {
  it('unknown lines become unparsed with text, line and reason', async () => {
    const evs = await parseStraceText('hello world\nclose(3) = 0\n');
    expect(evs[0]).toEqual({ kind: 'unparsed', file: '<text>', line: 1, pid: null, text: 'hello world', code: 'STRACE_UNRECOGNISED_LINE', reason: 'expected a syscall, signal, exit or strace message' });
    expect(evs[1]).toMatchObject({ kind: 'syscall', name: 'close', line: 2 });
  });
  it('lines over maxLine become unparsed, truncated, with their length', async () => {
    const long = 'write(1, "' + 'x'.repeat(5000) + '", 5000) = 5000';
    const evs = await collect(parseStrace([long + '\nclose(1) = 0\n'], { file: 'f', maxLine: 1000 }));
    expect(evs[0]).toMatchObject({ kind: 'unparsed', code: 'LINE_TOO_LONG', reason: 'line longer than 1000 bytes', truncated: true, length: long.length, line: 1 });
    expect(evs[1]).toMatchObject({ kind: 'syscall', name: 'close', line: 2 });
  });
  it('an unterminated call is unparsed, not lost', async () => {
    const evs = await parseStraceText('read(3, "abc\n');
    expect(evs).toEqual([expect.objectContaining({ kind: 'unparsed', code: 'STRACE_UNRECOGNISED_LINE', text: 'read(3, "abc' })]);
  });
});

describe('flattened traces (newlines lost when pasted from a web page)', () => {
  it('the seed: strace uname -r glued onto one line with the program output', async () => {
    const seed = readFileSync('/work/shared/seed/000_6a08f6980af9da7a.txt', 'utf8');
    const start = seed.indexOf('execve("/bin/uname"');
    const end = seed.indexOf('+++ exited with 0 +++', start) + '+++ exited with 0 +++'.length;
    const evs = await parseStraceText(seed.slice(start, end), 'seed');
    expect(kinds(evs, 'unparsed')).toEqual([]);
    expect(kinds(evs, 'output')).toEqual([expect.objectContaining({ text: '4.4.0-142-generic\n' })]);
    const sc = syscalls(evs);
    expect(sc.length).toBe(35);
    const w = sc.find((e) => e.name === 'write')!;
    expect(w.args).toBe('1, "4.4.0-142-generic\\n", 18');
    expect(w.result).toEqual({ value: '18' });
    expect(sc.find((e) => e.name === 'uname')!.args).toBe('{sysname="Linux", nodename="master", ...}');
    expect(kinds(evs, 'exit')).toEqual([expect.objectContaining({ how: 'exited', code: 0 })]);
  });

  it('a shell prompt glued in front is the command that made the trace, nothing unparsed (issue 7)', async () => {
    const seed = readFileSync('/work/shared/seed/000_6a08f6980af9da7a.txt', 'utf8');
    const start = seed.indexOf('root@master:~# strace uname -r execve(');
    const end = seed.indexOf('+++ exited with 0 +++', start) + '+++ exited with 0 +++'.length;
    const evs = await parseStraceText(seed.slice(start, end), 'seed');
    expect(evs[0]).toMatchObject({ kind: 'command', text: 'root@master:~# strace uname -r', prompt: 'root@master:~#', argv: ['strace', 'uname', '-r'], command: ['uname', '-r'] });
    expect(kinds(evs, 'unparsed')).toHaveLength(0);
    expect(syscalls(evs)[0]).toMatchObject({ name: 'execve' });
  });

  it.each(TRACES)('%s joined with spaces gives the same events (ignoring line numbers)', async (name) => {
    const text = fixture(name);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const multi = await parseStraceText(text, name);
    const flat = await parseStraceText(lines.join(' '), name);
    expect(withoutLines(flat)).toEqual(withoutLines(multi));
  });
});

describe('-ff file sets', () => {
  const ff = readdirSync(DIR).filter((n) => /^ff\.\d+$/.test(n)).map((n) => join(DIR, n));

  it('detects -ff sets and finds their files', async () => {
    expect(isStraceFfSet(ff)).toBe(true);
    expect(isStraceFfSet([join(DIR, 'uname-plain.trace')])).toBe(false);
    expect(isStraceFfSet(['a/x.1', 'b/x.2'])).toBe(false);
    expect(await findStraceFfFiles(join(DIR, 'ff'))).toEqual([...ff].sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())));
  });

  it('pid comes from the suffix; files merge in timestamp order', async () => {
    const evs: TraceEvent[] = [];
    for await (const e of parseStraceFiles(ff)) evs.push(e);
    expect(kinds(evs, 'unparsed')).toEqual([]);
    const pids = new Set(evs.map((e) => e.pid));
    expect(pids).toEqual(new Set(ff.map((f) => Number(f.split('.').pop()))));
    const keys = evs.map((e) => timestampKey(e.timestamp)!);
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1]!, keys[i]!];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])).toBe(true);
    }
    expect(syscalls(evs)[0]!.name).toBe('execve');
  });

  it('without timestamps the files follow one another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ff-'));
    try {
      writeFileSync(join(dir, 'p.20'), 'getpid() = 20\n');
      writeFileSync(join(dir, 'p.10'), 'getpid() = 10\n+++ exited with 0 +++\n');
      const evs: TraceEvent[] = [];
      for await (const e of parseStraceFiles([join(dir, 'p.10'), join(dir, 'p.20')])) evs.push(e);
      expect(evs.map((e) => [e.kind, e.pid])).toEqual([['syscall', 10], ['exit', 10], ['syscall', 20]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveStrace)('live strace 6.1 on this machine', () => {
  if (!haveStrace) console.warn('strace not installed: skipping the live strace tests');
  it('parses a fresh trace of ls streamed from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    try {
      const out = join(dir, 't');
      await execa('strace', ['-f', '-tt', '-T', '-y', '-o', out, 'ls', '/']);
      const evs: TraceEvent[] = [];
      for await (const e of parseStrace(createReadStream(out), { file: out })) evs.push(e);
      expect(kinds(evs, 'unparsed')).toEqual([]);
      expect(syscalls(evs).some((e) => e.name === 'getdents64')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fast path (one complete call, or one half of a split call, per line) agrees with the general parser', () => {
  const scratch = (): FastCall => ({ pid: null, timestamp: undefined, name: '', args: '', result: { value: '' }, duration: undefined });
  /** What parseText makes of the line, in fastCall's shape; null when it is not exactly one plain call or half. */
  function general(line: string, defaultPid: number | null): { kind: FastKind; read: Partial<FastCall> } | null {
    const items: Item[] = [];
    parseText(line, items, false, defaultPid);
    if (items.length !== 1) return null;
    const it = items[0]!;
    if (it.t !== 'call' && it.t !== 'unfinished' && it.t !== 'resumed') return null;
    if (it.p.comm !== undefined || it.p.number !== undefined || it.p.ip !== undefined) return null;
    const read = { pid: it.p.pid, timestamp: it.p.timestamp, name: it.name, args: it.args };
    if (it.t === 'unfinished') return { kind: FAST_UNFINISHED, read };
    if (it.result === null) return null;
    return { kind: it.t === 'call' ? FAST_CALL : FAST_RESUMED, read: { ...read, result: it.result, duration: it.duration } };
  }
  function check(line: string, defaultPid: number | null): FastKind {
    const f = scratch();
    const kind = fastCall(line, defaultPid, f);
    const g = general(line, defaultPid);
    if (kind !== FAST_NONE) {
      // Same kind and fields, and the result object has its keys in the same order (JSON output).
      expect(g, line).not.toBeNull();
      expect(kind, line).toBe(g!.kind);
      const { result, duration: _d, ...start } = f;
      expect(kind === FAST_UNFINISHED ? start : f, line).toEqual(g!.read);
      if (kind !== FAST_UNFINISHED) expect(JSON.stringify(result), line).toBe(JSON.stringify(g!.read.result));
    }
    light(line, defaultPid, kind, f);
    return kind;
  }
  /**
   * What a CallSink's parser reads: the same line from its bytes alone (no text given), inside a bigger
   * buffer, without timestamp and arguments (but an unfinished write's).
   */
  function light(line: string, defaultPid: number | null, kind: FastKind, f: FastCall): void {
    const bytes = Buffer.from(line, 'utf8');
    if (bytes.length !== line.length) return;
    const b = Buffer.concat([Buffer.from('1 x(") = 0\n'), bytes, Buffer.from('\n) = 1 <0.1>')]);
    const l = scratch();
    expect(fastCallBytes(b, 11, bytes.length, null, defaultPid, l, true), line).toBe(kind);
    if (kind === FAST_NONE) return;
    expect([l.pid, l.name, l.timestamp, l.args], line).toEqual([f.pid, f.name, undefined, kind === FAST_UNFINISHED && f.name === 'write' ? f.args : '']);
    if (kind !== FAST_UNFINISHED) {
      expect(JSON.stringify(l.result), line).toBe(JSON.stringify(f.result));
      expect(l.duration, line).toBe(f.duration);
    }
  }
  const allLines = [
    ...TRACES.flatMap((n) => fixture(n).split('\n')),
    ...readdirSync('fixtures/strace').filter((n) => n.endsWith('.log')).flatMap((n) => readFileSync(join('fixtures/strace', n), 'utf8').split('\n')),
    ...readdirSync('fixtures/strace').filter((n) => n.endsWith('.log.gz'))
      .flatMap((n) => gunzipSync(readFileSync(join('fixtures/strace', n))).toString('utf8').split('\n')),
  ].filter((l) => l.length > 0);

  it('every real fixture line, with and without a default pid', () => {
    for (const l of allLines) {
      check(l, null);
      check(l, 4242);
    }
  });

  it('a -f -tt -T trace (the bench source) mostly takes the fast path', () => {
    const lines = fixture('sh-child-signal.trace').split('\n').filter((l) => l.length > 0);
    const taken = lines.filter((l) => check(l, null) !== FAST_NONE).length;
    expect(taken / lines.length).toBeGreaterThan(0.85);
  });

  it('a real threaded -f -tt -T -y trace, mostly split halves with decorations, takes the fast path', () => {
    const lines = gunzipSync(readFileSync('fixtures/strace/threads-io.log.gz')).toString('utf8').split('\n').filter((l) => l.length > 0);
    const kinds = lines.map((l) => fastCall(l, null, scratch()));
    expect(kinds.filter((k) => k !== FAST_NONE).length / lines.length).toBeGreaterThan(0.97);
    expect(kinds.filter((k) => k === FAST_UNFINISHED).length).toBeGreaterThan(10_000);
    expect(kinds.filter((k) => k === FAST_RESUMED).length).toBeGreaterThan(10_000);
  });

  it('fixture lines with random text spliced in (fast-check)', () => {
    const pieces = fc.constantFrom(' ', '(', ')', '"', '<', '>', '<0.000001>', ' = ', ' E', 'ENOENT (x)', '/*', '*/', '[', ']', '\t', 'strace: Process 1 attached', '0', 'x', '...', '\\');
    fc.assert(
      fc.property(fc.nat(allLines.length - 1).map((k) => allLines[k]!), fc.nat(), fc.array(pieces, { maxLength: 3 }), (line, at, junk) => {
        const k = at % (line.length + 1);
        check(line.slice(0, k) + junk.join('') + line.slice(k), null);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common shapes; leaves the rest to the general parser', () => {
    const f = scratch();
    expect(fastCall('123 14:00:00.000001 close(3) = 0 <0.000004>', null, f)).toBe(FAST_CALL);
    expect(f).toEqual({ pid: 123, timestamp: '14:00:00.000001', name: 'close', args: '3', result: { value: '0' }, duration: 0.000004 });
    expect(fastCall('[pid  7] openat(AT_FDCWD, "/x)", O_RDONLY) = -1 ENOENT (No such file or directory)', null, f)).toBe(FAST_CALL);
    expect(f).toMatchObject({ pid: 7, args: 'AT_FDCWD, "/x)", O_RDONLY', result: { value: '-1', errno: 'ENOENT', errnoMessage: 'No such file or directory' } });
    expect(fastCall('close(3</etc/passwd>) = 0', null, f)).toBe(FAST_CALL);
    expect(fastCall('5 openat(AT_FDCWD</tmp>, "f", O_RDONLY) = 8</tmp/f> <0.000243>', null, f)).toBe(FAST_CALL);
    expect(f).toMatchObject({ pid: 5, args: 'AT_FDCWD</tmp>, "f", O_RDONLY', result: { value: '8', annotation: '</tmp/f>' }, duration: 0.000243 });
    expect(fastCall('write(12</tmp/f>, "x", 1) = 1', null, f)).toBe(FAST_CALL);
    expect(fastCall('read(3, "abc", 3 <unfinished ...>', null, f)).toBe(FAST_UNFINISHED);
    expect(f).toMatchObject({ pid: null, name: 'read', args: '3, "abc", 3' });
    expect(fastCall('<... read resumed>"", 3) = 0', 9, f)).toBe(FAST_RESUMED);
    expect(f).toMatchObject({ pid: 9, name: 'read', args: '"", 3', result: { value: '0' } });
    // A write to fd 1 or 2 whose count matches its literal (or whose literal strace cut short): nothing glued in.
    expect(fastCall('write(2, "hi\\n", 3 <unfinished ...>', null, f)).toBe(FAST_UNFINISHED);
    expect(fastCall('write(1</dev/pts/0>, "h\\303\\251\\n", 4) = 4', null, f)).toBe(FAST_CALL);
    expect(fastCall('write(1, "1\\n2\\n3\\n4\\n5\\n6\\n7\\n8\\n9\\n10\\n11\\n12\\n13\\n14"..., 4096) = 4096', null, f)).toBe(FAST_CALL);
    for (const l of [
      'write(1, "hi\\n", 3hi\n) = 3',
      'write(1, "hi", 2hi) = 2',
      'write(1, "hi", 3) = 3',
      'writev(1, [{iov_base="hi", iov_len=2}], 1) = 2',
      '<... write resumed>1, "hi", 2) = 2',
      '<... read resumed> <unfinished ...>) = ?',
      'read(3,  <unfinished ...>) = ?',
      'getpid() <unfinished ...>',
      'restart_syscall(<... resuming interrupted read ...> <detached ...>',
      'poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)',
      'openat(AT_FDCWD, "x", O_RDONLY) = 3</x> ENOENT',
      '12<cat> close(3) = 0',
      '[  3] close(3) = 0',
      'close(3) = 0 close(4) = 0',
      'read(3,  <unfinished ...> close(4) = 0',
      '--- SIGCHLD {si_signo=SIGCHLD} ---',
    ]) expect(fastCall(l, null, f), l).toBe(FAST_NONE);
  });
});

describe("strace's own -c table after a -C trace", () => {
  const CDIR = 'fixtures/strace';
  const withTable = readdirSync(CDIR).filter((n) => n.endsWith('.log') || n === 'ff.c.txt');

  it.each(withTable)('%s: every table line is a message with its text and line; nothing unparsed', async (name) => {
    const text = readFileSync(join(CDIR, name), 'utf8');
    const { tableLine } = splitStraceSummary(text);
    expect(tableLine).not.toBeNull();
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const evs = await parseStraceText(text, name);
    expect(kinds(evs, 'unparsed')).toEqual([]);
    const tail = evs.filter((e) => e.line >= tableLine!);
    expect(tail).toEqual(lines.slice(tableLine! - 1).map((t, i) => ({ kind: 'message', file: name, line: tableLine! + i, pid: null, text: t })));
    // The trace before it (none with -c alone) is untouched: calls are still calls.
    if (tableLine! > 1) expect(syscalls(evs).length).toBeGreaterThan(0);
  });

  it('a row-looking line with no header before it stays unparsed', async () => {
    const row = '  0.00    0.000000           0         1           getpid';
    const evs = await parseStraceText(`close(3) = 0\n${row}\n`);
    expect(evs[1]).toMatchObject({ kind: 'unparsed', line: 2, text: row.trim() });
  });

  it('a header with no rule under it is parsed as before (unparsed), and so is the next line', async () => {
    const header = '% time     seconds  usecs/call     calls    errors syscall';
    const evs = await parseStraceText(`${header}\nclose(3) = 0\n${header}\n`);
    expect(evs.map((e) => [e.kind, e.line])).toEqual([['unparsed', 1], ['syscall', 2], ['unparsed', 3]]);
  });

  it('the table ends at its total row: a row-looking line after it is unparsed; trace lines after it are parsed', async () => {
    const table = [
      '% time     seconds  usecs/call     calls    errors syscall',
      '------ ----------- ----------- --------- --------- ----------------',
      ' 60.00    0.000006           6         1           close',
      '------ ----------- ----------- --------- --------- ----------------',
      '100.00    0.000010           5         2         1 total',
    ];
    const row = ' 40.00    0.000004           4         1         1 openat';
    const evs = await parseStraceText(['close(3) = 0', ...table, row, 'close(4) = 0', ''].join('\n'));
    expect(evs.map((e) => [e.kind, e.line])).toEqual([
      ['syscall', 1], ['message', 2], ['message', 3], ['message', 4], ['message', 5], ['message', 6], ['unparsed', 7], ['syscall', 8],
    ]);
  });

  it('a table cut short: lines that do not fit its columns are trace lines again', async () => {
    const evs = await parseStraceText([
      '% time     seconds  usecs/call     calls    errors syscall',
      '------ ----------- ----------- --------- --------- ----------------',
      'close(3) = 0',
      ' 60.00    0.000006           6         1           close',
    ].join('\n'));
    expect(evs.map((e) => [e.kind, e.line])).toEqual([['message', 1], ['message', 2], ['syscall', 3], ['unparsed', 4]]);
  });

  it('a personality heading alone, or before something that is not a table, stays unparsed', async () => {
    const heading = 'System call usage summary for 32 bit mode:';
    const evs = await parseStraceText(`${heading}\nclose(3) = 0\n${heading}\n`);
    expect(evs.map((e) => [e.kind, e.line])).toEqual([['unparsed', 1], ['syscall', 2], ['unparsed', 3]]);
  });

  it('any chunking of a -C log gives the same events (table included)', async () => {
    const data = readFileSync(join(CDIR, 'columns.log'));
    const whole: TraceEvent[] = [];
    for await (const e of parseStrace([data], { file: 'c' })) whole.push(e);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 30 }), async (cuts) => {
        const at = [0, ...[...cuts].sort((a, b) => a - b), data.length];
        const chunks = at.slice(1).map((e, i) => data.subarray(at[i], e));
        const evs: TraceEvent[] = [];
        for await (const e of parseStrace(chunks, { file: 'c' })) evs.push(e);
        expect(evs).toEqual(whole);
      }),
      { numRuns: 30 },
    );
  });

  const x86 = process.arch === 'x64';
  it.skipIf(!haveStrace || !haveGcc || !x86)('live: a 64-bit program making an i386 syscall gets a second table under "System call usage summary for 32 bit mode:"', async (ctx) => {
    if (!haveStrace || !haveGcc || !x86) console.warn('skipped: needs strace, gcc and x86_64');
    const dir = mkdtempSync(join(tmpdir(), 'tc-c32-'));
    try {
      const src = join(dir, 'm.c');
      // getpid (20 on i386) through int $0x80: strace counts it under its 32 bit personality.
      writeFileSync(src, 'int main(void){long r;__asm__ volatile("int $0x80":"=a"(r):"a"(20L):"memory");return r>0?0:1;}\n');
      await execa('gcc', ['-O0', '-o', join(dir, 'm'), src]);
      // int $0x80 needs the kernel's IA32 emulation (CONFIG_IA32_EMULATION, or ia32_emulation=0 at
      // boot turns it off): without it the program dies with SIGSEGV. Probe it bare first.
      const bare = await execa(join(dir, 'm'), { reject: false });
      if (bare.exitCode !== 0) {
        console.warn(`skipped: this kernel has no IA32 emulation (an int $0x80 program ended with ${bare.signal ?? `exit ${bare.exitCode}`})`);
        ctx.skip('kernel has no IA32 emulation');
      }
      const out = join(dir, 'out.txt');
      await execa('strace', ['-C', '-o', out, join(dir, 'm')]);
      const text = readFileSync(out, 'utf8');
      const heading = text.split('\n').findIndex((l) => l === 'System call usage summary for 32 bit mode:');
      expect(heading).toBeGreaterThan(0);
      const evs: TraceEvent[] = [];
      for await (const e of parseStrace(createReadStream(out), { file: out })) evs.push(e);
      expect(kinds(evs, 'unparsed')).toEqual([]);
      expect(evs.find((e) => e.line === heading + 1)).toMatchObject({ kind: 'message', text: 'System call usage summary for 32 bit mode:' });
      expect(evs.filter((e) => e.kind === 'message' && / total$/.test(e.text))).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseStrace as an async iterator', () => {
  it('a failing input rejects the iteration after the events before it; breaking out closes the input', async () => {
    let closed = false;
    async function* failing(): AsyncGenerator<string> {
      try {
        yield 'close(3) = 0\nclose(4) = 0\n';
        throw new Error('disk gone');
      } finally {
        closed = true;
      }
    }
    const seen: string[] = [];
    await expect((async () => {
      for await (const e of parseStrace(failing(), { file: 'f' })) if (e.kind === 'syscall') seen.push(e.args);
    })()).rejects.toThrow('disk gone');
    expect(seen).toEqual(['3']);
    expect(closed).toBe(true);

    closed = false;
    async function* endless(): AsyncGenerator<string> {
      try { for (;;) yield 'close(3) = 0\n'; } finally { closed = true; }
    }
    let n = 0;
    for await (const _ of parseStrace(endless(), { file: 'f' })) if (++n === 5) break;
    expect(closed).toBe(true);
  });

  it('next() called again before the last one settled keeps the order', async () => {
    const it = parseStrace(['close(1) = 0\nclose(2) = 0\n', 'close(3) = 0\n'], { file: 'f' });
    const rs = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    expect(rs.map((r) => (r.done ? 'done' : r.value.kind === 'syscall' ? r.value.args : r.value.kind))).toEqual(['1', '2', '3', 'done']);
  });
});

describe('output a pending write announced, on lines of its own', () => {
  // The form of fixtures/strace/output-lines.log, with UTF-8 text: strace escapes its bytes in octal, and
  // the output lines carry the decoded characters, so the literal is decoded as UTF-8 as the glued case does.
  it('matches non-ASCII output decoded from the literal\'s bytes', async () => {
    const text = '[pid  2494] write(1, "\\303\\251t\\303\\251\\nX11\\n", 10 <unfinished ...>\nété\nX11\n[pid  2494] <... write resumed>) = 10\n';
    const events = await parseStraceText(text, 'u8');
    expect(events.filter((e) => e.kind === 'unparsed')).toEqual([]);
    expect(events.filter((e) => e.kind === 'output').map((e) => (e.kind === 'output' ? e.text : ''))).toEqual(['été\n', 'X11\n']);
  });
});
