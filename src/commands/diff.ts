// `trace-compare diff [LABEL=]FILE...`: the comparison built from saved logs, no runtime needed.
// Logs that share a label make one environment: a workload log (strace text or a runsc debug log) gives
// the workload's syscalls, and a perf trace of the same run gives what reached the host kernel.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Diagnostics, newTally, tally } from '../diagnostics.js';
import { ReleaseFromOutput } from '../release.js';
import { checkStdinOnce, openInputs, type OpenedInput } from '../input.js';
import { UserError, ExitCode } from '../errors.js';
import { WorkloadCounter, fromHostKernelView, totalsOf, type Comparison, type EnvironmentReport, type HostKernelSummary, type RuntimeName } from '../compare.js';
import { attributeHostKernel } from '../attribution.js';
import { renderComparison } from '../report/comparison-report.js';
import type { ReportFormat } from '../format.js';
import { writeOut } from '../output.js';

export interface LabelledLog {
  label: string;
  path: string;
}

/** `host=host.log` → label host; a bare path is labelled by its file name. A path that exists wins over a label. */
export function parseLabelledLog(arg: string): LabelledLog {
  const eq = arg.indexOf('=');
  if (eq > 0 && !existsSync(arg)) return { label: arg.slice(0, eq), path: arg.slice(eq + 1) };
  return { label: arg === '-' ? 'stdin' : basename(arg), path: arg };
}

const RUNTIME_OF_LABEL: Record<string, RuntimeName> = { host: 'host', runc: 'runc', crun: 'crun', gvisor: 'runsc', runsc: 'runsc' };

export async function buildDiff(args: string[], diag: Diagnostics): Promise<Comparison> {
  const logs = args.map(parseLabelledLog);
  checkStdinOnce(logs.map((l) => l.path));
  const groups = new Map<string, string[]>();
  for (const { label, path } of logs) groups.set(label, [...(groups.get(label) ?? []), path]);
  const environments: EnvironmentReport[] = [];
  for (const [label, paths] of groups) {
    // A label's logs: each a file, a runsc debug-log directory, or an strace -ff set (its prefix, or its files).
    const inputs: OpenedInput[] = await openInputs(paths);
    environments.push(await environmentOf(label, inputs, diag));
  }
  return { command: null, environments };
}

async function environmentOf(label: string, inputs: OpenedInput[], diag: Diagnostics): Promise<EnvironmentReport> {
  const workload = inputs.filter((i) => i.format !== 'perf');
  const perf = inputs.filter((i) => i.format === 'perf');
  if (workload.length > 1 || perf.length > 1) {
    throw new UserError(
      `${label}: give at most one workload log (strace or runsc) and one perf trace per label; got ${inputs.map((i) => `${i.file} (${i.format})`).join(', ')}`,
      ExitCode.Usage,
    );
  }
  const runtime = RUNTIME_OF_LABEL[label] ?? (workload[0]?.format === 'runsc' ? 'runsc' : null);
  const counter = new WorkloadCounter();
  let command: string[] = [];
  let entered: Map<string, number> | null = null;
  let hostKernel: HostKernelSummary | null = null;

  // `uname -r` traced without -v: the release is not in uname's struct, but its output is in the trace.
  const printed = new ReleaseFromOutput();
  if (workload[0]) {
    const t = newTally();
    for await (const e of diag.watch(workload[0].events)) {
      counter.add(e);
      printed.add(e);
      tally(t, e);
      if (command.length === 0 && e.kind === 'syscall' && e.name === 'execve') command = execPath(e.args);
    }
    if (t.syscalls === 0) diag.noSyscallIn(workload[0].file, t, workload[0].format);
  }
  if (perf[0] && workload[0]) {
    // Both views of one run: attribute perf's processes as the live run does.
    const view = await attributeHostKernel(diag.watch(perf[0].events), { runtime: runtime ?? 'host', command, ...(workload[0].format === 'strace' ? { tracedBy: 'strace' } : {}) });
    ({ entered, hostKernel } = fromHostKernelView(view));
  } else if (perf[0]) {
    // perf output alone is itself the host kernel's view: each call either entered the kernel or did not.
    entered = new Map();
    for await (const e of diag.watch(perf[0].events)) {
      counter.add(e);
      if (e.kind === 'syscall' && e.enteredKernel) entered.set(e.name, (entered.get(e.name) ?? 0) + 1);
    }
  }
  const syscalls = counter.result(entered);
  const fromOutput = counter.kernelRelease === null ? printed.release : null;
  const kernelRelease = counter.kernelRelease ?? fromOutput;
  // 'output' (read from what `uname` printed) is the value src/compare.ts's type is to allow; until it does,
  // the cast keeps this compiling (the union overlaps, so the assertion is allowed).
  const source: 'workload' | 'output' | null = counter.kernelRelease !== null ? 'workload' : fromOutput !== null ? 'output' : null;
  return {
    name: label,
    runtime,
    sources: inputs.map((i) => i.file),
    kernelRelease,
    kernelReleaseSource: source,
    exitCode: counter.exitCode,
    ...(counter.killedBy !== null ? { ended: `killed by ${counter.killedBy}` } : {}),
    stdout: null,
    syscalls,
    totals: totalsOf(syscalls, entered !== null),
    hostKernel,
    unparsed: counter.unparsed,
    detail: counter.detail(),
  };
}

/** The program a strace execve started: its first argument, as the basename attribution matches on. */
function execPath(args: string): string[] {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(args);
  return m?.[1] ? [m[1]] : [];
}

export async function runDiff(args: string[], format: ReportFormat, diag: Diagnostics): Promise<void> {
  await writeOut(renderComparison(await buildDiff(args, diag), format));
}

