/**
 * `threshold`: a budget on one phase, `stat(select) op value`, judged only when the phase holds enough
 * attempts (the probe's attempt markers, counted where each request started — not emitted zeros).
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { PhasePattern, SelectorSchema, StatSchema, attemptsSelector, calibrationProblem, compare, fmt, foldPhases, hypothesisBase, label, statValue, type EvaluationInput, type KindResult, phasesFor } from '../common.js';

/** k6's names (and the harness's sum, perSecond): verdicts/common.ts. */
export { STATS } from '../common.js';
export const OPS = ['<', '<=', '>', '>=', '=='] as const;

export const ThresholdSchema = z.object({
  kind: z.literal('threshold').default('threshold'),
  ...hypothesisBase,
  phase: PhasePattern,
  select: SelectorSchema,
  stat: StatSchema,
  op: z.enum(OPS),
  value: z.number(),
  unit: z.enum(['ms', 'ratio', 'count', 's']).default('count'),
  /** What counts as one attempt (default: the probe's attempt markers when `select` names a probe, else `select`'s samples). */
  attempts: SelectorSchema.optional(),
  /** Fewer attempts than this in a phase → INCONCLUSIVE. */
  minAttempts: z.number().int().min(1).default(10),
}).strict();
export type ThresholdHypothesis = z.output<typeof ThresholdSchema>;

export function thresholdSelectors(h: ThresholdHypothesis): SeriesSelector[] {
  return [h.select, attemptsSelector(h.select, h.attempts)];
}

export function evaluateThreshold(h: ThresholdHypothesis, i: EvaluationInput): KindResult {
  // As k6 writes a threshold: `metric{tags}: p(95) < 1000 ms`.
  const expected = `${label(h.select)}: ${h.stat} ${h.op} ${fmt(h.value, h.unit)}`;
  const phases = phasesFor(h.phase, i);
  if (phases.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run (was the fault applied?)` };
  const att = attemptsSelector(h.select, h.attempts);
  const results = phases.map((p) => {
    const cal = calibrationProblem(p.faultId, i.calibration);
    if (cal) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: cal };
    const attempts = i.source.stats(att, p.id).count;
    if (attempts < h.minAttempts) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: ${attempts} attempts of ${label(att)} (need ${h.minAttempts})` };
    const s = i.source.stats(h.select, p.id);
    const v = statValue(s, h.stat);
    if (v === null) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: ${attempts} attempts but no sample of ${label(h.select)} to compute ${h.stat}` };
    const ok = compare(v, h.op, h.value);
    return { phase: p.id, verdict: ok ? 'PASS' as const : 'FAIL' as const, observed: v, evidence: `${p.id}: ${h.stat} = ${fmt(v, h.unit)} over ${s.count} samples, ${attempts} attempts (${ok ? 'meets' : 'breaks'} ${h.op} ${fmt(h.value, h.unit)})` };
  });
  return { expected, ...foldPhases(h.phase, results) };
}
