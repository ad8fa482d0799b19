import { describe, expect, it } from 'vitest';
import { derivePhases, phasesMatching } from '../../src/experiment/phases.js';
import { evaluateClaims, evaluateHypotheses, evaluateHypothesis, worst, type EvaluationInput } from '../../src/verdicts/evaluate.js';
import { deliveriesNeeded } from '../../src/verdicts/kinds/nothing-lost.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { calibrate } from '../../src/experiment/calibration.js';
import { HypothesisSchema, type Hypothesis } from '../../src/experiment/spec.js';
import { loadClaims } from '../../src/experiment/claims.js';
import type { FaultRecord, Phase, Sample } from '../../src/results/model.js';
import type { FanoutData, SentRecord } from '../../src/k6/fanout-checker.js';
import { OUTCOME_CLASSES } from '../../scenarios/lib/outcomes.ts';

const T0 = 1_800_000_000_000;
const s = (sec: number) => T0 + sec * 1000;

function fault(id: string, on: number, off: number, extra: Partial<FaultRecord> = {}): FaultRecord {
  return { id, name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: on, plannedDurationS: off - on, appliedAtMs: s(on), removedAtMs: s(off), verified: true, verifyDetail: 'ok', rolledBack: true, ...extra };
}

type Series = { metric: string; tags?: Record<string, string>; kind: 'trend' | 'rate' | 'counter'; value: (sec: number) => number | null };

/** A pipeline fed with one sample per `step` s of each series' `value(t)` over [0, endS). */
function pipelineWith(phases: Phase[], series: Series[], endS: number, step = 0.1): ResultPipeline {
  const p = new ResultPipeline({ phases, selectors: series.map((x) => ({ metric: x.metric, ...(x.tags ? { tags: x.tags } : {}) })), runStartMs: T0, windowMs: 1000 });
  for (const x of series) p.setMetricKind(x.metric, x.kind);
  for (let i = 0; i * step < endS; i++) {
    const t = i * step;
    for (const x of series) {
      const v = x.value(t);
      if (v === null) continue;
      const sample: Sample = { metric: x.metric, time: s(t), value: v, tags: x.tags ?? {} };
      p.add(sample);
    }
  }
  return p;
}

/** A probe's attempts (one per `step` s) with the outcome class `cls(t)` (null: never answered). */
function probe(name: string, cls: (t: number) => string | null, extra: Series[] = []): Series[] {
  return [
    { metric: 'sc_attempt', tags: { probe: name }, kind: 'counter', value: () => 1 },
    ...OUTCOME_CLASSES.map((c): Series => ({ metric: 'sc_outcome', tags: { class: c, probe: name }, kind: 'counter', value: (t) => (cls(t) === c ? 1 : null) })),
    ...extra,
  ];
}

const h = (x: unknown): Hypothesis => HypothesisSchema.parse(x);

function input(p: ResultPipeline, phases: Phase[], faults: FaultRecord[], extra: Partial<EvaluationInput> = {}): EvaluationInput {
  return { phases, source: p, calibration: [], fanout: {}, removedAtMs: Object.fromEntries(faults.map((f) => [f.id, f.removedAtMs])), runEndMs: s(60), ...extra };
}

const faults = [fault('redis', 20, 35)];
const phases = derivePhases(s(0), s(60), faults, 15);

describe('phases', () => {
  it('baseline (to a second before the first fault), fault and recovery from the applied/removed times; recovery cut at the next fault and the end', () => {
    const ph = derivePhases(s(0), s(60), [fault('a', 10, 20), fault('b', 25, 40)], 10);
    expect(ph.map((p) => [p.id, (p.startMs - T0) / 1000, (p.endMs - T0) / 1000])).toEqual([
      ['baseline', 0, 9], ['fault:a', 10, 20], ['recovery:a', 20, 25], ['fault:b', 25, 40], ['recovery:b', 40, 50],
    ]);
    expect(phasesMatching('fault:*', ph).map((p) => p.id)).toEqual(['fault:a', 'fault:b']);
  });

  it('a fault never applied has no phase', () => {
    const ph = derivePhases(s(0), s(30), [{ ...fault('a', 10, 20), appliedAtMs: undefined, removedAtMs: undefined }], 10);
    expect(ph.map((p) => p.id)).toEqual(['baseline']);
  });
});

