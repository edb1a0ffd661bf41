// The host-kernel view as trace-compare took it before it recorded: `perf trace` formatting every event
// live, straight into the text file. Kept only here, to show the product's record-then-replay gives the
// same figures (test/attribution.live.test.ts).

import { rename } from 'node:fs/promises';
import type { HostTracer } from '../../src/runners/host-trace.js';

export const LIVE_PERF_TRACE: HostTracer = {
  args: (file) => ['trace', '-f', '-m', '1024', '--syscalls', '-e', 'sched:sched_process_fork,sched:sched_process_exec', '-o', file, '--'],
  finish: async (_perf, file, textFile) => rename(file, textFile),
};
