import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { SyscallResult, TraceEvent } from '../../parsers/events.js';
import { parseStrace, parseStraceBatches, parseStraceText } from '../../parsers/strace.js';
import { collect } from '../helpers/collect.js';
import { renderStraceEvent } from '../../parsers/strace-render.js';

const DIR = 'fixtures/strace-unit';
const TRACES = readdirSync(DIR).filter((n) => n.endsWith('.trace'));
const bytes = (name: string): Buffer => readFileSync(join(DIR, name));

/** The events of a trace fed in the given chunks. */
function parseChunks(chunks: Iterable<Buffer | string>, file: string): Promise<TraceEvent[]> {
  async function* gen(): AsyncGenerator<Buffer | string> { yield* chunks; }
  return collect(parseStrace(gen(), { file }));
}

function stripLines(e: TraceEvent): unknown {
  const { line: _l, ...rest } = e as TraceEvent & { endLine?: number };
  delete (rest as { endLine?: number }).endLine;
  return JSON.parse(JSON.stringify(rest));
}

describe('chunking', () => {
  // The fixtures whose calls span lines (output, messages, stacks, pairs) are the interesting ones.
  for (const name of ['sh-child-stderr.trace', 'uname-interleaved.trace', 'stopped.trace', 'cat-stack.trace', 'attach.trace']) {
    it(`any chunking of ${name}'s bytes gives the same events`, async () => {
      const data = bytes(name);
      const whole = await parseChunks([data], name);
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 40 }), async (cuts) => {
          const sorted = [...cuts].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const c of sorted) { chunks.push(data.subarray(prev, c)); prev = c; }
          chunks.push(data.subarray(prev));
          expect(await parseChunks(chunks, name)).toEqual(whole);
        }),
        { numRuns: 40 },
      );
    });
  }
});

describe('render', () => {
  it.each(TRACES)('render then re-parse gives the same events: %s', async (name) => {
    const evs = await parseStraceText(bytes(name).toString('utf8'), name);
    for (const e of evs) {
      // A program's output only exists glued into its write; it cannot stand alone.
      if (e.kind === 'output' || e.kind === 'unparsed') continue;
      const text = renderStraceEvent(e);
      const again = await parseStraceText(text + '\n', name);
      expect(again.map(stripLines), text).toEqual([stripLines(e)]);
    }
  });

  it('render then re-parse is stable for sampled events (fast-check)', async () => {
    const all: TraceEvent[] = [];
    for (const n of TRACES) all.push(...(await parseStraceText(bytes(n).toString('utf8'), n)).filter((e) => e.kind !== 'output'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), async (e) => {
        const once = renderStraceEvent(e);
        const reparsed = await parseStraceText(once + '\n', e.file);
        expect(reparsed.map(renderStraceEvent).join('\n')).toBe(once);
      }),
      { numRuns: 200 },
    );
  });
});

describe('garbage never throws', () => {
  const strace = fc.constantFrom(
    'write(1, "', '"', '\\', '(', ')', '{', '}', '[', ']', '<', '>', ' <unfinished ...>', '<... read resumed>',
    ' = ', '-1 ENOENT (x)', '--- ', ' ---', '+++ ', ' +++', 'strace: Process 1 attached', '\n', ' ', '/*', '*/',
    '[pid  12] ', '12  ', '14:00:00.000001 ', ' > ', '[0x1]', '3</a>', ', ', '1', '2', 'x', 'é', '\r\n', '...',
  );
  it('random token soup', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(strace, { maxLength: 80 }), async (parts) => {
        const evs = await parseStraceText(parts.join(''));
        for (const e of evs) expect(typeof e.kind).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
  it('random strings', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 400 }), async (s) => { await parseStraceText(s); }), { numRuns: 300 });
  });
  it('random bytes, including maxLine overflow', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 300 }), async (b, maxLine) => {
        async function* gen(): AsyncGenerator<Buffer> { yield Buffer.from(b); }
        for await (const e of parseStrace(gen(), { file: 'x', maxLine })) expect(e.file).toBe('x');
      }),
      { numRuns: 300 },
    );
  });
  it('real fixture lines with random bytes spliced in', async () => {
    const lines = TRACES.flatMap((n) => bytes(n).toString('utf8').split('\n')).filter((l) => l.length > 0 && l.length < 2000);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lines), fc.nat(), fc.string({ maxLength: 8 }), async (line, at, junk) => {
        const k = at % (line.length + 1);
        await parseStraceText(line.slice(0, k) + junk + line.slice(k) + '\n' + line);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a CallSink gets every syscall event, the other events are the same (what summary reads)', () => {
  type Call = [string, SyscallResult | null, number | undefined];
  async function both(text: string, file = 'x'): Promise<{ sink: { calls: Call[]; rest: TraceEvent[] }; events: { calls: Call[]; rest: TraceEvent[] } }> {
    async function* gen(): AsyncGenerator<string> { yield text; }
    const calls: Call[] = [];
    const rest: TraceEvent[] = [];
    const sink = { call: (name: string, result: SyscallResult | null, duration: number | undefined): void => { calls.push([name, result, duration]); } };
    for await (const batch of parseStraceBatches(gen(), { file, sink })) rest.push(...batch);
    const all = await parseStraceText(text, file);
    return {
      sink: { calls, rest },
      events: {
        calls: all.flatMap((e): Call[] => (e.kind === 'syscall' ? [[e.name, e.result, e.duration]] : [])),
        rest: all.filter((e) => e.kind !== 'syscall'),
      },
    };
  }
  const real = [
    ...TRACES.map((n) => [n, bytes(n).toString('utf8')] as const),
    ...readdirSync('fixtures/strace').filter((n) => n.endsWith('.log') || n.endsWith('.log.gz')).map((n) => {
      const b = readFileSync(join('fixtures/strace', n));
      return [n, (n.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8')] as const;
    }),
  ];
  it.each(real)('%s', async (name, text) => {
    const { sink, events } = await both(text, name);
    if (name !== 'c-only.log') expect(sink.calls.length).toBeGreaterThan(0);
    expect(sink.calls).toEqual(events.calls);
    expect(sink.rest).toEqual(events.rest);
  });
  it('random token soup and spliced fixture lines (fast-check)', async () => {
    const tokens = fc.constantFrom(
      'write(1, "', '"', '(', ')', '{', '}', '<', '>', ' <unfinished ...>', '<... read resumed>', '<... write resumed>',
      ' = ', '0', '-1 ENOENT (x)', ' = ? ', '+++ exited with 0 +++', '--- SIGCHLD {si_signo=SIGCHLD} ---', 'strace: Process 1 attached',
      '\n', ' ', '[pid  12] ', '12  ', '14:00:00.000001 ', ' > /lib/x.so(f+0x1) [0x1]', '3</a>', ', ', 'hi\n', 'read(3, ',
      'write(1, "hi\\n", 3', ') = 3', ' <0.000010>',
    );
    const lines = real.flatMap(([, t]) => t.split('\n').slice(0, 400));
    await fc.assert(
      fc.asyncProperty(fc.array(tokens, { maxLength: 60 }), fc.array(fc.nat(lines.length - 1), { maxLength: 30 }), async (parts, picks) => {
        const text = parts.join('') + '\n' + picks.map((k) => lines[k]!).join('\n');
        const { sink, events } = await both(text);
        expect(sink.calls).toEqual(events.calls);
        expect(sink.rest).toEqual(events.rest);
      }),
      { numRuns: 300 },
    );
  });
});
