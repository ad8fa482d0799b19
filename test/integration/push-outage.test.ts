import { describe, expect, it, beforeAll } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment, type RunOptions } from '../../src/experiment/runner.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * PUSH-NONBLOCKING (experiment push-outage): the push endpoint's proxy down, then slow, while messages are sent
 * and calls started. FAIL where a request waits for its push (as-built's call start, and the test switch that
 * makes a send wait too), PASS where pushes go in the background. INCONCLUSIVE without push evidence is shown on
 * synthetic samples (test/unit/push-outage.test.ts): a third run would cost another ~28 s.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-push-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

async function run(o: Partial<RunOptions>): Promise<RunResult> {
  return runExperiment({ experiment: await loadExperiment('push-outage'), labName: lab.name, runsDir, ...o });
}
const verdict = (r: RunResult, id: string) => r.hypotheses.find((h) => h.id === id)?.verdict;
const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}\n${r.calibration.map((c) => `${c.label}: ${c.ok} ${c.detail}`).join('\n')}`;
const claim = (r: RunResult) => r.claims.find((c) => c.id === 'PUSH-NONBLOCKING')?.verdict;

describe('PUSH-NONBLOCKING', () => {
  it('hardened: sends and call starts keep their budget while the provider is down or slow, the lost pushes counted: PASS', async () => {
    const r = await run({ profile: 'hardened' });
    expect(claim(r), explain(r)).toBe('PASS');
    expect(verdict(r, 'push-loss-counted')).toBe('PASS');
    expect(verdict(r, 'push-waits-on-slow-provider')).toBe('PASS');
    expect(r.calibration.every((c) => c.ok), explain(r)).toBe(true);
  }, 120_000);

  it('as-built (call start awaits the callee\'s push, as the real InitiateCall) with sends made to wait too: FAIL on both while the provider is slow', async () => {
    const r = await run({ profile: 'as-built', targetEnv: { SC_SWITCH_MESSAGE_PUSH_IN_REQUEST: 'on' } });
    expect(claim(r), explain(r)).toBe('FAIL');
    expect(r.exitCode).toBe(0);
    expect(verdict(r, 'call-initiate-within-budget-during-push-slow'), explain(r)).toBe('FAIL');
    expect(verdict(r, 'send-within-budget-during-push-slow'), explain(r)).toBe('FAIL');
    // A dead provider refuses at once: even a request that waits for it answers in time.
    expect(verdict(r, 'call-initiate-within-budget-during-push-down'), explain(r)).toBe('PASS');
  }, 120_000);
});
