/**
 * The checker: hypotheses → verdicts, claims → verdicts. Pure functions over statistics the result
 * pipeline computed; no I/O, so every rule is unit-tested with hand-made numbers.
 *
 * Evidence gates every verdict: a kind answers INCONCLUSIVE when its phase has too few attempts or its
 * fault did not land; a check whose precondition did not hold is INCONCLUSIVE (the probe was broken
 * before the fault, so its FAIL would prove nothing); a claim FAILs only from a check that had evidence.
 */
import type { ClaimResult, HypothesisResult, Verdict } from '../results/model.js';
import type { Claim } from '../experiment/claims.js';
import { expectedVerdict } from '../experiment/claims.js';
import { evaluateKind, type Hypothesis } from './kinds/index.js';
import { worst, type EvaluationInput } from './common.js';

export { worst, label, statValue, compare, calibrationProblem } from './common.js';
export type { EvaluationInput, StatsSource } from './common.js';

/** One hypothesis on its own (roles not applied: see evaluateHypotheses). */
export function evaluateHypothesis(h: Hypothesis, i: EvaluationInput): HypothesisResult {
  const r = evaluateKind(h, i);
  return { id: h.id, description: h.description, claims: h.claims, role: h.role, ...r, expectedVerdict: null, asExpected: true };
}

/** The verdict a hypothesis should get on a reference profile: its own `expected`, else PASS for a precondition, else its claims' when they agree. */
export function expectedHypothesisVerdict(h: Hypothesis, claims: readonly Claim[], profile: string | undefined): Verdict | null {
  if (profile === undefined) return null;
  const own = h.expected?.[profile];
  if (own) return own;
  if (h.role === 'precondition') return 'PASS';
  const fromClaims = [...new Set(h.claims.map((id) => claims.find((c) => c.id === id)).map((c) => (c ? expectedVerdict(c, profile) : null)))];
  return fromClaims.length === 1 ? fromClaims[0]! : null;
}

/**
 * Every hypothesis, with roles applied: a check whose preconditions (its `requires`, else every
 * precondition of its claims) did not all PASS becomes INCONCLUSIVE, naming the precondition and why.
 */
export function evaluateHypotheses(hs: readonly Hypothesis[], i: EvaluationInput, claims: readonly Claim[] = [], profile?: string): HypothesisResult[] {
  const raw = new Map(hs.map((h) => [h.id, evaluateHypothesis(h, i)]));
  return hs.map((h) => {
    let r = raw.get(h.id)!;
    if (h.role === 'check') {
      const pre = h.requires ?? hs.filter((p) => p.role === 'precondition' && p.claims.some((c) => h.claims.includes(c))).map((p) => p.id);
      const failed = pre.map((id) => raw.get(id)).filter((p): p is HypothesisResult => p !== undefined && p.verdict !== 'PASS');
      if (failed.length) {
        r = { ...r, verdict: 'INCONCLUSIVE', gatedBy: failed.map((p) => p.id), evidence: `precondition ${failed.map((p) => `${p.id} ${p.verdict}: ${p.evidence}`).join(' | ')} — so this check proves nothing (it measured: ${r.evidence})` };
      }
    }
    const want = expectedHypothesisVerdict(h, claims, profile);
    return { ...r, expectedVerdict: want, asExpected: want === null || want === r.verdict };
  });
}

/**
 * A claim's verdict from its checks (preconditions only gate them): any FAIL → FAIL, else any
 * INCONCLUSIVE → INCONCLUSIVE, else PASS; no check → INCONCLUSIVE.
 */
export function evaluateClaims(claims: readonly Claim[], hypotheses: readonly HypothesisResult[], profile: string | undefined): ClaimResult[] {
  const ids = [...new Set(hypotheses.flatMap((h) => h.claims))];
  return ids.map((id) => {
    const c = claims.find((x) => x.id === id);
    const hs = hypotheses.filter((h) => h.claims.includes(id));
    const checks = hs.filter((h) => h.role === 'check');
    const verdict = worst(checks.map((h) => h.verdict));
    const expected = c ? expectedVerdict(c, profile) : null;
    const deciding = checks.filter((h) => h.verdict === verdict);
    const reason = deciding.length ? deciding.map((h) => `${h.id}: ${h.evidence}`).join(' | ') : 'no check decides this claim';
    return {
      id,
      title: c?.title ?? '(not in the claims catalogue)',
      source: c?.source ?? { file: '', section: '', line: 0, quote: '' },
      verdict,
      expected,
      asExpected: expected === null ? verdict !== 'INCONCLUSIVE' : verdict === expected,
      hypotheses: hs.map((h) => h.id),
      reason,
    };
  });
}