describe('threshold', () => {
  const p = pipelineWith(phases, [
    { metric: 'sc_attempt', tags: { probe: 'send' }, kind: 'counter', value: (t) => (Math.abs(t % 1) < 0.05 ? 1 : null) },
    { metric: 'sc_probe_duration', tags: { probe: 'send' }, kind: 'trend', value: (t) => (Math.abs(t % 1) < 0.05 ? (t >= 20 && t < 35 ? 3000 : 20) : null) },
    { metric: 'sc_attempt', tags: { probe: 'upload' }, kind: 'counter', value: (t) => (t < 40 && Math.abs(t % 1) < 0.05 ? 1 : null) },
    { metric: 'sc_upload_minio_failures', kind: 'counter', value: () => null },
  ], 60);
  const send = { metric: 'sc_probe_duration', tags: { probe: 'send' } };

  it('PASS in the baseline, FAIL in the fault phase, with the observed value and the attempts', () => {
    expect(evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'baseline', select: send, stat: 'p95', op: '<', value: 1000 }), input(p, phases, faults)).verdict).toBe('PASS');
    const during = evaluateHypothesis(h({ id: 'b', description: 'd', claims: ['X'], phase: 'fault:redis', select: send, stat: 'p(95)', op: '<', value: 1000 }), input(p, phases, faults));
    expect(during.verdict).toBe('FAIL');
    expect(during.evidence).toMatch(/fault:redis: p\(95\) = 30\d\d over 15 samples, 15 attempts/);
  });

  it('fewer attempts than minAttempts (default 10) → INCONCLUSIVE, whatever the numbers', () => {
    const r = evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'fault:redis', select: send, stat: 'p95', op: '<', value: 1000, minAttempts: 20 }), input(p, phases, faults));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/15 attempts of sc_attempt\{probe=send\} \(need 20\)/);
  });

  it('a counter with no sample: 0 when its attempts were made, INCONCLUSIVE when none were (no emitted zeros needed, none accepted)', () => {
    const q = { id: 'b', description: 'd', claims: ['X'], select: { metric: 'sc_upload_minio_failures' }, stat: 'sum', op: '<=', value: 4, attempts: { metric: 'sc_attempt', tags: { probe: 'upload' } } };
    expect(evaluateHypothesis(h({ ...q, phase: 'fault:redis' }), input(p, phases, faults))).toMatchObject({ verdict: 'PASS', observed: 0 });
    const noAttempts = evaluateHypothesis(h({ ...q, phase: 'recovery:redis' }), input(p, phases, faults));
    expect(noAttempts.verdict).toBe('INCONCLUSIVE');
    expect(noAttempts.evidence).toMatch(/5 attempts|0 attempts/);
  });

  it('a missing phase, or a fault that did not land (calibration), → INCONCLUSIVE even when the numbers would FAIL', () => {
    expect(evaluateHypothesis(h({ id: 'a', description: 'd', claims: ['X'], phase: 'fault:other', select: send, stat: 'p95', op: '<', value: 1 }), input(p, phases, faults)).verdict).toBe('INCONCLUSIVE');
    const r = evaluateHypothesis(h({ id: 'b', description: 'd', claims: ['X'], phase: 'fault:redis', select: send, stat: 'p95', op: '<', value: 1000 }),
      input(p, phases, faults, { calibration: [{ faultId: 'redis', selector: { metric: 'm' }, label: 'm', expected: 'x', observed: 0, ok: false, detail: 'no connection' }] }));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/did not measurably land/);
  });
});

