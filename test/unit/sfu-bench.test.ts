import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBudgets, sfuBenchBudgets } from '../../src/k6/budgets.js';
import { mergeSteps } from '../../src/bench/merge-steps.js';
import type { SfuStep } from '../../src/bench/sfu-step.js';
import { TrendHistogram } from '../../src/results/histogram.js';
import { quantile } from '../../src/media/rtp-stream-stats.js';
import { KneeSearch } from '../../src/bench/knee-search.js';
import { waitForWorkerCost } from '../../src/bench/synthetic-step-runner.js';
import { generatorCost, generatorCostFit, moreLevels, planLevels, sfuCeiling } from '../../src/bench/level-plan.js';
import { QUALITY_AGREE, runSfuBenchFlow, verdictOf } from '../../src/bench/sfu-bench.js';
import { consumersPerRoom, seatsOf, transportsPerRoom, describeShape } from '../../src/bench/room-shape.js';
import { BenchResultError, SfuStepSchema, readBenchResult, writeBenchResult, capacityText, type BenchResult } from '../../src/bench/bench-result.js';
import { compareSides } from '../../src/bench/cross-check.js';
import { toBenchJUnit } from '../../reports/bench-junit.js';
import { toBenchHtml } from '../../reports/bench-html.js';
import { measureCoreSpeed, speedChange } from '../../src/bench/core-speed.js';

const budgets = sfuBenchBudgets(loadBudgets());

/**
 * Recorded-like steps of a conference of 4 (12 consumers a room): the worker costs `worker` of its core per
 * consumer, the generator 2 % fixed + `gen` per consumer; past 85 % of its core the worker's queues build
 * (delay p95 80 ms), past 95 % packets drop.
 */
const sfu = (worker: number, gen = 0.0006) => async (level: number): Promise<SfuStep> => {
  const consumers = level * 12;
  const cpu = Math.min(1, consumers * worker);
  return {
    level, consumers, workerCpu: cpu, loss: cpu > 0.95 ? 0.03 : 0.001, delayP50Ms: 1, delayP95Ms: cpu > 0.85 ? 80 : 5,
    generatorCpu: 0.02 + consumers * gen, packets: consumers * 200, silentConsumers: 0, workerWait: 0, generatorLagP99Ms: 1, windowS: 6,
  };
};

/** A measurer over `base` that counts each level's tries and changes the n-th try of a level as `alter` says. */
function perTry(base: (level: number) => Promise<SfuStep>, alter: (level: number, n: number) => Partial<SfuStep>) {
  const tries = new Map<number, number>();
  const measure = async (l: number): Promise<SfuStep> => {
    const n = (tries.get(l) ?? 0) + 1;
    tries.set(l, n);
    return { ...(await base(l)), ...alter(l, n) };
  };
  return { measure, tries };
}

describe('room shapes', () => {
  it('a conference of k: everyone sends and receives, k·(k−1) consumers and 2k transports a room', () => {
    const s = { kind: 'conference', participants: 4 } as const;
    expect(seatsOf(s).every((x) => x.send && x.receive)).toBe(true);
    expect(consumersPerRoom(s)).toBe(12);
    expect(transportsPerRoom(s)).toBe(8);
    expect(describeShape(s)).toBe('conference of 4 (12 consumers a room)');
  });

  it('a webinar: presenters send (and see each other), viewers only receive: p·(p−1) + v·p consumers', () => {
    expect(consumersPerRoom({ kind: 'webinar', presenters: 2, viewers: 20 })).toBe(42);
    expect(consumersPerRoom({ kind: 'webinar', presenters: 1, viewers: 20 })).toBe(20);
    expect(transportsPerRoom({ kind: 'webinar', presenters: 1, viewers: 20 })).toBe(21);
  });
});

