// Issue 7, "Saved logs: say what the user needs to hear": inputs with no syscall say so and why, a bare
// strace -c table is read as the summary it is, summary's -T time is labelled wall time, diff reads -ff sets,
// the seed's `uname -r` gives its release from its output, pasted shell prompts are the command that made the
// trace, and diagnostics cannot drive the terminal. Through the real CLI where the user meets it.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../src/errors.js';
import { Diagnostics, newTally, noSyscallLine } from '../src/diagnostics.js';
import { parseStraceSummaryTable } from '../parsers/strace-c.js';
import { parseStraceText } from '../parsers/strace.js';
import { releaseFromOutput, unameReleaseField, ReleaseFromOutput } from '../src/release.js';
import { pastedCommand, shellWords, tracedCommand } from '../parsers/strace-command.js';
import type { CommandEvent, SyscallEvent, TraceEvent } from '../parsers/events.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/trace-compare.js');
const fx = (p: string) => path.join(root, 'fixtures', p);
const cli = (args: string[], input?: string) =>
  execa('node', [bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1' }, ...(input !== undefined ? { input } : {}) });
/** Any C0 control but \t and \n, DEL, or a C1 control: what must never reach a terminal raw. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

beforeAll(async () => {
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
});

describe('no syscall found: said on stderr, with the likely reason', () => {
  const NO_TRACE = 'trace-compare: no syscall found in <stdin>: 1 line not understood; strace writes its trace to stderr: use 2>&1 or -o FILE';

  it('uname\'s output alone (2>&1 forgotten): the empty table, one line saying why, exit 0', async () => {
    const r = await cli(['summary', '-'], '4.4.0-142-generic\n');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\s+0\s+total$/m);
    expect(r.stderr.split('\n')).toContain(NO_TRACE);
  });

  it('--strict: exit 3 (ParseErrors), as for any input not understood as a trace', async () => {
    const r = await cli(['summary', '--strict', '-'], '4.4.0-142-generic\n');
    expect(r.stderr.split('\n')).toContain(NO_TRACE);
    expect(r.exitCode).toBe(ExitCode.ParseErrors);
  });

  it('an empty input says it is empty; --strict fails it although no line was unparsed', async () => {
    const r = await cli(['summary', '-'], '');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('trace-compare: no syscall found in <stdin>: it is empty; strace writes its trace to stderr: use 2>&1 or -o FILE');
    expect((await cli(['summary', '--strict', '-'], '')).exitCode).toBe(ExitCode.ParseErrors);
  });

  it('for real: strace -f uname -r 2>/dev/null | trace-compare summary -', async (ctx) => {
    const strace = await execa('strace', ['-f', 'uname', '-r'], { reject: false, stderr: 'ignore' }).catch(() => null);
    if (strace === null || strace.exitCode !== 0) return ctx.skip('strace cannot run here');
    const r = await cli(['summary', '-'], strace.stdout + '\n');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(NO_TRACE);
  });

  it('parse and diff say it too; strace\'s own refusal is named as the reason', async () => {
    expect((await cli(['parse', '-'], 'hello\n')).stderr).toContain('no syscall found in <stdin>: 1 line not understood');
    expect((await cli(['diff', 'a=-'], 'hello\n')).stderr).toContain('no syscall found in <stdin>: 1 line not understood');
    const t = { ...newTally(), events: 1, messages: 1, firstMessage: "strace: Can't stat 'nope': No such file or directory" };
    expect(noSyscallLine('t.log', t)).toBe("no syscall found in t.log: only strace's messages (strace: Can't stat 'nope': No such file or directory); strace could not trace the command");
  });
});

describe('a bare strace -c table is read as the summary it is', () => {
  const file = fx('strace/c-only.log');
  const want = parseStraceSummaryTable(readFileSync(file, 'utf8'), file);

  it('summary c-only.log prints its counts, nothing on stderr, exit 0 also under --strict', async () => {
    const r = await cli(['summary', '--strict', file, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout) as { syscalls: { syscall: string; calls: number; errors: number; seconds: number }[]; total: { calls: number }; time: string; from: string };
    expect(s.syscalls.map((x) => [x.syscall, x.calls, x.errors, x.seconds])).toEqual(want.syscalls.map((x) => [x.syscall, x.calls, x.errors, x.seconds]));
    expect(s.total.calls).toBe(328);
    expect(s).toMatchObject({ time: 'strace-c', from: 'strace-c-table' });
  });

  it('the table keeps strace\'s "seconds" header (its time is strace\'s, not summed -T) and parses back', async () => {
    const r = await cli(['summary', file]);
    expect(r.stdout.split('\n')[0]).toBe('% time     seconds  usecs/call     calls    errors syscall');
    expect(parseStraceSummaryTable(r.stdout).total.calls).toBe(328);
  });

  it('piped: `strace -c CMD 2>&1`, the program\'s output first, then the table', async () => {
    const r = await cli(['summary', '-', '--format', 'json'], '6.1.0-18-amd64\n' + readFileSync(file, 'utf8'));
    expect((JSON.parse(r.stdout) as { total: { calls: number } }).total.calls).toBe(328);
    expect(r.stderr).not.toContain('no syscall found');
  });
});

describe('summary\'s time is wall time from -T, and says so', () => {
  it('table header "wall secs", markdown "wall seconds (-T)", json time: "wall"; the table still parses back', async () => {
    const f = fx('strace/tt-T.log');
    const table = (await cli(['summary', f])).stdout;
    expect(table.split('\n')[0]).toBe('% time   wall secs  usecs/call     calls    errors syscall');
    expect(parseStraceSummaryTable(table).columns).toContain('seconds');
    expect((await cli(['summary', f, '--format', 'markdown'])).stdout.split('\n')[0]).toBe('| % time | wall seconds (-T) | usecs/call | calls | errors | syscall |');
    expect(JSON.parse((await cli(['summary', f, '--format', 'json'])).stdout)).toMatchObject({ time: 'wall' });
  });

  it('without -T durations there is no time column and no time field', async () => {
    const s = JSON.parse((await cli(['summary', fx('strace/plain.log'), '--format', 'json'])).stdout) as { time?: string };
    expect(s.time).toBeUndefined();
  });
});

describe('diff reads an strace -ff set as summary does', () => {
  const prefix = fx('strace/ff');
  const members = ['ff.13259', 'ff.13260', 'ff.13261'].map((m) => fx('strace/' + m));
  type Diff = { environments: { sources: string[]; totals: { calls: number }; exitCode: number | null }[] };

  it('diff a=PREFIX: one environment from all the PREFIX.PID files, named by the prefix', async () => {
    const r = await cli(['diff', `a=${prefix}`, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const env = (JSON.parse(r.stdout) as Diff).environments[0]!;
    expect(env.sources).toEqual([prefix]);
    const byFiles = (JSON.parse((await cli(['diff', ...members.map((m) => `a=${m}`), '--format', 'json'])).stdout) as Diff).environments[0]!;
    expect(byFiles.totals).toEqual(env.totals);
    expect(byFiles.sources).toEqual([prefix]);
    // The same calls summary counts, plus the ones that never returned (exit_group).
    const summary = JSON.parse((await cli(['summary', prefix, '--format', 'json'])).stdout) as { total: { calls: number } };
    expect(env.totals.calls).toBeGreaterThanOrEqual(summary.total.calls);
    expect(env.totals.calls - summary.total.calls).toBeLessThanOrEqual(members.length);
  });

  it('a missing prefix is still "no such file"', async () => {
    const r = await cli(['diff', `a=${fx('strace/nope')}`]);
    expect(r.exitCode).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(/nope: no such file/);
  });
});

describe('the kernel release uname printed', () => {
  type Env = { kernelRelease: string | null; kernelReleaseSource: string | null };
  it.each(['strace/seed-uname-flattened.txt', 'pasted/seed-root-prompt-uname.txt'])('%s: 4.4.0-142-generic, read from the output', async (f) => {
    const r = await cli(['diff', `seed=${fx(f)}`, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as { environments: Env[] }).environments[0]).toMatchObject({ kernelRelease: '4.4.0-142-generic', kernelReleaseSource: 'output' });
  });

  it('uname -r, -a (3rd field), -sr, --kernel-release; not uname, -s, --help', () => {
    expect(releaseFromOutput(['uname', '-r'], '4.4.0-142-generic\n')).toBe('4.4.0-142-generic');
    expect(releaseFromOutput(['/bin/uname', '-a'], 'Linux master 4.4.0-142-generic #168-Ubuntu SMP Wed Jan 16 21:00:45 UTC 2019 x86_64 GNU/Linux\n')).toBe('4.4.0-142-generic');
    expect(releaseFromOutput(['uname', '-sr'], 'Linux 6.1.0-18-amd64\n')).toBe('6.1.0-18-amd64');
    expect(releaseFromOutput(['uname', '--kernel-release'], '6.1.0\n')).toBe('6.1.0');
    expect(releaseFromOutput(['uname'], 'Linux\n')).toBeNull();
    expect(releaseFromOutput(['uname', '-s'], 'Linux\n')).toBeNull();
    expect(releaseFromOutput(['uname', '--help'], 'Usage: uname [OPTION]...\n')).toBeNull();
    expect(releaseFromOutput(['cat', '-r'], '4.4.0\n')).toBeNull();
    expect(unameReleaseField(['-a'])).toBe(2);
  });

  it('a write literal cut by -s: the release only when it ends before the cut', () => {
    expect(releaseFromOutput(['uname', '-a'], 'Linux master 4.4.0-142-generic #16', true)).toBe('4.4.0-142-generic');
    expect(releaseFromOutput(['uname', '-a'], 'Linux master 4.4.0-14', true)).toBeNull();
  });

  it('from a trace saved with -o (no output in it): the write(1, ...) literal of the traced uname', async () => {
    const evs = await parseStraceText([
      'execve("/usr/bin/uname", ["uname", "-r"], 0x7ffd /* 3 vars */) = 0',
      'uname({sysname="Linux", nodename="h", ...}) = 0',
      'write(1, "6.1.0-18-amd64\\n", 15)         = 15',
      'exit_group(0)                           = ?',
    ].join('\n') + '\n');
    const r = new ReleaseFromOutput();
    for (const e of evs) r.add(e);
    expect(r.release).toBe('6.1.0-18-amd64');
  });
});

