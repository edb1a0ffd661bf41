// A Comparison built from the real three-way run kept in fixtures/compare/run-uname: each environment's
// workload log (strace or the Sentry's) and perf trace read and attributed as `trace-compare` does, on
// top of the run's own live.json (exit codes, output).
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkloadCounter, fromHostKernelView, totalsOf, type Comparison, type EnvironmentReport } from '../../src/compare.js';
import { attributeHostKernel } from '../../src/attribution.js';
import { parseStraceFiles } from '../../parsers/strace-ff.js';
import { parseRunscLogDir } from '../../parsers/runsc-log.js';
import { parsePerfTrace } from '../../parsers/perf-trace.js';

export const RUN = 'fixtures/compare/run-uname';

export async function fixtureComparison(): Promise<Comparison> {
  const live = JSON.parse(readFileSync(path.join(RUN, 'live.json'), 'utf8')) as Comparison;
  const environments: EnvironmentReport[] = [];
  for (const e of live.environments) {
    const counter = new WorkloadCounter();
    const events = e.runtime === 'runsc' ? parseRunscLogDir(path.join(RUN, e.name)) : parseStraceFiles([path.join(RUN, e.name, 'strace.log')]);
    for await (const x of events) counter.add(x);
    const file = path.join(RUN, e.name, 'perf.txt');
    const view = await attributeHostKernel(parsePerfTrace(createReadStream(file), { file }), {
      runtime: e.runtime ?? 'host',
      command: live.command ?? [],
      ...(e.runtime !== 'runsc' ? { tracedBy: 'strace' } : {}),
    });
    const { entered, hostKernel } = fromHostKernelView(view);
    const syscalls = counter.result(entered);
    environments.push({ ...e, syscalls, totals: totalsOf(syscalls, true), hostKernel, detail: counter.detail() });
  }
  return { command: live.command, environments };
}
