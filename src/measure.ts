// One environment's figures from its two views, the same for a live run and for saved logs (run and diff
// are wiring around this): the workload's own trace is counted, the perf trace of the same run is
// attributed to workload and runtime, and the report fields both share are built. Pure over events, but
// for gVisor's syscall table, read once per process from the installed runsc (src/annotations/gvisor.ts).

import type { TraceEvent } from '../parsers/events.js';
import { attributeHostCounts, attributeHostKernel, type HostCounts } from './attribution.js';
import { WorkloadCounter, fromHostKernelView, totalsOf, type EnvironmentReport } from './compare.js';
import type { RuntimeKind } from './runtime.js';
import { ReleaseFromOutput } from './release.js';
import { annotator } from './annotations/index.js';
import { classRollups, fanOut } from './annotations/rollup.js';

export interface Views {
  name: string;
  runtime: RuntimeKind | null;
  /** The workload's own syscalls: strace text or the Sentry's log. */
  workload: { events: AsyncIterable<TraceEvent>; format: 'strace' | 'runsc' } | null;
  /** `perf trace` of the same run (the runtime included): what entered the host kernel. */
  perf: AsyncIterable<TraceEvent> | null;
  /** The same view counted in the kernel (a live run with bpftrace): used instead of `perf`. */
  hostCounts?: HostCounts | null;
  /** The command's argv; null when only the trace knows it (its first execve). */
  command: string[] | null;
  /** Host pids known to be the workload's side (a live run's container init or sandbox). */
  workloadPids?: number[];
}

/** The fields every environment report has, measured from `views`. */
export type MeasuredFields = Pick<EnvironmentReport,
  'name' | 'runtime' | 'kernelRelease' | 'kernelReleaseSource' | 'syscalls' | 'totals' | 'hostKernel' | 'unparsed' | 'detail'
  | 'annotationSources' | 'classRollup' | 'fanOut'>;

export async function measureEnvironment(views: Views): Promise<{ fields: MeasuredFields; counter: WorkloadCounter }> {
  const counter = new WorkloadCounter();
  // `uname -r` traced without -v: the release is not in uname's struct, but its output is in the trace.
  const printed = new ReleaseFromOutput();
  let command = views.command ?? [];
  if (views.workload) {
    for await (const e of views.workload.events) {
      counter.add(e);
      printed.add(e);
      if (command.length === 0 && e.kind === 'syscall' && e.name === 'execve') command = execPath(e.args);
    }
  }
  let entered: Map<string, number> | null = null;
  let hostKernel: EnvironmentReport['hostKernel'] = null;
  if ((views.perf || views.hostCounts) && views.workload) {
    const hint = {
      runtime: views.runtime ?? 'host',
      command,
      ...(views.workloadPids ? { workloadPids: views.workloadPids } : {}),
      // Host and runc/crun run the command under strace: the workload is the process strace started.
      ...(views.workload.format === 'strace' ? { tracedBy: 'strace' as const } : {}),
    };
    const view = views.hostCounts ? attributeHostCounts(views.hostCounts, hint) : await attributeHostKernel(views.perf!, hint);
    ({ entered, hostKernel } = fromHostKernelView(view, views.hostCounts ? 'bpftrace' : 'perf'));
  } else if (views.perf) {
    // perf output alone is itself the host kernel's view: each call either entered the kernel or did not.
    entered = new Map();
    for await (const e of views.perf) {
      counter.add(e);
      if (e.kind === 'syscall' && e.enteredKernel) entered.set(e.name, (entered.get(e.name) ?? 0) + 1);
    }
  }
  // Each row annotated once here, so run, diff and every format read the same annotations.
  const notes = await annotator();
  const syscalls = counter.result(entered).map((r) => ({ ...r, annotation: notes.annotate(r.syscall) }));
  const fromOutput = counter.kernelRelease === null ? printed.release : null;
  return {
    counter,
    fields: {
      name: views.name,
      runtime: views.runtime,
      kernelRelease: counter.kernelRelease ?? fromOutput,
      kernelReleaseSource: counter.kernelRelease !== null ? 'workload' : fromOutput !== null ? 'output' : null,
      syscalls,
      totals: totalsOf(syscalls, entered !== null),
      hostKernel,
      unparsed: counter.unparsed,
      detail: counter.detail(),
      annotationSources: notes.sources,
      classRollup: classRollups(syscalls),
      fanOut: views.runtime === 'runsc' ? fanOut(syscalls, hostKernel, notes) : null,
    },
  };
}

/** The program a strace execve started: its first argument, as the basename attribution matches on. */
function execPath(args: string): string[] {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(args);
  return m?.[1] ? [m[1]] : [];
}

/**
 * A trace the run stopped (timeout, signal) may end mid-line: that last line, cut short, is not bad
 * input. It becomes a message saying where the trace was cut; every other unparsed line stays one.
 */
export async function* endCutShort(events: AsyncIterable<TraceEvent>, why: string): AsyncGenerator<TraceEvent> {
  let held: TraceEvent | null = null;
  for await (const e of events) {
    if (held) yield held;
    held = e;
  }
  if (held?.kind === 'unparsed') {
    const { file, line, pid } = held;
    yield { kind: 'message', file, line, pid, text: `the trace ends here, cut short when ${why}` };
  } else if (held) yield held;
}
