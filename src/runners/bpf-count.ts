// The host-kernel view counted in the kernel (bpftrace): per thread, per exec segment, per syscall, per
// comm, calls whose entry the kernel saw and exits with no entry; and the fork/exec events that build the
// process tree. No event is formatted or written per syscall: on a 170,000-syscall `find` under strace
// (2 million host syscalls with strace's own) this costs a few percent where `perf trace record` + replay
// cost 2.75x strace alone (bench/compare-bench.ts).
//
// Protocol: the run's wrapper shell waits on a gate (its fd 3); bpftrace is started tracking the wrapper's
// pid; once bpftrace's BEGIN has printed `ready` (every probe is attached by then), the gate opens. When
// the wrapper exits, SIGINT makes bpftrace print its maps and exit. The same tracepoints perf reads
// (raw_syscalls, sched_process_fork/exec/exit) and the same rules as parsers/perf-trace.ts:
// - a call counts as entered when sys_enter fired for it; an exit with no entry (gVisor's PTRACE_SYSEMU
//   stops, seccomp-refused calls) counts as not entered;
// - an entry with no exit (exit_group, a thread killed in a call) counts as entered when the thread exits
//   or makes another call, like perf trace's pending entry;
// - a thread's first event, an exit with no entry, is not a call: a new task returning from clone/fork
//   (perf trace's child side of clone), or the wrapper returning from its gate read;
// - a negative syscall id (a call skipped by ptrace) is no syscall, as perf trace drops it.

import { createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import type { HostCounts } from '../attribution.js';
import { X86_64_SYSCALLS } from './syscalls-x86_64.js';
import { which } from './resolve.js';

/** Keys of the count map: threads x exec segments x syscalls x comms. gVisor's uname run uses ~2,000. */
const MAP_KEYS = 65_536;
/** bpftrace compiles its program with LLVM: seconds on a loaded machine. */
const READY_MS = 60_000;

export const BPF_COUNT_SCRIPT = `
BEGIN { @track[$1] = 2; printf("ready %d %s\\n", $1, str($2)); }
tracepoint:sched:sched_process_fork /@track[args->parent_pid]/ {
  @track[args->child_pid] = 2;
  printf("F %llu %d %d %s\\n", nsecs, args->parent_pid, args->child_pid, str(args->child_comm));
}
tracepoint:sched:sched_process_exec /@track[args->old_pid]/ {
  @track[args->pid] = 1;
  if (args->old_pid != args->pid && @in[args->old_pid] != 0) { @in[args->pid] = @in[args->old_pid]; delete(@in[args->old_pid]); }
  @seg[args->pid] = @seg[args->pid] + 1;
  printf("X %llu %d %d %d %s\\n", nsecs, args->pid, args->old_pid, @seg[args->pid], str(args->filename));
}
tracepoint:raw_syscalls:sys_enter /@track[tid] && args->id >= 0/ {
  $p = @in[tid];
  if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
  @in[tid] = args->id + 1;
}
tracepoint:raw_syscalls:sys_exit /@track[tid] && args->id >= 0/ {
  $p = @in[tid];
  if ($p == args->id + 1) {
    delete(@in[tid]);
    @c[tid, @seg[tid], args->id, 1, comm] = count();
  } else {
    if ($p != 0) { delete(@in[tid]); @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
    if (@track[tid] == 2) { @track[tid] = 1; } else { @c[tid, @seg[tid], args->id, 0, comm] = count(); }
  }
}
tracepoint:sched:sched_process_exit /@track[tid]/ {
  $p = @in[tid];
  if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); delete(@in[tid]); }
  delete(@track[tid]);
}
END { clear(@track); clear(@in); clear(@seg); }
`;

/** What a wrapper shell runs first so that it waits for the count: a line on its fd 3 opens the gate (EOF exits 125). */
export const GATE = 'IFS= read -r _ <&3 || exit 125; exec 3<&-; ';

/** A running count: stop() ends it once the traced processes are gone and leaves its output in the data file. */
export interface CountSession {
  stop(): Promise<void>;
  /** Ends bpftrace at once (a run being torn down). */
  kill(): void;
}

/** bpftrace's path when this machine can count in the kernel (x86_64: syscall numbers are named from its table). */
export async function bpfCounter(): Promise<string | null> {
  if (process.arch !== 'x64') return null;
  return which('bpftrace');
}

/**
 * Starts counting `rootPid` and everything it forks, into `dataFile`; resolves when nothing can be missed.
 * Rejects (bpftrace gone) when bpftrace cannot start; the caller runs without the view.
 */
export async function startCount(bpftrace: string, rootPid: number, dataFile: string, runDir: string, signal?: AbortSignal): Promise<CountSession> {
  // runDir is in bpftrace's argv only so that `trace-compare cleanup` finds it by the run's dir after a SIGKILL.
  const child: ResultPromise = execa(bpftrace, ['-B', 'none', '-k', '-e', BPF_COUNT_SCRIPT, String(rootPid), `${runDir}/`], {
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, cleanup: true, buffer: { stdout: false },
    // STRLEN: exec'd file names are matched by basename, so whole paths (the default cuts at 64 bytes).
    env: { BPFTRACE_MAP_KEYS_MAX: String(MAP_KEYS), BPFTRACE_STRLEN: '200' },
  });
  const out = createWriteStream(dataFile, { flags: 'wx', mode: 0o600 });
  let exited = false;
  const done = (async () => {
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.pipe(out);
        out.once('finish', resolve).once('error', reject);
      });
    } finally {
      exited = true;
    }
  })();
  void done.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString('latin1');
      if (/ready \d+ .*\n/.test(seen)) {
        child.stdout!.off('data', onData);
        resolve();
      } else if (seen.length > 4096) seen = seen.slice(-64);
    };
    child.stdout!.on('data', onData);
    void child.then((r) => reject(new Error(`bpftrace exited ${r.exitCode ?? r.signal}: ${String(r.stderr).trim().slice(-300)}`)));
    timer = setTimeout(() => reject(new Error(`bpftrace was not ready after ${READY_MS / 1000} s`)), READY_MS);
    if (signal?.aborted) reject(new Error('interrupted'));
    signal?.addEventListener('abort', () => reject(new Error('interrupted')), { once: true });
  });
  const kill = () => {
    if (!exited) child.kill('SIGKILL');
  };
  try {
    await ready;
  } catch (e) {
    kill();
    clearTimeout(timer);
    await child.catch(() => undefined);
    throw e;
  }
  clearTimeout(timer);
  return {
    kill,
    stop: async () => {
      // Measured: a SIGINT that comes just after BEGIN is sometimes not acted on (bpftrace ran on for
      // 10 s); it is repeated until bpftrace prints its maps and exits, and SIGKILL ends it after 10 s.
      const int = () => {
        if (!exited) child.kill('SIGINT');
      };
      int();
      const again = setInterval(int, 500);
      const t = setTimeout(kill, 10_000);
      const r = await child;
      clearInterval(again);
      clearTimeout(t);
      await done.catch(() => undefined);
      if (r.exitCode !== 0) throw new Error(`bpftrace exited ${r.exitCode ?? r.signal}: ${String(r.stderr).trim().slice(-300)}`);
      // -k: a failed map update (the map full) or lost printf events make the counts short: kept as lost events.
      const warnings = String(r.stderr).split('\n').filter((l) => /map_update_elem|Lost \d+ events/i.test(l));
      if (warnings.length > 0) {
        const fh = await open(dataFile, 'a');
        await fh.write(warnings.map((w) => `W ${w.trim()}\n`).join(''));
        await fh.close();
      }
    },
  };
}

