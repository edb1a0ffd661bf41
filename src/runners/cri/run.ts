// --backend cri: one command in one pod run through a CRI runtime (containerd), as a kubelet runs it:
// RunPodSandbox with the environment's runtime handler, CreateContainer, StartContainer, wait, read the
// log and the exit code, and always StopPodSandbox + RemovePodSandbox. The outcome is the OCI runner's
// (src/runners/run.ts), so the report is the same.
//
// The two views, as in the OCI backend:
//  - the workload's syscalls: strace inside the container (runc-like handlers; only its log file is
//    bound in, bundle.ts's layout), or the Sentry's strace log (runsc), which runsc writes into the run's
//    private dir because the pod names it (dev.gvisor.flag.* annotations; docs/cri.md);
//  - the host kernel's view, scoped to the pod: the pod gets a cgroup parent of ours made before it starts
//    (like the kubelet's pod cgroup), and perf records system-wide filtered to that cgroup and everything
//    below it (`-a -G`), from before RunPodSandbox to after RemovePodSandbox.
//
// Layout of the run's private dir (0700, never mounted into a pod): rootfs/ (generated /etc, copied
// commands), tools/ (strace copy), logs/ (containerd's container log), out/ (strace.log, runsc/, perf.data
// then perf.txt, stdout, stderr).

import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { loadExeca } from '../../load-execa.js';
import { RunError } from '../errors.js';
import type { EnvironmentSpec, RunOptions, RunOutcome } from '../types.js';
import type { PodRuntime } from '../../runtime.js';
import { ociConfinement, DEFAULT_LIMITS, type Confinement, type Limits } from '../confinement.js';
import { workloadEnvironment, WORKLOAD_CWD } from '../environment.js';
import { checkTools, toolsFor } from '../resolve.js';
import { buildRootfs, buildToolDir } from '../rootfs.js';
import { POD_STRACE_LOG, STRACE_FLAGS, STRACE_LOG, TOOLS_DIR } from '../bundle.js';
import { createPrivateFile, isRegularFile, readSample, withRegularFile } from '../private-files.js';
import { killAll } from '../procs.js';
import { registerRun } from '../registry.js';
import { TEMP_PREFIX, writeOwner } from '../run-dir.js';
import { cgroupMounts, removeCgroupsNamed } from '../cgroup.js';
import { RECORD_THEN_REPLAY } from '../host-trace.js';
import { readLines, DEFAULT_MAX_LINE } from '../../../parsers/lines.js';
import { connectCri, CriError, type CriClient } from './client.js';
import { containerConfig, isHandlerMissing, isPauseLine, parseCriLogLine, sandboxConfig } from './pod-spec.js';
import { defaultCriEndpoint } from './endpoint.js';
import { readCriConfig, removePodSandbox, runscBehindShim, runscCommand, type RunscBehindShim } from './node-config.js';

/** Bound for each teardown call (stop, remove, runsc delete): a hung runtime must not hang the exit. */
const TEARDOWN_MS = 15_000;
const POLL_MS = 50;

type StopReason = 'timeout' | 'interrupt';

/** What the node's CRI config says of the pod's handler (from Status verbose). */
interface HandlerInfo {
  sandboxImage: string;
  runsc: RunscBehindShim | null;
}

