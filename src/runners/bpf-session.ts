// The host-kernel count's bpftrace session (bpf-count.ts reads what it writes). Node's built-ins only: the
// entry point starts it before the CLI has loaded (prestart.ts), so that its start overlaps node's.
//
// The program is compiled ahead of time: `bpftrace --aot` once per script, bpftrace and kernel, kept in the
// tool's cache (cache.ts); each session runs it with `bpftrace-aotrt`, which loads and attaches it in ~60 ms
// and ~50 ms of CPU where bpftrace took ~0.27 s and ~0.28 s of CPU (LLVM's and clang's start, the compile).
// An AOT program takes no positional parameter and bpftrace 0.17 refuses -k with it: what the script needs
// from this process comes through a syscall the script watches (below), and a full map is told from the dump
// (a map only grows: a key is set to 0, never deleted, so its size at the dump is its largest). aotrt buffers
// a pipe's output: stdbuf makes it a line at a time.
//
// Protocol: one session follows every process this tool starts once the session is ready, so the
// environments of a run share it (one start instead of one per environment). Ready: the script's BEGIN prints
// `ready` once every probe is attached, and this process then registers itself with ftruncate(REGISTER_FD,
// tag), a descriptor no process can have open: the first caller becomes the tool, whose pid the script
// follows, and the tag is what every line it prints then starts with. The script answers `hello PID TAG` to the
// tool's call, and `taken PID` once to the first call of another process: a session someone else registered
// first is refused (no pod runs yet: runs start once it is ready). A process forked by the tool is followed silently until its first exec; counting starts with
// that exec, as under `perf trace -- CMD` (perf's enable_on_exec), the mechanism whose figures these
// reproduce. Each run names its own process (the wrapper it started) as the root, and its figures are those
// of the root's process tree (readCounts). A getpriority call by this process with who = DUMP_WHO makes the
// script print the maps it reads between two tagged lines (in ~1 ms); it is then SIGKILLed (SIGINT would
// first detach each probe, then poll 100 ms more before printing). setpriv's PR_SET_PDEATHSIG kills it when
// this process dies.
// What a workload names is printed too (an exec's path, a comm) and may hold line breaks: every line the
// script prints starts with the session's tag, a random number a pod cannot read (it is in the data file's
// first line and this process's syscall, both on the host), and bpf-count.ts reads a map line that a comm broke
// in two as one.
// Three tracepoints (each costs ~50 ms to detach: the kernel waits for RCU grace periods): raw_syscalls
// sys_enter/sys_exit and sched_process_fork (its parent is the forking thread, which a child's own view cannot
// tell under CLONE_PARENT). An exec is a successful execve/execveat seen at sys_exit (where sched_process_exec
// fires), named by the path its entry passed (an N line; bpf-count.ts makes the kernel's name of it). The same
// rules as parsers/perf-trace.ts:
// - a call counts as entered when sys_enter fired for it; an exit with no entry (gVisor's PTRACE_SYSEMU
//   stops, seccomp-refused calls) counts as not entered;
// - an entry with no exit counts as entered, like perf trace's pending entry: exit and exit_group at once,
//   a thread killed in a call from the maps' dump (@in), when the thread makes no other call;
// - a thread's first event, an exit with no entry, is not a call: a new task returning from clone/fork
//   (perf trace's child side of clone);
// - the exec that starts the count is entered (its entry came before: perf counts it so too);
// - a negative syscall id (a call skipped by ptrace) is no syscall, as perf trace drops it.

import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { createWriteStream, ftruncateSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileKey, readCachedBytes, removeCached, writeCached } from '../cache.js';
import { whichSync } from './which.js';
import { makeRunDir } from './run-dir.js';
import { registerRun } from './registry.js';

/**
 * Keys of each map (preallocated: 65,536 took ~80 ms of bpftrace's start, this ~20 ms). The count map's are
 * threads x exec segments x syscalls x comms: a three-way `uname -r` uses ~1,340, a three-way `find /usr/lib`
 * (170,000 syscalls) 1,481. The per-thread maps hold at most one key per followed thread, as @track does. A
 * map that reached this size may have refused keys: readCounts says so (fullMaps).
 */
export const MAP_KEYS = 16_384;
/** bpftrace compiles the program with LLVM (once, then cached): seconds on a loaded machine. */
const READY_MS = 60_000;
/** ftruncate(REGISTER_FD, tag) by this process registers it with the script: no process has this descriptor. */
const REGISTER_FD = 2 ** 31 - 1;
/** getpriority(PRIO_PROCESS, DUMP_WHO) by this process asks the script for the counts: no pid is that high. */
const DUMP_WHO = 2_000_000_000;
/** The data file's first line, written by this process: `tag N`, N the tag every line of the script starts with. */
export const TAG_LINE = 'tag ';

