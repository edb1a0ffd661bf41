// Bounded streaming line splitter shared by every parser: memory stays flat whatever the input size,
// and a line longer than the bound is reported (with its length) instead of being held in memory.
//
// Speed: one async step per input chunk, not per line (`readLineBatches` yields each chunk's lines as an
// array; an async generator step per line cost more than the splitting). A line inside one chunk is decoded
// straight from the chunk's bytes: a fresh string, so an event keeping a piece of a line never keeps a
// whole chunk alive (a per-chunk decode sliced into lines would, and measured no faster). A parser that
// takes each line at once reads them from a LineSplitter: one reused record, not an object and an array
// slot a line that the young-generation GC must copy while the chunk's batch is being parsed.

import { isAscii } from 'node:buffer';
import type { Readable } from 'node:stream';

export const DEFAULT_MAX_LINE = 1 << 20; // 1 MiB: strace's longest realistic lines (-s 65535 -xx) fit.

export type Line =
  /**
   * `bytes` is set when the line is ASCII (a line of an all-ASCII chunk): `bytes[start, end)` are its bytes,
   * one a character (the strace fast path scans them, and reads its fields from them without the line's
   * text). Never written to; kept only as long as the line.
   */
  | { lineNo: number; text: string; tooLong?: undefined; bytes?: Buffer; start?: number; end?: number }
  /** The line exceeded the bound: only its first bytes are kept, as a sample for the report. */
  | { lineNo: number; text: string; tooLong: true; length: number }
  ;

/**
 * The record LineSplitter hands out, reused line after line. An ASCII line's text is made only when read:
 * the strace fast path reads most lines from their bytes alone (a string a line was a tenth of the parse).
 */
class LineRecord {
  lineNo = 0;
  readonly tooLong: undefined = undefined;
  bytes: Buffer | undefined = undefined;
  start = 0;
  end = 0;
  private decoded: string | null = null;

  get text(): string {
    // ASCII: latin1 makes the same string as UTF-8, without UTF-8 decoding (38 against 56 ms over 40 MB of lines).
    return (this.decoded ??= this.bytes!.toString('latin1', this.start, this.end));
  }

  ascii(lineNo: number, bytes: Buffer, start: number, end: number): this {
    this.lineNo = lineNo;
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    this.decoded = null;
    return this;
  }

  decodedText(lineNo: number, text: string): this {
    this.lineNo = lineNo;
    this.bytes = undefined;
    this.start = 0;
    this.end = 0;
    this.decoded = text;
    return this;
  }
}

const NL = 0x0a;
const CR = 0x0d;
const SAMPLE = 120;
const NO_BYTES = Buffer.alloc(0);

/**
 * Splits a byte stream into lines, 1-based `lineNo`: `push` each chunk, then take its lines with `next`
 * until it returns null; after the last chunk, `end` gives a last line without `\n`. `\r\n` is accepted. A
 * line longer than `maxLine` bytes (counting a `\r` before its `\n`) becomes `{tooLong: true, length, text:
 * sample}` and is skipped, never held whole. A line `next` returns is valid until its next call (the
 * record is reused): copy what you keep.
 */
export class LineSplitter {
  // The unfinished line carried over from earlier chunks, as bytes (it may end inside a UTF-8 sequence).
  private pending: Buffer[] = [];
  private pendingLen = 0;
  // While skipping an overlong line: its first bytes (the sample, at most SAMPLE) and running length.
  private skipping: { head: Buffer; length: number } | null = null;
  private lineNo = 0;
  private chunk: Buffer = NO_BYTES;
  private pos = 0;
  private ascii = true;
  /** The chunk starts by finishing a line begun in earlier ones. */
  private carried = false;
  private readonly scratch = new LineRecord();

  constructor(private readonly maxLine: number = DEFAULT_MAX_LINE) {}

  /** The next chunk; take all of the previous one's lines first. */
  push(raw: Buffer | string): void {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    this.chunk = chunk;
    this.pos = 0;
    // One native check a chunk (strace escapes non-ASCII bytes: nearly every chunk is ASCII).
    this.ascii = isAscii(chunk);
    this.carried = this.pendingLen > 0 || this.skipping !== null;
  }