describe('the search range comes from the generator\'s measured cost', () => {
  const at = (level: number, consumers: number, generatorCpu: number): SfuStep => ({ level, consumers, generatorCpu, workerCpu: 0.1, loss: 0, delayP50Ms: 1, delayP95Ms: 2, packets: 100, silentConsumers: 0 });

  it('a line through two steps: fixed part and cost per consumer', () => {
    const c = generatorCost(at(1, 12, 0.05), at(3, 36, 0.08));
    expect(c.perConsumer).toBeCloseTo(0.00125, 6);
    expect(c.fixed).toBeCloseTo(0.035, 6);
  });

  it('the plan doubles up to the level whose predicted generator CPU stays within 90 % of its budget', () => {
    // 0.7 · 0.9 = 0.63; (0.63 − 0.03) / 0.001 / 12 = 50 rooms.
    expect(planLevels({ cost: { fixed: 0.03, perConsumer: 0.001 }, consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual({ maxRooms: 50, levels: [1, 2, 4, 8, 16, 32, 50] });
    expect(planLevels({ cost: { fixed: 0.03, perConsumer: 0.001 }, consumersPerRoom: 12, generatorCpuMax: 0.7, maxRooms: 10 }).levels).toEqual([1, 2, 4, 8, 10]);
    // A generator that can hardly drive one room still gets one level, never none.
    expect(planLevels({ cost: { fixed: 0.69, perConsumer: 0.01 }, consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual({ maxRooms: 1, levels: [1] });
  });

  it('more levels when the plan ran out, from the cost fitted on the good steps; none when the generator is at its limit', () => {
    // 0.000625 a consumer + 0.08: (0.63 − 0.08) / 0.000625 / 12 = 73 rooms.
    expect(moreLevels({ good: [at(16, 192, 0.2), at(32, 384, 0.32)], consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual([64, 73]);
    expect(moreLevels({ good: [at(4, 48, 0.05), at(8, 96, 0.08)], consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual([16, 32, 64, 81]);
    expect(moreLevels({ good: [at(16, 192, 0.4), at(32, 384, 0.62)], consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual([]);
  });

  it('the fit uses every good step: two adjacent noisy ones do not stop the search (measured: 32 then 33 rooms cut it at 396 consumers)', () => {
    const good = [at(1, 12, 0.035), at(2, 24, 0.051), at(4, 48, 0.077), at(8, 96, 0.106), at(16, 192, 0.178), at(32, 384, 0.306), at(33, 396, 0.347)];
    expect(moreLevels({ good: good.slice(-2), consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual([]);
    const fit = generatorCostFit(good);
    expect(fit.perConsumer).toBeGreaterThan(0.0006);
    expect(fit.perConsumer).toBeLessThan(0.0009);
    expect(moreLevels({ good, consumersPerRoom: 12, generatorCpuMax: 0.7 })).toEqual([65]);
  });

  it('calibration steps in the wrong order are refused', () => {
    expect(() => generatorCost(at(3, 36, 0.1), at(1, 12, 0.05))).toThrow(/more consumers in the second/);
  });
});

describe('the knee search takes more levels while stepping up, never after', () => {
  it('extend() adds levels above the plan; the search goes on to them', () => {
    const k = new KneeSearch({ levels: [1, 2] }, budgets);
    const good = (level: number): SfuStep => ({ level, consumers: level * 12, workerCpu: 0.1, loss: 0, delayP50Ms: 1, delayP95Ms: 2, generatorCpu: 0.1, packets: 100, silentConsumers: 0 });
    k.record(good(k.next()!));
    expect(k.planExhausted).toBe(false);
    k.record(good(k.next()!));
    expect(k.planExhausted).toBe(true);
    expect(() => k.extend([2])).toThrow(/must increase/);
    k.extend([4]);
    expect(k.next()).toBe(4);
  });

  it('capNext() lowers the next step-up level (at least one above the last good), keeps the levels above, and does nothing while bisecting', () => {
    const k = new KneeSearch({ levels: [1, 2, 4, 8] }, budgets);
    const at = (level: number, delayP95Ms = 2): SfuStep => ({ level, consumers: level * 12, workerCpu: 0.1, loss: 0, delayP50Ms: 1, delayP95Ms, generatorCpu: 0.1, packets: 100, silentConsumers: 0 });
    k.record(at(k.next()!));
    k.capNext(0);
    expect(k.next()).toBe(2);
    k.record(at(2));
    k.capNext(3.7);
    expect(k.next()).toBe(3);
    k.capNext(2);
    expect(k.next()).toBe(3);
    k.record(at(3));
    expect(k.next()).toBe(4);
    k.record(at(4));
    k.capNext(20);
    expect(k.next()).toBe(8);
    k.record(at(8, 80));
    k.capNext(5);
    expect(k.bisecting).toBe(true);
    expect(k.next()).toBe(6);
  });
});

describe('the step-up\'s ceiling from the SFU\'s own CPU', () => {
  const at = (level: number, workerCpu: number | null): SfuStep => ({ level, consumers: level * 12, workerCpu, loss: 0, delayP50Ms: 1, delayP95Ms: 2, generatorCpu: 0.1, packets: 100, silentConsumers: 0 });

  it('half the way from the highest good level\'s CPU to the aim, by the lower of two predictions', () => {
    // 2 % a room, 80 % at 40 rooms: half the way to 95 % is 87.5 %, at 43.75 rooms either way.
    expect(sfuCeiling([at(30, 0.6), at(35, 0.7), at(40, 0.8)])).toBe(43);
    expect(sfuCeiling([at(1, 0.02), at(2, 0.04), at(4, 0.08), at(8, 0.16)])).toBe(27);
    // The cost per room rising with load: the top three's line (3 % a room) says 37 rooms, proportion 41.
    expect(sfuCeiling([at(1, 0.01), at(2, 0.02), at(8, 0.1), at(16, 0.12), at(24, 0.36), at(32, 0.6)])).toBe(37);
    expect(sfuCeiling([at(8, 0.16), at(16, 0.32)], 0.9)).toBe(30);
    // A fixed part (10 % + 1 % a room): proportion says 41 rooms (it counts the fixed part as per room: low), the line 52.
    expect(sfuCeiling([at(10, 0.2), at(20, 0.3)])).toBe(41);
  });

  it('a line that does not rise is left out: proportion alone; none without a good level\'s CPU', () => {
    expect(sfuCeiling([at(4, 0.1)])).toBe(21);
    expect(sfuCeiling([at(4, 0.1), at(8, 0.1)])).toBe(42);
    expect(sfuCeiling([at(4, 0.12), at(8, 0.1)])).toBe(42);
    // At the aim already: no higher.
    expect(sfuCeiling([at(8, 0.96)])).toBe(8);
    expect(sfuCeiling([at(8, null)])).toBeNull();
    expect(sfuCeiling([])).toBeNull();
  });
});

describe('the benchmark flow on recorded steps', () => {
  it('calibrates, steps up, re-plans, bisects to the knee: capacity = the last good step\'s consumers (PASS)', async () => {
    const levels: number[] = [];
    const measure = sfu(0.0015);
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: async (l) => { levels.push(l); return measure(l); } });
    // 0.85 / 0.0015 / 12 = 47.2 rooms: 47 is the last good level.
    expect(r.result.status).toBe('knee');
    expect(r.result.status === 'knee' && r.result.capacity).toBe(47 * 12);
    expect(r.verdict).toBe('PASS');
    expect(r.reason).toMatch(/^capacity = 564 consumers per worker core at .*first past it at 576 consumers: sc_sfu_forward_delay p\(95\) 80/);
    expect(levels.slice(0, 2)).toEqual([1, 3]);
    expect(levels.length).toBeLessThan(24);
    // The capacity's level held again over 3 more windows, judged with its 2 bisection windows.
    expect(levels.slice(-3)).toEqual([47, 47, 47]);
    expect(r.result.status === 'knee' && r.result.confirmation).toEqual({ confirmed: true });
    // 47 was a step-up level (one window): judged on it and the confirmation's three.
    expect(r.result.status === 'knee' && r.result.lastGood!.windowS).toBe(4 * 6);
    expect(r.reason).toMatch(/\(confirmed: held again, within budget over 24 s\)/);
    const once = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, confirmWindows: 0, measure });
    expect(once.result.status === 'knee' && once.result.confirmation).toBeUndefined();
  });

  it('the step-up nears the SFU\'s CPU aim by halves: after 32 rooms 42, 47, then 49 (the knee at 88 %), never a saturated worker', async () => {
    const cpus = (r: Awaited<ReturnType<typeof runSfuBenchFlow>>) => r.result.steps.map((x) => x.step.workerCpu!);
    const guided = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.0015) });
    expect(guided.result.steps.filter((x) => x.phase === 'step-up').map((x) => x.step.level)).toEqual([1, 2, 4, 8, 16, 32, 42, 47, 49]);
    expect(Math.max(...cpus(guided))).toBeLessThan(0.9);
    expect(guided.calibration.levels).toEqual(expect.arrayContaining([42, 47, 49]));
    expect(guided.result.status === 'knee' && guided.result.capacity).toBe(47 * 12);
    // Doubling alone (no aim) reached 64 rooms, the worker at 100 %; the same capacity here, found from an overload.
    const doubling = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, sfuCpuAim: null, measure: sfu(0.0015) });
    expect(doubling.result.steps.filter((x) => x.phase === 'step-up').map((x) => x.step.level)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(Math.max(...cpus(doubling))).toBe(1);
    expect(doubling.result.status === 'knee' && doubling.result.capacity).toBe(47 * 12);
  });

  it('a generator that cannot reach the SFU\'s knee: capacity only at least the last level (INCONCLUSIVE), never a knee', async () => {
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.0005, 0.002) });
    expect(r.result.status).toBe('no-knee');
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.reason).toMatch(/capacity ≥ \d+ consumers: every level the generator could drive/);
  });

  it('--baseline: the seeded slowdown (each consumer costs twice) FAILs against the unseeded run; an equal run PASSes', async () => {
    const plain = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.0015) });
    const asked: string[] = [];
    const seeded = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.003), baseline: plain.result, onStep: (what, st) => asked.push(`${what} ${st.level}`) });
    expect(seeded.verdict).toBe('FAIL');
    expect(seeded.reason).toMatch(/capacity down by more than 15 %: 276 consumers now, 564 in the baseline/);
    // The baseline's capacity (47 rooms) lies past this run's first bad level (24): not held, the SFU would only be
    // overloaded further.
    expect(asked.some((a) => a.startsWith('at-baseline'))).toBe(false);
    expect(seeded.baseline?.atBaselineCapacity).toBeUndefined();
    // A drop near the line (20 %, within twice the tolerance) is told with the quality at the baseline's capacity,
    // though that lies past this run's first bad level (38 rooms).
    const drop = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.001875), baseline: plain.result });
    expect(drop.verdict).toBe('FAIL');
    expect(drop.result.status === 'knee' && [drop.result.capacity, drop.result.firstBad.level]).toEqual([37 * 12, 38]);
    expect(drop.baseline?.atBaselineCapacity).toMatchObject({ consumers: 564, now: { level: 47, delayP95Ms: 80 } });
    // A run whose knee is near the baseline's holds the baseline's capacity level too, told beside the baseline's own step.
    const near: string[] = [];
    const slower = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.00152), baseline: plain.result, onStep: (what, st) => near.push(`${what} ${st.level}`) });
    expect(slower.verdict).toBe('PASS');
    expect(near.at(-1)).toBe('at-baseline 47');
    expect(slower.baseline?.atBaselineCapacity).toMatchObject({ consumers: 564, now: { level: 47, delayP95Ms: 80 }, baseline: { level: 47, delayP95Ms: 5 } });
    expect(slower.reason).toMatch(/at the baseline's capacity \(564 consumers\): now loss 0\.10 %, delay p50\/p95 1\.0 ms \/ 80\.0 ms \(median of 6 windows\), worker 86 %; baseline loss 0\.10 %, delay p50\/p95 1\.0 ms \/ 5\.0 ms \(median of 4 windows\), worker 85 % \(fitted\)/);
    const again = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.0015), baseline: plain.result });
    expect(again.verdict).toBe('PASS');
    // Its own capacity's level is the baseline's: the windows there pooled, the confirmation's and these.
    // (its step-up window, the confirmation's three and these three)
    expect(again.baseline?.atBaselineCapacity?.now).toMatchObject({ level: 47, windowS: 7 * 6 });
    // A generator that saturates at the baseline's load measures nothing there: no comparison, the verdict unchanged.
    // (saturated only once its own search is over: 47 is a level of its step-up)
    let searched = false;
    const weak = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, onStep: (what) => { if (what === 'confirm') searched = true; }, measure: async (l) => ({ ...(await sfu(0.00152)(l)), ...(l === 47 && searched ? { generatorCpu: 0.95 } : {}) }), baseline: plain.result });
    expect(weak.verdict).toBe('PASS');
    expect(weak.baseline?.atBaselineCapacity).toBeUndefined();
  });

  it('a step whose worker waited for its core ends the step-up INCONCLUSIVE, with the lower bound it reached', async () => {
    const base = sfu(0.0015);
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: async (l) => ({ ...(await base(l)), ...(l === 8 ? { workerWait: 0.3 } : {}) }) });
    expect(r.result.status).toBe('inconclusive');
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.reason).toMatch(/no capacity measured: level 8 \(96 consumers\): the SFU worker waited/);
    expect(capacityText(r.result)).toBe('≥ 48 (inconclusive)');
  });

  it('verdictOf: a knee PASSes with the quality it was measured at', () => {
    expect(verdictOf({ status: 'inconclusive', reason: 'x', atLeast: null, steps: [] }, budgets)).toEqual({ verdict: 'INCONCLUSIVE', reason: 'no capacity measured: x' });
  });
});

