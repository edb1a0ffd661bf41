// Output formats and colour policy shared by every command.

import { Chalk, type ChalkInstance } from 'chalk';

/** The report formats of run, summary, diff and lesson. */
export const REPORT_FORMATS = ['table', 'markdown', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
/** The formats rendered as text by the table/markdown/json renderers; html has its own (src/report/html-report.ts). */
export type TextFormat = Exclude<ReportFormat, 'html'>;

/** Colours only on a terminal, never when NO_COLOR is set (https://no-color.org), forced by FORCE_COLOR. */
export function makeChalk(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return new Chalk({ level: 0 });
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return new Chalk({ level: 1 });
  return new Chalk({ level: stream.isTTY ? 1 : 0 });
}

/** Markdown table cell: pipes and newlines would break the row. */
export function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function markdownTable(head: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), `|${sep.map((s) => ` ${s} `).join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

/** cli-table3 borders without a rule between every row: long syscall tables stay readable. */
export const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
