import { describe, expect, it } from 'vitest';
import { DriftSchema, evaluateDrift } from '../../src/verdicts/kinds/drift.js';
import { AlertsSchema, evaluateAlerts } from '../../src/verdicts/kinds/alerts.js';
import { HypothesisSchema } from '../../src/verdicts/kinds/index.js';
import { RECOMMENDED_ALERTS } from '../../fixtures/experiments/soak-alerts.js';
import type { EvaluationInput, StatsSource } from '../../src/verdicts/common.js';
import type { CalibrationResult, Phase, SeriesSelector, Stats } from '../../src/results/model.js';

const T0 = 1_700_000_000_000;
const p95 = (vs: number[]) => [...vs].sort((a, b) => a - b)[Math.ceil(0.95 * vs.length) - 1]!;

/**
 * Samples per second (`perS` of them at second t, per selector label), as the pipeline's merged windows give them:
 * trends by their p95, rates by their share of 1s.
 */
function source(sample: (sel: SeriesSelector, t: number, k: number) => number | null, perS = 5): StatsSource {
  return {
    stats: () => { throw new Error('not used'); },
    windowStats: (sel, fromMs, toMs): Stats => {
      const vs: number[] = [];
      for (let t = Math.ceil((fromMs - T0) / 1000); t < (toMs - T0) / 1000; t++) {
        for (let k = 0; k < perS; k++) {
          const v = sample(sel, t, k);
          if (v !== null) vs.push(v);
        }
      }
      if (vs.length === 0) return { kind: 'trend', count: 0 };
      if (sel.metric === 'sc_probe_ok') return { kind: 'rate', count: vs.length, rate: vs.reduce((a, b) => a + b, 0) / vs.length };
      return { kind: 'trend', count: vs.length, p95: p95(vs), mean: vs.reduce((a, b) => a + b, 0) / vs.length };
    },
  };
}

const input = (durationS: number, src: StatsSource, phases?: Phase[], calibration: CalibrationResult[] = []): EvaluationInput => ({
  phases: phases ?? [{ id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + durationS * 1000 }], source: src, calibration, fanout: {}, removedAtMs: {}, runEndMs: T0 + durationS * 1000,
});

describe('drift (SOAK-LATENCY-DRIFT)', () => {
  const drift = (extra: Record<string, unknown> = {}) => DriftSchema.parse({ kind: 'drift', id: 'drift-send', description: 'd', claims: ['SOAK-LATENCY-DRIFT'], select: { metric: 'sc_ack_latency' }, per: { tag: 'via', values: ['rest', 'ws'] }, ...extra });

  it('PASS: flat latency with noise, per step; the kind is known to the experiment schema', () => {
    const r = evaluateDrift(drift(), input(600, source((_s, t, k) => 20 + ((t * 7 + k * 3) % 11))));
    expect(r.verdict, r.evidence).toBe('PASS');
    expect(r.evidence).toMatch(/sc_ack_latency\{via=rest\}: p95 .* in the first 60 s after a warm-up of 60 s \(300 samples\)/);
    expect(r.evidence).toMatch(/via=ws/);
    expect(HypothesisSchema.parse({ kind: 'drift', id: 'x', description: 'd', claims: ['C'], select: { metric: 'm' } })).toMatchObject({ windowShare: 0.1, maxRatio: 1.5, slackMs: 50, minSamples: 20 });
  });

  it('FAIL: one step drifts by 5 ms a minute over 2 minutes (the other stays flat): the worst step decides and is named', () => {
    const src = source((s, t) => (s.tags?.via === 'rest' ? 20 + (300 * t) / 60 : 20));
    const r = evaluateDrift(drift(), input(120, src));
    expect(r.verdict, r.evidence).toBe('FAIL');
    expect(r.evidence).toMatch(/via=rest\}.*drifted/);
    expect(r.evidence).not.toMatch(/via=ws\}[^;]*drifted/);
    expect(r.observed!).toBeGreaterThan(3);
  });

  it('a cold start is cut: slow first requests (a warm-up) neither FAIL nor widen the budget enough to hide a drift after it', () => {
    // 200 ms for the first 20 s, then 20 ms growing to 150 ms over 10 minutes.
    const src = source((_s, t) => (t < 20 ? 200 : 20 + (130 * t) / 600));
    const r = evaluateDrift(drift({ per: undefined }), input(600, src));
    expect(r.verdict, r.evidence).toBe('FAIL');
    expect(evaluateDrift(drift({ per: undefined, warmupS: 0 }), input(600, src)).verdict).toBe('PASS');
  });

  it('INCONCLUSIVE: too few samples in a window (saying how many it needs), or no such phase', () => {
    const r = evaluateDrift(drift({ windowS: 3 }), input(60, source(() => 20, 2)));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/6 samples in the first 3 s after a warm-up of 6 s, 6 in the last 3 s \(need 20 in each\)/);
    expect(evaluateDrift(drift({ phase: 'fault:redis' }), input(60, source(() => 20))).verdict).toBe('INCONCLUSIVE');
  });
});

