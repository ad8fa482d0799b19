import { describe, expect, it } from 'vitest';
import { cycleCount, expandSchedule, isCycleOf, jitterShare, scheduleProblems } from '../../src/experiment/schedule.js';
import { checkExperiment, type ExperimentInput } from '../../src/experiment/spec.js';
import { scaleExperiment } from '../../src/experiment/load.js';
import { derivePhases, phasesMatching } from '../../src/experiment/phases.js';
import { FaultTimeline } from '../../src/experiment/timeline.js';
import { evaluateRecovers } from '../../src/verdicts/kinds/recovers.js';
import type { CheckResult, Fault, FaultContext } from '../../chaos/index.js';
import type { FaultRecord, SeriesSelector, Stats } from '../../src/results/model.js';
import type { StatsSource } from '../../src/verdicts/common.js';

const base = (faults: unknown[], durationS: number | string = 600): ExperimentInput => ({
  name: 'soak', description: 'd', target: { kind: 'embedded' }, durationS,
  workloads: [{ id: 'p', scenario: 'probes' }],
  faults,
  hypotheses: [{ kind: 'outcomes', id: 'login', description: 'd', claims: ['X'], phase: 'fault:redis', probe: 'login', accept: ['served'] }],
} as unknown as ExperimentInput);

describe('repeating fault schedules', () => {
  it('a fault with everyS repeats until the load ends; its first cycle keeps the id, the others are <id>#<n>', () => {
    const occ = expandSchedule([{ id: 'redis', startS: 20, durationS: 20, everyS: 120 }, { id: 'minio', startS: 80, durationS: 10 }], 600, 1);
    expect(occ.map((o) => [o.id, o.startS])).toEqual([['redis', 20], ['minio', 80], ['redis#2', 140], ['redis#3', 260], ['redis#4', 380], ['redis#5', 500]]);
    expect(occ.find((o) => o.id === 'redis#3')).toMatchObject({ entryId: 'redis', cycle: 3, durationS: 20 });
    // 500 + 20 = 520 ≤ 600 but 620 + 20 > 600: five cycles; an explicit count is taken as given.
    expect(cycleCount({ id: 'redis', startS: 20, durationS: 20, everyS: 120 }, 600)).toBe(5);
    expect(expandSchedule([{ id: 'redis', startS: 20, durationS: 20, everyS: 120, cycles: 2 }], 600, 1).map((o) => o.id)).toEqual(['redis', 'redis#2']);
  });

  it('jitter shifts each start later by less than jitterS, the same for the same seed, otherwise for another', () => {
    const entry = { id: 'redis', startS: 10, durationS: 5, everyS: 30, jitterS: 8 };
    const a = expandSchedule([entry], 600, 42);
    expect(a).toHaveLength(20);
    a.forEach((o, i) => {
      const nominal = 10 + i * 30;
      expect(o.startS).toBeGreaterThanOrEqual(nominal);
      expect(o.startS).toBeLessThan(nominal + 8);
    });
    expect(expandSchedule([entry], 600, 42)).toEqual(a);
    expect(expandSchedule([entry], 600, 43).map((o) => o.startS)).not.toEqual(a.map((o) => o.startS));
    // Spread over the whole range, not stuck at one end.
    const shares = Array.from({ length: 200 }, (_, i) => jitterShare(7, 'redis', i + 1));
    expect(Math.min(...shares)).toBeLessThan(0.1);
    expect(Math.max(...shares)).toBeGreaterThan(0.9);
  });

  it('refuses overlapping cycles, cycles without everyS, and cycles past the load, naming the field', () => {
    expect(scheduleProblems({ id: 'r', startS: 5, durationS: 20, everyS: 20 }, 600)).toEqual([['everyS', expect.stringMatching(/20 s would overlap the next cycle: .* everyS must be longer than 20 s/)]]);
    expect(scheduleProblems({ id: 'r', startS: 5, durationS: 20, everyS: 25, jitterS: 5 }, 600)[0]![1]).toMatch(/may start jitterS 5 s late, so everyS must be longer than 25 s/);
    expect(scheduleProblems({ id: 'r', startS: 5, durationS: 20, cycles: 3 }, 600)).toEqual([['cycles', expect.stringMatching(/give everyS/)]]);
    expect(scheduleProblems({ id: 'r', startS: 5, durationS: 20, everyS: 60, cycles: 20 }, 600)).toEqual([['cycles', expect.stringMatching(/20 cycles end at 1165 s, after the load \(durationS 600 s\): at most 10 fit/)]]);

    const c = checkExperiment(base([{ id: 'redis', fault: 'redis-outage', startS: '20s', durationS: '20s', everyS: '15s' }, { id: 'minio', fault: 'minio-down', startS: 30, durationS: 5, cycles: 2 }]), 'soak.yaml');
    expect(c.errors).toEqual([
      expect.stringMatching(/^soak\.yaml: faults\[0\]\.everyS: 15 s would overlap/),
      expect.stringMatching(/^soak\.yaml: faults\[1\]\.cycles: only a repeating fault has cycles/),
    ]);
    // `every` (the word people type) gets the field's real name.
    expect(checkExperiment(base([{ id: 'redis', fault: 'redis-outage', startS: 20, durationS: 20, every: '2m' }]), 'soak.yaml').errors.join('\n')).toMatch(/faults\[0\]\.every: unknown field; did you mean everyS\?/);
  });

  it('a hypothesis names every cycle with the entry id, or one cycle with <id>#<n> (only one that exists)', () => {
    const ok = checkExperiment(base([{ id: 'redis', fault: 'redis-outage', startS: '20s', durationS: '20s', everyS: '2m' }]));
    expect(ok.errors).toEqual([]);
    const one = base([{ id: 'redis', fault: 'redis-outage', startS: 20, durationS: 20, everyS: 120 }]) as unknown as { hypotheses: { phase: string }[] };
    one.hypotheses[0]!.phase = 'fault:redis#5';
    expect(checkExperiment(one).errors).toEqual([]);
    one.hypotheses[0]!.phase = 'fault:redis#6';
    expect(checkExperiment(one).errors.join('\n')).toMatch(/hypotheses\[0\]\.phase: no fault "redis#6" on the timeline/);

    const rec = (id: string, on: number, off: number): FaultRecord => ({ id, name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: on, plannedDurationS: off - on, appliedAtMs: on * 1000, removedAtMs: off * 1000, verified: true, verifyDetail: '', rolledBack: true });
    const phases = derivePhases(0, 600_000, [rec('redis', 20, 40), rec('redis#2', 140, 160), rec('redis-x', 70, 80)], 30);
    expect(phasesMatching('fault:redis', phases).map((p) => p.id)).toEqual(['fault:redis', 'fault:redis#2']);
    expect(phasesMatching('recovery:redis#2', phases).map((p) => [p.id, p.startMs, p.endMs])).toEqual([['recovery:redis#2', 160_000, 190_000]]);
    expect(isCycleOf('redis#12', 'redis')).toBe(true);
    expect(isCycleOf('redis-x', 'redis')).toBe(false);
  });

  it('recovers judges each cycle of the fault it names', () => {
    const removedAtMs = { redis: 40_000, 'redis#2': 160_000, 'redis#3': 280_000 };
    // Success rate 1 everywhere except the 10 s after the second cycle: that cycle alone does not come back in time.
    const rate = (from: number) => (from >= 160_000 && from < 185_000 ? 0.2 : 1);
    const stats = (v: number | null, count: number): Stats => (v === null ? { kind: 'counter', count, sum: count } : { kind: 'rate', count, rate: v, passes: v * count });
    const source: StatsSource = {
      stats: (sel: SeriesSelector) => (sel.metric === 'sc_attempt' ? stats(null, 100) : stats(1, 100)),
      windowStats: (sel: SeriesSelector, from: number) => (sel.metric === 'sc_attempt' ? stats(null, 20) : stats(rate(from), 20)),
    };
    const rec = (id: string, off: number): FaultRecord => ({ id, name: 'x', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: 0, plannedDurationS: 20, appliedAtMs: off - 20_000, removedAtMs: off, verified: true, verifyDetail: '', rolledBack: true });
    const phases = derivePhases(0, 400_000, Object.entries(removedAtMs).map(([id, off]) => rec(id, off)), 60);
    const r = evaluateRecovers({ kind: 'recovers', id: 'back', description: 'd', claims: ['X'], role: 'check', fault: 'redis', select: { metric: 'sc_probe_ok', tags: { probe: 'login' } }, stat: 'rate', withinS: 15, windowS: 3, factor: 1.5, minAttempts: 10 } as never, { source, phases, removedAtMs, calibration: [], runEndMs: 400_000 } as never);
    expect(r.verdict).toBe('FAIL');
    expect(r.evidence).toMatch(/^redis: back after 0 s.*; redis#2: not back within 15 s.*; redis#3: back after 0 s/);
  });

  it('--duration keeps a repeating fault\'s rhythm and fills the length with cycles; one-off faults stretch as before', () => {
    const c = checkExperiment(base([{ id: 'redis', fault: 'redis-outage', startS: 20, durationS: 20, everyS: 180 }, { id: 'minio', fault: 'minio-down', startS: 110, durationS: 20, everyS: 180, cycles: 1 }], 180));
    const e = c.experiment!;
    expect(expandSchedule(e.faults, e.durationS, 1).map((o) => o.id)).toEqual(['redis', 'minio']);
    const long = scaleExperiment(e, 7200);
    expect(long.recoveryS).toBe(e.recoveryS);
    expect(long.faults.map((f) => [f.startS, f.everyS, f.cycles])).toEqual([[20, 180, undefined], [110, 180, 1]]);
    expect(expandSchedule(long.faults, 7200, 1).filter((o) => o.entryId === 'redis')).toHaveLength(40);
    expect(checkExperiment(long).errors).toEqual([]);
    // Shorter than the first cycle: it scales like a one-off fault.
    const short = scaleExperiment(e, 90);
    expect(short.faults[1]).toMatchObject({ startS: 55, durationS: 20 });
    expect(short.faults[1]!.cycles).toBeUndefined();
  });
});

/** A fault that logs apply / rollback (a unit double: no lab). */
class LoggingFault implements Fault {
  readonly name = 'custom';
  readonly mechanism = 'toxiproxy' as const;
  readonly target = 'redis';
  readonly params = {};
  readonly events: string[] = [];
  constructor(readonly id: string, private readonly rollbackMs = 0) {}
  async apply(): Promise<void> { this.events.push('apply'); }
  async verify(): Promise<CheckResult> { return { ok: true, detail: 'ok' }; }
  async rollback(): Promise<CheckResult> {
    await new Promise((r) => setTimeout(r, this.rollbackMs));
    this.events.push('rollback');
    return { ok: true, detail: 'clean' };
  }
}

describe('the timeline plays cycles', () => {
  const rec = (id: string, startS: number, durationS: number): FaultRecord => ({ id, name: 'custom', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: startS, plannedDurationS: durationS, verified: false, verifyDetail: '', rolledBack: false });

  it('each cycle in turn, the next one waiting for the previous rollback; next() names what comes and when', async () => {
    // The rollback takes 300 ms, longer than the 100 ms gap: the second cycle is applied late, never on top of the first.
    const f = new LoggingFault('redis', 300);
    const tl = new FaultTimeline([
      { fault: f, record: rec('redis', 0.05, 0.2), startS: 0.05, durationS: 0.2 },
      { fault: f, record: rec('redis#2', 0.35, 0.2), startS: 0.35, durationS: 0.2 },
    ], { ctx: {} as FaultContext });
    const start = Date.now();
    const playing = tl.play(start, new AbortController().signal);
    expect(tl.next(start)).toEqual({ id: 'redis', inMs: 50 });
    await new Promise((r) => setTimeout(r, 150));
    expect(tl.next()?.id).toBe('redis#2');
    await playing;
    await tl.rollbackAll();
    expect(f.events).toEqual(['apply', 'rollback', 'apply', 'rollback']);
    const [a, b] = tl.records;
    expect(b!.appliedAtMs!).toBeGreaterThanOrEqual(a!.removedAtMs!);
    expect(b!.appliedAtMs! - b!.scheduledApplyMs!).toBeGreaterThan(100);
    expect(tl.next()).toBeUndefined();
  });
});
