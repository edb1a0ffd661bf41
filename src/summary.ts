// `strace -c` over a stream of events: per-syscall calls, errors and (with -T durations) time.
// Rules, checked against strace 6.1's own -C tables (test/summary-oracle.test.ts):
// - a call counts when strace saw it return: any result but a bare `?`. `exit_group(0) = ?`, a call the
//   process died inside (`<... read resumed> <unfinished ...>) = ?`) and a split call that never resumed do not
//   count; `execve(...) = 0` does; `= ? ERESTARTSYS` (and the other restarts) counts, as an error;
// - a call whose result carries an errno counts as an error;
// - strace's out-of-range form `syscall_0x1f4(...)` is not counted (strace -c skips numbers it has no entry for);
// - `-f` traces count every pid together, like strace.
// Time: strace -c measures system CPU time (or latency with -w), which a trace does not hold; we sum the -T
// durations: wall-clock time inside each call, i.e. the -w numbers (`time: 'wall'`). Rows with no -T durations
// have no time columns.
// An input that holds no calls but strace's own -c table (a `strace -c` run saved or piped) is read as the
// summary it is: its rows as strace printed them (`from: 'strace-c-table'`, `time: 'strace-c'`).

import { completedResult, errorResult, isCompleted, type MessageEvent, type SyscallEvent, type SyscallResult, type TraceEvent } from '../parsers/events.js';
import type { CallSink } from '../parsers/strace.js';
import { headerColumns, isRule, parseStraceSummaryTable, type StraceSummary, type SummaryRow } from '../parsers/strace-c.js';

/** A row is strace -c's (parsers/strace-c.ts), whether strace printed it or this module counted it. */
export type { SummaryRow };

/** The JSON shape of `trace-compare summary --format json`. */
export interface Summary {
  syscalls: SummaryRow[];
  total: SummaryRow;
  /**
   * What the time columns (`seconds`, `usecsPerCall`, `percentTime`) measure, when present: `wall` — summed
   * from the trace's -T durations (wall-clock time, as `strace -c -w`); `strace-c` — copied from strace's own
   * -c table (system CPU time, or wall time when strace ran with -w).
   */
  time?: 'wall' | 'strace-c';
  /** Present when the input held no calls but strace's own -c table, and the rows are that table's. */
  from?: 'strace-c-table';
}

/**
 * Row order, as strace's `-S`: `time` (descending), `calls` (descending), `errors` (descending), `name`
 * (alphabetical) or `nothing` (syscall number). Ties keep syscall number order, as strace's (stable) qsort
 * over its syscall table does. Default: `time` when the trace has -T durations (strace's default), else
 * `calls`, since without durations every time is unknown (strace would order them as `nothing`).
 */
export type SortBy = 'time' | 'calls' | 'errors' | 'name' | 'nothing';

export interface SummaryOptions {
  sortBy?: SortBy;
}

// x86_64 syscall numbers (from the kernel's unistd_64.h), the order strace's table keeps for ties.
const X86_64_LOW =
  'read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask ' +
  'rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore ' +
  'madvise shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket ' +
  'connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair ' +
  'setsockopt getsockopt clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget msgsnd ' +
  'msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir ' +
  'rmdir creat link unlink symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit ' +
  'getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp ' +
  'setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid getresgid getpgid setfsuid ' +
  'setfsgid getsid capget capset rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime ' +
  'mknod uselib personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam ' +
  'sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval ' +
  'mlock munlock mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit ' +
  'chroot sync acct settimeofday mount umount2 swapon swapoff reboot sethostname setdomainname iopl ioperm ' +
  'create_module init_module delete_module get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg ' +
  'afs_syscall tuxcall security gettid readahead setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr ' +
  'listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity ' +
  'sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit io_cancel get_thread_area ' +
  'lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old remap_file_pages getdents64 set_tid_address ' +
  'restart_syscall semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete ' +
  'clock_settime clock_gettime clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes ' +
  'vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify ' +
  'mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set ioprio_get inotify_init ' +
  'inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat newfstatat ' +
  'unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list ' +
  'get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait signalfd ' +
  'timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 ' +
  'dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init ' +
  'fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu ' +
  'process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp ' +
  'getrandom memfd_create kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 ' +
  'pwritev2 pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq ' +
  '';
