// `--format html`: one self-contained page (inline CSS and SVG, a Content-Security-Policy that forbids every
// fetch and every script), readable on screen and printed. Its figures are the other formats' own: the
// cells, findings and difference sentences come from comparison-report.ts, the charts plot the same
// numbers (charts.ts). Every text from a trace or the command line is escaped (escapeHtml).

import type { Comparison, EnvironmentReport } from '../compare.js';
import { differences } from '../differences.js';
import type { Summary } from '../summary.js';
import { syscallUnion } from '../compare.js';
import {
  ENV_FIELDS, TOP_RUNTIME, cell, differenceLines, differencesTitle, envCells, findingsOf, legendOf, noticesOf, rolesOf, runtimeOwn, topRuntimeRows,
  tracepointReader,
} from './comparison-report.js';
import { summaryTable } from './summary-report.js';
import { comparisonAnnotations, type ComparisonAnnotations } from '../annotations/comparison.js';
import {
  ANNOTATION_HEAD, FANOUT_HEAD, ROLLUP_TITLE, annotationCells, annotationLegend, descriptionTitle, fanOutRows, fanOutSummary, gvisorLines, gvisorTitle,
  rollupRows, withFanOut,
} from '../annotations/report.js';
import { fullyInGvisor, isUnionClass } from '../annotations/index.js';
import type { LessonReport } from './lesson-report.js';
import { overviewHead, overviewRows } from './lesson-report.js';
import { barSpec, renderChart, type Bar } from './charts.js';
import { escapeControls } from './escape.js';
import { shellCommand } from './layout.js';

const HTML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for HTML content or a quoted attribute: controls made visible as in the other formats (a report is
 * also read with `less` and `grep`), then the five characters HTML gives a meaning to.
 */