describe('outcomes', () => {
  const inFault = (t: number) => t >= 20 && t < 35;

  it('a revoked token answered 429 is not "refused as revoked": the 429s are counted and the check FAILs', () => {
    const p = pipelineWith(phases, probe('revoked', (t) => (inFault(t) && t < 25 ? 'throttled' : 'refused-revoked')), 60, 0.5);
    const r = evaluateHypothesis(h({ kind: 'outcomes', id: 'r', description: 'd', claims: ['X'], phase: 'fault:redis', probe: 'revoked', accept: ['refused-revoked'] }), input(p, phases, faults));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/20\/30 revoked attempts accepted/);
    expect(r.evidence).toMatch(/throttled 10/);
  });

  it('attempts that never got an answer are hangs, counted in the phase where they started', () => {
    const p = pipelineWith(phases, probe('send', (t) => (inFault(t) && t > 33 ? null : 'served')), 60, 0.5);
    const r = evaluateHypothesis(h({ kind: 'outcomes', id: 'n', description: 'd', claims: ['X'], phase: 'fault:redis', probe: 'send', accept: ['served', 'fast-clear-error'] }), input(p, phases, faults));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/hang 3/);
    expect(r.evidence).toMatch(/3 never answered/);
  });

  it('an attempt the end of the run cut off (no time left to answer) is neither a hang nor counted', () => {
    const ph = derivePhases(s(0), s(59), faults, 30);
    const p = pipelineWith(ph, probe('send', (t) => (t > 58 ? null : 'served')), 59, 0.5);
    const r = evaluateHypothesis(h({ kind: 'outcomes', id: 'n', description: 'd', claims: ['X'], phase: 'recovery:redis', probe: 'send', accept: ['served'] }), input(p, ph, faults, { runEndMs: s(59) }));
    expect(r.verdict).toBe('PASS');
    expect(r.evidence).toMatch(/1 cut off by the end of the run, not counted/);
  });

  it('too few attempts → INCONCLUSIVE; every attempt accepted → PASS', () => {
    const p = pipelineWith(phases, probe('login', () => 'served'), 60, 2);
    expect(evaluateHypothesis(h({ kind: 'outcomes', id: 'l', description: 'd', claims: ['X'], phase: 'fault:redis', probe: 'login', accept: ['served'] }), input(p, phases, faults)).verdict).toBe('INCONCLUSIVE');
    const q = pipelineWith(phases, probe('login', () => 'served'), 60, 0.5);
    expect(evaluateHypothesis(h({ kind: 'outcomes', id: 'l', description: 'd', claims: ['X'], phase: 'fault:redis', probe: 'login', accept: ['served'] }), input(q, phases, faults))).toMatchObject({ verdict: 'PASS', observed: 1 });
  });
});

describe('roles: a precondition gates its checks', () => {
  // Baseline requirements are another rule (tested below): left out here.
  const claims = loadClaims().map((c) => ({ ...c, requires: [] }));
  // The revoked probe is broken from the start (every answer a 429) and the target accepts it during the fault.
  const broken = pipelineWith(phases, probe('revoked', (t) => (inFault(t) ? 'served' : 'throttled')), 60, 0.5);
  const working = pipelineWith(phases, probe('revoked', (t) => (inFault(t) ? 'served' : 'refused-revoked')), 60, 0.5);
  function inFault(t: number) { return t >= 20 && t < 35; }
  const hs = [
    h({ kind: 'outcomes', role: 'precondition', id: 'revoked-before', description: 'd', claims: ['REDIS-REVOCATION'], phase: 'baseline', probe: 'revoked', accept: ['refused-revoked'] }),
    h({ kind: 'outcomes', id: 'revoked-during', description: 'd', claims: ['REDIS-REVOCATION'], phase: 'fault:redis', probe: 'revoked', accept: ['refused-revoked'] }),
  ];

  it('a broken probe never satisfies an expected FAIL: the check and the claim are INCONCLUSIVE, naming the precondition', () => {
    const rs = evaluateHypotheses(hs, input(broken, phases, faults), claims, 'audited');
    expect(rs[0]).toMatchObject({ verdict: 'FAIL', role: 'precondition', expectedVerdict: 'PASS', asExpected: false });
    expect(rs[1]).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['revoked-before'] });
    expect(rs[1]!.evidence).toMatch(/precondition revoked-before FAIL.*throttled/);
    const [c] = evaluateClaims(claims, rs, 'audited');
    expect(c).toMatchObject({ id: 'REDIS-REVOCATION', verdict: 'INCONCLUSIVE', expected: 'FAIL', asExpected: false });
  });

  it('with a working probe the same fault phase FAILs the claim, as the audit says', () => {
    const rs = evaluateHypotheses(hs, input(working, phases, faults), claims, 'audited');
    expect(rs.map((r) => r.verdict)).toEqual(['PASS', 'FAIL']);
    expect(evaluateClaims(claims, rs, 'audited')[0]).toMatchObject({ verdict: 'FAIL', asExpected: true });
    expect(evaluateClaims(claims, rs, 'hardened')[0]).toMatchObject({ verdict: 'FAIL', expected: 'PASS', asExpected: false });
    expect(evaluateClaims(claims, rs, undefined)[0]).toMatchObject({ expected: null, asExpected: true });
  });

  it('worst verdict wins; no check at all is INCONCLUSIVE', () => {
    expect(worst(['PASS', 'INCONCLUSIVE'])).toBe('INCONCLUSIVE');
    expect(worst(['INCONCLUSIVE', 'FAIL', 'PASS'])).toBe('FAIL');
    expect(worst([])).toBe('INCONCLUSIVE');
    const onlyPre = evaluateHypotheses([hs[0]!], input(working, phases, faults), claims, 'audited');
    expect(evaluateClaims(claims, onlyPre, 'audited')[0]).toMatchObject({ verdict: 'INCONCLUSIVE', reason: 'no check decides this claim' });
  });
});

