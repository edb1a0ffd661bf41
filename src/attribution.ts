// Splits a whole-run perf trace into the workload's syscalls and the runtime's, per host process.
//
// Rules, from real runs on this machine (perf 6.1, runc 1.1, runsc 20221219 ptrace platform):
// - Process tree: `sched:sched_process_fork` events when the trace has them (host pids, always
//   right); else clone/clone3/fork/vfork return values. Inside a pid namespace (runc init, the
//   runsc gofer) those values are namespace-local and perf prints them empty, so a child whose
//   parent is still unknown is matched, oldest first, with a clone whose child was not shown.
//   The child side of clone (its first line: an exit with no entry, value 0 or empty) is not a
//   call and is counted nowhere.
// - host/runc/crun: the workload is the first process that successfully execs the command's
//   basename (perf shows the new comm on the exec's exit line; comm is cut to 14 characters),
//   from that exec on, plus every process it creates after it. With `workloadPids`, only those
//   pids and their descendants are searched (the wrapper shell or strace may share the name).
// - runsc: the app runs in ptrace stubs: processes the Sentry creates (comm `exe`) whose syscalls
//   are stopped by PTRACE_SYSEMU and so show in perf only as exits with no entry. A process with
//   more such exits than entered calls is a stub running the app (a Go thread may show a stray
//   one; the Sentry's seccomp-probe child shows one trapped sched_yield among ~66 real calls).
//   In a stub, trapped calls are the app's; calls that entered are the Sentry's work (runtime).
//   Measured for busybox `uname -r`: one stub, 20 trapped calls, the same names and counts as the
//   Sentry's own --strace of the app; 0 entered the host kernel.
// - `entered` counts calls whose entry the kernel saw. The first exec of the process perf starts
//   is the exception: its entry comes before perf enables its events, so it counts as entered.

import type { SyscallEvent, TraceEvent } from '../parsers/events.js';
import { lostEvents } from '../parsers/perf-trace.js';

import type { RuntimeKind } from './runtime.js';

export interface AttributionHint {
  runtime: RuntimeKind;
  command: string[];
  /** Host pids whose descendants hold the workload (container init, runsc sandbox, host strace). */
  workloadPids?: number[];
  /**
   * comm of the tracer that started the workload (`strace`). An exec of the command's name by a process
   * whose parent is not that tracer (a wrapper shell when the command is itself `sh`) is then passed over,
   * as long as some exec's parent is the tracer.
   */
  tracedBy?: string;
}

/** Whose doing a host process's calls are: the workload's, the runtime's own, or the tool's (tracer, status wrapper). */
export type RoleKind = 'workload' | 'runtime' | 'tool';

/** One role's share of the host syscalls that were not the workload's (see ROLE RULES above). */
export interface RoleSummary {
  /** `runc CLI`, `runc init runc:[2:INIT]`, `Sentry`, `gofer`, `ptrace stub`, `tracer strace`, `status wrapper sh`... */
  label: string;
  kind: 'runtime' | 'tool';
  /** Processes and threads (perf tids) that held this role for at least one call. */
  processes: number;
  calls: number;
  syscalls: { syscall: string; calls: number }[];
}

export interface HostKernelView {
  workload: { syscall: string; calls: number; entered: number }[];
  /** Everything that was not the workload: the runtime's own calls and the tool's (tracer, status wrapper). */
  runtime: { syscall: string; calls: number }[];
  /** The same calls as `runtime`, by role, most calls first. */
  roles: RoleSummary[];
  processes: {
    pid: number;
    /** The full name (from perf's sched tracepoints when it printed a 14-character cut). */
    comm: string;
    role: 'workload' | 'runtime';
    /** The role of each part of the process's life (split at exec), joined by ` → ` when it changed. */
    label: string;
    what: string;
  }[];
  /** Events perf reported lost (`LOST N events!`): counts may then be short. */
  lostEvents: number;
  /** In-kernel counts: the maps that filled and may have refused keys, how many unknown (counts may be short). */
  fullMaps: string[];
}

