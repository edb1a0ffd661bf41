// Reports lines no parser understood: on stderr, as FILE:LINE and what was expected, with a count at the end.
// Also says when an input held no syscall at all, and why that may be (a trace sent elsewhere, a -c table).
// Everything printed comes from the input (file names, line text): its control characters are escaped, so a
// name or a line cannot drive the terminal.

import type { TraceEvent, UnparsedEvent } from '../parsers/events.js';
import { escapeControls, terminalSafeJson } from './report/escape.js';

const SAMPLE = 80;

/** What an input held, for the note printed when it held no syscall. */
export interface InputTally {
  /** Lines (or events) seen at all. */
  events: number;
  syscalls: number;
  unparsed: number;
  /** Program output recovered from the trace. */
  output: number;
  /** strace's own messages (`strace: ...`), the first one kept to quote. */
  messages: number;
  firstMessage?: string;
}

export function newTally(): InputTally {
  return { events: 0, syscalls: 0, unparsed: 0, output: 0, messages: 0 };
}

/** Counts one event into a tally (cheap: one switch per event). */
export function tally(t: InputTally, e: TraceEvent): void {
  t.events++;
  switch (e.kind) {
    case 'syscall': t.syscalls++; return;
    case 'unparsed': t.unparsed++; return;
    case 'output': t.output++; return;
    case 'message':
      t.messages++;
      if (t.firstMessage === undefined) t.firstMessage = e.text;
      return;
    default:
  }
}

export class Diagnostics {
  private count = 0;
  private readonly perFile = new Map<string, number>();
  private empty = 0;

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n')) {}

  /** Passes events through, reporting each unparsed one as it streams by. */
  async *watch(events: AsyncIterable<TraceEvent>): AsyncGenerator<TraceEvent> {
    for await (const e of events) {
      if (e.kind === 'unparsed') this.report(e);
      yield e;
    }
  }

  report(e: UnparsedEvent): void {
    this.count++;
    this.perFile.set(e.file, (this.perFile.get(e.file) ?? 0) + 1);
    const what = e.truncated
      ? `line of ${e.length ?? '?'} bytes is longer than the limit; skipped`
      : e.reason;
    this.write(`${escapeControls(e.file)}:${e.line}: ${what}: ${terminalSafeJson(JSON.stringify(sample(e.text)))}`);
  }

  /**
   * An input that held no syscall: one line saying so and why that may be. Counted in `noSyscall`, which
   * `--strict` turns into exit 3 like an unparsed line (the input was not understood as a trace).
   */
  noSyscallIn(file: string, t: InputTally, format: 'strace' | 'runsc' | 'perf' = 'strace'): void {
    this.empty++;
    this.write(`trace-compare: ${noSyscallLine(file, t, format)}`);
  }

  get unparsed(): number {
    return this.count;
  }

  /** Inputs that held no syscall (reported by noSyscallIn). */
  get noSyscall(): number {
    return this.empty;
  }

  /** Whether `--strict` fails: a line was not understood, or an input held no syscall. */
  get strictFailure(): boolean {
    return this.count > 0 || this.empty > 0;
  }

  /** The closing count, or nothing when every line was understood. */
  summaryLine(): string | null {
    if (this.count === 0) return null;
    const files = [...this.perFile].map(([f, n]) => `${escapeControls(f)}: ${n}`).join(', ');
    return `trace-compare: ${this.count} line${this.count === 1 ? '' : 's'} not understood (${files}); everything else was parsed`;
  }
}

const plural = (n: number, one: string, many = one + 's'): string => `${n} ${n === 1 ? one : many}`;

/** `no syscall found in <stdin>: 1 line not understood; strace writes its trace to stderr: use 2>&1 or -o FILE` */
export function noSyscallLine(file: string, t: InputTally, format: 'strace' | 'runsc' | 'perf' = 'strace'): string {
  const what: string[] = [];
  if (t.events === 0) what.push('it is empty');
  if (t.unparsed > 0) what.push(`${plural(t.unparsed, 'line')} not understood`);
  if (t.output > 0) what.push(`${plural(t.output, 'line')} of program output`);
  if (t.messages > 0) what.push(t.firstMessage ? `only strace's messages (${sample(t.firstMessage)})` : `only strace's messages`);
  // strace's own refusal (`strace: exec: No such file or directory`) says it all; otherwise the usual cause is
  // a trace that went to the terminal while only the program's output was saved or piped.
  const why = format === 'runsc'
    ? 'runsc logs the app\'s syscalls only when run with --strace'
    : format === 'perf'
      ? 'perf trace writes to stderr: use 2>&1 or -o FILE'
      : t.firstMessage !== undefined && /^strace: (?!Process \d+ (?:attached|detached))/.test(t.firstMessage)
        ? 'strace could not trace the command'
        : 'strace writes its trace to stderr: use 2>&1 or -o FILE';
  return escapeControls(`no syscall found in ${file}: ${what.join(', ') || 'no trace lines'}; ${why}`);
}

function sample(text: string): string {
  return text.length > SAMPLE ? text.slice(0, SAMPLE) + '…' : text;
}
