// A lesson's report: an overview across its commands, then each command's own comparison as `run` prints
// it (comparison-report.ts, html-report.ts). Pure: it renders the comparisons `lesson` measured.

import type { Comparison } from '../compare.js';
import { differences } from '../differences.js';
import { markdownTable, makeChalk, type TextFormat } from '../format.js';
import { ENV_FIELDS, envCells, renderComparison } from './comparison-report.js';
import { escapeControls, terminalSafeJson } from './escape.js';
import { DEFAULT_WIDTH, displayWidth, shellCommand, wrap } from './layout.js';

/** A lesson file's command: a title, the argument vector (never a shell string), an optional note. */
export interface LessonCommand {
  title: string;
  argv: string[];
  note?: string;
}

export interface Lesson {
  title: string;
  description?: string;
  commands: LessonCommand[];
}

/** What `lesson` measured: each command with the comparison of its run. */
export interface LessonReport {
  title: string;
  description?: string;
  commands: (LessonCommand & { comparison: Comparison })[];
}

/** The overview's columns after `#`, `command` and `environment`: the same cells as each comparison's environment table. */
const OVERVIEW_FIELDS = [1, 2, 4, 5] as const;

export function overviewHead(r: LessonReport): string[] {
  const base = r.commands[0]?.comparison.environments[0]?.name ?? 'the first environment';
  return ['#', 'command', 'environment', ...OVERVIEW_FIELDS.map((i) => ENV_FIELDS[i]!), `differences from ${base}`];
}

/**
 * One row per command and environment: kernel release, exit, syscalls issued, reached host kernel (the cells
 * of the command's own environment table), and how many differences from the first environment name it.
 */
export function overviewRows(r: LessonReport): string[][] {
  return r.commands.flatMap((cmd, i) => {
    const diffs = differences(cmd.comparison);
    return cmd.comparison.environments.map((e, j) => {
      const cells = envCells(e);
      const mine = diffs.filter((d) => e.name in d.environments).length;
      return [
        String(i + 1), `${cmd.title}: ${shellCommand(cmd.argv)}`, e.name, ...OVERVIEW_FIELDS.map((k) => cells[k]!),
        j === 0 ? '(baseline)' : String(mine),
      ];
    });
  });
}

/** Each command as JSON exactly as `run --format json` prints its comparison, with the lesson's title and note. */
function lessonJson(r: LessonReport): unknown {
  return {
    title: r.title,
    ...(r.description !== undefined ? { description: r.description } : {}),
    commands: r.commands.map(({ comparison, ...cmd }) => ({ ...cmd, ...(JSON.parse(renderComparison(comparison, 'json')) as object) })),
  };
}

export function renderLesson(r: LessonReport, format: TextFormat, options: { wide?: boolean } = {}): string {
  if (format === 'json') return terminalSafeJson(JSON.stringify(lessonJson(r), null, 2)) + '\n';
  const head = overviewHead(r).map(escapeControls);
  const rows = overviewRows(r).map((row) => row.map(escapeControls));
  const title = escapeControls(r.title);
  const description = r.description !== undefined ? escapeControls(r.description) : null;
  if (format === 'markdown') {
    const out = [`# ${title}\n`];
    if (description) out.push(`${description}\n`);
    out.push('## Overview\n', markdownTable(head, rows));
    r.commands.forEach((cmd, i) => {
      out.push(`## ${i + 1}. ${escapeControls(cmd.title)}\n`);
      if (cmd.note !== undefined) out.push(`${escapeControls(cmd.note)}\n`);
      out.push('```sh\n' + shellCommand(cmd.argv) + '\n```\n');
      // The command is in the block above: the comparison's own `## command` heading would repeat it.
      out.push(renderComparison({ ...cmd.comparison, command: null }, 'markdown'));
    });
    return out.join('\n');
  }
  const chalk = makeChalk();
  const width = DEFAULT_WIDTH;
  const para = (t: string) => (options.wide ? [t] : wrap(t, width));
  const out = [chalk.bold(title), ...(description ? para(description) : []), '', chalk.bold('Overview')];
  out.push(overviewTable(head, rows));
  r.commands.forEach((cmd, i) => {
    out.push('', chalk.bold(`${i + 1}. ${escapeControls(cmd.title)}`));
    if (cmd.note !== undefined) out.push(...para(escapeControls(cmd.note)));
    out.push(renderComparison(cmd.comparison, 'table', options).replace(/\n$/, ''));
  });
  return out.join('\n') + '\n';
}

/** The overview as plain aligned columns: one line per row, as wide as it needs (a lesson is read in a pager). */
function overviewTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]!))));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - displayWidth(c))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