describe('bench.json, junit.xml and report.html of a run', () => {
  async function result(): Promise<BenchResult> {
    const flow = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: sfu(0.0015) });
    return {
      schemaVersion: 1, kind: 'sfu-capacity', id: 'bench-sfu-conference-x', startedAt: '2026-11-30T00:00:00.000Z', endedAt: '2026-11-30T00:04:00.000Z',
      target: { kind: 'embedded', baseUrl: 'http://198.18.0.2:21590', profile: 'hardened', env: {} }, shape: { kind: 'conference', participants: 4 },
      budgets: { knee: budgets.knee.map((b) => ({ metric: b.metric, stat: b.stat, op: b.op, value: b.value })), generatorCpuMax: 0.7, baselineTolerance: 0.15 },
      notJudged: [], pinning: { workerCore: 1, otherCores: '0', pids: [1, 2] },
      calibration: { steps: flow.calibration.steps, generatorFixed: flow.calibration.cost.fixed, generatorPerConsumer: flow.calibration.cost.perConsumer, maxRooms: flow.calibration.maxRooms, levels: flow.calibration.levels },
      result: flow.result, verdict: flow.verdict, reason: flow.reason, durationS: 240,
    };
  }

  it('bench.json round-trips; a malformed one is refused naming the file and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-bench-'));
    const r = await result();
    writeBenchResult(dir, r);
    expect(readBenchResult(dir)).toEqual(r);
    writeFileSync(join(dir, 'bench.json'), JSON.stringify({ ...r, shape: { kind: 'conference', participants: 1 } }));
    expect(() => readBenchResult(dir)).toThrow(BenchResultError);
    expect(() => readBenchResult(dir)).toThrow(/bench\.json: shape\.participants: /);
    expect(() => readBenchResult(join(dir, 'nope'))).toThrow(/nope: /);
  });

  it('junit: one case for the capacity; a baseline FAIL is a failure, an INCONCLUSIVE one skipped', async () => {
    const r = await result();
    expect(toBenchJUnit(r)).toMatch(/<testsuite name="sfu-capacity.conference"[^>]*tests="1" failures="0" errors="0" skipped="0"/);
    const failed = toBenchJUnit({ ...r, verdict: 'FAIL', baseline: { run: '/runs/a', verdict: 'FAIL', reason: 'capacity down by more than 15 %', capacity: '900' } });
    expect(failed).toMatch(/tests="2" failures="1"/);
    expect(failed).toMatch(/<testcase classname="sfu-capacity" name="sfu-capacity.conference.baseline"[^>]*>\s*<failure message="capacity down by more than 15 %/);
    const unsure = toBenchJUnit({ ...r, verdict: 'INCONCLUSIVE', reason: 'no capacity measured: x', result: { status: 'inconclusive', reason: 'x', atLeast: null, steps: [] } });
    expect(unsure).toMatch(/skipped="1"/);
    expect(unsure).toMatch(/<skipped message="INCONCLUSIVE: no capacity measured: x"/);
  });

  it('report.html: a curve per measurement, every step a point, the budget and the knee marked at the capacity and the first step past it', async () => {
    const r = await result();
    const html = toBenchHtml(r);
    for (const id of ['worker-cpu', 'loss', 'delay-p95', 'generator-cpu']) expect(html).toContain(`data-curve="${id}" data-points="${r.result.steps.length}"`);
    expect(html).toContain('data-knee="last-good" data-consumers="564"');
    expect(html).toContain('data-knee="first-bad" data-consumers="576"');
    expect(html).toContain('data-budget="50"');
    expect(html).toContain('data-capacity="564"');
    expect(html).toMatch(/data-verdict="PASS"/);
    // What the budgets judged where it was not the step's own: the fitted CPU, the median window's delay.
    const fitted = r.result.steps.filter((x) => x.step.workerCpuFitted !== undefined && x.step.workerCpuFitted.value !== x.step.workerCpu);
    expect(fitted.length).toBeGreaterThan(0);
    expect(html.match(/<rect data-judged="[\d.]+" data-consumers="\d+"/g)!.length).toBeGreaterThanOrEqual(fitted.length);
    expect(html).toMatch(/\(fit \d+\.\d %\)/);
  });
});

