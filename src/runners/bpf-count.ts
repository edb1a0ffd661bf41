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
import { MAP_KEYS, TAG_LINE, bpftraceLoss, openCountSession, takePrestarted, type SharedCount } from './bpf-session.js';

/**
 * The session for the runs of one command: the one the entry point prestarted, or a new one. Either way it
 * follows what this process forks once ready, so it may have started long before the runs.
 */
export async function shareCount(signal?: AbortSignal, keepTemp = false): Promise<SharedCount | null> {
  const count = takePrestarted() ?? openCountSession(signal);
  if (count && keepTemp) count.keep();
  return count;
}

// The script's lines after their tag (bpf-session.ts): a fork (ns, parent, child, comm), an exec's file name
// printed at its entry (ns, tid, dirfd, path), the exec that succeeded (ns, pid, old tid, segment).
const FORK = /^(\d+) (\d+) (\d+) (.*)$/;
const NAME = /^(\d+) (\d+) (-?\d+) (.*)$/;
const EXEC = /^(\d+) (\d+) (\d+) (\d+)$/;
// The dump: B<tag>, @c's lines, I<tag>, @in's, S<tag>, @seg's, T<tag>, @track's, E<tag>. @c[tid, seg, nr,
// entered, comm]: calls (comm last: it may hold ", ", "]" or line breaks); a call entered and never returned
// (a thread killed in it): @in[tid]: nr + 1 (0: none); a thread's exec segment: @seg[tid]: seg; @track: the
// threads followed, counted only (the other per-thread maps hold no more keys than it).
const COUNT_START = /^@c\[\d+, \d+, \d+, [01], /;
const COUNT = /^@c\[(\d+), (\d+), (\d+), ([01]), (.*)\]: (\d+)$/s;
const PENDING = /^@in\[(\d+)\]: (\d+)$/;
const SEG = /^@seg\[(\d+)\]: (\d+)$/;
const TRACK = /^@track\[\d+\]: \d+$/;
// bpftrace's own loss lines among the script's (bpftraceLoss): a workload can print such a line too (a line
// break in an exec's path or comm), which can only make its counts say they may be short, never hide that they are.
/** The longest line a comm's line break leaves: the rest of the comm (14 bytes), "]: " and a count. */
const MAX_TAIL = 14 + 3 + 20;

/**
 * Reads one run's share of what a count session wrote: the process tree under `rootTid` (the process the run
 * started) and its counts, for src/attribution.ts. Lost events are the session's: any run may be short by them.
 * A workload names things the script prints (an exec's path, its comm), and they may hold line breaks: only
 * lines that start with the session's tag are the script's, and only the first dump counts. A comm's line
 * break splits its count line, and what follows cannot start a count line (15 bytes of comm are too few for
 * "@c[" and four numbers), so each count is the lines from one start to the next, joined again.
 */
export async function readCounts(dataFile: string, rootTid: number): Promise<HostCounts> {
  const lines = (await readFile(dataFile, 'utf8')).split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith(TAG_LINE)) throw new Error(`${dataFile}: line 1: expected the session's tag (${TAG_LINE.trim()} N), found ${JSON.stringify(first.slice(0, 40))}`);
  const tag = first.slice(TAG_LINE.length);
  const all: HostCounts = { rootTid, forks: [], execs: [], counts: [], lostEvents: 0, fullMaps: [] };
  const names = new Map<number, { ns: number; filename: string }[]>();
  const pending: { tid: number; nr: number }[] = [];
  const segOf = new Map<number, number>();
  const after = (line: string, kind: string) => (line.startsWith(kind + tag + ' ') ? line.slice(kind.length + tag.length + 1) : null);
  const marks = { B: `B${tag}`, I: `I${tag}`, S: `S${tag}`, T: `T${tag}`, E: `E${tag}` };
  let section: 'events' | 'c' | 'in' | 'seg' | 'track' | 'done' = 'events';
  // Keys in the maps that may fill (the others hold fewer than @track).
  let countKeys = 0;
  let trackKeys = 0;
  let count: string | null = null; // the count line being joined
  const endCount = () => {
    if (count === null) return;
    const m = COUNT.exec(count.replace(/\n+$/, ''));
    if (m) all.counts.push({ tid: Number(m[1]), seg: Number(m[2]), syscall: syscallName(Number(m[3])), entered: m[4] === '1', comm: m[5]!, calls: Number(m[6]) });
    else all.lostEvents += 1;
    count = null;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    let rest: string | null;
    let m: RegExpExecArray | null;
    if (section === 'done') {
      // The warnings stop() appended, after everything bpftrace printed.
      if (line.startsWith('W ')) all.lostEvents += bpftraceLoss(line.slice(2));
    } else if (section === 'c') {
      // A count line is never bpftrace's loss line; what follows a comm's line break may read as one (`Lost N
      // events`), which can only mark the counts short.
      if (line === marks.I) {
        endCount();
        section = 'in';
      } else if (COUNT_START.test(line)) {
        endCount();
        count = line;
        countKeys += 1;
      } else {
        const lost = bpftraceLoss(line);
        if (lost > 0) all.lostEvents += lost;
        else if (count !== null && line.length <= MAX_TAIL) count += '\n' + line;
      }
    } else if (section === 'in') {
      if (line === marks.S) section = 'seg';
      else if ((m = PENDING.exec(line))) {
        if (m[2] !== '0') pending.push({ tid: Number(m[1]), nr: Number(m[2]) - 1 });
      } else all.lostEvents += bpftraceLoss(line);
    } else if (section === 'seg') {
      if (line === marks.T) section = 'track';
      else if ((m = SEG.exec(line))) segOf.set(Number(m[1]), Number(m[2]));
      else all.lostEvents += bpftraceLoss(line);
    } else if (section === 'track') {
      if (line === marks.E) section = 'done';
      else if (TRACK.test(line)) trackKeys += 1;
      else all.lostEvents += bpftraceLoss(line);
    } else if (line === marks.B) section = 'c';
    else if ((rest = after(line, 'F')) !== null && (m = FORK.exec(rest))) {
      all.forks.push({ ns: Number(m[1]), parent: Number(m[2]), child: Number(m[3]), comm: m[4]! });
    } else if ((rest = after(line, 'N')) !== null && (m = NAME.exec(rest))) {
      const tid = Number(m[2]);
      const name = { ns: Number(m[1]), filename: kernelFilename(Number(m[3]), m[4]!) };
      const list = names.get(tid);
      if (list) list.push(name);
      else names.set(tid, [name]);
    } else if ((rest = after(line, 'X')) !== null && (m = EXEC.exec(rest))) {
      all.execs.push({ ns: Number(m[1]), pid: Number(m[2]), oldPid: Number(m[3]), seg: Number(m[4]), filename: '' });
    } else all.lostEvents += bpftraceLoss(line);
  }
  // A dump cut short (bpftrace killed in it) is not whole: its counts are short.
  if (section !== 'done') all.lostEvents += 1;
  // A full map refused keys, how many is not known (bpftrace 0.17 reports none for an AOT program).
  if (countKeys >= MAP_KEYS) all.fullMaps.push('@c');
  if (trackKeys >= MAP_KEYS) all.fullMaps.push('@track');
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
    fullMaps: all.fullMaps,
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
