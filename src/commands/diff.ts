// `trace-compare diff [LABEL=]FILE...`: the comparison built from saved logs, no runtime needed.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Diagnostics } from '../diagnostics.js';
import { openInput } from '../input.js';
import { WorkloadCounter, totalsOf, type Comparison, type EnvironmentReport, type RuntimeName } from '../compare.js';
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
  const environments: EnvironmentReport[] = [];
  for (const { label, path } of args.map(parseLabelledLog)) {
    const input = await openInput(path);
    const counter = new WorkloadCounter();
    // perf output is itself the host kernel's view: each call either entered the kernel or did not.
    const entered = input.format === 'perf' ? new Map<string, number>() : null;
    for await (const e of diag.watch(input.events)) {
      counter.add(e);
      if (entered && e.kind === 'syscall' && e.enteredKernel) entered.set(e.name, (entered.get(e.name) ?? 0) + 1);
    }
    const syscalls = counter.result(entered);
    environments.push({
      name: label,
      runtime: RUNTIME_OF_LABEL[label] ?? (input.format === 'runsc' ? 'runsc' : null),
      sources: [input.file],
      kernelRelease: counter.kernelRelease,
      kernelReleaseSource: counter.kernelRelease === null ? null : 'workload',
      exitCode: counter.exitCode,
      ...(counter.killedBy !== null ? { ended: `killed by ${counter.killedBy}` } : {}),
      stdout: null,
      syscalls,
      totals: totalsOf(syscalls, entered !== null),
      hostKernel: null,
      unparsed: counter.unparsed,
    });
  }
  return { command: null, environments };
}

export async function runDiff(args: string[], format: ReportFormat, diag: Diagnostics): Promise<void> {
  await writeOut(renderComparison(await buildDiff(args, diag), format));
}