  /** The next line the chunks pushed so far complete, or null. */
  next(): Line | null {
    const chunk = this.chunk;
    const n = chunk.length;
    if (this.carried) {
      this.carried = false;
      const nl = chunk.indexOf(NL);
      const end = nl === -1 ? n : nl;
      this.pos = nl === -1 ? n : nl + 1;
      const skipping = this.skipping;
      if (skipping !== null) {
        skipping.length += end;
        const want = SAMPLE - skipping.head.length;
        if (want > 0 && end > 0) skipping.head = Buffer.concat([skipping.head, chunk.subarray(0, Math.min(want, end))]);
      } else if (this.pendingLen + end > this.maxLine) {
        const length = this.pendingLen + end;
        this.skipping = { head: Buffer.concat([...this.pending, chunk.subarray(0, end)], Math.min(SAMPLE, length)), length };
        this.pending = [];
        this.pendingLen = 0;
      } else if (end > 0) {
        this.pending.push(chunk.subarray(0, end));
        this.pendingLen += end;
      }
      if (nl === -1) return null;
      return this.skipping !== null ? this.takeSkipped(this.skipping) : this.takePending();
    }
    const start = this.pos;
    const nl = start < n ? chunk.indexOf(NL, start) : -1;
    if (nl === -1) {
      // The start of a line the next chunk finishes.
      if (start < n) {
        const rest = n - start;
        // A copy of an overlong start: the sample must not keep the chunk alive.
        if (rest > this.maxLine) this.skipping = { head: Buffer.from(chunk.subarray(start, Math.min(start + SAMPLE, n))), length: rest };
        else {
          this.pending.push(chunk.subarray(start));
          this.pendingLen = rest;
        }
        this.pos = n;
      }
      return null;
    }
    this.pos = nl + 1;
    if (nl - start > this.maxLine) {
      return { lineNo: ++this.lineNo, text: chunk.toString('utf8', start, Math.min(start + SAMPLE, nl)), tooLong: true, length: nl - start };
    }
    return this.ascii ? this.asciiLine(chunk, start, nl) : this.line(chunk, start, nl);
  }

  /** After the last chunk: its last line when it has no `\n` (the end of input ends it), or null. */
  end(): Line | null {
    if (this.skipping !== null) return this.takeSkipped(this.skipping);
    return this.pendingLen > 0 ? this.takePending() : null;
  }

  /** The overlong line being skipped, ended: its sample and length. */
  private takeSkipped(skipping: { head: Buffer; length: number }): Line {
    this.skipping = null;
    return { lineNo: ++this.lineNo, text: skipping.head.toString('utf8'), tooLong: true, length: skipping.length };
  }

  private takePending(): Line {
    const whole = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    return this.line(whole, 0, whole.length);
  }

  /** A line decoded as UTF-8 (its chunk is not all ASCII, or it spans chunks): its bytes are not given. */
  private line(buf: Buffer, start: number, end: number): Line {
    if (end > start && buf[end - 1] === CR) end--;
    return this.scratch.decodedText(++this.lineNo, buf.toString('utf8', start, end));
  }

  /** A line of an all-ASCII chunk. */
  private asciiLine(buf: Buffer, start: number, end: number): Line {
    if (end > start && buf[end - 1] === CR) end--;
    return this.scratch.ascii(++this.lineNo, buf, start, end);
  }
}

/** A line to keep: the splitter's reused record copied (an overlong line's is its own). */
export function keepLine(l: Line): Line {
  return l.tooLong ? l : l.bytes === undefined ? { lineNo: l.lineNo, text: l.text } : { lineNo: l.lineNo, text: l.text, bytes: l.bytes, start: l.start, end: l.end };
}

/**
 * Splits a byte stream into lines (LineSplitter), yielded in batches: the lines each input chunk completes
 * (never an empty batch). Each batch is a new array of lines the caller may keep.
 */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string> | Readable,
  maxLine: number = DEFAULT_MAX_LINE,
): AsyncGenerator<Line[]> {
  const lines = new LineSplitter(maxLine);
  for await (const raw of input as AsyncIterable<Buffer | string>) {
    lines.push(raw);
    const batch: Line[] = [];
    for (let l = lines.next(); l !== null; l = lines.next()) batch.push(keepLine(l));
    if (batch.length > 0) yield batch;
  }
  const last = lines.end();
  if (last !== null) yield [keepLine(last)];
}

/** One line at a time, for parsers whose per-line work dwarfs the async step. */
export async function* readLines(
  input: AsyncIterable<Buffer | string> | Readable,
  maxLine: number = DEFAULT_MAX_LINE,
): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(input, maxLine)) yield* batch;
}
