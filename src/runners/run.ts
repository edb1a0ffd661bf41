// Runs one command in one environment, traced, and always leaves nothing behind: containers deleted and
// processes killed before the outcome is returned, generated files and temp dirs removed once the caller
// disposes of it.
//
// Layout of the run's private dir (mkdtemp, 0700): bundle/ (config.json, rootfs/), tools/ (strace
// copy), state/ (runtime --root), out/ (strace.log, perf.data then perf.txt, runsc/ debug logs, status), init.pid.
// bundle/ and tools/ go to a private dir of their own on a tmpfs when there is one (run-dir.ts makeScratchDir).
// Concurrent runs share nothing: own dir, own state root, own container id. No directory of it is
// mounted into a pod: only the file out/strace.log, bound as a file (see bundle.ts).

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, chmod, readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { loadExeca } from '../load-execa.js';
import { spawnRun, type RunChild } from './spawn-run.js';
import { RunError } from './errors.js';
import type { EnvironmentSpec, RunOptions, RunOutcome } from './types.js';
import type { PodRuntime } from '../runtime.js';
import type { Confinement } from './confinement.js';
import { workloadEnvironment, WORKLOAD_CWD } from './environment.js';
import { checkRuntime, checkTools, toolsFor } from './resolve.js';
import { createBundle, STRACE_FLAGS, STRACE_LOG } from './bundle.js';
import { createPrivateFile, isRegularFile, readPrivateText, readSample } from './private-files.js';
import { killAll, killGroup } from './procs.js';
import { registerRun } from './registry.js';
import { TEMP_PREFIX, makeScratchDir, writeOwner } from './run-dir.js';
import { createRunCgroup, removeCgroupsNamed, type RunCgroup } from './cgroup.js';
import { RECORD_THEN_REPLAY } from './host-trace.js';
import { bpfCounter, startCount, type CountSession } from './bpf-session.js';
import { runCriEnvironment } from './cri/run.js';

/** After asking a runtime to stop, how long its process tree gets before SIGKILL. */
const GRACE_MS = 3000;
/** Bound for each runtime housekeeping command (kill, delete): a hung runtime is SIGKILLed after it. */
const HOUSEKEEPING_MS = 3000;

// Keeps the workload's exit status when perf (which always exits 0) wraps the run. Constant text;
// the command reaches it only as "$@", never parsed by the shell.
const STATUS_WRAPPER = '"$@"; s=$?; printf "%s\\n" "$s" > "$0"; exit "$s"';

type StopReason = 'timeout' | 'interrupt';