describe('evidence from setup: a probe that could not set up proves nothing', () => {
  const claims = loadClaims();
  const p = pipelineWith(phases, probe('revoked', (t) => (t >= 20 && t < 35 ? 'served' : 'refused-revoked'), [{ metric: 'sc_probe_duration', tags: { probe: 'send' }, kind: 'trend', value: () => 100 }]), 60, 0.5);
  const hs = [
    h({ kind: 'outcomes', role: 'precondition', id: 'revoked-before', description: 'd', claims: ['REDIS-REVOCATION'], phase: 'baseline', probe: 'revoked', accept: ['refused-revoked'] }),
    h({ kind: 'outcomes', id: 'revoked-during', description: 'd', claims: ['REDIS-REVOCATION'], phase: 'fault:redis', probe: 'revoked', accept: ['refused-revoked'] }),
    h({ kind: 'threshold', id: 'send-fast', description: 'd', claims: ['CASSANDRA-FAIL-FAST'], phase: 'baseline', select: { metric: 'sc_probe_duration', tags: { probe: 'send' } }, stat: 'p95', op: '<', value: 1000, unit: 'ms', minAttempts: 1, attempts: { metric: 'sc_attempt', tags: { probe: 'revoked' } } }),
  ];

  it('its checks and preconditions are INCONCLUSIVE with the setup\'s reason; the other probes\' are judged', () => {
    const rs = evaluateHypotheses(hs, input(p, phases, faults, { setupFailures: { revoked: 'no public path revokes a token: POST /v1/auth/logout answered 500' } }), claims, 'as-built');
    expect(rs[0]).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['setup:revoked'] });
    expect(rs[1]).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['setup:revoked'] });
    expect(rs[1]!.evidence).toMatch(/the revoked probe could not set up: no public path revokes a token/);
    // Reading another probe's attempts ties it to that probe too.
    expect(rs[2]!.gatedBy).toEqual(['setup:revoked']);
    const ok = evaluateHypotheses(hs, input(p, phases, faults, { setupFailures: { send: 'x' } }), claims, 'audited');
    expect(ok.slice(0, 2).map((r) => r.verdict)).toEqual(['PASS', 'FAIL']);
  });

  it('ignored classes leave the attempts: a 429 says nothing about an origin check', () => {
    const q = pipelineWith(phases, probe('ws_origin', (t) => (t >= 20 && t < 28 ? 'throttled' : 'refused-origin')), 60, 0.5);
    const base = { kind: 'outcomes', id: 'o', description: 'd', claims: ['WS-ORIGIN'], phase: 'fault:redis', probe: 'ws_origin', accept: ['refused-origin'] };
    expect(evaluateHypothesis(h(base), input(q, phases, faults)).verdict).toBe('FAIL');
    const r = evaluateHypothesis(h({ ...base, ignore: ['throttled'] }), input(q, phases, faults));
    expect(r).toMatchObject({ verdict: 'PASS', observed: 1 });
    expect(r.evidence).toMatch(/14\/14 .*16 throttled left out/);
    // Nothing left but ignored answers: no evidence.
    const all = pipelineWith(phases, probe('ws_origin', () => 'throttled'), 60, 0.5);
    expect(evaluateHypothesis(h({ ...base, ignore: ['throttled'] }), input(all, phases, faults)).verdict).toBe('INCONCLUSIVE');
  });
});

