/**
 * The knee search of the SFU capacity benchmark, as a state machine fed with measured steps (so it is tested
 * on recorded step data and driven by the real benchmark alike): step up through the plan's load levels (the flow
 * may lower the next one: capNext) until the first step past the knee, then bisect between the last good and the
 * first bad level until they are adjacent. Capacity is the consumers of the last good step. A step that is INCONCLUSIVE (generator saturated,
 * no media, a measurement missing) ends the step-up with an INCONCLUSIVE result — what lies beyond it is
 * unknown — and ends a bisection where it stands (the knee is then known only within the wider bracket).
 */
import type { SfuBenchBudgets } from '../k6/budgets.js';
import type { SfuStep } from './sfu-step.js';
import { judgeStep, type StepJudgement } from './step-judgement.js';

export interface KneePlan {
  /** The step-up's load levels (rooms), strictly increasing, each ≥ 1; extend() may add more while stepping up. */
  levels: number[];
  /**
   * Confirm the capacity once the bisection is over: its level measured again (the caller merges the new windows with
   * the level's earlier ones) and judged on all of them. Past the knee on that, the level is the new first bad one and
   * the search goes on below it; at most MAX_CONFIRMATIONS times. Default false.
   */
  confirm?: boolean;
}

/** Capacity levels confirmed at most (each failed confirmation moves the knee down one level or more). */
export const MAX_CONFIRMATIONS = 3;

export interface JudgedStep {
  step: SfuStep;
  judgement: StepJudgement;
  phase: 'step-up' | 'bisect' | 'confirm';
}

export type KneeResult =
  | {
      status: 'knee';
      /** Consumers at the last good step (0: even the first level was past the knee). */
      capacity: number;
      lastGood: SfuStep | null;
      firstBad: SfuStep;
      /** complete: the good and bad levels are adjacent; else why the bisection stopped early. */
      bisection: { complete: true } | { complete: false; reason: string };
      /**
       * With KneePlan.confirm: the capacity's level held again and still good (lastGood is then that merged step), or why
       * not. `exhausted`: MAX_CONFIRMATIONS capacities in a row were past the knee when held again — the knee did not
       * hold still, so the last one is no measured capacity (an unconfirmed one, its re-measure disturbed, stands as
       * a search without confirmation would).
       */
      confirmation?: Confirmation;
      steps: JudgedStep[];
    }
  | {
      /** Every level of the plan was within the budgets: the capacity is at least this. */
      status: 'no-knee';
      atLeast: number;
      lastGood: SfuStep;
      steps: JudgedStep[];
    }
  | {
      status: 'inconclusive';
      reason: string;
      /** Consumers of the last good step before it, if any: a lower bound, not a capacity. */
      atLeast: number | null;
      steps: JudgedStep[];
    };

export type Confirmation = { confirmed: true } | { confirmed: false; reason: string; exhausted?: true };

export class KneeSearch {
  private readonly steps: JudgedStep[] = [];
  private phase: 'step-up' | 'bisect' | 'confirm' | 'done' = 'step-up';
  private confirmations = 0;
  private confirmation: Confirmation | null = null;
  private readonly confirm: boolean;
  private index = 0;
  private lastGood: SfuStep | null = null;
  private firstBad: SfuStep | null = null;
  private stopped: string | null = null;
  private inconclusive: string | null = null;
  private asked: number | null = null;

  private readonly levels: number[];

  constructor(plan: KneePlan, private readonly budgets: SfuBenchBudgets) {
    if (plan.levels.length === 0) throw new Error('a knee plan needs at least one level');
    this.confirm = plan.confirm === true;
    this.levels = [];
    this.extend(plan.levels);
  }

  /** The step-up's levels as planned now (extended, and lowered by capNext), increasing. */
  get plan(): readonly number[] {
    return this.levels;
  }

  /** Every planned level was measured good: the step-up would end here (no knee) unless extend() adds levels. */
  get planExhausted(): boolean {
    return this.phase === 'step-up' && this.asked === null && this.index >= this.levels.length;
  }

  /** More step-up levels, above the last planned one (the benchmark re-plans as it learns what the generator costs). */
  extend(levels: readonly number[]): void {
    if (this.phase !== 'step-up') throw new Error('levels can only be added while stepping up');
    for (const v of levels) {
      const i = this.levels.length;
      if (!Number.isInteger(v) || v < 1) throw new Error(`plan level ${i} must be an integer ≥ 1 (got ${v})`);
      if (i > 0 && v <= this.levels[i - 1]!) throw new Error(`plan levels must increase (level ${i}: ${v} after ${this.levels[i - 1]})`);
      this.levels.push(v);
    }
  }

  /**
   * Lower the step-up's next level to `level` (the flow's prediction of where the SFU's worker reaches its aim), at
   * least one above the last good level; levels planned above it stay. Nothing while bisecting or after.
   */
  capNext(level: number): void {
    if (this.phase !== 'step-up' || this.asked !== null) return;
    const next = this.levels[this.index];
    const l = Math.max((this.lastGood?.level ?? 0) + 1, Math.floor(level));
    if (next !== undefined && l < next) this.levels.splice(this.index, 0, l);
  }