describe('the cross-check: browsers against synthetic participants', () => {
  const side = (consumers: number, kbps: number, loss: number) => ({ participants: 3, consumers, bitrateOutKbps: kbps, loss });
  it('agree within 10 % on consumers and egress and 1 point on loss', () => {
    expect(compareSides(side(6, 700, 0.001), side(6, 660, 0.004)).agree).toBe(true);
  });
  it.each([
    ['egress', side(6, 700, 0), side(6, 500, 0), /egress differs by more than 10 %/],
    ['consumers', side(6, 700, 0), side(4, 700, 0), /consumers differ by more than 10 %/],
    ['loss', side(6, 700, 0), side(6, 700, 0.02), /loss differs by more than 1 point/],
  ])('disagree on %s, saying so', (_what, b, s, says) => {
    const c = compareSides(b, s);
    expect(c.agree).toBe(false);
    expect(c.note).toMatch(says);
  });
});

describe('a disturbed step is measured again before it counts', () => {
  it('a window where the worker waited for its core is re-measured; the clean measurement is the step', async () => {
    const { measure, tries } = perTry(sfu(0.0015), (l, n) => (l === 8 && n === 1 ? { workerWait: 0.3 } : {}));
    const seen: string[] = [];
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, onStep: (what, s) => seen.push(`${what} ${s.level}`), measure });
    expect(r.result.status).toBe('knee');
    expect(r.result.status === 'knee' && r.result.capacity).toBe(564);
    expect(seen).toContain('disturbed 8');
    expect(tries.get(8)).toBe(2);
  });

  it('a disturbance that does not pass: INCONCLUSIVE after the bounded re-measurements', async () => {
    const base = sfu(0.0015);
    let calls = 0;
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, remeasure: 2, measure: async (l) => ({ ...(await base(l)), ...(l === 8 ? (calls++, { generatorLagP99Ms: 60 }) : {}) }) });
    expect(r.result.status).toBe('inconclusive');
    expect(calls).toBe(3);
  });
});

