/**
 * `--baseline <run>`: the pre-release regression check. A capacity lower than the baseline's by more than the
 * tolerance FAILs. Only what both runs show decides: a run without a knee knows only a lower bound, so it can
 * show "not lower" (its bound reaches the baseline's capacity within the tolerance) or "lower" (its knee is
 * below the baseline's bound by more than the tolerance), and anything else is INCONCLUSIVE, as is a run whose
 * search was inconclusive. A knee that moved down on every confirmation knows only an upper bound: it can show
 * "lower" (even that bound is below the allowed drop), never "not lower"; as a baseline it decides nothing.
 * Beside the capacity, the worker's cost at equal loads (compareCost): up by more than the tolerance FAILs too.
 */
import type { Verdict } from '../results/model.js';
import type { KneeResult } from './knee-search.js';
import { judgedSfuStep, type SfuStep, type SfuStepMetric } from './sfu-step.js';
import { CPU_SATURATED, fitWorkerCpu } from './cpu-fit.js';
import { readHow } from './step-judgement.js';

export interface BaselineComparison {
  verdict: Verdict;
  /** One sentence with both numbers. */
  reason: string;
  /** The worker's CPU at the loads both runs measured, this run's over the baseline's (null: not comparable). */
  cost?: CostComparison | null;
  /**
   * Quality at the same load: this run held the baseline's capacity level too (its windows there merged), beside the
   * baseline's own step at it. Told, never judged: the verdict is the capacity's.
   */
  atBaselineCapacity?: { consumers: number; now: SfuStep; baseline: SfuStep };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);
const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} ms`);
/**
 * A step's quality as the knee budgets judged it (judgedSfuStep: the median window's loss and delay, the CPU fitted
 * near its load), so a capacity within budget never reads as past it: near the knee one stalled window can carry the
 * pooled p95 of a level far over the budget (a webinar at 1218 consumers: 116.6 ms pooled, 41.9 ms its median of 4
 * windows).
 */
const quality = (s: SfuStep) => {
  const v = (metric: SfuStepMetric, stat: string) => judgedSfuStep(s, metric, stat);
  const cpu = v('sc_sfu_worker_cpu', 'value');
  const fitted = cpu !== null && cpu !== s.workerCpu;
  const p95 = v('sc_sfu_forward_delay', 'p(95)');
  const how = p95 === null ? null : readHow(s, 'sc_sfu_forward_delay', p95);
  return `loss ${pct(v('sc_sfu_receiver_loss', 'rate'))}, delay p50/p95 ${ms(v('sc_sfu_forward_delay', 'p(50)'))} / ${ms(p95)}${how ? ` (${how})` : ''}, worker ${cpu === null ? 'n/a' : `${Math.round(cpu * 100)} %`}${fitted ? ' (fitted)' : ''}`;
};

/** "at the baseline's capacity (966 consumers): now loss …; baseline loss …" */
function describeAtBaselineCapacity(a: NonNullable<BaselineComparison['atBaselineCapacity']>): string {
  return `at the baseline's capacity (${a.consumers} consumers): now ${quality(a.now)}; baseline ${quality(a.baseline)}`;
}

/**
 * What a run knows about the capacity: exactly (a knee), only a lower bound (no knee), or only an upper bound (a knee
 * that moved down on every confirmation: the capacity is at most its last level, maybe below).
 */
type Known = { exact: number } | { atLeast: number } | { atMost: number } | null;

const known = (r: KneeResult): Known =>
  r.status === 'knee'
    ? r.confirmation?.confirmed === false && r.confirmation.exhausted ? { atMost: r.capacity } : { exact: r.capacity }
    : r.status === 'no-knee' ? { atLeast: r.atLeast } : null;

const show = (k: NonNullable<Known>): string => ('exact' in k ? `${k.exact}` : 'atLeast' in k ? `≥ ${k.atLeast}` : `≤ ${k.atMost} (not confirmed)`);

/** Pairs of loads a cost comparison needs, and the share of the baseline's capacity a load must reach to count. */
export const COST_MIN_PAIRS = 4;
export const COST_MIN_LOAD = 0.25;

export interface CostComparison {
  /** Median over this run's steps of its worker CPU over the baseline's fitted CPU at the same consumers. */
  ratio: number;
  pairs: number;
  /** What the ratio costs in consumers at the worker's CPU budget: 1 − 1/ratio (negative: more). */
  impliedDrop: number;
}

const usable = (r: KneeResult) => r.steps.filter((j) => j.judgement.kind !== 'inconclusive').map((j) => j.step);

/**
 * The worker's cost at equal loads: each of this run's steps (≥ COST_MIN_LOAD of the baseline's capacity, below a
 * saturated worker) over the baseline's CPU at its consumers, read off the baseline's steps near that load
 * (cpu-fit.ts); the median of those ratios. The knee moves with the delay's jumps near it and with the host by
 * ±10 %, but the cost at equal loads, paired step by step, moved by 0–6 % between two runs of one SFU, and by
 * 23–43 % with the seeded slowdown. Null with fewer than COST_MIN_PAIRS pairs (an external target: no CPU read).
 */
