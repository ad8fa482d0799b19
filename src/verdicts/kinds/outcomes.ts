/**
 * `outcomes`: of a probe's attempts in a phase, the share whose outcome class is one the check accepts.
 * An attempt with no outcome at all (its request never answered, not even by k6's timeout) is a hang;
 * the classes the check does not accept are counted in its evidence, so a 429 is never read as
 * "revoked token refused".
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { phasesMatching } from '../../experiment/phases.js';
import { OUTCOME_CLASSES, type OutcomeClass } from '../../../scenarios/lib/outcomes.ts';
import { ATTEMPT_METRIC, OUTCOME_METRIC, PhasePattern, calibrationProblem, foldPhases, hypothesisBase, type EvaluationInput, type KindResult } from '../common.js';

export const OutcomesSchema = z.object({
  kind: z.literal('outcomes'),
  ...hypothesisBase,
  phase: PhasePattern,
  /** The probe (its `probe` tag) whose attempts are judged. */
  probe: z.string().regex(/^[a-z_]+$/, 'a probe name (scenarios/probes.ts)'),
  /** The outcome classes that satisfy the check (scenarios/lib/outcomes.ts). */
  accept: z.array(z.enum(OUTCOME_CLASSES)).min(1),
  /** The least share of attempts with an accepted outcome (0..1). */
  share: z.number().min(0).max(1).default(1),
  minAttempts: z.number().int().min(1).default(10),
}).strict();
export type OutcomesHypothesis = z.output<typeof OutcomesSchema>;

const attemptSel = (probe: string): SeriesSelector => ({ metric: ATTEMPT_METRIC, tags: { probe } });
const outcomeSel = (probe: string, c: OutcomeClass): SeriesSelector => ({ metric: OUTCOME_METRIC, tags: { class: c, probe } });

export function outcomesSelectors(h: OutcomesHypothesis): SeriesSelector[] {
  return [attemptSel(h.probe), ...OUTCOME_CLASSES.map((c) => outcomeSel(h.probe, c))];
}

/** Attempts of a probe in one phase, by class (unanswered attempts counted as `hang`). */
export function outcomeCounts(i: EvaluationInput, probe: string, phaseId: string): { attempts: number; byClass: Partial<Record<OutcomeClass, number>>; unanswered: number } {
  const attempts = i.source.stats(attemptSel(probe), phaseId).count;
  const byClass: Partial<Record<OutcomeClass, number>> = {};
  let answered = 0;
  for (const c of OUTCOME_CLASSES) {
    const n = i.source.stats(outcomeSel(probe, c), phaseId).count;
    if (n > 0) byClass[c] = n;
    answered += n;
  }
  const unanswered = Math.max(0, attempts - answered);
  if (unanswered > 0) byClass.hang = (byClass.hang ?? 0) + unanswered;
  return { attempts, byClass, unanswered };
}

export function evaluateOutcomes(h: OutcomesHypothesis, i: EvaluationInput): KindResult {
  const expected = `share of ${h.probe} attempts that are ${h.accept.join(' | ')} ≥ ${h.share}`;
  const phases = h.phase === 'run' ? [{ id: 'run', faultId: undefined }] : phasesMatching(h.phase, i.phases);
  if (phases.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run (was the fault applied?)` };
  const results = phases.map((p) => {
    const cal = calibrationProblem(p.faultId, i.calibration);
    if (cal) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: cal };
    const { attempts, byClass, unanswered } = outcomeCounts(i, h.probe, p.id);
    const classes = Object.entries(byClass).map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
    if (attempts < h.minAttempts) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: ${attempts} attempts of ${h.probe} (need ${h.minAttempts}); outcomes: ${classes}` };
    const good = h.accept.reduce((t, c) => t + (byClass[c] ?? 0), 0);
    const share = good / attempts;
    const ok = share >= h.share;
    return { phase: p.id, verdict: ok ? 'PASS' as const : 'FAIL' as const, observed: share, evidence: `${p.id}: ${good}/${attempts} ${h.probe} attempts accepted (${(share * 100).toFixed(1)} %, need ${(h.share * 100).toFixed(1)} %); outcomes: ${classes}${unanswered ? ` (${unanswered} never answered)` : ''}` };
  });
  return { expected, ...foldPhases(h.phase, results) };
}
