import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BudgetError, loadBudgets, parseBudgets, sfuBenchBudgets, verifySources, type SfuBenchBudgets } from '../../src/k6/budgets.js';
import type { SfuStep } from '../../src/bench/sfu-step.js';
import { judgeStep, describeCrossed } from '../../src/bench/step-judgement.js';
import { KneeSearch, MAX_CONFIRMATIONS, findKnee, type KneeResult } from '../../src/bench/knee-search.js';
import { compareWithBaseline } from '../../src/bench/baseline.js';
import { verdictOf } from '../../src/bench/sfu-bench.js';

const budgets: SfuBenchBudgets = sfuBenchBudgets(loadBudgets());

/** A step of a conference of 4 (12 consumers a room) on an SFU whose worker costs `perConsumer` of its core per consumer. */
const step = (level: number, over: Partial<SfuStep> = {}): SfuStep => ({
  level, consumers: level * 12, workerCpu: 0.1, loss: 0.001, delayP50Ms: 2, delayP95Ms: 8, generatorCpu: 0.3, packets: 5000, silentConsumers: 0, ...over,
});

/**
 * A recorded-like SFU: CPU grows with consumers; past 85 % of its core queues build (delay) and past 95 % packets drop.
 * The generator costs `genPerConsumer` of its core per consumer.
 */
const sfu = (perConsumer: number, genPerConsumer = 0.002) => async (level: number): Promise<SfuStep> => {
  const consumers = level * 12;
  const cpu = Math.min(1, consumers * perConsumer);
  return {
    level, consumers, workerCpu: cpu,
    loss: cpu > 0.95 ? 0.04 : 0.002,
    delayP50Ms: 2 + (cpu > 0.85 ? 30 : 0),
    delayP95Ms: 6 + (cpu > 0.85 ? 80 : 0),
    generatorCpu: consumers * genPerConsumer,
    packets: consumers * 300,
    silentConsumers: 0,
  };
};

const PLAN = { levels: [1, 2, 4, 8, 16, 32] };

describe('the SFU benchmark budgets (fixtures/budgets.yaml benches.sfu)', () => {
  it('are loaded and validated: loss ≤ 1 %, forwarding delay p95 ≤ 50 ms, worker CPU ≤ 90 %; generator at most 70 %', () => {
    expect(budgets.knee.map((b) => `${b.metric} ${b.stat}${b.op}${b.value}`)).toEqual([
      'sc_sfu_receiver_loss rate<=0.01', 'sc_sfu_forward_delay p(95)<=50', 'sc_sfu_worker_cpu value<=0.9',
    ]);
    expect(budgets.generatorCpuMax).toBe(0.7);
    expect(budgets.baselineTolerance).toBeGreaterThan(0);
  });

  const file = (sfu: unknown) => JSON.stringify({ version: 1, scenarios: {}, benches: { sfu } });
  const kneeBudget = (over: Record<string, unknown> = {}) => ({
    metric: 'sc_sfu_receiver_loss', stat: 'rate', op: '<=', value: 0.01, unit: 'ratio',
    source: { file: '002_x.txt', line: 478, section: 's', quote: 'q' }, ...over,
  });
  it.each([
    ['a metric the step does not have', { knee: [kneeBudget({ metric: 'http_req_failed' })], generatorCpuMax: 0.7, baselineTolerance: 0.1 }, /benches\.sfu\.knee\[0\]\.metric: must be one of the SFU step's measurements/],
    ['a stat the metric does not have', { knee: [kneeBudget({ metric: 'sc_sfu_forward_delay', stat: 'p(99)', unit: 'ms', value: 50 })], generatorCpuMax: 0.7, baselineTolerance: 0.1 }, /benches\.sfu\.knee\[0\]\.stat: sc_sfu_forward_delay has p\(50\), p\(95\)/],
    ['a generator limit above one core', { knee: [kneeBudget()], generatorCpuMax: 1.5, baselineTolerance: 0.1 }, /benches\.sfu\.generatorCpuMax: must be a share of one core/],
    ['no knee budget', { knee: [], generatorCpuMax: 0.7, baselineTolerance: 0.1 }, /benches\.sfu\.knee: needs at least one budget/],
    ['a misspelt field', { knee: [kneeBudget()], generatorCpuMax: 0.7, baselineTolerence: 0.1 }, /benches\.sfu/],
  ])('refuse %s, naming the field', (_what, sfuDoc, message) => {
    expect(() => parseBudgets(file(sfuDoc), 'b.yaml')).toThrow(BudgetError);
    expect(() => parseBudgets(file(sfuDoc), 'b.yaml')).toThrow(message);
  });

  it('their audit quotes are checked like every budget\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-audit-'));
    writeFileSync(join(dir, '002_x.txt'), 'one\nq\n');
    const at = (line: number) => parseBudgets(file({ knee: [kneeBudget({ source: { file: '002_x.txt', line, section: 's', quote: 'q' } })], generatorCpuMax: 0.7, baselineTolerance: 0.1 }), 'b.yaml');
    expect(verifySources(at(2), dir)).toEqual([]);
    expect(verifySources(at(1), dir)).toEqual(['benches.sfu.knee[0]: 002_x.txt:1 does not read "q" (it reads "one")']);
  });

  it('a budgets file without them is named when the benchmark asks', () => {
    expect(() => sfuBenchBudgets(parseBudgets(file(undefined).replace(',"benches":{}', ''), 'b.yaml'), 'b.yaml')).toThrow(/b\.yaml: no benches\.sfu budgets/);
  });
});