describe('a bisection step is decided on its windows together', () => {
  it('mergeSteps: means of the quality and load figures, packets summed, the worse lag; levels that differ refused', () => {
    const a: SfuStep = { level: 20, consumers: 840, workerCpu: 0.88, loss: 0, delayP50Ms: 4, delayP95Ms: 60, generatorCpu: 0.4, packets: 1000, silentConsumers: 0, generatorLagP99Ms: 2, windowS: 10 };
    const b: SfuStep = { ...a, workerCpu: 0.8, delayP95Ms: 10, loss: 0.002, packets: 1200, generatorLagP99Ms: 5, workerSys: 0.2 };
    const m = mergeSteps(a, b);
    expect(m).toMatchObject({ level: 20, consumers: 840, packets: 2200, generatorLagP99Ms: 5, windowS: 20, loss: 0.001, workerSys: null });
    expect(m.workerCpu).toBeCloseTo(0.84, 9);
    expect(m.delayP95Ms).toBe(35);
    expect(() => mergeSteps(a, { ...b, level: 21 })).toThrow(/levels 20 and 21 do not merge/);
  });

  it('mergeSteps pools the windows\' delays when they carry histograms: the p95 of all frames, not the mean of two p95s', () => {
    const hist = (ds: number[]) => {
      const h = new TrendHistogram(3);
      for (const d of ds) h.record(d);
      return { hdr: h.encode(), count: h.count, sum: h.sum, min: h.min, max: h.max };
    };
    // A calm window (2–8 ms) and one whose last 8 % of frames waited 80–90 ms: alone, its p95 is past the budget.
    const calm = Array.from({ length: 5000 }, (_, i) => 2 + (i % 61) / 10);
    const spiky = Array.from({ length: 5000 }, (_, i) => (i < 4600 ? 2 + (i % 61) / 10 : 80 + (i % 11)));
    const step = (ds: number[], p95: number): SfuStep => ({ level: 20, consumers: 840, workerCpu: 0.85, loss: 0, delayP50Ms: quantile(ds, 0.5), delayP95Ms: p95, generatorCpu: 0.4, packets: ds.length, silentConsumers: 0, delayHistogram: hist(ds) });
    const a = step(calm, quantile(calm, 0.95)!);
    const b = step(spiky, quantile(spiky, 0.95)!);
    expect(b.delayP95Ms).toBeGreaterThan(80);
    const m = mergeSteps(a, b);
    const all = [...calm, ...spiky];
    // Within the histogram's 3 significant digits of the exact quantiles of the pooled frames.
    expect(m.delayP95Ms!).toBeCloseTo(quantile(all, 0.95)!, 1);
    expect(m.delayP50Ms!).toBeCloseTo(quantile(all, 0.5)!, 1);
    expect(m.delayP95Ms!).toBeLessThan(10);
    expect(m.delayHistogram!.count).toBe(10_000);
    // bench.json keeps it: a level's windows can be pooled again from the run's history.
    expect(SfuStepSchema.parse(JSON.parse(JSON.stringify(m)))).toEqual(m);
    // Averaged, the same two windows would have read (p95 a + p95 b) / 2, past 40 ms.
    const { delayHistogram: _, ...bare } = b;
    expect(mergeSteps(a, bare).delayP95Ms).toBeGreaterThan(40);
    expect(mergeSteps(a, bare).delayHistogram).toBeUndefined();
  });

  it('mergeSteps of three windows weighs each alike', () => {
    const a: SfuStep = { level: 20, consumers: 840, workerCpu: 0.9, loss: 0, delayP50Ms: 4, delayP95Ms: 30, generatorCpu: 0.4, packets: 100, silentConsumers: 0, windowS: 6 };
    const m = mergeSteps(a, { ...a, workerCpu: 0.6 }, { ...a, workerCpu: 0.9, loss: 0.03 });
    expect(m.workerCpu).toBeCloseTo(0.8, 9);
    expect(m.loss).toBeCloseTo(0.01, 9);
    expect(m).toMatchObject({ packets: 300, windowS: 18 });
    expect(mergeSteps(a)).toBe(a);
    expect(() => mergeSteps()).toThrow(/at least one window/);
  });

  it('one window\'s delay spike near the knee does not end the bisection there: the level is measured twice', async () => {
    const base = sfu(0.0015);
    // Doubling to 64, then bisecting: level 44 (CPU 79 %) spikes to 70 ms once; alone, that window would put the knee at 43 rooms.
    const { measure, tries } = perTry(base, (l, n) => (l === 44 && n === 1 ? { delayP95Ms: 70 } : {}));
    const seen: string[] = [];
    const r = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, sfuCpuAim: null, onStep: (what, st) => seen.push(`${what} ${st.level}`), measure });
    expect(r.result.status === 'knee' && r.result.capacity).toBe(47 * 12);
    expect(tries.get(44)).toBe(2);
    expect(seen).toContain('window 44');
    const at44 = r.result.steps.find((x) => x.step.level === 44)!;
    expect(at44.step.delayP95Ms).toBeCloseTo(37.5, 9);
    expect(at44.judgement.kind).toBe('good');
    // Step-up levels are measured once.
    expect(tries.get(32)).toBe(1);
    const single = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, sfuCpuAim: null, bisectWindows: 1, measure: async (l) => ({ ...(await base(l)), ...(l === 44 ? { delayP95Ms: 70 } : {}) }) });
    expect(single.result.status === 'knee' && single.result.capacity).toBe(43 * 12);
  });
});

