// Renders a Comparison: one table of environments, one row per syscall with a column per environment,
// and findings sentences built only from the numbers measured in this run.

import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import { syscallUnion, type Comparison, type EnvironmentReport } from '../compare.js';
import { COMPACT, makeChalk, markdownTable, type ReportFormat } from '../format.js';
import { escapeControls, terminalSafeJson } from './escape.js';

export function renderComparison(c: Comparison, format: ReportFormat): string {
  if (format === 'json') return terminalSafeJson(JSON.stringify(c, null, 2)) + '\n';
  // Every text from a trace or the command line is escaped before colours go on: the workload's own
  // terminal escapes (stdout, process names, labels) must print as text.
  const chalk = format === 'table' ? makeChalk() : makeChalk({ isTTY: false } as NodeJS.WriteStream);
  const envHead = ['environment', 'runtime', 'kernel release', 'exit', 'output', 'syscalls issued (calls / distinct)', 'reached host kernel', 'runtime\'s own host syscalls'];
  const envRows = safeRows(c.environments.map((e) => [
    e.name,
    e.runtime ?? '?',
    e.kernelRelease === null ? 'not seen' : e.kernelRelease + (e.kernelReleaseSource === 'probe' ? ' (probe)' : ''),
    e.exitCode === null ? (e.ended ?? 'n/a') : String(e.exitCode) + (e.ended ? ` (${e.ended})` : ''),
    e.stdout === null ? 'n/a' : oneLine(e.stdout),
    `${e.totals.calls} / ${e.totals.distinct}`,
    e.totals.hostKernelCalls === null ? 'not measured' : String(e.totals.hostKernelCalls),
    e.hostKernel === null ? 'not measured' : String(e.hostKernel.syscalls.reduce((n, s) => n + s.calls, 0)),
  ]));

  const names = syscallUnion(c.environments);
  const measured = c.environments.some((e) => e.totals.hostKernelCalls !== null);
  const sysHead = safeRows([['syscall', ...c.environments.map((e) => (e.totals.hostKernelCalls === null ? e.name : `${e.name} (calls → host kernel)`))]])[0]!;
  const sysRows = names.map((name) => [escapeControls(name), ...c.environments.map((e) => cell(e, name, format === 'table' ? chalk : null))]);
  const runtimeEnvs = c.environments.filter((e) => e.hostKernel !== null && e.hostKernel.syscalls.length > 0);
  const rtHead = safeRows([['#', ...runtimeEnvs.map((e) => `${e.name}: runtime → host kernel`)]])[0]!;
  const rtRows = safeRows(topRuntimeRows(runtimeEnvs, TOP_RUNTIME));
  const findings = findingsOf(c).map(escapeControls);
  const command = c.command ? escapeControls(c.command.join(' ')) : null;
  const legend = measured
    ? 'Each cell: calls the workload issued → how many of them entered the host kernel (perf sys_enter), measured in this run.'
    : 'Each cell: calls the workload issued (from the saved logs; what reached the host kernel was not measured).';

  if (format === 'markdown') {
    const title = command ? `## \`${command}\`\n\n` : '';
    return (
      title +
      markdownTable(envHead, envRows) +
      '\n' +
      markdownTable(sysHead, sysRows, sysHead.map((_, i) => (i === 0 ? 'l' : 'r'))) +
      `\n${legend}\n` +
      (rtRows.length ? `\nWhat each runtime (and the tracers) asked of the host kernel, top ${TOP_RUNTIME}:\n\n` + markdownTable(rtHead, rtRows) : '') +
      (findings.length ? '\n' + findings.map((f) => `- ${f}`).join('\n') + '\n' : '')
    );
  }

  const envTable = new Table({ head: envHead.map((h) => chalk.bold(h)), style: { head: [], border: [] }, wordWrap: true });
  envTable.push(...envRows);
  const sysTable = new Table({
    head: sysHead.map((h) => chalk.bold(h)),
    colAligns: sysHead.map((_, i) => (i === 0 ? 'left' : 'right')),
    style: { head: [], border: [] },
    chars: COMPACT,
  });
  sysTable.push(...sysRows);
  let rtText = '';
  if (rtRows.length) {
    const rtTable = new Table({ head: rtHead.map((h) => chalk.bold(h)), style: { head: [], border: [] }, chars: COMPACT });
    rtTable.push(...rtRows);
    rtText = `${rtTable.toString()}\n`;
  }
  const title = command ? chalk.bold(`$ ${command}`) + '\n' : '';
  return `${title}${envTable.toString()}\n${sysTable.toString()}\n${chalk.dim(legend)}\n${rtText}${findings.map((f) => `• ${f}`).join('\n')}${findings.length ? '\n' : ''}`;
}

