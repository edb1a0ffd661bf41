import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressWanted, startProgress } from '../src/progress.js';

describe('progress line', () => {
  it('only on a terminal, never for JSON to a pipe', () => {
    const ci = process.env.CI;
    delete process.env.CI;
    try {
      expect(progressWanted('table', { isTTY: true }, { isTTY: false })).toBe(true);
      expect(progressWanted('json', { isTTY: true }, { isTTY: false })).toBe(false);
      expect(progressWanted('json', { isTTY: true }, { isTTY: true })).toBe(true);
      expect(progressWanted('table', { isTTY: false }, { isTTY: true })).toBe(false);
    } finally {
      if (ci !== undefined) process.env.CI = ci;
    }
  });

  it('shows each environment, its elapsed time and the syscalls its trace holds, then clears the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-progress-'));
    const written: string[] = [];
    const out = { columns: 200, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    try {
      const log = join(dir, 'strace.log');
      writeFileSync(log, '10 openat(AT_FDCWD, "/x", O_RDONLY) = 3\n10 read(3, <unfinished ...>\n');
      const p = startProgress(['host', 'gvisor'], true, out);
      p.watch('host', { file: log });
      appendFileSync(log, '10 <... read resumed>"", 10) = 0\n10 +++ exited with 0 +++\n');
      await new Promise((r) => setTimeout(r, 1200));
      p.done('host');
      p.stop();
      const lines = written.filter((w) => w.includes('host'));
      expect(lines.pop()).toMatch(/^\rtrace-compare: host \d+\.\d s, 2 syscalls \| gvisor waiting/);
      expect(written[written.length - 1]).toMatch(/^\r +\r$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
