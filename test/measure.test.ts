// src/measure.ts: one builder of an environment's figures for run and diff.
import { describe, it, expect } from 'vitest';
import { endCutShort, measureEnvironment } from '../src/measure.js';
import { parseStraceText } from '../parsers/strace.js';
import type { TraceEvent } from '../parsers/events.js';
import { collect } from './helpers/collect.js';

async function* from(events: TraceEvent[]): AsyncGenerator<TraceEvent> {
  yield* events;
}

describe('endCutShort: a stopped run\'s last line is no bad input', () => {
  it('a final unparsed line becomes a message saying where and why the trace was cut; earlier ones stay', async () => {
    const evs = await parseStraceText('bad line\nclose(3) = 0\nread(0, "abc', 't');
    expect(evs.map((e) => e.kind)).toEqual(['unparsed', 'syscall', 'unparsed']);
    const out = await collect(endCutShort(from(evs), 'the run timed out'));
    expect(out.map((e) => e.kind)).toEqual(['unparsed', 'syscall', 'message']);
    expect(out[2]).toMatchObject({ kind: 'message', line: 3, text: 'the trace ends here, cut short when the run timed out' });
  });
  it('a trace that ends whole is passed on unchanged', async () => {
    const evs = await parseStraceText('close(3) = 0\n', 't');
    expect(await collect(endCutShort(from(evs), 'x'))).toEqual(evs);
  });
});

describe('measureEnvironment', () => {
  it('counts the workload, reads its release, and knows nothing of the host kernel without perf', async () => {
    const evs = await parseStraceText('uname({sysname="Linux", nodename="n", release="6.1.0-x", version="#1"}) = 0\nclose(3) = 0\n+++ exited with 0 +++\n', 't');
    const { fields, counter } = await measureEnvironment({ name: 'h', runtime: 'host', workload: { events: from(evs), format: 'strace' }, perf: null, command: ['uname', '-r'] });
    expect(fields).toMatchObject({ name: 'h', kernelRelease: '6.1.0-x', kernelReleaseSource: 'workload', totals: { calls: 2, distinct: 2, hostKernelCalls: null }, hostKernel: null, unparsed: 0 });
    expect(counter.ended).toBe(true);
  });
});
