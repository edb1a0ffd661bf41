// What `trace-compare cleanup` takes for a run's leftovers in the temp dir: only directories named like a
// run's, never a file or a symlink of that name (the tool runs as root and removes what it finds).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
