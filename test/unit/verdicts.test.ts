import { describe, expect, it } from 'vitest';
import { derivePhases, phasesMatching } from '../../src/experiment/phases.js';
import { evaluateClaims, evaluateHypothesis, worst, type EvaluationInput } from '../../src/verdicts/evaluate.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { calibrate } from '../../src/experiment/runner.js';
import { HypothesisSchema, type Hypothesis } from '../../src/experiment/spec.js';
import { loadClaims } from '../../src/experiment/claims.js';
import type { FaultRecord, Sample } from '../../src/results/model.js';
import type { FanoutReport } from '../../src/k6/fanout-checker.js';

const T0 = 1_800_000_000_000;
const s = (sec: number) => T0 + sec * 1000;

function fault(id: string, on: number, off: number, extra: Partial<FaultRecord> = {}): FaultRecord {
  return { id, name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: on, plannedDurationS: off - on, appliedAtMs: s(on), removedAtMs: s(off), verified: true, verifyDetail: 'ok', rolledBack: true, ...extra };
}

/** A pipeline fed with one sample per 100 ms of `value(t)` for `metric{probe}` over [0, endS). */
function pipelineWith(phases: ReturnType<typeof derivePhases>, series: { metric: string; tags?: Record<string, string>; kind: 'trend' | 'rate' | 'counter'; value: (sec: number) => number | null }[], endS: number): ResultPipeline {
  const p = new ResultPipeline({ phases, selectors: series.map((x) => ({ metric: x.metric, ...(x.tags ? { tags: x.tags } : {}) })), runStartMs: T0, windowMs: 1000 });
  for (const x of series) p.setMetricKind(x.metric, x.kind);
  for (let t = 0; t < endS; t += 0.1) {
    for (const x of series) {
      const v = x.value(t);
      if (v === null) continue;
      const sample: Sample = { metric: x.metric, time: s(t), value: v, tags: x.tags ?? {} };
      p.add(sample);
    }
  }
  return p;
}

const h = (x: unknown): Hypothesis => HypothesisSchema.parse(x);

function input(p: ResultPipeline, phases: ReturnType<typeof derivePhases>, faults: FaultRecord[], extra: Partial<EvaluationInput> = {}): EvaluationInput {
  return { phases, source: p, calibration: [], fanout: {}, removedAtMs: Object.fromEntries(faults.map((f) => [f.id, f.removedAtMs])), runEndMs: s(60), ...extra };
}

describe('phases', () => {
  it('baseline, fault and recovery from the applied/removed times; recovery cut at the next fault and the end', () => {
    const ph = derivePhases(s(0), s(60), [fault('a', 10, 20), fault('b', 25, 40)], 10);
    expect(ph.map((p) => [p.id, (p.startMs - T0) / 1000, (p.endMs - T0) / 1000])).toEqual([
      ['baseline', 0, 10], ['fault:a', 10, 20], ['recovery:a', 20, 25], ['fault:b', 25, 40], ['recovery:b', 40, 50],
    ]);
    expect(phasesMatching('fault:*', ph).map((p) => p.id)).toEqual(['fault:a', 'fault:b']);
  });

  it('a fault never applied has no phase', () => {
    const ph = derivePhases(s(0), s(30), [{ ...fault('a', 10, 20), appliedAtMs: undefined, removedAtMs: undefined }], 10);
    expect(ph.map((p) => p.id)).toEqual(['baseline']);
    expect(ph[0]!.endMs).toBe(s(30));
  });
});

