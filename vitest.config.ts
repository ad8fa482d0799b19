import { defineConfig } from 'vitest/config';

/**
 * Two projects: unit (pure logic, parallel) and integration (real services, one shared lab, files one after
 * another). Integration runs in one lane on purpose: a second lane beside it (tried: the experiment catalogue in a
 * worker thread with a lab of its own) keeps the 2-core machine 100 % busy, and the checker rightly makes what
 * browser participants measured then INCONCLUSIVE (a saturated load generator).
 */
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
