// The CLI as a user meets it: the compiled bin, real fixtures, bad input, exit codes. `npm test` builds first.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { parseStraceSummaryTable } from '../parsers/strace-c.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/trace-compare.js');
const fx = (p: string) => path.join(root, 'fixtures', p);
const cli = (args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}) =>
  execa('node', [bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1', ...opts.env }, ...(opts.input !== undefined ? { input: opts.input } : {}) });

interface SummaryJson { syscalls: { syscall: string; calls: number; errors: number }[]; total: { calls: number; errors: number } }

beforeAll(async () => {
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
});

describe('summary', () => {
  it('reads the seed trace as pasted (one flattened line) with nothing unparsed', async () => {
    const r = await cli(['summary', fx('strace/seed-uname-flattened.txt'), '--format', 'json']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout) as SummaryJson;
    const by = Object.fromEntries(s.syscalls.map((x) => [x.syscall, x]));
    expect(by.uname).toMatchObject({ calls: 1, errors: 0 });
    expect(by.access).toMatchObject({ calls: 3, errors: 3 });
    expect(by.write).toMatchObject({ calls: 1, errors: 0 });
    expect(s.total.calls).toBe(34);
  });

  it('gives the same table from stdin as from the file', async () => {
    const file = fx('strace/tt-T.log');
    const a = await cli(['summary', file, '--format', 'json']);
    const b = await cli(['summary', '-', '--format', 'json'], { input: readFileSync(file) });
    expect(b.exitCode).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
  });

  it('prints the table in strace -c\'s own layout, which parses back to the same counts', async () => {
    for (const f of ['strace/tt-T.log', 'strace/plain.log']) {
      const table = await cli(['summary', fx(f)]);
      const json = JSON.parse((await cli(['summary', fx(f), '--format', 'json'])).stdout) as SummaryJson;
      const back = parseStraceSummaryTable(table.stdout, f);
      expect(back.syscalls.map((r) => [r.syscall, r.calls, r.errors])).toEqual(json.syscalls.map((r) => [r.syscall, r.calls, r.errors]));
      expect(back.total.calls).toBe(json.total.calls);
    }
  });

  it('renders markdown and a colourless table under NO_COLOR', async () => {
    const md = await cli(['summary', fx('strace/plain.log'), '--format', 'markdown']);
    const total = (JSON.parse((await cli(['summary', fx('strace/plain.log'), '--format', 'json'])).stdout) as SummaryJson).total;
    expect(md.stdout).toContain(`| **${total.calls}** | **${total.errors}** | **total** |`);
    expect(md.stdout).toMatch(/^\| calls \| errors \| syscall \|/);
    const t = await cli(['summary', fx('strace/plain.log')], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(t.stdout).not.toMatch(/\u001b\[/);
    expect(t.stdout).toContain('total');
  });
});

describe('bad input is reported by line, and nothing is lost', () => {
  let dir: string;
  let mixed: string;
  let cleanCalls: number;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tc-cli-'));
    const clean = readFileSync(fx('strace-unit/ls-full.trace'), 'utf8').split('\n');
    // Real trace lines, with binary junk at line 3, a 20 MB line at line 6 and a cut-off last line.
    mixed = path.join(dir, 'mixed.log');
    const out = createWriteStream(mixed);
    out.write(clean.slice(0, 2).join('\n') + '\n');
    out.write(Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0x0a]));
    out.write(clean.slice(2, 4).join('\n') + '\n');
    out.write(clean[4]!.slice(0, 1) + 'x'.repeat(20 * 1024 * 1024) + '\n');
    out.write(clean.slice(5, -1).join('\n').replace(/\n$/, '') + '\n');
    out.write('openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLO');
    out.end();
    await once(out, 'finish');
    const whole = await cli(['summary', fx('strace-unit/ls-full.trace'), '--format', 'json']);
    cleanCalls = (JSON.parse(whole.stdout) as SummaryJson).total.calls;
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('names file and line for each bad line, counts them, and still summarises the rest', async () => {
    const r = await cli(['summary', mixed, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`${mixed}:3:`);
    expect(r.stderr).toMatch(new RegExp(`${mixed}:6: line of 2097\\d{4} bytes is longer than the limit`));
    const lastLine = readFileSync(mixed, 'utf8').split('\n').length;
    expect(r.stderr).toContain(`${mixed}:${lastLine}:`);
    expect(r.stderr).toMatch(/3 lines not understood/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    const s = JSON.parse(r.stdout) as SummaryJson;
    // Line 5 (one syscall) was swallowed by the 20 MB line; every other complete call is counted.
    expect(s.total.calls).toBeGreaterThanOrEqual(cleanCalls - 2);
  });

  it('--strict exits 3 and parse keeps every bad line as an unparsed event with its line number', async () => {
    expect((await cli(['summary', mixed, '--strict'])).exitCode).toBe(3);
    const r = await cli(['parse', mixed]);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; line: number; truncated?: boolean });
    const unparsed = events.filter((e) => e.kind === 'unparsed');
    expect(unparsed.map((e) => e.line)).toEqual([3, 6, readFileSync(mixed, 'utf8').split('\n').length]);
    expect(unparsed[1]!.truncated).toBe(true);
  });

  it('a missing file is a one-line error with exit 2, not a stack trace', async () => {
    const r = await cli(['summary', '/nonexistent/trace.log']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('trace-compare: /nonexistent/trace.log: no such file');
  });
});

describe('strace -ff -o prefix sets', () => {
  it('the files, or their prefix alone, summarise as one trace', async () => {
    const files = readdirSync(fx('strace')).filter((f) => /^ff\.\d+$/.test(f)).map((f) => fx(`strace/${f}`));
    const a = await cli(['summary', ...files, '--format', 'json']);
    const b = await cli(['summary', fx('strace/ff'), '--format', 'json']);
    expect(a.exitCode).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const pids = new Set((await cli(['parse', fx('strace/ff')])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { pid: number }).pid));
    expect(pids.size).toBe(files.length);
  });
});

describe('program output on lines of its own', () => {
  it('after write(1, "...", N <unfinished ...>, the lines the literal announced are output, in file and flattened', async () => {
    const file = fx('strace/output-lines.log');
    const events = (await cli(['parse', file])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; text?: string });
    expect(events.filter((e) => e.kind === 'unparsed')).toEqual([]);
    expect(events.filter((e) => e.kind === 'output').map((e) => e.text).join('')).toContain('PackageKit\nX11\nadduser.conf\n');
    const flat = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').join(' ');
    const r = await cli(['parse', '-'], { input: flat });
    const flatEvents = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; text?: string });
    expect(flatEvents.filter((e) => e.kind === 'unparsed')).toEqual([]);
  });
});

