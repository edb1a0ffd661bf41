// Inputs that the system refuses, too many inputs for `ulimit -n`, stdin named twice (issue #6, "fail loudly"):
// one line on stderr naming the path, the documented exit code, never "internal error" or a stack trace.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { userErrorOf } from '../src/user-errors.js';
import { UserError, ExitCode } from '../src/errors.js';
import { Diagnostics } from '../src/diagnostics.js';
import { runParse } from '../src/commands/parse.js';
import { runSummary } from '../src/commands/summary.js';
import { buildDiff } from '../src/commands/diff.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/trace-compare.js');
const fixture = path.join(root, 'fixtures/strace/plain.log');
const run = (args: string[], input?: string) =>
  execa('node', [bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1' }, ...(input !== undefined ? { input } : { stdin: 'ignore' as const }) });
/** Runs the CLI with a low open-file limit; the arguments reach it through "$@", never through shell text. */
const runLimited = (limit: number, args: string[]) =>
  execa('sh', ['-c', `ulimit -n ${limit} && exec node "$0" "$@"`, bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1' }, stdin: 'ignore' });

/** An errno error as Node's fs makes it (message, code, errno, syscall, path). */
async function realError(fn: () => Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

const errno = (code: string, syscall: string, p?: string) =>
  Object.assign(new Error(`${code}: something, ${syscall}${p ? ` '${p}'` : ''}`), { code, errno: -1, syscall, ...(p ? { path: p } : {}) });

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tc-input-errors-'));
  chmodSync(dir, 0o755); // the non-root run must reach the files inside
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('userErrorOf', () => {
  it('maps a real ENOENT from open to exit 2, naming the path', async () => {
    const err = await realError(() => open(path.join(dir, 'missing.log')));
    const u = userErrorOf(err)!;
    expect(u).toBeInstanceOf(UserError);
    expect(u.exitCode).toBe(ExitCode.Usage);
    expect(u.message).toBe(`cannot open ${path.join(dir, 'missing.log')}: no such file or directory`);
  });

  it('maps a real EISDIR from read to exit 2', async () => {
    const fh = await open(dir, 'r');
    const err = await realError(() => fh.read(Buffer.alloc(1), 0, 1, 0)).finally(() => fh.close());
    expect(err.code).toBe('EISDIR');
    expect(userErrorOf(err)).toMatchObject({ exitCode: ExitCode.Usage, message: 'read failed: is a directory, expected a file' });
  });

  it.each([
    ['EACCES', 'open', ExitCode.Usage, 'cannot open /x/t.log: permission denied'],
    ['EPERM', 'open', ExitCode.Usage, 'cannot open /x/t.log: operation not permitted'],
    ['ENOTDIR', 'stat', ExitCode.Usage, 'cannot read /x/t.log: a component of the path is not a directory'],
    ['ENOSPC', 'write', ExitCode.Failure, 'cannot write /x/t.log: no space left on device'],
    ['EROFS', 'open', ExitCode.Failure, 'cannot open /x/t.log: read-only file system'],
    ['EMFILE', 'open', ExitCode.Failure, 'cannot open /x/t.log: too many open files (raise ulimit -n)'],
    ['ENFILE', 'open', ExitCode.Failure, 'cannot open /x/t.log: too many open files in the system'],
    ['EIO', 'read', ExitCode.Failure, 'cannot read /x/t.log: input/output error'],
    ['EPIPE', 'write', ExitCode.Failure, 'cannot write /x/t.log: the reading end of the pipe was closed'],
    ['EXDEV', 'rename', ExitCode.Failure, 'cannot rename /x/t.log: something (EXDEV)'],
  ])('%s from %s: exit %i, "%s"', (code, syscall, exitCode, message) => {
    expect(userErrorOf(errno(code, syscall, '/x/t.log'))).toMatchObject({ exitCode, message });
  });

  it('an error without a path says which call failed; one line, no hint', () => {
    const u = userErrorOf(errno('ENOSPC', 'write'))!;
    expect(u.message).toBe('write failed: no space left on device');
    expect(u.message).not.toContain('\n');
    expect(u.hint).toBeUndefined();
  });

  it('looks at an error\'s cause; returns a UserError as it is; a bug (no errno, or Node\'s ERR_ codes) stays null', () => {
    expect(userErrorOf(new Error('wrapped', { cause: errno('EACCES', 'open', '/y') }))?.message).toBe('cannot open /y: permission denied');
    const u = new UserError('mine', ExitCode.Usage);
    expect(userErrorOf(u)).toBe(u);
    expect(userErrorOf(new TypeError('x is undefined'))).toBeNull();
    expect(userErrorOf(Object.assign(new TypeError('bad arg'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBeNull();
    expect(userErrorOf('a string')).toBeNull();
    expect(userErrorOf(null)).toBeNull();
  });
});

describe('unreadable inputs, as a user without root (root ignores file permissions)', () => {
  const isRoot = process.getuid?.() === 0;
  const hasSetpriv = ['/usr/bin/setpriv', '/bin/setpriv'].some(existsSync);
  const skip = isRoot && !hasSetpriv ? 'setpriv is missing: root reads a chmod 000 file, so the refusal cannot be shown' : '';
  /** As uid/gid 65534 when root (setpriv), as ourselves otherwise. */
  const runUnprivileged = (args: string[]) =>
    isRoot
      ? execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1' }, stdin: 'ignore' })
      : run(args);

  it.skipIf(skip !== '')(`parse, summary and diff of a chmod 000 file: exit 2, one line naming it${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const secret = path.join(dir, 'secret.log');
    writeFileSync(secret, '1 getpid() = 1\n');
    chmodSync(secret, 0o000);
    for (const args of [['parse', secret], ['summary', secret], ['summary', fixture, secret], ['diff', `a=${fixture}`, `b=${secret}`]]) {
      const r = await runUnprivileged(args);
      expect(r.stderr).toBe(`trace-compare: cannot open ${secret}: permission denied`);
      expect(r.exitCode).toBe(ExitCode.Usage);
      expect(r.stdout).toBe('');
    }
  });

  it.skipIf(skip !== '')(`an unreadable member of an strace -ff set, and a file in a directory that cannot be searched: exit 2, one line${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const ff = path.join(dir, 'ff');
    mkdirSync(ff, { mode: 0o755 });
    writeFileSync(path.join(ff, 't.100'), '12:00:00.000001 getpid() = 100\n');
    writeFileSync(path.join(ff, 't.101'), '12:00:00.000002 getpid() = 101\n');
    chmodSync(path.join(ff, 't.101'), 0o000);
    const r = await runUnprivileged(['summary', path.join(ff, 't')]);
    expect(r.stderr).toBe(`trace-compare: cannot open ${path.join(ff, 't.101')}: permission denied`);
    expect(r.exitCode).toBe(ExitCode.Usage);

    const closed = path.join(dir, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    writeFileSync(path.join(closed, 'x.log'), '1 getpid() = 1\n');
    chmodSync(closed, 0o000);
    const s = await runUnprivileged(['parse', path.join(closed, 'x.log')]);
    expect(s.stderr).toBe(`trace-compare: cannot read ${path.join(closed, 'x.log')}: permission denied`);
    expect(s.exitCode).toBe(ExitCode.Usage);
    chmodSync(closed, 0o755);
  });
});

describe('more inputs than ulimit -n', () => {
  it('summary and parse of 3000 plain files under ulimit -n 256: every file counted', async () => {
    const plain = path.join(dir, 'plain');
    mkdirSync(plain);
    const files = Array.from({ length: 3000 }, (_, i) => path.join(plain, `p${String(i).padStart(4, '0')}.log`));
    files.forEach((f, i) => writeFileSync(f, `${i} getpid() = ${i}\n${i} close(3) = -1 EBADF (Bad file descriptor)\n`));
    const s = await runLimited(256, ['summary', '--format', 'json', ...files]);
    expect(s.stderr).toBe('');
    expect(s.exitCode).toBe(0);
    expect(JSON.parse(s.stdout).total).toMatchObject({ calls: 6000, errors: 3000 });
    const p = await runLimited(256, ['parse', ...files]);
    expect(p.stderr).toBe('');
    expect(p.exitCode).toBe(0);
    expect(p.stdout.split('\n')).toHaveLength(6000);
  });

  it('an strace -ff set of 1501 files under ulimit -n 256, merged in time order', async () => {
    const ff = path.join(dir, 'ff1501');
    mkdirSync(ff);
    // Each file's second call comes after every file's first: the merge interleaves all 1501 files.
    for (let i = 0; i < 1501; i++) {
      const us = String(i).padStart(6, '0');
      writeFileSync(path.join(ff, `t.${1000 + i}`), `12:00:00.${us} getpid() = ${1000 + i}\n12:00:01.${us} exit_group(0) = ?\n12:00:01.${us} +++ exited with 0 +++\n`);
    }
    const s = await runLimited(256, ['summary', '--format', 'json', path.join(ff, 't')]);
    expect(s.stderr).toBe('');
    expect(s.exitCode).toBe(0);
    expect(JSON.parse(s.stdout).syscalls).toEqual(expect.arrayContaining([expect.objectContaining({ syscall: 'getpid', calls: 1501 })]));
    const p = await runLimited(256, ['parse', path.join(ff, 't')]);
    expect(p.exitCode).toBe(0);
    const events = p.stdout.split('\n').map((l) => JSON.parse(l) as { kind: string; name?: string; pid: number });
    const calls = events.filter((e) => e.kind === 'syscall');
    expect(calls.slice(0, 1501).every((e) => e.name === 'getpid')).toBe(true);
    expect(new Set(calls.map((e) => e.pid)).size).toBe(1501);
  });
});

describe('standard input named more than once', () => {
  const stdinTwice = /^standard input is given 2 times \(.+\): it can be read only once; save the trace to a file$/;

  it.each([
    [['parse', '/dev/stdin', '/dev/stdin']],
    [['summary', '/dev/stdin', '/dev/fd/0']],
    [['diff', 'a=-', 'b=-']],
    [['diff', 'a=-', 'a=/dev/stdin']],
  ])('%j: usage error, exit 2, before reading anything', async (args) => {
    const r = await run(args, '1 getpid() = 1\n');
    expect(r.exitCode).toBe(ExitCode.Usage);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^trace-compare: ${stdinTwice.source.slice(1)}`));
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('runParse, runSummary and buildDiff refuse "-" twice with a UserError (exit 2)', async () => {
    for (const call of [
      () => runParse(['-', '-'], 'jsonl', new Diagnostics()),
      () => runSummary([fixture, '-', '-'], 'json', new Diagnostics()),
      () => buildDiff(['-', 'b=-'], new Diagnostics()),
    ]) {
      await expect(call()).rejects.toSatisfy((e: unknown) => e instanceof UserError && e.exitCode === ExitCode.Usage && stdinTwice.test(e.message));
    }
  });

  // yargs 18 drops a bare "-" from positional lists; src/cli.ts hands it on as /dev/stdin.
  it.each([['parse', '-', '-'], ['summary', '-', '-'], ['diff', '-', '-']])('CLI: %s - - is a usage error, exit 2', async (...args) => {
    const r = await run(args, '1 getpid() = 1\n');
    expect(r.exitCode).toBe(ExitCode.Usage);
    expect(r.stderr.trim()).toMatch(new RegExp(`^trace-compare: ${stdinTwice.source.slice(1)}`));
  });
  it('a runner\'s coded refusal gets its exit code from the CLI\'s table', async () => {
    const { RunError } = await import('../src/runners/errors.js');
    const cases = [['BAD_REQUEST', ExitCode.Usage], ['NOT_AVAILABLE', ExitCode.MissingRuntime], ['RUNTIME_FAILED', ExitCode.RuntimeFailed], ['HOST_UNREADABLE', ExitCode.Failure]] as const;
    for (const [code, exit] of cases) {
      const u = userErrorOf(new RunError(code, 'm', { hint: 'h' }));
      expect(u, code).toMatchObject({ message: 'm', exitCode: exit, hint: 'h' });
    }
  });
  it('a runsc log directory without boot logs is a usage error (exit 2) saying what to give', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-norunsc-'));
    try {
      const r = await run(['summary', dir]);
      expect(r.exitCode).toBe(ExitCode.Usage);
      expect(r.stderr).toMatch(/^trace-compare: no runsc boot log \(\*\.boot\.txt\) in /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('CLI: parse FILE - reads the file, then stdin', async () => {
    const r = await run(['parse', fixture, '-'], '1 getpid() = 1\n');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"name":"getpid"/);
  });

  it('once is fine: diff a=- b=FILE', async () => {
    const r = await run(['diff', 'a=-', `b=${fixture}`, '--format', 'json'], '1 getpid() = 1\n');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).environments.map((e: { name: string }) => e.name)).toEqual(['a', 'b']);
  });
});