describe('claims: baseline requirements and the audit\'s text', () => {
  const claims = loadClaims();
  const result = (id: string, claim: string, verdict: 'PASS' | 'FAIL' | 'INCONCLUSIVE') => ({ id, description: 'd', role: 'check' as const, phase: 'baseline', claims: [claim], verdict, observed: null, expected: 'x', evidence: `${id} measured`, expectedVerdict: null, asExpected: true });

  it('a fault claim whose baseline claim FAILs is INCONCLUSIVE, naming it, with what its own checks measured', () => {
    const rs = [result('login-baseline', 'LOGIN', 'FAIL'), result('login-during', 'REDIS-LOGIN', 'FAIL')];
    const cs = evaluateClaims(claims, rs, 'as-built', 'redis-outage');
    expect(cs.find((c) => c.id === 'LOGIN')).toMatchObject({ verdict: 'FAIL', expected: 'FAIL', asExpected: true, kind: 'baseline' });
    const rl = cs.find((c) => c.id === 'REDIS-LOGIN')!;
    expect(rl).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['LOGIN'], expected: 'INCONCLUSIVE', asExpected: true });
    expect(rl.reason).toMatch(/^requires LOGIN is FAIL here \(login-baseline: login-baseline measured\).*its checks measured: login-during: login-during measured/);
    // With login working, the same checks decide.
    const ok = evaluateClaims(claims, [result('login-baseline', 'LOGIN', 'PASS'), result('login-during', 'REDIS-LOGIN', 'FAIL')], 'audited');
    expect(ok.find((c) => c.id === 'REDIS-LOGIN')).toMatchObject({ verdict: 'FAIL', expected: 'PASS', asExpected: false });
    // A requirement never checked in the run is no evidence either.
    expect(evaluateClaims(claims, [result('login-during', 'REDIS-LOGIN', 'PASS')], 'audited')[0]).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['LOGIN'] });
  });

  it('a decided verdict that differs from the audit\'s text is marked; an experiment may override the expectation', () => {
    const cs = evaluateClaims(claims, [result('deliver', 'DELIVERY', 'PASS'), result('d', 'REDIS-CHAT', 'FAIL'), result('w', 'WS-SATURATION', 'FAIL')], 'as-built');
    expect(cs.find((c) => c.id === 'REDIS-CHAT')).toMatchObject({ contradictsAudit: true, audit: { verdict: 'PASS' } });
    expect(cs.find((c) => c.id === 'WS-SATURATION')).toMatchObject({ contradictsAudit: false });
    const loss = (exp?: string) => evaluateClaims(claims, [result('deliver', 'DELIVERY', 'PASS'), result('n', 'NO-MESSAGE-LOSS', 'INCONCLUSIVE')], 'as-built', exp).find((c) => c.id === 'NO-MESSAGE-LOSS')!;
    expect(loss('recovery')).toMatchObject({ expected: 'INCONCLUSIVE', asExpected: true, contradictsAudit: false });
    expect(loss('soak-chaos')).toMatchObject({ expected: 'FAIL', asExpected: false });
  });
});

