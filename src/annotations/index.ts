// What each syscall is, for the reader of a report: its man2 description, its strace classes and gVisor's
// support for it. Every value comes from a source named in `sources` (src/annotations/data/README.md):
// the committed man2 and strace data, and gVisor's table from the installed runsc (else the committed copy).

import man2 from './data/man2.json' with { type: 'json' };
import strace from './data/strace-classes.json' with { type: 'json' };
import { gvisorTable, COMMITTED_TABLE, type GvisorTable } from './gvisor.js';

export type { GvisorTable };

/** gVisor's word for a syscall it has in its table; NOT_IN_TABLE when it has none (the Sentry returns ENOSYS). */
export const FULL_SUPPORT = 'Full Support';
export const NOT_IN_TABLE = 'Not in table';

export interface GvisorSupport {
  /** As runsc prints it: `Full Support`, `Partial Support`, `Unimplemented`; or `Not in table` (ENOSYS). */
  support: string;
  note: string;
  urls?: string[];
}

export interface SyscallAnnotation {
  /** The man2 page's NAME line, after its dash; null when manpages-dev has no page for it. */
  description: string | null;
  /** The page that line is from: `sigaction(2)` for rt_sigaction. */
  manPage: string | null;
  /** strace's classes for it (x86_64), e.g. ['%desc', '%file']; [] when strace puts it in none; null when strace's table lacks the name. */
  classes: string[] | null;
  gvisor: GvisorSupport;
}

export interface AnnotationSources {
  manPages: { package: string; version: string };
  strace: { ref: string; commit: string; table: string };
  /** `from`: `installed /usr/bin/runsc`, or the committed data when no runsc could be read. */
  gvisor: { runscVersion: string; from: string };
}

export interface Annotator {
  annotate(syscall: string): SyscallAnnotation;
  sources: AnnotationSources;
}

interface StraceEntry {
  nr: number;
  classes: string[];
}

const STRACE = strace.syscalls as Record<string, StraceEntry>;
const MAN = man2.pages as Record<string, { page: string; description: string }>;
const STRACE_BY_NR = new Map(Object.entries(STRACE).map(([name, e]) => [e.nr, name]));

/** Annotations over one gVisor table. Names match by name, else by amd64 number (strace's `_sysctl` is gVisor's `sysctl`). */
export function annotatorWith(table: GvisorTable): Annotator {
  const gvisorByNr = new Map(Object.entries(table.syscalls).map(([name, e]) => [e.nr, name]));
  const cache = new Map<string, SyscallAnnotation>();
  const annotate = (name: string): SyscallAnnotation => {
    const hit = cache.get(name);
    if (hit) return hit;
    const nr = STRACE[name]?.nr ?? table.syscalls[name]?.nr;
    const straceName = STRACE[name] ? name : nr !== undefined ? STRACE_BY_NR.get(nr) : undefined;
    const gvName = table.syscalls[name] ? name : nr !== undefined ? gvisorByNr.get(nr) : undefined;
    const man = MAN[name] ?? (straceName ? MAN[straceName] : undefined) ?? (gvName ? MAN[gvName] : undefined);
    const g = gvName ? table.syscalls[gvName]! : undefined;
    const a: SyscallAnnotation = {
      description: man?.description ?? null,
      manPage: man?.page ?? null,
      classes: straceName ? [...STRACE[straceName]!.classes] : null,
      gvisor: g
        ? { support: g.support, note: g.note, ...(g.urls ? { urls: g.urls } : {}) }
        : { support: NOT_IN_TABLE, note: `not in runsc ${table.runscVersion}'s amd64 syscall table: gVisor returns ENOSYS` },
    };
    cache.set(name, a);
    return a;
  };
  return {
    annotate,
    sources: {
      manPages: { package: man2.source.package, version: man2.source.version },
      strace: { ref: strace.source.ref, commit: strace.source.commit, table: strace.source.files[0]! },
      gvisor: { runscVersion: table.runscVersion, from: table.from },
    },
  };
}

/** From the committed data alone (no runsc is run): for tests and for reports that must not depend on the machine. */
export const committedAnnotator = (): Annotator => annotatorWith(COMMITTED_TABLE);

let shared: Promise<Annotator> | null = null;

/** Once per process: annotations with the installed runsc's table when it can be read (it may be newer). */
export function annotator(): Promise<Annotator> {
  shared ??= gvisorTable().then(annotatorWith);
  return shared;
}

/** Whether gVisor implements the syscall fully: Partial Support, Unimplemented and Not in table are marked. */
export function fullyInGvisor(a: SyscallAnnotation): boolean {
  return a.gvisor.support === FULL_SUPPORT;
}

/**
 * The classes a report prints: strace's, without its `%%stat`/`%%statfs` unions (they only repeat the
 * %stat/%lstat/%fstat or %statfs/%fstatfs beside them); `-` for none, `?` when strace's table lacks the name.
 */
export function classText(a: SyscallAnnotation | undefined): string {
  if (!a || a.classes === null) return '?';
  const shown = a.classes.filter((c) => !isUnionClass(c));
  return shown.length ? shown.join(' ') : '-';
}

/** strace's `%%stat` and `%%statfs`: unions of other classes (any stat-like, any statfs-like call). */
export function isUnionClass(c: string): boolean {
  return c.startsWith('%%');
}

/** The report's mark for gVisor's support: '' for Full Support, else `partial`, `unimpl.`, `ENOSYS` (not in its table). */
export function gvisorMark(a: SyscallAnnotation | undefined): string {
  if (!a) return '?';
  switch (a.gvisor.support) {
    case FULL_SUPPORT: return '';
    case 'Partial Support': return 'partial';
    case 'Unimplemented': return 'unimpl.';
    case NOT_IN_TABLE: return 'ENOSYS';
    default: return a.gvisor.support;
  }
}
