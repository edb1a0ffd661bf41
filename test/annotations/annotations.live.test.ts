// A real three-way run: every row's annotation agrees with the installed runsc's own table and with what `man`
// prints, and the report names the runsc it read. Needs root, runc, runsc, strace, perf and man; skips saying which is missing.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import strace from '../../src/annotations/data/strace-classes.json' with { type: 'json' };
import type { Comparison } from '../../src/compare.js';
import type { ComparisonAnnotations } from '../../src/annotations/comparison.js';
import { renderComparison } from '../../src/report/comparison-report.js';
import { has } from '../helpers/live.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/trace-compare.js');
const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...['runc', 'runsc', 'strace', 'perf', 'man'].filter((c) => !has(c))];
const NR = new Map(Object.entries(strace.syscalls as Record<string, { nr: number }>).map(([n, e]) => [n, e.nr]));

/** `man`'s NAME section after the dash, or null when there is no man2 page. */
async function manDescription(name: string): Promise<string | null> {
  const r = await execa('man', ['-P', 'cat', '2', name], { reject: false, env: { MANWIDTH: '2000', LANG: 'C.UTF-8' } });
  if (r.exitCode !== 0) return null;
  const lines = String(r.stdout).split('\n');
  const at = lines.findIndex((l) => l.trim() === 'NAME');
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (/^\S/.test(l)) break;
    body.push(l.trim());
  }
  const line = body.join(' ').replace(/\s+/g, ' ');
  return line.slice(line.indexOf(' - ') + 3).trim();
}

describe.skipIf(missing.length > 0)(`annotations of a live run${missing.length ? ` (skipped: need ${missing.join(', ')})` : ''}`, () => {
  it('uname -r three-way: runsc\'s table, the man pages, the runsc version named; markdown shows the JSON\'s rows', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-ann-live-'));
    try {
      const r = await execa('node', [bin, 'uname', '-r', '--pod', 'runc', '--pod', 'gvisor', '--format', 'json'], { reject: false, stdin: 'ignore', cwd: root, env: { NO_COLOR: '1', TMPDIR: tmp } });
      expect(r.exitCode, r.stderr).toBe(0);
      const c = JSON.parse(r.stdout) as Comparison & { annotations: ComparisonAnnotations };
      const help = JSON.parse(String((await execa('runsc', ['help', 'syscalls', '--format=json'])).stdout)) as { linux: { amd64: { syscalls: Record<string, { name: string; support: string; note: string }> } } };
      const table = help.linux.amd64.syscalls;
      const version = /runsc version (\S+)/.exec(String((await execa('runsc', ['--version'])).stdout))![1];
      expect(c.annotations.sources.gvisor.runscVersion).toBe(version);
      expect(c.annotations.sources.gvisor.from).toMatch(/^installed \//);
      for (const e of c.environments) {
        expect(e.syscalls.length, e.name).toBeGreaterThan(0);
        for (const row of e.syscalls) {
          const a = row.annotation!;
          const g = Object.values(table).find((t) => t.name === row.syscall) ?? table[String(NR.get(row.syscall))];
          if (g) expect({ support: a.gvisor.support, note: a.gvisor.note }, row.syscall).toEqual({ support: g.support, note: g.note });
          else expect(a.gvisor.support, row.syscall).toBe('Not in table');
          expect(a.description, row.syscall).toBe(await manDescription(row.syscall));
        }
      }
      const md = renderComparison(c, 'markdown');
      for (const s of c.annotations.notFullyInGvisor) expect(md).toContain(`- ${s.syscall} (${s.annotation.gvisor.support}): ${s.annotation.gvisor.note}`);
      for (const e of c.environments) expect(md).toContain(`${e.totals.calls} → ${e.totals.hostKernelCalls}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
