// What `trace-compare cleanup` takes for a run's leftovers in the temp dir: only directories named like a
// run's, never a file or a symlink of that name (the tool runs as root and removes what it finds).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { cleanupLeftovers } from '../../src/runners/leftovers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-leftovers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cleanup --dry-run in a temp dir', () => {
  it('lists a dead run\'s directory, not a file or a symlink named trace-compare-*', async () => {
    writeFileSync(path.join(tmp, 'trace-compare-live.lock'), '');
    symlinkSync('/etc', path.join(tmp, 'trace-compare-link'));
    mkdirSync(path.join(tmp, 'trace-compare-deadbeef0001'));
    const r = await cleanupLeftovers({ tmp, dryRun: true });
    const here = r.removed.filter((x) => x.startsWith(tmp));
    expect(here).toEqual([path.join(tmp, 'trace-compare-deadbeef0001')]);
  });
});

describe('cleanup tells a dead run from a live one by its owner process', () => {
  it('an owner killed but not yet reaped (a zombie) is dead: its dir is listed', async () => {
    // sh forks `true` and execs sleep, which never reaps it: `true` stays a zombie while sleep runs.
    const holder = spawn('/bin/sh', ['-c', 'true & exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let zombie = 0;
      for (let i = 0; i < 50 && !zombie; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const kids = readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        zombie = kids.find((k) => readFileSync(`/proc/${k}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')) ?? 0;
      }
      expect(zombie, 'a zombie child of sleep').toBeGreaterThan(0);
      const start = readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
      const dir = path.join(tmp, 'trace-compare-zombieowner');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'owner'), `${zombie} ${start} trace-compare-000000000000\n`);
      const r = await cleanupLeftovers({ tmp, dryRun: true });
      expect(r.removed).toContain(dir);
      expect(r.live).not.toContain(dir);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
