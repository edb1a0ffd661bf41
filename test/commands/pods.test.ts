// pods without a runtime: what the user reads when nothing answers, or the address is not a socket's.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPods, renderPods } from '../../src/commands/pods.js';
import { UserError } from '../../src/errors.js';

describe('trace-compare pods', () => {
  it('no CRI runtime at the endpoint: one line, exit 4, how to start one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-pods-unit-'));
    try {
      const err = await runPods({ 'cri-endpoint': `unix://${dir}/none.sock`, format: 'table' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(4);
      expect((err as UserError).message).toBe(`no CRI runtime at unix://${dir}/none.sock: ${dir}/none.sock does not exist`);
      expect((err as UserError).hint).toContain('scripts/setup-cri.sh start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an endpoint that is not a unix socket address: usage, exit 2', async () => {
    const err = await runPods({ 'cri-endpoint': 'tcp://localhost:1', format: 'table' }).catch((e: unknown) => e);
    expect((err as UserError).exitCode).toBe(2);
  });

  it('the table: one section per kind, ids cut to 13 like crictl\'s; nothing left says so', () => {
    expect(renderPods({ endpoint: 'unix:///x.sock', pods: [], containers: [] })).toBe('no pod sandbox or container of trace-compare at unix:///x.sock\n');
    const text = renderPods({
      endpoint: 'unix:///x.sock',
      pods: [{ id: 'a'.repeat(64), name: 'doctor-1', namespace: 'trace-compare', handler: 'runsc', state: 'READY', created: '2026-11-26T16:00:00Z', run: 'doctor-1' }],
      containers: [{ id: 'b'.repeat(64), name: 'uname', podId: 'a'.repeat(64), image: 'localhost/trace-compare/sandbox:1', state: 'RUNNING', created: '2026-11-26T16:00:01Z', run: 'doctor-1' }],
    });
    expect(text).toContain(`${'a'.repeat(13)}   2026-11-26T16:00:00Z   READY   doctor-1   trace-compare   runsc     doctor-1\n`);
    expect(text).toContain(`${'b'.repeat(13)}   2026-11-26T16:00:01Z   RUNNING   uname   ${'a'.repeat(13)}`);
  });
});
