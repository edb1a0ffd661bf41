import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { detectFormat, detectFileFormat, peekLines } from '../../parsers/detect.js';

describe('detectFormat on real fixtures', () => {
  it('runsc debug logs (boot, gofer and run logs alike)', async () => {
    for (const d of ['uname', 'failing', 'sh-echo-cat', 'killed']) {
      for (const f of readdirSync(`fixtures/runsc/${d}`)) expect(await detectFileFormat(`fixtures/runsc/${d}/${f}`)).toBe('runsc');
    }
  });

  it('perf trace output', async () => {
    for (const f of readdirSync('fixtures/perf').filter((n) => n.endsWith('.txt'))) {
      expect(await detectFileFormat(`fixtures/perf/${f}`)).toBe('perf');
    }
  });

  it('strace text traces, including ones with program output mixed in', async () => {
    const traces = readdirSync('fixtures/strace-unit').filter((n) => n.endsWith('.trace') || /^ff\.\d+$/.test(n));
    expect(traces.length).toBeGreaterThan(5);
    for (const f of traces) expect([f, await detectFileFormat(`fixtures/strace-unit/${f}`)]).toEqual([f, 'strace']);
  });

  it('an strace -c table', async () => {
    expect(await detectFileFormat('fixtures/strace/c-only.log')).toBe('strace-c');
  });

  it('nothing recognisable is null', () => {
    expect(detectFormat(['hello', '', 'world'])).toBeNull();
    expect(detectFormat([])).toBeNull();
  });

  it('peekLines reads only the start of a file', async () => {
    const lines = await peekLines('fixtures/perf/runsc-uname.txt', 5, 4096);
    expect(lines).toHaveLength(5);
    const tiny = await peekLines('fixtures/perf/runsc-uname.txt', 1000, 300);
    expect(tiny.length).toBeLessThan(5); // the partial last line is dropped
  });
});
