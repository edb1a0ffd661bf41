// The host-kernel count's bpftrace session (bpf-count.ts reads what it writes). Node's built-ins only: the
// entry point starts it before the CLI has loaded (prestart.ts), so that its start (~0.27 s alone, of CPU
// mostly: LLVM's and clang's own initialisation, the compile, the maps) overlaps node's.
//
// Protocol: one bpftrace session follows every process this tool starts once the session is ready, so the
// environments of a run share it (one start instead of one per environment). A process
// forked by the tool is followed silently until its first exec; counting starts with that exec, as under
// `perf trace -- CMD` (perf's enable_on_exec), the mechanism whose figures these reproduce. Each run names
// its own process (the wrapper it started) as the root, and its figures are those of the root's process tree
// (readCounts). A getpriority call by this process with who = DUMP_WHO makes the script print the maps it
// reads between two tagged lines (in ~1 ms; SIGUSR1 took ~25 ms to be acted on and printed every map); it is
// then SIGKILLed (SIGINT would first detach each probe, ~45 ms apiece, and poll 100 ms more before printing).
// setpriv's PR_SET_PDEATHSIG kills it when this process dies.
// What a workload names is printed too (an exec's path, a comm) and may hold line breaks: every line the
// script prints starts with the session's tag, a random number a pod cannot read (it is in bpftrace's argv
// and the data file's first line, both on the host), and bpf-count.ts reads a map line that a comm broke in
// two as one.
// Three tracepoints (each costs ~45 ms to detach, ~30 ms to start): raw_syscalls sys_enter/sys_exit and
// sched_process_fork (its parent is the forking thread, which a child's own view cannot tell under
// CLONE_PARENT). An exec is a successful execve/execveat seen at sys_exit (where sched_process_exec fires),
// named by the path its entry passed (an N line; bpf-count.ts makes the kernel's name of it). The same rules
// as parsers/perf-trace.ts:
// - a call counts as entered when sys_enter fired for it; an exit with no entry (gVisor's PTRACE_SYSEMU
//   stops, seccomp-refused calls) counts as not entered;
// - an entry with no exit counts as entered, like perf trace's pending entry: exit and exit_group at once,
//   a thread killed in a call from the maps' dump (@in), when the thread makes no other call;
// - a thread's first event, an exit with no entry, is not a call: a new task returning from clone/fork
//   (perf trace's child side of clone);
// - the exec that starts the count is entered (its entry came before: perf counts it so too);
// - a negative syscall id (a call skipped by ptrace) is no syscall, as perf trace drops it.

import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { whichSync } from './which.js';
import { makeRunDir } from './run-dir.js';
import { registerRun } from './registry.js';

/**
 * Keys of each map (bpftrace preallocates them all: 65,536 took ~80 ms of its start, this ~20 ms). The count
 * map's are threads x exec segments x syscalls x comms: a three-way `uname -r` uses ~1,340, a three-way `find
 * /usr/lib` (170,000 syscalls) 1,481. A full map's lost updates are reported as lost events (stop()).
 */
const MAP_KEYS = 16_384;
/** bpftrace compiles its program with LLVM: seconds on a loaded machine. */
const READY_MS = 60_000;

