// Renders a strace -c style summary: as strace itself prints it (table), as Markdown, or as JSON.

import type { Summary, SummaryRow } from '../summary.js';
import { markdownTable, makeChalk, type TextFormat } from '../format.js';
import { escapeControls, terminalSafeJson } from './escape.js';

/**
 * The seconds column's header. Summed from -T durations it is wall-clock time (as `strace -c -w`), not the
 * system CPU time plain `strace -c` shows: the header says so. A -c table read back keeps strace's word.
 */
function secondsHeader(summary: Summary, format: 'table' | 'markdown'): string {
  if (summary.time !== 'wall') return 'seconds';
  return format === 'table' ? 'wall secs' : 'wall seconds (-T)';
}

export function renderSummary(summary: Summary, format: TextFormat): string {
  if (format === 'json') return terminalSafeJson(JSON.stringify(summary, null, 2)) + '\n';
  if (format === 'markdown') {
    const { head, rows } = summaryTable(summary);
    rows[rows.length - 1] = rows[rows.length - 1]!.map((c) => (c === '' ? c : `**${c}**`));
    return markdownTable(head, rows, head.map((h) => (h === 'syscall' ? 'l' : 'r')));
  }
  return straceTable(summary, timedOf(summary));
}

function timedOf(summary: Summary): boolean {
  return summary.syscalls.some((r) => r.seconds !== undefined) || summary.total.seconds !== undefined;
}

/** The markdown (and html) table: its header and rows, the total last; cells escaped for a terminal. */
export function summaryTable(summary: Summary): { head: string[]; rows: string[][] } {
  const timed = timedOf(summary);
  const head = [...(timed ? ['% time', secondsHeader(summary, 'markdown'), 'usecs/call'] : []), 'calls', 'errors', 'syscall'];
  return { head, rows: [...summary.syscalls, { ...summary.total, syscall: 'total' }].map((r) => cells(r, timed)) };
}

function cells(r: SummaryRow, timed: boolean): string[] {
  return [
    ...(timed
      ? [fixed(r.percentTime, 2), fixed(r.seconds, 6), r.usecsPerCall === undefined ? '' : String(Math.round(r.usecsPerCall))]
      : []),
    String(r.calls),
    r.errors ? String(r.errors) : '',
    // A name from the trace: a mangled line must not reach the terminal's control sequences.
    escapeControls(r.syscall),
  ];
}

/**
 * strace's own layout (strace -c), so the table reads as people know it and strace-c.ts parses it back
 * (it knows the `wall secs` header too). Without -T durations there is no time to show: only calls, errors
 * and syscall.
 */
function straceTable(summary: Summary, timed: boolean): string {
  const chalk = makeChalk();
  const widths = [...(timed ? [6, 11, 11] : []), 9, 9];
  const head = [...(timed ? ['% time', secondsHeader(summary, 'table'), 'usecs/call'] : []), 'calls', 'errors'];
  const nameWidth = Math.max(16, ...summary.syscalls.map((r) => escapeControls(r.syscall).length));
  const line = (c: string[], name: string) => c.map((x, i) => x.padStart(widths[i]!)).join(' ') + ' ' + name;
  const rule = widths.map((w) => '-'.repeat(w)).join(' ') + ' ' + '-'.repeat(nameWidth);
  const out = [chalk.bold(line(head, 'syscall')), rule];
  for (const r of summary.syscalls) out.push(line(cells(r, timed).slice(0, -1), escapeControls(r.syscall)));
  out.push(rule, chalk.bold(line(cells({ ...summary.total, syscall: 'total' }, timed).slice(0, -1), 'total')));
  return out.join('\n') + '\n';
}

function fixed(n: number | undefined, digits: number): string {
  return n === undefined ? '' : n.toFixed(digits);
}