describe('parse', () => {
  it('prints one JSON event a line, and a JSON array with --format json', async () => {
    const a = await cli(['parse', fx('strace/seed-uname-flattened.txt')]);
    const lines = a.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; text?: string });
    expect(lines.filter((e) => e.kind === 'output').map((e) => e.text)).toEqual(['4.4.0-142-generic\n']);
    const b = await cli(['parse', fx('strace/seed-uname-flattened.txt'), '--format', 'json']);
    expect(JSON.parse(b.stdout)).toEqual(lines);
  });
});

describe('parse --args', () => {
  it('adds the typed argument tree: uname\'s struct with its release string', async () => {
    const r = await cli(['parse', fx('compare/host-uname.log'), '--args']);
    const uname = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name?: string; argTree?: { kind: string; fields?: { name: string; value: { kind: string; value: string } }[] }[] }).find((e) => e.name === 'uname')!;
    const release = uname.argTree![0]!.fields!.find((f) => f.name === 'release')!;
    expect(release.value.kind).toBe('string');
    expect(release.value.value).toBe(/release="([^"]+)"/.exec(readFileSync(fx('compare/host-uname.log'), 'utf8'))![1]);
    const plain = await cli(['parse', fx('compare/host-uname.log')]);
    expect(plain.stdout).not.toContain('argTree');
  });
});

