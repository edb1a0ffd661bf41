// The table fits an ordinary terminal (issue #7): at most 100 columns for the real three-way run, one line
// per row with `wide`; the command header quoted as a shell would need it; who made the host syscalls by
// role; incomplete reasons and each pod's confinement said before the numbers.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Comparison } from '../../src/compare.js';
import { renderComparison } from '../../src/report/comparison-report.js';
import { displayWidth, shellCommand, shellQuote, wrap } from '../../src/report/layout.js';
import { ociConfinement, DEFAULT_LIMITS, confinementSummary } from '../../src/runners/confinement.js';
import { fixtureComparison } from '../helpers/fixture-comparison.js';

const SGR = /\x1b\[[0-9;]*m/g;

/** Columns on a terminal: colour codes stripped, each code point one column (all this report prints). */
const columns = (line: string) => [...line.replace(SGR, '')].length;

describe('the default table of the real three-way run fits 100 columns', () => {
  let c: Comparison;
  beforeAll(async () => {
    c = await fixtureComparison();
  });

  for (const colour of [false, true]) {
    it(`every line <= 100 columns${colour ? ' (colours on)' : ''}`, () => {
      const old = process.env.FORCE_COLOR;
      if (colour) process.env.FORCE_COLOR = '1';
      try {
        const text = renderComparison(c, 'table');
        if (colour) expect(text).toMatch(SGR);
        const lines = text.split('\n');
        const over = lines.filter((l) => columns(l) > 100);
        expect(over).toEqual([]);
        // Still says everything: each environment, each syscall, the differences.
        const joined = text.replace(SGR, '').replace(/\n +/g, ' ');
        for (const s of ['host', 'runc', 'gvisor', 'set_tid_address', '6.18.44-fc-v657', '4.4.0', 'Differences from host', 'runc init runc:[0:PARENT]']) expect(joined).toContain(s);
      } finally {
        if (old === undefined) delete process.env.FORCE_COLOR;
        else process.env.FORCE_COLOR = old;
      }
    });
  }

  it('a narrower width is honoured too', () => {
    for (const l of renderComparison(c, 'table', { width: 72 }).split('\n')) expect(columns(l), l).toBeLessThanOrEqual(72);
  });

  it('wide keeps one line per row: one environment a row, one finding a line', () => {
    const text = renderComparison(c, 'table', { wide: true });
    const lines = text.split('\n');
    expect(lines.some((l) => columns(l) > 100)).toBe(true);
    expect(lines.filter((l) => /^│ (host|runc|gvisor) +│ (host|runc|runsc) /.test(l))).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('• gvisor: perf saw 45 of the workload'))).toHaveLength(1);
    expect(text).toContain('gvisor (calls → host kernel)');
  });

  it('labels the runtime\'s processes by role and keeps the tracer\'s overhead apart', () => {
    const text = renderComparison(c, 'table', { wide: true });
    expect(text).toMatch(/• host: runtime's own 0; tracer overhead 1571 = tracer strace 1506 \(3 tasks\), status wrapper sh 65 \(2 tasks\)/);
    expect(text).toMatch(/• runc: runtime's own 3004 = runc CLI 1739 \(10 tasks\), runc init runc:\[2:INIT\] 1135 \(6 tasks\), runc init runc:\[0:PARENT\] 65, runc init 56, runc init runc:\[1:CHILD\] 9; tracer overhead 848 = tracer strace 782 \(3 tasks\), status wrapper sh 66 \(2 tasks\)/);
    expect(text).toMatch(/• gvisor: runtime's own 5897 = Sentry 2544 \(19 tasks\), runsc CLI 1526 \(8 tasks\), gofer 1310 \(10 tasks\), Sentry helper \(runsc re-exec\) 337 \(4 tasks\), ptrace stub 180 \(6 tasks\); tracer overhead 66 = status wrapper sh 66 \(2 tasks\)/);
    expect(text).not.toMatch(/exe ×\d/);
    // The host's runtime column no longer counts strace's ptrace as the runtime's own.
    const host = c.environments[0]!;
    expect(host.hostKernel!.roles!.filter((r) => r.kind === 'runtime')).toEqual([]);
    const tracer = host.hostKernel!.roles!.find((r) => r.label === 'tracer strace')!;
    expect(tracer.syscalls.slice(0, 2).map((s) => s.syscall)).toEqual(['ptrace', 'wait4']);
    expect(tracer.syscalls.some((s) => s.syscall === 'process_vm_readv')).toBe(true);
  });

  it('says incomplete figures and each pod\'s confinement first', () => {
    const conf = ociConfinement({ privileged: false, limits: { ...DEFAULT_LIMITS }, traceWithStrace: true, runtime: 'runc' }).description;
    const withNotes: Comparison = {
      ...c,
      environments: c.environments.map((e) =>
        e.name === 'host' ? e : { ...e, confinement: conf, ...(e.name === 'gvisor' ? { incomplete: ['perf lost 12 events'] } : {}) }),
    };
    for (const format of ['table', 'markdown'] as const) {
      const text = renderComparison(withNotes, format);
      const mark = format === 'table' ? '! ' : '- ';
      expect(text).toContain(`${mark}gvisor incomplete: perf lost 12 events`);
      expect(text).toContain(`${mark}runc confinement: ${confinementSummary(conf).slice(0, 40)}`);
      expect(text.indexOf('incomplete:')).toBeLessThan(text.indexOf('set_tid_address'));
      if (format === 'table') for (const l of text.split('\n')) expect(columns(l)).toBeLessThanOrEqual(100);
    }
  });
});

describe('the command header', () => {
  it('quotes argv as a POSIX shell needs, only where needed', () => {
    expect(shellCommand(['sh', '-c', 'ls / | wc -l'])).toBe("sh -c 'ls / | wc -l'");
    expect(shellCommand(['uname', '-r'])).toBe('uname -r');
    expect(shellCommand(['seq', '--format=%03g', '3'])).toBe('seq --format=%03g 3');
    expect(shellCommand(['echo', "it's", '', '$HOME', 'a*', '~'])).toBe(`echo 'it'\\''s' '' '$HOME' 'a*' '~'`);
    expect(shellQuote('a\x1b[2Jb\n')).toBe("$'a\\x1b[2Jb\\n'");
    expect(shellQuote("x'\u009b")).toBe("$'x\\'\\u009b'");
  });

  it('is shown quoted in table and markdown', () => {
    const c: Comparison = { command: ['sh', '-c', 'ls / | wc -l'], environments: [] };
    expect(renderComparison(c, 'table')).toContain("$ sh -c 'ls / | wc -l'");
    expect(renderComparison(c, 'markdown')).toContain("## `sh -c 'ls / | wc -l'`");
    expect(renderComparison({ command: ['printf', '\x1b]0;t\x07'], environments: [] }, 'table')).toContain("$ printf $'\\x1b]0;t\\x07'");
  });
});

describe('wrap', () => {
  it('wraps at spaces with a hanging indent, cuts a word longer than a line', () => {
    expect(wrap('aaa bbb ccc', 7, '  ')).toEqual(['aaa bbb', '  ccc']);
    expect(wrap('x'.repeat(12), 5, ' ')).toEqual(['xxxxx', ' xxxx', ' xxx']);
    expect(displayWidth('\x1b[1mab→\x1b[22m')).toBe(3);
  });
});
