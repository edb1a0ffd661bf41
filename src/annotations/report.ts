// The annotations as report text: cells, legends, lists and roll-up rows that table, markdown (and html) print.
// Pure over a Comparison whose rows measure.ts annotated; every figure is one of that comparison's.

import type { Comparison, EnvironmentReport } from '../compare.js';
import type { ComparisonAnnotations } from './comparison.js';
import { classText, gvisorMark, isUnionClass, type AnnotationSources, type SyscallAnnotation } from './index.js';
import type { FanOut } from './rollup.js';

/** The syscall table's two annotation columns. */
export const ANNOTATION_HEAD = ['class', 'gVisor'];

export function annotationCells(a: SyscallAnnotation | undefined): string[] {
  return [classText(a), gvisorMark(a)];
}

/** `the syscall table of runsc 0.0~20221219.0 (installed /usr/bin/runsc)`: which table the gVisor column is from. */
export function gvisorSource(s: AnnotationSources): string {
  return `the syscall table of runsc ${s.gvisor.runscVersion} (${s.gvisor.from})`;
}

export function annotationLegend(s: AnnotationSources): string {
  return `class: strace ${s.strace.ref}'s syscall classes (-e trace=%CLASS; - none). ` +
    `gVisor: its support in ${gvisorSource(s)}; blank: Full Support, partial: Partial Support, unimpl.: Unimplemented, ENOSYS: not in the table.`;
}

/** One line per syscall: what its man2 page's NAME line says it does. */
export function descriptionLines(n: ComparisonAnnotations): string[] {
  return n.syscalls.map(({ syscall, annotation: a }) =>
    a.description === null
      ? `${syscall}: no man2 page in ${n.sources.manPages.package} ${n.sources.manPages.version}`
      : `${syscall} (${a.manPage}): ${a.description}`);
}

export function descriptionTitle(n: ComparisonAnnotations): string {
  return `What each syscall does (the NAME line of its man2 page, ${n.sources.manPages.package} ${n.sources.manPages.version}):`;
}

/** Each syscall the workload issued that gVisor does not fully implement, with runsc's note and the calls made. */
export function gvisorLines(n: ComparisonAnnotations): string[] {
  return n.notFullyInGvisor.map(({ syscall, annotation: a, calls }) =>
    `${syscall} (${a.gvisor.support}): ${a.gvisor.note}` + (a.gvisor.urls?.length ? ` See ${a.gvisor.urls.join(', ')}.` : '') +
    ` — calls: ${Object.entries(calls).map(([env, k]) => `${env} ${k}`).join(', ')}`);
}

export function gvisorTitle(n: ComparisonAnnotations): string {
  return n.notFullyInGvisor.length
    ? `Syscalls the workload issued that gVisor does not fully implement, per ${gvisorSource(n.sources)}:`
    : `gVisor fully implements every syscall the workload issued, per ${gvisorSource(n.sources)}.`;
}

export const ROLLUP_TITLE = 'Calls by strace class (a call counts in each class of its syscall: openat is %desc and %file); the last row counts each call once:';

/** Rows: a class, then per environment `calls → entered host kernel` (or calls when not measured). */
export function rollupRows(c: Comparison): string[][] {
  const envs = c.environments.filter((e) => e.classRollup);
  if (envs.length === 0) return [];
  const total = new Map<string, number>();
  for (const e of envs) for (const k of e.classRollup!.byClass) if (!isUnionClass(k.class)) total.set(k.class, (total.get(k.class) ?? 0) + k.calls);
  const classes = [...total].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
  const count = (calls: number, entered: number | null) => (entered === null ? String(calls) : `${calls} → ${entered}`);
  return [
    ...classes.map((k) => [k, ...c.environments.map((e) => {
      const r = e.classRollup?.byClass.find((x) => x.class === k);
      return r ? count(r.calls, r.hostKernelCalls) : '-';
    })]),
    ['all', ...c.environments.map((e) => (e.classRollup ? count(e.totals.calls, e.totals.hostKernelCalls) : '-'))],
  ];
}

/** The fan-out in one sentence, with what it is not. */
export function fanOutSummary(e: EnvironmentReport & { fanOut: FanOut }): string {
  const f = e.fanOut;
  const per = (x: number | null, what: string) => (x === null ? '' : ` (${x} per ${what})`);
  return `${e.name}: the app issued ${f.appCalls} syscalls, ${f.appFileCalls} of them in %file; over the whole run, sandbox start and ` +
    `teardown included, the Sentry made ${f.sentry.calls} host syscalls${per(f.sentry.perAppCall, 'app syscall')} and the gofer ` +
    `${f.gofer.calls}${per(f.gofer.perAppFileCall, 'app %file call')}: an upper bound of the cost, not a per-call measurement (docs/annotations.md).`;
}

export const FANOUT_HEAD = ['class', 'app calls', 'Sentry host calls of that class', 'gofer host calls of that class'];

export function fanOutRows(f: FanOut): string[][] {
  const tops = (n: number, top: { syscall: string; calls: number }[]) => (top.length ? `${n}: ${top.map((t) => `${t.syscall} ${t.calls}`).join(', ')}` : String(n));
  return f.byClass.filter((k) => !isUnionClass(k.class)).map((k) => [k.class, String(k.appCalls), tops(k.sentryCalls, k.sentryTop), tops(k.goferCalls, k.goferTop)]);
}

export function withFanOut(c: Comparison): (EnvironmentReport & { fanOut: FanOut })[] {
  return c.environments.filter((e): e is EnvironmentReport & { fanOut: FanOut } => Boolean(e.fanOut));
}
