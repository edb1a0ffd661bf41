// The host-kernel view counted in the kernel (bpftrace): per thread, per exec segment, per syscall, per
// comm, calls whose entry the kernel saw and exits with no entry; and the fork/exec events that build the
// process tree. No event is formatted or written per syscall: on a 170,000-syscall `find` under strace
// (2 million host syscalls with strace's own) this costs a few percent where `perf trace record` + replay
// cost 2.75x strace alone (bench/compare-bench.ts).
//
// Protocol: one bpftrace session follows every process this tool starts once the session is ready, so the
// environments of a run share it (one LLVM compile, about 0.8 s, instead of one per environment). A process
// forked by the tool is followed silently until its first exec; counting starts with that exec, as under
// `perf trace -- CMD` (perf's enable_on_exec), the mechanism whose figures these reproduce. Each run names
// its own process (the wrapper it started) as the root, and its figures are those of the root's process tree
// (readCounts). SIGINT makes bpftrace print its maps and exit; it exits by itself when this process dies.
// The same tracepoints perf reads (raw_syscalls, sched_process_fork/exec/exit) and the same rules as
// parsers/perf-trace.ts:
// - a call counts as entered when sys_enter fired for it; an exit with no entry (gVisor's PTRACE_SYSEMU
//   stops, seccomp-refused calls) counts as not entered;
// - an entry with no exit (exit_group, a thread killed in a call) counts as entered when the thread exits
//   or makes another call, like perf trace's pending entry;
// - a thread's first event, an exit with no entry, is not a call: a new task returning from clone/fork
//   (perf trace's child side of clone);
// - the exec that starts the count is entered (its entry came before: perf counts it so too);
// - a negative syscall id (a call skipped by ptrace) is no syscall, as perf trace drops it.

import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, open, readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import type { HostCounts } from '../attribution.js';
import os from 'node:os';
import path from 'node:path';
import { X86_64_SYSCALLS } from './syscalls-x86_64.js';
import { which } from './resolve.js';
import { registerRun } from './registry.js';
import { TEMP_PREFIX, writeOwner } from './leftovers.js';

/** Keys of the count map: threads x exec segments x syscalls x comms. gVisor's uname run uses ~2,000. */
const MAP_KEYS = 65_536;
/** bpftrace compiles its program with LLVM: seconds on a loaded machine. */
const READY_MS = 60_000;

// @track: 3 = started by the tool, not exec'd yet (followed, not counted); 4 = its first exec is returning;
// 2 = a new task whose first event is its return from fork; 1 = counted.
// Each tracepoint field is read once into a variable: bpftrace 0.17 rescans tracefs for every `args->`
// it meets, and this layout starts in 0.8 s instead of 1.2 s.
export const BPF_COUNT_SCRIPT = `
BEGIN { printf("ready %d %s\\n", $1, str($2)); }
tracepoint:sched:sched_process_fork {
  $parent = args->parent_pid;
  if (pid == $1 || @track[$parent]) {
    $child = args->child_pid;
    @track[$child] = (pid == $1 || @track[$parent] == 3) ? 3 : 2;
    printf("F %llu %d %d %s\\n", nsecs, $parent, $child, str(args->child_comm));
  }
}
tracepoint:sched:sched_process_exec {
  $old = args->old_pid;
  if (@track[$old]) {
    $pid = args->pid;
    @track[$pid] = @track[$old] == 3 ? 4 : 1;
    if ($old != $pid && @in[$old] != 0) { @in[$pid] = @in[$old]; delete(@in[$old]); }
    @seg[$pid] = @seg[$pid] + 1;
    printf("X %llu %d %d %d %s\\n", nsecs, $pid, $old, @seg[$pid], str(args->filename));
  }
}
tracepoint:raw_syscalls:sys_enter /@track[tid] == 1 || @track[tid] == 2/ {
  $id = args->id;
  if ($id >= 0) {
    $p = @in[tid];
    if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
    @in[tid] = $id + 1;
  }
}
tracepoint:raw_syscalls:sys_exit /@track[tid] && @track[tid] != 3/ {
  $id = args->id;
  if ($id >= 0) {
    $p = @in[tid];
    if ($p == $id + 1) {
      delete(@in[tid]);
      @c[tid, @seg[tid], $id, 1, comm] = count();
    } else {
      if ($p != 0) { delete(@in[tid]); @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
      if (@track[tid] == 2) { @track[tid] = 1; }
      else if (@track[tid] == 4) { @track[tid] = 1; @c[tid, @seg[tid], $id, 1, comm] = count(); }
      else { @c[tid, @seg[tid], $id, 0, comm] = count(); }
    }
  }
}
tracepoint:sched:sched_process_exit {
  if (tid == $1) { exit(); }
  if (@track[tid]) {
    $p = @in[tid];
    if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); delete(@in[tid]); }
    delete(@track[tid]);
  }
}
END { clear(@track); clear(@in); clear(@seg); }
`;

