import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment } from '../../src/experiment/runner.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * TURN-LOSS on the SFU path over relay, one run per target (each measures both loss levels): the receivers'
 * getStats loss calibrates the nft rule (5 % → 1-0.95⁴ = 18.5 % ±2 pp, 20 % → 1-0.8⁴ = 59.0 % ±3 pp over ≥ 2,000
 * packets, on the run without retransmission, whose receivers count every packet the path lost); with mediasoup's
 * NACK/RTX the claim PASSes, with the test switch turning retransmission off it FAILs.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-turn-loss-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.calibration.map((c) => `cal ${c.faultId} ${c.label}: ${c.ok} — ${c.detail}`).join('\n')}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;
const verdicts = (r: RunResult) => Object.fromEntries(r.hypotheses.map((h) => [h.id, h.verdict]));
const mediaRow = (r: RunResult, fault: string) => r.calibration.find((c) => c.faultId === fault && c.label.startsWith('media loss'));
const run = async (targetEnv: Record<string, string> = {}) => runExperiment({ experiment: await loadExperiment('turn-loss'), labName: lab.name, runsDir, profile: 'hardened', targetEnv });

describe('turn-loss: an SFU call over TURN relay under UDP loss at coturn', () => {
  it('retransmission off: getStats counts the rule\'s loss (5 % → 18.5 % ±2 pp, 20 % → 59 % ±3 pp, ≥ 2,000 packets each); video collapses: TURN-LOSS FAIL', async () => {
    const r = await run({ SC_SWITCH_SFU_RETRANSMISSION: 'off' });
    expect(r.error, explain(r)).toBeUndefined();
    process.stderr.write(`[turn-loss off] ${explain(r)}\n`);
    for (const [fault, want, tol] of [['loss5', 1 - 0.95 ** 4, 0.02], ['loss20', 1 - 0.8 ** 4, 0.03]] as const) {
      const row = mediaRow(r, fault);
      expect(row?.ok, explain(r)).toBe(true);
      expect(row!.detail).toMatch(/no retransmission/);
      expect(Math.abs(row!.observed! - want), explain(r)).toBeLessThanOrEqual(tol);
      expect(Number(/of (\d+) video packets/.exec(row!.detail)?.[1])).toBeGreaterThanOrEqual(2000);
    }
    expect(verdicts(r), explain(r)).toMatchObject({ 'relay-video-before': 'PASS', 'fps-at-5': 'FAIL' });
    expect(r.claims.find((c) => c.id === 'TURN-LOSS')?.verdict, explain(r)).toBe('FAIL');
  });

  it('NACK/RTX on (every profile\'s SFU): the loss reached the media path (calibration ok), ≥ 7.5 fps (of 15) and bounded freezes at 5 %, video still moving at 20 %: TURN-LOSS PASS', async () => {
    const r = await run();
    expect(r.error, explain(r)).toBeUndefined();
    process.stderr.write(`[turn-loss on] ${explain(r)}\n`);
    for (const fault of ['loss5', 'loss20']) {
      const row = mediaRow(r, fault);
      expect(row?.ok, explain(r)).toBe(true);
      expect(row!.detail).toMatch(/NACKs/);
    }
    expect(verdicts(r), explain(r)).toEqual({ 'relay-video-before': 'PASS', 'fps-at-5': 'PASS', 'freezes-at-5': 'PASS', 'video-moves-at-20': 'PASS' });
    expect(r.claims.find((c) => c.id === 'TURN-LOSS')?.verdict, explain(r)).toBe('PASS');
  });
});
