/**
 * The SFU capacity benchmark's flow, over any step measurer (synthetic participants on a real SFU, or recorded
 * steps in a test): calibrate the generator's cost on two small levels, plan the search range from it
 * (level-plan.ts), step up — each level at most half the way from the SFU worker's last good CPU to SFU_CPU_AIM of
 * its core (sfuCeiling), so the first level past the knee is not a saturated SFU — and bisect to the knee
 * (knee-search.ts), compare with a baseline run if given (baseline.ts) and give the verdict. A bisection step is
 * measured over two windows and decided on them together.
 * Bounded: the plan's levels plus the bisection's steps.
 */
import type { SfuBenchBudgets } from '../k6/budgets.js';
import type { Verdict } from '../results/model.js';
import { compareWithBaseline, type BaselineComparison } from './baseline.js';
import { capacityText } from './bench-result.js';
import { KneeSearch, type KneeResult } from './knee-search.js';
import { generatorCost, moreLevels, planLevels, sfuCeiling, SFU_CPU_AIM, type GeneratorCost } from './level-plan.js';
import { mergeSteps } from './merge-steps.js';
import type { SfuStep } from './sfu-step.js';
import { describeCrossed, judgeStep, type StepJudgement } from './step-judgement.js';
import { fitWorkerCpu } from './cpu-fit.js';

export interface MeasureHints { afterOverload?: boolean; settleAt?: number; settleCpu?: number }

export interface SfuBenchFlowOptions {
  /**
   * `afterOverload`: the step measured before was past the knee; `settleAt`: then the last level measured good (0:
   * none), which the measurer returns to and holds before it goes up to `level`, so the level is approached from
   * below as in the step-up, not from an overload (a conference of 4 measured 67 rooms at 100 % CPU and 25 % loss
   * coming down from 96, 87 % and no loss coming up from 64: the SFU's NACKs and the senders' retransmissions keep an
   * overload going); `settleCpu`: what the worker's CPU was at `settleAt` when measured good, which the measurer waits
   * for there (bounded) before going up.
   */
  measure: (level: number, o?: MeasureHints) => Promise<SfuStep>;
  consumersPerRoom: number;
  budgets: SfuBenchBudgets;
  /** The two calibration levels (rooms), the second larger. */
  calibrationLevels?: [number, number];
  maxRooms?: number;
  /** The baseline run's search result, for the regression check. */
  baseline?: KneeResult;
  /** Steps of the search at most (calibration aside). */
  maxSteps?: number;
  /** How often a disturbed step is measured again before it counts (default 2). */
  remeasure?: number;
  /**
   * Windows a bisection step is measured over, merged into one step (merge-steps.ts; default 2): the knee's side of
   * a level is decided on their pooled delays and mean load, so one window's passing spike or a few points of CPU do
   * not move it.
   */
  bisectWindows?: number;
  /**
   * Windows the capacity's level is measured again over once the bisection is over (default 3; 0: no confirmation),
   * judged with its earlier ones: the capacity reported holds over ~5 windows, and its quality is theirs. A level past
   * the knee on them moves the knee below it (knee-search.ts KneePlan.confirm).
   */
  confirmWindows?: number;
  /** The step-up's aim for the SFU worker's CPU (default SFU_CPU_AIM; null: doubling only, as far as the plan goes). */
  sfuCpuAim?: number | null;
  onStep?: (what: string, step: SfuStep) => void;
}

export interface SfuBenchFlowResult {
  calibration: { steps: SfuStep[]; cost: GeneratorCost; maxRooms: number; levels: number[] };
  result: KneeResult;
  verdict: Verdict;
  reason: string;
  baseline?: BaselineComparison;
}

