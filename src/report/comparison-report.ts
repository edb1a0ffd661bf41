// Renders a Comparison: the environments, one row per syscall with a column per environment, who made
// the host syscalls, findings built only from the numbers measured in this run, and every difference
// from the first environment with its evidence (src/differences.ts).

import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import { syscallUnion, type Comparison, type EnvironmentReport } from '../compare.js';
import { differences, type Difference } from '../differences.js';
import { comparisonAnnotations } from '../annotations/comparison.js';
import {
  ANNOTATION_HEAD, FANOUT_HEAD, ROLLUP_TITLE, annotationCells, annotationLegend, descriptionLines, descriptionTitle, fanOutRows, fanOutSummary,
  gvisorLines, gvisorTitle, rollupRows, withFanOut,
} from '../annotations/report.js';
import { confinementSummary } from '../runners/confinement.js';
import { COMPACT, makeChalk, markdownTable, type TextFormat } from '../format.js';
import { escapeControls, terminalSafeJson } from './escape.js';
import { DEFAULT_WIDTH, displayWidth, shellCommand, wrap } from './layout.js';

export interface RenderOptions {
  /** One line per table row and per finding, however wide (`--wide`). Default: fit `width` columns. */
  wide?: boolean;
  /** Columns the table format must fit in when not wide; default 100. */
  width?: number;
}

/** Differences of one kind printed in table and markdown before "and N more" (JSON holds them all). */
const SHOWN_PER_KIND = 5;

/** The environment table's columns after the name; envCells gives their values (html-report shows the same). */
export const ENV_FIELDS = ['runtime', 'kernel release', 'exit', 'output', 'syscalls issued (calls / distinct)', 'reached host kernel', "runtime's own host syscalls", 'tracer overhead (host syscalls)'];

