// Every difference between environments, with its evidence, on the real three-way uname -r run
// (fixtures/compare/run-uname) and the real failing runsc run (fixtures/runsc/failing: busybox ls /nonexistent).
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { WorkloadCounter, pathArgument, totalsOf, MAX_PATHS, type Comparison, type EnvironmentReport } from '../src/compare.js';
import { differences, errnoText, type Difference } from '../src/differences.js';
import { renderComparison } from '../src/report/comparison-report.js';
import { parseRunscLogDir } from '../parsers/runsc-log.js';
import { parseStraceFiles } from '../parsers/strace-ff.js';
import type { SyscallEvent } from '../parsers/events.js';
import { fixtureComparison, RUN } from './helpers/fixture-comparison.js';

const line = (file: string, n: number) => readFileSync(file, 'utf8').split('\n')[n - 1]!;

describe('WorkloadCounter detail on real traces', () => {
  it('keeps errnos per syscall with the line of the first of each, and the paths named', async () => {
    const c = new WorkloadCounter();
    const file = `${RUN}/runc/strace.log`;
    for await (const e of parseStraceFiles([file])) c.add(e);
    const d = c.detail();
    const stat = d.syscalls.find((s) => s.syscall === 'newfstatat')!;
    expect(stat.errnos).toEqual({ ENOENT: 10 });
    expect(line(stat.firstErrno.ENOENT!.file, stat.firstErrno.ENOENT!.line)).toMatch(/newfstatat\(AT_FDCWD, "\/lib\/x86_64-linux-gnu\/glibc-hwcaps\/x86-64-v4".*ENOENT/);
    const cache = d.paths.find((p) => p.path === '/etc/ld.so.cache')!;
    expect(cache).toMatchObject({ syscalls: ['openat'], calls: 1, errnos: { ENOENT: 1 } });
    expect(line(cache.first.file, cache.first.line)).toContain('"/etc/ld.so.cache"');
    expect(d.paths.find((p) => p.path === '/usr/bin/uname')).toMatchObject({ syscalls: ['execve'], errnos: {} });
    expect(d.pathsDropped).toBe(0);
  });

  it('reads the Sentry\'s 0xADDR /path form', async () => {
    const c = new WorkloadCounter();
    for await (const e of parseRunscLogDir(`${RUN}/gvisor`)) c.add(e);
    const cache = c.detail().paths.find((p) => p.path === '/etc/ld.so.cache')!;
    expect(cache.errnos).toEqual({ ENOENT: 1 });
    expect(line(cache.first.file, cache.first.line)).toMatch(/X openat\(AT_FDCWD \/, 0x[0-9a-f]+ \/etc\/ld.so.cache,/);
  });

  it('bounds the paths it keeps and counts the rest', () => {
    const c = new WorkloadCounter();
    const sys = (p: string): SyscallEvent => ({ kind: 'syscall', source: 'strace', file: 't', line: 1, pid: 1, name: 'openat', args: `AT_FDCWD, "${p}", O_RDONLY`, result: { value: '3' } });
    for (let i = 0; i < MAX_PATHS + 7; i++) c.add(sys(`/f${i}`));
    c.add(sys('/f0'));
    expect(c.detail().paths).toHaveLength(MAX_PATHS);
    expect(c.detail().paths[0]!.calls).toBe(2);
    expect(c.detail().pathsDropped).toBe(7);
    expect(pathArgument({ ...sys(''), args: '4, "", {st_mode=S_IFREG}, AT_EMPTY_PATH' })).toBeNull();
  });
});

describe('differences on the real three-way run', () => {
  let c: Comparison;
  let d: Difference[];
  beforeAll(async () => {
    c = await fixtureComparison();
    d = differences(c);
  });

  it('names the errno a pod got where the host got none, citing the pod\'s trace line', () => {
    const rseq = d.find((x) => x.kind === 'errors' && x.syscall === 'rseq')!;
    expect(rseq.text).toBe('rseq: host 0 errors in 1, gvisor 1 × ENOSYS in 1');
    expect(rseq.environments.gvisor).toEqual({ calls: 1, errors: 1, errnos: { ENOSYS: 1 } });
    const ev = rseq.evidence[0]!;
    expect(ev.environment).toBe('gvisor');
    expect(line(ev.file, ev.line)).toMatch(/X rseq\(.*errno=38/);
    expect(d.find((x) => x.kind === 'errors' && x.syscall === 'newfstatat' && 'runc' in x.environments)!.text).toBe('newfstatat: host 0 errors in 18, runc 10 × ENOENT in 12');
  });

  it('files opened in one environment and not another, and the same file with another result', () => {
    const cache = d.find((x) => x.kind === 'path-result' && x.path === '/etc/ld.so.cache' && 'runc' in x.environments)!;
    expect(cache.text).toBe('/etc/ld.so.cache (openat): host ok ×1, runc 1 × ENOENT');
    expect(cache.evidence.map((v) => [v.environment, line(v.file, v.line)])).toEqual([
      ['host', expect.stringMatching(/openat\(AT_FDCWD, "\/etc\/ld.so.cache".*= 4$/)],
      ['runc', expect.stringMatching(/openat\(AT_FDCWD, "\/etc\/ld.so.cache".*ENOENT/)],
    ]);
    // The host's C.UTF-8 locale files; the pods' loader probing hwcaps directories with no ld.so.cache.
    expect(d.some((x) => x.kind === 'path-only-in' && x.path === '/usr/lib/locale/C.utf8/LC_CTYPE' && x.text.startsWith('/usr/lib/locale/C.utf8/LC_CTYPE: only host named it'))).toBe(true);
    expect(d.some((x) => x.kind === 'path-only-in' && x.path === '/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v4' && 'gvisor' in x.environments && (x.environments.gvisor!.calls ?? 0) > 0)).toBe(true);
  });

  it('syscalls only one environment issued, output that differs, and no exit difference', () => {
    expect(d.filter((x) => x.kind === 'only-in' && 'gvisor' in x.environments).map((x) => x.syscall)).toEqual(['execve', 'futex', 'munmap']);
    expect(d.find((x) => x.kind === 'stdout')!.text).toBe('stdout: host "6.18.44-fc-v657", gvisor "4.4.0"');
    expect(d.filter((x) => x.kind === 'exit' || x.kind === 'failed')).toEqual([]);
  });

  it('is in every format: json carries all of them, table and markdown a bounded list', () => {
    const json = JSON.parse(renderComparison(c, 'json')) as { differences: Difference[] };
    expect(json.differences).toEqual(d);
    const md = renderComparison(c, 'markdown');
    expect(md).toContain('### Differences from host');
    expect(md).toContain('- rseq: host 0 errors in 1, gvisor 1 × ENOSYS in 1 [gvisor runsc.log.20261125-153027.238550.boot.txt:');
    const table = renderComparison(c, 'table', { wide: true });
    expect(table).toContain('• /etc/ld.so.cache (openat): host ok ×1, runc 1 × ENOENT [host strace.log:5, runc strace.log:5]');
    expect(table).toMatch(/… and \d+ more paths only one named \(host, not runc; all in --format json\)/);
  });
});

describe('a failed environment (real runsc run of busybox ls /nonexistent)', () => {
  async function failing(): Promise<Comparison> {
    const counter = new WorkloadCounter();
    for await (const e of parseRunscLogDir('fixtures/runsc/failing')) counter.add(e);
    const syscalls = counter.result(null);
    const env: EnvironmentReport = {
      name: 'gvisor', runtime: 'runsc', sources: [], kernelRelease: null, kernelReleaseSource: null,
      // What trace-compare reports for such a run: the exit status and the workload's stderr.
      exitCode: 1, stdout: '', stderr: "ls: /nonexistent: No such file or directory\n\x1b[2Jsecond line\n",
      syscalls, totals: totalsOf(syscalls, false), hostKernel: null, unparsed: 0,
      incomplete: ['perf wrapper cut short'], detail: counter.detail(),
    };
    const host: EnvironmentReport = { ...env, name: 'host', runtime: 'host', exitCode: 0, stdout: 'x\n', stderr: '', incomplete: undefined, syscalls: [], totals: totalsOf([], false), detail: { syscalls: [], paths: [], pathsDropped: 0 } };
    delete host.incomplete;
    return { command: ['ls', '/nonexistent'], environments: [host, env] };
  }

  it('quotes the first lines of its stderr, escaped, and says why it is incomplete', async () => {
    const c = await failing();
    const f = differences(c).find((x) => x.kind === 'failed')!;
    expect(f.environments.gvisor!.stderr).toEqual(['ls: /nonexistent: No such file or directory', '\x1b[2Jsecond line']);
    expect(f.text).toBe('gvisor failed: exit 1; incomplete: perf wrapper cut short; stderr: ls: /nonexistent: No such file or directory ⏎ \x1b[2Jsecond line');
    for (const format of ['table', 'markdown'] as const) {
      const text = renderComparison(c, format);
      expect(text).toContain('gvisor failed: exit 1');
      expect(text).toContain('\\x1b[2Jsecond line');
      expect(text).not.toContain('\x1b[2J');
      expect(text).toMatch(/! gvisor incomplete: perf wrapper cut short|- gvisor incomplete: perf wrapper cut short/);
    }
    expect(differences(c).find((x) => x.kind === 'exit')!.text).toBe('exit: host exit 0, gvisor exit 1');
    const stat = differences(c).find((x) => x.path === '/nonexistent')!;
    expect(stat.text).toBe('/nonexistent: only gvisor named it (newfstatat, 1 × ENOENT); host never named it');
    expect(line(stat.evidence[0]!.file, stat.evidence[0]!.line)).toContain('X newfstatat(AT_FDCWD /, 0x7f0376adaf7f /nonexistent');
  });

  it('errnoText', () => {
    expect(errnoText(0, {})).toBe('0 errors');
    expect(errnoText(3, undefined)).toBe('3 errors');
    expect(errnoText(14, { ENOENT: 13, EACCES: 1 })).toBe('13 × ENOENT, 1 × EACCES');
  });
});
