import { defineConfig } from 'vitest/config';

/**
 * Three projects: unit (pure logic, parallel) and two integration lanes against the real services, each with a lab
 * of its own (global-setup.ts), running side by side:
 *   integration              every integration file but the experiment catalogue, one after another (one fork: the
 *                            files share their lab's Toxiproxy)
 *   integration-experiments  test/integration/experiments.test.ts (the catalogue on three profiles, ~20 min, mostly
 *                            waiting on fault timelines), in a worker thread: a second pool type is what lets vitest
 *                            run it beside the first lane
 * Split this way the suite takes about as long as its longest lane instead of their sum.
 */
const EXPERIMENTS_LANE = ['test/integration/experiments.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: EXPERIMENTS_LANE,
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'integration-experiments',
          include: EXPERIMENTS_LANE,
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'threads',
          poolOptions: { threads: { singleThread: true } },
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
