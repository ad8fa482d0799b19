import { describe, expect, it } from 'vitest';
import { derivePhases } from '../../src/experiment/phases.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { loadClaims } from '../../src/experiment/claims.js';
import { evaluateClaims, evaluateHypotheses } from '../../src/verdicts/evaluate.js';
import { selectorsOf } from '../../src/verdicts/kinds/index.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import type { CalibrationResult, FaultRecord, Sample } from '../../src/results/model.js';
import { classifyLateJoin } from '../../src/media/late-join.js';
import { MediaFlow } from '../../src/media/media-flow.js';
import { VideoOptionsSchema } from '../../src/media/video-spec.js';

/**
 * TURN-OUTAGE's pure parts: a late joiner's outcome, media flow per pair, and the claim's verdicts from the
 * turn-outage experiment's own hypotheses over synthetic samples — FAIL, PASS, and INCONCLUSIVE when its evidence
 * is missing (media never flowed before the outage, the outage never reached the media, the fault did not land).
 */
describe('late join outcome', () => {
  const start = 1_000_000;
  it('a 503 with a clear body within the budget is fast-clear-error; after it, slow-error', () => {
    const answer = { status: 503, json: { error: { code: 'SERVICE_UNAVAILABLE', message: 'TURN_UNAVAILABLE' } }, durationMs: 1000, headers: { 'retry-after': '5' } };
    expect(classifyLateJoin({ startMs: start, refused: { answer, atMs: start + 1000 } }, 5000)).toEqual({ cls: 'fast-clear-error', how: 'refused', afterMs: 1000 });
    expect(classifyLateJoin({ startMs: start, refused: { answer, atMs: start + 6000 } }, 5000).cls).toBe('slow-error');
  });
  it('the turn_unavailable frame within the budget is fast-clear-error; the first thing that came decides', () => {
    expect(classifyLateJoin({ startMs: start, turnUnavailableAtMs: start + 1200, mediaAtMs: start + 9000 }, 5000)).toEqual({ cls: 'fast-clear-error', how: 'turn-unavailable', afterMs: 1200 });
    expect(classifyLateJoin({ startMs: start, turnUnavailableAtMs: start + 7000 }, 5000).cls).toBe('slow-error');
  });
  it('media within the budget is served; only after it, or nothing at all, a hang; ICE failing late a slow error', () => {
    expect(classifyLateJoin({ startMs: start, mediaAtMs: start + 1500 }, 5000).cls).toBe('served');
    expect(classifyLateJoin({ startMs: start, mediaAtMs: start + 8200 }, 5000)).toEqual({ cls: 'hang', how: 'media', afterMs: 8200 });
    expect(classifyLateJoin({ startMs: start }, 5000)).toEqual({ cls: 'hang', how: 'none', afterMs: null });
    expect(classifyLateJoin({ startMs: start, iceFailedAtMs: start + 15000 }, 5000).cls).toBe('slow-error');
    expect(classifyLateJoin({ startMs: start, iceFailedAtMs: start + 2000 }, 5000).cls).toBe('network-error');
  });
  it('a join refused with no answer is a network error, or a hang when it timed out', () => {
    expect(classifyLateJoin({ startMs: start, refused: { answer: { status: 0, json: null, durationMs: 15000, error: 'TimeoutError: timeout' }, atMs: start + 15000 } }, 5000).cls).toBe('hang');
    expect(classifyLateJoin({ startMs: start, refused: { answer: { status: 0, json: null, durationMs: 5, error: 'ECONNREFUSED' }, atMs: start + 5 } }, 5000).cls).toBe('network-error');
  });
});

describe('media flow per pair', () => {
  const decoded = (track: string, n: number): Sample => ({ metric: 'sc_video_frames_decoded', time: 0, value: n, tags: { track } });
  it('1 when the remote video decoded frames since the last poll, 0 else; an interruption written when it flows again', () => {
    const f = new MediaFlow();
    const at = (s: number) => 1_000_000 + s * 1000;
    const poll = (s: number, got: Sample[]) => f.poll('p1', at(s), ['p2', 'p3'], got, { stage: 'full' });
    expect(poll(0, [decoded('p2', 15)]).map((x) => [x.metric, x.tags.track, x.value])).toEqual([['sc_video_receiving', 'p2', 1], ['sc_video_receiving', 'p3', 0]]);
    poll(1, [decoded('p2', 15), decoded('p3', 14)]);
    poll(2, [decoded('p3', 0)]);
    poll(3, []);
    poll(4, []);
    const back = poll(5, [decoded('p2', 12), decoded('p3', 15)]);
    expect(back.filter((x) => x.metric === 'sc_video_interruption_ms').map((x) => [x.tags.track, x.value, x.time])).toEqual([['p2', 4000, at(5)], ['p3', 4000, at(5)]]);
    // One poll without frames is jitter, not an interruption.
    poll(6, [decoded('p3', 15)]);
    expect(poll(7, [decoded('p2', 15), decoded('p3', 15)]).filter((x) => x.metric === 'sc_video_interruption_ms')).toEqual([]);
  });
});