/**
 * A count session: it follows every process this tool forks after `ready` resolves. stop() ends it once the
 * traced processes are gone and leaves its output in `file`; readCounts(file, root) takes one run's share.
 */
export interface CountSession {
  readonly file: string;
  /** Resolves when nothing can be missed (every probe attached); rejects when bpftrace cannot start. */
  readonly ready: Promise<void>;
  /** Idempotent; throws when bpftrace failed. */
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
 * Starts a session counting what this process starts from now on, into `dataFile` (created, must not exist).
 * `runDir` is in bpftrace's argv only so that `trace-compare cleanup` finds it by the run's dir after a SIGKILL.
 */
export function startCount(bpftrace: string, dataFile: string, runDir: string, signal?: AbortSignal): CountSession {
  const child: ResultPromise = execa(bpftrace, ['-B', 'none', '-k', '-e', BPF_COUNT_SCRIPT, String(process.pid), `${runDir}/`], {
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
  const kill = () => {
    if (!exited) child.kill('SIGKILL');
  };
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
  }).finally(() => clearTimeout(timer));
  ready.catch(() => kill());
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
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
    })();
    return stopped;
  };
  return { file: dataFile, ready, stop, kill };
}

/**
 * A session shared by the runs of one command (src/commands/run.ts starts it before the runs, so that its
 * compile overlaps their set-up), in a private dir of its own that `trace-compare cleanup` knows. null when
 * this machine cannot count in the kernel. dispose() kills bpftrace if it still runs and removes the dir.
 */
export async function shareCount(signal?: AbortSignal, keepTemp = false): Promise<{ session: CountSession; dispose: () => Promise<void> } | null> {
  const bpftrace = await bpfCounter();
  if (!bpftrace) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  await chmod(dir, 0o700);
  const id = `count-${process.pid}`;
  await writeOwner(dir, id);
  const session = startCount(bpftrace, path.join(dir, 'bpf-counts.txt'), dir, signal);
  const { dispose, unregister } = registerRun({
    label: `host-kernel count (${dir})`, tempDir: dir, containerId: null, keepTemp,
    teardown: async () => {
      session.kill();
      await session.stop().catch(() => undefined);
    },
    onInterrupt: () => undefined,
  });
  return { session, dispose: async () => { await dispose(); unregister(); } };
}

const FORK = /^F (\d+) (\d+) (\d+) (.*)$/;
const EXEC = /^X (\d+) (\d+) (\d+) (\d+) (.*)$/;
// @c[tid, seg, nr, entered, comm]: calls (comm last: it may hold ", " or "]")
const COUNT = /^@c\[(\d+), (\d+), (\d+), ([01]), (.*)\]: (\d+)$/;
const LOST = /Lost (\d+) events/;

/**
 * Reads one run's share of what a count session wrote: the process tree under `rootTid` (the process the run
 * started) and its counts, for src/attribution.ts. Lost events are the session's: any run may be short by them.
 */
export async function readCounts(dataFile: string, rootTid: number): Promise<HostCounts> {
  const text = await readFile(dataFile, 'utf8');
  const all: HostCounts = { rootTid, forks: [], execs: [], counts: [], lostEvents: 0 };
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = COUNT.exec(line))) {
      const nr = Number(m[3]);
      all.counts.push({ tid: Number(m[1]), seg: Number(m[2]), syscall: X86_64_SYSCALLS[nr] ?? `syscall_${nr}`, entered: m[4] === '1', comm: m[5]!, calls: Number(m[6]) });
    } else if ((m = FORK.exec(line))) {
      all.forks.push({ ns: Number(m[1]), parent: Number(m[2]), child: Number(m[3]), comm: m[4]! });
    } else if ((m = EXEC.exec(line))) {
      all.execs.push({ ns: Number(m[1]), pid: Number(m[2]), oldPid: Number(m[3]), seg: Number(m[4]), filename: m[5]! });
    } else if (line.startsWith('W ')) {
      // A map update that failed lost one count; bpftrace's own "Lost N events" says how many.
      all.lostEvents += Number(LOST.exec(line)?.[1] ?? 1);
    }
  }
  // The root's tree: what it and its descendants forked, in time order.
  const tree = new Set([rootTid]);
  for (const f of [...all.forks].sort((a, b) => a.ns - b.ns)) if (tree.has(f.parent)) tree.add(f.child);
  return {
    rootTid,
    forks: all.forks.filter((f) => tree.has(f.parent)),
    execs: all.execs.filter((x) => tree.has(x.pid) || tree.has(x.oldPid)),
    counts: all.counts.filter((c) => tree.has(c.tid)),
    lostEvents: all.lostEvents,
  };
}