export function renderComparison(c: Comparison, format: TextFormat, options: RenderOptions = {}): string {
  const diffs = differences(c);
  const notes = comparisonAnnotations(c);
  // `annotations` only when the rows were annotated (reports built without measure.ts have none).
  if (format === 'json') return terminalSafeJson(JSON.stringify({ ...c, ...(notes ? { annotations: notes } : {}), differences: diffs }, null, 2)) + '\n';
  // Every text from a trace or the command line is escaped before colours go on: the workload's own
  // terminal escapes (stdout, process names, labels) must print as text.
  const chalk = format === 'table' ? makeChalk() : makeChalk({ isTTY: false } as NodeJS.WriteStream);
  const width = Math.max(40, options.width ?? DEFAULT_WIDTH);
  const wide = format === 'markdown' || options.wide === true;

  const envFields = ENV_FIELDS;
  const envValues = c.environments.map((e) => safeRow(envCells(e)));
  const names = syscallUnion(c.environments);
  const noteOf = new Map((notes?.syscalls ?? []).map((s) => [s.syscall, s.annotation]));
  const sysRows = names.map((name) => [
    escapeControls(name), ...(notes ? markCells(safeRow(annotationCells(noteOf.get(name))), format === 'table' ? chalk : null) : []),
    ...c.environments.map((e) => cell(e, name, format === 'table' ? chalk : null)),
  ]);
  // Left-aligned leading columns of the syscall table: the name, and the annotations when there are some.
  const lead = notes ? 1 + ANNOTATION_HEAD.length : 1;
  const annHead = notes ? ANNOTATION_HEAD : [];
  const annLegend = notes ? escapeControls(annotationLegend(notes.sources)) : null;
  const gvLines = notes ? gvisorLines(notes).map(escapeControls) : [];
  const gvTitle = notes ? escapeControls(gvisorTitle(notes)) : null;
  const rollRows = safeRows(rollupRows(c));
  const rollHead = safeRow(['class', ...c.environments.map((e) => (e.totals.hostKernelCalls === null ? e.name : `${e.name} (calls → host kernel)`))]);
  const fanOuts = withFanOut(c);
  const runtimeEnvs = c.environments.filter((e) => e.hostKernel !== null && runtimeOwn(e).length > 0);
  const rtRows = safeRows(topRuntimeRows(runtimeEnvs, TOP_RUNTIME));
  const findings = findingsOf(c).map(escapeControls);
  const notices = noticesOf(c).map(escapeControls);
  const roles = rolesOf(c).map(escapeControls);
  const diffLines = differenceLines(c, diffs).map(escapeControls);
  const command = c.command ? shellCommand(c.command) : null;
  const legend = legendOf(c);
  const diffTitle = differencesTitle(c);

  if (format === 'markdown') {
    const envHead = ['environment', ...envFields];
    const envRows = c.environments.map((e, i) => [escapeControls(e.name), ...envValues[i]!]);
    const sysHead = safeRow(['syscall', ...annHead, ...c.environments.map((e) => (e.totals.hostKernelCalls === null ? e.name : `${e.name} (calls → host kernel)`))]);
    const rtHead = safeRow(['#', ...runtimeEnvs.map((e) => `${e.name}: runtime → host kernel`)]);
    const list = (items: string[]) => items.map((f) => `- ${f}`).join('\n') + '\n';
    return (
      (command ? `## \`${command.replace(/`/g, '\\`')}\`\n\n` : '') +
      markdownTable(envHead, envRows) +
      (notices.length ? '\n' + list(notices) : '') +
      '\n' +
      markdownTable(sysHead, sysRows, sysHead.map((_, i) => (i < lead ? 'l' : 'r'))) +
      `\n${legend}\n` +
      (annLegend ? `\n${annLegend}\n` : '') +
      (gvTitle ? `\n${gvTitle}\n` + (gvLines.length ? '\n' + list(gvLines) : '') : '') +
      (rollRows.length ? `\n${ROLLUP_TITLE}\n\n` + markdownTable(rollHead, rollRows, rollHead.map((_, i) => (i === 0 ? 'l' : 'r'))) : '') +
      (rtRows.length ? `\nWhat each runtime asked of the host kernel (tracer overhead apart), top ${TOP_RUNTIME}:\n\n` + markdownTable(rtHead, rtRows) : '') +
      (roles.length ? '\nWho made the host syscalls (by role):\n\n' + list(roles) : '') +
      fanOuts.map((e) => `\n${escapeControls(fanOutSummary(e))}\n\n` + markdownTable(FANOUT_HEAD, safeRows(fanOutRows(e.fanOut)), ['l', 'r', 'l', 'l'])).join('') +
      (findings.length ? '\n' + list(findings) : '') +
      (diffLines.length ? `\n### ${diffTitle}\n\n` + list(diffLines) : '') +
      (notes && notes.syscalls.length ? `\n### ${escapeControls(descriptionTitle(notes))}\n\n` + list(descriptionLines(notes).map(escapeControls)) : '')
    );
  }

  const bold = (h: string) => chalk.bold(h);
  const out: string[] = [];
  if (command) out.push(...(wide ? [`$ ${command}`] : wrap(`$ ${command}`, width, '    ')).map((l) => chalk.bold(l)));
  if (wide) {
    const envTable = new Table({ head: ['environment', ...envFields].map(bold), style: { head: [], border: [] } });
    envTable.push(...c.environments.map((e, i) => [escapeControls(e.name), ...envValues[i]!]));
    out.push(envTable.toString());
  } else {
    // Stacked: one column per environment, one row per field, long cells wrapped.
    const head = ['', ...c.environments.map((e) => escapeControls(e.name))];
    const rows = envFields.map((f, i) => [f, ...envValues.map((v) => v[i]!)]);
    out.push(fitTable(head, rows, width, { bold, chalk }));
  }
  out.push(...bullets(notices, width, wide, '! '));
  const sysHead = safeRow(['syscall', ...annHead, ...c.environments.map((e) => (wide && e.totals.hostKernelCalls !== null ? `${e.name} (calls → host kernel)` : e.name))]);
  out.push(wide ? plainTable(sysHead, sysRows, bold, true, lead) : fitTable(sysHead, sysRows, width, { bold, chalk, right: true, lead, compact: true }));
  out.push(...(wide ? [legend] : wrap(legend, width)).map((l) => chalk.dim(l)));
  const heading = (t: string) => (wide ? [t] : wrap(t, width));
  if (annLegend) out.push(...heading(`${annLegend} Descriptions: --format markdown.`).map((l) => chalk.dim(l)));
  if (gvTitle) out.push(...heading(gvTitle).map((l) => chalk.bold(l)), ...bullets(gvLines, width, wide, '• '));
  if (rollRows.length) {
    const head = safeRow(['class', ...c.environments.map((e) => (wide && e.totals.hostKernelCalls !== null ? `${e.name} (calls → host kernel)` : e.name))]);
    out.push(...heading(ROLLUP_TITLE), wide ? plainTable(head, rollRows, bold, true) : fitTable(head, rollRows, width, { bold, chalk, right: true, compact: true }));
  }
  if (rtRows.length) {
    const rtHead = safeRow(['#', ...runtimeEnvs.map((e) => (wide ? `${e.name}: runtime → host kernel` : e.name))]);
    out.push(...(wide ? [`What each runtime asked of the host kernel (tracer overhead apart), top ${TOP_RUNTIME}:`] : wrap(`What each runtime asked of the host kernel (tracer overhead apart), top ${TOP_RUNTIME}:`, width)));
    out.push(wide ? plainTable(rtHead, rtRows, bold, false) : fitTable(rtHead, rtRows, width, { bold, chalk, compact: true }));
  }
  if (roles.length) out.push(...heading('Who made the host syscalls (by role):'), ...bullets(roles, width, wide, '• '));
  out.push(...bullets(fanOuts.map((e) => escapeControls(fanOutSummary(e))), width, wide, '• '));
  out.push(...bullets(findings, width, wide, '• '));
  if (diffLines.length) out.push(...heading(diffTitle).map((l) => chalk.bold(l)), ...bullets(diffLines, width, wide, '• '));
  return out.join('\n') + '\n';
}