// @track: 3 = started by the tool, not exec'd yet (followed, not counted); 4 = its first exec is returning;
// 2 = a new task whose first event is its return from fork; 1 = counted. A fork by a process not followed
// forgets its child's tid (no exit probe does: tids are reused). @ex: the thread of a process in execve.
// `args` is named once per probe and its fields read at their offsets: bpftrace 0.17 reads tracefs's whole
// available_events ~10 times for every `args` it meets (183 reads, ~100 ms of its start, when each field was
// named). raw_syscalls' layout is fixed (id at 8, then args[6] or ret at 16); sched_process_fork's is read from
// its format (forkChildPid). The forking thread is the current one (tid, comm: the child's copy of it).
// The thread's state is read once into a variable: every map lookup is paid on each of the run's host syscalls.
// A delete is made only of a key there: -k reports every failed helper call to user space (17 a `uname -r`
// three-way, one per exit, before), and a flood of them could overflow the buffer that carries the lines.
export function countScript(childPid = forkChildPid()): string {
  return `
BEGIN { printf("ready %d %s\\n", $1, str($2)); }
tracepoint:sched:sched_process_fork {
  $a = (uint64)args;
  $parent = tid;
  $child = ${childPid};
  if (pid == $1 || @track[$parent]) {
    @track[$child] = (pid == $1 || @track[$parent] == 3) ? 3 : 2;
    printf("F%llu %llu %d %d %s\\n", $3, nsecs, $parent, $child, comm);
  } else if (@track[$child]) {
    delete(@track[$child]);
  }
}
tracepoint:raw_syscalls:sys_enter {
  $a = (uint64)args;
  $t = @track[tid];
  $id = *(int64*)($a + 8);
  if ($id == 140 && pid == $1 && (*(uint64*)($a + 24) & 0xffffffff) == ${DUMP_WHO}) {
    printf("B%llu\\n", $3); print(@c); printf("I%llu\\n", $3); print(@in); printf("S%llu\\n", $3); print(@seg);
    printf("E%llu\\n", $3);
  }
  if ($t != 0) {
    if ($id == 59) {
      @ex[pid] = tid;
      printf("N%llu %llu %d -100 %s\\n", $3, nsecs, tid, str(uptr(*(uint64*)($a + 16))));
    } else if ($id == 322) {
      @ex[pid] = tid;
      printf("N%llu %llu %d %d %s\\n", $3, nsecs, tid, (int32)*(uint64*)($a + 16), str(uptr(*(uint64*)($a + 24))));
    }
  }
  if (($t == 1 || $t == 2) && $id >= 0) {
    $p = @in[tid];
    if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
    if ($id == 60 || $id == 231) { if ($p != 0) { delete(@in[tid]); } @c[tid, @seg[tid], $id, 1, comm] = count(); }
    else { @in[tid] = $id + 1; }
  }
}
tracepoint:raw_syscalls:sys_exit {
  $a = (uint64)args;
  $t = @track[tid];
  $id = *(int64*)($a + 8);
  if ($t != 0 && ($id == 59 || $id == 322) && *(int64*)($a + 16) == 0) {
    $old = @ex[pid];
    if ($old != 0) { delete(@ex[pid]); } else { $old = tid; }
    if ($old != tid) {
      $lp = @in[tid];
      if ($lp != 0) { @c[tid, @seg[tid], $lp - 1, 1, comm] = count(); }
      $op = @in[$old];
      if ($op != 0) { @in[tid] = $op; delete(@in[$old]); } else if ($lp != 0) { delete(@in[tid]); }
      $t = @track[$old];
    }
    $t = $t == 3 ? 4 : 1;
    @track[tid] = $t;
    @seg[tid] = @seg[tid] + 1;
    printf("X%llu %llu %d %d %d\\n", $3, nsecs, tid, $old, @seg[tid]);
  }
  if ($t != 0 && $t != 3 && $id >= 0) {
    $p = @in[tid];
    if ($p == $id + 1) {
      delete(@in[tid]);
      @c[tid, @seg[tid], $id, 1, comm] = count();
    } else {
      if ($p != 0) { delete(@in[tid]); @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
      if ($t == 2) { @track[tid] = 1; }
      else if ($t == 4) { @track[tid] = 1; @c[tid, @seg[tid], $id, 1, comm] = count(); }
      else { @c[tid, @seg[tid], $id, 0, comm] = count(); }
    }
  }
}
`;
}

/**
 * How the fork probe reads the child's pid: at the offset this kernel's format gives (a pid_t field), else
 * through `args->` (slower to start, never wrong).
 */
export function forkChildPid(): string {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    let format: string;
    try {
      format = readFileSync(`${root}/events/sched/sched_process_fork/format`, 'latin1');
    } catch {
      continue;
    }
    const m = /field:pid_t child_pid;\s*offset:(\d+);\s*size:4;/.exec(format);
    if (m) return `*(int32*)($a + ${m[1]})`;
  }
  return 'args->child_pid';
}

