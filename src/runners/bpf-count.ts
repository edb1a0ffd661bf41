// The host-kernel view counted in the kernel (bpftrace): per thread, per exec segment, per syscall, per
// comm, calls whose entry the kernel saw and exits with no entry; and the fork/exec events that build the
// process tree. No event is formatted or written per syscall: on a 170,000-syscall `find` under strace
// (2 million host syscalls with strace's own) this costs a few percent where `perf trace record` + replay
// cost 2.75x strace alone (bench/compare-bench.ts).
//
// How the session counts: bpf-session.ts.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostCounts } from '../attribution.js';
import { X86_64_SYSCALLS } from './syscalls-x86_64.js';
import { END_OF_COUNTS, openCountSession, takePrestarted, type SharedCount } from './bpf-session.js';

/**
 * The session for the runs of one command: the one the entry point prestarted, or a new one. Either way it
 * follows what this process forks once ready, so it may have started long before the runs.
 */
export async function shareCount(signal?: AbortSignal, keepTemp = false): Promise<SharedCount | null> {
  const count = takePrestarted() ?? openCountSession(signal);
  if (count && keepTemp) count.keep();
  return count;
}

const FORK = /^F (\d+) (\d+) (\d+) (.*)$/;
// An exec's file name, printed at its entry (ns, tid, dirfd, path), and the exec that succeeded (ns, pid, old tid, segment).
const NAME = /^N (\d+) (\d+) (-?\d+) (.*)$/;
const EXEC = /^X (\d+) (\d+) (\d+) (\d+)$/;
// A call entered and never returned (a thread killed in it), and a thread's segment, from the maps' dump.
const PENDING = /^@in\[(\d+)\]: (\d+)$/;
const SEG = /^@seg\[(\d+)\]: (\d+)$/;
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
  const names = new Map<number, { ns: number; filename: string }[]>();
  const pending: { tid: number; nr: number }[] = [];
  const segOf = new Map<number, number>();
  // The first dump only: a repeated SIGUSR1 may have begun a second one.
  let dumped = false;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if (line === END_OF_COUNTS) dumped = true;
    else if (dumped && !line.startsWith('W ')) continue;
    else if ((m = COUNT.exec(line))) {
      all.counts.push({ tid: Number(m[1]), seg: Number(m[2]), syscall: syscallName(Number(m[3])), entered: m[4] === '1', comm: m[5]!, calls: Number(m[6]) });
    } else if ((m = FORK.exec(line))) {
      all.forks.push({ ns: Number(m[1]), parent: Number(m[2]), child: Number(m[3]), comm: m[4]! });
    } else if ((m = NAME.exec(line))) {
      const tid = Number(m[2]);
      const name = { ns: Number(m[1]), filename: kernelFilename(Number(m[3]), m[4]!) };
      const list = names.get(tid);
      if (list) list.push(name);
      else names.set(tid, [name]);
    } else if ((m = EXEC.exec(line))) {
      all.execs.push({ ns: Number(m[1]), pid: Number(m[2]), oldPid: Number(m[3]), seg: Number(m[4]), filename: '' });
    } else if ((m = PENDING.exec(line))) {
      pending.push({ tid: Number(m[1]), nr: Number(m[2]) - 1 });
    } else if ((m = SEG.exec(line))) {
      segOf.set(Number(m[1]), Number(m[2]));
    } else if (line.startsWith('W ')) {
      // A map update that failed lost one count; bpftrace's own "Lost N events" says how many.
      all.lostEvents += Number(LOST.exec(line)?.[1] ?? 1);
    }
  }
  // An exec is named by the last exec call its thread entered before it (the kernel's name: sched_process_exec's).
  for (const x of all.execs) {
    const before = (names.get(x.oldPid) ?? []).filter((n) => n.ns <= x.ns);
    x.filename = before.reduce((a, b) => (b.ns >= a.ns ? b : a), { ns: -1, filename: '' }).filename;
  }
  // A call a thread was killed in counts as entered (perf trace's pending entry), under the name the thread had
  // then: one of its calls' in that segment, else its exec's, else its fork's.
  for (const p of pending) {
    const seg = segOf.get(p.tid) ?? 0;
    const x = seg > 0 ? all.execs.find((e) => e.pid === p.tid && e.seg === seg) : undefined;
    const comm = all.counts.find((c) => c.tid === p.tid && c.seg === seg)?.comm
      ?? (x ? path.basename(x.filename).slice(0, 15) : all.forks.find((f) => f.child === p.tid)?.comm ?? '');
    all.counts.push({ tid: p.tid, seg, syscall: syscallName(p.nr), entered: true, comm, calls: 1 });
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

function syscallName(nr: number): string {
  return X86_64_SYSCALLS[nr] ?? `syscall_${nr}`;
}

/** The name the kernel gives an exec (bprm->filename): execveat's relative to a descriptor is under /dev/fd. */
function kernelFilename(dirfd: number, file: string): string {
  if (dirfd === AT_FDCWD || file.startsWith('/')) return file;
  return file === '' ? `/dev/fd/${dirfd}` : `/dev/fd/${dirfd}/${file}`;
}

const AT_FDCWD = -100;
