// Figures by strace class, from one environment's measured rows: how many calls of each class the workload
// issued and how many entered the host kernel; and under gVisor, the host syscalls the Sentry and the gofer
// made beside the app's calls of each class (docs/annotations.md says what that comparison can and cannot show).

import type { Annotator, SyscallAnnotation } from './index.js';

/** Pseudo-classes: strace's table has the syscall but puts it in no class; or strace's x86_64 table lacks it. */
export const NO_CLASS = 'none';
export const UNKNOWN_CLASS = 'unknown';

export interface ClassRollup {
  /** strace's class (`%file`), or `none` / `unknown`. */
  class: string;
  /** Distinct syscalls of the class the workload issued. */
  syscalls: number;
  calls: number;
  /** Of those calls, how many entered the host kernel; null when not measured. */
  hostKernelCalls: number | null;
}

export interface ClassSetRollup extends Omit<ClassRollup, 'class'> {
  /** The exact set strace gives the syscalls counted here ([] for none, null for unknown). */
  classes: string[] | null;
}

export interface ClassRollups {
  /** Per class; classes overlap (openat is %desc and %file), so a call counts once in each of its classes. */
  byClass: ClassRollup[];
  /** Per exact class set: each call counts once, so these sum to the environment's totals. */
  byClassSet: ClassSetRollup[];
}

interface Row {
  syscall: string;
  calls: number;
  hostKernelCalls: number | null;
  annotation?: SyscallAnnotation;
}

/** The classes a call counts in: strace's, or the pseudo-class saying why there is none. */
export function classesOf(a: SyscallAnnotation | undefined): string[] {
  return countedIn(a ? a.classes : null);
}

function countedIn(classes: string[] | null): string[] {
  if (classes === null) return [UNKNOWN_CLASS];
  return classes.length ? classes : [NO_CLASS];
}

export function classRollups(rows: Row[]): ClassRollups {
  const measured = rows.some((r) => r.hostKernelCalls !== null);
  const sets = new Map<string, ClassSetRollup>();
  for (const r of rows) {
    const classes = r.annotation ? r.annotation.classes : null;
    const key = classes === null ? UNKNOWN_CLASS : classes.join(' ');
    let s = sets.get(key);
    if (!s) sets.set(key, (s = { classes: classes === null ? null : [...classes], syscalls: 0, calls: 0, hostKernelCalls: measured ? 0 : null }));
    s.syscalls++;
    s.calls += r.calls;
    if (s.hostKernelCalls !== null) s.hostKernelCalls += r.hostKernelCalls ?? 0;
  }
  const byClassSet = [...sets.values()].sort((a, b) => b.calls - a.calls || setLabel(a.classes).localeCompare(setLabel(b.classes)));
  // Each class is the union of the sets holding it: one count, two views.
  const byClass = new Map<string, ClassRollup>();
  for (const s of byClassSet) {
    for (const c of countedIn(s.classes)) {
      let k = byClass.get(c);
      if (!k) byClass.set(c, (k = { class: c, syscalls: 0, calls: 0, hostKernelCalls: measured ? 0 : null }));
      k.syscalls += s.syscalls;
      k.calls += s.calls;
      if (k.hostKernelCalls !== null) k.hostKernelCalls += s.hostKernelCalls ?? 0;
    }
  }
  return { byClass: [...byClass.values()].sort((a, b) => b.calls - a.calls || a.class.localeCompare(b.class)), byClassSet };
}

/** `%desc %file`, `none`, `unknown`. */
export function setLabel(classes: string[] | null): string {
  return countedIn(classes).join(' ');
}

/**
 * The roles of src/attribution.ts (ROLE RULES) whose host calls serve the sandboxed app: the Sentry (its
 * re-exec'd helper, and its work injected into the ptrace stubs), and the gofer. The runsc CLI (create, start,
 * wait, delete) and the tool's roles are left out.
 */
export const SENTRY_ROLES = ['Sentry', 'Sentry helper (runsc re-exec)', 'ptrace stub'];
export const GOFER_ROLES = ['gofer'];

export interface FanOutClass {
  class: string;
  /** The app's calls of this class (the Sentry's --strace log). */
  appCalls: number;
  /** Host syscalls of this same class the Sentry roles and the gofer made, over the whole run. */
  sentryCalls: number;
  goferCalls: number;
  /** Their most frequent host syscalls of the class (at most 3 each). */
  sentryTop: { syscall: string; calls: number }[];
  goferTop: { syscall: string; calls: number }[];
}

export interface FanOut {
  /** Syscalls the app issued (the Sentry's log), and the class of them the gofer serves. */
  appCalls: number;
  appFileCalls: number;
  sentry: { roles: string[]; calls: number; perAppCall: number | null };
  gofer: { roles: string[]; calls: number; perAppFileCall: number | null };
  /** Classes as in ClassRollups.byClass: overlapping, each host call counted in each class of its syscall. */
  byClass: FanOutClass[];
}

interface Roles {
  roles?: { label: string; kind: 'runtime' | 'tool'; syscalls: { syscall: string; calls: number }[] }[];
}

const TOP = 3;

/** Under gVisor, with perf's roles: per class, the runtime's host calls beside the app's calls. Null otherwise. */
export function fanOut(rows: Row[], hostKernel: Roles | null, notes: Annotator): FanOut | null {
  const roles = hostKernel?.roles;
  if (!roles) return null;
  const tally = (labels: string[]) => {
    const perSyscall = new Map<string, number>();
    for (const r of roles) if (labels.includes(r.label)) for (const s of r.syscalls) perSyscall.set(s.syscall, (perSyscall.get(s.syscall) ?? 0) + s.calls);
    return perSyscall;
  };
  const sentry = tally(SENTRY_ROLES);
  const gofer = tally(GOFER_ROLES);
  const classes = new Map<string, { app: number; sentry: Map<string, number>; gofer: Map<string, number> }>();
  const at = (c: string) => {
    let k = classes.get(c);
    if (!k) classes.set(c, (k = { app: 0, sentry: new Map(), gofer: new Map() }));
    return k;
  };
  for (const r of rows) for (const c of classesOf(r.annotation)) at(c).app += r.calls;
  for (const [which, m] of [['sentry', sentry], ['gofer', gofer]] as const) {
    for (const [name, n] of m) for (const c of classesOf(notes.annotate(name))) at(c)[which].set(name, n);
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP).map(([syscall, calls]) => ({ syscall, calls }));
  const appCalls = rows.reduce((n, r) => n + r.calls, 0);
  const appFileCalls = classes.get('%file')?.app ?? 0;
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10) / 10 : null);
  return {
    appCalls,
    appFileCalls,
    sentry: { roles: SENTRY_ROLES, calls: sum(sentry), perAppCall: ratio(sum(sentry), appCalls) },
    gofer: { roles: GOFER_ROLES, calls: sum(gofer), perAppFileCall: ratio(sum(gofer), appFileCalls) },
    byClass: [...classes]
      .map(([c, k]) => ({ class: c, appCalls: k.app, sentryCalls: sum(k.sentry), goferCalls: sum(k.gofer), sentryTop: top(k.sentry), goferTop: top(k.gofer) }))
      .sort((a, b) => b.appCalls - a.appCalls || b.sentryCalls + b.goferCalls - (a.sentryCalls + a.goferCalls) || a.class.localeCompare(b.class)),
  };
}
