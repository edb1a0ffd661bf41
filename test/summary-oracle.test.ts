// The oracle: summarize(parse(trace)) must give strace's own -C table, calls and errors per syscall.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { parseStrace, parseStraceBatches, parseStraceText } from '../parsers/strace.js';
import { parseStraceFiles } from '../parsers/strace-ff.js';
import { splitStraceSummary, parseStraceSummaryTable, type StraceSummary } from '../parsers/strace-c.js';
import { SummaryBuilder, type Summary } from '../src/summary.js';
import type { TraceEvent } from '../parsers/events.js';

const DIR = 'fixtures/strace';

async function summaryOf(events: Iterable<TraceEvent> | AsyncIterable<TraceEvent>) {
  const b = new SummaryBuilder();
  const unparsed: string[] = [];
  for await (const e of events) {
    b.add(e);
    if (e.kind === 'unparsed') unparsed.push(`${e.file}:${e.line}: ${e.reason}: ${e.text}`);
  }
  return { summary: b.result(), unparsed };
}

const counts = (s: Summary | StraceSummary) =>
  Object.fromEntries(s.syscalls.map((r) => [r.syscall, { calls: r.calls, errors: r.errors }]));

// Every -C fixture: a trace followed by strace's table. c-only.log has no trace to compare. The large ones
// (threads-io: a real threaded trace) are kept gzipped.
const fixtures = readdirSync(DIR).filter((f) => (f.endsWith('.log') || f.endsWith('.log.gz')) && f !== 'c-only.log').sort();
const readFixture = (f: string): string => f.endsWith('.gz') ? gunzipSync(readFileSync(`${DIR}/${f}`)).toString('utf8') : readFileSync(`${DIR}/${f}`, 'utf8');

describe('summarize(parseStrace(trace)) equals strace -C table', () => {
  it.each(fixtures)('%s', async (f) => {
    const { trace, table } = splitStraceSummary(readFixture(f));
    expect(table, 'fixture has a table').not.toBeNull();
    const want = parseStraceSummaryTable(table!, f);
    const { summary, unparsed } = await summaryOf(await parseStraceText(trace, `${DIR}/${f}`));
    expect(counts(summary)).toEqual(counts(want));
    expect(unparsed, 'every trace line understood').toEqual([]);
    expect({ calls: summary.total.calls, errors: summary.total.errors }).toEqual({
      calls: want.total.calls,
      errors: want.total.errors,
    });
    // The CLI's lane: calls counted through a CallSink as the parser completes them, the rest as events.
    const b = new SummaryBuilder();
    const seen = { syscalls: 0, events: 0 };
    async function* gen(): AsyncGenerator<string> { yield trace; }
    for await (const batch of parseStraceBatches(gen(), { file: f, sink: b.sink(seen) })) for (const e of batch) b.add(e);
    expect(b.result()).toEqual(summary);
  });

  it('threads-io.log.gz streamed (chunks end anywhere, mid-pair included) equals its table', async () => {
    const f = 'threads-io.log.gz';
    const want = parseStraceSummaryTable(splitStraceSummary(readFixture(f)).table!, f);
    const stream = createReadStream(`${DIR}/${f}`, { highWaterMark: 4093 }).pipe(createGunzip({ chunkSize: 4099 }));
    const { summary, unparsed } = await summaryOf(parseStrace(stream, { file: f }));
    expect(counts(summary)).toEqual(counts(want));
    expect(summary.syscalls.length).toBe(want.syscalls.length);
    // The table's own lines are strace's messages; nothing else is left unparsed.
    expect(unparsed).toEqual([]);
  });

  it('tt-T-w.log: -T durations add up to the -w seconds (to 1µs a call: -T truncates)', async () => {
    const { trace, table } = splitStraceSummary(readFileSync(`${DIR}/tt-T-w.log`, 'utf8'));
    const want = parseStraceSummaryTable(table!);
    const { summary } = await summaryOf(await parseStraceText(trace, 'tt-T-w.log'));
    for (const r of want.syscalls) {
      const got = summary.syscalls.find((x) => x.syscall === r.syscall)!;
      expect(Math.abs(got.seconds! - r.seconds!), r.syscall).toBeLessThanOrEqual(r.calls * 1e-6 + 1e-6);
    }
    // strace sorts by time; ours from -T is within rounding of it, so the top call is the same.
    expect(summary.syscalls[0]!.syscall).toBe(want.syscalls[0]!.syscall);
  });

  it('ff.PID files together equal the table of a -f -c run of the same command (ff.c.txt)', async () => {
    const files = readdirSync(DIR).filter((f) => /^ff\.\d+$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const { summary, unparsed } = await summaryOf(parseStraceFiles(files.map((f) => `${DIR}/${f}`)));
    expect(unparsed).toEqual([]);
    const want = parseStraceSummaryTable(readFileSync(`${DIR}/ff.c.txt`, 'utf8'));
    expect(counts(summary)).toEqual(counts(want));
  });

  it('the seed trace as pasted: every call but exit_group counts, access fails 3 times', async () => {
    const text = readFileSync(`${DIR}/seed-uname-flattened.txt`, 'utf8');
    const { summary } = await summaryOf(await parseStraceText(text, 'seed'));
    const c = counts(summary);
    expect(c['access']).toEqual({ calls: 3, errors: 3 });
    expect(c['write']).toEqual({ calls: 1, errors: 0 });
    expect(c['exit_group']).toBeUndefined();
    expect(summary.total.calls).toBe(34);
    expect(summary.total.errors).toBe(3);
  });
});