const TOP_RUNTIME = 10;

function safeRows(rows: string[][]): string[][] {
  return rows.map((r) => r.map(escapeControls));
}

/** Row i: each environment's i-th most frequent runtime syscall, as `name calls`. */
function topRuntimeRows(envs: EnvironmentReport[], n: number): string[][] {
  const tops = envs.map((e) => [...e.hostKernel!.syscalls].sort((a, b) => b.calls - a.calls || a.syscall.localeCompare(b.syscall)).slice(0, n));
  const depth = Math.max(0, ...tops.map((t) => t.length));
  return Array.from({ length: depth }, (_, i) => [String(i + 1), ...tops.map((t) => (t[i] ? `${t[i]!.syscall} ${t[i]!.calls}` : ''))]);
}

function cell(e: EnvironmentReport, name: string, chalk: ChalkInstance | null): string {
  const r = e.syscalls.find((s) => s.syscall === name);
  if (!r) return chalk ? chalk.dim('-') : '-';
  if (r.hostKernelCalls === null) return String(r.calls);
  const text = `${r.calls} → ${r.hostKernelCalls}`;
  if (!chalk) return text;
  return r.hostKernelCalls === 0 ? chalk.green(text) : r.hostKernelCalls < r.calls ? chalk.yellow(text) : text;
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
      const how = e.kernelReleaseSource === 'probe' ? 'a uname -r probe run in the same kind of environment was told' : 'the workload was told by uname';
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
      out.push(`${e.name}: perf attributed more calls of ${listOf(over)} to the workload than its own trace recorded: the workload's processes were not told apart exactly, so read these counts with care.`);
    }
    if (e.hostKernel && e.hostKernel.lostEvents > 0) {
      out.push(`${e.name}: perf reported ${e.hostKernel.lostEvents} lost events: the host-kernel counts may be short.`);
    }
    if (e.hostKernel && e.hostKernel.workloadSeen > e.hostKernel.workloadEntered) {
      const trapped = e.hostKernel.workloadSeen - e.hostKernel.workloadEntered;
      out.push(`${e.name}: perf saw ${trapped} of the workload's syscalls only as an exit with no entry: they were trapped before the host kernel ran them.`);
    }
    if (e.hostKernel) {
      const n = e.hostKernel.syscalls.reduce((s, r) => s + r.calls, 0);
      const runtime = e.hostKernel.processes.filter((p) => p.role === 'runtime');
      if (n > 0) out.push(`${e.name}: the runtime and tracers themselves made ${n} host syscalls in ${runtime.length} processes (${commCounts(runtime)}).`);
    }
  }
  return out;
}

function commCounts(processes: { comm: string }[]): string {
  const n = new Map<string, number>();
  // perf prints `:PID` for a task it saw no name for.
  for (const p of processes) {
    const comm = p.comm === '' || p.comm.startsWith(':') ? 'unnamed' : p.comm;
    n.set(comm, (n.get(comm) ?? 0) + 1);
  }
  return [...n].map(([comm, k]) => (k > 1 ? `${comm} ×${k}` : comm)).join(', ');
}

function listOf(items: string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function oneLine(s: string): string {
  const t = s.replace(/\n$/, '').replace(/\n/g, '⏎');
  return t.length > 40 ? t.slice(0, 39) + '…' : t;
}
