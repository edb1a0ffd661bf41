// strace's own `-c` / `-C` summary table, as strace 6.1 prints it (any -S order, any -U columns, -w):
//
//   % time     seconds  usecs/call     calls    errors syscall
//   ------ ----------- ----------- --------- --------- ----------------
//    57.47    0.002830         943         3         1 wait4
//   ...
//   ------ ----------- ----------- --------- --------- ----------------
//   100.00    0.004924          14       345        55 total
//
// Columns are found from the header and cut by the extents of the `----` rule under it: strace pads every
// column to its rule's width, and prints a zero error count as blanks, so splitting on spaces is not enough.
// With -C the table follows the trace in the same file; `splitStraceSummary` (text) and
// `traceLinesBeforeTable` (streaming) separate the two.

import { createReadStream } from 'node:fs';
import { ParseError } from './errors.js';
import { readLines, type Line } from './lines.js';

export type StraceColumn =
  | 'percentTime'
  | 'seconds'
  | 'usecsPerCall'
  | 'calls'
  | 'errors'
  | 'syscall'
  | 'minSeconds'
  | 'maxSeconds';

/** One syscall's row of a `strace -c` table: strace's own, or the one src/summary.ts counts from a trace. */
export interface SummaryRow {
  syscall: string;
  calls: number;
  errors: number;
  /**
   * Seconds spent in the calls. From a trace: the sum of its -T durations (wall-clock time, what
   * `strace -c -w` shows; plain `strace -c` shows system CPU time, which is smaller). From a -c table: as
   * strace printed it. Absent when the trace has no -T durations.
   */
  seconds?: number;
  /** Whole microseconds per call, truncated as strace prints them. */
  usecsPerCall?: number;
  /** Share of the total time, 0..100. */
  percentTime?: number;
}

/** A table row as strace printed it: the summary fields plus -U's `shortest` / `longest` when shown. */
export interface StraceSummaryRow extends SummaryRow {
  minSeconds?: number;
  maxSeconds?: number;
}

export interface StraceSummary {
  syscalls: StraceSummaryRow[];
  total: StraceSummaryRow;
  /** The columns in the order strace printed them. */
  columns: StraceColumn[];
}

const HEADERS: Record<string, StraceColumn> = {
  '% time': 'percentTime',
  seconds: 'seconds',
  // trace-compare's own summary table: seconds summed from -T durations, wall-clock time.
  'wall secs': 'seconds',
  'usecs/call': 'usecsPerCall',
  calls: 'calls',
  errors: 'errors',
  syscall: 'syscall',
  shortest: 'minSeconds',
  longest: 'maxSeconds',
};

const RULE = /^-+(?: -+)*$/;

/** The columns a header line names, or null when it is not a summary header. */
export function headerColumns(line: string): StraceColumn[] | null {
  const words = line.trim().replace(/% time/g, '%time').replace(/wall secs/g, 'wall-secs').split(/\s+/);
  const cols: StraceColumn[] = [];
  for (const w of words) {
    const c = HEADERS[w === '%time' ? '% time' : w === 'wall-secs' ? 'wall secs' : w];
    if (c === undefined || cols.includes(c)) return null;
    cols.push(c);
  }
  return cols.includes('syscall') && cols.length >= 2 ? cols : null;
}

/** Whether `line` is a `----` rule with `n` runs (any number when n is omitted). */
export function isRule(line: string, n?: number): boolean {
  if (!RULE.test(line)) return false;
  return n === undefined || line.split(' ').length === n;
}

/** Whether lines[i] starts a table: a header line followed by a rule with one run per column. */
function tableStartsAt(header: string, rule: string | undefined): boolean {
  const cols = headerColumns(header);
  return cols !== null && rule !== undefined && isRule(rule, cols.length);
}

/**
 * Parses a summary table. `text` may hold lines before the table (they are skipped) but must hold the table's
 * header, rules and total row. `file` and `firstLine` only place errors.
 */
export function parseStraceSummaryTable(text: string, file = '<summary>', firstLine = 1): StraceSummary {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  let start = -1;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (tableStartsAt(lines[i]!, lines[i + 1])) {
      start = i;
      break;
    }
  }
  if (start < 0) {
    throw ParseError.at('UNKNOWN_FORMAT', file, firstLine, 1, 'a strace -c table header (`% time     seconds ...`)');
  }
  const columns = headerColumns(lines[start]!)!;
  const extents = ruleExtents(lines[start + 1]!);
  const syscalls: StraceSummaryRow[] = [];
  for (let i = start + 2; i < lines.length; i++) {
    const line = lines[i]!;
    const at = firstLine + i;
    if (isRule(line, columns.length)) {
      const totalLine = lines[i + 1];
      if (totalLine === undefined || totalLine.trim() === '') {
        throw ParseError.at('UNTERMINATED', file, at + 1, 1, 'the `total` row after the closing rule');
      }
      const total = parseRow(totalLine, columns, extents, file, at + 1);
      if (total.syscall !== 'total') {
        throw ParseError.at('UNEXPECTED_TOKEN', file, at + 1, 1, 'the `total` row');
      }
      return { syscalls, total, columns };
    }
    syscalls.push(parseRow(line, columns, extents, file, at));
  }
  throw ParseError.at('UNTERMINATED', file, firstLine + lines.length - 1, 1, 'the closing `----` rule and `total` row');
}