describe('a step is judged: evidence first, then the knee budgets', () => {
  it('within every budget: good', () => {
    expect(judgeStep(step(1), budgets)).toEqual({ kind: 'good' });
  });

  it.each([
    ['loss above 1 %', { loss: 0.011 }, 'sc_sfu_receiver_loss rate 0.011 (budget <= 0.01)'],
    ['delay p95 above 50 ms', { delayP95Ms: 51 }, 'sc_sfu_forward_delay p(95) 51 (budget <= 50)'],
    ['worker CPU above 90 %', { workerCpu: 0.93 }, 'sc_sfu_worker_cpu value 0.93 (budget <= 0.9)'],
  ])('%s: past the knee, naming the budget and the value', (_what, over, says) => {
    const j = judgeStep(step(1, over), budgets);
    expect(j.kind).toBe('past-knee');
    expect(j.kind === 'past-knee' && describeCrossed(j.crossed)).toBe(says);
  });

  it('exactly at a limit is still within it', () => {
    expect(judgeStep(step(1, { loss: 0.01, delayP95Ms: 50, workerCpu: 0.9 }), budgets)).toEqual({ kind: 'good' });
  });

  it.each([
    ['the generator saturated, even with loss and delay past the knee', { generatorCpu: 0.85, loss: 0.2, delayP95Ms: 300 }, /generator saturated \(85 % of its core > 70 %\)/],
    ["the generator's CPU not measured", { generatorCpu: null }, /generator's CPU was not measured/],
    ['no media at all', { packets: 0, loss: 0 }, /no media arrived/],
    ['a consumer that got nothing', { silentConsumers: 2 }, /2 of 12 consumers received nothing/],
    ['fewer consumers set up than the level asks for (the SFU refused some), with everything else within budget', { consumers: 9, wantedConsumers: 12 }, /only 9 of the 12 consumers the level asks for were set up/],
    ['a measurement a budget needs missing', { delayP95Ms: null }, /sc_sfu_forward_delay p\(95\): not measured/],
    ['a measurement that is not a number', { workerCpu: Number.NaN }, /sc_sfu_worker_cpu value: not measured/],
    ['the SFU worker waited for its core (another process ran there), with the delay past the knee', { workerWait: 0.12, delayP95Ms: 90 }, /SFU worker waited for its core 12 % of the step \(> 5 %\): other work ran there/],
    ["the generator's event loop ran late, with the delay past the knee", { generatorLagP99Ms: 40, delayP95Ms: 90 }, /generator's event loop ran 40 ms late \(p99 > 25 ms\)/],
    ['rooms that could not join while the generator saturated', { roomsNotJoined: 2, generatorCpu: 0.9 }, /generator saturated/],
  ])('%s: INCONCLUSIVE', (_what, over, reason) => {
    const j = judgeStep(step(1, over), budgets);
    expect(j.kind).toBe('inconclusive');
    expect(j.kind === 'inconclusive' && j.reason).toMatch(reason);
  });
});

describe('a level whose rooms could not join', () => {
  it('is past the knee, whatever the rooms in place measured: the SFU stopped admitting participants', () => {
    const j = judgeStep(step(72, { roomsNotJoined: 1, errors: ['1 room could not join: ICE: no answer within 10000 ms'] }), budgets);
    expect(j).toEqual({ kind: 'past-knee', crossed: [{ metric: 'rooms not joined', stat: 'count', op: '==', limit: 0, value: 1 }] });
    expect(j.kind === 'past-knee' && describeCrossed(j.crossed)).toBe('rooms not joined count 1 (budget == 0)');
  });
});

describe('the knee search: step up to the first bad step, then bisect', () => {
  it('finds the knee and bisects to adjacent levels; capacity is the last good step\'s consumers', async () => {
    // 0.0025 of a core per consumer: 85 % at 340 consumers, i.e. level 28 is the last good one (336 consumers).
    const r = await findKnee(new KneeSearch(PLAN, budgets), sfu(0.0025, 0.0005));
    expect(r.status).toBe('knee');
    if (r.status !== 'knee') return;
    expect(r.steps.filter((s) => s.phase === 'step-up').map((s) => s.step.level)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(r.steps.filter((s) => s.phase === 'bisect').map((s) => s.step.level)).toEqual([24, 28, 30, 29]);
    expect(r.lastGood?.level).toBe(28);
    expect(r.firstBad.level).toBe(29);
    expect(r.capacity).toBe(336);
    expect(r.bisection).toEqual({ complete: true });
  });

  it('the same SFU at twice the cost per consumer (the seeded duplicate consumers) has about half the capacity', async () => {
    const base = await findKnee(new KneeSearch(PLAN, budgets), sfu(0.0025, 0.0005));
    const slow = await findKnee(new KneeSearch(PLAN, budgets), sfu(0.005, 0.0005));
    expect(slow.status === 'knee' && slow.capacity).toBe(168);
    expect(compareWithBaseline(slow, base, budgets.baselineTolerance)).toMatchObject({ verdict: 'FAIL', reason: expect.stringMatching(/168 consumers now, 336 in the baseline/) });
    expect(compareWithBaseline(base, base, budgets.baselineTolerance).verdict).toBe('PASS');
    expect(compareWithBaseline(base, slow, budgets.baselineTolerance).verdict).toBe('PASS');
  });

  it('a knee at the very first level bisects down to level 1, and below it the capacity is 0', async () => {
    const r = await findKnee(new KneeSearch({ levels: [4, 8] }, budgets), sfu(0.1));
    expect(r.steps.map((s) => s.step.level)).toEqual([4, 2, 1]);
    expect(r).toMatchObject({ status: 'knee', capacity: 0, lastGood: null, firstBad: { level: 1 } });
  });

  it('a generator that saturates before the SFU makes the search INCONCLUSIVE, never a knee, keeping the lower bound', async () => {
    // The generator costs 0.005 of its core a consumer: 70 % at 140 consumers, long before the SFU's knee.
    const r = await findKnee(new KneeSearch(PLAN, budgets), sfu(0.0025, 0.005));
    expect(r.status).toBe('inconclusive');
    if (r.status !== 'inconclusive') return;
    expect(r.reason).toMatch(/^level 16 \(192 consumers\): the generator saturated/);
    expect(r.atLeast).toBe(96);
    expect(r.steps.map((s) => s.step.level)).toEqual([1, 2, 4, 8, 16]);
  });

  it('a saturated generator during the bisection stops it: the knee stands within the wider bracket, said so', async () => {
    const measure = sfu(0.0025, 0.0005);
    const r = await findKnee(new KneeSearch(PLAN, budgets), async (level) => ({ ...(await measure(level)), ...(level === 28 ? { generatorCpu: 0.9 } : {}) }));
    expect(r).toMatchObject({ status: 'knee', capacity: 288, lastGood: { level: 24 }, firstBad: { level: 32 } });
    expect(r.status === 'knee' && r.bisection).toEqual({ complete: false, reason: expect.stringMatching(/^level 28 \(336 consumers\): the generator saturated/) });
  });

  it('every level within the budgets: no knee, capacity at least the last step', async () => {
    const r = await findKnee(new KneeSearch({ levels: [1, 2, 3] }, budgets), sfu(0.001));
    expect(r).toMatchObject({ status: 'no-knee', atLeast: 36 });
  });

  it('recorded steps are checked against what was asked; a bad plan is refused', () => {
    const s = new KneeSearch(PLAN, budgets);
    expect(s.next()).toBe(1);
    expect(s.next()).toBe(1);
    expect(() => s.record(step(2))).toThrow(/recorded level 2, asked 1/);
    expect(() => new KneeSearch({ levels: [] }, budgets)).toThrow(/at least one level/);
    expect(() => new KneeSearch({ levels: [2, 2] }, budgets)).toThrow(/must increase/);
    expect(() => new KneeSearch({ levels: [0, 2] }, budgets)).toThrow(/integer ≥ 1/);
    expect(() => s.result()).toThrow(/not over/);
  });

  it('a measuring function that never ends the search is bounded', async () => {
    await expect(findKnee(new KneeSearch({ levels: [1, 2, 3, 4] }, budgets), async (l) => step(l), 2)).rejects.toThrow(/within 2 steps/);
  });
});

describe('--baseline: capacity down by more than the tolerance FAILs', () => {
  const knee = (capacity: number): KneeResult => ({ status: 'knee', capacity, lastGood: null, firstBad: step(1), bisection: { complete: true }, steps: [] });
  const noKnee = (atLeast: number): KneeResult => ({ status: 'no-knee', atLeast, lastGood: step(1), steps: [] });
  const inconclusive: KneeResult = { status: 'inconclusive', reason: 'level 4 (48 consumers): the generator saturated', atLeast: 24, steps: [] };
  // A knee that moved down on every confirmation: the capacity is at most its last level.
  const unconfirmed = (capacity: number): KneeResult => ({ status: 'knee', capacity, lastGood: null, firstBad: step(1), bisection: { complete: true }, confirmation: { confirmed: false, reason: '3 capacities in a row failed their confirmation', exhausted: true }, steps: [] });

  it.each([
    ['a drop beyond the tolerance', 'FAIL', knee(80), knee(100)],
    ['a drop within the tolerance', 'PASS', knee(90), knee(100)],
    ['exactly at the tolerance', 'PASS', knee(85), knee(100)],
    ['more capacity', 'PASS', knee(140), knee(100)],
    ['a knee below the baseline\'s lower bound by more than the tolerance', 'FAIL', knee(50), noKnee(100)],
    ['a knee near the baseline\'s lower bound: the baseline may have been far higher', 'INCONCLUSIVE', knee(120), noKnee(100)],
    ['no knee, its lower bound reaching the baseline', 'PASS', noKnee(100), knee(100)],
    ['no knee, stopping below the baseline', 'INCONCLUSIVE', noKnee(40), knee(100)],
    ['neither run found its knee', 'INCONCLUSIVE', noKnee(100), noKnee(100)],
    ['this run inconclusive', 'INCONCLUSIVE', inconclusive, knee(100)],
    ['the baseline inconclusive', 'INCONCLUSIVE', knee(100), inconclusive],
    ['an unconfirmed knee below the allowed drop: at most that, so down', 'FAIL', unconfirmed(80), knee(100)],
    ['an unconfirmed knee within the tolerance: it may be lower still', 'INCONCLUSIVE', unconfirmed(100), knee(100)],
    ['an unconfirmed baseline: a drop from it cannot be told', 'INCONCLUSIVE', knee(50), unconfirmed(100)],
  ] as const)('%s: %s', (_what, verdict, cur, base) => {
    expect(compareWithBaseline(cur, base, 0.15).verdict).toBe(verdict);
  });

  it('says both numbers and why', () => {
    expect(compareWithBaseline(knee(80), knee(100), 0.15).reason).toBe('capacity down by more than 15 %: 80 consumers now, 100 in the baseline (tolerance 15 %)');
    expect(compareWithBaseline(inconclusive, knee(100), 0.15).reason).toMatch(/this run found no capacity \(level 4 \(48 consumers\): the generator saturated\)/);
    expect(compareWithBaseline(unconfirmed(100), knee(100), 0.15).reason).toBe("this run's capacity was not confirmed (at most its last level): ≤ 100 (not confirmed) consumers now, 100 in the baseline (tolerance 15 %)");
    expect(() => compareWithBaseline(knee(1), knee(1), 1.5)).toThrow(/tolerance/);
  });

  it('tells the quality at the baseline\'s capacity as the budgets judged it: the median window, the fitted CPU', () => {
    // Recorded (webinar, 2026-12-02): the baseline's capacity confirmed within budget on its median window (41.9 ms)
    // while one stalled window carried the pooled p95 to 116.6 ms; this run held that level too.
    const atCap = step(29, { consumers: 1218, workerCpu: 0.938, delayP50Ms: 6.3, delayP95Ms: 116.6, windowMedian: { windows: 4, loss: 0, delayP50Ms: 6.6, delayP95Ms: 41.9 }, workerCpuFitted: { value: 0.88, windows: 10, loads: 4 } });
    const base: KneeResult = { status: 'knee', capacity: 1218, lastGood: atCap, firstBad: step(30), bisection: { complete: true }, steps: [] };
    const now = step(29, { consumers: 1218, workerCpu: 0.88, delayP95Ms: 366.6, windowMedian: { windows: 8, loss: 0, delayP50Ms: 5.2, delayP95Ms: 43.8 } });
    const r = compareWithBaseline(knee(1176), base, 0.15, now);
    expect(r.verdict).toBe('PASS');
    expect(r.reason).toMatch(/at the baseline's capacity \(1218 consumers\): now loss 0\.00 %, delay p50\/p95 5\.2 ms \/ 43\.8 ms \(median of 8 windows\), worker 88 %; baseline loss 0\.00 %, delay p50\/p95 6\.6 ms \/ 41\.9 ms \(median of 4 windows\), worker 88 % \(fitted\)/);
    expect(r.reason).not.toMatch(/116\.6|366\.6/);
    // The step itself keeps what was measured over all its frames (the report's table shows both).
    expect(r.atBaselineCapacity?.baseline.delayP95Ms).toBe(116.6);
  });
});

describe('the capacity confirmed: its level held again once the bisection is over', () => {
  /** Drive a search, each level's measurement from `at` (asked with the phase it is in). */
  const drive = (search: KneeSearch, at: (level: number, phase: 'confirm' | 'other', n: number) => SfuStep) => {
    const asked: string[] = [];
    const n = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const level = search.next();
      if (level === null) return { result: search.result(), asked };
      const phase = search.confirming ? 'confirm' : 'other';
      asked.push(`${phase === 'confirm' ? 'c' : ''}${level}`);
      n.set(level, (n.get(level) ?? 0) + 1);
      search.record(at(level, phase, n.get(level)!));
    }
    throw new Error('unbounded');
  };
  const good = (level: number) => step(level, { workerCpu: 0.5 + level / 100 });
  const slow = (level: number) => step(level, { delayP95Ms: 70 });

  it('a level still good on all its windows is the capacity, confirmed, its quality the confirmation\'s', () => {
    const s = new KneeSearch({ ...PLAN, confirm: true }, budgets);
    const { result, asked } = drive(s, (l, phase) => (l >= 24 ? slow(l) : phase === 'confirm' ? step(l, { delayP95Ms: 21 }) : good(l)));
    expect(asked).toEqual(['1', '2', '4', '8', '16', '32', '24', '20', '22', '23', 'c23']);
    expect(result.status === 'knee' && result).toMatchObject({ capacity: 23 * 12, confirmation: { confirmed: true }, lastGood: { level: 23, delayP95Ms: 21 } });
    expect(result.steps.at(-1)!.phase).toBe('confirm');
  });

  it('a level past the knee on its confirmation moves the knee below it: the search bisects on and confirms the new one', () => {
    const s = new KneeSearch({ ...PLAN, confirm: true }, budgets);
    // 22 and 23 passed their first windows but not the confirmation; 21, between 20 and 22, is good when held again.
    const { result, asked } = drive(s, (l, phase) => (l >= 24 || (l >= 22 && phase === 'confirm') ? slow(l) : good(l)));
    expect(asked).toEqual(['1', '2', '4', '8', '16', '32', '24', '20', '22', '23', 'c23', 'c22', '21', 'c21']);
    expect(result.status === 'knee' && result).toMatchObject({ capacity: 21 * 12, firstBad: { level: 22 }, confirmation: { confirmed: true } });
    expect(result.steps.filter((x) => x.phase === 'confirm').map((x) => `${x.step.level} ${x.judgement.kind}`)).toEqual(['23 past-knee', '22 past-knee', '21 good']);
  });

  it('without confirm, the bisection ends the search as before; confirmations are bounded', () => {
    const plain = drive(new KneeSearch(PLAN, budgets), (l) => (l >= 24 ? slow(l) : good(l)));
    expect(plain.asked.at(-1)).toBe('23');
    expect(plain.result.status === 'knee' && plain.result.confirmation).toBeUndefined();
    // Every confirmation fails: after MAX_CONFIRMATIONS the search ends, the last capacity said to be unconfirmed (exhausted).
    const s = new KneeSearch({ ...PLAN, confirm: true }, budgets);
    const { result, asked } = drive(s, (l, phase) => (l >= 24 || phase === 'confirm' ? slow(l) : good(l)));
    expect(asked.filter((a) => a.startsWith('c'))).toHaveLength(MAX_CONFIRMATIONS);
    expect(result.status === 'knee' && result.confirmation).toEqual({ confirmed: false, reason: `${MAX_CONFIRMATIONS} capacities in a row failed their confirmation`, exhausted: true });
    // Not a measured capacity: the run is INCONCLUSIVE, and against a baseline it shows only an upper bound.
    expect(verdictOf(result, budgets)).toMatchObject({ verdict: 'INCONCLUSIVE', reason: expect.stringMatching(/^no capacity held still: 3 capacities in a row failed their confirmation \(the last, \d+ consumers, not confirmed\)/) });
  });

  it('a confirmation the generator could not drive leaves the capacity unconfirmed, saying why', () => {
    const s = new KneeSearch({ ...PLAN, confirm: true }, budgets);
    const { result } = drive(s, (l, phase) => (l >= 24 ? slow(l) : phase === 'confirm' ? step(l, { generatorCpu: 0.95 }) : good(l)));
    expect(result.status === 'knee' && result).toMatchObject({ capacity: 23 * 12, confirmation: { confirmed: false, reason: expect.stringMatching(/^level 23 \(276 consumers\): the generator saturated/) } });
    // The bisection's capacity stands, as without a confirmation, its reason saying it was not confirmed.
    expect(verdictOf(result, budgets)).toMatchObject({ verdict: 'PASS', reason: expect.stringMatching(/^capacity = 276 consumers .*\(not confirmed: level 23/) });
  });
});
