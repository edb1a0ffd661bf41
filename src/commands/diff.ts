// `trace-compare diff [LABEL=]FILE...`: the comparison built from saved logs, no runtime needed.
// Logs that share a label make one environment: a workload log (strace text or a runsc debug log) gives
// the workload's syscalls, and a perf trace of the same run gives what reached the host kernel.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Diagnostics, newTally, tally } from '../diagnostics.js';
import { checkStdinOnce, openInputs, type OpenedInput } from '../input.js';
import { UserError, ExitCode } from '../errors.js';
import type { Comparison, EnvironmentReport } from '../compare.js';
import type { RuntimeKind } from '../runtime.js';
import { measureEnvironment } from '../measure.js';
import type { TraceEvent } from '../../parsers/events.js';
import { renderComparison } from '../report/comparison-report.js';
import { renderComparisonHtml } from '../report/html-report.js';
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

const RUNTIME_OF_LABEL: Record<string, RuntimeKind> = { host: 'host', runc: 'runc', crun: 'crun', gvisor: 'runsc', runsc: 'runsc' };

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
  const t = newTally();
  async function* counted(events: AsyncIterable<TraceEvent>): AsyncGenerator<TraceEvent> {
    for await (const e of diag.watch(events)) {
      tally(t, e);
      yield e;
    }
  }
  const { fields, counter } = await measureEnvironment({
    name: label,
    runtime,
    workload: workload[0] ? { events: counted(workload[0].events), format: workload[0].format === 'runsc' ? 'runsc' : 'strace' } : null,
    perf: perf[0] ? diag.watch(perf[0].events) : null,
    command: null,
  });
  if (workload[0] && t.syscalls === 0) diag.noSyscallIn(workload[0].file, t, workload[0].format);
  return {
    ...fields,
    sources: inputs.map((i) => i.file),
    exitCode: counter.exitCode,
    ...(counter.killedBy !== null ? { ended: `killed by ${counter.killedBy}` } : {}),
    stdout: null,
  };
}

export async function runDiff(args: string[], format: ReportFormat, diag: Diagnostics): Promise<void> {
  const c = await buildDiff(args, diag);
  await writeOut(format === 'html' ? await renderComparisonHtml(c) : renderComparison(c, format));
}

