/**
 * Shorthands for experiment files: the hypothesis shapes every experiment repeats (a probe's
 * precondition, an outcome check). Plain data out: defineExperiment validates it like any other input.
 */
import type { OutcomeClass } from '../../scenarios/lib/outcomes.ts';
import type { ExperimentInput } from './spec.js';

type HypothesisIn = ExperimentInput['hypotheses'][number];
type Verdicts = Partial<Record<'audited' | 'as-built' | 'hardened', 'PASS' | 'FAIL' | 'INCONCLUSIVE'>>;

/** The classes a refusal of a revoked token may take: refused as revoked, or the service failing closed. */
export const REFUSED: OutcomeClass[] = ['refused-revoked', 'try-again-later', 'fast-clear-error'];
/** Every class but a hang: "answers, one way or another". */
export const ANSWERED: OutcomeClass[] = ['served', 'refused-revoked', 'refused-origin', 'throttled', 'not-throttled', 'try-again-later', 'fast-clear-error', 'slow-error', 'server-error', 'client-error', 'undelivered', 'network-error'];

/** Precondition `<probe>-works-before`: the probe saw what it wants in `phase` (default baseline), else its claims' checks prove nothing. */
export function worksBefore(probe: string, claims: string[], accept: OutcomeClass[] = ['served'], o: { phase?: string; share?: number; minAttempts?: number; id?: string; expected?: Verdicts } = {}): HypothesisIn {
  return {
    kind: 'outcomes', role: 'precondition', id: o.id ?? `${probe.replace(/_/g, '-')}-works-before`,
    description: `The ${probe} probe works before the fault (${accept.join(' | ')}); else the checks that rely on it prove nothing`,
    claims, phase: o.phase ?? 'baseline', probe, accept, share: o.share ?? 0.95, ...(o.minAttempts ? { minAttempts: o.minAttempts } : {}), ...(o.expected ? { expected: o.expected } : {}),
  };
}

/**
 * Check `<probe>-works` of a baseline claim: before any fault, at least 95 % of the probe's attempts end as
 * it wants. The fault claims that require this baseline claim are INCONCLUSIVE when it does not PASS.
 */
export function baselineCheck(probe: string, claim: string, description: string, accept: OutcomeClass[] = ['served'], o: { minAttempts?: number } = {}): HypothesisIn {
  return {
    kind: 'outcomes', id: `${probe.replace(/_/g, '-')}-works`, description, claims: [claim], phase: 'baseline', probe, accept, share: 0.95,
    ...(o.minAttempts ? { minAttempts: o.minAttempts } : {}),
  };
}

/** Check: in `phase`, at least `share` of the probe's attempts end in one of `accept` (those in `ignore` left out). */
export function outcomeCheck(id: string, description: string, claims: string[], probe: string, phase: string, accept: OutcomeClass[], o: { share?: number; minAttempts?: number; expected?: Verdicts; requires?: string[]; ignore?: OutcomeClass[] } = {}): HypothesisIn {
  return {
    kind: 'outcomes', id, description, claims, phase, probe, accept, share: o.share ?? 1,
    ...(o.minAttempts ? { minAttempts: o.minAttempts } : {}), ...(o.expected ? { expected: o.expected } : {}), ...(o.requires ? { requires: o.requires } : {}), ...(o.ignore ? { ignore: o.ignore } : {}),
  };
}