const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);
const EXECS = new Set(['execve', 'execveat']);

interface Counts {
  calls: number;
  entered: number;
}

interface Segment {
  /** Event index where this segment (the tid's life since its last exec) starts. */
  start: number;
  counts: Map<string, Counts>;
  /** Names perf printed for the tid in this segment (prctl renames, e.g. runc's nsexec stages). */
  comms: Set<string>;
  /** The exec that started it (absent for the first segment). */
  exec?: { comm: string; filename?: string };
  label?: string;
  kind?: RoleKind;
}

interface Proc {
  tid: number;
  comm: string;
  firstIndex: number;
  parent?: number;
  /** Event index at which the parent link was made (the fork). */
  bornAt?: number;
  segments: Segment[];
  execs: { index: number; comm: string; filename?: string }[];
  /** Exits with no entry, not counting the clone return and the root's first exec. */
  noEntry: number;
  calls: number;
  entered: number;
  seenAny: boolean;
}

const FORK_TP = /^sched:sched_process_fork\(parent_comm: "(.*)", parent_pid: (\d+)[^,]*, child_comm: "(.*)", child_pid: (\d+)/;
const EXEC_TP = /^sched:sched_process_exec\(filename: "(.*)", pid: (\d+) \((.*?)\)/;

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i === -1 ? p : p.slice(i + 1);
}

function add(map: Map<string, Counts>, name: string, entered: boolean): void {
  const c = map.get(name) ?? { calls: 0, entered: 0 };
  c.calls++;
  if (entered) c.entered++;
  map.set(name, c);
}

/**
 * The host kernel's view counted in the kernel (src/runners/bpf-count.ts) rather than as an event stream:
 * the process tree from the fork/exec tracepoints and, per thread and exec segment, the calls by syscall
 * and comm. Times are nanoseconds on the tracepoints' clock; they order forks, execs and segments the way
 * an event's position in a perf trace does.
 */
export interface HostCounts {
  /** The process the tracer started (the run's wrapper shell). */
  rootTid: number;
  forks: { ns: number; parent: number; child: number; comm: string }[];
  /** seg: the segment of `pid` this exec starts (1 for its first exec). */
  execs: { ns: number; pid: number; oldPid: number; seg: number; filename: string }[];
  counts: { tid: number; seg: number; syscall: string; entered: boolean; comm: string; calls: number }[];
  lostEvents: number;
  /** Maps that filled (bpf-count.ts): they may have refused keys. */
  fullMaps: string[];
}

/** What attribution works from, built from a perf event stream or from in-kernel counts. */
interface ProcTable {
  procs: Map<number, Proc>;
  rootTid: number | null;
  /** Names as the sched tracepoints print them: never cut. */
  fullComms: Set<string>;
  lost: number;
  fullMaps: string[];
}

export async function attributeHostKernel(events: AsyncIterable<TraceEvent>, hint: AttributionHint): Promise<HostKernelView> {
  return attributeTable(await tableFromEvents(events), hint);
}

/** The same attribution, from in-kernel counts: one code path for the figures whatever the mechanism. */
export function attributeHostCounts(counts: HostCounts, hint: AttributionHint): HostKernelView {
  return attributeTable(tableFromCounts(counts), hint);
}

function newProc(tid: number, comm: string, at: number): Proc {
  return { tid, comm, firstIndex: at, segments: [{ start: at, counts: new Map(), comms: new Set() }], execs: [], noEntry: 0, calls: 0, entered: 0, seenAny: false };
}

function tableFromCounts(c: HostCounts): ProcTable {
  const procs = new Map<number, Proc>();
  const fullComms = new Set<string>();
  const proc = (tid: number, comm: string, at: number): Proc => {
    let p = procs.get(tid);
    if (!p) procs.set(tid, (p = newProc(tid, comm, at)));
    return p;
  };
  proc(c.rootTid, '', 0);
  for (const f of [...c.forks].sort((a, b) => a.ns - b.ns)) {
    if (f.child === f.parent) continue;
    const p = proc(f.child, f.comm, f.ns);
    p.parent ??= f.parent;
    p.bornAt ??= f.ns;
    fullComms.add(f.comm);
  }
  // Segment k of a tid starts at its k-th exec; counts name their segment by that number.
  const segs = new Map<string, Segment>();
  for (const x of [...c.execs].sort((a, b) => a.ns - b.ns)) {
    const p = proc(x.pid, '', x.ns);
    const comm = basename(x.filename).slice(0, 15);
    p.execs.push({ index: x.ns, comm, filename: x.filename });
    const seg: Segment = { start: x.ns, counts: new Map(), comms: new Set(), exec: { comm, filename: x.filename } };
    p.segments.push(seg);
    segs.set(`${x.pid}/${x.seg}`, seg);
  }
  for (const n of c.counts) {
    const p = proc(n.tid, n.comm, 0);
    const seg = n.seg === 0 ? p.segments[0]! : segs.get(`${n.tid}/${n.seg}`) ?? p.segments[p.segments.length - 1]!;
    const k = seg.counts.get(n.syscall) ?? { calls: 0, entered: 0 };
    k.calls += n.calls;
    if (n.entered) k.entered += n.calls;
    seg.counts.set(n.syscall, k);
    seg.comms.add(n.comm);
    p.calls += n.calls;
    if (n.entered) p.entered += n.calls;
    else p.noEntry += n.calls;
    p.seenAny = true;
  }
  // A process's name is the one of its last segment's calls (its comm when it ended).
  for (const p of procs.values()) {
    const last = [...p.segments].reverse().find((s) => s.comms.size > 0);
    if (last) p.comm = [...last.comms].pop()!;
    if (p.segments.length > 1 && p.segments[0]!.counts.size === 0 && p.comm === '') p.comm = p.segments[1]!.exec!.comm;
  }
  return { procs, rootTid: c.rootTid, fullComms, lost: c.lostEvents, fullMaps: c.fullMaps };
}

async function tableFromEvents(events: AsyncIterable<TraceEvent>): Promise<ProcTable> {
  const procs = new Map<number, Proc>();
  let rootTid: number | null = null;
  let index = 0;
  let lost = 0;
  const execFilename = new Map<number, string>(); // from sched_process_exec, waiting for the exec's exit
  // Clones whose child pid perf did not show, and children whose parent is not known yet.
  const unmatchedParents: { tid: number; value: number | null }[] = [];
  let forkEvents = false; // sched_process_fork seen: the tree needs no guessing
  const orphans: number[] = [];
  const fullComms = new Set<string>(); // names as the sched tracepoints print them: never cut

  const proc = (tid: number, comm: string | undefined): Proc => {
    let p = procs.get(tid);
    if (!p) procs.set(tid, (p = newProc(tid, comm ?? '', index)));
    if (comm && !/^:\d+$/.test(comm)) p.comm = comm; // `:1234` is perf's name before it learns the comm
    return p;
  };
  const link = (child: number, parent: number, authoritative: boolean): void => {
    if (child === parent) return;
    const c = proc(child, undefined);
    if (c.parent !== undefined && !authoritative) return;
    c.parent = parent;
    c.bornAt ??= index;
    const o = orphans.indexOf(child);
    if (o !== -1) orphans.splice(o, 1);
  };

  for await (const e of events) {
    index++;
    if (e.kind === 'message') {
      const n = lostEvents(e);
      if (n !== null) lost += n;
      const f = FORK_TP.exec(e.text);
      if (f) {
        forkEvents = true;
        link(Number(f[4]), Number(f[2]), true);
        fullComms.add(f[1]!).add(f[3]!);
      }
      const x = EXEC_TP.exec(e.text);
      if (x) {
        execFilename.set(Number(x[2]), x[1]!);
        fullComms.add(x[3]!);
      }
      continue;
    }
    if (e.kind !== 'syscall' || e.pid === null) continue;
    const s: SyscallEvent = e;
    const tid = s.pid!;
    rootTid ??= tid; // the first syscall line is the process perf started
    const p = proc(tid, s.comm);
    const first = !p.seenAny;
    p.seenAny = true;
    const value = s.result?.value;

    // The child side of clone: the tid's first line, an exit the kernel never saw enter.
    if (first && CLONES.has(s.name) && s.enteredKernel === false && (value === '0' || value === '')) {
      if (p.parent === undefined && !forkEvents) {
        const exact = unmatchedParents.findIndex((u) => u.value === tid);
        const u = unmatchedParents.splice(exact === -1 ? 0 : exact, 1)[0];
        if (u) link(tid, u.tid, false);
        else orphans.push(tid);
      }
      continue;
    }
    let entered = s.enteredKernel !== false;
    const rootExec = tid === rootTid && first && EXECS.has(s.name);
    if (rootExec) entered = true; // entered before perf enabled its events (enable_on_exec)
    if (!entered) p.noEntry++;

    if (CLONES.has(s.name) && s.result !== null && s.enteredKernel !== false && !s.result.errno && value !== '0' && !forkEvents) {
      // perf prints a child pid only for a thread it knows: inside a pid namespace it prints
      // nothing, or a namespace-local pid that may name an unrelated thread. Trust a value only
      // when it names a child waiting for its parent; else pair with the oldest such child.
      const v = /^\d+$/.test(value ?? '') ? Number(value) : null;
      const o = v === null ? -1 : orphans.indexOf(v);
      if (o !== -1) link(v!, tid, false);
      else if (v !== null && !procs.has(v) && orphans.length === 0) unmatchedParents.push({ tid, value: v });
      else if (orphans.length > 0) link(orphans[0]!, tid, false);
      else unmatchedParents.push({ tid, value: v });
    }

    const exec = EXECS.has(s.name) && value === '0';
    if (exec) {
      const filename = execFilename.get(tid);
      execFilename.delete(tid);
      p.execs.push({ index, comm: s.comm ?? '', ...(filename !== undefined ? { filename } : {}) });
      p.segments.push({ start: index, counts: new Map(), comms: new Set(), exec: { comm: s.comm ?? '', ...(filename !== undefined ? { filename } : {}) } });
    }
    if (s.comm && !/^:\d+$/.test(s.comm)) p.segments[p.segments.length - 1]!.comms.add(s.comm);
    add(p.segments[p.segments.length - 1]!.counts, s.name, entered);
    p.calls++;
    if (entered) p.entered++;
  }
  return { procs, rootTid, fullComms, lost, fullMaps: [] };
}

function attributeTable({ procs, rootTid, fullComms, lost, fullMaps }: ProcTable, hint: AttributionHint): HostKernelView {
  // Scope: where the workload may be.
  const children = new Map<number, number[]>();
  for (const p of procs.values()) {
    if (p.parent === undefined) continue;
    const list = children.get(p.parent) ?? [];
    list.push(p.tid);
    children.set(p.parent, list);
  }
  const descendants = (roots: number[], after?: number): Set<number> => {
    const out = new Set<number>();
    const stack = [...roots];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (out.has(t)) continue;
      out.add(t);
      for (const c of children.get(t) ?? []) {
        const cp = procs.get(c)!;
        if (after === undefined || (cp.bornAt ?? cp.firstIndex) > after) stack.push(c);
      }
    }
    return out;
  };
  const scope = hint.workloadPids && hint.workloadPids.length > 0 ? descendants(hint.workloadPids) : new Set(procs.keys());

  // workloadFrom: tid -> event index from which its calls are the workload's.
  const workloadFrom = new Map<number, number>();
  if (hint.runtime === 'runsc') {
    for (const p of procs.values()) {
      // Measured: a Go thread may show a stray exit without entry (perf ordering), and the
      // Sentry's seccomp probe child has one trapped call; the app's stub has almost only those.
      if (scope.has(p.tid) && p.noEntry > p.entered) {
        workloadFrom.set(p.tid, 0);
      }
    }
  } else {
    const want = basename(hint.command[0] ?? '').slice(0, 14);
    const byTracer = (p: Proc) => {
      const parent = p.parent !== undefined ? procs.get(p.parent) : undefined;
      return parent !== undefined && (parent.comm === hint.tracedBy || parent.execs.some((x) => x.comm === hint.tracedBy));
    };
    let best: { tid: number; index: number } | null = null;
    let bestTraced: { tid: number; index: number } | null = null;
    for (const p of procs.values()) {
      if (!scope.has(p.tid)) continue;
      for (const x of p.execs) {
        const hit = x.filename !== undefined ? basename(x.filename) === basename(hint.command[0] ?? '') : x.comm.slice(0, 14) === want;
        if (!hit) continue;
        if (best === null || x.index < best.index) best = { tid: p.tid, index: x.index };
        if (hint.tracedBy !== undefined && byTracer(p) && (bestTraced === null || x.index < bestTraced.index)) bestTraced = { tid: p.tid, index: x.index };
      }
    }
    best = bestTraced ?? best;
    if (best) {
      for (const t of descendants([best.tid], best.index)) workloadFrom.set(t, t === best.tid ? best.index : 0);
    }
  }

  const workload = new Map<string, Counts>();
  const runtime = new Map<string, Counts>();
  const merge = (into: Map<string, Counts>, from: Map<string, Counts>) => {
    for (const [name, c] of from) {
      const t = into.get(name) ?? { calls: 0, entered: 0 };
      t.calls += c.calls;
      t.entered += c.entered;
      into.set(name, t);
    }
  };
  for (const p of procs.values()) {
    const from = workloadFrom.get(p.tid);
    for (const seg of p.segments) {
      if (hint.runtime === 'runsc' && from !== undefined) {
        // In a stub, the app's calls are the trapped ones; calls that entered are the Sentry's
        // own work done in the stub's address space (injected syscalls): runtime.
        for (const [name, c] of seg.counts) {
          if (c.calls > c.entered) merge(workload, new Map([[name, { calls: c.calls - c.entered, entered: 0 }]]));
          if (c.entered > 0) merge(runtime, new Map([[name, { calls: c.entered, entered: c.entered }]]));
        }
      } else merge(from !== undefined && seg.start >= from ? workload : runtime, seg.counts);
    }
  }

  const sentry = sentryOf(procs, workloadFrom, hint.runtime);
  const full = (comm: string) => fullComm(comm, fullComms);
  assignRoles(procs, rootTid, hint, sentry, workloadFrom, full);
  const roles = new Map<string, RoleSummary & { tids: Set<number>; counts: Map<string, number> }>();
  const addRole = (label: string, kind: 'runtime' | 'tool', tid: number, name: string, n: number) => {
    if (n === 0) return;
    let r = roles.get(label);
    if (!r) roles.set(label, (r = { label, kind, processes: 0, calls: 0, syscalls: [], tids: new Set(), counts: new Map() }));
    r.tids.add(tid);
    r.calls += n;
    r.counts.set(name, (r.counts.get(name) ?? 0) + n);
  };
  for (const p of procs.values()) {
    const from = workloadFrom.get(p.tid);
    for (const seg of p.segments) {
      for (const [name, c] of seg.counts) {
        if (hint.runtime === 'runsc' && from !== undefined) addRole('ptrace stub', 'runtime', p.tid, name, c.entered);
        else if (from !== undefined && seg.start >= from) continue;
        else addRole(seg.label!, seg.kind === 'tool' ? 'tool' : 'runtime', p.tid, name, c.calls);
      }
    }
  }
  const processes = [...procs.values()]
    .sort((a, b) => a.firstIndex - b.firstIndex)
    .map((p) => {
      const role: 'workload' | 'runtime' = workloadFrom.has(p.tid) ? 'workload' : 'runtime';
      const labels: string[] = [];
      for (const seg of p.segments) if (seg.label !== undefined && labels[labels.length - 1] !== seg.label && (seg.counts.size > 0 || seg === p.segments[p.segments.length - 1])) labels.push(seg.label);
      return { pid: p.tid, comm: full(p.comm), role, label: labels.join(' → '), what: describe(p, role, procs, rootTid, hint, sentry, workloadFrom, full) };
    });

  const sorted = (m: Map<string, Counts>) => [...m.entries()].sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]));
  return {
    workload: sorted(workload).map(([syscall, c]) => ({ syscall, calls: c.calls, entered: c.entered })),
    runtime: sorted(runtime).map(([syscall, c]) => ({ syscall, calls: c.calls })),
    roles: [...roles.values()]
      .map(({ tids, counts, ...r }) => ({
        ...r,
        processes: tids.size,
        syscalls: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([syscall, calls]) => ({ syscall, calls })),
      }))
      .sort((a, b) => b.calls - a.calls || a.label.localeCompare(b.label)),
    processes,
    lostEvents: lost,
    fullMaps,
  };
}

