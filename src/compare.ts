// The comparison model: per environment, what the workload issued and what of it reached the host kernel.
// Pure: it consumes parsed events; running things happens in src/runners.

import type { SyscallEvent, TraceEvent } from '../parsers/events.js';
import { isError } from '../parsers/events.js';
import type { HostKernelView, RoleSummary } from './attribution.js';
import type { RuntimeKind } from './runtime.js';
import type { Confinement } from './runners/confinement.js';
import type { AnnotationSources, SyscallAnnotation } from './annotations/index.js';
import type { ClassRollups, FanOut } from './annotations/rollup.js';

export type { RuntimeKind };

export interface SyscallRow {
  syscall: string;
  /** Calls the workload issued, finished or not (exit_group never returns). */
  calls: number;
  errors: number;
  /** Calls whose entry the host kernel saw (perf sys_enter), null when that view was not measured. */
  hostKernelCalls: number | null;
  /** What the syscall is (man2), its strace classes and gVisor's support (src/annotations); absent in reports made without. */
  annotation?: SyscallAnnotation;
}

export type HostKernelTool = 'perf' | 'bpftrace';

export interface HostKernelSummary {
  /** What the runtime itself (runc init, Sentry, gofer) and the tool (strace, the status wrapper sh) asked of the host kernel. */
  syscalls: { syscall: string; calls: number }[];
  /** The same calls by role (attribution.ts ROLE RULES): kind `runtime` is the runtime's own, `tool` the tracer overhead. */
  roles?: RoleSummary[];
  processes: { pid: number; comm: string; role: 'workload' | 'runtime'; label?: string; what: string }[];
  /**
   * What read the kernel's syscall tracepoints: bpftrace counting in the kernel (a live run's default), or
   * perf (recorded, or a saved perf trace). Absent in reports made before it was recorded: perf.
   */
  measuredBy?: HostKernelTool;
  /** Syscalls the view saw from the workload's processes, and how many of them it saw enter (sys_enter). */
  workloadSeen: number;
  workloadEntered: number;
  /** Events perf reported lost: when above 0, the counts may be short. */
  lostEvents: number;
  /** bpftrace's maps that filled: the counts may be short (absent: none, or a report made before it was recorded). */
  fullMaps?: string[];
}

export interface EnvironmentReport {
  name: string;
  runtime: RuntimeKind | null;
  /** Saved logs this environment was read from (diff), or the trace files of this run. */
  sources: string[];
  kernelRelease: string | null;
  /**
   * Where the release was read: the workload's own uname call, a probe run in the same kind of sandbox, or
   * (saved traces of `uname -r`/`-a`) the command's own printed output.
   */
  kernelReleaseSource: 'workload' | 'probe' | 'output' | null;
  exitCode: number | null;
  /** How the run ended when not normally: 'timeout', 'interrupted', 'signal SIGKILL', a runtime error. */
  ended?: string;
  stdout: string | null;
  stderr?: string | null;
  syscalls: SyscallRow[];
  totals: { calls: number; distinct: number; hostKernelCalls: number | null };
  hostKernel: HostKernelSummary | null;
  /** Input lines no parser understood (reported on stderr as they were met). */
  unparsed: number;
  /** Bytes the workload wrote to stdout and stderr in full (stdout/stderr hold a bounded sample). */
  outputBytes?: { stdout: number; stderr: number };
  /** Present when the figures may be short, with each reason (a tracer failed, a log was cut short). */
  incomplete?: string[];
  /** What confined a pod in this run (seccomp, capabilities, limits, namespaces); absent on the host. */
  confinement?: Confinement;
  /**
   * Per syscall, which errnos it returned and where in the trace; the paths the workload named
   * (WorkloadCounter.detail()). Read by the differences section; absent for reports made without it.
   */
  detail?: WorkloadDetail;
  /** The versions of the sources every row's `annotation` came from (man pages, strace, runsc). */
  annotationSources?: AnnotationSources;
  /** The workload's calls by strace class, and how many of them reached the host kernel. */
  classRollup?: ClassRollups;
  /** Under gVisor with perf's roles: per class, the Sentry's and gofer's host calls beside the app's calls; else null. */
  fanOut?: FanOut | null;
}

