import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import {
  parseStraceSummaryTable,
  parseStraceSummaryFile,
  splitStraceSummary,
  traceLinesBeforeTable,
  type StraceSummary,
} from '../../parsers/strace-c.js';
import { readLines } from '../../parsers/lines.js';
import { ParseError } from '../../parsers/errors.js';

const DIR = 'fixtures/strace';
const read = (f: string) => readFileSync(`${DIR}/${f}`, 'utf8');
const tableFixtures = readdirSync(DIR).filter((f) => f.endsWith('.log') || f === 'ff.c.txt');

describe('parseStraceSummaryTable on real strace 6.1 tables', () => {
  it('reads the default columns, blank error counts and the total row (fork.log)', () => {
    const { table, tableLine } = splitStraceSummary(read('fork.log'));
    expect(table).not.toBeNull();
    expect(tableLine).toBeGreaterThan(100);
    const t = parseStraceSummaryTable(table!);
    expect(t.columns).toEqual(['percentTime', 'seconds', 'usecsPerCall', 'calls', 'errors', 'syscall']);
    const wait4 = t.syscalls.find((r) => r.syscall === 'wait4')!;
    expect(wait4.calls).toBeGreaterThan(0);
    const mmap = t.syscalls.find((r) => r.syscall === 'mmap')!;
    expect(mmap.errors).toBe(0);
    expect(t.total.syscall).toBe('total');
    expect(t.total.percentTime).toBe(100);
    expect(t.syscalls.reduce((s, r) => s + r.calls, 0)).toBe(t.total.calls);
    expect(t.syscalls.reduce((s, r) => s + r.errors, 0)).toBe(t.total.errors);
  });

  it('reads -U with every column in another order (columns.log)', () => {
    const t = parseStraceSummaryTable(read('columns.log'));
    expect(t.columns).toEqual([
      'syscall', 'calls', 'errors', 'minSeconds', 'maxSeconds', 'usecsPerCall', 'seconds', 'percentTime',
    ]);
    const openat = t.syscalls.find((r) => r.syscall === 'openat')!;
    expect(openat.errors).toBeGreaterThan(0);
    expect(openat.minSeconds).toBeLessThanOrEqual(openat.maxSeconds!);
    expect(t.total.percentTime).toBe(100);
    expect(t.syscalls.reduce((s, r) => s + r.calls, 0)).toBe(t.total.calls);
  });

  it('keeps -S calls order (sort-calls.log) and -S name order (sort-name.log)', () => {
    const byCalls = parseStraceSummaryTable(read('sort-calls.log')).syscalls.map((r) => r.calls);
    expect(byCalls).toEqual([...byCalls].sort((a, b) => b - a));
    const byName = parseStraceSummaryTable(read('sort-name.log')).syscalls.map((r) => r.syscall);
    expect(byName).toEqual([...byName].sort());
  });

  it.each(tableFixtures)('%s: rows add up to the total row', (f) => {
    const t = parseStraceSummaryTable(read(f));
    expect(t.syscalls.length).toBeGreaterThan(0);
    expect(t.syscalls.reduce((s, r) => s + r.calls, 0)).toBe(t.total.calls);
    expect(t.syscalls.reduce((s, r) => s + r.errors, 0)).toBe(t.total.errors);
    expect(new Set(t.syscalls.map((r) => r.syscall)).size).toBe(t.syscalls.length);
  });

  it('reads a table strace writes to stderr right now (-c -w -S errors)', async () => {
    const r = await execa('strace', ['-f', '-c', '-w', '-S', 'errors', 'sh', '-c', 'cat /nonexistent; true'], {
      reject: false,
    });
    const t = parseStraceSummaryTable(r.stderr);
    expect(t.syscalls.length).toBeGreaterThan(5);
    const errs = t.syscalls.map((r) => r.errors);
    expect(errs).toEqual([...errs].sort((a, b) => b - a));
    expect(t.total.seconds).toBeGreaterThan(0);
  });

  it('throws a typed error when there is no table, or it is cut short', () => {
    expect(() => parseStraceSummaryTable('write(1, "x", 1) = 1\n')).toThrow(ParseError);
    const cut = read('plain.log').split('\n');
    const lines = cut.slice(0, cut.length - 3).join('\n');
    expect(() => parseStraceSummaryTable(lines)).toThrow(/total/);
  });
});

describe('splitting a -C output into trace and table', () => {
  it('splitStraceSummary keeps the trace lines and line numbers', () => {
    const text = read('plain.log');
    const { trace, table, tableLine } = splitStraceSummary(text);
    expect(trace.endsWith('+++ exited with 0 +++\n')).toBe(true);
    expect(table!.startsWith('% time')).toBe(true);
    expect(text.split('\n')[tableLine! - 1]).toMatch(/^% time/);
    expect(trace + table).toBe(text);
  });

  it('a trace without a table is returned whole', () => {
    const text = read('seed-uname-flattened.txt');
    expect(splitStraceSummary(text)).toEqual({ trace: text, table: null, tableLine: null });
  });

  it('traceLinesBeforeTable streams the same split, in small chunks', async () => {
    const text = read('interleaved.log');
    const chunks = text.match(/[\s\S]{1,37}/g)!;
    const tables: Array<[StraceSummary, number]> = [];
    const got: string[] = [];
    for await (const l of traceLinesBeforeTable(readLines(Readable.from(chunks)), (t, n) => tables.push([t, n]))) {
      got.push(l.text);
    }
    const { trace, table, tableLine } = splitStraceSummary(text);
    expect(got.join('\n') + '\n').toBe(trace);
    expect(tables).toHaveLength(1);
    expect(tables[0]![1]).toBe(tableLine);
    expect(tables[0]![0]).toEqual(parseStraceSummaryTable(table!));
  });

  it('a header-like line that is not a table stays in the trace', async () => {
    const text = 'syscall calls\nnot a rule\n% time seconds calls errors syscall\n------ -\n';
    const got: string[] = [];
    for await (const l of traceLinesBeforeTable(readLines(Readable.from([text])), () => {
      throw new Error('no table here');
    })) got.push(l.text);
    expect(got).toEqual(text.trimEnd().split('\n'));
  });

  it('parseStraceSummaryFile reads -c only and -C files', async () => {
    const c = await parseStraceSummaryFile(`${DIR}/c-only.log`);
    expect(c.total.calls).toBeGreaterThan(100);
    const k = await parseStraceSummaryFile(`${DIR}/k.log`);
    expect(k.syscalls.find((r) => r.syscall === 'execve')?.calls).toBe(1);
  });
});