export const TOP_RUNTIME = 10;

/** Which tool read the kernel's syscall tracepoints for an environment (reports made before it was recorded: perf). */
export const viewTool = (e: EnvironmentReport): string => e.hostKernel?.measuredBy ?? 'perf';

/** What read the sys_enter tracepoint, for legends: one tool, or each environment's. */
export function tracepointReader(envs: EnvironmentReport[]): string {
  const measured = envs.filter((e) => e.hostKernel);
  const tools = [...new Set(measured.map(viewTool))];
  if (tools.length <= 1) return `${tools[0] ?? 'perf'} sys_enter`;
  return `sys_enter: ${measured.map((e) => `${viewTool(e)} for ${e.name}`).join(', ')}`;
}

/** What a cell of the syscall table holds. */
export function legendOf(c: Comparison): string {
  return c.environments.some((e) => e.totals.hostKernelCalls !== null)
    ? `Each cell: calls the workload issued → how many of them entered the host kernel (${tracepointReader(c.environments)}), measured in this run.`
    : 'Each cell: calls the workload issued (from the saved logs; what reached the host kernel was not measured).';
}

export function differencesTitle(c: Comparison): string {
  return c.environments.length > 1
    ? `Differences from ${escapeControls(c.environments[0]!.name)} (evidence: trace file:line; all of them in --format json):`
    : 'Differences:';
}

function safeRow(r: string[]): string[] {
  return r.map(escapeControls);
}

function safeRows(rows: string[][]): string[][] {
  return rows.map(safeRow);
}

export function envCells(e: EnvironmentReport): string[] {
  const tool = toolOverhead(e);
  return [
    e.runtime ?? '?',
    e.kernelRelease === null ? 'not seen' : e.kernelRelease + (e.kernelReleaseSource === 'probe' ? ' (probe)' : e.kernelReleaseSource === 'output' ? ' (from output)' : ''),
    e.exitCode === null ? (e.ended ?? 'n/a') : String(e.exitCode) + (e.ended ? ` (${e.ended})` : ''),
    e.stdout === null ? 'n/a' : oneLine(e.stdout),
    `${e.totals.calls} / ${e.totals.distinct}`,
    e.totals.hostKernelCalls === null ? 'not measured' : String(e.totals.hostKernelCalls),
    e.hostKernel === null ? 'not measured' : String(runtimeOwn(e).reduce((n, s) => n + s.calls, 0)),
    e.hostKernel === null ? 'not measured' : tool === null ? 'not told apart' : String(tool),
  ];
}

