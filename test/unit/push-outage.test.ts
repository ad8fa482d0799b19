import { describe, expect, it } from 'vitest';
import { derivePhases } from '../../src/experiment/phases.js';
import { evaluateClaims, evaluateHypotheses, type EvaluationInput } from '../../src/verdicts/evaluate.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { selectorsFor } from '../../src/experiment/analyze.js';
import { loadClaims } from '../../src/experiment/claims.js';
import type { FaultRecord, Sample } from '../../src/results/model.js';

/**
 * PUSH-NONBLOCKING's checks over synthetic samples (the real runs are in test/integration/push-outage.test.ts):
 * what the verdict makes of the target's push counters being there or not.
 */
const T0 = 1_800_000_000_000;
const at = (sec: number) => T0 + sec * 1000;
const fault = (id: string, on: number, off: number): FaultRecord => ({ id, name: id, mechanism: 'toxiproxy', target: 'push', params: {}, plannedStartS: on, plannedDurationS: off - on, appliedAtMs: at(on), removedAtMs: at(off), verified: true, verifyDetail: 'ok', rolledBack: true });
const faults = [fault('push-down', 4, 9), fault('push-slow', 10, 21)];
const phases = derivePhases(at(0), at(24), faults, 1);
const slowPhase = (t: number) => t >= 10 && t < 21;

interface World {
  /** ms a call start takes at time t. */
  initiateMs: (t: number) => number;
  /** The target's push series (failed counter, in-flight gauge) scraped once a second. */
  pushSeries: boolean;
}

async function judge(w: World, profile: string) {
  const e = await loadExperiment('push-outage');
  const p = new ResultPipeline({ phases, selectors: selectorsFor(e, ['push']), runStartMs: T0, windowMs: 1000 });
  p.setMetricKind('sc_attempt', 'counter');
  p.setMetricKind('sc_outcome', 'counter');
  p.setMetricKind('sc_probe_duration', 'trend');
  p.setMetricKind('sc_server', 'trend');
  const add = (s: Sample) => p.add(s);
  for (let t = 0; t < 24; t += 0.5) {
    for (const probe of ['send', 'call_initiate']) {
      add({ metric: 'sc_attempt', time: at(t), value: 1, tags: { probe } });
      add({ metric: 'sc_outcome', time: at(t), value: 1, tags: { probe, class: 'served' } });
      add({ metric: 'sc_probe_duration', time: at(t), value: probe === 'call_initiate' ? w.initiateMs(t) : 15, tags: { probe } });
    }
    if (w.pushSeries && t % 1 === 0) {
      if (t >= 5) add({ metric: 'sc_server', time: at(t), value: t - 4, tags: { service: 'video', metric: 'push_notifications_total', type: 'call', result: 'failed' } });
      add({ metric: 'sc_server', time: at(t), value: slowPhase(t) ? 8 : 0, tags: { service: 'video', metric: 'push_notifications_in_flight' } });
    }
  }
  const input: EvaluationInput = { phases, source: p, calibration: [], fanout: {}, removedAtMs: Object.fromEntries(faults.map((f) => [f.id, f.removedAtMs])), runEndMs: at(24) };
  const claims = loadClaims();
  const hs = evaluateHypotheses(e.hypotheses, input, claims, profile, 'push-outage');
  return { claim: evaluateClaims(claims, hs, profile, 'push-outage').find((c) => c.id === 'PUSH-NONBLOCKING')!, hs };
}

describe('PUSH-NONBLOCKING (push-outage checks)', () => {
  it('fast answers and the lost pushes counted: PASS', async () => {
    const { claim } = await judge({ initiateMs: () => 20, pushSeries: true }, 'hardened');
    expect(claim).toMatchObject({ verdict: 'PASS', asExpected: true });
  });

  it('call starts waiting 5 s on the slow provider: FAIL, as expected on as-built', async () => {
    const { claim, hs } = await judge({ initiateMs: (t) => (slowPhase(t) ? 5020 : 20), pushSeries: true }, 'as-built');
    expect(claim).toMatchObject({ verdict: 'FAIL', asExpected: true });
    expect(hs.find((h) => h.id === 'call-initiate-within-budget-during-push-slow')!.verdict).toBe('FAIL');
  });

  it('no push series (nothing pushed, or the fault never met a push): INCONCLUSIVE, even when the call starts are slow', async () => {
    const { claim, hs } = await judge({ initiateMs: (t) => (slowPhase(t) ? 5020 : 20), pushSeries: false }, 'as-built');
    expect(claim.verdict).toBe('INCONCLUSIVE');
    expect(hs.find((h) => h.id === 'push-loss-counted')!.verdict).toBe('INCONCLUSIVE');
    expect(hs.find((h) => h.id === 'call-initiate-within-budget-during-push-slow')).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['push-waits-on-slow-provider'] });
  });
});