describe('recovers', () => {
  const sel = { metric: 'sc_probe_duration', tags: { probe: 'send' } };
  const lat = (f: (t: number) => number) => pipelineWith(phases, [
    { metric: 'sc_attempt', tags: { probe: 'send' }, kind: 'counter', value: () => 1 },
    { metric: 'sc_probe_duration', tags: { probe: 'send' }, kind: 'trend', value: f },
  ], 60, 0.2);
  const rec = (x: Record<string, unknown> = {}) => h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: 'redis', select: sel, stat: 'p95', withinS: 10, windowS: 2, ...x });

  it('back within the stated time and staying back → PASS with the seconds it took; a stricter time → FAIL', () => {
    const p = lat((t) => (t >= 20 && t < 38 ? 3000 : 20));
    const ok = evaluateHypothesis(rec(), input(p, phases, faults));
    expect(ok).toMatchObject({ verdict: 'PASS', observed: 3 });
    expect(evaluateHypothesis(rec({ withinS: 2 }), input(p, phases, faults)).verdict).toBe('FAIL');
  });

  it('a relapse after the first good window → FAIL, naming the window', () => {
    const p = lat((t) => ((t >= 20 && t < 37) || (t >= 44 && t < 47) ? 3000 : 20));
    const r = evaluateHypothesis(rec(), input(p, phases, faults));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/back after 2 s, then relapsed in \[\+\d+ s, \+\d+ s\)/);
  });

  it('one noisy window is not a relapse; the seconds before a next fault are left out (they feel that fault)', () => {
    expect(evaluateHypothesis(rec(), input(lat((t) => ((t >= 20 && t < 37) || (t >= 44 && t < 45) ? 3000 : 20)), phases, faults)).verdict).toBe('PASS');
    const two = [fault('redis', 20, 35), fault('next', 45, 55)];
    const ph = derivePhases(s(0), s(60), two, 15);
    const p = lat((t) => ((t >= 20 && t < 37) || t >= 42 ? 3000 : 20));
    expect(evaluateHypothesis(rec(), input(p, ph, two)).verdict).toBe('PASS');
  });

  it('no applied fault, or a baseline that is zero, → INCONCLUSIVE (never the vacuous PASS)', () => {
    const p = lat(() => 20);
    const star = h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: '*', select: sel, stat: 'p95', withinS: 10 });
    const none = evaluateHypothesis(star, input(p, derivePhases(s(0), s(60), [], 15), [], { removedAtMs: {} }));
    expect(none.verdict).toBe('INCONCLUSIVE');
    expect(none.evidence).toMatch(/no fault was applied/);
    const okSel = { metric: 'sc_probe_ok', tags: { probe: 'send' } };
    const zero = pipelineWith(phases, [
      { metric: 'sc_attempt', tags: { probe: 'send' }, kind: 'counter', value: () => 1 },
      { metric: 'sc_probe_ok', tags: { probe: 'send' }, kind: 'rate', value: () => 0 },
    ], 60, 0.5);
    const r = evaluateHypothesis(h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: 'redis', select: okSel, stat: 'rate', withinS: 10 }), input(zero, phases, faults));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/never worked before the fault/);
  });

  it('never back → FAIL', () => {
    const p = pipelineWith(phases, [{ metric: 'sc_probe_ok', kind: 'rate', value: (t) => (t >= 20 ? 0 : 1) }], 60);
    const r = evaluateHypothesis(h({ kind: 'recovers', id: 'r', description: 'd', claims: ['X'], fault: '*', select: { metric: 'sc_probe_ok' }, stat: 'rate', withinS: 15 }), input(p, phases, faults));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/not back within 15 s/);
  });

  it('not back when the run ends, sooner than the time the check allows → INCONCLUSIVE, never FAIL', () => {
    // The fault is removed at 35 s; the run ends at 42 s, 7 s later, with the check allowing 10.
    const p = lat((t) => (t >= 20 ? 3000 : 20));
    const short = derivePhases(s(0), s(42), faults, 15);
    const r = evaluateHypothesis(rec(), input(p, short, faults, { runEndMs: s(42) }));
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.evidence).toMatch(/not back when the run ended 7 s after the removal, before the 10 s the check allows/);
    // The same, with the run long enough to see the 10 s: FAIL.
    expect(evaluateHypothesis(rec(), input(p, phases, faults)).verdict).toBe('FAIL');
  });
});

