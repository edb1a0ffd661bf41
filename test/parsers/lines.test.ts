import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readLineBatches, readLines, type Line } from '../../parsers/lines.js';

async function* chunksOf(parts: Array<Buffer | string>): AsyncGenerator<Buffer | string> {
  yield* parts;
}

/**
 * A line as the tests compare it, without the bytes it came from; those, when given, must be the text's own,
 * one byte a character (ASCII, or a byte UTF-8 could not decode, now U+FFFD).
 */
function plain(l: Line): Line {
  if (l.tooLong) return l;
  if (l.bytes !== undefined) {
    for (let k = 0; k < l.text.length; k++) {
      const c = l.text.charCodeAt(k);
      const b = l.bytes[l.start! + k]!;
      expect(c === b || (c === 0xfffd && b >= 0x80), `${JSON.stringify(l.text)} at ${k}`).toBe(true);
    }
  }
  return { lineNo: l.lineNo, text: l.text };
}

async function batches(parts: Array<Buffer | string>, maxLine?: number): Promise<Line[][]> {
  const out: Line[][] = [];
  for await (const b of readLineBatches(chunksOf(parts), maxLine)) out.push(b.map(plain));
  return out;
}

async function lines(parts: Array<Buffer | string>, maxLine?: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of readLines(chunksOf(parts), maxLine)) out.push(plain(l));
  return out;
}

/** The bytes cut at the given offsets. */
function cut(data: Buffer, at: number[]): Buffer[] {
  const bounds = [0, ...[...new Set(at)].filter((k) => k > 0 && k < data.length).sort((a, b) => a - b), data.length];
  return bounds.slice(1).map((e, i) => data.subarray(bounds[i], e));
}

/** What readLines must give, computed on the whole input at once. */
function reference(data: Buffer, maxLine: number): Line[] {
  const out: Line[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    const last = nl === -1;
    if (last) nl = data.length;
    const bytes = data.subarray(start, nl);
    lineNo++;
    if (bytes.length > maxLine) {
      out.push({ lineNo, text: bytes.subarray(0, 120).toString('utf8'), tooLong: true, length: bytes.length });
    } else {
      const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
      out.push({ lineNo, text: bytes.subarray(0, end).toString('utf8') });
    }
    start = nl + 1;
  }
  return out;
}