export async function runCriEnvironment(env: EnvironmentSpec, opts: RunOptions): Promise<RunOutcome> {
  if (opts.command.length === 0) throw new RunError('BAD_REQUEST', 'no command to run');
  if (process.getuid?.() !== 0) {
    throw new RunError('NOT_AVAILABLE', `pods through CRI need root (this process runs as uid ${process.getuid?.()})`, { hint: 'run as root, or leave out --pod' });
  }
  if (opts.rootfs !== undefined) throw new RunError('BAD_REQUEST', '--rootfs is not supported with --backend cri (a pod\'s root is its image)');
  if (opts.stdinFile && (await stat(opts.stdinFile)).size > 0) {
    throw new RunError('BAD_REQUEST', '--backend cri does not replay stdin (CRI gives a container stdin only through Attach)', { hint: 'close stdin (</dev/null), or use --backend oci' });
  }
  const handler = env.handler ?? env.runtime;
  const gvisor = env.runtime === 'runsc';
  const traceWorkload = opts.traceWorkload !== false;
  const bins = await checkTools(toolsFor('host', { tracePerf: opts.tracePerf, traceWorkload: traceWorkload && !gvisor }));
  const endpoint = opts.criEndpoint ?? (await defaultCriEndpoint());
  const client = await connectCri(endpoint);

  const id = `trace-compare-${randomBytes(6).toString('hex')}`;
  let tempDir: string;
  try {
    tempDir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  } catch (e) {
    client.close();
    throw e;
  }
  const outDir = path.join(tempDir, 'out');
  const logDir = path.join(tempDir, 'logs');
  const runscLogDir = path.join(outDir, 'runsc');
  const workloadLogDir = path.join(outDir, 'runsc-workload');
  const perfData = path.join(outDir, 'perf.data');
  const perfFile = path.join(outDir, 'perf.txt');
  const stdoutFile = path.join(outDir, 'stdout');
  const stderrFile = path.join(outDir, 'stderr');
  const hostTracer = opts.hostTracer ?? RECORD_THEN_REPLAY;
  const limits: Limits = opts.limits ?? { ...DEFAULT_LIMITS };
  const privileged = opts.privileged ?? false;
  const straceInPod = !gvisor && traceWorkload;

  let sandboxId: string | null = null;
  let containerId: string | null = null;
  let handlerInfo: HandlerInfo | null = null;
  let perf: ResultPromise | null = null;
  let stopReason: StopReason | null = null;
  let stopping: Promise<void> | null = null;
  let tornDown: Promise<void> | null = null;
  let exited = false;

  // Ends the workload: the runtime kills the container; teardown removes the pod.
  const stop = (reason: StopReason): Promise<void> => {
    stopReason ??= reason;
    stopping ??= (async () => {
      if (containerId && !exited) {
        await client.stopContainer({ containerId, timeout: 0 }, { timeoutMs: TEARDOWN_MS }).catch(() => undefined);
        if (gvisor) await runsc(['kill', containerId, 'KILL']);
      }
    })();
    return stopping;
  };

  // runsc behind the runc v2 shim (setup-cri.sh's wrapper): the shim knows nothing of runsc's own state,
  // so the runner asks runsc directly, under the handler's own state root.
  const runsc = async (args: string[], timeoutMs = TEARDOWN_MS) => (handlerInfo?.runsc ? runscCommand(handlerInfo.runsc, args, timeoutMs) : null);

  const teardown = (): Promise<void> => {
    tornDown ??= (async () => {
      if (sandboxId) {
        const failure = await removePodSandbox(client, sandboxId, gvisor ? (handlerInfo?.runsc ?? null) : null, TEARDOWN_MS);
        if (failure !== null) process.emitWarning(`trace-compare: pod sandbox ${sandboxId} of ${env.name} could not be removed: ${failure}`);
      }
      // What the runtime left: anything in the pod's cgroup, the runtime's processes named after the pod.
      // (Not the temp dir's name: perf's argv has it, and perf records until the pod is gone.)
      const left = await killAll({ roots: [], argvTokens: [sandboxId, containerId].filter((x): x is string => x !== null), cgroupNames: [id] }, 5000);
      if (left.length) process.emitWarning(`trace-compare: processes ${left.join(', ')} of ${env.name} survived SIGKILL`);
      if (perf) await endPerf(perf);
      const cgLeft = await removeCgroupsNamed(id); // the containers' cgroups below the pod's too
      if (cgLeft.length) process.emitWarning(`trace-compare: cgroups ${cgLeft.join(', ')} of ${env.name} could not be removed`);
      client.close();
      for (const sub of ['rootfs', 'tools']) {
        if (!opts.keepTemp) await rm(path.join(tempDir, sub), { recursive: true, force: true, maxRetries: 3 });
      }
    })();
    return tornDown;
  };

  const { dispose, unregister } = registerRun({
    label: `${env.name} (${id})`,
    tempDir,
    containerId: id,
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
    await chmod(tempDir, 0o700);
    await mkdir(outDir, { mode: 0o700 });
    await mkdir(logDir, { mode: 0o700 });
    writeOwner(tempDir, id); // `trace-compare cleanup` tells a live run from a killed one by it
    timer = setTimeout(() => void stop('timeout'), opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) stopReason = 'interrupt';

    handlerInfo = await handlerOf(client, handler);
    const image = handlerInfo.sandboxImage;

    // The pod's files: the host's system dirs read-only, a generated /etc, copied commands (rootfs.ts).
    const rootfs = path.join(tempDir, 'rootfs');
    const built = await buildRootfs(rootfs, opts.command, opts.include);
    const readOnly = [...built.mounts, ...(await generatedDirs(rootfs))];
    let argv = built.argv;
    let straceLog: { source: string; destination: string } | undefined;
    if (straceInPod) {
      await createPrivateFile(path.join(outDir, STRACE_LOG));
      const run = await buildToolDir(path.join(tempDir, 'tools'), bins.strace!, 'strace', TOOLS_DIR);
      readOnly.push({ source: path.join(tempDir, 'tools'), destination: TOOLS_DIR });
      straceLog = { source: path.join(outDir, STRACE_LOG), destination: POD_STRACE_LOG };
      argv = [...run, ...STRACE_FLAGS, '-o', POD_STRACE_LOG, '--', ...argv];
    }
    if (gvisor && traceWorkload) await mkdir(runscLogDir, { mode: 0o700 });
    const confinement = describeConfinement(env.runtime as PodRuntime, privileged, limits, straceInPod);
    const pidsSet = await podCgroup(id, limits);
    if (!pidsSet) confinement.notes.push('pids.max could not be set on the pod cgroup: the pod has no task limit');

    if (opts.tracePerf) perf = (await startPerf(bins.perf!, hostTracer.args(perfData), id)).child;

    const sandbox = sandboxConfig({
      id, logDirectory: logDir, cgroupParent: `/${id}`, privileged,
      runscLogDir: gvisor && traceWorkload ? `${runscLogDir}/` : null,
    });
    let runtimeError: string | null = null;
    let notConfigured = false;
    let exitCode: number | null = null;
    let workloadPid: number | null = null;
    if (stopReason === null) {
      try {
        sandboxId = (await client.runPodSandbox({ config: sandbox, runtimeHandler: handler })).podSandboxId;
        containerId = (await client.createContainer({
          podSandboxId: sandboxId,
          sandboxConfig: sandbox,
          config: containerConfig({
            id, image, argv, cwd: WORKLOAD_CWD, env: opts.env ?? workloadEnvironment(process.env), readOnly,
            ...(straceLog ? { straceLog } : {}), privileged, ptrace: straceInPod, limits, logPath: 'workload.log',
          }),
        })).containerId;
        if (stopReason === null) await client.startContainer({ containerId });
      } catch (e) {
        if (!(e instanceof CriError) || e.code === 'NOT_AVAILABLE') throw e;
        runtimeError = e.details;
        notConfigured = isHandlerMissing(e.details);
      }
    }
    if (containerId && runtimeError === null && stopReason === null) {
      const info = await client.containerStatus({ containerId, verbose: true }).catch(() => null);
      workloadPid = pidOf(info?.info);
      exitCode = await waitExit(client, containerId, gvisor && handlerInfo.runsc ? runsc : null, () => stopReason !== null);
      exited = exitCode !== null;
    }
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (stopReason !== null) await stop(stopReason);
    const wallMs = Date.now() - started;
    await teardown();
    const reason = stopReason as StopReason | null; // assigned in callbacks: TS cannot see it

    await decodeCriLog(path.join(logDir, 'workload.log'), stdoutFile, stderrFile);
    const files: string[] = [];
    if (straceInPod && (await isRegularFile(path.join(outDir, STRACE_LOG)))) files.push(path.join(outDir, STRACE_LOG));
    let endSeen = false;
    if (gvisor && traceWorkload) {
      const logs = await workloadBootLogs(runscLogDir, workloadLogDir);
      files.push(...logs.files);
      endSeen = logs.exitGroup;
    }
    if (opts.tracePerf && (await isRegularFile(perfData))) {
      await hostTracer.finish(bins.perf!, perfData, perfFile).catch((e: unknown) => {
        process.emitWarning(`trace-compare: the host-kernel view of ${env.name} could not be read: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    const stdout = await readSample(stdoutFile);
    const stderr = await readSample(stderrFile);
    unregister();
    return {
      env,
      exitCode: runtimeError === null && reason === null ? exitCode : null,
      signal: null,
      timedOut: reason === 'timeout',
      interrupted: reason === 'interrupt',
      runtimeError,
      ...(notConfigured ? { handlerMissing: true } : {}),
      ...(endSeen ? { traceEndShown: true } : {}),
      stdout: stdout.text,
      stderr: stderr.text,
      outputBytes: { stdout: stdout.bytes, stderr: stderr.bytes },
      wallMs,
      workloadTrace: { format: gvisor ? 'runsc' : 'strace', files },
      hostTrace: opts.tracePerf && (await isRegularFile(perfFile)) ? { file: perfFile } : null,
      workloadHostPids: workloadPid ? [workloadPid] : [],
      containerId,
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

/** The handler's runsc (when behind the runc shim) and the node's sandbox image, from the CRI config containerd reports. */
async function handlerOf(client: CriClient, handler: string): Promise<HandlerInfo> {
  // Another CRI runtime (CRI-O) publishes no config: no handler details, the pause image unknown.
  const config = readCriConfig((await client.status({ verbose: true })).info);
  if (!config?.sandboxImage) throw new RunError('NOT_AVAILABLE', `${client.endpoint} does not report its sandbox image (CRI Status verbose): only containerd is supported`);
  return { sandboxImage: config.sandboxImage, runsc: runscBehindShim(config, handler) };
}

/** The directories of the generated rootfs a pod needs bound in: /etc and anything copied. */
async function generatedDirs(rootfs: string): Promise<{ source: string; destination: string }[]> {
  // Left out: the system dirs (bound from the host or links the image has), empty mountpoints.
  const skip = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'tmp', 'proc', 'dev', 'sys', 'root', 'run', 'var']);
  const out: { source: string; destination: string }[] = [];
  for (const name of (await readdir(rootfs)).sort()) {
    if (!skip.has(name)) out.push({ source: path.join(rootfs, name), destination: `/${name}` });
  }
  return out;
}

function describeConfinement(kind: PodRuntime, privileged: boolean, limits: Limits, straceInPod: boolean): Confinement {
  const c = ociConfinement({ privileged, limits, traceWithStrace: straceInPod, runtime: kind }).description;
  c.notes.unshift(
    'applied by the CRI runtime from the pod\'s securityContext (seccomp RuntimeDefault or Unconfined, SYS_PTRACE added ' +
      'for the in-pod strace), containerd\'s own defaults for the rest; limits on the container and on the pod\'s cgroup',
    'the pod uses the node\'s network and UTS namespaces (no CNI): uname -n is the host\'s',
    'the root filesystem is the sandbox image with the host\'s system dirs bound read-only over it; it is writable ' +
      '(containerd\'s overlay), as in a default Kubernetes pod',
  );
  return c;
}

/**
 * The pod-level cgroup (as the kubelet makes one per pod): the cgroup parent of every container, made
 * before the pod so perf can filter on it, and carrying the pod's limits, so the runtime's own processes
 * (gVisor's Sentry and gofer) are bounded too. Returns whether pids.max was set.
 */
async function podCgroup(id: string, limits: Limits): Promise<boolean> {
  let pids = false;
  const period = 100_000;
  const quota = Math.round(limits.cpus * period);
  for (const { dir, v2 } of await cgroupMounts()) {
    const cg = path.join(dir, id);
    await mkdir(cg).catch(() => undefined);
    const set = async (file: string, value: string) =>
      (await stat(path.join(cg, file)).catch(() => null)) !== null &&
      (await writeFile(path.join(cg, file), value).then(() => true, () => false));
    if (v2) {
      if (await set('pids.max', String(limits.pids))) pids = true;
      await set('memory.max', String(limits.memoryBytes));
      await set('memory.swap.max', '0');
      await set('cpu.max', `${quota} ${period}`);
    } else {
      if (await set('pids.max', String(limits.pids))) pids = true;
      await set('memory.limit_in_bytes', String(limits.memoryBytes));
      await set('memory.memsw.limit_in_bytes', String(limits.memoryBytes));
      await set('cpu.cfs_period_us', String(period));
      await set('cpu.cfs_quota_us', String(quota));
    }
  }
  return pids;
}

/**
 * perf recording every CPU, filtered to the pod's cgroup and below, until endPerf. Its own child is a
 * shell outside the cgroup that says when the events are on (perf enables them before it lets the child
 * exec) and then waits for its stdin to close.
 */
async function startPerf(perf: string, args: string[], cgroup: string): Promise<{ child: ResultPromise }> {
  const opts = args[args.length - 1] === '--' ? args.slice(0, -1) : args;
  const execa = await loadExeca();
  const child = execa(perf, [...opts, '-a', '-G', cgroup, '--', '/bin/sh', '-c', 'echo ready; read _'], {
    stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, detached: true, cleanup: true, buffer: { stdout: false },
  });
  const ready = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 15_000);
    child.stdout!.once('data', () => { clearTimeout(t); resolve(true); });
    void child.finally(() => { clearTimeout(t); resolve(false); });
  });
  if (!ready) {
    child.kill('SIGKILL');
    const r = await child;
    throw new RunError('NOT_AVAILABLE', `perf could not record the pod's cgroup: ${String(r.stderr).trim().split('\n').pop() ?? `exit ${r.exitCode}`}`, { hint: 'perf -G needs cgroup v2 (or a perf_event cgroup); --no-perf runs without the host-kernel view' });
  }
  child.stdout!.resume();
  return { child }; // wrapped: an async function would wait for the subprocess, a thenable
}

async function endPerf(child: ResultPromise): Promise<void> {
  child.stdin?.end();
  const t = setTimeout(() => child.kill('SIGINT'), 10_000);
  const k = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await child.catch(() => undefined);
  clearTimeout(t);
  clearTimeout(k);
}

/**
 * Waits for the container to exit; its exit code, or null when stopped first. runsc on the runc shim
 * (`runsc` given): the shim watches the sandbox's pid, which outlives the container, so CRI never says
 * EXITED; `runsc wait` does, with the exit status.
 */
async function waitExit(
  client: CriClient, containerId: string,
  runsc: ((args: string[], timeoutMs?: number) => Promise<{ stdout: unknown; exitCode?: number } | null>) | null,
  stopped: () => boolean,
): Promise<number | null> {
  let fromRunsc: number | null | undefined;
  if (runsc) {
    void runsc(['wait', containerId], 2 ** 31 - 1).then((r) => {
      const m = /"exitStatus":\s*(\d+)/.exec(String(r?.stdout ?? ''));
      fromRunsc = m ? Number(m[1]) : null;
    });
  }
  for (;;) {
    if (fromRunsc !== undefined) return stopped() ? null : fromRunsc;
    if (stopped()) return null;
    const s = await client.containerStatus({ containerId }).catch(() => null);
    if (s?.status?.state === 'CONTAINER_EXITED') return stopped() ? null : s.status.exitCode;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function pidOf(info: Record<string, string> | undefined): number | null {
  try {
    const pid = (JSON.parse(info?.info ?? '{}') as { pid?: unknown }).pid;
    return typeof pid === 'number' && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** containerd's container log back into the workload's stdout and stderr, streamed (any size). */
async function decodeCriLog(log: string, stdoutFile: string, stderrFile: string): Promise<void> {
  const outs = { stdout: createWriteStream(stdoutFile, { flags: 'wx', mode: 0o600 }), stderr: createWriteStream(stderrFile, { flags: 'wx', mode: 0o600 }) };
  await withRegularFile(log, async (fh) => {
    for await (const ln of readLines(createReadStream('', { fd: fh.fd, autoClose: false }), DEFAULT_MAX_LINE)) {
      const l = ln.tooLong ? null : parseCriLogLine(ln.text);
      if (!l) continue;
      const w = outs[l.stream];
      if (!w.write(l.partial ? l.text : l.text + '\n')) await once(w, 'drain');
    }
  });
  for (const w of Object.values(outs)) {
    w.end();
    await once(w, 'finish');
  }
}

/**
 * The pod's boot logs without the pause container's lines (isPauseLine), as files of the same names;
 * and whether a workload task's exit_group is among them (the Sentry logs no exit line for a pod's
 * container, only for the sandbox's root, the pause).
 */
async function workloadBootLogs(runscLogDir: string, outDir: string): Promise<{ files: string[]; exitGroup: boolean }> {
  let exitGroup = false;
  let first: string | undefined;
  const names = (await readdir(runscLogDir).catch(() => [] as string[])).filter((f) => f.endsWith('.boot.txt')).sort();
  const files: string[] = [];
  if (names.length) await mkdir(outDir, { mode: 0o700 });
  for (const name of names) {
    const dest = path.join(outDir, name);
    const copied = await withRegularFile(path.join(runscLogDir, name), async (fh) => {
      const w = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
      for await (const ln of readLines(createReadStream('', { fd: fh.fd, autoClose: false }), DEFAULT_MAX_LINE)) {
        if (!ln.tooLong && isPauseLine(ln.text)) continue;
        const task = ln.tooLong ? null : /\] \[\s*(\d+):\s*\d+\] \S.*? ([EX]) (\w+)\(/.exec(ln.text);
        if (task) {
          first ??= task[1]!; // the container's init: the first task of the workload the Sentry logs
          if (task[1] === first && task[2] === 'X' && task[3] === 'exit_group') exitGroup = true;
        }
        // An overlong line keeps its sample: the parser reports it as it would the original.
        if (!w.write(ln.text + '\n')) await once(w, 'drain');
      }
      w.end();
      await once(w, 'finish');
      return true;
    });
    if (copied) files.push(dest);
  }
  return { files, exitGroup };
}