describe('nothing-lost', () => {
  const recipients = Array.from({ length: 10 }, (_, i) => `user-${i}`);
  /** n messages sent one every 0.5 s from `from` s, each delivered to every recipient unless `skip` says so. */
  function run(n: number, from: number, o: { acked?: (i: number) => boolean; stored?: (i: number) => boolean; skip?: (i: number, r: string) => boolean } = {}): FanoutData {
    const sent: SentRecord[] = [];
    const deliveries: { recipient: string; client_message_id: string; seq: number; sender: string; conversation_id: string }[] = [];
    const history: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `m-${i}`;
      const acked = o.acked ? o.acked(i) : true;
      sent.push({ client_message_id: id, seq: i, sender: 'vu1', acked, conversation_id: 'c', via: 'ws', sent_at: s(from + i * 0.5), outcome: acked ? 'acked' : 'hung' });
      if (o.stored ? o.stored(i) : acked) history.push(id);
      for (const r of recipients) if (!o.skip?.(i, r) && (acked || (o.stored?.(i) ?? false))) deliveries.push({ recipient: r, client_message_id: id, seq: i, sender: 'vu1', conversation_id: 'c' });
    }
    return { log: { setup: { conversation_id: 'c', recipients }, setups: [{ conversation_id: 'c', recipients }], sent, deliveries }, history: { c: history } };
  }
  const hyp = h({ kind: 'nothing-lost', id: 'n', description: 'd', claims: ['X'], workload: 'chat' });
  const p = pipelineWith(phases, [], 60);

  it('detection power: 149 deliveries see 2 % loss with 95 % probability', () => {
    expect(deliveriesNeeded(0.02, 0.95)).toBe(149);
    expect(1 - 0.98 ** 149).toBeGreaterThanOrEqual(0.95);
    expect(1 - 0.98 ** 148).toBeLessThan(0.95);
  });

  it('per fault phase: a clean phase with enough deliveries PASSes; too few → INCONCLUSIVE naming the number needed', () => {
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: run(20, 21) } })).verdict).toBe('PASS');
    const few = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: run(10, 21) } }));
    expect(few.verdict).toBe('INCONCLUSIVE');
    expect(few.evidence).toMatch(/only 100 deliveries were due.*149 are needed/);
    // Messages sent outside the fault do not count for it.
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: run(40, 40) } })).verdict).toBe('INCONCLUSIVE');
  });

  it('a lost delivery FAILs; so does a message stored without an ack and never delivered (the socket ack is the echo)', () => {
    const lost = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: run(20, 21, { skip: (i, r) => i === 3 && r === 'user-1' }) } }));
    expect(lost.verdict).toBe('FAIL');
    expect(lost.evidence).toMatch(/lost 1 \(m-3/);
    const silent = run(20, 21, { acked: (i) => i !== 5, stored: () => true, skip: (i) => i === 5 });
    const r = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: silent } }));
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/lost 10 \(m-5/);
    expect(r.evidence).toMatch(/1 stored without an ack/);
  });

  it('history unreadable (GET /v1/messages 500): a loss still FAILs; clean deliveries are INCONCLUSIVE (half the check)', () => {
    const noHistory = (d: FanoutData): FanoutData => ({ log: d.log, historyError: 'history: GET /v1/messages answered HTTP 500' });
    const lost = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: noHistory(run(20, 21, { skip: (i) => i === 3 })) } }));
    expect(lost.verdict).toBe('FAIL');
    expect(lost.evidence).toMatch(/lost 10 .*history not checked: history: GET \/v1\/messages answered HTTP 500/);
    const clean = evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: noHistory(run(20, 21)) } }));
    expect(clean.verdict).toBe('INCONCLUSIVE');
    expect(clean.evidence).toMatch(/200\/200 deliveries.*history not checked/);
  });

  it('a fault that did not land, or no record, → INCONCLUSIVE', () => {
    const cal = [{ faultId: 'redis', selector: { metric: 'm' }, label: 'm', expected: 'x', observed: 0, ok: false, detail: 'not on path' }];
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { calibration: cal, fanout: { chat: run(20, 21) } })).verdict).toBe('INCONCLUSIVE');
    expect(evaluateHypothesis(hyp, input(p, phases, faults, { fanout: { chat: { error: 'setup failed' } } })).verdict).toBe('INCONCLUSIVE');
  });
});

