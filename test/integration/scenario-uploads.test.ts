import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { checksOf, readSamples, readSummary, runScenario } from '../../src/k6/run.js';
import { expectEveryStepPassed, testLab } from './helpers.js';

/** The uploads workload (k6) against a hardened target: every step within budget, checksums equal, quota enforced. */
const STEPS = ['upload_url', 'put', 'complete', 'download_url', 'get', 'delete', 'quota_probe'];
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-uploads-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  // k6 runs from one address: lift the gateway's 100/min/IP limit (contract N21). Quota 50 MB: the probe asks for 60 MB.
  // portBase 20: shared only with target-auth's short-lived "rl" target (stopped in its own test; files run one at a time).
  target = await startTarget(lab, {
    profile: 'hardened', portBase: 20, instance: 'k6up', services: ['auth', 'storage', 'gateway'],
    env: { RATE_LIMIT_PER_MINUTE: '100000', STORAGE_QUOTA_BYTES: '50000000' },
  });
});

afterAll(async () => {
  await target?.stop();
});

describe('scenario uploads (k6, smoke profile)', () => {
  it('every step passes its checks and budgets; checksums match; the quota is enforced', async () => {
    const r = await runScenario({
      name: 'uploads', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'smoke'), timeoutMs: 120_000,
      env: { SC_UPLOAD_SIZES: '1KB,64KB,1MB', SC_QUOTA_PROBE_BYTES: '60000000', SC_RATE: '2', SC_DURATION: '5s' },
    });
    expect(r.exitCode, `${r.stderr.slice(-2000)}\nfailed: ${r.failedThresholds.join('; ')}`).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.thresholdsPassed, r.failedThresholds.join('; ')).toBe(true);
    expect(r.thresholds['sc_step_duration{step:put}']).toEqual(['p(95)<1000']);
    expect(r.thresholds.sc_checksum_mismatch).toEqual(['count<1']);
    expect(r.thresholds.sc_quota_not_enforced).toEqual(['count<1']);

    const summary = expectEveryStepPassed(r, STEPS);
    expect(summary.metrics.sc_checksum_mismatch?.count).toBe(0);
    expect(summary.metrics.sc_quota_not_enforced?.count).toBe(0);
    // 2/s for 5 s: at least one round of the three sizes completed.
    expect(Number(summary.metrics.sc_flows_completed?.count)).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