describe('diff of saved logs', () => {
  it('compares a host strace log and a runsc debug log, counts matching the logs', async () => {
    const boot = path.join(fx('runsc/uname'), readdirBoot(fx('runsc/uname')));
    const r = await cli(['diff', `host=${fx('compare/host-uname.log')}`, `gvisor=${boot}`, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { command: null; environments: { name: string; runtime: string; kernelRelease: string | null; syscalls: { syscall: string; calls: number; hostKernelCalls: number | null }[]; hostKernel: null }[] };
    expect(c.command).toBeNull();
    const [host, gv] = c.environments;
    expect(gv!.runtime).toBe('runsc');
    expect(gv!.kernelRelease).toBe('4.4.0');
    expect(gv!.syscalls.find((s) => s.syscall === 'uname')).toMatchObject({ syscall: 'uname', calls: 1, errors: 0, hostKernelCalls: null });
    // The release recorded in the fixture when it was made (fixtures/compare/host-uname.cmd).
    const recorded = /release="([^"]+)"/.exec(readFileSync(fx('compare/host-uname.log'), 'utf8'))![1];
    expect(host!.kernelRelease).toBe(recorded);
    expect(host!.syscalls.find((s) => s.syscall === 'uname')!.calls).toBe(1);
    expect(gv!.hostKernel).toBeNull();
  });
});

describe('diff of a runsc --debug-log directory', () => {
  it('reads the boot log inside it', async () => {
    const r = await cli(['diff', `gvisor=${fx('runsc/uname')}`, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const c = JSON.parse(r.stdout) as { environments: { kernelRelease: string; sources: string[] }[] };
    expect(c.environments[0]!.kernelRelease).toBe('4.4.0');
  });
});

describe('diff of both views saved from one live run (fixtures/compare/run-uname)', () => {
  it('reproduces the live run\'s numbers: calls, errors and what reached the host kernel', async () => {
    const run = fx('compare/run-uname');
    const live = JSON.parse(readFileSync(path.join(run, 'live.json'), 'utf8')) as { environments: DiffEnv[] };
    const r = await cli([
      'diff',
      `host=${run}/host/strace.log`, `host=${run}/host/perf.txt`,
      `runc=${run}/runc/strace.log`, `runc=${run}/runc/perf.txt`,
      `gvisor=${run}/gvisor`, `gvisor=${run}/gvisor/perf.txt`,
      '--format', 'json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const saved = JSON.parse(r.stdout) as { environments: DiffEnv[] };
    for (const name of ['host', 'runc', 'gvisor']) {
      const a = saved.environments.find((e) => e.name === name)!;
      const b = live.environments.find((e) => e.name === name)!;
      // live.json predates the rows' annotations (test/annotations checks those): the counts must agree.
      expect(a.syscalls.map(({ annotation: _, ...r }) => r), name).toEqual(b.syscalls);
      expect(a.kernelRelease, name).toBe(b.kernelRelease);
      expect(a.hostKernel!.syscalls, name).toEqual(b.hostKernel!.syscalls);
      expect([a.hostKernel!.workloadSeen, a.hostKernel!.workloadEntered], name).toEqual([b.hostKernel!.workloadSeen, b.hostKernel!.workloadEntered]);
    }
    expect(saved.environments.find((e) => e.name === 'gvisor')!.syscalls.find((s) => s.syscall === 'uname')!.hostKernelCalls).toBe(0);
  });

  it('refuses two workload logs under one label', async () => {
    const r = await cli(['diff', `a=${fx('compare/host-uname.log')}`, `a=${fx('strace/plain.log')}`]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/at most one workload log/);
  });
});

interface DiffEnv {
  name: string;
  kernelRelease: string | null;
  syscalls: { syscall: string; calls: number; errors: number; hostKernelCalls: number | null; annotation?: unknown }[];
  hostKernel: { syscalls: { syscall: string; calls: number }[]; workloadSeen: number; workloadEntered: number } | null;
}

describe('help and usage', () => {
  for (const sub of [[], ['parse'], ['summary'], ['diff'], ['run']]) {
    it(`${['trace-compare', ...sub].join(' ')} --help`, async () => {
      const r = await cli([...sub, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/--format/);
    });
  }
  it('an unknown option is exit 2 with a hint', async () => {
    const r = await cli(['summary', '--frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument/);
  });
});

function readdirBoot(dir: string): string {
  const f = readdirSync(dir).find((n) => n.endsWith('.boot.txt'));
  if (!f) throw new Error(`no boot log in ${dir}`);
  return f;
}
