// How issue #2 is checked, through the real CLI: every real -C fixture, fed as a file, on stdin, and
// flattened onto one line on stdin, gives strace's own table (calls and errors per syscall).
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { splitStraceSummary, parseStraceSummaryTable } from '../../parsers/strace-c.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');
const DIR = path.join(root, 'fixtures/strace');
const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.log') && f !== 'c-only.log').sort();

interface Row { syscall: string; calls: number; errors: number }
const counts = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.syscall, { calls: r.calls, errors: r.errors }]));

async function summary(args: string[], input?: string) {
  const r = await execa('node', [bin, 'summary', ...args, '--format', 'json'], { reject: false, ...(input !== undefined ? { input } : {}) });
  expect(r.exitCode, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout) as { syscalls: Row[]; total: Row }, stderr: r.stderr };
}

beforeAll(async () => {
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
});

describe.each(fixtures)('trace-compare summary %s', (f) => {
  const text = readFileSync(path.join(DIR, f), 'utf8');
  const { trace, table } = splitStraceSummary(text);
  const want = parseStraceSummaryTable(table!, f);

  it('as a file (trace and its -C table): equals the table, nothing unparsed', async () => {
    const { json, stderr } = await summary([path.join(DIR, f)]);
    expect(counts(json.syscalls)).toEqual(counts(want.syscalls));
    expect(stderr).toBe('');
  });

  it('on stdin', async () => {
    const { json } = await summary(['-'], trace);
    expect(counts(json.syscalls)).toEqual(counts(want.syscalls));
  });

  it('flattened onto one line with its -C table, on stdin: the table is strace\'s message, nothing unparsed', async () => {
    const flat = text.split('\n').filter((l) => l !== '').join(' ');
    const { json, stderr } = await summary(['-'], flat);
    expect(counts(json.syscalls)).toEqual(counts(want.syscalls));
    expect(stderr).toBe('');
  });

  it('flattened onto one line, on stdin', async () => {
    const flat = trace.split('\n').filter((l) => l !== '').join(' ');
    const { json, stderr } = await summary(['-'], flat);
    expect(counts(json.syscalls)).toEqual(counts(want.syscalls));
    expect(stderr).toBe('');
  });
});
