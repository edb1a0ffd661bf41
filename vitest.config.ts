import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Runtime tests start real sandboxes; two cores cannot run many at once.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