export async function runSfuBenchFlow(o: SfuBenchFlowOptions): Promise<SfuBenchFlowResult> {
  // Two small levels (within --max-rooms: at least 2 rooms, so the cost has a slope).
  const [l1, l2] = o.calibrationLevels ?? [1, Math.max(2, Math.min(3, o.maxRooms ?? 3))];
  const a = await o.measure(l1);
  o.onStep?.('calibration', a);
  const b = await o.measure(l2);
  o.onStep?.('calibration', b);
  const cost = generatorCost(a, b);
  const plan = planLevels({ cost, consumersPerRoom: o.consumersPerRoom, generatorCpuMax: o.budgets.generatorCpuMax, ...(o.maxRooms !== undefined ? { maxRooms: o.maxRooms } : {}) });
  const confirmWindows = o.confirmWindows ?? 3;
  const search = new KneeSearch({ levels: plan.levels, confirm: confirmWindows > 0 }, o.budgets);
  // Every window measured, by level: a confirmation is judged on the level's windows, earlier and new.
  const measured = new Map<number, SfuStep[]>();
  // Every window, for the worker's CPU read off the windows near a step's load (cpu-fit.ts).
  const all: SfuStep[] = [a, b];
  const good: SfuStep[] = [];
  const aim = o.sfuCpuAim === undefined ? SFU_CPU_AIM : o.sfuCpuAim;
  let lastJudgement: string | null = null;
  for (let n = 0; n < (o.maxSteps ?? 40); n++) {
    if (search.planExhausted && good.length >= 2) {
      const more = moreLevels({ good, consumersPerRoom: o.consumersPerRoom, generatorCpuMax: o.budgets.generatorCpuMax, ...(o.maxRooms !== undefined ? { maxRooms: o.maxRooms } : {}) });
      search.extend(more);
    }
    const ceiling = aim === null ? null : sfuCeiling([a, b, ...good], aim);
    if (ceiling !== null) search.capNext(ceiling);
    const level = search.next();
    if (level === null) break;
    const count = search.confirming ? confirmWindows : search.bisecting ? (o.bisectWindows ?? 2) : 1;
    const windows = await measureWindows(o, level, count, afterOverload(lastJudgement, search.lastGoodLevel ?? 0, good));
    const earlier = search.confirming ? (measured.get(level) ?? []) : [];
    all.push(...windows);
    let s = withFit(mergeSteps(...earlier, ...windows), all);
    // Past the knee on loss or delay alone: the level is held, a window at a time, till QUALITY_AGREE of its windows
    // agree on those budgets (QUALITY_WINDOWS_MAX at most), and judged on its median window — a knee where most
    // windows break the budget, not where one or two stalled (stalls came in runs of up to three windows).
    if (qualityOnly(judgeStep(s, o.budgets))) {
      o.onStep?.('quality?', s);
      for (let n = earlier.length + windows.length; n < QUALITY_WINDOWS_MAX; n++) {
        const bad = [...earlier, ...windows].filter((w) => qualityBroken(w, o.budgets)).length;
        if (bad >= QUALITY_AGREE || n - bad >= QUALITY_AGREE) break;
        const extra = await measureWindows(o, level, 1, {});
        windows.push(...extra);
        all.push(...extra);
      }
      s = withFit(mergeSteps(...earlier, ...windows), all);
    }
    measured.set(level, [...(measured.get(level) ?? []), ...windows]);
    o.onStep?.(search.confirming ? 'confirm' : search.bisecting ? 'bisect' : 'step', s);
    lastJudgement = search.record(s).kind;
    if (lastJudgement === 'good') good.push(s);
  }
  if (!search.done) throw new Error(`the knee search did not end within ${o.maxSteps ?? 40} steps`);
  const result = search.result();
  const calibration = { steps: [a, b], cost, maxRooms: Math.max(...search.plan), levels: [...search.plan] };
  const own = verdictOf(result, o.budgets);
  if (!o.baseline) return { calibration, result, ...own };
  // Quality at the same load as the baseline's: its capacity level held here too (approached from below), merged
  // with any windows this run measured there.
  let atBaseline: SfuStep | undefined;
  const bl = o.baseline.status === 'knee' ? o.baseline.lastGood : null;
  // Held when it is at most this run's first bad level, or the capacities are near (within twice the tolerance): a
  // verdict near the line is told with the quality at the baseline's load, which is where two sittings of one SFU
  // differ (one webinar run measured 20 % below another). A clear drop is not: beyond this run's knee the SFU is only
  // overloaded further (rooms stop joining, which takes minutes to find out), told nothing the capacity does not.
  const near = (r: Extract<KneeResult, { status: 'knee' }>, b: SfuStep) => r.capacity >= b.consumers * (1 - 2 * o.budgets.baselineTolerance);
  const reachable = result.status === 'no-knee' || (result.status === 'knee' && bl !== null && (bl.level <= result.firstBad.level || near(result, bl)));
  if (bl !== null && reachable && confirmWindows > 0) {
    const windows = await measureWindows(o, bl.level, confirmWindows, afterOverload(lastJudgement, Math.min(search.lastGoodLevel ?? 0, bl.level), good));
    const at = mergeSteps(...(measured.get(bl.level) ?? []), ...windows);
    o.onStep?.('at-baseline', at);
    // A load this run could not measure (its generator saturated, say) tells nothing of the SFU: left out.
    if (judgeStep(at, o.budgets).kind !== 'inconclusive') atBaseline = at;
  }
  const baseline = compareWithBaseline(result, o.baseline, o.budgets.baselineTolerance, atBaseline);
  return { calibration, result, verdict: baseline.verdict, reason: `${baseline.reason} (${own.reason})`, baseline };
}

/** Windows of a level past the knee on loss or delay alone that must agree, and the windows it is held for at most. */
export const QUALITY_AGREE = 3;
export const QUALITY_WINDOWS_MAX = 5;

