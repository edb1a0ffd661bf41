// The annotations of a whole comparison: the union of the environments' syscalls (the rows the reports
// print), each with the annotation its rows carry, and those gVisor does not fully implement. Pure: read
// from the rows measure.ts annotated, never looked up again.

import { syscallUnion, type Comparison } from '../compare.js';
import { fullyInGvisor, type AnnotationSources, type SyscallAnnotation } from './index.js';

export interface AnnotatedSyscall {
  syscall: string;
  annotation: SyscallAnnotation;
  /** Environment name -> calls the workload issued there (absent: none). */
  calls: Record<string, number>;
}

export interface ComparisonAnnotations {
  sources: AnnotationSources;
  syscalls: AnnotatedSyscall[];
  /** The workload's syscalls gVisor does not fully implement: Partial Support, Unimplemented, Not in table. */
  notFullyInGvisor: AnnotatedSyscall[];
}

export function comparisonAnnotations(c: Comparison): ComparisonAnnotations | null {
  const sources = c.environments.find((e) => e.annotationSources)?.annotationSources;
  if (!sources) return null;
  const syscalls: AnnotatedSyscall[] = [];
  for (const name of syscallUnion(c.environments)) {
    let annotation: SyscallAnnotation | undefined;
    const calls: Record<string, number> = {};
    for (const e of c.environments) {
      const r = e.syscalls.find((s) => s.syscall === name);
      if (!r) continue;
      calls[e.name] = r.calls;
      annotation ??= r.annotation;
    }
    if (annotation) syscalls.push({ syscall: name, annotation, calls });
  }
  return { sources, syscalls, notFullyInGvisor: syscalls.filter((s) => !fullyInGvisor(s.annotation)) };
}