// @tool[0]: this process's pid, @tag[0]: the tag (both set by its registration). @track: 3 = started by the
// tool, not exec'd yet (followed, not counted); 4 = its first exec is returning; 2 = a new task whose first
// event is its return from fork; 1 = counted; 0 = not followed. A fork by a process not followed forgets its
// child's tid (no exit probe does: tids are reused). @ex: the thread of a process in execve. A key is set to
// 0, never deleted: its map's size at the dump is then the most it held (readCounts' full-map check).
// The thread's state is read once into a variable: every map lookup is paid on each of the run's host syscalls.
// The script names no kernel type but sched_process_fork's pid_t (an int on Linux), defined here: it compiles
// without the kernel's BTF (given an empty one, bpftrace 0.17 spares parsing the kernel's, twice, ~110 ms),
// to the same program as with it.
export function countScript(): string {
  return `#define pid_t int
BEGIN { printf("ready\\n"); }
tracepoint:sched:sched_process_fork {
  $parent = tid;
  $child = args->child_pid & 0xffffffff;
  $tool = @tool[0];
  if (($tool != 0 && pid == $tool) || @track[$parent]) {
    @track[$child] = ((pid == $tool) || @track[$parent] == 3) ? 3 : 2;
    printf("F%llu %llu %d %d %s\\n", @tag[0], nsecs, $parent, $child, comm);
  } else if (@track[$child]) {
    @track[$child] = 0;
  }
}
tracepoint:raw_syscalls:sys_enter {
  $t = @track[tid];
  $id = args->id;
  if ($id == 77 && args->args[0] == ${REGISTER_FD}) {
    if (@tool[0] == 0) { @tool[0] = pid; @tag[0] = args->args[1]; }
    if (pid == @tool[0]) { printf("hello %d %llu\\n", pid, @tag[0]); }
    else if (@taken[0] == 0) { @taken[0] = 1; printf("taken %d\\n", @tool[0]); }
  }
  if ($id == 140 && (args->args[1] & 0xffffffff) == ${DUMP_WHO} && pid == @tool[0]) {
    $g = @tag[0];
    printf("B%llu\\n", $g); print(@c); printf("I%llu\\n", $g); print(@in); printf("S%llu\\n", $g); print(@seg);
    printf("T%llu\\n", $g); print(@track); printf("E%llu\\n", $g);
  }
  if ($t != 0) {
    if ($id == 59) {
      @ex[pid] = tid;
      printf("N%llu %llu %d -100 %s\\n", @tag[0], nsecs, tid, str(uptr(args->args[0])));
    } else if ($id == 322) {
      @ex[pid] = tid;
      printf("N%llu %llu %d %llu %s\\n", @tag[0], nsecs, tid, args->args[0] & 0xffffffff, str(uptr(args->args[1])));
    }
  }
  if (($t == 1 || $t == 2) && $id >= 0) {
    $p = @in[tid];
    if ($p != 0) { @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
    if ($id == 60 || $id == 231) { if ($p != 0) { @in[tid] = 0; } @c[tid, @seg[tid], $id, 1, comm] = count(); }
    else { @in[tid] = $id + 1; }
  }
}
tracepoint:raw_syscalls:sys_exit {
  $t = @track[tid];
  $id = args->id;
  if ($t != 0 && ($id == 59 || $id == 322) && args->ret == 0) {
    $old = @ex[pid];
    if ($old != 0) { @ex[pid] = 0; } else { $old = tid; }
    if ($old != tid) {
      $lp = @in[tid];
      if ($lp != 0) { @c[tid, @seg[tid], $lp - 1, 1, comm] = count(); }
      $op = @in[$old];
      if ($op != 0) { @in[tid] = $op; @in[$old] = 0; } else if ($lp != 0) { @in[tid] = 0; }
      $t = @track[$old];
    }
    $t = $t == 3 ? 4 : 1;
    @track[tid] = $t;
    @seg[tid] = @seg[tid] + 1;
    printf("X%llu %llu %d %d %d\\n", @tag[0], nsecs, tid, $old, @seg[tid]);
  }
  if ($t != 0 && $t != 3 && $id >= 0) {
    $p = @in[tid];
    if ($p == $id + 1) {
      @in[tid] = 0;
      @c[tid, @seg[tid], $id, 1, comm] = count();
    } else {
      if ($p != 0) { @in[tid] = 0; @c[tid, @seg[tid], $p - 1, 1, comm] = count(); }
      if ($t == 2) { @track[tid] = 1; }
      else if ($t == 4) { @track[tid] = 1; @c[tid, @seg[tid], $id, 1, comm] = count(); }
      else { @c[tid, @seg[tid], $id, 0, comm] = count(); }
    }
  }
}
`;
}

const LOST = /Lost (\d+) events/;

