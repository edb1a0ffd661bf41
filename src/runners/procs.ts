// Finding and ending every process a run started, wherever it went: its process group, its
// descendants (runsc's sandbox calls setsid), anything whose argv names the run's private dir
// (runsc-gofer/runsc-sandbox carry --root=<dir>/state), anything in the container's cgroup (the
// ptrace stubs of gVisor show up as "[exe]" but stay in the cgroup named after the container id).

import { readdirSync, readFileSync } from 'node:fs';

interface ProcInfo { pid: number; ppid: number; cmdline: string; cgroup: string }

/**
 * The fields of /proc/PID/stat after comm (state is [0], ppid [1], flags [6], starttime [19]), or null when the
 * process is gone. comm may contain spaces and parentheses: the fields start after the last ')'.
 */
export function statFields(pid: number): string[] | null {
  const stat = readProcFile(pid, 'stat');
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A zombie (dead, waiting for its parent to reap it) or a dying task: no longer a running process. */
export function deadState(state: string | undefined): boolean {
  return state === 'Z' || state === 'X';
}

// Synchronous: a scan reads three small files of every process (a few hundred in all). As promises that
// was ~60 ms of thread-pool round trips per scan, and every run scans at its end; /proc reads never block.
function readProcFile(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/** stat's flags (field 9): the task is a kernel thread. */
const PF_KTHREAD = 0x00200000;

function readProc(pid: number): ProcInfo | null {
  const read = (file: string) => readProcFile(pid, file);
  const rest = statFields(pid);
  if (rest === null) return null;
  const state = rest[0];
  if (deadState(state)) return null;
  const ppid = Number(rest[1]);
  // A kernel thread (most of /proc on a quiet machine) has no argv, stays in the root cgroup and is no
  // process's descendant but kthreadd's: no run's, so its other files are not read.
  if ((Number(rest[6]) & PF_KTHREAD) !== 0) return { pid, ppid, cmdline: '', cgroup: '' };
  const cmdline = (read('cmdline') ?? '').replace(/\0/g, ' ');
  const cgroup = read('cgroup') ?? '';
  return { pid, ppid, cmdline, cgroup };
}

export async function listProcesses(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const p = readProc(Number(n));
    if (p) out.push(p);
  }
  return out;
}

export interface Selector {
  /** Roots whose descendants (and themselves) belong to the run. */
  roots: number[];
  /** Substrings of argv that mark the run's processes (its private temp dir). */
  argvTokens: string[];
  /** Container ids: a process whose cgroup path has this as a component belongs to the run. */
  cgroupNames: string[];
}

/** Live (non-zombie) processes matching the selector, excluding this Node process. */
export async function findProcesses(sel: Selector): Promise<number[]> {
  const procs = await listProcesses();
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const alive = new Set(procs.map((p) => p.pid));
  const found = new Set<number>();
  const stack = sel.roots.filter((r) => alive.has(r));
  while (stack.length) {
    const pid = stack.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  for (const p of procs) {
    if (sel.argvTokens.some((t) => t && p.cmdline.includes(t))) found.add(p.pid);
    if (sel.cgroupNames.some((id) => p.cgroup.split('\n').some((l) => l.split('/').includes(id)))) found.add(p.pid);
  }
  found.delete(process.pid);
  return [...found];
}

export function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone. EPERM cannot happen as root and is not ours to fix otherwise.
  }
}

/** Signals a whole process group (negative pid). */
export function killGroup(pgid: number, sig: NodeJS.Signals): void {
  kill(-pgid, sig);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs everything the selector matches, again and again (a dying parent may fork once more),
 * until nothing matches or `deadlineMs` passes. Returns what is still alive (empty on success).
 */
export async function killAll(sel: Selector, deadlineMs = 5000): Promise<number[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const pids = await findProcesses(sel);
    if (pids.length === 0) return [];
    if (Date.now() > end) return pids;
    for (const pid of pids) kill(pid, 'SIGKILL');
    await sleep(50);
  }
}
