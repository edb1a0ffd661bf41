// `trace-compare CMD ARGS... [--pod NAME]...`: run the command on the host and in each pod, with both views
// measured in the same run, then print the comparison. Side effects live in src/runners; this file wires them.

import yargs, { type Argv } from 'yargs';
import { ExitCode, UserError, exitCodesLine } from '../errors.js';
import { Diagnostics } from '../diagnostics.js';
import type { WorkloadCounter, Comparison, EnvironmentReport } from '../compare.js';
import { renderComparison } from '../report/comparison-report.js';
import { renderComparisonHtml } from '../report/html-report.js';
import { writeOut } from '../output.js';
import { resolveEnvironment, toolsFor, checkTools, installMissing, type Tool } from '../runners/resolve.js';
import { runEnvironment, probeKernelRelease } from '../runners/run.js';
import { shareRootfs, type SharedRootfs } from '../runners/shared-rootfs.js';
import { resolveCriEnvironment } from '../runners/cri/pod-spec.js';
import type { EnvironmentSpec, RunOutcome } from '../runners/types.js';
import { DEFAULT_LIMITS, parseLimit, type Limits } from '../runners/confinement.js';
import { workloadEnvironment } from '../runners/environment.js';
import { saveStdin } from '../runners/stdin.js';
import { readCounts, shareCount } from '../runners/bpf-count.js';
import { discardPrestarted } from '../runners/bpf-session.js';
import { gvisorTable } from '../annotations/gvisor.js';
import { progressWanted, startProgress } from '../progress.js';
import { endCutShort, measureEnvironment } from '../measure.js';
import type { TraceEvent } from '../../parsers/events.js';
import { parseStraceFiles } from '../../parsers/strace-ff.js';
import { parseRunscLogFiles } from '../../parsers/runsc-log.js';
import { parsePerfTrace } from '../../parsers/perf-trace.js';
import { createReadStream } from 'node:fs';
import { statfs } from 'node:fs/promises';

export { splitRunArgs } from './run-args.js';
import { RUN_OPTIONS, type RunArgs } from './run-options.js';
import { declareOptions } from './options.js';
import type { SplitArgs } from './run-args.js';
import { SIGNALLED, withStopSignals } from './stop-signals.js';

const DEFAULT_PODS = ['runc', 'gvisor'];
const MAX_TIMEOUT_S = Math.floor((2 ** 31 - 1) / 1000);

export function runYargs<T>(y: Argv<T>) {
  return declareOptions(y, RUN_OPTIONS)
    .usage('trace-compare CMD [ARGS...] [--pod NAME]... [options]\ntrace-compare [options] -- CMD [ARGS...]')
    .example('trace-compare uname -r --pod gvisor', 'host vs gVisor')
    .example('trace-compare cat /etc/hostname --pod runc --pod gvisor', 'three-way')
    .example('trace-compare --pod gvisor -- seq --format=%03g 3', 'after --, every argument is the command\'s own')
    .example('echo hi | trace-compare cat --pod gvisor', 'stdin is read once and replayed to every environment')
    .epilogue(exitCodesLine('run'))
    .strict()
    .help();
}


/**
 * Parses a command's options with the yargs builder `declare` (run's or lesson's); null when --help was
 * printed. Positionals are left in `_` for the caller (run allows none).
 */
export async function parseCommandOptions<A>(options: string[], declare: (y: Argv) => Argv, helpHint: string): Promise<(A & { _: (string | number)[] }) | null> {
  let helped = false;
  const a = await declare(yargs(options))
    .scriptName('trace-compare')
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg ?? 'invalid arguments', ExitCode.Usage, helpHint);
    })
    .showHelpOnFail(false)
    .parseAsync(options, {}, (_err, argv, output) => {
      if (output && (argv as { help?: boolean }).help) {
        helped = true;
        process.stdout.write(output + '\n');
      }
    });
  return helped ? null : (a as unknown as A & { _: (string | number)[] });
}

export async function runCompare(split: SplitArgs, early: NodeJS.Signals | null = null): Promise<number> {
  return withStopSignals(early, (controller) => compare(split, controller));
}

/**
 * Runs `body` with the stop signals handled: a stop signal at any moment aborts `controller`, so the runs end
 * through the same path as a failure (the finally blocks dispose), and the exit status is the shell's 128+N
 * for that signal. `early`: a signal that came while the CLI loaded (nothing has started; stop before anything does).
 */
