import { describe, expect, it } from 'vitest';
import { evaluateNoGrowth, NoGrowthSchema, t975, trendOf } from '../../src/verdicts/kinds/no-growth.js';
import { HypothesisSchema } from '../../src/verdicts/kinds/index.js';
import type { EvaluationInput, StatsSource } from '../../src/verdicts/common.js';
import type { Stats } from '../../src/results/model.js';

const T0 = 1_700_000_000_000;

/** A resident-memory series read once a second: level(t s) plus a deterministic saw-tooth (a GC's), as the pipeline's window means give it. */
function source(level: (s: number) => number | null, sawMiB = 2): StatsSource {
  return {
    stats: () => { throw new Error('not used'); },
    windowStats: (_sel, fromMs, toMs): Stats => {
      const vs: number[] = [];
      for (let t = Math.ceil((fromMs - T0) / 1000); t < (toMs - T0) / 1000; t++) {
        const v = level(t);
        if (v !== null) vs.push(v + sawMiB * (((t * 7) % 13) / 13 - 0.5));
      }
      return vs.length ? { kind: 'trend', count: vs.length, mean: vs.reduce((a, b) => a + b, 0) / vs.length } : { kind: 'trend', count: 0 };
    },
  };
}

function judge(durationS: number, level: (s: number) => number | null, extra: Record<string, unknown> = {}, saw?: number) {
  const h = NoGrowthSchema.parse({ kind: 'no-growth', id: 'rss-chat', description: 'd', claims: ['SOAK-MEMORY'], select: { metric: 'sc_process_rss_mib', tags: { service: 'chat' } }, ...extra });
  const i: EvaluationInput = { phases: [{ id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + durationS * 1000 }], source: source(level, saw), calibration: [], fanout: {}, removedAtMs: {}, runEndMs: T0 + durationS * 1000 };
  return evaluateNoGrowth(h, i);
}

describe('no-growth (SOAK-MEMORY)', () => {
  it('Student t quantiles and a least-squares slope with its interval', () => {
    expect(t975(3)).toBeCloseTo(3.182, 1);
    expect(t975(10)).toBeCloseTo(2.228, 2);
    expect(t975(28)).toBeCloseTo(2.048, 2);
    const tr = trendOf([0, 1, 2, 3, 4].map((h) => ({ h, v: 100 + 10 * h })))!;
    expect(tr).toMatchObject({ n: 5, slope: 10, mean: 120 });
    expect(tr.high - tr.low).toBeCloseTo(0, 9);
    expect(trendOf([{ h: 0, v: 1 }, { h: 1, v: 2 }])).toBeNull();
  });

  it('FAIL: a leak of 600 MiB/h on a 100 MiB service over 5 minutes (budget 5 MiB/h), the warm-up cut named', () => {
    const r = judge(300, (s) => 100 + (600 * s) / 3600);
    expect(r.verdict, r.evidence).toBe('FAIL');
    expect(r.observed!).toBeGreaterThan(550);
    expect(r.evidence).toMatch(/grows faster than the budget/);
    expect(r.evidence).toMatch(/after a warm-up of 2 min/);
  });

  it('PASS: flat for 2 hours (a saw-tooth of ±1 MiB), and also when the growth is all in the warm-up', () => {
    expect(judge(7200, () => 100).verdict).toBe('PASS');
    // 40 MiB gained in the first 2 min of 20 (10 %: the cut), flat after.
    const r = judge(1200, (s) => 100 + Math.min(s, 110) * (40 / 110));
    expect(r.verdict, r.evidence).toBe('PASS');
    expect(r.evidence).toMatch(/after a warm-up of 2 min/);
    // Without the cut the same series reads as growth.
    expect(judge(1200, (s) => 100 + Math.min(s, 110) * (40 / 110), { warmupS: 0 }).verdict).toBe('FAIL');
  });

  it('INCONCLUSIVE: flat but too short to tell, saying how long it would need; and with too few readings', () => {
    const r = judge(240, () => 100);
    expect(r.verdict, r.evidence).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/the interval holds the budget, too short to tell; a run of about (\d+ s|\d+ min|[\d.]+ h) would tell/);
    const none = judge(600, () => null);
    expect(none.verdict).toBe('INCONCLUSIVE');
    expect(none.evidence).toMatch(/0 bins with readings of sc_process_rss_mib\{service=chat\}/);
    // A steady leak inside a short run is still seen when it dwarfs the noise; a level that shrinks for sure is no growth.
    expect(judge(240, (s) => 100 + (3600 * s) / 3600).verdict).toBe('FAIL');
    expect(judge(240, (s) => 200 - (360 * s) / 3600).verdict).toBe('PASS');
    // A run shorter than the 2-minute warm-up says nothing, however steep its start (a heap filling, measured on a
    // healthy chat service over 46 s: a slope of 1.3 GiB/h), and says how long a run would need.
    const early = judge(46, (s) => 100 + (1300 * s) / 3600);
    expect(early.verdict, early.evidence).toBe('INCONCLUSIVE');
    expect(early.evidence).toMatch(/after a warm-up of 2 min .*too short: a phase of at least 128 s would give them/);
    // A warm-up that leaves too little of the phase: how long a phase would give the readings.
    const short = judge(70, () => 100, { warmupS: 65 });
    expect(short.verdict).toBe('INCONCLUSIVE');
    expect(short.evidence).toMatch(/5 bins with readings .* \(need 8\); too short: a phase of at least 73 s would give them/);
  });

  it('a bigger budget passes a short flat run; the kind is read from an experiment file', () => {
    expect(judge(240, () => 100, { budgetPerHour: 2 }).verdict).toBe('PASS');
    const h = HypothesisSchema.parse({ kind: 'no-growth', id: 'x', description: 'd', claims: ['SOAK-MEMORY'], select: { metric: 'sc_process_rss_mib' }, warmupS: '1m' });
    expect(h).toMatchObject({ kind: 'no-growth', phase: 'run', budgetPerHour: 0.05, warmupS: 60, minPoints: 8 });
  });
});