describe('calibration', () => {
  it('a 150 ms toxic calibrates when the path delta is within ±10 %; the target\'s own processes must hold connections through the proxy', () => {
    const rec = fault('slow', 10, 20, { name: 'postgres-slow', target: 'postgres', params: { latencyMs: 150 }, expectedLatencyMs: 150 });
    const ph = derivePhases(s(0), s(30), [rec], 10);
    const whole = (t: number) => Math.abs(t - Math.round(t)) < 0.05;
    const mk = (added: number, conns: number) => pipelineWith(ph, [
      { metric: 'sc_path_rtt', tags: { dep: 'postgres' }, kind: 'trend', value: (t) => (whole(t) ? (t >= 10 && t < 20 ? 2 + added : 2) : null) },
      { metric: 'sc_target_connections', tags: { proxy: 'postgres' }, kind: 'trend', value: (t) => (whole(t) ? conns : null) },
    ], 30);
    const cal = (p: ResultPipeline) => calibrate({ records: [rec], source: p, exposure: 'processes', runStartMs: s(0) });
    const good = cal(mk(152, 3));
    expect(good.every((c) => c.ok)).toBe(true);
    expect(good.find((c) => c.label.startsWith('sc_path_rtt'))!.observed).toBeCloseTo(152, 0);
    expect(cal(mk(60, 3)).find((c) => c.label.startsWith('sc_path_rtt'))!.ok).toBe(false);
    const unused = cal(mk(150, 0)).find((c) => c.label.startsWith('sc_target_connections'))!;
    expect(unused.ok).toBe(false);
    expect(unused.detail).toMatch(/not on the target's path/);
  });

  it('external targets: the proxy\'s byte counter must move between the run\'s start and the fault\'s end', () => {
    const rec = fault('redis', 10, 20);
    const ph = derivePhases(s(0), s(30), [rec], 10);
    const mk = (bytes: (t: number) => number) => pipelineWith(ph, [{ metric: 'sc_proxy_bytes', tags: { proxy: 'redis' }, kind: 'trend', value: (t) => (Math.abs(t - Math.round(t)) < 0.05 ? bytes(t) : null) }], 30);
    const cal = (p: ResultPipeline) => calibrate({ records: [rec], source: p, exposure: 'proxy-counters', runStartMs: s(0) }).find((c) => c.label.startsWith('sc_proxy_bytes'))!;
    expect(cal(mk((t) => (t >= 10 ? 5000 : 100))).ok).toBe(true);
    const still = cal(mk(() => 100));
    expect(still.ok).toBe(false);
    expect(still.detail).toMatch(/not on the target's path/);
  });
});

describe('CALL-UNDER-FAULTS as soak-chaos checks it', () => {
  it('a call whose media never flowed (no SFU extension, a browser that cannot reach the target) is INCONCLUSIVE, not FAIL; one that stalls in the fault FAILs; one that flows PASSes', async () => {
    const { loadExperiment } = await import('../../src/experiment/load.js');
    const e = await loadExperiment('soak-chaos');
    const hs = e.hypotheses.filter((x) => x.claims.includes('CALL-UNDER-FAULTS') && !/cassandra|minio/.test(x.id));
    const claims = loadClaims();
    // Six remote video tracks (3 participants) polled once a second (one series per track, the selectors' tags); per-stream summaries at the end.
    const call = (fps: (t: number) => number | null): Series[] => Array.from({ length: 6 }, (): Series[] => [
      { metric: 'sc_video_fps', tags: { workload: 'call' }, kind: 'trend', value: fps },
      { metric: 'sc_video_stream_fps', tags: { workload: 'call', stage: 'full' }, kind: 'trend', value: (t) => (t === 59 ? (fps(t) ?? 0) : null) },
      { metric: 'sc_video_stream_frozen', tags: { workload: 'call', stage: 'full' }, kind: 'trend', value: (t) => (t === 59 ? (fps(t) === null ? 1 : 0) : null) },
    ]).flat();
    const verdictOf = (fps: (t: number) => number | null) => {
      const rs = evaluateHypotheses(hs, input(pipelineWith(phases, call(fps), 60, 1), phases, faults), claims, 'audited', 'soak-chaos');
      return evaluateClaims(claims, rs, 'audited', 'soak-chaos').find((c) => c.id === 'CALL-UNDER-FAULTS')!;
    };
    expect(verdictOf(() => null).verdict).toBe('INCONCLUSIVE');
    expect(verdictOf((t) => (t >= 20 && t < 35 ? 0 : 15)).verdict).toBe('FAIL');
    expect(verdictOf(() => 15).verdict).toBe('PASS');
  });
});