/** A line of a trace: the evidence a finding cites. */
export interface Evidence {
  file: string;
  line: number;
}

export interface SyscallDetail {
  syscall: string;
  /** errno name -> calls that returned it (restarts like ERESTARTSYS included). */
  errnos: Record<string, number>;
  /** The first call of this syscall, and the first call that returned each errno. */
  first: Evidence;
  firstErrno: Record<string, Evidence>;
}

/** A path the workload named in open/openat/openat2/creat/execve/execveat/stat-like/access calls. */
export interface PathUse {
  path: string;
  /** The syscalls that named it, in the order first seen. */
  syscalls: string[];
  calls: number;
  /** errno name -> calls naming this path that returned it; {} when every call succeeded. */
  errnos: Record<string, number>;
  first: Evidence;
}

export interface WorkloadDetail {
  syscalls: SyscallDetail[];
  /** At most MAX_PATHS distinct paths, in the order first seen. */
  paths: PathUse[];
  /** Calls naming a path that was not kept because MAX_PATHS distinct paths were kept already. */
  pathsDropped: number;
}

/** Distinct paths kept per environment: enough for a loader's probes and a small program's files. */
export const MAX_PATHS = 200;

/** Syscalls whose first path argument is worth comparing between environments. */
export const PATH_SYSCALLS = new Set([
  'open', 'openat', 'openat2', 'creat', 'execve', 'execveat', 'stat', 'lstat', 'newfstatat', 'fstatat64',
  'statx', 'access', 'faccessat', 'faccessat2', 'readlink', 'readlinkat', 'chdir',
]);

/**
 * The first path argument of a call as the tracer printed it: strace's first string literal
 * (`openat(AT_FDCWD, "/etc/ld.so.cache", ...)`, kept as printed, escapes and all), or the Sentry's
 * `0xADDR /path` form (`openat(AT_FDCWD /, 0x7f1d... /etc/ld.so.cache, ...)`). Empty paths
 * (`newfstatat(4, "", ..., AT_EMPTY_PATH)`) name no file: null.
 */
export function pathArgument(e: SyscallEvent): string | null {
  if (e.source === 'runsc') {
    const m = /(?:^|, )0x[0-9a-f]+ ([^,)]+)/.exec(e.args);
    return m?.[1] ? m[1] : null;
  }
  const m = /"((?:[^"\\]|\\.)*)"/.exec(e.args);
  return m?.[1] ? m[1] : null;
}

export interface Comparison {
  command: string[] | null;
  environments: EnvironmentReport[];
}

/** Counts the workload's own syscalls as they stream by, and remembers the kernel release it was told. */
export class WorkloadCounter {
  private readonly rows = new Map<string, { calls: number; errors: number }>();
  private readonly details = new Map<string, SyscallDetail>();
  private readonly paths = new Map<string, PathUse>();
  private pathsDropped = 0;
  kernelRelease: string | null = null;
  unparsed = 0;
  /** How the traced command (the first process seen) ended, when the log says. */
  exitCode: number | null = null;
  killedBy: string | null = null;
  private firstPid: number | null | undefined;

  /** Whether the trace shows the traced command's end (its exit or the signal that killed it). */
  get ended(): boolean {
    return this.exitCode !== null || this.killedBy !== null;
  }

