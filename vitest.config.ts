import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'src/**/*.test.tsx',
      'test/**/*.test.ts',
      'test/**/*.test.tsx',
      'bench/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real PostgreSQL servers and brokers; two cores are shared.
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
