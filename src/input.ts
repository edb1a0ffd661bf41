// Opens trace inputs (files or stdin), detects their format from content, and picks the parser.

import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TraceEvent } from './events.js';
import { UserError, ExitCode } from './errors.js';
import { parseStrace, parseStraceFiles, isStraceFfSet, findStraceFfFiles } from '../parsers/strace.js';
import { parseRunscLog, parseRunscLogFiles, runscBootLogs } from '../parsers/runsc-log.js';
import { parsePerfTrace } from '../parsers/perf-trace.js';
import { detectFormat } from '../parsers/detect.js';

export type InputFormat = 'strace' | 'runsc' | 'perf';

export interface OpenedInput {
  /** Name used in reports: the path, or `<stdin>`. */
  file: string;
  format: InputFormat;
  events: AsyncIterable<TraceEvent>;
}

const PEEK_BYTES = 64 * 1024;
const PEEK_LINES = 20;

/** Opens one path (`-` is stdin) and detects its format from its first lines. */
export async function openInput(path: string, forced?: InputFormat): Promise<OpenedInput> {
  const file = path === '-' ? '<stdin>' : path;
  // A runsc --debug-log=DIR/ directory: its boot logs hold the Sentry's strace.
  if (path !== '-' && (await stat(path).catch(() => null))?.isDirectory()) {
    return { file, format: 'runsc', events: parseRunscLogFiles(await runscBootLogs(path)) };
  }
  const stream = path === '-' ? process.stdin : await openFile(path);
  const { head, rest } = await peek(stream);
  const text = Buffer.concat(head).toString('utf8');
  const format = forced ?? toInputFormat(detectFormat(text.split('\n').slice(0, PEEK_LINES)));
  const bytes = replay(head, rest);
  return { file, format, events: parserFor(format)(bytes, { file }) };
}

/** Opens several paths; strace `-ff -o prefix` sets (`prefix.1234`, ...) are read together as one trace. */
export async function openInputs(paths: string[], forced?: InputFormat): Promise<OpenedInput[]> {
  if (paths.length === 0) paths = ['-'];
  if (paths.includes('-') && process.stdin.isTTY) {
    throw new UserError('no trace to read: standard input is a terminal', ExitCode.Usage, 'give a file, or pipe a trace in: strace -f CMD 2>&1 | trace-compare summary -');
  }
  // `strace -ff -o prefix` names no file `prefix`: the prefix stands for its `prefix.PID` files.
  if (paths.length === 1 && paths[0] !== '-' && !existsSync(paths[0]!)) {
    const set = await findStraceFfFiles(paths[0]!).catch(() => []);
    if (set.length > 0) paths = set;
  }
  if (paths.length > 1 && !paths.includes('-') && isStraceFfSet(paths)) {
    for (const p of paths) await openFile(p).then((s) => s.destroy());
    return [{ file: commonPrefix(paths), format: 'strace', events: parseStraceFiles(paths) }];
  }
  const out: OpenedInput[] = [];
  for (const p of paths) out.push(await openInput(p, forced));
  return out;
}

type Parser = (input: AsyncIterable<Buffer>, opts: { file: string }) => AsyncIterable<TraceEvent>;

function parserFor(format: InputFormat): Parser {
  switch (format) {
    case 'strace':
      return (input, opts) => parseStrace(input, opts);
    case 'runsc':
      return (input, opts) => parseRunscLog(input, opts);
    case 'perf':
      return (input, opts) => parsePerfTrace(input, opts);
  }
}

function toInputFormat(detected: ReturnType<typeof detectFormat>): InputFormat {
  // Unknown content is read as strace text: its parser reports every line it cannot understand.
  return detected === 'runsc' || detected === 'perf' ? detected : 'strace';
}

async function openFile(path: string) {
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new UserError(`${path}: is a directory, expected a trace file`, ExitCode.Usage);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? String(err)})`,
      ExitCode.Usage,
    );
  }
  return createReadStream(path, { highWaterMark: 256 * 1024 });
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

function commonPrefix(paths: string[]): string {
  let p = paths[0] ?? '';
  for (const q of paths) while (!q.startsWith(p)) p = p.slice(0, -1);
  return p.replace(/\.$/, '') || paths.join(',');
}
