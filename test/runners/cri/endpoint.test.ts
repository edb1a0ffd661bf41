// Which CRI endpoint --backend cri uses when none is given.

import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultCriEndpoint, privateCriEndpoint, SYSTEM_CONTAINERD_ENDPOINT } from '../../../src/runners/cri/endpoint.js';

const saved = process.env.TRACE_COMPARE_CRI_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TRACE_COMPARE_CRI_DIR;
  else process.env.TRACE_COMPARE_CRI_DIR = saved;
});

describe('defaultCriEndpoint', () => {
  it('is the system containerd\'s socket when the private one is not running', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cri-endpoint-'));
    try {
      process.env.TRACE_COMPARE_CRI_DIR = dir;
      expect(await privateCriEndpoint()).toBeNull();
      // A pid file naming a process that is not that containerd (this test runner) does not count.
      writeFileSync(path.join(dir, 'containerd.pid'), `${process.pid}\n`);
      expect(await privateCriEndpoint()).toBeNull();
      expect(await defaultCriEndpoint()).toBe(SYSTEM_CONTAINERD_ENDPOINT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