describe('bench.json keeps a disturbed judgement', () => {
  it('a run whose step-up ended on a disturbed step is written and read back', async () => {
    const base = sfu(0.0015);
    const flow = await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: async (l) => ({ ...(await base(l)), ...(l === 8 ? { workerWait: 0.3 } : {}) }) });
    const dir = mkdtempSync(join(tmpdir(), 'sch-bench-'));
    const r: BenchResult = {
      schemaVersion: 1, kind: 'sfu-capacity', id: 'x', startedAt: 'a', endedAt: 'b', target: { kind: 'external', baseUrl: 'http://127.0.0.1:1' },
      shape: { kind: 'conference', participants: 4 }, budgets: { knee: [], generatorCpuMax: 0.7, baselineTolerance: 0.15 }, notJudged: [], pinning: null,
      calibration: { steps: flow.calibration.steps, generatorFixed: 0, generatorPerConsumer: 0.001, maxRooms: 8, levels: [1, 2, 4, 8] },
      result: flow.result, verdict: flow.verdict, reason: flow.reason, durationS: 1,
    };
    writeBenchResult(dir, r);
    expect(readBenchResult(dir).result.steps.at(-1)!.judgement).toMatchObject({ kind: 'inconclusive', disturbed: true });
  });
});

describe('after a step past the knee the SFU is given time to recover', () => {
  it('the step measured right after one past the knee is asked with afterOverload, settling at the last good level at the CPU it cost there; the others not', async () => {
    const base = sfu(0.0015);
    const asked: [number, boolean, number | undefined][] = [];
    const settleCpus: (number | undefined)[] = [];
    await runSfuBenchFlow({ consumersPerRoom: 12, budgets, measure: async (l, m) => { asked.push([l, m?.afterOverload === true, m?.settleAt]); settleCpus.push(m?.settleCpu); return base(l); } });
    const firstBad = asked.findIndex(([l]) => l * 12 * 0.0015 > 0.85);
    expect(firstBad).toBeGreaterThan(0);
    expect(asked[firstBad]![1]).toBe(false);
    // Past the knee on delay alone: the level is held till three windows agree (judged on its median one), then left.
    const next = firstBad + QUALITY_AGREE;
    expect(asked.slice(firstBad, next).map(([l, a]) => [l, a])).toEqual(Array(QUALITY_AGREE).fill([asked[firstBad]![0], false]));
    expect(asked[next]![0]).not.toBe(asked[firstBad]![0]);
    expect(asked[next]![1]).toBe(true);
    // The last good level before it: the step-up's level below the first bad one.
    expect(asked[next]![2]).toBe(Math.max(...asked.slice(2, firstBad).map(([l]) => l)));
    expect(asked.slice(0, firstBad).every(([, a, s]) => !a && s === undefined)).toBe(true);
    // The worker's CPU at that level when it was measured good: what the measurer waits for there.
    expect(settleCpus[next]).toBeCloseTo(asked[next]![2]! * 12 * 0.0015, 9);
    expect(settleCpus.filter((c, i) => c !== undefined && !asked[i]![1])).toEqual([]);
  });
});