/**
 * The perf events (fork and exec lines) a line bpftrace itself printed says were lost; 0 for any other line.
 * bpftrace 0.17 prints it on stdout, among the script's lines (readCounts reads it there).
 */
export function bpftraceLoss(line: string): number {
  const m = LOST.exec(line);
  return m ? Number(m[1]) : 0;
}

/**
 * A count session: it follows every process this tool forks after `ready` resolves. stop() ends it once the
 * traced processes are gone and leaves its output in `file`; readCounts(file, root) takes one run's share.
 */
export interface CountSession {
  readonly file: string;
  /** Resolves when nothing can be missed (every probe attached, this process registered); rejects when bpftrace cannot start. */
  readonly ready: Promise<void>;
  /** The counts are whole in `file` when it resolves (bpftrace is being killed). Idempotent; throws when bpftrace failed. */
  stop(): Promise<void>;
  /** Ends bpftrace at once; resolves once it has exited. */
  kill(): Promise<void>;
}

/** What a count session runs: bpftrace's compiler and runtime, under util-linux's setpriv and coreutils' stdbuf. */
export interface Counter { bpftrace: string; aotrt: string; setpriv: string; stdbuf: string }

/** The counter, when this machine can count in the kernel (x86_64: syscall numbers are named from its table). */
export function bpfCounter(): Counter | null {
  if (process.arch !== 'x64') return null;
  const [bpftrace, aotrt, setpriv, stdbuf] = ['bpftrace', 'bpftrace-aotrt', 'setpriv', 'stdbuf'].map((t) => whichSync(t));
  return bpftrace && aotrt && setpriv && stdbuf ? { bpftrace, aotrt, setpriv, stdbuf } : null;
}

/** The environment both bpftrace programs get. STRLEN: exec'd file names are matched by basename, so whole paths. */
const BPF_ENV = { BPFTRACE_MAP_KEYS_MAX: String(MAP_KEYS), BPFTRACE_STRLEN: '200' };

/** A BTF blob with no type: header (magic 0xeb9f, version 1, 24 bytes, no types) and an empty string table. */
const EMPTY_BTF = Buffer.from([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);

/**
 * The compiled program's name in the cache: it is made from the script, the map sizes, bpftrace (compiler and
 * runtime) and the kernel (its tracepoints' layouts); null when bpftrace's files cannot be read.
 */
function programName(counter: Counter, script: string): string | null {
  try {
    const h = createHash('sha256');
    for (const part of [script, JSON.stringify(BPF_ENV), fileKey(counter.bpftrace), fileKey(counter.aotrt), os.release(), os.version()]) h.update(part).update('\0');
    return `bpf-count-${h.digest('hex').slice(0, 32)}.aot`;
  } catch {
    return null;
  }
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * Starts a session counting what this process starts once it is ready, into `dataFile` (created, must not
 * exist); the program goes beside it (`dataFile.aot`). `runDir` is in the processes' argv (the program's
 * path is in it) so that `trace-compare cleanup` finds them by the run's dir (a SIGKILL of this process kills
 * them too, through PR_SET_PDEATHSIG).
 */
