// Bounded streaming line splitter shared by every parser: memory stays flat whatever the input size,
// and a line longer than the bound is reported (with its length) instead of being held in memory.

import type { Readable } from 'node:stream';

export const DEFAULT_MAX_LINE = 1 << 20; // 1 MiB: strace's longest realistic lines (-s 65535 -xx) fit.

export type Line =
  | { lineNo: number; text: string; tooLong?: undefined }
  /** The line exceeded the bound: only its first bytes are kept, as a sample for the report. */
  | { lineNo: number; text: string; tooLong: true; length: number }
  ;

const NL = 0x0a;
const SAMPLE = 120;

/**
 * Splits a byte stream into lines. `\r\n` is accepted. A last line without `\n` is still yielded
 * (the caller can tell from `endsWithNewline` on the iterator's return? no: it is simply the last line).
 */
export async function* readLines(
  input: AsyncIterable<Buffer | string> | Readable,
  maxLine: number = DEFAULT_MAX_LINE,
): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  // While skipping an overlong line: its sample and running length.
  let skipping: { sample: string; length: number } | null = null;
  let lineNo = 0;

  const finish = (buf: Buffer): Line => {
    lineNo++;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--;
    return { lineNo, text: buf.toString('utf8', 0, end) };
  };

  for await (const raw of input as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      if (skipping) {
        skipping.length += end - start;
      } else if (pendingLen + (end - start) > maxLine) {
        const head = pendingLen > 0 ? Buffer.concat([...pending, chunk.subarray(start, end)]) : chunk.subarray(start, end);
        skipping = { sample: head.toString('utf8', 0, Math.min(SAMPLE, head.length)), length: head.length };
        pending = [];
        pendingLen = 0;
      } else if (nl !== -1 && pendingLen === 0) {
        // Fast path: the whole line is inside this chunk.
        yield finish(chunk.subarray(start, end));
        start = nl + 1;
        continue;
      } else {
        pending.push(chunk.subarray(start, end));
        pendingLen += end - start;
      }
      if (nl === -1) break;
      if (skipping) {
        lineNo++;
        yield { lineNo, text: skipping.sample, tooLong: true, length: skipping.length };
        skipping = null;
      } else {
        const whole = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
        pending = [];
        pendingLen = 0;
        yield finish(whole);
      }
      start = nl + 1;
    }
  }
  if (skipping) {
    lineNo++;
    yield { lineNo, text: skipping.sample, tooLong: true, length: skipping.length };
  } else if (pendingLen > 0) {
    yield finish(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen));
  }
}