describe('lateJoin option', () => {
  it('is a mesh option, with its budget and watch defaults', () => {
    expect(VideoOptionsSchema.parse({ lateJoin: { atS: '12s' } }).lateJoin).toEqual({ count: 1, atS: 12, budgetS: 5, watchS: 20 });
    const r = VideoOptionsSchema.safeParse({ topology: 'sfu', lateJoin: { atS: 12 } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['lateJoin']);
  });
});

describe('TURN-OUTAGE from the turn-outage experiment\'s hypotheses', () => {
  const T0 = 1_800_000_000_000;
  const at = (s: number) => T0 + s * 1000;
  const END_S = 41;
  const fault: FaultRecord = { id: 'turn', name: 'turn-outage', mechanism: 'nft', target: 'turn', params: {}, plannedStartS: 9, plannedDurationS: 20, appliedAtMs: at(9), removedAtMs: at(29), verified: true, verifyDetail: 'ok', rolledBack: true };
  const phases = derivePhases(at(0), at(END_S), [fault], 12);
  const PAIRS = [['p1', 'p2'], ['p1', 'p3'], ['p2', 'p1'], ['p2', 'p3'], ['p3', 'p1'], ['p3', 'p2']] as const;

  interface Run {
    /** Whether media flows at second t in the mesh call (once it is full at 4 s)… */
    receiving: (t: number) => boolean;
    /** …and in the SFU call (default: as the mesh call). */
    sfu?: (t: number) => boolean;
    lateClass: string;
    calibration?: CalibrationResult[];
  }

  async function judge(r: Run) {
    const e = await loadExperiment('turn-outage');
    const claims = loadClaims();
    const p = new ResultPipeline({ phases, selectors: e.hypotheses.flatMap((h) => selectorsOf(h)), runStartMs: at(0), windowMs: 1000 });
    p.setMetricKind('sc_video_receiving', 'rate');
    p.setMetricKind('sc_ice_relay', 'rate');
    p.setMetricKind('sc_attempt', 'counter');
    p.setMetricKind('sc_outcome', 'counter');
    for (let t = 4; t < END_S; t++) {
      for (const [workload, flows] of [['call', r.receiving], ['sfu', r.sfu ?? r.receiving]] as const) {
        for (const [who, track] of PAIRS) {
          const tags = { workload, participant: who, track, stage: 'full' };
          p.add({ metric: 'sc_video_receiving', time: at(t), value: flows(t) ? 1 : 0, tags: { ...tags, kind: 'video' } });
          p.add({ metric: 'sc_ice_relay', time: at(t), value: 1, tags: { ...tags, kind: 'transport' } });
        }
      }
    }
    const late = { workload: 'call', participant: 'p4', stage: 'late', probe: 'video_join_late' };
    p.add({ metric: 'sc_attempt', time: at(12), value: 1, tags: late });
    p.add({ metric: 'sc_outcome', time: at(12), value: 1, tags: { ...late, class: r.lateClass } });
    const hs = evaluateHypotheses(e.hypotheses, { phases, source: p, calibration: r.calibration ?? [], fanout: {}, removedAtMs: { turn: fault.removedAtMs }, runEndMs: at(END_S) }, claims, 'audited', e.name);
    const claim = evaluateClaims(claims.filter((c) => c.experiments.includes(e.name)), hs, 'audited', e.name).find((c) => c.id === 'TURN-OUTAGE')!;
    return { claim: claim.verdict, v: Object.fromEntries(hs.map((h) => [h.id, h.verdict])), evidence: Object.fromEntries(hs.map((h) => [h.id, h.evidence])) };
  }

  const outage = (t: number) => t < 9 || t >= 31;

  it('PASS: a clear error for the joiner, media back in both calls 2 s after TURN', async () => {
    const r = await judge({ receiving: outage, lateClass: 'fast-clear-error' });
    expect(r.claim, JSON.stringify(r.evidence)).toBe('PASS');
    expect(r.v).toMatchObject({ 'join-clear-error-within-5s': 'PASS', 'call-recovery-within-10s': 'PASS', 'sfu-recovery-within-10s': 'PASS' });
  });

  it('FAIL: the joiner hangs (credentials handed out, ICE never connects); FAIL as well when one call\'s media never comes back', async () => {
    expect((await judge({ receiving: outage, lateClass: 'hang' })).claim).toBe('FAIL');
    const never = await judge({ receiving: outage, sfu: (t) => t < 9, lateClass: 'fast-clear-error' });
    expect(never.claim).toBe('FAIL');
    expect(never.v).toMatchObject({ 'call-recovery-within-10s': 'PASS', 'sfu-recovery-within-10s': 'FAIL' });
  });

  it('INCONCLUSIVE when media never flowed before the outage: the joiner\'s hang, the calls\' recovery prove nothing', async () => {
    const r = await judge({ receiving: (t) => t >= 31, lateClass: 'hang' });
    expect(r.v['call-media-flows-before']).toBe('FAIL');
    expect(r.claim).toBe('INCONCLUSIVE');
    expect(r.evidence['join-clear-error-within-5s']).toMatch(/call-media-flows-before/);
  });

  it('INCONCLUSIVE when the outage never reached the media (it kept flowing): the recovery proves nothing', async () => {
    const r = await judge({ receiving: () => true, lateClass: 'fast-clear-error' });
    expect(r.v).toMatchObject({ 'call-media-stops-during-outage': 'FAIL', 'call-recovery-within-10s': 'INCONCLUSIVE', 'sfu-recovery-within-10s': 'INCONCLUSIVE' });
    expect(r.claim).toBe('INCONCLUSIVE');
  });

  it('INCONCLUSIVE when the fault did not land (its calibration failed), whatever the joiner saw', async () => {
    const calibration: CalibrationResult[] = [{ faultId: 'turn', selector: { metric: 'fault_verify' }, label: 'turn verified', expected: 'the outage verified on the wire', observed: 0, ok: false, detail: '30/30 STUN bindings answered' }];
    const r = await judge({ receiving: outage, lateClass: 'hang', calibration });
    expect(r.claim).toBe('INCONCLUSIVE');
    expect(r.v['join-clear-error-within-5s']).toBe('INCONCLUSIVE');
  });
});