const X86_64_HIGH =
  'pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig ' +
  'fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 ' +
  'mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret ' +
  'process_mrelease futex_waitv set_mempolicy_home_node ' +
  '';
const SYSCALL_NUMBER = new Map<string, number>();
X86_64_LOW.trim().split(' ').forEach((n, i) => SYSCALL_NUMBER.set(n, i));
X86_64_HIGH.trim().split(' ').forEach((n, i) => SYSCALL_NUMBER.set(n, 424 + i));

/** x86_64 syscall number of a name, or undefined for names not in the table. */
export function syscallNumber(name: string): number | undefined {
  return SYSCALL_NUMBER.get(name);
}

/** strace prints calls beyond its syscall table as `syscall_0x1f4`; -c does not count them. */
const OUT_OF_TABLE = /^syscall_0x[0-9a-f]+$/;

/** A strace call name of that form (the first byte tested before the pattern: this runs for every call). */
function outOfTable(name: string): boolean {
  return name.charCodeAt(0) === 0x73 /* s */ && OUT_OF_TABLE.test(name);
}

/** Whether `strace -c` would count this call. */
export function countsInSummary(e: SyscallEvent): boolean {
  return isCompleted(e) && !(e.source === 'strace' && outOfTable(e.name));
}

export interface Acc {
  calls: number;
  errors: number;
  /** Integer nanoseconds, so long sums do not drift. */
  ns: number;
}

/** Incremental form: feed events as they stream, ask for the table at the end. Memory: one entry per syscall name. */
export class SummaryBuilder {
  private readonly rows = new Map<string, Acc>();
  private timed = false;
  /** strace's own -c tables met in the input (used only when it holds no calls). */
  private readonly tables = new TableReader();

  constructor(private readonly options: SummaryOptions = {}) {}

  add(e: TraceEvent): void {
    if (e.kind !== 'syscall') {
      if (e.kind === 'message') this.tables.add(e);
      return;
    }
    if (e.source === 'strace') this.call(e.name, e.result, e.duration);
    else if (countsInSummary(e)) this.count(e.name, e.result!, e.duration);
  }

  /**
   * One strace syscall, as the strace parser gives it to a CallSink (parsers/strace.ts): counted exactly as
   * `add` counts its event.
   */
  call(name: string, result: SyscallResult | null, duration: number | undefined): void {
    // countsInSummary on the call's parts.
    if (!completedResult(result) || outOfTable(name)) return;
    this.count(name, result, duration);
  }

  private count(name: string, result: SyscallResult, duration: number | undefined): void {
    let acc = this.rows.get(name);
    if (!acc) {
      acc = { calls: 0, errors: 0, ns: 0 };
      this.rows.set(name, acc);
    }
    acc.calls++;
    if (errorResult(result)) acc.errors++;
    if (duration !== undefined && Number.isFinite(duration)) {
      this.timed = true;
      acc.ns += Math.round(duration * 1e9);
    }
  }

  /** A CallSink that counts into this builder, and `seen` counts every call it was given (returned or not). */
  sink(seen: { syscalls: number; events: number }): CallSink {
    return {
      call: (name, result, duration) => {
        seen.syscalls++;
        seen.events++;
        this.call(name, result, duration);
      },
    };
  }

  /** The accumulator of one syscall (adding up -c tables); `timed`: their seconds count as time. */
  accumulate(name: string, timed = false): Acc {
    if (timed) this.timed = true;
    let acc = this.rows.get(name);
    if (!acc) this.rows.set(name, (acc = { calls: 0, errors: 0, ns: 0 }));
    return acc;
  }

  /** Whether any call was counted, or a -c table was read. */
  get found(): boolean {
    return this.rows.size > 0 || this.tables.tables.length > 0;
  }

