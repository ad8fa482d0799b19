/**
 * The search range, from what the generator was measured to cost: two calibration steps give its CPU as a fixed
 * part plus a part per consumer; the largest level is the one whose predicted generator CPU stays within
 * `headroom` of its budget (so the generator never saturates before the SFU does, as far as a line predicts),
 * and the step-up doubles up to it. Pure: unit-tested on recorded steps.
 */
import type { SfuStep } from './sfu-step.js';

export interface GeneratorCost {
  fixed: number;
  perConsumer: number;
}

/** A line through two steps' (consumers, generator CPU); the slope never below a small positive floor. */
export function generatorCost(a: SfuStep, b: SfuStep): GeneratorCost {
  if (a.generatorCpu === null || b.generatorCpu === null) throw new Error('a calibration step without the generator\'s CPU');
  if (b.consumers <= a.consumers) throw new Error(`calibration steps need more consumers in the second (${a.consumers} then ${b.consumers})`);
  const perConsumer = Math.max(1e-5, (b.generatorCpu - a.generatorCpu) / (b.consumers - a.consumers));
  return { perConsumer, fixed: Math.max(0, b.generatorCpu - perConsumer * b.consumers) };
}

export interface LevelPlanOptions {
  cost: GeneratorCost;
  consumersPerRoom: number;
  generatorCpuMax: number;
  /** Share of the generator's budget the plan may reach (default 0.9). */
  headroom?: number;
  /** A cap of the user's (--max-rooms). */
  maxRooms?: number;
}

export function planLevels(o: LevelPlanOptions): { maxRooms: number; levels: number[] } {
  const budget = o.generatorCpuMax * (o.headroom ?? 0.9) - o.cost.fixed;
  const byGenerator = Math.floor(budget / o.cost.perConsumer / o.consumersPerRoom);
  const maxRooms = Math.max(1, Math.min(byGenerator, o.maxRooms ?? Infinity));
  const levels: number[] = [];
  for (let l = 1; l < maxRooms; l *= 2) levels.push(l);
  levels.push(maxRooms);
  return { maxRooms, levels };
}

/**
 * A least-squares line through the good steps' (consumers, generator CPU): two adjacent steps alone give a slope
 * that noise can make anything (a step one room above another moved the prediction by 5×); all of them do not.
 */
export function generatorCostFit(steps: readonly SfuStep[]): GeneratorCost {
  const pts = steps.filter((s) => s.generatorCpu !== null).map((s) => [s.consumers, s.generatorCpu!] as const);
  if (new Set(pts.map(([x]) => x)).size < 2) throw new Error('a cost line needs steps at two loads at least');
  const n = pts.length;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const slope = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const perConsumer = Math.max(1e-5, slope);
  return { perConsumer, fixed: Math.max(0, my - perConsumer * mx) };
}

/**
 * When every planned level was good: more levels, doubling from the last, as far as the generator's cost — now
 * fitted on the good steps so far, at real load — predicts it stays within its budget; then the largest level that
 * does, if between. Empty: the generator cannot drive more (the search ends without a knee).
 */
export function moreLevels(o: { good: readonly SfuStep[]; consumersPerRoom: number; generatorCpuMax: number; headroom?: number; maxRooms?: number }): number[] {
  const b = o.good.reduce((top, s) => (s.level > top.level ? s : top), o.good[0]!);
  const cost = generatorCostFit(o.good);
  const limit = planLevels({ cost, consumersPerRoom: o.consumersPerRoom, generatorCpuMax: o.generatorCpuMax, ...(o.headroom !== undefined ? { headroom: o.headroom } : {}), ...(o.maxRooms !== undefined ? { maxRooms: o.maxRooms } : {}) }).maxRooms;
  const out: number[] = [];
  for (let l = b.level * 2; l < limit; l *= 2) out.push(l);
  if (limit > b.level) out.push(limit);
  return out;
}

/**
 * What the step-up aims a level's SFU worker at, at most: under a full core the worker keeps up, so a level past the
 * knee there is overloaded only mildly. A fully loaded worker is not: its receivers' NACKs and the senders'
 * retransmissions keep the overload going into the next levels (a conference measured 67 rooms at 100 % CPU and
 * 25 % loss after 96 rooms; 87 % and no loss coming up from 64), and a search that doubled into one bisected from it.
 */
export const SFU_CPU_AIM = 0.95;

/**
 * The next step-up level's ceiling: the largest level predicted to bring the worker half the way from the highest good
 * level's CPU to `aim` — a step never closes more than half the gap, so the search nears the aim in a few steps whose
 * extrapolation is short. Predicted two ways, the lower taken: CPU in proportion to rooms (a fixed part makes that
 * predict high, so the level low), and a line through the three highest good levels when it rises (noise at small
 * loads can flatten it). A line fitted at 49 rooms (63.5 %) put a conference's 95 % at 71 rooms, which measured
 * 100 %: the cost per room had risen by a fifth. Null without a good level whose CPU was measured.
 */
export function sfuCeiling(good: readonly SfuStep[], aim = SFU_CPU_AIM): number | null {
  // (level, worker CPU) of each good level, the latest measurement of a level kept.
  const cpuAt = new Map<number, number>();
  for (const s of good) if (s.workerCpu !== null && s.workerCpu > 0) cpuAt.set(s.level, s.workerCpu);
  const top = [...cpuAt].sort(([x], [y]) => y - x).slice(0, 3);
  if (top.length === 0) return null;
  const [level, cpu] = top[0]!;
  const target = cpu + (aim - cpu) / 2;
  if (target <= cpu) return level;
  let ceiling = (level * target) / cpu;
  if (top.length >= 2) {
    const mx = top.reduce((t, [x]) => t + x, 0) / top.length;
    const my = top.reduce((t, [, y]) => t + y, 0) / top.length;
    const slope = top.reduce((t, [x, y]) => t + (x - mx) * (y - my), 0) / top.reduce((t, [x]) => t + (x - mx) ** 2, 0);
    if (slope > 0) ceiling = Math.min(ceiling, level + (target - cpu) / slope);
  }
  return Math.floor(ceiling);
}