async function compare({ options, command }: SplitArgs, controller: AbortController): Promise<number> {
  const parsed = await parseCommandOptions<RunArgs>(options, runYargs, 'see trace-compare run --help');
  if (parsed === null) return ExitCode.Ok;
  if (parsed._.length > 0) throw new UserError(`unexpected ${parsed._.join(' ')}`, ExitCode.Usage, 'see trace-compare run --help');
  if (command.length === 0) throw new UserError('no command to run', ExitCode.Usage, 'e.g. trace-compare uname -r --pod gvisor');
  // --timeout bounds the whole run (stdin, environments, the kernel-release probe).
  const deadline = Date.now() + checkTimeout(parsed.timeout) * 1000;
  const plan = await planRun(parsed);
  if (controller.signal.aborted) return ExitCode.Interrupted;

  // Read once, replayed to every environment; bounded by the run's time like everything else.
  const stdinTimer = setTimeout(() => controller.abort(new Error('stdin')), Math.max(0, deadline - Date.now()));
  const stdin = await saveStdin(controller.signal).catch((e: unknown) => {
    if (controller.signal.reason === SIGNALLED) return null;
    if (controller.signal.aborted) throw new UserError('stdin was still open when --timeout passed: close it (e.g. </dev/null) or raise --timeout', ExitCode.Timeout);
    throw e;
  }).finally(() => clearTimeout(stdinTimer));
  if (stdin === null) return ExitCode.Interrupted;
  try {
    const { comparison, code } = await measureCommand(plan, command, { controller, deadline, stdinFile: stdin.file });
    if (comparison === null) return code;
    const args = plan.args;
    await writeOut(args.format === 'html' ? await renderComparisonHtml(comparison) : renderComparison(comparison, args.format, { wide: args.wide }));
    return code;
  } finally {
    await stdin.dispose();
  }
}

/** Node's timers hold at most 2^31-1 ms: a larger delay fires at once. Refuse it rather than run unbounded. */
export function checkTimeout(seconds: number): number {
  if (!(seconds > 0) || seconds > MAX_TIMEOUT_S) {
    throw new UserError(`--timeout must be a number of seconds above 0 and at most ${MAX_TIMEOUT_S} (about 24 days)`, ExitCode.Usage);
  }
  return seconds;
}

/** What every command of a run (one for `run`, many for `lesson`) shares: the environments, limits, variables, tools. */
export interface RunPlan {
  args: RunArgs;
  envs: EnvironmentSpec[];
  limits: Limits;
  workloadEnv: Record<string, string>;
  tracePerf: boolean;
}

/** Checks the options and the machine (root for pods, the runtimes and tracers installed) before anything runs. */
export async function planRun(args: RunArgs): Promise<RunPlan> {
  checkTimeout(args.timeout);
  const limits: Limits = {
    pids: args.pids !== undefined ? parseLimit('pids', args.pids) : DEFAULT_LIMITS.pids,
    memoryBytes: args.memory !== undefined ? parseLimit('memoryBytes', args.memory) : DEFAULT_LIMITS.memoryBytes,
    cpus: args.cpus !== undefined ? parseLimit('cpus', args.cpus) : DEFAULT_LIMITS.cpus,
  };
  const workloadEnv = workloadEnvironment(process.env, args.env ?? []);

  const root = process.getuid?.() === 0;
  const envs: EnvironmentSpec[] = [];
  if (args.host) envs.push({ name: 'host', runtime: 'host' });
  // Pods need root; without it the default comparison falls back to the host alone, explicit pods are an error.
  const pods = args.pod ?? (root || !args.host ? DEFAULT_PODS : []);
  if (!args.pod && pods.length === 0) {
    process.stderr.write('trace-compare: not root, so no pods (runc, gvisor): tracing on the host only\n');
  }
  for (const p of pods) envs.push(args.backend === 'cri' ? resolveCriEnvironment(p) : resolveEnvironment(p));
  if (envs.length === 0) throw new UserError('nothing to run: --no-host and no --pod', ExitCode.Usage);
  const names = envs.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError(`environment '${dup}' given twice`, ExitCode.Usage);
  const sandboxed = envs.filter((e) => e.runtime !== 'host').map((e) => e.name);
  if (!root && sandboxed.length > 0) {
    throw new UserError(
      `pods (${sandboxed.join(', ')}) need root; this process runs as uid ${process.getuid?.()}`,
      ExitCode.MissingRuntime,
      'run as root (sudo), or leave out --pod to trace on the host alone',
    );
  }
  const tracePerf = args.perf && root;
  // Through CRI the runtime is the node's: only the tracers are needed here.
  const tools: Tool[] = envs.flatMap((e) => toolsFor(args.backend === 'cri' && e.runtime !== 'host' ? 'host' : e.runtime, { tracePerf }));
  if (args['install-missing']) await installMissing(tools);
  await checkTools(tools);
  return { args, envs, limits, workloadEnv, tracePerf };
}

/**
 * The core of `run` (and of each command of a `lesson`): runs `command` in every environment of the plan
 * at once, measures both views of each, and disposes of the runs. `comparison` is null when the run was
 * stopped before its figures were read (a stop signal): `code` says so. Else `code` is the run's exit
 * code: timeout, runtime failure, incomplete figures, or Ok.
 */
