/**
 * `outcomes`: of a probe's attempts in a phase, the share whose outcome class is one the check accepts.
 * An attempt with no outcome at all (its request never answered, not even by k6's timeout) is a hang;
 * the classes the check does not accept are counted in its evidence, so a 429 is never read as
 * "revoked token refused".
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { OUTCOME_CLASSES, type OutcomeClass } from '../../../scenarios/lib/outcomes.ts';
import { ATTEMPT_METRIC, OUTCOME_METRIC, PhasePattern, calibrationProblem, foldPhases, hypothesisBase, type EvaluationInput, type KindResult, phasesFor } from '../common.js';

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
  /**
   * Classes that say nothing about this claim and are left out of the attempts (a 429 from a rate limiter
   * says nothing about an origin check): what remains must still reach minAttempts.
   */
  ignore: z.array(z.enum(OUTCOME_CLASSES)).default([]),
}).strict();
export type OutcomesHypothesis = z.output<typeof OutcomesSchema>;

const attemptSel = (probe: string): SeriesSelector => ({ metric: ATTEMPT_METRIC, tags: { probe } });
const outcomeSel = (probe: string, c: OutcomeClass): SeriesSelector => ({ metric: OUTCOME_METRIC, tags: { class: c, probe } });

export function outcomesSelectors(h: OutcomesHypothesis): SeriesSelector[] {
  return [attemptSel(h.probe), ...OUTCOME_CLASSES.map((c) => outcomeSel(h.probe, c))];
}

/**
 * How long after its start an attempt must have had an answer: the probes' request timeout (15 s) plus a
 * margin. An attempt started later than this before the run's end and never answered was cut off by the
 * end of the run (an interrupted run stops k6 mid-request): not a hang, and not counted.
 */
export const ANSWER_WINDOW_MS = 20_000;

/** Attempts of a probe in one phase, by class (unanswered attempts counted as `hang`, those cut off by the run's end left out). */
export function outcomeCounts(i: EvaluationInput, probe: string, phase: { id: string; startMs: number; endMs: number }): { attempts: number; byClass: Partial<Record<OutcomeClass, number>>; unanswered: number; cutOff: number } {
  const count = (sel: SeriesSelector, late: boolean) => (late ? i.source.windowStats(sel, Math.max(phase.startMs, i.runEndMs - ANSWER_WINDOW_MS), phase.endMs).count : i.source.stats(sel, phase.id).count);
  const tally = (late: boolean) => {
    const byClass: Partial<Record<OutcomeClass, number>> = {};
    let answered = 0;
    for (const c of OUTCOME_CLASSES) {
      const n = count(outcomeSel(probe, c), late);
      if (n > 0) byClass[c] = n;
      answered += n;
    }
    return { attempts: count(attemptSel(probe), late), byClass, answered };
  };
  const all = tally(false);
  // Attempts near the run's end with no answer yet: the run ended, not the target.
  const late = phase.endMs > i.runEndMs - ANSWER_WINDOW_MS ? tally(true) : { attempts: 0, answered: 0 };
  const cutOff = Math.max(0, late.attempts - late.answered);
  const attempts = all.attempts - cutOff;
  const unanswered = Math.max(0, attempts - all.answered);
  if (unanswered > 0) all.byClass.hang = (all.byClass.hang ?? 0) + unanswered;
  return { attempts, byClass: all.byClass, unanswered, cutOff };
}

export function evaluateOutcomes(h: OutcomesHypothesis, i: EvaluationInput): KindResult {
  const expected = `share of ${h.probe} attempts that are ${h.accept.join(' | ')} ≥ ${h.share}`;
  const phases = phasesFor(h.phase, i);
  if (phases.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run (was the fault applied?)` };
  const results = phases.map((p) => {
    const cal = calibrationProblem(p.faultId, i.calibration);
    if (cal) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: cal };
    const counts = outcomeCounts(i, h.probe, p);
    const { byClass, unanswered, cutOff } = counts;
    const ignored = h.ignore.reduce((t, c) => t + (byClass[c] ?? 0), 0);
    const attempts = counts.attempts - ignored;
    const classes = (Object.entries(byClass).map(([c, n]) => `${c} ${n}`).join(', ') || 'none') + (ignored ? ` (${ignored} ${h.ignore.join(' | ')} left out: they say nothing about this claim)` : '');
    if (attempts < h.minAttempts) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: ${attempts} attempts of ${h.probe} that count (need ${h.minAttempts}); outcomes: ${classes}` };
    const good = h.accept.reduce((t, c) => t + (byClass[c] ?? 0), 0);
    const share = good / attempts;
    const ok = share >= h.share;
    return { phase: p.id, verdict: ok ? 'PASS' as const : 'FAIL' as const, observed: share, evidence: `${p.id}: ${good}/${attempts} ${h.probe} attempts accepted (${(share * 100).toFixed(1)} %, need ${(h.share * 100).toFixed(1)} %); outcomes: ${classes}${unanswered ? ` (${unanswered} never answered)` : ''}${cutOff ? `; ${cutOff} cut off by the end of the run, not counted` : ''}` };
  });
  return { expected, ...foldPhases(h.phase, results) };
}