export async function runEnvironment(env: EnvironmentSpec, opts: RunOptions): Promise<RunOutcome> {
  if (opts.backend === 'cri' && env.runtime !== 'host') return runCriEnvironment(env, opts);
  if (opts.command.length === 0) throw new RunError('BAD_REQUEST', 'no command to run');
  const traceWorkload = opts.traceWorkload !== false;
  const bins = await checkTools(toolsFor(env.runtime, { tracePerf: opts.tracePerf, traceWorkload }));
  const runtimeBin = await checkRuntime(env.runtime);

  const tempDir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  await chmod(tempDir, 0o700);
  const outDir = path.join(tempDir, 'out');
  const stateDir = path.join(tempDir, 'state');
  const pidFile = path.join(tempDir, 'init.pid');
  const statusFile = path.join(outDir, 'status');
  const runscLogDir = path.join(outDir, 'runsc');
  const perfFile = path.join(outDir, 'perf.txt');
  const perfData = path.join(outDir, 'perf.data');
  const hostTracer = opts.hostTracer ?? RECORD_THEN_REPLAY;
  // The host-kernel view is counted in the kernel when bpftrace is here, unless a test asks for a perf
  // mechanism: in the caller's session shared by its runs, or else in one of this run's own.
  const ownCounter = opts.tracePerf && !opts.hostTracer && !opts.counter ? bpfCounter() : null;
  const counted = opts.tracePerf && !opts.hostTracer && (opts.counter !== undefined || ownCounter !== null);
  let counting: CountSession | null = counted ? opts.counter ?? null : null;
  const stdoutFile = path.join(outDir, 'stdout');
  const stderrFile = path.join(outDir, 'stderr');
  const id = `trace-compare-${randomBytes(6).toString('hex')}`;
  await mkdir(outDir, { mode: 0o700 });
  writeOwner(tempDir, id); // `trace-compare cleanup` tells a live run from a killed one by it
  // Started now, so that bpftrace compiles while the bundle is made.
  if (ownCounter) counting = startCount(ownCounter, path.join(outDir, 'bpf-counts.txt'), tempDir, opts.signal);

  let child: RunChild | null = null;
  let childExited = false;
  let stopping: Promise<void> | null = null;
  let stopReason: StopReason | null = null;
  let ended: Promise<void> | null = null;
  let tornDown: Promise<void> | null = null;

  const runtime = env.runtime === 'host' ? null : { kind: env.runtime, bin: runtimeBin! };
  // Kept files stay together in the run's dir.
  const scratch = runtime && !opts.keepTemp ? await makeScratchDir(id) : null;
  // Host runs get a cgroup of their own (containers have the runtime's): null without root or cgroup v2.
  let cgroup: RunCgroup | null = null;
  let confinement: Confinement | null = null;

  // Ends the workload: the runtime kills its container (so perf, when wrapping, can finish its file),
  // then after a grace period everything left of the run is SIGKILLed.
  const stop = (reason: StopReason): Promise<void> => {
    stopReason ??= reason;
    stopping ??= (async () => {
      if (runtime) await housekeeping(runtime.kind, runtime.bin, stateDir, ['kill', id, 'KILL']);
      else if (child?.pid && !childExited) await killAll({ roots: innerRoots(child.pid, opts.tracePerf), argvTokens: [], cgroupNames: [] }, 1000);
      const deadline = Date.now() + GRACE_MS;
      while (!childExited && Date.now() < deadline) await sleep(50);
      if (child?.pid && !childExited) killGroup(child.pid, 'SIGKILL');
      await killAll(selector(), 2000);
    })();
    return stopping;
  };

  const selector = () => ({
    // A reaped child's pid may be reused: only follow it while it is ours.
    roots: child?.pid && !childExited ? [child.pid] : [],
    argvTokens: [tempDir + '/', ...(scratch ? [scratch + '/'] : [])],
    cgroupNames: runtime || cgroup ? [id] : [],
  });

  // The run's processes, containers and cgroups: ended before the run returns its outcome.
  const endProcesses = (): Promise<void> => {
    ended ??= (async () => {
      if (child?.pid && !childExited) await stop(stopReason ?? 'interrupt');
      if (runtime) await housekeeping(runtime.kind, runtime.bin, stateDir, deleteArgs(runtime.kind, id));
      // Leftovers of the workload that outlived the child (a host `cmd &`) are still in its group;
      // the group id cannot be reused while any member lives.
      if (child?.pid) killGroup(child.pid, 'SIGKILL');
      if (ownCounter) counting?.kill();
      const left = await killAll(selector(), 5000);
      // The host run's own cgroup, and those runsc leaves when its sandbox dies while starting.
      const cgLeft = await removeCgroupsNamed(id);
      if (cgLeft.length) process.emitWarning(`trace-compare: cgroups ${cgLeft.join(', ')} of ${env.name} could not be removed`);
      if (child) await child.ended;
      for (const sub of ['state', 'init.pid']) {
        if (!opts.keepTemp) await rm(path.join(tempDir, sub), { recursive: true, force: true, maxRetries: 3 });
      }
      if (left.length) process.emitWarning(`trace-compare: processes ${left.join(', ')} of ${env.name} survived SIGKILL`);
    })();
    return ended;
  };
  // Then the trees it generated (a pod's /etc copy: ~1,200 entries) when the outcome is disposed of: a
  // three-way run removes them while bpftrace detaches its probes, after the counts are read.
  const teardown = (): Promise<void> => {
    tornDown ??= (async () => {
      await endProcesses();
      for (const sub of ['bundle', 'tools']) {
        if (!opts.keepTemp) rmSync(path.join(tempDir, sub), { recursive: true, force: true, maxRetries: 3 });
      }
      if (scratch) rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    })();
    return tornDown;
  };

  const { dispose, unregister } = registerRun({
    label: `${env.name} (${id})`,
    tempDir,
    containerId: runtime ? id : null,
    keepTemp: opts.keepTemp ?? false,
    teardown,
    onInterrupt: () => {
      stopReason ??= 'interrupt';
    },
  });

  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => void stop('interrupt');
  try {
    if (opts.signal?.aborted) stopReason = 'interrupt';
    let argv: string[];
    const workloadEnv = opts.env ?? workloadEnvironment(process.env);
    let cwd = WORKLOAD_CWD;
    if (!runtime) {
      argv = traceWorkload
        ? [bins.strace!, ...STRACE_FLAGS, '-o', path.join(outDir, STRACE_LOG), '--', ...opts.command]
        : [...opts.command];
    } else {
      const straceInPod = runtime.kind !== 'runsc' && traceWorkload;
      if (straceInPod) await createPrivateFile(path.join(outDir, STRACE_LOG));
      const bundle = await createBundle({
        env: workloadEnv,
        kind: runtime.kind as PodRuntime,
        dir: scratch ?? tempDir,
        command: opts.command,
        rootfs: opts.rootfs,
        include: opts.include,
        ...(opts.sharedRootfs !== undefined ? { sharedRootfs: opts.sharedRootfs } : {}),
        ...(straceInPod ? { strace: bins.strace, straceLog: path.join(outDir, STRACE_LOG) } : {}),
        ...(opts.privileged !== undefined ? { privileged: opts.privileged } : {}),
        ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
      });
      confinement = bundle.confinement;
      cwd = tempDir;
      argv = runtime.kind === 'runsc'
        ? [runtime.bin, '--root', stateDir, '--network=none',
          ...(traceWorkload ? ['--strace', `--debug-log=${runscLogDir}/`] : []),
          'run', '--bundle', bundle.dir, '--pid-file', pidFile, id]
        : [runtime.bin, '--root', stateDir, 'run', '--bundle', bundle.dir, '--pid-file', pidFile, id];
    }
    // Nothing the run starts may come before the count is ready: it follows what this process forks from then on.
    if (counting) {
      const abort = whenAborted(opts.signal);
      const failed = await Promise.race([counting.ready.then(() => null, (e: unknown) => e), abort.promise]);
      abort.release();
      if (opts.signal?.aborted) stopReason ??= 'interrupt';
      else if (failed !== null) {
        if (stopReason === null) process.emitWarning(`trace-compare: the host-kernel view of ${env.name} could not be taken: ${failed instanceof Error ? failed.message : String(failed)}`);
        counting = null;
      }
    }
    if (opts.tracePerf) {
      argv = [...(counted ? [] : [bins.perf!, ...hostTracer.args(perfData)]), '/bin/sh', '-c', STATUS_WRAPPER, statusFile, ...argv];
    }
    if (!runtime) {
      cgroup = await createRunCgroup(id);
      if (cgroup) argv = [...cgroup.enter, ...argv];
    }

    if (stopReason === null) {
      child = spawnRun(argv, {
        cwd,
        // On the host the workload's variables are exactly these (strace and perf pass them on); in a
        // pod they are in config.json and the runtime's own are the caller's.
        env: runtime ? null : workloadEnv,
        // The same bytes in every environment: a file the caller saved once (runtimes pass it on).
        stdinFile: opts.stdinFile ?? null,
        // Straight to files: output of any size costs no memory, and nothing the tool does (a full
        // buffer, a closed pipe) can kill the workload with SIGPIPE. The report gets a bounded sample.
        stdoutFile,
        stderrFile,
      });
      void child.ended.then(() => { childExited = true; });
      // The run is over when the child exits, not when its pipes close: a workload's background
      // process (host `cmd &`) would hold stdout open until the timeout. End the group now.
      const pgid = child.pid;
      child.process.once('exit', () => { if (pgid) killGroup(pgid, 'SIGKILL'); });
      timer = setTimeout(() => void stop('timeout'), opts.timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // An abort while the bundle was being built fired no event for the listener added just now.
      if (opts.signal?.aborted) void stop('interrupt');
      opts.onTraceStart?.(runtime?.kind === 'runsc' ? { dir: runscLogDir } : traceWorkload ? { file: path.join(outDir, STRACE_LOG) } : {});
    }
    const result = child ? await child.ended : null;
    // The traced processes are gone: this run's own count prints its maps and exits (a shared one is the caller's).
    if (ownCounter) await counting?.stop().catch((e: unknown) => {
      process.emitWarning(`trace-compare: the host-kernel view of ${env.name} could not be read: ${e instanceof Error ? e.message : String(e)}`);
    });
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    const wallMs = Date.now() - started;
    const initPid = await readPid(pidFile); // before teardown removes it
    await endProcesses();
    const reason = stopReason as StopReason | null; // assigned in callbacks: TS cannot see it

    let exitCode: number | null = result?.exitCode ?? null;
    const signal: string | null = result?.signal ?? null;
    if (opts.tracePerf && result) {
      // perf's own status says nothing about the workload; the wrapper's file does.
      const text = await readPrivateText(statusFile);
      const n = text === null ? NaN : Number(text.trim());
      exitCode = text !== null && /^\d+$/.test(text.trim()) && n <= 255 ? n : null;
    }
    const candidates = runtime?.kind === 'runsc'
      ? (await readdir(runscLogDir).catch(() => [] as string[])).filter((f) => f.endsWith('.boot.txt')).sort().map((f) => path.join(runscLogDir, f))
      : traceWorkload ? [path.join(outDir, STRACE_LOG)] : [];
    const files: string[] = [];
    for (const f of candidates) if (await isRegularFile(f)) files.push(f);
    // perf recorded during the run; its text is made now, after the workload and the runtime are gone.
    if (opts.tracePerf && (await isRegularFile(perfData))) {
      await hostTracer.finish(bins.perf!, perfData, perfFile).catch((e: unknown) => {
        process.emitWarning(`trace-compare: the host-kernel view of ${env.name} could not be read: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    const stdout = await readSample(stdoutFile);
    const stderrSample = await readSample(stderrFile);
    const stderr = stderrSample.text;
    const runtimeError = runtime && initPid === null && reason === null
      ? stderr.trim().split('\n').slice(-5).join('\n') || `${runtime.kind} exited with ${exitCode ?? signal}`
      : null;
    const workloadHostPids = runtime ? (initPid ? [initPid] : []) : (child?.pid && !opts.tracePerf ? [child.pid] : []);
    unregister();
    // The outcome keeps a dispose that still works after unregistering.
    return {
      env,
      exitCode,
      signal,
      timedOut: reason === 'timeout',
      interrupted: reason === 'interrupt',
      runtimeError,
      stdout: stdout.text,
      stderr,
      outputBytes: { stdout: stdout.bytes, stderr: stderrSample.bytes },
      wallMs,
      workloadTrace: { format: runtime?.kind === 'runsc' ? 'runsc' : 'strace', files },
      hostTrace: counting
        ? (child?.pid && (await isRegularFile(counting.file)) ? { file: counting.file, format: 'bpf-counts', root: child.pid } : null)
        : opts.tracePerf && (await isRegularFile(perfFile)) ? { file: perfFile } : null,
      workloadHostPids,
      containerId: runtime ? id : null,
      confinement,
      tempDir,
      dispose,
    };
  } catch (e) {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await dispose();
    unregister();
    throw e;
  }
}

/** The processes under perf and the status wrapper, so perf outlives them and flushes its file. */
function innerRoots(childPid: number, perfWraps: boolean): number[] {
  if (!perfWraps) return [childPid];
  // Children of perf: read once; a missing /proc entry just means nothing to kill there.
  try {
    const text = readChildren(childPid);
    return text.length ? text : [childPid];
  } catch {
    return [childPid];
  }
}

function readChildren(pid: number): number[] {
  // /proc/PID/task/TID/children lists direct children (CONFIG_PROC_CHILDREN, on in Debian kernels).
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const t = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (t) out.push(...t.split(/\s+/).map(Number));
  }
  return out;
}

function deleteArgs(kind: PodRuntime, id: string): string[] {
  return kind === 'runsc' ? ['delete', '-force', id] : ['delete', '--force', id];
}

/** A runtime housekeeping command against the run's private state root; failures are expected
 * (the container may already be gone) and never thrown. */
async function housekeeping(kind: PodRuntime, bin: string, stateDir: string, args: string[]): Promise<void> {
  // An empty state root holds no container: `runc run` and `runsc run` delete theirs when the workload ends
  // (a delete there cost 0.2-0.4 s at the end of every run).
  if ((await readdir(stateDir).catch(() => [] as string[])).length === 0) return;
  const execa = await loadExeca();
  await execa(bin, ['--root', stateDir, ...args], {
    reject: false, stdin: 'ignore', timeout: HOUSEKEEPING_MS, forceKillAfterDelay: 1000,
  }).catch(() => undefined);
  void kind;
}

async function readPid(file: string): Promise<number | null> {
  const text = await readPrivateText(file);
  const n = text === null ? NaN : Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Resolves (with 'aborted') when `signal` aborts; never, without one. release() drops its listener. */
function whenAborted(signal: AbortSignal | undefined): { promise: Promise<'aborted'>; release: () => void } {
  let release = () => undefined as void;
  const promise = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted) return resolve('aborted');
    const on = () => resolve('aborted');
    signal?.addEventListener('abort', on, { once: true });
    release = () => signal?.removeEventListener('abort', on);
  });
  return { promise, release };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The kernel release a bare `uname -r` sees in this kind of environment (host uname, copied into
 * a minimal rootfs for containers). Only for when the workload itself never called uname.
 */
export async function probeKernelRelease(env: EnvironmentSpec, opts: { rootfs?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  const out = await runEnvironment(env, {
    command: ['uname', '-r'], timeoutMs: opts.timeoutMs ?? 60_000, tracePerf: false, traceWorkload: false,
    rootfs: opts.rootfs, signal: opts.signal,
  });
  try {
    if (out.exitCode !== 0) {
      throw new RunError('RUNTIME_FAILED', `uname -r failed under ${env.name}: ${out.runtimeError ?? out.stderr.trim() ?? `exit ${out.exitCode}`}`);
    }
    return out.stdout.trim();
  } finally {
    await out.dispose();
  }
}