  add(e: TraceEvent): void {
    if (e.kind === 'unparsed') this.unparsed++;
    if (this.firstPid === undefined && e.kind === 'syscall') this.firstPid = e.pid;
    if (e.kind === 'exit' && (e.pid === null || e.pid === this.firstPid)) {
      if (e.how === 'exited') this.exitCode = e.code ?? null;
      else this.killedBy = e.signal ?? null;
    }
    if (e.kind !== 'syscall') return;
    let row = this.rows.get(e.name);
    if (!row) this.rows.set(e.name, (row = { calls: 0, errors: 0 }));
    row.calls++;
    if (isError(e)) row.errors++;
    if (this.kernelRelease === null && e.name === 'uname') this.kernelRelease = releaseFromUname(e);
    // Evidence: the line holding the result (a split call's `<... resumed>` half).
    const at: Evidence = { file: e.file, line: e.endLine ?? e.line };
    let d = this.details.get(e.name);
    if (!d) this.details.set(e.name, (d = { syscall: e.name, errnos: {}, first: at, firstErrno: {} }));
    const errno = isError(e) ? e.result!.errno! : null;
    if (errno !== null) {
      d.errnos[errno] = (d.errnos[errno] ?? 0) + 1;
      d.firstErrno[errno] ??= at;
    }
    if (PATH_SYSCALLS.has(e.name)) {
      const path = pathArgument(e);
      if (path === null) return;
      let u = this.paths.get(path);
      if (!u) {
        if (this.paths.size >= MAX_PATHS) {
          this.pathsDropped++;
          return;
        }
        this.paths.set(path, (u = { path, syscalls: [], calls: 0, errnos: {}, first: at }));
      }
      u.calls++;
      if (!u.syscalls.includes(e.name)) u.syscalls.push(e.name);
      if (errno !== null) u.errnos[errno] = (u.errnos[errno] ?? 0) + 1;
    }
  }

  /** What the differences section needs beyond the counts: errnos, paths, and where each was seen. */
  detail(): WorkloadDetail {
    return {
      syscalls: [...this.details.values()].sort((a, b) => a.syscall.localeCompare(b.syscall)),
      paths: [...this.paths.values()],
      pathsDropped: this.pathsDropped,
    };
  }

  /** Rows sorted by calls, then name; hostKernel maps syscall name to calls whose entry the kernel saw. */
  result(hostKernel: Map<string, number> | null): SyscallRow[] {
    return [...this.rows]
      .map(([syscall, r]) => ({ syscall, ...r, hostKernelCalls: hostKernel ? (hostKernel.get(syscall) ?? 0) : null }))
      .sort((a, b) => b.calls - a.calls || a.syscall.localeCompare(b.syscall));
  }
}

/**
 * The release a uname call returned, as the tracer decoded it: strace -v prints `release="6.1.0"`,
 * gVisor's Sentry prints `Release: 4.4.0,`.
 */
export function releaseFromUname(e: SyscallEvent): string | null {
  if (e.result === null || e.result.errno !== undefined) return null;
  const m = /release="((?:[^"\\]|\\.)*)"/.exec(e.args) ?? /Release: ([^,}]+)/.exec(e.args);
  return m?.[1]?.trim() ?? null;
}

export function totalsOf(rows: SyscallRow[], measured: boolean): EnvironmentReport['totals'] {
  return {
    calls: rows.reduce((n, r) => n + r.calls, 0),
    distinct: rows.length,
    hostKernelCalls: measured ? rows.reduce((n, r) => n + (r.hostKernelCalls ?? 0), 0) : null,
  };
}

/** All syscall names across environments, most called first: the rows of the side-by-side table. */
export function syscallUnion(envs: EnvironmentReport[]): string[] {
  const total = new Map<string, number>();
  for (const env of envs) for (const r of env.syscalls) total.set(r.syscall, (total.get(r.syscall) ?? 0) + r.calls);
  return [...total].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
}

/** The two things a comparison takes from an attributed perf trace: entered calls per syscall, and the rest. */
export function fromHostKernelView(view: HostKernelView, measuredBy: HostKernelTool): { entered: Map<string, number>; hostKernel: HostKernelSummary } {
  return {
    entered: new Map(view.workload.map((w) => [w.syscall, w.entered])),
    hostKernel: {
      syscalls: view.runtime,
      measuredBy,
      roles: view.roles,
      processes: view.processes,
      workloadSeen: view.workload.reduce((n, w) => n + w.calls, 0),
      workloadEntered: view.workload.reduce((n, w) => n + w.entered, 0),
      lostEvents: view.lostEvents,
      ...(view.fullMaps.length > 0 ? { fullMaps: view.fullMaps } : {}),
    },
  };
}