describe('alerts (ALERTS-AS-RECOMMENDED)', () => {
  // 60 s: baseline to 20 s, MinIO down 20–35 s, recovery to 45 s.
  const phases: Phase[] = [
    { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 19_000 },
    { id: 'fault:minio', kind: 'fault', faultId: 'minio', startMs: T0 + 20_000, endMs: T0 + 35_000 },
    { id: 'recovery:minio', kind: 'recovery', faultId: 'minio', startMs: T0 + 35_000, endMs: T0 + 45_000 },
  ];
  const alerts = (extra: Record<string, unknown> = {}) => AlertsSchema.parse({ kind: 'alerts', id: 'alerts', description: 'd', claims: ['ALERTS-AS-RECOMMENDED'], alerts: RECOMMENDED_ALERTS, shouldFire: { minio: ['errors'] }, ...extra });
  /** Probes: `failShare` of them fail in [from, to) s; latency 30 ms, or `slowMs` in [slowFrom, slowTo). */
  const probes = (o: { failFrom?: number; failTo?: number; failShare?: number; slowMs?: number; slowFrom?: number; slowTo?: number } = {}) =>
    source((s, t, k) => {
      if (s.metric === 'sc_probe_ok') return t >= (o.failFrom ?? 20) && t < (o.failTo ?? 35) && k < 5 * (o.failShare ?? 0.4) ? 0 : 1;
      if (s.metric === 'sc_probe_duration') return t >= (o.slowFrom ?? 0) && t < (o.slowTo ?? 0) ? (o.slowMs ?? 30) : 30;
      return null;
    });

  it('PASS: quiet in the baseline, the error rate fires during the outage; memory and the pool listed as not evaluable; firing spans for the timeline', () => {
    const r = evaluateAlerts(alerts(), input(45, probes(), phases));
    expect(r.verdict, r.evidence).toBe('PASS');
    expect(r.evidence).toMatch(/errors fires during fault:minio \(from \+20 s\)/);
    expect(r.evidence).toMatch(/memory not evaluable: the embedded services run without a memory limit/);
    expect(r.evidence).toMatch(/db-pool not evaluable/);
    const errors = r.timeline!.find((x) => x.id === 'errors')!;
    expect(errors.firing).toEqual([{ startMs: T0 + 20_000, endMs: T0 + 35_000 }]);
    expect(r.timeline!.find((x) => x.id === 'memory')!.notEvaluable).toMatch(/memory limit/);
    expect(r.timeline!.find((x) => x.id === 'latency')!.firing).toEqual([]);
  });

  it('FAIL: an alert fires in the baseline (slow requests at 5–10 s), or the expected one never fires during the fault (the outage raised no error)', () => {
    const noisy = evaluateAlerts(alerts(), input(45, probes({ slowMs: 1500, slowFrom: 5, slowTo: 10 }), phases));
    expect(noisy.verdict, noisy.evidence).toBe('FAIL');
    expect(noisy.evidence).toMatch(/latency fires in the baseline \(\+5 s…\+10 s\)/);
    const silent = evaluateAlerts(alerts(), input(45, probes({ failShare: 0 }), phases));
    expect(silent.verdict, silent.evidence).toBe('FAIL');
    expect(silent.evidence).toMatch(/errors never fires during fault:minio \(3 windows with data\)/);
  });

  it('INCONCLUSIVE: no baseline data, an expected alert not evaluable, the fault never applied or not landed; a shouldFire naming no alert is refused', () => {
    // Probes that only started with the fault: the outage's errors fire, but the baseline's quiet was never seen.
    const late = source((s, t, k) => (t < 20 ? null : s.metric === 'sc_probe_ok' ? (t < 35 && k < 2 ? 0 : 1) : 30));
    const unseen = evaluateAlerts(alerts(), input(45, late, phases));
    expect(unseen.verdict).toBe('INCONCLUSIVE');
    expect(unseen.evidence).toMatch(/errors: no baseline window with ≥ 5 samples \(3 windows\)/);
    const mem = evaluateAlerts(alerts({ shouldFire: { minio: ['errors', 'memory'] } }), input(45, probes(), phases));
    expect(mem.verdict).toBe('INCONCLUSIVE');
    expect(mem.evidence).toMatch(/memory should fire during fault:minio but is not evaluable/);
    expect(evaluateAlerts(alerts(), input(45, probes(), phases.slice(0, 1))).evidence).toMatch(/fault minio was never applied/);
    const cal: CalibrationResult[] = [{ faultId: 'minio', selector: { metric: 'x' }, label: 'x', expected: 'y', observed: null, ok: false, detail: 'no' }];
    expect(evaluateAlerts(alerts(), input(45, probes(), phases, cal)).verdict).toBe('INCONCLUSIVE');
    expect(AlertsSchema.safeParse({ kind: 'alerts', id: 'a', description: 'd', claims: ['C'], alerts: RECOMMENDED_ALERTS, shouldFire: { minio: ['nope'] } }).success).toBe(false);
    // A rule whose series never had a sample is listed as not evaluable, never counted.
    const none = evaluateAlerts(alerts({ alerts: [RECOMMENDED_ALERTS[0]!], shouldFire: {} }), input(45, source(() => null), phases));
    expect(none).toMatchObject({ verdict: 'INCONCLUSIVE' });
    expect(none.evidence).toMatch(/errors not evaluable: no sample of sc_probe_ok\{workload=probes\} in the run/);
  });
});