export async function measureCommand(
  plan: RunPlan, command: string[], o: { controller: AbortController; deadline: number; stdinFile: string | null },
): Promise<{ comparison: Comparison | null; code: number }> {
  const { args, envs, limits, workloadEnv, tracePerf } = plan;
  const { controller, deadline } = o;
  const interrupted = { comparison: null, code: ExitCode.Interrupted };
  const outcomes: RunOutcome[] = [];
  // Started before the runs, so that what takes long to start overlaps their set-up: runsc's syscall table
  // (read once, for the report) and the host-kernel count, one bpftrace for every environment traced here.
  void gvisorTable().catch(() => undefined);
  const count = tracePerf && envs.some((e) => args.backend !== 'cri' || e.runtime === 'host')
    ? await shareCount(controller.signal, args['keep-temp'])
    : null;
  // Pods through CRI are not this process's children (perf measures them on their cgroup): a count the
  // entry point started on a guess ends now, not at exit.
  if (!count) await discardPrestarted();
  const progress = startProgress(envs.map((e) => e.name), progressWanted(args.format));
  let rootfs: SharedRootfs | null = null;
  try {
    // One rootfs for this command's generated pods; with --keep-temp each run keeps its own in its dir.
    if (args.backend !== 'cri' && args.rootfs === undefined && !args['keep-temp'] && envs.some((e) => e.runtime !== 'host')) {
      rootfs = await shareRootfs(command, args.include);
    }
    const settled = await Promise.allSettled(
      envs.map((env) => {
        return runEnvironment(env, {
          command,
          timeoutMs: args.timeout * 1000,
          ...(args.rootfs !== undefined ? { rootfs: args.rootfs } : {}),
          ...(args.include !== undefined ? { include: args.include } : {}),
          ...(rootfs ? { sharedRootfs: rootfs.built } : {}),
          signal: controller.signal,
          tracePerf,
          keepTemp: args['keep-temp'],
          privileged: args.privileged,
          limits,
          env: workloadEnv,
          ...(o.stdinFile ? { stdinFile: o.stdinFile } : {}),
          backend: args.backend,
          ...(args['cri-endpoint'] !== undefined ? { criEndpoint: args['cri-endpoint'] } : {}),
          onTraceStart: (where) => progress.watch(env.name, where),
          ...(count ? { counter: count.session } : {}),
        }).then(
          (x) => {
            progress.done(env.name);
            outcomes.push(x);
            return x;
          },
          (err: unknown) => {
            // One environment could not run (a command missing here, a bad rootfs): stop the others now.
            controller.abort();
            throw err;
          },
        );
      }),
    );
    progress.stop();
    // Every run is torn down, so every process the count followed is gone: bpftrace prints the counts of
    // all the runs (and is killed; the finally block waits for it).
    await count?.session.stop().catch((e: unknown) => {
      if (!controller.signal.aborted) process.emitWarning(`trace-compare: the host-kernel view could not be read: ${e instanceof Error ? e.message : String(e)}`);
    });
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (controller.signal.reason === SIGNALLED) return interrupted;
    if (failed) throw failed.reason;
    if (controller.signal.aborted) return interrupted;

    const diag = new Diagnostics();
    const environments: EnvironmentReport[] = [];
    for (const env of envs) {
      const x = outcomes.find((y) => y.env.name === env.name)!;
      environments.push(await reportOf(x, command, diag, controller.signal, args['keep-temp'], deadline, tracePerf));
      if (args['keep-temp']) process.stderr.write(`trace-compare: ${env.name}: files kept in ${x.tempDir}\n`);
    }
    const line = diag.summaryLine();
    if (line) process.stderr.write(line + '\n');
    // Ctrl-C while the traces were being read: stop here, the finally block still cleans up.
    if (controller.signal.aborted) return interrupted;
    const comparison: Comparison = { command, environments };
    const code = outcomes.some((x) => x.interrupted) ? ExitCode.Interrupted
      : outcomes.some((x) => x.timedOut) ? ExitCode.Timeout
        : outcomes.some((x) => x.handlerMissing) ? ExitCode.MissingRuntime
          : outcomes.some((x) => x.runtimeError !== null) ? ExitCode.RuntimeFailed
          : environments.some((e) => e.incomplete) ? ExitCode.Incomplete
            : ExitCode.Ok;
    return { comparison, code };
  } finally {
    progress.stop();
    await Promise.allSettled([...outcomes.map((x) => x.dispose()), ...(count ? [count.dispose()] : []), ...(rootfs ? [rootfs.dispose()] : [])]);
  }
}