const FORK = /^F (\d+) (\d+) (\d+) (.*)$/;
const EXEC = /^X (\d+) (\d+) (\d+) (\d+) (.*)$/;
// @c[tid, seg, nr, entered, comm]: calls (comm last: it may hold ", " or "]")
const COUNT = /^@c\[(\d+), (\d+), (\d+), ([01]), (.*)\]: (\d+)$/;
const LOST = /Lost (\d+) events/;
const READY = /^ready (\d+) /;

/** Reads what the count session wrote: the process tree and the counts, for src/attribution.ts. */
export async function readCounts(dataFile: string): Promise<HostCounts> {
  const text = await readFile(dataFile, 'utf8');
  const counts: HostCounts = { rootTid: 0, forks: [], execs: [], counts: [], lostEvents: 0 };
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = READY.exec(line))) counts.rootTid = Number(m[1]);
    else if ((m = COUNT.exec(line))) {
      const nr = Number(m[3]);
      counts.counts.push({ tid: Number(m[1]), seg: Number(m[2]), syscall: X86_64_SYSCALLS[nr] ?? `syscall_${nr}`, entered: m[4] === '1', comm: m[5]!, calls: Number(m[6]) });
    } else if ((m = FORK.exec(line))) {
      counts.forks.push({ ns: Number(m[1]), parent: Number(m[2]), child: Number(m[3]), comm: m[4]! });
    } else if ((m = EXEC.exec(line))) {
      counts.execs.push({ ns: Number(m[1]), pid: Number(m[2]), oldPid: Number(m[3]), seg: Number(m[4]), filename: m[5]! });
    } else if (line.startsWith('W ')) {
      // A map update that failed lost one count; bpftrace's own "Lost N events" says how many.
      counts.lostEvents += Number(LOST.exec(line)?.[1] ?? 1);
    }
  }
  return counts;
}
