import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // One test file per core: most of them wait on the servers they start. (Vitest's default leaves a core idle,
    // which on two cores ran the files one at a time.)
    maxWorkers: availableParallelism(),
  },
});
