// Opens trace inputs (files or stdin), detects their format from content, and picks the parser.

import { createReadStream, existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { TraceEvent, TraceSource } from '../parsers/events.js';
import { UserError, ExitCode } from './errors.js';
import { userErrorOf } from './user-errors.js';
import { escapeControls } from './report/escape.js';
import { parseStraceBatches, type CallSink } from '../parsers/strace.js';
import { Unbatch } from '../parsers/unbatch.js';
import { parseStraceFiles, isStraceFfSet, findStraceFfFiles } from '../parsers/strace-ff.js';
import { parseRunscLog, parseRunscLogFiles, runscBootLogs } from '../parsers/runsc-log.js';
import { parsePerfTrace } from '../parsers/perf-trace.js';
import { detectFormat } from '../parsers/detect.js';

export interface OpenedInput {
  /** Name used in reports: the path, or `<stdin>`. */
  file: string;
  format: TraceSource;
  events: AsyncIterable<TraceEvent>;
  /**
   * For one strace file or stream: the same input read with its syscalls given to `sink` instead of being
   * emitted (parsers/strace.ts CallSink), the other events in batches: what `summary` reads. Read either this
   * or `events`, once.
   */
  countCalls?: (sink: CallSink) => AsyncIterable<TraceEvent[]>;
}

const PEEK_BYTES = 64 * 1024;
const PEEK_LINES = 20;
/** What a regular file's first read gives (createReadStream's chunk): the text its format is detected from. */
const HEAD_BYTES = 256 * 1024;

/** Paths that read standard input: it can be read once only. */
const STDIN_PATHS = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Refuses standard input named more than once: the second reader would silently get nothing. */
export function checkStdinOnce(paths: string[]): void {
  const named = paths.filter((p) => STDIN_PATHS.has(p));
  if (named.length > 1) {
    throw new UserError(`standard input is given ${named.length} times (${named.join(', ')}): it can be read only once; save the trace to a file`, ExitCode.Usage);
  }
}

/**
 * Opens one path (`-` is stdin) and detects its format from its first lines. A regular file is peeked at
 * and closed again: its events reopen it when they are read, so thousands of inputs never hold thousands of
 * descriptors at once. Errors reading it later are user errors too (EACCES, EIO), never a stack trace.
 */
export async function openInput(path: string, forced?: TraceSource): Promise<OpenedInput> {
  // Read through process.stdin: opening /dev/stdin fails when stdin is a socket (ENXIO).
  if (STDIN_PATHS.has(path)) return openStream(path === '-' || path === '/dev/stdin' ? '<stdin>' : path, process.stdin, forced);
  const st = await stat(path).catch(refused);
  // A runsc --debug-log=DIR/ directory: its boot logs hold the Sentry's strace.
  if (st.isDirectory()) return { file: path, format: 'runsc', events: guarded(parseRunscLogFiles(await runscBootLogs(path))) };
  // A FIFO or a device (`<(strace ...)` is /dev/fd/63) cannot be read twice: keep the stream open from the peek on.
  if (!st.isFile()) return openStream(path, createReadStream(path, { highWaterMark: HEAD_BYTES }), forced);
  const format = forced ?? detect(await readHead(path, Math.min(st.size, HEAD_BYTES)));
  const opened: OpenedInput = { file: path, format, events: parserFor(format)(fileBytes(path), { file: path }) };
  if (format === 'strace') opened.countCalls = (sink) => guarded(parseStraceBatches(fileBytes(path), { file: path, sink }));
  return opened;
}

async function openStream(file: string, stream: NodeJS.ReadableStream, forced?: TraceSource): Promise<OpenedInput> {
  const { head, rest } = await peek(stream).catch(refused);
  const format = forced ?? detect(Buffer.concat(head));
  const opened: OpenedInput = { file, format, events: parserFor(format)(replay(head, rest), { file }) };
  if (format === 'strace') opened.countCalls = (sink) => guarded(parseStraceBatches(replay(head, rest), { file, sink }));
  return opened;
}

function detect(head: Buffer): TraceSource {
  return toTraceSource(detectFormat(head.toString('utf8').split('\n').slice(0, PEEK_LINES)));
}

/**
 * Opens several paths; strace `-ff -o prefix` sets are read together as one trace: the member files given
 * together (`prefix.1234 prefix.1240`), or the prefix alone (`prefix`, which names no file), anywhere in
 * the list. `diff` opens each label's paths with this, so `diff a=PREFIX` reads the set as `summary PREFIX` does.
 */
export async function openInputs(paths: string[], forced?: TraceSource): Promise<OpenedInput[]> {
  if (paths.length === 0) paths = ['-'];
  checkStdinOnce(paths);
  if (paths.some((p) => STDIN_PATHS.has(p)) && process.stdin.isTTY) {
    throw new UserError('no trace to read: standard input is a terminal', ExitCode.Usage, 'give a file, or pipe a trace in: strace -f CMD 2>&1 | trace-compare summary -');
  }
  if (paths.length > 1 && !paths.some((p) => STDIN_PATHS.has(p)) && isStraceFfSet(paths)) return [await openFfSet(paths)];
  const out: OpenedInput[] = [];
  for (const p of paths) {
    // `strace -ff -o prefix` names no file `prefix`: the prefix stands for its `prefix.PID` files.
    const set = STDIN_PATHS.has(p) || existsSync(p) ? [] : await findStraceFfFiles(p).catch(() => []);
    out.push(set.length > 0 ? await openFfSet(set, p) : await openInput(p, forced));
  }
  return out;
}

/** One `-ff` set as one strace input, each file's pid from its suffix; named by its prefix. */
async function openFfSet(paths: string[], prefix?: string): Promise<OpenedInput> {
  // Checked one at a time up front, so an unreadable member is reported before any output.
  for (const p of paths) await checkReadable(p);
  return { file: prefix ?? commonPrefix(paths), format: 'strace', events: guarded(parseStraceFiles(paths)) };
}

type Parser = (input: AsyncIterable<Buffer>, opts: { file: string }) => AsyncIterable<TraceEvent>;

function parserFor(format: TraceSource): Parser {
  switch (format) {
    // strace: guarded per batch, not per event (an async step per event cost the summary a fifth of its speed).
    case 'strace':
      return (input, opts) => new Unbatch(guarded(parseStraceBatches(input, opts)));
    case 'runsc':
      return (input, opts) => guarded(parseRunscLog(input, opts));
    case 'perf':
      return (input, opts) => guarded(parsePerfTrace(input, opts));
  }
}

function toTraceSource(detected: ReturnType<typeof detectFormat>): TraceSource {
  // Unknown content is read as strace text: its parser reports every line it cannot understand.
  return detected === 'runsc' || detected === 'perf' ? detected : 'strace';
}

/** A system error about one input, as the one-line user error it is (exit 2 for EACCES, ENOENT...). */
function refused(err: unknown): never {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT' && e.path) throw new UserError(`${escapeControls(e.path)}: no such file`, ExitCode.Usage);
  throw userErrorOf(err) ?? err;
}

/** The events, with a read error met along the way (EACCES on reopening, EIO) turned into a user error. */
async function* guarded<T>(events: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (err) {
    refused(err);
  }
}

async function checkReadable(path: string): Promise<void> {
  const st = await stat(path).catch(refused);
  if (st.isDirectory()) throw new UserError(`${escapeControls(path)}: is a directory, expected a trace file`, ExitCode.Usage);
  await (await open(path, 'r').catch(refused)).close();
}

/** The first `bytes` of a file, read with one descriptor that is closed again at once. */
async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(refused);
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0).catch(refused);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A file's bytes, opened only when the first chunk is asked for (an async generator body starts lazily). */
async function* fileBytes(path: string): AsyncGenerator<Buffer> {
  yield* createReadStream(path, { highWaterMark: HEAD_BYTES });
}

async function peek(stream: NodeJS.ReadableStream): Promise<{ head: Buffer[]; rest: AsyncIterator<Buffer | string> }> {
  const rest = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let bytes = 0;
  let lines = 0;
  while (bytes < PEEK_BYTES && lines < PEEK_LINES) {
    const r = await rest.next();
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(b);
    bytes += b.length;
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
  }
  return { head, rest };
}

async function* replay(head: Buffer[], rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  yield* head;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }
}

/** The `-o` prefix of an `-ff` set: every member is `prefix.PID`. */
function commonPrefix(paths: string[]): string {
  return (paths[0] ?? '').replace(/\.\d+$/, '') || paths.join(',');
}