describe('--target-env in the run\'s files', () => {
  it('a value whose name says secret is never written; switches are', async () => {
    const { shownEnv } = await import('../../src/cli/bench-commands.js');
    expect(shownEnv({ SC_SWITCH_SFU_DUPLICATE_CONSUMERS: 'on', JWT_SECRET: 'hunter2', TURN_PASSWORD: 'x', API_KEY: 'k' })).toEqual({ SC_SWITCH_SFU_DUPLICATE_CONSUMERS: 'on', JWT_SECRET: '***', TURN_PASSWORD: '***', API_KEY: '***' });
  });
});

describe("the worker core's speed, measured with no room open", () => {
  it('a pinned probe gives hashes per second; a change beyond 5 % either way is told, as a share of the reference', async () => {
    const v = await measureCoreSpeed(0, { rounds: 1, ms: 100 });
    expect(v).toBeGreaterThan(100);
    expect(speedChange(87, 100)).toBe('at 87 % of');
    expect(speedChange(112, 100)).toBe('at 112 % of');
    expect(speedChange(104, 100)).toBeNull();
  });
});

describe('after an overload the measurer waits for the worker to cost what it did at the settle level', () => {
  // A worker read in 2-s slices: its CPU per slice from `cpus` (a clock the test moves).
  const worker = (cpus: number[]) => {
    let t = 0;
    let cpuS = 0;
    let n = 0;
    return {
      read: () => ({ cpuS, sysS: 0, waitS: 0, core: null }),
      sleep: async (ms: number) => { cpuS += (cpus[Math.min(n++, cpus.length - 1)] ?? 0) * (ms / 1000); t += ms / 1000; },
      now: () => t,
    };
  };

  it('back once two slices running are within 10 % and 5 points of the good cost; one low slice is not enough', async () => {
    const w = worker([1, 0.98, 0.6, 0.9, 0.7, 0.68]);
    expect(await waitForWorkerCost(w.read, 0.6, w)).toEqual({ back: true, cpu: expect.closeTo(0.68, 9), waitedS: 12 });
  });

  it('bounded: a worker that stays overloaded is given maxS, and the caller told it is not back', async () => {
    const w = worker([1]);
    const r = await waitForWorkerCost(w.read, 0.6, { ...w, maxS: 20 });
    expect(r).toEqual({ back: false, cpu: 1, waitedS: 20 });
  });

  it('a worker that cannot be read ends the wait at once, unknown', async () => {
    let reads = 0;
    const w = worker([1]);
    const r = await waitForWorkerCost(() => (reads++ === 0 ? w.read() : null), 0.6, w);
    expect(r).toEqual({ back: false, cpu: null, waitedS: 2 });
  });
});