  result(): Summary {
    if (this.rows.size === 0 && this.tables.tables.length > 0) return fromTables(this.tables.tables, this.options);
    let calls = 0;
    let errors = 0;
    let ns = 0;
    for (const a of this.rows.values()) {
      calls += a.calls;
      errors += a.errors;
      ns += a.ns;
    }
    const row = (syscall: string, a: Acc): SummaryRow => {
      const r: SummaryRow = { syscall, calls: a.calls, errors: a.errors };
      if (this.timed) {
        r.seconds = a.ns / 1e9;
        r.usecsPerCall = a.calls === 0 ? 0 : Math.floor(a.ns / a.calls / 1000);
        r.percentTime = ns === 0 ? 0 : (100 * a.ns) / ns;
      }
      return r;
    };
    const entries = [...this.rows.entries()];
    const sortBy = this.options.sortBy ?? (this.timed ? 'time' : 'calls');
    entries.sort((x, y) => primary(sortBy, x, y) || byNumber(x[0], y[0]));
    const total = row('total', { calls, errors, ns });
    if (total.percentTime !== undefined) total.percentTime = 100;
    const out: Summary = { syscalls: entries.map(([name, a]) => row(name, a)), total };
    if (this.timed) out.time = 'wall';
    return out;
  }
}

/**
 * Collects strace's -c tables from the `message` events the strace parser makes of them (heading, header,
 * rule, rows, rule, total), one line a message. Holds one table's lines at a time (one per syscall).
 */
class TableReader {
  readonly tables: StraceSummary[] = [];
  private lines: string[] = [];
  private cols = 0;
  private rules = 0;

  add(e: MessageEvent): void {
    const text = e.text;
    if (this.lines.length === 0) {
      const cols = headerColumns(text);
      if (cols !== null) { this.lines = [text]; this.cols = cols.length; this.rules = 0; }
      return;
    }
    this.lines.push(text);
    if (isRule(text, this.cols)) { this.rules++; return; }
    if (this.rules < 2) return;
    // The total row, after the closing rule.
    try {
      this.tables.push(parseStraceSummaryTable(this.lines.join('\n'), e.file, e.line - this.lines.length + 1));
    } catch {
      // Not a table after all: its lines stay messages.
    }
    this.lines = [];
  }
}

/** The summary a -c table (or one per personality, added up) gives, in strace's numbers. */
function fromTables(tables: StraceSummary[], options: SummaryOptions): Summary {
  const strip = (r: SummaryRow): SummaryRow => {
    const o: SummaryRow = { syscall: r.syscall, calls: r.calls, errors: r.errors };
    if (r.seconds !== undefined) o.seconds = r.seconds;
    if (r.usecsPerCall !== undefined) o.usecsPerCall = r.usecsPerCall;
    if (r.percentTime !== undefined) o.percentTime = r.percentTime;
    return o;
  };
  const timed = tables.every((t) => t.columns.includes('seconds'));
  let summary: Summary;
  if (tables.length === 1 && options.sortBy === undefined) {
    // One table: its rows, numbers and order exactly as strace printed them.
    summary = { syscalls: tables[0]!.syscalls.map(strip), total: strip(tables[0]!.total) };
  } else {
    const b = new SummaryBuilder(options);
    for (const t of tables) {
      for (const r of t.syscalls) {
        const acc = b.accumulate(r.syscall, timed);
        acc.calls += r.calls;
        acc.errors += r.errors;
        if (timed && r.seconds !== undefined) acc.ns += Math.round(r.seconds * 1e9);
      }
    }
    summary = b.result();
    if (!timed) {
      for (const r of [...summary.syscalls, summary.total]) { delete r.seconds; delete r.usecsPerCall; delete r.percentTime; }
    }
  }
  if (timed) summary.time = 'strace-c';
  else delete summary.time;
  summary.from = 'strace-c-table';
  return summary;
}

function primary(sortBy: SortBy, [xn, x]: [string, Acc], [yn, y]: [string, Acc]): number {
  switch (sortBy) {
    case 'time':
      return y.ns - x.ns;
    case 'calls':
      return y.calls - x.calls;
    case 'errors':
      return y.errors - x.errors;
    case 'name':
      return xn < yn ? -1 : xn > yn ? 1 : 0;
    case 'nothing':
      return 0;
  }
}

/** Syscall number order; names outside the table come last, alphabetically. */
function byNumber(x: string, y: string): number {
  const a = SYSCALL_NUMBER.get(x) ?? Number.MAX_SAFE_INTEGER;
  const b = SYSCALL_NUMBER.get(y) ?? Number.MAX_SAFE_INTEGER;
  return a - b || (x < y ? -1 : x > y ? 1 : 0);
}

/** `strace -c` over a whole event stream. */
export async function summarize(events: AsyncIterable<TraceEvent>, options: SummaryOptions = {}): Promise<Summary> {
  const b = new SummaryBuilder(options);
  for await (const e of events) b.add(e);
  return b.result();
}