/** A BTF blob with no type: header (magic 0xeb9f, version 1, 24 bytes, no types) and an empty string table. */
const EMPTY_BTF = Buffer.from([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);

/** getpriority(PRIO_PROCESS, DUMP_WHO) by this process asks the script for the counts: no pid is that high. */
const DUMP_WHO = 2_000_000_000;
/** The data file's first line, written by this process: `tag N`, N the tag every line of the script starts with. */
export const TAG_LINE = 'tag ';

const MAP_FULL = /map_update_elem/i;
const LOST = /Lost (\d+) events/;

/**
 * What a line bpftrace itself printed says is missing from the counts: one count the full map refused (-k),
 * or N perf events (fork and exec lines) lost; 0 for any other line. bpftrace 0.17 prints these on stdout,
 * among the script's lines (readCounts reads them there).
 */
export function bpftraceLoss(line: string): number {
  if (MAP_FULL.test(line)) return 1;
  const m = LOST.exec(line);
  return m ? Number(m[1]) : 0;
}

/**
 * A count session: it follows every process this tool forks after `ready` resolves. stop() ends it once the
 * traced processes are gone and leaves its output in `file`; readCounts(file, root) takes one run's share.
 */
export interface CountSession {
  readonly file: string;
  /** Resolves when nothing can be missed (every probe attached); rejects when bpftrace cannot start. */
  readonly ready: Promise<void>;
  /** The counts are whole in `file` when it resolves (bpftrace is being killed). Idempotent; throws when bpftrace failed. */
  stop(): Promise<void>;
  /** Ends bpftrace at once; resolves once it has exited. */
  kill(): Promise<void>;
}

/** What a count session runs: bpftrace, under util-linux's setpriv, which ends it with this process. */
export interface Counter { bpftrace: string; setpriv: string }

/** The counter, when this machine can count in the kernel (x86_64: syscall numbers are named from its table). */
export function bpfCounter(): Counter | null {
  if (process.arch !== 'x64') return null;
  const bpftrace = whichSync('bpftrace');
  const setpriv = whichSync('setpriv');
  return bpftrace && setpriv ? { bpftrace, setpriv } : null;
}

/**
 * Starts a session counting what this process starts once it is ready, into `dataFile` (created, must not
 * exist). `runDir` is in bpftrace's argv only so that `trace-compare cleanup` finds it by the run's dir (a
 * SIGKILL of this process kills it too, through PR_SET_PDEATHSIG).
 */
export function startCount(counter: Counter, dataFile: string, runDir: string, signal?: AbortSignal): CountSession {
  // PR_SET_PDEATHSIG: bpftrace is killed when this process dies, however it dies (setpriv sets it and execs).
  const tag = randomInt(1, 2 ** 47);
  const argv = ['--pdeathsig', 'KILL', '--', counter.bpftrace, '-B', 'none', '-k', '-e', countScript(), String(process.pid), `${runDir}/`, String(tag)];
  // The script names no kernel type: an empty BTF spares bpftrace 0.17 parsing the kernel's, twice (~110 ms).
  const btf = `${dataFile}.btf`;
  writeFileSync(btf, EMPTY_BTF, { flag: 'wx', mode: 0o600 });
  const child = spawn(counter.setpriv, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // STRLEN: exec'd file names are matched by basename, so whole paths (the default cuts at 64 bytes).
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(MAP_KEYS), BPFTRACE_STRLEN: '200', BPFTRACE_BTF: btf },
  });
  const out = createWriteStream(dataFile, { flags: 'wx', mode: 0o600 });
  out.write(`${TAG_LINE}${tag}\n`);
  let stderr = '';
  let writeError: Error | null = null;
  child.stderr.setEncoding('latin1').on('data', (t: string) => {
    stderr = (stderr + t).slice(-65_536);
  });
  // Settles once bpftrace has exited and everything it printed is in the file.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    let status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let written = false;
    const settle = () => {
      if (status && written) resolve(status);
    };
    child.once('error', (e) => {
      stderr += e.message;
      status = { code: null, signal: null };
      written = true;
      out.destroy();
      settle();
    });
    child.once('close', (code, sig) => {
      status = { code, signal: sig };
      settle();
    });
    child.stdout.pipe(out);
    // A full disk: bpftrace must not block on a pipe nobody reads; stop() says the counts are short.
    out.on('error', (e) => {
      writeError ??= e;
      child.stdout.unpipe(out);
      child.stdout.resume();
    });
    out.once('close', () => {
      written = true;
      settle();
    });
  });
  let gone = false;
  void exited.then(() => { gone = true; });
  const failure = (r: { code: number | null; signal: NodeJS.Signals | null }) =>
    new Error(`bpftrace exited ${r.code ?? r.signal ?? 'without starting'}: ${stderr.trim().slice(-300)}`);
  const kill = async () => {
    if (!gone) child.kill('SIGKILL');
    await exited;
  };
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => undefined as void;
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString('latin1');
      if (/ready \d+ .*\n/.test(seen)) {
        child.stdout.off('data', onData);
        resolve();
      } else if (seen.length > 4096) seen = seen.slice(-64);
    };
    child.stdout.on('data', onData);
    void exited.then((r) => reject(failure(r)));
    timer = setTimeout(() => reject(new Error(`bpftrace was not ready after ${READY_MS / 1000} s`)), READY_MS);
    if (signal?.aborted) reject(new Error('interrupted'));
    onAbort = () => reject(new Error('interrupted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  }).finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  });
  ready.catch(() => void kill());
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // The dump's end, watched for from now on; this listener comes after the pipe's, so the file already
      // holds the chunk that ends the dump when it is seen.
      const end = `\nE${tag}\n`;
      let tail = '';
      let onData = (_: Buffer) => undefined as void;
      const dump = new Promise<null>((resolve) => {
        onData = (b: Buffer) => {
          tail = (tail + b.toString('latin1')).slice(-256);
          if (tail.includes(end)) resolve(null);
        };
      });
      child.stdout.on('data', onData);
      // Asked again every 100 ms should the event be lost (readCounts reads the first dump); SIGKILL ends
      // bpftrace after 10 s.
      const ask = () => {
        try {
          os.getPriority(DUMP_WHO);
        } catch {
          // ESRCH: the call was made, which is all the script needs.
        }
      };
      ask();
      const again = setInterval(ask, 100);
      const t = setTimeout(() => void kill(), 10_000);
      const r = await Promise.race([dump, exited]);
      clearInterval(again);
      clearTimeout(t);
      child.stdout.off('data', onData);
      if (r !== null) throw failure(r);
      // The rest of bpftrace's life is detaching its probes: it goes on while the counts are read.
      child.stdout.unpipe(out);
      child.stdout.resume();
      void kill();
      await new Promise<void>((resolve) => {
        out.end(resolve);
      });
      if (writeError) throw new Error(`the counts could not be written to ${dataFile}: ${(writeError as Error).message}`);
      // Losses bpftrace reported on stderr (0.17 prints them on stdout), added after the dump.
      const warnings = stderr.split('\n').map((l) => l.trim()).filter((l) => bpftraceLoss(l) > 0);
      // On a line of their own: bpftrace was killed, maybe in the middle of one.
      if (warnings.length > 0) await appendFile(dataFile, '\n' + warnings.map((w) => `W ${w}\n`).join(''));
    })();
    return stopped;
  };
  return { file: dataFile, ready, stop, kill };
}

