import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { checksOf, readSamples, readSummary, runScenario, type Profile } from '../../src/k6/run.js';
import { expectEveryStepPassed, testLab } from './helpers.js';

/** The registration workload (k6) against a hardened target: within budget, then a latency fault breaks the budget. */
const STEPS = ['register', 'login', 'refresh', 'profile', 'logout', 'revoked'];
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-registration-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  // k6 runs from one address: lift the gateway's 100/min/IP limit (contract N21).
  target = await startTarget(lab, { profile: 'hardened', portBase: 70, instance: 'k6reg', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});

afterAll(async () => {
  await target?.stop();
});

describe('scenario registration (k6, smoke profile)', () => {
  it('unknown scenario or profile is refused before any load', async () => {
    await expect(runScenario({ name: 'no-such-scenario', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'x') })).rejects.toThrow(/no-such-scenario/);
    await expect(runScenario({ name: 'registration', baseUrl: target!.baseUrl, profile: 'blast' as Profile, outDir: join(runRoot, 'x') })).rejects.toThrow(/"blast"/);
  });

  it('every step passes its checks and budgets; the revoked token is always refused', async () => {
    const r = await runScenario({ name: 'registration', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'smoke'), timeoutMs: 60_000 });
    expect(r.exitCode, `${r.stderr.slice(-2000)}\nfailed: ${r.failedThresholds.join('; ')}`).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.thresholdsPassed, r.failedThresholds.join('; ')).toBe(true);
    expect(r.thresholds['sc_step_duration{step:login}']).toEqual(['p(95)<1000']);

    const summary = expectEveryStepPassed(r, STEPS);
    expect(summary.metrics.sc_revoked_token_accepted?.count).toBe(0);
    expect(Number(summary.metrics.sc_flows_completed?.count)).toBeGreaterThanOrEqual(3);
  });

  it('a 1500 ms latency on PostgreSQL breaks the login p95 budget: k6 exits non-zero', async () => {
    const name = `k6reg-latency-${randomBytes(3).toString('hex')}`;
    const proxy = await lab.toxiproxy().get('postgres');
    await proxy.addToxic({ name, type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 1500 } });
    try {
      const r = await runScenario({ name: 'registration', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'breach'), timeoutMs: 90_000 });
      expect(r.timedOut).toBe(false);
      expect(r.bundle.cached, 'the second run reuses the bundle').toBe(true);
      expect(r.exitCode).not.toBe(0);
      expect(r.thresholdsPassed).toBe(false);
      expect(r.failedThresholds).toContain('sc_step_duration{step:login}: p(95)<1000');
      // Revocation does not depend on PostgreSQL: still never accepted.
      expect(readSummary(r.summaryPath).metrics.sc_revoked_token_accepted?.count ?? 0).toBe(0);
    } finally {
      const res = await fetch(`${lab.toxiproxyUrl}/proxies/postgres/toxics/${name}`, { method: 'DELETE' });
      if (!res.ok && res.status !== 404) throw new Error(`removing toxic ${name}: HTTP ${res.status}`);
    }
  }, 150_000);
});
