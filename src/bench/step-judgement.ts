/**
 * How one step of the SFU benchmark is judged against the knee budgets: within them (good), past the knee
 * (a budget does not hold, or rooms of the level could not join), or INCONCLUSIVE — the generator saturated (a starved sender or receiver makes its
 * own loss and delay), no media arrived at all or some consumer got none, or a measurement a budget needs is missing. Evidence is
 * looked at first: a step that says nothing about the SFU is never the knee.
 */
import type { Budget, BudgetOp, SfuBenchBudgets } from '../k6/budgets.js';
import { judgedSfuStep, type SfuStep, type SfuStepMetric } from './sfu-step.js';

/** A knee budget that did not hold on a step, with the value measured. */
export interface CrossedBudget {
  metric: string;
  stat: string;
  op: BudgetOp;
  limit: number;
  value: number;
  /** How the value was read when not the step's own: "fitted over 7 windows", "median of 3 windows". */
  read?: string;
}

export type StepJudgement =
  | { kind: 'good' }
  | { kind: 'past-knee'; crossed: CrossedBudget[] }
  | {
      kind: 'inconclusive';
      reason: string;
      /** Disturbed by something passing (another process on the worker's core, the generator's loop late): worth measuring again. */
      disturbed?: true;
    };

const HOLDS: Record<BudgetOp, (v: number, limit: number) => boolean> = {
  '<': (v, l) => v < l,
  '<=': (v, l) => v <= l,
  '>': (v, l) => v > l,
  '>=': (v, l) => v >= l,
  '==': (v, l) => v === l,
};

const pct = (share: number): string => `${(share * 100).toFixed(0)} %`;

export const DEFAULT_WORKER_WAIT_MAX = 0.05;
/** The name a step past the knee for rooms that could not join is reported under. */
export const ROOMS_NOT_JOINED = 'rooms not joined';
export const DEFAULT_GENERATOR_LAG_MAX_MS = 25;

export function judgeStep(step: SfuStep, budgets: SfuBenchBudgets): StepJudgement {
  if (step.generatorCpu === null || !Number.isFinite(step.generatorCpu)) return { kind: 'inconclusive', reason: "the generator's CPU was not measured" };
  if (step.generatorCpu > budgets.generatorCpuMax) {
    return { kind: 'inconclusive', reason: `the generator saturated (${pct(step.generatorCpu)} of its core > ${pct(budgets.generatorCpuMax)})` };
  }
  const waitMax = budgets.workerWaitMax ?? DEFAULT_WORKER_WAIT_MAX;
  if (step.workerWait !== undefined && step.workerWait !== null && step.workerWait > waitMax) {
    return { kind: 'inconclusive', reason: `the SFU worker waited for its core ${pct(step.workerWait)} of the step (> ${pct(waitMax)}): other work ran there`, disturbed: true };
  }
  const lagMax = budgets.generatorLagMaxMs ?? DEFAULT_GENERATOR_LAG_MAX_MS;
  if (step.generatorLagP99Ms !== undefined && step.generatorLagP99Ms !== null && step.generatorLagP99Ms > lagMax) {
    return { kind: 'inconclusive', reason: `the generator's event loop ran ${step.generatorLagP99Ms.toFixed(0)} ms late (p99 > ${lagMax} ms): its receivers stamped arrivals late by as much`, disturbed: true };
  }
  // Rooms refused at this load (an ICE check or a request unanswered, every attempt), the generator not to blame
  // (checked above): the SFU stopped admitting participants, whatever the rooms in place measured.
  if (step.roomsNotJoined) return { kind: 'past-knee', crossed: [{ metric: ROOMS_NOT_JOINED, stat: 'count', op: '==', limit: 0, value: step.roomsNotJoined }] };
  if (step.packets <= 0) return { kind: 'inconclusive', reason: 'no media arrived at the receivers' };
  if (step.wantedConsumers !== undefined && step.consumers < step.wantedConsumers) {
    return { kind: 'inconclusive', reason: `only ${step.consumers} of the ${step.wantedConsumers} consumers the level asks for were set up: the load measured is not the level's` };
  }
  if (step.silentConsumers > 0) return { kind: 'inconclusive', reason: `${step.silentConsumers} of ${step.consumers} consumers received nothing` };
  const crossed: CrossedBudget[] = [];
  for (const b of budgets.knee) {
    const v = judgedSfuStep(step, b.metric, b.stat);
    if (v === null) return { kind: 'inconclusive', reason: `${describe(b)}: not measured` };
    if (!HOLDS[b.op](v, b.value)) {
      const read = readHow(step, b.metric, v);
      crossed.push({ metric: b.metric, stat: b.stat, op: b.op, limit: b.value, value: v, ...(read ? { read } : {}) });
    }
  }
  return crossed.length > 0 ? { kind: 'past-knee', crossed } : { kind: 'good' };
}

const describe = (b: Pick<Budget, 'metric' | 'stat'>): string => `${b.metric} ${b.stat}`;

/** How judgedSfuStep read a value that is not the step's own (null: its own). */
export function readHow(step: SfuStep, metric: SfuStepMetric, v: number): string | null {
  if (metric === 'sc_sfu_worker_cpu') {
    const f = step.workerCpuFitted;
    return f !== undefined && f.value === v && step.workerCpu !== v ? `fitted over ${f.windows} windows at ${f.loads} loads; the step's own ${pct(step.workerCpu ?? 0)}` : null;
  }
  return step.windowMedian && step.windowMedian.windows > 1 ? `median of ${step.windowMedian.windows} windows` : null;
}

/** "sc_sfu_receiver_loss rate 0.023 (budget <= 0.01)" for each crossed budget. */
export function describeCrossed(c: CrossedBudget[]): string {
  return c.map((x) => `${describe(x)} ${+x.value.toFixed(4)} (budget ${x.op} ${x.limit}${x.read ? `; ${x.read}` : ''})`).join('; ');
}