/** The runtime's own host syscalls: every non-workload call but the tool's (tracer, status wrapper). */
export function runtimeOwn(e: EnvironmentReport): { syscall: string; calls: number }[] {
  const h = e.hostKernel;
  if (!h) return [];
  if (!h.roles) return [...h.syscalls];
  const n = new Map<string, number>();
  for (const r of h.roles) if (r.kind === 'runtime') for (const s of r.syscalls) n.set(s.syscall, (n.get(s.syscall) ?? 0) + s.calls);
  return [...n].map(([syscall, calls]) => ({ syscall, calls }));
}

function toolOverhead(e: EnvironmentReport): number | null {
  const roles = e.hostKernel?.roles;
  return roles ? roles.filter((r) => r.kind === 'tool').reduce((n, r) => n + r.calls, 0) : null;
}

/** Row i: each environment's i-th most frequent runtime syscall, as `name calls`. */
export function topRuntimeRows(envs: EnvironmentReport[], n: number): string[][] {
  const tops = envs.map((e) => runtimeOwn(e).sort((a, b) => b.calls - a.calls || a.syscall.localeCompare(b.syscall)).slice(0, n));
  const depth = Math.max(0, ...tops.map((t) => t.length));
  return Array.from({ length: depth }, (_, i) => [String(i + 1), ...tops.map((t) => (t[i] ? `${t[i]!.syscall} ${t[i]!.calls}` : ''))]);
}

/** [class, gVisor mark]: on a terminal the mark of a syscall gVisor does not fully implement stands out. */
function markCells([cls, mark]: string[], chalk: ChalkInstance | null): string[] {
  return [cls!, chalk && mark ? chalk.yellow(mark) : mark!];
}

export function cell(e: EnvironmentReport, name: string, chalk: ChalkInstance | null): string {
  const r = e.syscalls.find((s) => s.syscall === name);
  if (!r) return chalk ? chalk.dim('-') : '-';
  if (r.hostKernelCalls === null) return String(r.calls);
  const text = `${r.calls} → ${r.hostKernelCalls}`;
  if (!chalk) return text;
  return r.hostKernelCalls === 0 ? chalk.green(text) : r.hostKernelCalls < r.calls ? chalk.yellow(text) : text;
}

/** Incomplete figures and each pod's confinement: said before the tables' numbers are read. */
export function noticesOf(c: Comparison): string[] {
  const out: string[] = [];
  for (const e of c.environments) {
    if (e.incomplete?.length) out.push(`${e.name} incomplete: ${e.incomplete.join('; ')}`);
  }
  for (const e of c.environments) {
    if (e.confinement) out.push(`${e.name} confinement: ${confinementSummary(e.confinement)}`);
  }
  return out;
}

/** Per environment, the host syscalls by role: the runtime's own, then the tool's overhead. */
export function rolesOf(c: Comparison): string[] {
  const out: string[] = [];
  for (const e of c.environments) {
    const roles = e.hostKernel?.roles;
    if (!roles || roles.length === 0) continue;
    const part = (kind: 'runtime' | 'tool') => {
      const rs = roles.filter((r) => r.kind === kind);
      const total = rs.reduce((n, r) => n + r.calls, 0);
      return { total, text: rs.map((r) => `${r.label} ${r.calls}${r.processes > 1 ? ` (${r.processes} tasks)` : ''}`).join(', ') };
    };
    const own = part('runtime');
    const tool = part('tool');
    out.push(
      `${e.name}: runtime's own ${own.total}${own.text ? ` = ${own.text}` : ''}; tracer overhead ${tool.total}${tool.text ? ` = ${tool.text}` : ''}`,
    );
  }
  return out;
}