const isQuality = (metric: string) => metric === 'sc_sfu_receiver_loss' || metric === 'sc_sfu_forward_delay';

/** Past the knee on loss or delay alone (the worker's CPU and the rooms' joining within their budgets). */
function qualityOnly(j: StepJudgement): boolean {
  return j.kind === 'past-knee' && j.crossed.every((c) => isQuality(c.metric));
}

/** One window breaks a loss or delay budget (a window that says nothing of the SFU does not). */
function qualityBroken(w: SfuStep, budgets: SfuBenchBudgets): boolean {
  return judgeStep(w, { ...budgets, knee: budgets.knee.filter((b) => isQuality(b.metric)) }).kind === 'past-knee';
}

/** The step with the worker's CPU at its load read off every window near it (unchanged when too few are). */
function withFit(s: SfuStep, windows: readonly SfuStep[]): SfuStep {
  const f = fitWorkerCpu(windows, s.consumers);
  return f === null ? s : { ...s, workerCpuFitted: f };
}

/**
 * After a step past the knee, the next level is approached from `settleAt` (the last level measured good), the worker
 * given till it costs there what it did when measured good (the latest good step of that level).
 */
function afterOverload(lastJudgement: string | null, settleAt: number, good: readonly SfuStep[]): MeasureHints {
  if (lastJudgement !== 'past-knee') return {};
  const cpu = [...good].reverse().find((s) => s.level === settleAt)?.workerCpu;
  return { afterOverload: true, settleAt, ...(cpu !== undefined && cpu !== null ? { settleCpu: cpu } : {}) };
}

/** `count` windows of a level, each clean (measureClean); the hints apply to the first, the level's approach. */
async function measureWindows(o: SfuBenchFlowOptions, level: number, count: number, first: MeasureHints): Promise<SfuStep[]> {
  const windows = [await measureClean(o, level, first)];
  while (windows.length < count) {
    o.onStep?.('window', windows[windows.length - 1]!);
    windows.push(await measureClean(o, level, {}));
  }
  return windows;
}

/**
 * One window of a level; a disturbed one (another process on the worker's core, the generator's loop late) is
 * measured again, a bounded number of times, before it counts: on a shared machine the disturbance passes, the
 * SFU's load stays.
 */
async function measureClean(o: SfuBenchFlowOptions, level: number, m: MeasureHints): Promise<SfuStep> {
  let s = await o.measure(level, m);
  for (let again = 0; again < (o.remeasure ?? 2); again++) {
    const j = judgeStep(s, o.budgets);
    if (j.kind !== 'inconclusive' || !j.disturbed) break;
    o.onStep?.('disturbed', s);
    s = await o.measure(level, m);
  }
  return s;
}

/**
 * The run's own verdict: a knee is a measured capacity (PASS); a bound, a stopped search or a knee that moved down on
 * every confirmation (MAX_CONFIRMATIONS capacities in a row past the knee when held again) is not (INCONCLUSIVE).
 */
export function verdictOf(r: KneeResult, budgets: SfuBenchBudgets): { verdict: Verdict; reason: string } {
  const quality = budgets.knee.map((b) => `${b.metric} ${b.stat} ${b.op} ${b.value}`).join(', ');
  if (r.status === 'knee') {
    const past = r.firstBad ? ` first past it at ${r.firstBad.consumers} consumers: ${describeKnee(r)}` : '';
    const bis = r.bisection.complete ? '' : ` (bisection stopped early: ${r.bisection.reason})`;
    const held = r.lastGood?.windowS !== undefined ? ` over ${Math.round(r.lastGood.windowS)} s` : '';
    const conf = r.confirmation === undefined ? '' : r.confirmation.confirmed ? ` (confirmed: held again, within budget${held})` : ` (not confirmed: ${r.confirmation.reason})`;
    if (r.confirmation?.confirmed === false && r.confirmation.exhausted) {
      return { verdict: 'INCONCLUSIVE', reason: `no capacity held still: ${r.confirmation.reason} (the last, ${r.capacity} consumers, not confirmed);${past}${bis}` };
    }
    return { verdict: 'PASS', reason: `capacity = ${r.capacity} consumers per worker core at ${quality}${conf};${past}${bis}` };
  }
  if (r.status === 'no-knee') return { verdict: 'INCONCLUSIVE', reason: `capacity ${capacityText(r)} consumers: every level the generator could drive (below its ${Math.round(budgets.generatorCpuMax * 100)} % of a core) was within ${quality}` };
  return { verdict: 'INCONCLUSIVE', reason: `no capacity measured: ${r.reason}` };
}

function describeKnee(r: Extract<KneeResult, { status: 'knee' }>): string {
  const j = r.steps.find((s) => s.step === r.firstBad)?.judgement;
  return j?.kind === 'past-knee' ? describeCrossed(j.crossed) : 'past the knee';
}
