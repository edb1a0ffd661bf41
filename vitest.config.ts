import { defineConfig } from 'vitest/config';

// Files that start real sandboxes, strace and perf (named *.live.test.ts). They run one at a time, after the rest: their
// leftover checks (cgroups, containers, processes) look machine-wide, and two cores cannot run many
// sandboxes at once without the timing-sensitive checks (signals, timeouts) flaking.
const LIVE = ['test/**/*.live.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: LIVE, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'live', include: LIVE, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