describe('readLineBatches / readLines', () => {
  it('empty input: no lines, no batches', async () => {
    expect(await batches([])).toEqual([]);
    expect(await batches([Buffer.alloc(0), ''])).toEqual([]);
    expect(await lines([])).toEqual([]);
  });

  it('only newlines: one empty line each, numbered from 1', async () => {
    expect(await lines(['\n\n\n'])).toEqual([
      { lineNo: 1, text: '' }, { lineNo: 2, text: '' }, { lineNo: 3, text: '' },
    ]);
    expect(await lines(['\n', '\n', '\r\n'])).toEqual([
      { lineNo: 1, text: '' }, { lineNo: 2, text: '' }, { lineNo: 3, text: '' },
    ]);
  });

  it('a last line without a newline is still yielded; a final newline adds no empty line', async () => {
    expect(await lines(['a\nb'])).toEqual([{ lineNo: 1, text: 'a' }, { lineNo: 2, text: 'b' }]);
    expect(await lines(['a\nb\n'])).toEqual([{ lineNo: 1, text: 'a' }, { lineNo: 2, text: 'b' }]);
    expect(await lines(['a', 'b'])).toEqual([{ lineNo: 1, text: 'ab' }]);
  });

  it('\\r\\n is accepted, also when a chunk ends between \\r and \\n; a lone \\r inside a line is kept', async () => {
    expect(await lines(['a\r\nb\r\n'])).toEqual([{ lineNo: 1, text: 'a' }, { lineNo: 2, text: 'b' }]);
    expect(await lines(['a\r', '\nb\r', '\n'])).toEqual([{ lineNo: 1, text: 'a' }, { lineNo: 2, text: 'b' }]);
    expect(await lines(['a\r', '\n'])).toEqual([{ lineNo: 1, text: 'a' }]);
    expect(await lines(['a\rb\n'])).toEqual([{ lineNo: 1, text: 'a\rb' }]);
    // A last line that is only `\r`.
    expect(await lines(['a\n\r'])).toEqual([{ lineNo: 1, text: 'a' }, { lineNo: 2, text: '' }]);
  });

  it('a multi-byte UTF-8 character cut by a chunk boundary at every byte', async () => {
    const text = 'é – 😀 ü\nß😀\n';
    const data = Buffer.from(text, 'utf8');
    for (let k = 1; k < data.length; k++) {
      expect(await lines(cut(data, [k])), `cut at ${k}`).toEqual([{ lineNo: 1, text: 'é – 😀 ü' }, { lineNo: 2, text: 'ß😀' }]);
    }
    // Byte at a time.
    expect(await lines(cut(data, [...data.keys()]))).toEqual([{ lineNo: 1, text: 'é – 😀 ü' }, { lineNo: 2, text: 'ß😀' }]);
  });

  it('string chunks are read as UTF-8', async () => {
    expect(await lines(['é\n', 'x'])).toEqual([{ lineNo: 1, text: 'é' }, { lineNo: 2, text: 'x' }]);
  });

  it('overlong lines at the start, in the middle and at the end: sample, byte length, numbering goes on', async () => {
    const long = (c: string, n: number): string => c.repeat(n);
    const text = `${long('a', 500)}\nok\n${long('b', 300)}\r\nfine\n${long('c', 250)}`;
    const want: Line[] = [
      { lineNo: 1, text: long('a', 120), tooLong: true, length: 500 },
      { lineNo: 2, text: 'ok' },
      // The `\r` counts towards the length: it is part of the line's bytes.
      { lineNo: 3, text: long('b', 120), tooLong: true, length: 301 },
      { lineNo: 4, text: 'fine' },
      { lineNo: 5, text: long('c', 120), tooLong: true, length: 250 },
    ];
    expect(await lines([text], 200)).toEqual(want);
    const data = Buffer.from(text);
    // Chunks of 1, 7, 64 and 199 bytes: a line overflows across chunks, and inside one.
    for (const size of [1, 7, 64, 199]) {
      const at: number[] = [];
      for (let k = size; k < data.length; k += size) at.push(k);
      expect(await lines(cut(data, at), 200), `chunks of ${size}`).toEqual(want);
    }
  });

  it('an overlong line is not held: a 20 MB line in 64 KiB chunks gives its length and a 120-byte sample', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    async function* big(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 320; i++) yield chunk;
      yield Buffer.from('\nafter\n');
    }
    const out: Line[] = [];
    for await (const l of readLines(big(), 1 << 20)) out.push(plain(l));
    expect(out).toEqual([
      { lineNo: 1, text: 'x'.repeat(120), tooLong: true, length: 320 * 64 * 1024 },
      { lineNo: 2, text: 'after' },
    ]);
  });

  it('an overlong line exactly at the bound is kept; one byte more is not', async () => {
    expect(await lines(['abcd\n'], 4)).toEqual([{ lineNo: 1, text: 'abcd' }]);
    expect(await lines(['abcde\n'], 4)).toEqual([{ lineNo: 1, text: 'abcde', tooLong: true, length: 5 }]);
    expect(await lines(['ab', 'cde'], 4)).toEqual([{ lineNo: 1, text: 'abcde', tooLong: true, length: 5 }]);
  });

  it('batches are never empty, hold consecutive line numbers, and flatten to readLines', async () => {
    const parts = ['a\nb', 'c', '\n', 'd\ne\n', '', 'f'];
    const bs = await batches(parts);
    expect(bs.every((b) => b.length > 0)).toBe(true);
    expect(bs.flat().map((l) => l.lineNo)).toEqual([1, 2, 3, 4, 5]);
    expect(bs.flat()).toEqual(await lines(parts));
  });

  it('any chunking of any bytes gives the reference split (fast-check)', async () => {
    const alphabet = fc.constantFrom(
      ...['a', 'b', ' ', '\n', '\r', '\r\n', 'é', '😀', '\u2013'].map((s) => Buffer.from(s, 'utf8')),
      Buffer.from([0xc3]), Buffer.from([0xff]), Buffer.from('x'.repeat(40)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(alphabet, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 1, max: 200 }),
        async (pieces, cuts, maxLine) => {
          const data = Buffer.concat(pieces);
          const want = reference(data, maxLine);
          expect(await lines(cut(data, cuts.map((c) => c % (data.length + 1))), maxLine)).toEqual(want);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