/** Plain sentences, each stating only figures from this comparison. */
export function findingsOf(c: Comparison): string[] {
  const out: string[] = [];
  for (const e of c.environments) {
    if (e.ended?.startsWith('runtime error')) {
      out.push(`${e.name}: the runtime failed before the command started (${e.ended}).`);
      continue;
    }
    if (e.kernelRelease !== null) {
      const how = e.kernelReleaseSource === 'probe' ? 'a uname -r probe run in the same kind of environment was told'
        : e.kernelReleaseSource === 'output' ? 'the command printed (its uname call was not decoded in the trace)' : 'the workload was told by uname';
      out.push(`${e.name}: ${how} the kernel release is ${e.kernelRelease}.`);
    }
    if (e.totals.hostKernelCalls === null) continue;
    const answered = e.syscalls.filter((r) => r.hostKernelCalls === 0).map((r) => r.syscall);
    out.push(
      `${e.name}: ${e.totals.hostKernelCalls} of the ${e.totals.calls} syscalls the workload issued entered the host kernel` +
        (answered.length && e.totals.calls > 0 ? `; never entering it: ${listOf(answered)}.` : '.'),
    );
    const over = e.syscalls.filter((r) => r.hostKernelCalls !== null && r.hostKernelCalls > r.calls).map((r) => r.syscall);
    if (over.length) {
      out.push(`${e.name}: ${viewTool(e)} attributed more calls of ${listOf(over)} to the workload than its own trace recorded: the workload's processes were not told apart exactly, so read these counts with care.`);
    }
    if (e.hostKernel && e.hostKernel.lostEvents > 0) {
      out.push(`${e.name}: ${viewTool(e)} reported ${e.hostKernel.lostEvents} lost events: the host-kernel counts may be short.`);
    }
    if (e.hostKernel?.fullMaps?.length) {
      out.push(`${e.name}: ${viewTool(e)}'s map ${listOf(e.hostKernel.fullMaps)} filled: it may have refused counts, so the host-kernel counts may be short.`);
    }
    if (e.hostKernel && e.hostKernel.workloadSeen > e.hostKernel.workloadEntered) {
      const trapped = e.hostKernel.workloadSeen - e.hostKernel.workloadEntered;
      out.push(`${e.name}: ${viewTool(e)} saw ${trapped} of the workload's syscalls only as an exit with no entry: they were trapped before the host kernel ran them.`);
    }
    if (e.hostKernel && !e.hostKernel.roles) {
      // Reports made before roles were told apart: the processes by name.
      const n = e.hostKernel.syscalls.reduce((s, r) => s + r.calls, 0);
      const runtime = e.hostKernel.processes.filter((p) => p.role === 'runtime');
      if (n > 0) out.push(`${e.name}: the runtime and tracers themselves made ${n} host syscalls in ${runtime.length} processes (${commCounts(runtime)}).`);
    }
  }
  return out;
}

function commCounts(processes: { comm: string; label?: string }[]): string {
  const n = new Map<string, number>();
  // perf prints `:PID` for a task it saw no name for.
  for (const p of processes) {
    const comm = p.label ?? (p.comm === '' || p.comm.startsWith(':') ? 'unnamed' : p.comm);
    n.set(comm, (n.get(comm) ?? 0) + 1);
  }
  return [...n].map(([comm, k]) => (k > 1 ? `${comm} ×${k}` : comm)).join(', ');
}

/** Each difference as one sentence with its evidence; long runs of one kind shortened to "and N more". */
export function differenceLines(c: Comparison, diffs: Difference[]): string[] {
  const out: string[] = [];
  const shown = new Map<string, number>();
  const hidden = new Map<string, number>();
  for (const d of diffs) {
    // Paths come in runs (a loader's probes, a locale's files): a few of each kind per pair of environments.
    // Keyed by direction: the paths only the host named, then only the pod, each get their share.
    const who = d.kind === 'path-only-in' || d.kind === 'only-in' ? Object.entries(d.environments).sort((a, b) => (b[1].calls ?? 0) - (a[1].calls ?? 0)).map(([k]) => k) : Object.keys(d.environments);
    const key = `${d.kind} ${who.join(' ')}`;
    const n = shown.get(key) ?? 0;
    if (d.kind !== 'failed' && d.kind !== 'exit' && d.kind !== 'stdout' && n >= SHOWN_PER_KIND) {
      hidden.set(key, (hidden.get(key) ?? 0) + 1);
      continue;
    }
    shown.set(key, n + 1);
    out.push(d.text + evidenceText(d));
  }
  for (const [key, n] of hidden) {
    const [kind, ...envs] = key.split(' ');
    const pair = kind === 'path-only-in' || kind === 'only-in' ? `${envs[0]}, not ${envs.slice(1).join(', ')}` : envs.join(' vs ');
    out.push(`… and ${n} more ${KIND_WORDS[kind as Difference['kind']]} (${pair}; all in --format json)`);
  }
  if (c.environments.length > 1 && c.environments.some((e) => !e.detail) && c.environments.some((e) => e.syscalls.length > 0)) {
    out.push('errno names and paths were not kept for every environment: those are compared by error counts alone.');
  }
  return out;
}

