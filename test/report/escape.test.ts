// The workload's own terminal escapes (issue #6): its output, file and process names, labels and unparsed
// lines print as visible text (\x1b, \u009b) in the table and markdown formats, and JSON stays escaped.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { escapeControls, terminalSafeJson } from '../../src/report/escape.js';
import { renderComparison } from '../../src/report/comparison-report.js';
import { differences } from '../../src/differences.js';
import { renderSummary } from '../../src/report/summary-report.js';
import type { Comparison } from '../../src/compare.js';
import type { Summary } from '../../src/summary.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');

/** What a terminal would obey: C0 but \t and \n, DEL, C1. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
/** chalk's own colour sequences, the only escapes a report may hold (and only with colours on). */
const SGR = /\x1b\[[0-9;]*m/g;
const HOSTILE = 'hi\x1b]0;pwned\x07\x1b[2J\u009b31m\x7f\r';
const SHOWN = 'hi\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\x7f\\x0d';

describe('escapeControls', () => {
  it('shows C0 (but \\n and \\t), DEL and C1 as \\xNN / \\u00NN; leaves other text alone', () => {
    expect(escapeControls(HOSTILE)).toBe(SHOWN);
    expect(escapeControls('a\tb\nc é ⏎ → \u00a0 \u2028')).toBe('a\tb\nc é ⏎ → \u00a0 \u2028');
    expect(escapeControls('\x00\x1f\x80\x9f')).toBe('\\x00\\x1f\\u0080\\u009f');
  });

  it('terminalSafeJson keeps the JSON value and leaves no raw control in the text', () => {
    const value = { text: HOSTILE, nested: [{ file: 'a\u0085b\x7f' }] };
    const json = terminalSafeJson(JSON.stringify(value, null, 2));
    expect(JSON.parse(json)).toEqual(value);
    expect(json.replace(/\n/g, '')).not.toMatch(CONTROL);
  });
});

const comparison: Comparison = {
  command: ['printf', '\x1b[2J'],
  environments: [
    {
      name: 'host\x1b[31m',
      runtime: 'host',
      sources: ['t.log'],
      kernelRelease: '6.1\x1b[2J',
      kernelReleaseSource: 'workload',
      exitCode: 1,
      ended: 'killed by \x1b]0;x\x07',
      stdout: HOSTILE + '\n',
      syscalls: [{ syscall: 'wr\x1bite', calls: 2, errors: 0, hostKernelCalls: 1 }],
      totals: { calls: 2, distinct: 1, hostKernelCalls: 1 },
      hostKernel: {
        syscalls: [{ syscall: 'fu\u009btex', calls: 3 }],
        processes: [{ pid: 9, comm: 'ex\x1b[2Je', role: 'runtime', what: 'the Sentry' }],
        workloadSeen: 0,
        workloadEntered: 0,
        lostEvents: 0,
      },
      unparsed: 0,
    },
  ],
};

const summary: Summary = {
  syscalls: [{ syscall: 'open\x1b[2Jat', calls: 1, errors: 1 }],
  total: { syscall: 'total', calls: 1, errors: 1 },
};

describe('reports', () => {
  for (const format of ['table', 'markdown'] as const) {
    it(`comparison ${format}: every trace text is escaped, the escaped forms are shown`, () => {
      const text = renderComparison(comparison, format);
      expect(text.replace(/\n/g, '')).not.toMatch(CONTROL);
      for (const shown of ['\\x1b[2J', 'host\\x1b[31m', '6.1\\x1b[2J', 'wr\\x1bite', 'fu\\u009btex', 'ex\\x1b[2Je', 'hi\\x1b]0;pwned']) {
        expect(text.replace(/\\\\/g, '\\')).toContain(shown);
      }
    });

    it(`summary ${format}: a syscall name's controls are escaped`, () => {
      const text = renderSummary(summary, format);
      expect(text.replace(/\n/g, '')).not.toMatch(CONTROL);
      expect(text.replace(/\\\\/g, '\\')).toContain('open\\x1b[2Jat');
    });
  }

  it('with colours on, the only escapes left are the colours', () => {
    const old = process.env.FORCE_COLOR;
    process.env.FORCE_COLOR = '1';
    delete process.env.NO_COLOR;
    try {
      const text = renderComparison(comparison, 'table') + renderSummary(summary, 'table');
      expect(text).toMatch(SGR);
      expect(text.replace(SGR, '').replace(/\n/g, '')).not.toMatch(CONTROL);
    } finally {
      if (old === undefined) delete process.env.FORCE_COLOR;
      else process.env.FORCE_COLOR = old;
    }
  });

  it('json: same value, no raw control', () => {
    for (const json of [renderComparison(comparison, 'json'), renderSummary(summary, 'json')]) {
      expect(json.replace(/\n/g, '')).not.toMatch(CONTROL);
    }
    expect(JSON.parse(renderComparison(comparison, 'json'))).toEqual({ ...comparison, differences: differences(comparison) });
    expect(JSON.parse(renderSummary(summary, 'json'))).toEqual(summary);
  });
});

describe('the CLI on a trace with hostile names and text', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
    dir = mkdtempSync(path.join(os.tmpdir(), 'tc-escape-'));
    // The file name and an unparsed line carry raw ESC and C1; strace itself escapes what the program wrote.
    file = path.join(dir, 't\x1b[2J.log');
    writeFileSync(file, '1 write(1, "\\33]0;t\\7hi\\n", 10) = 10\n\x1b]0;pwned\x07 \u009b2J garbage\n1 exit_group(0) = ?\n1 +++ exited with 0 +++\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stdoutOf = async (args: string[]) => {
    const r = await execa('node', [bin, ...args], { reject: false, cwd: root, env: { NO_COLOR: '1' } });
    expect(r.exitCode).toBe(0);
    return r.stdout;
  };

  it.each([
    [['parse', '--format', 'table', 'FILE']],
    [['parse', '--format', 'jsonl', 'FILE']],
    [['parse', '--format', 'json', 'FILE']],
    [['summary', 'FILE']],
    [['summary', '--format', 'markdown', 'FILE']],
    [['diff', 'FILE']],
    [['diff', '--format', 'markdown', 'FILE']],
    [['diff', '--format', 'json', 'FILE']],
  ])('%j prints no raw control character on stdout', async (args) => {
    const out = await stdoutOf(args.map((a) => (a === 'FILE' ? file : a)));
    expect(out.replace(/\n/g, '')).not.toMatch(CONTROL);
  });

  it('parse --format table shows the file name and the unparsed text escaped', async () => {
    const out = await stdoutOf(['parse', '--format', 'table', file]);
    expect(out).toContain('t\\x1b[2J.log:2');
    expect(out).toContain('unparsed "\\u001b]0;pwned\\u0007 \\u009b2J garbage"');
  });

  it('diff labels the environment by the file name, escaped', async () => {
    expect(await stdoutOf(['diff', '--format', 'markdown', file])).toContain('t\\\\x1b[2J.log');
  });
});