/** [start, end) of each run of dashes in a rule: strace pads every cell to its column's rule. */
export function ruleExtents(rule: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = rule.indexOf('-'); i >= 0; ) {
    let e = i;
    while (rule.charCodeAt(e) === 0x2d) e++;
    out.push([i, e]);
    i = rule.indexOf('-', e);
  }
  return out;
}

function parseRow(
  line: string,
  columns: StraceColumn[],
  extents: Array<[number, number]>,
  file: string,
  lineNo: number,
): StraceSummaryRow {
  const row: StraceSummaryRow = { syscall: '', calls: 0, errors: 0 };
  columns.forEach((col, i) => {
    const [s, e] = extents[i]!;
    // The last column is printed unpadded and may run past its rule (a long syscall name).
    const cell = line.slice(s, i === columns.length - 1 ? undefined : e).trim();
    if (col === 'syscall') {
      if (!/^[A-Za-z_][\w]*$/.test(cell)) {
        throw ParseError.at('UNEXPECTED_TOKEN', file, lineNo, s + 1, 'a syscall name');
      }
      row.syscall = cell;
      return;
    }
    // strace prints a zero error count as blanks.
    if (cell === '' && col === 'errors') return;
    const isInt = col === 'calls' || col === 'errors' || col === 'usecsPerCall';
    if (!(isInt ? /^\d+$/ : /^\d+(?:\.\d+)?$/).test(cell)) {
      throw ParseError.at('UNEXPECTED_TOKEN', file, lineNo, s + 1, `a number in the ${col} column`);
    }
    row[col] = Number(cell);
  });
  return row;
}

/**
 * Splits a -C output (trace, then table) in two. The table is the last header-plus-rule block; everything
 * before it is the trace, with its line numbers unchanged. `table` is null when there is none.
 */
export function splitStraceSummary(text: string): { trace: string; table: string | null; tableLine: number | null } {
  const lines = text.split('\n');
  for (let i = lines.length - 2; i >= 0; i--) {
    if (tableStartsAt(stripCr(lines[i]!), stripCr(lines[i + 1]!))) {
      return {
        trace: lines.slice(0, i).join('\n') + (i > 0 ? '\n' : ''),
        table: lines.slice(i).join('\n'),
        tableLine: i + 1,
      };
    }
  }
  return { trace: text, table: null, tableLine: null };
}

function stripCr(l: string): string {
  return l.endsWith('\r') ? l.slice(0, -1) : l;
}

/**
 * Streaming split: yields the trace's lines and hands each complete table to `onTable` instead.
 * Only a table's own lines are held (one row per syscall), so memory stays flat. Lines that looked like a
 * table's start but were not, or a table cut short by the end of input, are yielded as trace lines.
 */
export async function* traceLinesBeforeTable(
  lines: AsyncIterable<Line>,
  onTable: (table: StraceSummary, line: number) => void,
  file = '<trace>',
): AsyncGenerator<Line> {
  let held: Line[] = [];
  let cols = 0;
  let rules = 0;
  for await (const line of lines) {
    if (held.length === 0) {
      if (!line.tooLong && headerColumns(line.text) !== null) held = [line];
      else yield line;
      continue;
    }
    if (held.length === 1) {
      cols = headerColumns(held[0]!.text)!.length;
      if (!line.tooLong && isRule(line.text, cols)) {
        held.push(line);
        rules = 1;
        continue;
      }
      yield held[0]!;
      held = [];
      if (!line.tooLong && headerColumns(line.text) !== null) held = [line];
      else yield line;
      continue;
    }
    held.push(line);
    if (line.tooLong) {
      yield* held;
      held = [];
    } else if (rules === 2) {
      // This is the total row.
      const first = held[0]!.lineNo;
      try {
        onTable(parseStraceSummaryTable(held.map((l) => l.text).join('\n'), file, first), first);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        yield* held;
      }
      held = [];
    } else if (isRule(line.text, cols)) {
      rules = 2;
    }
  }
  yield* held;
}

/** Reads a file holding a table (a -c output, or a -C output with the trace first) and parses its last table. */
export async function parseStraceSummaryFile(path: string): Promise<StraceSummary> {
  let last: StraceSummary | null = null;
  const lines = readLines(createReadStream(path));
  for await (const _ of traceLinesBeforeTable(lines, (t) => (last = t), path)) {
    // Trace lines are not needed here.
  }
  if (last === null) throw ParseError.at('UNKNOWN_FORMAT', path, 1, 1, 'a strace -c table');
  return last;
}