  /** The level to measure next, or null when the search is over. Asking again before record() gives the same level. */
  next(): number | null {
    if (this.asked !== null) return this.asked;
    if (this.phase === 'step-up') this.asked = this.levels[this.index] ?? null;
    else if (this.phase === 'bisect') {
      const lo = this.lastGood?.level ?? 0;
      const hi = this.firstBad!.level;
      this.asked = hi - lo > 1 ? Math.floor((lo + hi) / 2) : null;
      if (this.asked === null && this.stopped === null && this.confirm && this.lastGood !== null) {
        if (this.confirmations < MAX_CONFIRMATIONS) {
          this.phase = 'confirm';
          this.asked = this.lastGood.level;
        } else this.confirmation = { confirmed: false, reason: `${MAX_CONFIRMATIONS} capacities in a row failed their confirmation`, exhausted: true };
      }
    } else if (this.phase === 'confirm') this.asked = this.lastGood!.level;
    if (this.asked === null) this.phase = 'done';
    return this.asked;
  }

  /** The capacity's level is being measured again (the caller merges the new windows with its earlier ones). */
  get confirming(): boolean {
    return this.phase === 'confirm';
  }

  /** The measurement of the level next() gave. */
  record(step: SfuStep): StepJudgement {
    if (this.asked === null) throw new Error('record() without a level asked by next()');
    if (step.level !== this.asked) throw new Error(`recorded level ${step.level}, asked ${this.asked}`);
    this.asked = null;
    const judgement = judgeStep(step, this.budgets);
    this.steps.push({ step, judgement, phase: this.phase === 'bisect' || this.phase === 'confirm' ? this.phase : 'step-up' });
    if (this.phase === 'confirm') {
      this.confirmations++;
      if (judgement.kind === 'good') {
        this.lastGood = step;
        this.confirmation = { confirmed: true };
        this.phase = 'done';
      } else if (judgement.kind === 'past-knee') {
        // The level is past the knee after all: the knee lies below it, between the best good level under it and it.
        this.firstBad = step;
        this.lastGood = this.steps.filter((x) => x.judgement.kind === 'good' && x.step.level < step.level).reduce<SfuStep | null>((m, x) => (m === null || x.step.level > m.level ? x.step : m), null);
        this.phase = 'bisect';
        if (this.lastGood === null) this.phase = 'done';
      } else {
        this.confirmation = { confirmed: false, reason: `level ${step.level} (${step.consumers} consumers): ${judgement.reason}` };
        this.phase = 'done';
      }
    } else if (this.phase === 'step-up') {
      if (judgement.kind === 'good') {
        this.lastGood = step;
        this.index++;
      } else if (judgement.kind === 'past-knee') {
        this.firstBad = step;
        this.phase = 'bisect';
      } else {
        this.inconclusive = `level ${step.level} (${step.consumers} consumers): ${judgement.reason}`;
        this.phase = 'done';
      }
    } else {
      if (judgement.kind === 'good') this.lastGood = step;
      else if (judgement.kind === 'past-knee') this.firstBad = step;
      else {
        this.stopped = `level ${step.level} (${step.consumers} consumers): ${judgement.reason}`;
        this.phase = 'done';
      }
    }
    return judgement;
  }

  /** The last level measured good (null: none yet). */
  get lastGoodLevel(): number | null {
    return this.lastGood?.level ?? null;
  }

  /** The search is between its last good and first bad level. */
  get bisecting(): boolean {
    return this.phase === 'bisect';
  }

  get done(): boolean {
    return this.next() === null;
  }

  result(): KneeResult {
    if (!this.done) throw new Error('the search is not over');
    const steps = [...this.steps];
    if (this.inconclusive !== null) return { status: 'inconclusive', reason: this.inconclusive, atLeast: this.lastGood?.consumers ?? null, steps };
    if (this.firstBad === null) return { status: 'no-knee', atLeast: this.lastGood!.consumers, lastGood: this.lastGood!, steps };
    return {
      status: 'knee',
      capacity: this.lastGood?.consumers ?? 0,
      lastGood: this.lastGood,
      firstBad: this.firstBad,
      bisection: this.stopped === null ? { complete: true } : { complete: false, reason: this.stopped },
      ...(this.confirmation !== null ? { confirmation: this.confirmation } : {}),
      steps,
    };
  }
}

/**
 * Drive a search with a measuring function (the benchmark's step runner, or recorded data in a test); bounded
 * by the plan's levels plus the bisection's ⌈log2⌉ steps, and by `maxSteps` besides.
 */
export async function findKnee(search: KneeSearch, measure: (level: number) => Promise<SfuStep>, maxSteps = 64): Promise<KneeResult> {
  for (let n = 0; n < maxSteps; n++) {
    const level = search.next();
    if (level === null) return search.result();
    search.record(await measure(level));
  }
  throw new Error(`the knee search did not end within ${maxSteps} steps`);
}