const KIND_WORDS: Record<Difference['kind'], string> = {
  failed: 'failures',
  exit: 'exit differences',
  stdout: 'output differences',
  errors: 'syscalls with different results',
  'only-in': 'syscalls only one issued',
  'path-only-in': 'paths only one named',
  'path-result': 'paths with different results',
};

/** ` [gvisor boot.txt:96, host strace.log:33]`: the file's base name, as --keep-temp lists the files. */
function evidenceText(d: Difference): string {
  if (d.evidence.length === 0) return '';
  const shown = d.evidence.slice(0, 3).map((v) => `${v.environment} ${baseName(v.file)}:${v.line}`);
  return ` [${shown.join(', ')}${d.evidence.length > 3 ? `, +${d.evidence.length - 3}` : ''}]`;
}

function baseName(file: string): string {
  const i = file.lastIndexOf('/');
  return i === -1 ? file : file.slice(i + 1);
}

function listOf(items: string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function oneLine(s: string): string {
  const t = s.replace(/\n$/, '').replace(/\n/g, '⏎');
  return t.length > 40 ? t.slice(0, 39) + '…' : t;
}

function bullets(items: string[], width: number, wide: boolean, mark: string): string[] {
  if (wide) return items.map((f) => mark + f);
  return items.flatMap((f) => wrap(mark + f, width, ' '.repeat(displayWidth(mark))));
}

/** `lead`: how many leading columns stay left-aligned when `right` aligns the others right. */
function plainTable(head: string[], rows: string[][], bold: (s: string) => string, right: boolean, lead = 1): string {
  const t = new Table({
    head: head.map(bold),
    colAligns: head.map((_, i) => (right && i >= lead ? 'right' : 'left')),
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  t.push(...rows);
  return t.toString();
}

/**
 * A table no wider than `width`: columns keep their natural width while the whole fits, else the
 * widest are narrowed and their cells wrapped (at spaces when possible) onto more lines.
 */
function fitTable(
  head: string[], rows: string[][], width: number,
  o: { bold: (s: string) => string; chalk: ChalkInstance; right?: boolean; lead?: number; compact?: boolean },
): string {
  const ncol = head.length;
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  const natural = head.map((_, i) => Math.max(...[head, ...rows].map((r) => Math.max(...plain(r[i] ?? '').split('\n').map(displayWidth)))));
  // Border characters (ncol + 1) and one space of padding each side of each cell.
  const room = width - (ncol + 1) - 2 * ncol;
  const widths = [...natural];
  while (widths.reduce((a, b) => a + b, 0) > room) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 6) break;
    widths[widest]!--;
  }
  const fit = (text: string, i: number) => {
    if (plain(text).split('\n').every((l) => displayWidth(l) <= widths[i]!)) return text;
    return plain(text).split('\n').flatMap((l) => wrap(l, widths[i]!)).join('\n');
  };
  const t = new Table({
    head: head.map((h, i) => o.bold(fit(h, i))),
    colAligns: head.map((_, i) => (o.right && i >= (o.lead ?? 1) ? 'right' : 'left')),
    style: { head: [], border: [] },
    ...(o.compact ? { chars: COMPACT } : {}),
  });
  t.push(...rows.map((r) => r.map((x, i) => fit(x, i))));
  return t.toString();
}