async function reportOf(o: RunOutcome, command: string[], diag: Diagnostics, signal: AbortSignal, kept: boolean, deadline: number, tracePerf: boolean): Promise<EnvironmentReport> {
  const files = o.workloadTrace.files;
  const perfFile = o.hostTrace?.file;
  // A run stopped mid-write leaves each trace's last line cut short: said so, not reported as bad input.
  const cut = (events: AsyncIterable<TraceEvent>) =>
    o.timedOut || o.interrupted ? endCutShort(events, o.timedOut ? 'the run timed out' : 'the run was interrupted') : events;
  const { fields, counter } = await measureEnvironment({
    name: o.env.name,
    runtime: o.env.runtime,
    workload: {
      events: diag.watch(cut(o.workloadTrace.format === 'runsc' ? parseRunscLogFiles(files) : parseStraceFiles(files))),
      format: o.workloadTrace.format,
    },
    perf: perfFile && o.hostTrace?.format !== 'bpf-counts' ? diag.watch(cut(parsePerfTrace(createReadStream(perfFile), { file: perfFile }))) : null,
    hostCounts: o.hostTrace?.format === 'bpf-counts' ? await readCounts(o.hostTrace.file, o.hostTrace.root) : null,
    command,
    ...(o.workloadHostPids ? { workloadPids: o.workloadHostPids } : {}),
  });

  let { kernelRelease, kernelReleaseSource } = fields;
  // No probe after a timeout (a hung runtime would hang it too) or when the run's time is spent.
  const left = Math.min(60_000, deadline - Date.now());
  if (kernelRelease === null && !signal.aborted && o.runtimeError === null && !o.timedOut && left >= 1000) {
    kernelRelease = await probeKernelRelease(o.env, { signal, timeoutMs: left }).catch(() => null);
    kernelReleaseSource = kernelRelease === null ? null : 'probe';
  }

  const incomplete = await incompleteReasons(o, counter, fields.hostKernel, tracePerf);
  const ended = o.interrupted
    ? 'interrupted'
    : o.timedOut
      ? 'timeout'
      : o.runtimeError !== null
        ? `runtime error: ${o.runtimeError.split('\n').filter(Boolean).pop() ?? ''}`
        : o.signal !== null
          ? `killed by ${o.signal}`
          : // Runtimes report a signal death as 128+N; the workload's own trace names the signal.
            counter.killedBy !== null
            ? `killed by ${counter.killedBy}`
            : undefined;
  return {
    ...fields,
    kernelRelease,
    kernelReleaseSource,
    // Trace files are removed after the report unless kept: then their paths are worth printing.
    sources: kept ? [...files, ...(perfFile ? [perfFile] : [])] : [],
    // A runtime that failed before the command started gives its own status, and a run cut short by a
    // timeout or a signal has none: reported the same way in every environment.
    exitCode: o.runtimeError !== null || o.timedOut || o.interrupted ? null : o.exitCode,
    ...(ended !== undefined ? { ended } : {}),
    stdout: o.stdout,
    stderr: o.stderr,
    outputBytes: o.outputBytes,
    ...(o.confinement ? { confinement: o.confinement } : {}),
    ...(incomplete.length ? { incomplete } : {}),
  };
}

/**
 * Why this environment's figures may be short, so they are never shown as fact: a trace that stops
 * before the command ended (a tracer that failed, a log cut short), a full disk under the traces,
 * perf's own losses. A run that timed out, was interrupted or never started says so in `ended`.
 */
export async function incompleteReasons(o: RunOutcome, counter: WorkloadCounter, hostKernel: EnvironmentReport['hostKernel'], tracePerf: boolean): Promise<string[]> {
  if (o.timedOut || o.interrupted || o.runtimeError !== null) return [];
  const reasons: string[] = [];
  // strace's own complaints reach the workload's stderr ("strace: exec: ...", "strace: ptrace...").
  const straceSaid = o.stderr.split('\n').find((l) => /^strace: /.test(l) && !/^strace: Process \d+ (attached|detached)/.test(l));
  if (o.workloadTrace.files.length === 0) reasons.push(`no workload trace was written${straceSaid ? ` (${straceSaid})` : ''}`);
  else if (!counter.ended && !o.traceEndShown) reasons.push(`the workload trace ends before the command did${straceSaid ? ` (${straceSaid})` : ' (log cut short or tracer failed)'}`);
  if (tracePerf && hostKernel === null) reasons.push('perf wrote no host-kernel trace');
  if (hostKernel && hostKernel.lostEvents > 0) reasons.push(`${hostKernel.measuredBy} lost ${hostKernel.lostEvents} events`);
  if (hostKernel?.fullMaps?.length) reasons.push(`${hostKernel.measuredBy}'s map ${hostKernel.fullMaps.join(', ')} filled: it may have refused counts`);
  const fs = await statfs(o.tempDir).catch(() => null);
  if (fs && fs.bavail === 0) reasons.push(`the file system holding the traces (${o.tempDir}) is full: they may be cut short`);
  return reasons;
}