export function escapeHtml(text: string): string {
  return escapeControls(text).replace(/[&<>"']/g, (c) => HTML_SPECIAL[c]!);
}

export interface HtmlOptions {
  /** The container image the Pod manifests name; default `debian:stable-slim`. */
  image?: string;
}

/** Syscalls plotted per chart (the most called across environments); the table below lists every one. */
export const CHART_SYSCALLS = 25;

/** A whole page for one comparison (run or diff). */
export async function renderComparisonHtml(c: Comparison, options: HtmlOptions = {}): Promise<string> {
  const title = c.command ? `trace-compare: ${shellCommand(c.command)}` : `trace-compare diff: ${c.environments.map((e) => e.name).join(', ')}`;
  const body = await comparisonSection(c, { level: 2, id: 'c' });
  const k8s = manifestsSection(c, options.image, 2);
  return htmlDocument(title, `<h1>${escapeHtml(title)}</h1>\n${MEASURED_NOTE}\n${body}${k8s}`);
}

const MEASURED_NOTE = '<p class="note">Every figure on this page is read from the traces of the run it reports: the workload\'s own trace (strace, or gVisor\'s Sentry log) and, when measured, the host kernel\'s syscall tracepoints read in the same run (counted in the kernel by bpftrace, or recorded by perf; each legend says which).</p>';

/** The page around a body: inline style, no script, nothing fetched (the CSP says so to the browser). */
export function htmlDocument(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="trace-compare">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --zero: #1a7f37; --part: #9a6700; }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--ink); max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid var(--rule); } h3 { font-size: 1.05rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
pre { background: #f6f8fa; padding: 0.6rem 0.8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid var(--rule); padding: 0.2rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.zero { color: var(--zero); font-weight: 600; } td.part { color: var(--part); font-weight: 600; }
td.out { max-width: 18rem; overflow-wrap: anywhere; }
td.desc { max-width: 22rem; font-size: 0.85rem; } td.gv { color: #cf222e; font-weight: 600; }
.note, .legend { color: var(--muted); font-size: 0.9rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0.5rem 0; }
figure.chart svg { max-width: 100%; height: auto; }
ul.findings li, ul.differences li { margin: 0.15rem 0; }
section.command { border-top: 3px solid var(--rule); margin-top: 2.5rem; }
@page { margin: 1.5cm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; }
  h2, h3 { break-after: avoid; }
  table, figure.chart, pre { break-inside: avoid; }
  thead { display: table-header-group; }
  section.command { break-before: page; border-top: none; }
  pre { white-space: pre-wrap; }
}
`;

interface SectionOptions {
  /** Heading level of the section titles (2 on a page of its own, 3 inside a lesson's command). */
  level: number;
  /** Prefix of element ids, unique per comparison on the page. */
  id: string;
}

/** The comparison's tables, charts, findings and differences, with headings at `level`. */
export async function comparisonSection(c: Comparison, o: SectionOptions): Promise<string> {
  const h = (text: string, id: string) => `<h${o.level} id="${o.id}-${id}">${escapeHtml(text)}</h${o.level}>\n`;
  const envs = c.environments;
  const out: string[] = [];

  out.push(h('Environments', 'environments'));
  out.push(table(['environment', ...ENV_FIELDS], envs.map((e) => [e.name, ...envCells(e)]), { cls: 'environments', outputColumn: 4 }));
  const notices = noticesOf(c);
  if (notices.length) out.push(list(notices, 'notices'));

  const notes = comparisonAnnotations(c);
  out.push(h('Syscalls', 'syscalls'));
  out.push(`<p class="legend">${escapeHtml(legendOf(c))}</p>\n`);
  out.push(`<div class="charts">\n${(await syscallCharts(envs)).join('\n')}</div>\n`);
  out.push(syscallTable(c, notes));
  if (notes) {
    out.push(`<p class="legend">${escapeHtml(annotationLegend(notes.sources))} ${escapeHtml(descriptionTitle(notes).replace(/:$/, ''))}.</p>\n`);
    out.push(h('gVisor support', 'gvisor'), `<p>${escapeHtml(gvisorTitle(notes))}</p>\n`);
    const lines = gvisorLines(notes);
    if (lines.length) out.push(list(lines, 'gvisor'));
  }
  const rollRows = rollupRows(c);
  if (rollRows.length) {
    out.push(h('Calls by strace class', 'classes'), `<p class="legend">${escapeHtml(ROLLUP_TITLE)}</p>\n`);
    out.push(`<div class="charts">\n${(await classCharts(envs, rollRows.slice(0, -1).map((r) => r[0]!))).join('\n')}</div>\n`);
    out.push(table(['class', ...envs.map((e) => (e.totals.hostKernelCalls === null ? e.name : `${e.name} (calls → host kernel)`))], rollRows, { cls: 'classes' }));
  }
  for (const e of withFanOut(c)) {
    out.push(h(`${e.name}: host syscalls of the sandbox beside the app's, by class`, `fanout-${e.name}`));
    out.push(`<p>${escapeHtml(fanOutSummary(e))}</p>\n`, table(FANOUT_HEAD, fanOutRows(e.fanOut), { cls: 'fanout' }));
  }

  const runtimeEnvs = envs.filter((e) => e.hostKernel !== null && runtimeOwn(e).length > 0);
  if (runtimeEnvs.length) {
    out.push(h(`What each runtime asked of the host kernel (tracer overhead apart), top ${TOP_RUNTIME}`, 'runtime'));
    // One chart per runtime: each has its own top syscalls.
    const charts = await Promise.all(runtimeEnvs.map(async (e) => figure(await renderChart(barSpec({
      title: `${e.name}: the runtime's own host syscalls, top ${TOP_RUNTIME}`,
      category: 'syscall',
      measure: 'host syscalls',
      environments: [e.name],
      palette: envs.map((x) => x.name),
      bars: topOwn(e).map((s) => ({ environment: e.name, category: s.syscall, value: s.calls })),
    })), 'runtime')));
    out.push(`<div class="charts">\n${charts.join('')}</div>\n`);
    out.push(table(['#', ...runtimeEnvs.map((e) => `${e.name}: runtime → host kernel`)], topRuntimeRows(runtimeEnvs, TOP_RUNTIME), { cls: 'runtime' }));
  }
  const roles = rolesOf(c);
  if (roles.length) out.push(h('Who made the host syscalls (by role)', 'roles'), list(roles, 'roles'));
  const findings = findingsOf(c);
  if (findings.length) out.push(h('Findings', 'findings'), list(findings, 'findings'));
  const diffs = differenceLines(c, differences(c));
  if (diffs.length) out.push(h(differencesTitle(c).replace(/:$/, ''), 'differences'), list(diffs, 'differences'));
  return out.join('');
}

/** The runtime's own top syscalls, as topRuntimeRows lists them (copied: runtimeOwn may hand back the report's own array). */
function topOwn(e: EnvironmentReport): { syscall: string; calls: number }[] {
  return [...runtimeOwn(e)].sort((a, b) => b.calls - a.calls || a.syscall.localeCompare(b.syscall)).slice(0, TOP_RUNTIME);
}

async function syscallCharts(envs: EnvironmentReport[]): Promise<string[]> {
  const names = syscallUnion(envs);
  const shown = names.slice(0, CHART_SYSCALLS);
  const more = names.length > shown.length ? ` (the ${shown.length} most called of ${names.length}; the table lists all)` : '';
  const bars = (value: (r: EnvironmentReport['syscalls'][number]) => number | null, from: EnvironmentReport[]): Bar[] =>
    shown.flatMap((name) => from.flatMap((e) => {
      const r = e.syscalls.find((s) => s.syscall === name);
      const v = r ? value(r) : 0;
      return v === null ? [] : [{ environment: e.name, category: name, value: v }];
    }));
  const charts = [
    figure(await renderChart(barSpec({
      title: `Calls the workload issued${more}`, category: 'syscall', measure: 'calls issued', environments: envs.map((e) => e.name), bars: bars((r) => r.calls, envs),
    })), 'calls'),
  ];
  const measured = envs.filter((e) => e.totals.hostKernelCalls !== null);
  if (measured.length) {
    charts.push(figure(await renderChart(barSpec({
      title: `Of those, calls that entered the host kernel${more}`, category: 'syscall', measure: `entered the host kernel (${tracepointReader(measured)})`,
      environments: measured.map((e) => e.name), palette: envs.map((e) => e.name), bars: bars((r) => r.hostKernelCalls, measured),
    })), 'host-kernel'));
  }
  return charts;
}

function figure(svg: string, name: string): string {
  return `<figure class="chart" data-chart="${name}">${svg}</figure>\n`;
}

/** The syscall table: the name, its annotations when the rows have some (man2 line, class, gVisor), then a cell per environment. */
function syscallTable(c: Comparison, notes: ComparisonAnnotations | null): string {
  const envs = c.environments;
  const noteOf = new Map((notes?.syscalls ?? []).map((x) => [x.syscall, x.annotation]));
  const head = [
    'syscall', ...(notes ? ['what it is (man2)', ...ANNOTATION_HEAD] : []),
    ...envs.map((e) => (e.totals.hostKernelCalls === null ? e.name : `${e.name} (calls → host kernel)`)),
  ];
  const rows = syscallUnion(envs).map((name) => {
    const a = noteOf.get(name);
    const annotated = notes
      ? [
          `<td class="desc">${a?.description ? `${escapeHtml(a.description)} <span class="note">${escapeHtml(a.manPage ?? '')}</span>` : ''}</td>`,
          ...annotationCells(a).map((x, i) => `<td class="mono${i === 1 && a && !fullyInGvisor(a) ? ' gv' : ''}"${i === 1 && a ? ` title="${escapeHtml(`${a.gvisor.support}: ${a.gvisor.note}`)}"` : ''}>${escapeHtml(x)}</td>`),
        ]
      : [];
    const cells = envs.map((e) => {
      const r = e.syscalls.find((x) => x.syscall === name);
      const cls = !r || r.hostKernelCalls === null ? 'num' : r.hostKernelCalls === 0 ? 'num zero' : r.hostKernelCalls < r.calls ? 'num part' : 'num';
      return `<td class="${cls}">${escapeHtml(cell(e, name, null))}</td>`;
    });
    return `<tr><th scope="row" class="mono">${escapeHtml(name)}</th>${annotated.join('')}${cells.join('')}</tr>`;
  });
  return `<table class="syscalls">\n<thead><tr>${head.map((x) => `<th>${escapeHtml(x)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>\n`;
}

/** Calls by strace class, and of those how many entered the host kernel: classRollup's figures, in `classes`' order. */
async function classCharts(envs: EnvironmentReport[], classes: string[]): Promise<string[]> {
  const rolled = envs.filter((e) => e.classRollup);
  const bars = (value: (k: { calls: number; hostKernelCalls: number | null }) => number | null, from: EnvironmentReport[]): Bar[] =>
    classes.filter((k) => !isUnionClass(k)).flatMap((k) => from.flatMap((e) => {
      const r = e.classRollup!.byClass.find((x) => x.class === k);
      const v = r ? value(r) : 0;
      return v === null ? [] : [{ environment: e.name, category: k, value: v }];
    }));
  const palette = envs.map((e) => e.name);
  const charts = [figure(await renderChart(barSpec({
    title: 'Calls by strace class', category: 'class', measure: 'calls issued', environments: rolled.map((e) => e.name), palette, bars: bars((k) => k.calls, rolled),
  })), 'classes')];
  const measured = rolled.filter((e) => e.totals.hostKernelCalls !== null);
  if (measured.length) {
    charts.push(figure(await renderChart(barSpec({
      title: 'Of those, calls that entered the host kernel', category: 'class', measure: `entered the host kernel (${tracepointReader(measured)})`,
      environments: measured.map((e) => e.name), palette, bars: bars((k) => k.hostKernelCalls, measured),
    })), 'classes-host-kernel'));
  }
  return charts;
}

function table(head: string[], rows: string[][], o: { cls: string; outputColumn?: number }): string {
  const td = (x: string, i: number) => `<td${i === o.outputColumn ? ' class="out"' : /^\d+( \/ \d+)?$/.test(x) ? ' class="num"' : ''}>${escapeHtml(x)}</td>`;
  return (
    `<table class="${o.cls}">\n<thead><tr>${head.map((x) => `<th>${escapeHtml(x)}</th>`).join('')}</tr></thead>\n<tbody>\n` +
    rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n') +
    '\n</tbody>\n</table>\n'
  );
}

function list(items: string[], cls: string): string {
  return `<ul class="${cls}">\n${items.map((x) => `<li>${escapeHtml(x)}</li>`).join('\n')}\n</ul>\n`;
}

// --- Kubernetes manifests ---------------------------------------------------------------------------

/**
 * A YAML scalar that means exactly `text`: a JSON string is a YAML 1.2 double-quoted scalar, once DEL,
 * C1, the line/paragraph separators and the BOM (raw in JSON, not printable in YAML) are `\uXXXX`-escaped.
 */
export function yamlString(text: string): string {
  return JSON.stringify(text).replace(/[\x7f-\x9f\u2028\u2029\ufeff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const yamlList = (items: string[]) => `[${items.map(yamlString).join(', ')}]`;

/** A Kubernetes quantity for bytes: `1Gi`, `512Mi`, else the byte count. */
function memoryQuantity(bytes: number): string {
  for (const [unit, n] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) if (bytes % n === 0) return `${bytes / n}${unit}`;
  return String(bytes);
}

/** A pod environment's RuntimeClass: named as the environment, its handler the runtime the run used. */
export function runtimeClassYaml(e: EnvironmentReport): string {
  return [
    'apiVersion: node.k8s.io/v1',
    'kind: RuntimeClass',
    'metadata:',
    `  name: ${yamlString(e.name)}`,
    `handler: ${yamlString(e.runtime ?? '')}`,
    '',
  ].join('\n');
}

/**
 * The Pod that runs `command` under environment `e`'s RuntimeClass, confined as the run confined it: the
 * argv as `command` (its first word) and `args` (the rest), never a shell; RuntimeDefault seccomp or
 * privileged; the CPU and memory limits.
 */
export function podYaml(e: EnvironmentReport, command: string[], image = DEFAULT_IMAGE, name = `trace-compare-${e.name}`): string {
  const c = e.confinement;
  const lines = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${yamlString(podName(name))}`,
    'spec:',
    `  runtimeClassName: ${yamlString(e.name)}`,
    '  restartPolicy: Never',
    ...(c?.profile === 'privileged' ? [] : ['  securityContext:', '    seccompProfile:', '      type: RuntimeDefault']),
    '  containers:',
    '    - name: workload',
    `      image: ${yamlString(image)}  # any image holding the command: trace-compare ran the host's own /usr`,
    `      command: ${yamlList(command.slice(0, 1))}`,
    `      args: ${yamlList(command.slice(1))}`,
    ...(c?.profile === 'privileged' ? ['      securityContext:', '        privileged: true'] : []),
    ...(c
      ? [
          '      resources:',
          '        limits:',
          `          cpu: ${yamlString(String(c.limits.cpus))}`,
          `          memory: ${yamlString(memoryQuantity(c.limits.memoryBytes))}`,
          `  # the run's pids limit (${c.limits.pids}) is a node setting in Kubernetes (kubelet podPidsLimit), not a Pod field`,
        ]
      : []),
    '',
  ];
  return lines.join('\n');
}

export const DEFAULT_IMAGE = 'debian:stable-slim';

/** A DNS-1123 name from free text: lower case, other characters as `-`, at most 63. */
function podName(text: string): string {
  const n = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return n || 'trace-compare';
}

/** The pod environments of a comparison (the host has no RuntimeClass). */
export function podEnvironments(c: Comparison): EnvironmentReport[] {
  return c.environments.filter((e) => e.runtime !== null && e.runtime !== 'host');
}

/** RuntimeClasses and Pods of a comparison, as a section; empty when it has no pod. */
function manifestsSection(c: Comparison, image: string | undefined, level: number): string {
  const pods = podEnvironments(c);
  if (pods.length === 0) return '';
  return (
    `<h${level} id="kubernetes">The same comparison in a cluster</h${level}>\n` +
    runtimeClassesHtml(pods) +
    (c.command ? podsHtml(pods, c.command, image) : '<p class="note">The command is not known from saved logs: no Pod manifest.</p>\n')
  );
}

/** The RuntimeClass manifests (`kubectl apply -f`), one document per pod environment. */
export function runtimeClassesHtml(pods: EnvironmentReport[]): string {
  return (
    '<p>A RuntimeClass per sandbox, named as in this report (the node\'s containerd must have a runtime of that handler configured):</p>\n' +
    `<pre class="manifest" data-kind="RuntimeClass">${escapeHtml(pods.map(runtimeClassYaml).join('---\n'))}</pre>\n`
  );
}

export function podsHtml(pods: EnvironmentReport[], command: string[], image: string | undefined, prefix = 'trace-compare'): string {
  return (
    '<p>A Pod per sandbox running the same argument vector (no shell), confined as this run confined it:</p>\n' +
    `<pre class="manifest" data-kind="Pod">${escapeHtml(pods.map((e) => podYaml(e, command, image, `${prefix}-${e.name}`)).join('---\n'))}</pre>\n`
  );
}

// --- summary ----------------------------------------------------------------------------------------

/** `summary --format html`: strace -c's table as a page. */
export function renderSummaryHtml(summary: Summary): string {
  const { head, rows } = summaryTable(summary);
  const body = rows.map((r, i) => {
    const tag = i === rows.length - 1 ? 'th' : 'td';
    return `<tr>${r.map((x, j) => `<${tag}${j < r.length - 1 ? ' class="num"' : ''}>${escapeHtml(x)}</${tag}>`).join('')}</tr>`;
  });
  return htmlDocument(
    'trace-compare summary',
    '<h1>trace-compare summary</h1>\n<table class="summary">\n' +
      `<thead><tr>${head.map((x) => `<th>${escapeHtml(x)}</th>`).join('')}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>\n`,
  );
}

// --- lesson -----------------------------------------------------------------------------------------

/** `lesson --format html`: the overview, the RuntimeClasses once, then each command with its comparison and its Pods. */
export async function renderLessonHtml(r: LessonReport, options: HtmlOptions = {}): Promise<string> {
  const out: string[] = [`<h1>${escapeHtml(r.title)}</h1>\n`];
  if (r.description !== undefined) out.push(`<p>${escapeHtml(r.description)}</p>\n`);
  out.push(MEASURED_NOTE + '\n');
  out.push('<h2 id="overview">Overview</h2>\n');
  out.push(table(overviewHead(r), overviewRows(r), { cls: 'overview' }));
  out.push('<ol class="contents">\n' + r.commands.map((cmd, i) => `<li><a href="#cmd-${i + 1}">${escapeHtml(cmd.title)}</a></li>`).join('\n') + '\n</ol>\n');
  const pods = r.commands[0] ? podEnvironments(r.commands[0].comparison) : [];
  if (pods.length) out.push('<h2 id="kubernetes">The same lesson in a cluster</h2>\n', runtimeClassesHtml(pods), '<p>Each command\'s Pods are beside its report.</p>\n');
  for (const [i, cmd] of r.commands.entries()) {
    const id = `cmd-${i + 1}`;
    out.push(`<section class="command" id="${id}">\n<h2>${i + 1}. ${escapeHtml(cmd.title)}</h2>\n`);
    if (cmd.note !== undefined) out.push(`<p class="lesson-note">${escapeHtml(cmd.note)}</p>\n`);
    out.push(`<pre class="command">$ ${escapeHtml(shellCommand(cmd.argv))}</pre>\n`);
    out.push(await comparisonSection(cmd.comparison, { level: 3, id }));
    if (pods.length) out.push(`<h3 id="${id}-kubernetes">In a cluster</h3>\n`, podsHtml(podEnvironments(cmd.comparison), cmd.argv, options.image, `lesson-${i + 1}`));
    out.push('</section>\n');
  }
  return htmlDocument(r.title, out.join(''));
}