describe('hypotheses', () => {
  const faults = [fault('redis', 20, 35)];
  const phases = derivePhases(s(0), s(60), faults, 15);
  // ok rate 1 except during the fault, when it is 0 (a fail-open defect would look like this for "revoked").
  const p = pipelineWith(phases, [
    { metric: 'sc_probe_ok', tags: { probe: 'revoked' }, kind: 'rate', value: (t) => (t >= 20 && t < 35 ? 0 : 1) },
    { metric: 'sc_probe_duration', tags: { probe: 'send' }, kind: 'trend', value: (t) => (t >= 20 && t < 38 ? 3000 : 20) },
    { metric: 'nothing_here', kind: 'trend', value: () => null },
  ], 60);

  it('threshold: PASS in the baseline, FAIL in the fault phase, with the observed value', () => {
    const base = evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'baseline', select: { metric: 'sc_probe_ok', tags: { probe: 'revoked' } }, stat: 'rate', op: '>=', value: 1 }), input(p, phases, faults));
    expect(base.verdict).toBe('PASS');
    const during = evaluateHypothesis(h({ id: 'b', description: 'd', claims: ['X'], phase: 'fault:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'revoked' } }, stat: 'rate', op: '>=', value: 1 }), input(p, phases, faults));
    expect(during.verdict).toBe('FAIL');
    expect(during.observed).toBe(0);
    expect(during.evidence).toMatch(/fault:redis: rate = 0 over 150 samples/);
  });

  it('threshold: too few samples or a missing phase → INCONCLUSIVE, never PASS', () => {
    const few = evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'fault:redis', select: { metric: 'nothing_here' }, stat: 'p95', op: '<', value: 1000 }), input(p, phases, faults));
    expect(few.verdict).toBe('INCONCLUSIVE');
    const none = evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'fault:other', select: { metric: 'sc_probe_ok' }, stat: 'rate', op: '>=', value: 1 }), input(p, phases, faults));
    expect(none.verdict).toBe('INCONCLUSIVE');
  });

  it('threshold: a fault that did not land (calibration) makes its phase INCONCLUSIVE even when the numbers would FAIL', () => {
    const r = evaluateHypothesis(h({ id: 'b', description: 'd', claims: ['X'], phase: 'fault:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'revoked' } }, stat: 'rate', op: '>=', value: 1 }),
      input(p, phases, faults, { calibration: [{ faultId: 'redis', selector: { metric: 'm' }, label: 'm', expected: 'x', observed: 0, ok: false, detail: 'no connection' }] }));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/did not measurably land/);
  });

  it('recovers: latency back within the stated time → PASS with the seconds it took; a stricter time → FAIL', () => {
    const sel = { metric: 'sc_probe_duration', tags: { probe: 'send' } };
    const ok = evaluateHypothesis(h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: 'redis', select: sel, stat: 'p95', withinS: 10, windowS: 2 }), input(p, phases, faults));
    expect(ok.verdict).toBe('PASS');
    expect(ok.observed).toBe(3);
    const late = evaluateHypothesis(h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: 'redis', select: sel, stat: 'p95', withinS: 2, windowS: 2 }), input(p, phases, faults));
    expect(late.verdict).toBe('FAIL');
  });

  it('recovers: a success rate that never comes back → FAIL', () => {
    const q = pipelineWith(phases, [{ metric: 'sc_probe_ok', kind: 'rate', value: (t) => (t >= 20 ? 0 : 1) }], 60);
    const r = evaluateHypothesis(h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: '*', select: { metric: 'sc_probe_ok' }, stat: 'rate', withinS: 15 }), input(q, phases, faults));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/not back within 15 s/);
  });

  it('nothing-lost: clean reconciliation PASS, a lost message FAIL, no data INCONCLUSIVE', () => {
    const clean: FanoutReport = { expected: 10, delivered: 10, lost: [], duplicates: [], orderViolations: [], missingFromHistory: [], completeness: 1 };
    const hyp = h({ kind: 'nothing-lost', id: 'n', description: 'd', claims: ['X'], workload: 'chat' });
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: clean } })).verdict).toBe('PASS');
    const lost = { ...clean, delivered: 9, completeness: 0.9, lost: [{ client_message_id: 'm-3', recipient: 'u-1' }] };
    const r = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: lost } }));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/lost 1 \(m-3/);
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: { error: 'setup failed' } } })).verdict).toBe('INCONCLUSIVE');
  });
});

describe('claims', () => {
  it('worst verdict wins, and asExpected compares with the catalogue for the profile', () => {
    expect(worst(['PASS', 'INCONCLUSIVE'])).toBe('INCONCLUSIVE');
    expect(worst(['INCONCLUSIVE', 'FAIL', 'PASS'])).toBe('FAIL');
    const claims = loadClaims();
    const hs = [
      { id: 'a', description: '', phase: 'fault:redis', claims: ['REDIS-REVOCATION'], verdict: 'FAIL' as const, observed: 0, expected: '', evidence: 'accepted' },
      { id: 'b', description: '', phase: 'baseline', claims: ['REDIS-REVOCATION'], verdict: 'PASS' as const, observed: 1, expected: '', evidence: 'ok' },
    ];
    const [audited] = evaluateClaims(claims, hs, 'audited');
    expect(audited).toMatchObject({ id: 'REDIS-REVOCATION', verdict: 'FAIL', expected: 'FAIL', asExpected: true });
    const [hardened] = evaluateClaims(claims, hs, 'hardened');
    expect(hardened).toMatchObject({ verdict: 'FAIL', expected: 'PASS', asExpected: false });
    const [external] = evaluateClaims(claims, hs, undefined);
    expect(external).toMatchObject({ expected: null, asExpected: true });
  });
});

describe('calibration', () => {
  it('a 150 ms toxic calibrates when the path delta is within ±10 %, not otherwise; no connection on the path → not ok', () => {
    const rec = fault('slow', 10, 20, { name: 'postgres-slow', target: 'postgres', params: { latencyMs: 150 } });
    const phases = derivePhases(s(0), s(30), [rec], 10);
    const mk = (added: number, conns: number) => pipelineWith(phases, [
      { metric: 'sc_path_rtt', tags: { dep: 'postgres' }, kind: 'trend', value: (t) => (Math.abs(t - Math.round(t)) < 0.05 ? (t >= 10 && t < 20 ? 2 + added : 2) : null) },
      { metric: 'sc_proxy_connections', tags: { proxy: 'postgres' }, kind: 'trend', value: (t) => (t < 5 && Math.abs(t - Math.round(t)) < 0.05 ? conns : null) },
    ], 30);
    const good = calibrate([rec], mk(152, 3));
    expect(good.every((c) => c.ok)).toBe(true);
    expect(good.find((c) => c.label.startsWith('sc_path_rtt'))!.observed).toBeCloseTo(152, 0);
    const off = calibrate([rec], mk(60, 3));
    expect(off.find((c) => c.label.startsWith('sc_path_rtt'))!.ok).toBe(false);
    const unused = calibrate([rec], mk(150, 0));
    expect(unused.find((c) => c.label.startsWith('sc_proxy_connections'))!).toMatchObject({ ok: false });
    expect(unused.find((c) => c.label.startsWith('sc_proxy_connections'))!.detail).toMatch(/path the workload does not use/);
  });
});