/** A session of its own dir, registered so that every exit of the tool ends it. */
export interface SharedCount {
  session: CountSession;
  /** Kills bpftrace if it still runs and removes the session's dir (unless kept). Idempotent. */
  dispose(): Promise<void>;
  /** Keep the session's dir (--keep-temp). */
  keep(): void;
}

/**
 * Opens a session shared by the runs of one command, in a private dir that `trace-compare cleanup` knows;
 * null when this machine cannot count in the kernel. bpftrace is spawned before this returns: nothing here
 * waits for the event loop.
 */
export function openCountSession(signal?: AbortSignal): SharedCount | null {
  const counter = bpfCounter();
  if (!counter) return null;
  const dir = makeRunDir(`count-${process.pid}`);
  const session = startCount(counter, path.join(dir, 'bpf-counts.txt'), dir, signal);
  let kept = false;
  const { dispose, unregister } = registerRun({
    label: `host-kernel count (${dir})`, tempDir: dir, containerId: null, keepTemp: () => kept,
    teardown: () => session.kill(),
    onInterrupt: () => undefined,
  });
  return {
    session,
    dispose: async () => {
      await dispose();
      unregister();
    },
    keep: () => {
      kept = true;
    },
  };
}

let prestarted: SharedCount | null = null;

/**
 * Opens a session now, for the first command that traces (takePrestarted): called by the entry point before
 * the CLI loads, when its arguments may run a command, so that bpftrace's start overlaps node's own.
 */
export function prestartCount(): void {
  try {
    prestarted ??= openCountSession();
  } catch {
    // No dir for it (a full temp dir): the command opens its own, and says why if it cannot.
  }
}

/** The session prestartCount opened, once; null when there is none (or it was taken). */
export function takePrestarted(): SharedCount | null {
  const p = prestarted;
  prestarted = null;
  return p;
}

/** Ends a prestarted session no command took (help, --no-perf, not root, pods through CRI...). */
export async function discardPrestarted(): Promise<void> {
  await takePrestarted()?.dispose();
}
