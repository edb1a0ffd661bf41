// Renders a strace -c style summary as a terminal table, Markdown or JSON.

import Table from 'cli-table3';
import type { Summary, SummaryRow } from '../summary.js';
import { COMPACT, markdownTable, makeChalk, type ReportFormat } from '../format.js';

export function renderSummary(summary: Summary, format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(summary, null, 2) + '\n';
  const timed = summary.syscalls.some((r) => r.seconds !== undefined);
  const head = [...(timed ? ['% time', 'seconds', 'usecs/call'] : []), 'calls', 'errors', 'syscall'];
  const cells = (r: SummaryRow): string[] => [
    ...(timed
      ? [fixed(r.percentTime, 2), fixed(r.seconds, 6), r.usecsPerCall === undefined ? '' : String(Math.round(r.usecsPerCall))]
      : []),
    String(r.calls),
    r.errors ? String(r.errors) : '',
    r.syscall,
  ];
  const rows = summary.syscalls.map(cells);
  const total = cells({ ...summary.total, syscall: 'total' });
  const align = head.map((h) => (h === 'syscall' ? 'l' : 'r') as 'l' | 'r');
  if (format === 'markdown') return markdownTable(head, [...rows, total.map((c) => `**${c}**`)], align);

  const chalk = makeChalk();
  const table = new Table({
    head: head.map((h) => chalk.bold(h)),
    colAligns: align.map((a) => (a === 'r' ? 'right' : 'left')),
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  for (const r of rows) table.push(r);
  table.push(total.map((c) => chalk.bold(c)));
  return table.toString() + '\n';
}

function fixed(n: number | undefined, digits: number): string {
  return n === undefined ? '' : n.toFixed(digits);
}