/**
 * perf's comm column holds at most 14 characters (`runc:[0:PARENT`); its sched tracepoints print the
 * kernel's full 15 (`runc:[0:PARENT]`). A cut name is completed from a full one that starts with it;
 * without tracepoints, runc's nsexec stage names (`runc:[N:NAME]`) get back their closing bracket.
 */
export function fullComm(comm: string, full: Set<string>): string {
  if (comm.length !== 14) return comm;
  for (const f of full) if (f.length > comm.length && f.startsWith(comm)) return f;
  return /^runc:\[\d:[A-Z]+$/.test(comm) ? comm + ']' : comm;
}

const TRACERS = new Set(['strace']);
const SHELLS = new Set(['sh', 'dash', 'bash']);
const RUNTIME_CLIS = new Set(['runc', 'crun', 'runsc']);

/**
 * ROLE RULES: every segment of a process (its life between execs) gets one role, in trace order:
 * 1. workload: as decided above (the command's exec and what it creates; under runsc the stub's trapped calls).
 * 2. A segment that starts with an exec is named by what was exec'd:
 *    - a file named strace (or the hint's tracer): `tracer strace` (tool);
 *    - runc / crun / runsc: `runc CLI` (`crun CLI`, `runsc CLI`), the runtime command the wrapper ran;
 *    - a shell exec'd by the traced process before anything else it exec'd: `status wrapper sh` (tool: the
 *      status wrapper src/runners/run.ts puts between the tracer and the run, and on the host the shell that
 *      enters the run's cgroup);
 *    - under runc/crun, `/proc/self/exe` or `/dev/fd/N` (runc 1.1 re-execs a sealed copy of itself): `runc init`;
 *    - under runsc, `/proc/self/exe`: `Sentry` for the nearest exec'd ancestor of the app's stub,
 *      `Sentry helper (runsc re-exec)` below the Sentry, else `gofer` (runsc's other re-exec);
 *    - anything else: `exec'd NAME` (the basename).
 * 3. A segment with no exec before it (a thread, or a fork that has not exec'd yet) does its parent's work:
 *    it takes the role its parent held when it was forked; with no known parent, `unattributed COMM`.
 * 4. Within runc init, a segment perf saw under an nsexec stage name gets it: `runc init runc:[0:PARENT]`,
 *    `runc init runc:[1:CHILD]`, `runc init runc:[2:INIT]` (the last stage name seen in the segment).
 * 5. Under runsc, below the Sentry, a process that did not exec and itself called `setsid` is a `ptrace
 *    stub`: gVisor's ptrace platform starts each stub with setsid, seccomp and kill(SIGSTOP); later stubs are
 *    forked by stubs and inherit the role by rule 3. (`seccomp` alone is no mark: the Sentry's own threads
 *    install its filter too.) The platform's seccomp-probe child is made the same way and counts as a stub.
 *    The app's stub's entered calls (Sentry work injected into the stub) are `ptrace stub` too.
 * 6. comm `containerd-shim*`: `shim` (none in this tool's runs: no containerd; kept for saved traces).
 * Kinds: `status wrapper sh` and `tracer strace` are the tool's overhead; every other non-workload role is the runtime's own.
 */
function assignRoles(
  procs: Map<number, Proc>, rootTid: number | null, hint: AttributionHint, sentry: number | null,
  workloadFrom: Map<number, number>, full: (comm: string) => string,
): void {
  const tracer = hint.tracedBy ?? 'strace';
  const ordered = [...procs.values()].sort((a, b) => a.firstIndex - b.firstIndex);
  const below = (tid: number, ancestor: number) => isDescendant(procs, tid, ancestor);
  const roleAt = (tid: number, index: number): Segment | undefined => {
    const p = procs.get(tid);
    if (!p) return undefined;
    let seg: Segment | undefined;
    for (const s of p.segments) if (s.start <= index) seg = s;
    return seg ?? p.segments[0];
  };
  const callsOf = (p: Proc, name: string) => p.segments.reduce((n, s) => n + (s.counts.get(name)?.calls ?? 0), 0);
  for (const p of ordered) {
    p.segments.forEach((seg) => {
      let label: string;
      let kind: RoleKind = 'runtime';
      const x = seg.exec;
      const comms = [...seg.comms].map(full);
      if (x) {
        const name = basename(x.filename ?? x.comm);
        const selfExec = x.filename === '/proc/self/exe' || /^\/dev\/fd\/\d+$/.test(x.filename ?? '') || (x.filename === undefined && x.comm === 'exe');
        if (TRACERS.has(name) || name === tracer) {
          label = `tracer ${name}`;
          kind = 'tool';
        } else if (RUNTIME_CLIS.has(name)) label = `${name} CLI`;
        else if (p.tid === rootTid && SHELLS.has(name) && p.segments.every((s) => s === seg || !s.exec || s.start > seg.start || SHELLS.has(basename(s.exec.filename ?? s.exec.comm)))) {
          label = `status wrapper ${name}`;
          kind = 'tool';
        }
        else if (selfExec && hint.runtime !== 'runsc') label = 'runc init';
        else if (selfExec && hint.runtime === 'runsc') {
          label = p.tid === sentry ? 'Sentry' : sentry !== null && below(p.tid, sentry) ? 'Sentry helper (runsc re-exec)' : 'gofer';
        } else label = `exec'd ${name}`;
      } else {
        const parent = p.parent !== undefined ? roleAt(p.parent, p.bornAt ?? p.firstIndex) : undefined;
        if (parent?.label !== undefined) {
          label = parent.label;
          kind = parent.kind ?? 'runtime';
        } else if (p.tid === rootTid) {
          label = `status wrapper ${full(p.comm) || 'process'}`;
          kind = 'tool';
        } else label = `unattributed ${full(p.comm) || `:${p.tid}`}`;
        if (hint.runtime === 'runsc' && sentry !== null && p.execs.length === 0 && below(p.tid, sentry) && !label.startsWith('ptrace stub') &&
          callsOf(p, 'setsid') > 0) {
          label = 'ptrace stub';
          kind = 'runtime';
        }
      }
      const stage = comms.filter((c) => /^runc:\[\d:/.test(c)).pop();
      if (stage && label.startsWith('runc init')) label = `runc init ${stage}`;
      else if (stage && (label === 'runc CLI' || label.startsWith('unattributed'))) label = `runc init ${stage}`;
      if (comms.some((c) => c.startsWith('containerd-shim'))) label = 'shim';
      if (workloadFrom.has(p.tid) && seg.start >= (workloadFrom.get(p.tid) ?? 0)) {
        // The workload's own calls are counted apart; under runsc its entered calls are the stub's.
        if (hint.runtime === 'runsc') label = 'ptrace stub';
        else {
          label = 'workload';
          kind = 'workload';
        }
      }
      seg.label = label;
      seg.kind = kind;
    });
  }
}

/** The Sentry: the nearest ancestor of a runsc stub that exec'd (runsc re-execs /proc/self/exe). */
function sentryOf(procs: Map<number, Proc>, workloadFrom: Map<number, number>, runtime: RuntimeKind): number | null {
  if (runtime !== 'runsc') return null;
  for (const tid of workloadFrom.keys()) {
    let t = procs.get(tid)?.parent;
    while (t !== undefined) {
      const p = procs.get(t)!;
      if (p.execs.length > 0) return t;
      t = p.parent;
    }
  }
  return null;
}

function isDescendant(procs: Map<number, Proc>, tid: number, ancestor: number): boolean {
  let t = procs.get(tid)?.parent;
  while (t !== undefined) {
    if (t === ancestor) return true;
    t = procs.get(t)?.parent;
  }
  return false;
}

/** What a process is, from what the trace shows of it: never a guess from its name alone. */
function describe(
  p: Proc, role: 'workload' | 'runtime', procs: Map<number, Proc>, rootTid: number | null,
  hint: AttributionHint, sentry: number | null, workloadFrom: Map<number, number>, full: (comm: string) => string = (c) => c,
): string {
  const from = workloadFrom.get(p.tid);
  let calls = 0;
  let entered = 0;
  for (const seg of p.segments) {
    if (role === 'workload' && from !== undefined && seg.start < from) continue;
    for (const c of seg.counts.values()) {
      calls += c.calls;
      entered += c.entered;
    }
  }
  const since = role === 'workload' && from !== undefined && from > 0 && p.calls > calls ? ' from its exec on' : '';
  const counted = `${calls} calls${since}, ${entered} entered the host kernel`;
  const parent = p.parent !== undefined ? procs.get(p.parent) : undefined;
  const child = parent ? `child of ${parent.tid} (${full(parent.comm)})` : 'parent not in trace';
  const exec = p.execs.length > 0 ? `exec'd ${p.execs.map((x) => x.filename ?? x.comm).join(', then ')}` : null;
  if (role === 'workload') {
    if (hint.runtime === 'runsc') {
      return `ptrace stub running the app: ${calls - entered} calls trapped by PTRACE_SYSEMU (exits with no entry: never ran in the host kernel); ${entered} entered (Sentry work in the stub)`;
    }
    if (from! > 0) return `the command (${exec}); ${counted}`;
    return `created by the command, ${child}; ${counted}`;
  }
  const parts: string[] = [];
  if (p.tid === rootTid) parts.push('the process perf started');
  else parts.push(child);
  if (p.tid === sentry) parts.unshift('gVisor Sentry (runsc-sandbox boot: the parent of the app\'s stub)');
  else if (sentry !== null && isDescendant(procs, p.tid, sentry)) {
    parts.unshift(p.execs.length > 0 ? 'helper process forked by the Sentry' : 'Sentry thread or stub-spawning process');
  } else if (hint.runtime === 'runsc' && sentry !== null && p.execs.some((x) => (x.filename ?? '').endsWith('/proc/self/exe') || x.comm === 'exe')) {
    // Measured (debug log PIDs): runsc re-execs itself twice as the gofer, outside the Sentry's tree.
    parts.unshift('gVisor gofer (runsc-gofer: the runsc re-exec that is not the Sentry)');
  } else if (/^runc:\[2:INIT\]/.test(p.comm)) parts.unshift('runc init (runc:[2:INIT])');
  else if (/^runc:\[\d:/.test(p.comm)) parts.unshift(`runc nsexec stage (${full(p.comm)})`);
  else if (p.comm === 'strace') parts.unshift('strace');
  if (exec) parts.push(exec);
  parts.push(counted);
  return parts.join('; ');
}
