/**
 * `recovers`: after a fault is removed, `stat(select)` comes back within tolerance of its baseline within
 * `withinS`, and stays back for the rest of that fault's recovery phase (a relapse — two consecutive
 * windows past the limit — is a FAIL, its windows named). No applied fault, or a baseline with nothing to come back to, is INCONCLUSIVE.
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { isCycleOf } from '../../experiment/schedule.js';
import { SelectorSchema, StatSchema, attemptsSelector, calibrationProblem, fmt, hypothesisBase, label, seconds, statValue, worst, type EvaluationInput, type KindResult } from '../common.js';

export const RecoversSchema = z.object({
  kind: z.literal('recovers'),
  ...hypothesisBase,
  /** A fault id, or `*` for every fault of the timeline. */
  fault: z.string().regex(/^([a-z0-9][a-z0-9-]*(#[1-9]\d*)?|\*)$/, 'a fault id, one cycle of it (redis#2), or *'),
  select: SelectorSchema,
  stat: StatSchema,
  /** Back means: for latency stats ≤ baseline × factor + slack; for `rate` ≥ baseline − slack. */
  factor: z.number().positive().default(1.5),
  /** Default: 50 (ms) for latency stats, 0.05 for rate. */
  slack: z.number().min(0).optional(),
  /** How soon after the removal it must be back (a duration: 15s, or seconds). */
  withinS: seconds({ positive: true }),
  /** Window the statistic is computed over while scanning (s). */
  windowS: seconds({ positive: true }).default(3),
  /** Attempts a window needs to be judged; the baseline needs `minAttempts` × 3. */
  minAttempts: z.number().int().min(1).default(3),
}).strict();
export type RecoversHypothesis = z.output<typeof RecoversSchema>;

/** Left out of the stay-back scan before a next fault: its requests may already feel that fault. */
const NEXT_FAULT_GUARD_MS = 5000;

export function recoversSelectors(h: RecoversHypothesis): SeriesSelector[] {
  return [h.select, attemptsSelector(h.select)];
}

export function evaluateRecovers(h: RecoversHypothesis, i: EvaluationInput): KindResult {
  const isRate = h.stat === 'rate';
  const slack = h.slack ?? (isRate ? 0.05 : 50);
  const unit = isRate ? 'ratio' : 'ms';
  const expected = isRate
    ? `${label(h.select)}: ${h.stat} back to ≥ baseline − ${slack} within ${h.withinS} s and stays back`
    : `${label(h.select)}: ${h.stat} back to ≤ baseline × ${h.factor} + ${slack} within ${h.withinS} s and stays back`;
  const phase = h.fault === '*' ? 'recovery:*' : `recovery:${h.fault}`;
  const out = (verdict: KindResult['verdict'], observed: number | null, evidence: string): KindResult => ({ verdict, observed, expected, phase, evidence });
  const att = attemptsSelector(h.select);
  const baseline = i.source.stats(h.select, 'baseline');
  const baseAttempts = i.source.stats(att, 'baseline').count;
  const b = statValue(baseline, h.stat);
  if (b === null || baseAttempts < h.minAttempts * 3) return out('INCONCLUSIVE', null, `baseline: ${baseAttempts} attempts of ${label(att)} (need ${h.minAttempts * 3})`);
  // A baseline of zero successes (or zero latency) is a probe that never worked: nothing to come back to.
  if (b === 0) return out('INCONCLUSIVE', null, `baseline ${h.stat} of ${label(h.select)} is 0: the probe never worked before the fault, so recovery proves nothing`);
  const limit = isRate ? b - slack : b * h.factor + slack;
  // A repeating fault's id names each of its cycles (redis, redis#2, …): each is judged.
  const cycles = Object.keys(i.removedAtMs).filter((id) => isCycleOf(id, h.fault));
  const faults = h.fault === '*' ? Object.keys(i.removedAtMs) : cycles.length ? cycles : [h.fault];
  if (faults.length === 0) return out('INCONCLUSIVE', null, 'no fault was applied: nothing to recover from');
  const win = h.windowS * 1000;
  const isBack = (v: number) => (isRate ? v >= limit : v <= limit);
  const per = faults.map((fid) => {
    const removed = i.removedAtMs[fid];
    if (removed === undefined) return { verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${fid}: never applied, or never removed` };
    const cal = calibrationProblem(fid, i.calibration);
    if (cal) return { verdict: 'INCONCLUSIVE' as const, observed: null, evidence: cal };
    const recovery = i.phases.find((p) => p.id === `recovery:${fid}`);
    const phaseEnd = Math.min(recovery?.endMs ?? removed + h.withinS * 1000, i.runEndMs);
    const judged = (t: number) => {
      const s = i.source.windowStats(h.select, t, t + win);
      const v = statValue(s, h.stat);
      return v === null || i.source.windowStats(att, t, t + win).count < h.minAttempts ? null : v;
    };
    // Scan 1 s steps from the removal: the first window whose statistic is back is the recovery time.
    let sawData = false;
    let backAt: number | null = null;
    for (let t = removed; t + win <= Math.min(removed + (h.withinS + h.windowS) * 1000, i.runEndMs + 1); t += 1000) {
      const v = judged(t);
      if (v === null) continue;
      sawData = true;
      if (isBack(v) && t - removed <= h.withinS * 1000) {
        backAt = t;
        break;
      }
    }
    if (backAt === null) {
      if (!sawData) return { verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${fid}: not enough attempts after the removal to judge (run ended or workload idle)` };
      // Not back by the end of the run, but the run ended before the time the check allows: it may yet come back.
      if (i.runEndMs < removed + h.withinS * 1000) return { verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${fid}: not back when the run ended ${((i.runEndMs - removed) / 1000).toFixed(0)} s after the removal, before the ${h.withinS} s the check allows (a longer recovery phase can tell)` };
      const after = statValue(i.source.windowStats(h.select, removed, Math.min(removed + h.withinS * 1000, i.runEndMs)), h.stat);
      return { verdict: 'FAIL' as const, observed: null, evidence: `${fid}: not back within ${h.withinS} s (${h.stat} over that time ${fmt(after ?? NaN, unit)} vs limit ${fmt(limit, unit)})` };
    }
    const secs = (backAt - removed) / 1000;
    // Then it must stay back to the end of the recovery phase: a relapse is two consecutive windows past the
    // limit (one window of a few samples is noise). When the next fault cuts the phase, its last seconds are
    // left out: requests started there may already feel that fault (they count where they started).
    const cutByNextFault = recovery !== undefined && recovery.endMs < removed + h.withinS * 1000 + h.windowS * 1000 && recovery.endMs < i.runEndMs;
    const until = phaseEnd - (cutByNextFault ? NEXT_FAULT_GUARD_MS : 0);
    let bad: { t: number; v: number } | null = null;
    for (let t = backAt + win; t + win <= until; t += win) {
      const v = judged(t);
      if (v === null || isBack(v)) {
        bad = null;
        continue;
      }
      if (bad) {
        return { verdict: 'FAIL' as const, observed: secs, evidence: `${fid}: back after ${secs} s, then relapsed in [+${((bad.t - removed) / 1000).toFixed(0)} s, +${((t + win - removed) / 1000).toFixed(0)} s) (${h.stat} ${fmt(bad.v, unit)} then ${fmt(v, unit)} vs limit ${fmt(limit, unit)})` };
      }
      bad = { t, v };
    }
    return { verdict: 'PASS' as const, observed: secs, evidence: `${fid}: back after ${secs} s and stayed back to the end of its recovery phase (${h.stat} baseline ${fmt(b, unit)}, limit ${fmt(limit, unit)})` };
  });
  const verdict = worst(per.map((p) => p.verdict));
  const observed = per.every((p) => p.observed !== null) ? Math.max(...per.map((p) => p.observed as number)) : null;
  return out(verdict, observed, per.map((p) => p.evidence).join('; '));
}