export function startCount(counter: Counter, dataFile: string, runDir: string, signal?: AbortSignal): CountSession {
  if (!path.resolve(dataFile).startsWith(path.resolve(runDir) + '/')) throw new Error(`${dataFile} is not in ${runDir}`);
  const tag = randomInt(1, 2 ** 47);
  const script = countScript();
  const program = `${dataFile}.aot`;
  const name = programName(counter, script);
  const cached = name ? readCachedBytes(name) : null;
  if (cached) writeFileSync(program, cached, { flag: 'wx', mode: 0o600 });
  const env = { ...process.env, ...BPF_ENV };
  // PR_SET_PDEATHSIG: each is killed when this process dies, however it dies (setpriv sets it and execs).
  const underDeathSignal = (argv: string[], more: Record<string, string> = {}) =>
    spawn(counter.setpriv, ['--pdeathsig', 'KILL', '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...more } });

  const out = createWriteStream(dataFile, { flags: 'wx', mode: 0o600 });
  out.write(`${TAG_LINE}${tag}\n`);
  let stderr = '';
  let writeError: Error | null = null;
  let current: ChildProcess | null = null; // the compiler, then the runtime
  let killed = false;
  const keepStderr = (c: ChildProcess) => c.stderr!.setEncoding('latin1').on('data', (t: string) => {
    stderr = (stderr + t).slice(-65_536);
  });
  const ended = (c: ChildProcess) => new Promise<Exit>((resolve) => {
    c.once('error', (e) => {
      stderr += e.message;
      resolve({ code: null, signal: null });
    });
    c.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  // The runtime, once the program is there: compiled now when the cache had none (and cached for the next).
  const runtime = (async (): Promise<ChildProcess | Exit> => {
    if (!cached) {
      const btf = `${dataFile}.btf`;
      try {
        writeFileSync(btf, EMPTY_BTF, { flag: 'wx', mode: 0o600 });
      } catch (e) {
        // A full disk: no session (the run says why), rather than a rejection nobody awaits.
        stderr += e instanceof Error ? e.message : String(e);
        return { code: null, signal: null };
      }
      current = underDeathSignal([counter.bpftrace, '--aot', program, '-e', script], { BPFTRACE_BTF: btf });
      current.stdout!.resume();
      keepStderr(current);
      const r = await ended(current);
      if (r.code !== 0) return r;
      try {
        if (name) writeCached(name, readFileSync(program));
      } catch {
        // Not written: the next session compiles it again.
      }
    }
    if (killed) return { code: null, signal: 'SIGKILL' };
    current = underDeathSignal([counter.stdbuf, '-oL', counter.aotrt, program]);
    keepStderr(current);
    return current;
  })();
  // Settles once the program has exited and everything it printed is in the file.
  const exited = runtime.then((child) => {
    if (!(child instanceof ChildProcess)) {
      out.end();
      return child;
    }
    return new Promise<Exit>((resolve) => {
      let status: Exit | null = null;
      let written = false;
      const settle = () => {
        if (status && written) resolve(status);
      };
      void ended(child).then((r) => {
        status = r;
        if (r.code === null && r.signal === null) out.destroy(); // it never started: no output will come
        settle();
      });
      child.stdout!.pipe(out);
      // A full disk: bpftrace must not block on a pipe nobody reads; stop() says the counts are short.
      out.on('error', (e) => {
        writeError ??= e;
        child.stdout!.unpipe(out);
        child.stdout!.resume();
      });
      out.once('close', () => {
        written = true;
        settle();
      });
    });
  });
  let gone = false;
  void exited.then(() => { gone = true; });
  const failure = (r: Exit) => new Error(`bpftrace exited ${r.code ?? r.signal ?? 'without starting'}: ${stderr.trim().slice(-300)}`);
  const kill = async () => {
    killed = true;
    if (!gone) current?.kill('SIGKILL');
    await exited;
  };
  /** Resolves with the text `child` printed up to and including a match of `re`. */
  const printed = (child: ChildProcess, re: RegExp) => new Promise<string>((resolve) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString('latin1');
      if (re.test(seen)) {
        child.stdout!.off('data', onData);
        resolve(seen);
      } else if (seen.length > 4096) seen = seen.slice(-256);
    };
    child.stdout!.on('data', onData);
  });

  let timer: NodeJS.Timeout | undefined;
  let again: NodeJS.Timeout | undefined;
  let onAbort = () => undefined as void;
  const ready = new Promise<void>((resolve, reject) => {
    void exited.then((r) => reject(failure(r)));
    timer = setTimeout(() => reject(new Error(`bpftrace was not ready after ${READY_MS / 1000} s`)), READY_MS);
    if (signal?.aborted) reject(new Error('interrupted'));
    onAbort = () => reject(new Error('interrupted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    void runtime.then(async (child) => {
      if (!(child instanceof ChildProcess)) return;
      await printed(child, /(^|\n)ready\n/);
      // Asked again should the answer be lost; the script takes the first caller's registration only.
      const answer = printed(child, /(^|\n)(hello \d+ \d+|taken \d+)\n/);
      const register = () => {
        try {
          ftruncateSync(REGISTER_FD, tag);
        } catch {
          // EBADF: the call was made, which is all the script needs.
        }
      };
      register();
      again = setInterval(register, 100);
      const said = /(?:^|\n)(?:hello (\d+) (\d+)|taken (\d+))\n/.exec(await answer)!;
      if (said[1] !== undefined && Number(said[1]) === process.pid && Number(said[2]) === tag) resolve();
      else reject(new Error(`another process (${said[1] ?? said[3]}) took bpftrace's count session first`));
    });
  }).finally(() => {
    clearTimeout(timer);
    clearInterval(again);
    signal?.removeEventListener('abort', onAbort);
  });
  ready.catch(() => void kill());
  // A cached program that failed to start by itself (a damaged file) is compiled again by the next session.
  let started = false;
  void ready.then(() => { started = true; }, () => undefined);
  void exited.then((r) => {
    if (!started && !killed && r.code !== null && cached && name) removeCached(name);
  });
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const child = await runtime;
      if (!(child instanceof ChildProcess)) throw failure(child);
      // The dump's end, watched for from now on; this listener comes after the pipe's, so the file already
      // holds the chunk that ends the dump when it is seen.
      const dump = printed(child, new RegExp(`\\nE${tag}\\n`)).then(() => null);
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
      if (r !== null) throw failure(r);
      // The rest of bpftrace's life is detaching its probes: it goes on while the counts are read.
      child.stdout!.unpipe(out);
      child.stdout!.resume();
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