export function compareCost(current: KneeResult, baseline: KneeResult, extra: readonly SfuStep[] = []): CostComparison | null {
  const base = usable(baseline);
  const floor = (baseline.status === 'knee' ? baseline.capacity : baseline.atLeast ?? 0) * COST_MIN_LOAD;
  const ratios: number[] = [];
  for (const s of [...usable(current), ...extra]) {
    if (s.workerCpu === null || !(s.workerCpu > 0) || s.workerCpu >= CPU_SATURATED || s.consumers < floor) continue;
    const f = fitWorkerCpu(base, s.consumers);
    if (f !== null) ratios.push(s.workerCpu / f.value);
  }
  if (ratios.length < COST_MIN_PAIRS) return null;
  ratios.sort((a, b) => a - b);
  const m = Math.floor(ratios.length / 2);
  const ratio = ratios.length % 2 ? ratios[m]! : (ratios[m - 1]! + ratios[m]!) / 2;
  return { ratio, pairs: ratios.length, impliedDrop: 1 - 1 / ratio };
}

/**
 * `atBaselineCapacity`: this run's step at the baseline's capacity level (the flow measures it), told beside the
 * baseline's own step there. The verdict is the capacity's, and FAIL besides when the worker's cost at equal loads
 * rose by more than the tolerance in consumers (compareCost: a worker that costs 1.23× reaches its CPU budget at
 * 19 % fewer consumers) — evidence of a regression though the knee itself be known only as a bound.
 */
export function compareWithBaseline(current: KneeResult, baseline: KneeResult, tolerance: number, atBaselineCapacity?: SfuStep): BaselineComparison {
  const cap = capacityVerdict(current, baseline, tolerance);
  const cost = compareCost(current, baseline, atBaselineCapacity ? [atBaselineCapacity] : []);
  const c = withCost(cap, cost, tolerance);
  if (atBaselineCapacity === undefined || baseline.status !== 'knee' || baseline.lastGood === null) return c;
  const at = { consumers: baseline.lastGood.consumers, now: atBaselineCapacity, baseline: baseline.lastGood };
  return { ...c, reason: `${c.reason}; ${describeAtBaselineCapacity(at)}`, atBaselineCapacity: at };
}

function withCost(cap: BaselineComparison, cost: CostComparison | null, tolerance: number): BaselineComparison {
  if (cost === null) return { ...cap, cost: null };
  const pct = Math.round(tolerance * 100);
  const told = `the worker's CPU at equal loads ${(cost.ratio * 100).toFixed(0)} % of the baseline's (median of ${cost.pairs} steps)`;
  if (cost.impliedDrop > tolerance) {
    const why = `the worker costs more than the ${pct} % tolerance allows: ${told}, ${(cost.impliedDrop * 100).toFixed(0)} % fewer consumers at its CPU budget`;
    return { verdict: 'FAIL', reason: cap.verdict === 'FAIL' ? `${cap.reason}; and ${why}` : `${why}; ${cap.reason}`, cost };
  }
  return { ...cap, reason: `${cap.reason}; ${told}`, cost };
}

function capacityVerdict(current: KneeResult, baseline: KneeResult, tolerance: number): BaselineComparison {
  if (!(tolerance >= 0 && tolerance < 1)) throw new Error(`tolerance must be within 0..1 (got ${tolerance})`);
  const cur = known(current);
  const base = known(baseline);
  if (cur === null) return { verdict: 'INCONCLUSIVE', reason: `this run found no capacity (${current.status === 'inconclusive' ? current.reason : current.status})` };
  if (base === null) return { verdict: 'INCONCLUSIVE', reason: `the baseline found no capacity (${baseline.status === 'inconclusive' ? baseline.reason : baseline.status})` };
  const pct = Math.round(tolerance * 100);
  const both = `${show(cur)} consumers now, ${show(base)} in the baseline (tolerance ${pct} %)`;
  if ('atMost' in base) return { verdict: 'INCONCLUSIVE', reason: `the baseline's capacity was not confirmed, so a drop from it cannot be told: ${both}` };
  if ('atMost' in cur) {
    const floorB = 'exact' in base ? base.exact : base.atLeast;
    // Even the unconfirmed capacity is below the allowed drop: the capacity is at most that.
    if (cur.atMost < floorB * (1 - tolerance)) return { verdict: 'FAIL', reason: `capacity down by more than ${pct} %: ${both}` };
    return { verdict: 'INCONCLUSIVE', reason: `this run's capacity was not confirmed (at most its last level): ${both}` };
  }
  // The baseline's capacity is at least `floor` (exactly it, for a knee).
  const floor = 'exact' in base ? base.exact : base.atLeast;
  const allowed = floor * (1 - tolerance);
  if ('exact' in cur) {
    if (cur.exact < allowed) return { verdict: 'FAIL', reason: `capacity down by more than ${pct} %: ${both}` };
    if ('exact' in base) return { verdict: 'PASS', reason: `capacity within ${pct} % or above: ${both}` };
    return { verdict: 'INCONCLUSIVE', reason: `the baseline knows only a lower bound above which this run's knee may be a drop: ${both}` };
  }
  // This run found no knee: its capacity is at least cur.atLeast.
  if ('exact' in base && cur.atLeast >= allowed) return { verdict: 'PASS', reason: `capacity not lower: ${both}` };
  if (!('exact' in base) && cur.atLeast >= allowed) return { verdict: 'INCONCLUSIVE', reason: `neither run found its knee: ${both}` };
  return { verdict: 'INCONCLUSIVE', reason: `this run stopped below the baseline's capacity without a knee: ${both}` };
}