describe('pasted shell prompts are the command that made the trace', () => {
  const commandOf = async (f: string) => {
    const evs = await parseStraceText(readFileSync(fx(f), 'utf8'), f);
    return { evs, cmd: evs.filter((e): e is CommandEvent => e.kind === 'command'), unparsed: evs.filter((e) => e.kind === 'unparsed') };
  };

  it.each([
    ['pasted/user-at-host-ls.txt', 'lucaswaisten@lucaswaisten-Sword-15-A11UD:~$', ['strace', 'ls'], ['ls']],
    ['pasted/bracket-prompt-ls-tmp.txt', '[dash@localhost ~]$', ['strace', 'ls', '/tmp'], ['ls', '/tmp']],
    ['pasted/seed-root-prompt-uname.txt', 'root@master:~#', ['strace', 'uname', '-r'], ['uname', '-r']],
    ['pasted/dollar-prompt-echo.txt', '$', ['strace', '-f', '-s', '256', '-T', 'echo', 'hi'], ['echo', 'hi']],
  ])('%s: a command event, line 1, nothing else unparsed', async (f, prompt, argv, command) => {
    const { evs, cmd, unparsed } = await commandOf(f);
    expect(cmd).toHaveLength(1);
    expect(cmd[0]).toMatchObject({ kind: 'command', line: 1, prompt, argv, command });
    expect(evs[0]!.kind).toBe('command');
    // The eg page elides the rest of the trace with `[...]`: that line alone is not a trace line.
    expect(unparsed.map((e) => (e as { text: string }).text)).toEqual(f.includes('dollar') ? ['[...]'] : []);
    expect(evs.some((e) => e.kind === 'syscall' && e.name === 'execve')).toBe(true);
  });

  it('through the CLI: summary of a pasted trace says nothing on stderr', async () => {
    const r = await cli(['summary', fx('pasted/bracket-prompt-ls-tmp.txt'), '--strict']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('prompt forms, sudo, options and redirections', () => {
    expect(pastedCommand('user@host:~$ strace ls')).toMatchObject({ at: 0, prompt: 'user@host:~$', command: ['ls'] });
    expect(pastedCommand('$ strace cat f')).toMatchObject({ prompt: '$', command: ['cat', 'f'] });
    expect(pastedCommand('[u@h ~]$ strace -f ./a.out')).toMatchObject({ prompt: '[u@h ~]$', argv: ['strace', '-f', './a.out'], command: ['./a.out'] });
    expect(pastedCommand('# strace -e trace=open -o out.txt ls /')).toMatchObject({ prompt: '#', command: ['ls', '/'] });
    expect(pastedCommand('$ sudo strace -p 1234')).toMatchObject({ argv: ['strace', '-p', '1234'], command: [] });
    expect(pastedCommand('(venv) user@box:~/src$ strace -fo log python3 x.py 2>&1 | grep open')).toMatchObject({ prompt: '(venv) user@box:~/src$', command: ['python3', 'x.py'] });
    expect(pastedCommand('exit root@master:~# strace uname -r')).toMatchObject({ at: 5, prompt: 'root@master:~#' });
    expect(pastedCommand('strace: Process 12 attached')).toBeNull();
    expect(pastedCommand('$ ltrace ls')).toBeNull();
    expect(pastedCommand('the strace output below')).toBeNull();
    expect(shellWords(`strace -e 'trace=open,read' "a b" c\\ d > out 2>&1`)).toEqual(['strace', '-e', 'trace=open,read', 'a b', 'c d']);
    expect(tracedCommand(['strace', '--trace', 'open', '--', '-weird'])).toEqual(['-weird']);
  });

  it('text before the prompt on a flattened line stays unparsed; the trace after it is read', async () => {
    const evs = await parseStraceText('uname -r 4.4.0-142-generic root@master:~# strace uname -r execve("/bin/uname", ["uname", "-r"], [/* 26 vars */]) = 0\n');
    expect(evs.map((e) => e.kind)).toEqual(['unparsed', 'command', 'syscall']);
    expect(evs[0]).toMatchObject({ text: 'uname -r 4.4.0-142-generic' });
    expect(evs[1]).toMatchObject({ text: 'root@master:~# strace uname -r', command: ['uname', '-r'] });
  });
});

describe('the old unfinished form: a closing parenthesis before <unfinished ...>', () => {
  // As in github.com/rbtcollins/strace-parse.rs, src/lib.rs, test_parser: `1 set(0) <unfinished ...>`.
  it('is an unfinished call; its resumption joins it; unresumed it stays with result null', async () => {
    const evs = await parseStraceText('1 set(0) <unfinished ...>\n2 getpid() = 2\n1 <... set resumed>) = 0\n3 getpid() <unfinished ...>\n3 +++ exited with 0 +++\n');
    expect(evs.filter((e) => e.kind === 'unparsed')).toEqual([]);
    const calls = evs.filter((e): e is SyscallEvent => e.kind === 'syscall');
    expect(calls.find((e) => e.name === 'set')).toMatchObject({ pid: 1, args: '0', result: { value: '0' }, split: true, line: 1, endLine: 3 });
    expect(calls.find((e) => e.pid === 3)).toMatchObject({ name: 'getpid', args: '', result: null, split: true });
  });
});

describe('diagnostics cannot drive the terminal', () => {
  it('ESC in a file name and C1 controls in a sample are escaped', () => {
    const lines: string[] = [];
    const d = new Diagnostics((l) => lines.push(l));
    const file = 'evil\x1b]0;owned\x07.log';
    d.report({ kind: 'unparsed', file, line: 3, pid: null, text: 'x\u009b31m\x7fy', reason: 'expected a syscall' });
    d.noSyscallIn(file, newTally());
    lines.push(d.summaryLine()!);
    for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
    expect(lines[0]).toBe('evil\\x1b]0;owned\\x07.log:3: expected a syscall: "x\\u009b31m\\u007fy"');
    expect(lines[2]).toContain('evil\\x1b]0;owned\\x07.log: 1');
  });

  it('through the CLI: a file named with ESC, holding a C1 control', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(path.join((await import('node:os')).tmpdir(), 'tc-esc-'));
    try {
      const f = path.join(dir, 'a\x1b[2Jb.log');
      writeFileSync(f, 'getpid() = 1\n\u009b2J junk\n');
      const r = await cli(['summary', f]);
      expect(r.stderr).toContain('\\x1b[2Jb.log:2');
      expect(r.stderr).not.toMatch(RAW_CONTROL);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Keeps the event union exhaustive where tests build events by hand.
export type _Events = TraceEvent;
