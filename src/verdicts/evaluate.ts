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
import { evaluateKind, selectorsOf, type Hypothesis } from './kinds/index.js';
import { GENERATOR_BUSY_METRIC, GENERATOR_SATURATED_BUSY, phasesFor, worst, type EvaluationInput } from './common.js';

export { worst, label, statValue, compare, calibrationProblem } from './common.js';
export type { EvaluationInput, StatsSource } from './common.js';

/** One hypothesis on its own (roles not applied: see evaluateHypotheses). */
export function evaluateHypothesis(h: Hypothesis, i: EvaluationInput): HypothesisResult {
  const r = evaluateKind(h, i);
  return { id: h.id, description: h.description, claims: h.claims, role: h.role, ...r, expectedVerdict: null, asExpected: true };
}

/** The verdict a hypothesis should get on a reference profile: its own `expected`, else PASS for a precondition, else its claims' when they agree. */
export function expectedHypothesisVerdict(h: Hypothesis, claims: readonly Claim[], profile: string | undefined, experiment?: string): Verdict | null {
  if (profile === undefined) return null;
  const own = h.expected?.[profile];
  if (own) return own;
  if (h.role === 'precondition') return 'PASS';
  const fromClaims = [...new Set(h.claims.map((id) => claims.find((c) => c.id === id)).map((c) => (c ? expectedVerdict(c, profile, experiment) : null)))];
  return fromClaims.length === 1 ? fromClaims[0]! : null;
}

/** The probes a hypothesis reads (its `probe`, and every `probe` tag of what it selects). */
export function probesOf(h: Hypothesis): string[] {
  const out = new Set<string>(h.kind === 'outcomes' ? [h.probe] : []);
  for (const s of selectorsOf(h)) if (s.tags?.probe) out.add(s.tags.probe === 'upload_api' ? 'upload' : s.tags.probe);
  return [...out];
}

/**
 * Why what `h` reads was measured by a saturated generator (null: it was not): `h` reads what browser participants
 * saw (`generatorBound`), and in one of its phases the generator's machine was ≥ 95 % busy on average — a frozen
 * stream there may be the generator's starved renderer, not the target.
 */
export function generatorSaturation(h: Hypothesis, i: EvaluationInput): { phase: string; detail: string } | null {
  const bound = i.generatorBound;
  if (!bound || !('phase' in h) || typeof h.phase !== 'string') return null;
  const reads = selectorsOf(h).some((s) => bound.metrics.includes(s.metric) || (s.tags?.probe !== undefined && bound.probes.includes(s.tags.probe))) || (h.kind === 'outcomes' && bound.probes.includes(h.probe));
  if (!reads) return null;
  for (const p of phasesFor(h.phase, i)) {
    let mean: number | undefined;
    try {
      mean = i.source.stats({ metric: GENERATOR_BUSY_METRIC }, p.id).mean;
    } catch {
      return null; // a source without the generator's CPU (a run from before it was recorded): nothing to judge by
    }
    if (mean !== undefined && mean >= GENERATOR_SATURATED_BUSY) {
      return { phase: p.id, detail: `the load generator was saturated in ${p.id} (its machine ${Math.round(mean * 100)} % busy on average, ≥ ${GENERATOR_SATURATED_BUSY * 100} %): what its browsers measured there says more about the generator than the target` };
    }
  }
  return null;
}

/** Why what `h` reads was cut short by a run that stopped early (null: it was not, or the run did not stop early). */
export function cutShortBy(h: Hypothesis, i: EvaluationInput): { phase: string; detail: string } | null {
  const cut = i.cutShort;
  if (!cut) return null;
  // A kind without a phase of its own judges the run's phases: any cut one counts.
  const ids = 'phase' in h && typeof h.phase === 'string' ? phasesFor(h.phase, i).map((p) => p.id) : Object.keys(cut);
  const hit = ids.find((id) => cut[id] !== undefined);
  return hit === undefined ? null : { phase: hit, detail: cut[hit]! };
}

/**
 * Every hypothesis, with evidence rules applied: one whose probe could not set up is INCONCLUSIVE with the
 * reason, and so is one reading a phase a run that stopped early cut short, and one reading browser participants' measurements from a saturated generator; a check whose preconditions (its `requires`, else every precondition of its claims) or whose
 * baseline checks (those of the baseline claims its claims require) did not all PASS becomes INCONCLUSIVE,
 * naming them and why.
 */
export function evaluateHypotheses(hs: readonly Hypothesis[], i: EvaluationInput, claims: readonly Claim[] = [], profile?: string, experiment?: string): HypothesisResult[] {
  const raw = new Map(hs.map((h) => {
    const r = evaluateHypothesis(h, i);
    const broken = probesOf(h).filter((p) => i.setupFailures?.[p] !== undefined);
    if (broken.length === 0) {
      const cut = cutShortBy(h, i);
      if (cut) return [h.id, { ...r, verdict: 'INCONCLUSIVE' as const, gatedBy: [`interrupted:${cut.phase}`], evidence: `${cut.detail} — so this proves nothing (it measured: ${r.evidence})` }];
      const sat = generatorSaturation(h, i);
      if (!sat) return [h.id, r];
      return [h.id, { ...r, verdict: 'INCONCLUSIVE' as const, gatedBy: [`generator:${sat.phase}`], evidence: `${sat.detail} — so this proves nothing (it measured: ${r.evidence})` }];
    }
    const why = broken.map((p) => `the ${p} probe could not set up: ${i.setupFailures![p]}`).join('; ');
    return [h.id, { ...r, verdict: 'INCONCLUSIVE' as const, gatedBy: broken.map((p) => `setup:${p}`), evidence: `${why} — so this proves nothing (it measured: ${r.evidence})` }];
  }));
  return hs.map((h) => {
    let r = raw.get(h.id)!;
    if (h.role === 'check' && r.gatedBy === undefined) {
      // Its preconditions, and the checks of the baseline claims its claims require (the catalogue's rule, per check).
      const baseline = new Set(h.claims.flatMap((id) => claims.find((c) => c.id === id)?.requires ?? []));
      const baselineChecks = hs.filter((p) => p.role === 'check' && p.id !== h.id && p.claims.some((c) => baseline.has(c))).map((p) => p.id);
      const pre = [...(h.requires ?? hs.filter((p) => p.role === 'precondition' && p.claims.some((c) => h.claims.includes(c))).map((p) => p.id)), ...baselineChecks];
      const failed = pre.map((id) => raw.get(id)).filter((p): p is HypothesisResult => p !== undefined && p.verdict !== 'PASS');
      if (failed.length) {
        r = { ...r, verdict: 'INCONCLUSIVE', gatedBy: failed.map((p) => p.id), evidence: `${failed.map((p) => `${p.role === 'precondition' ? 'precondition' : 'baseline check'} ${p.id} ${p.verdict}: ${p.evidence}`).join(' | ')} — so this check proves nothing (it measured: ${r.evidence})` };
      }
    }
    const want = expectedHypothesisVerdict(h, claims, profile, experiment);
    return { ...r, expectedVerdict: want, asExpected: want === null || want === r.verdict };
  });
}

/**
 * A claim's verdict from its checks (preconditions only gate them): any FAIL → FAIL, else any
 * INCONCLUSIVE → INCONCLUSIVE, else PASS; no check → INCONCLUSIVE. Then its requirements: a claim
 * whose baseline claims did not PASS in this run is INCONCLUSIVE, naming them (what its checks measured
 * stays in the reason as evidence). Where a decided verdict differs from what the audit's text says,
 * `contradictsAudit` is set.
 */
export function evaluateClaims(claims: readonly Claim[], hypotheses: readonly HypothesisResult[], profile: string | undefined, experiment?: string): ClaimResult[] {
  const ids = [...new Set(hypotheses.flatMap((h) => h.claims))];
  const own = new Map(ids.map((id) => {
    const checks = hypotheses.filter((h) => h.claims.includes(id) && h.role === 'check');
    const verdict = worst(checks.map((h) => h.verdict));
    const deciding = checks.filter((h) => h.verdict === verdict);
    return [id, { verdict, reason: deciding.length ? deciding.map((h) => `${h.id}: ${h.evidence}`).join(' | ') : 'no check decides this claim' }];
  }));
  return ids.map((id) => {
    const c = claims.find((x) => x.id === id);
    let { verdict, reason } = own.get(id)!;
    const unmet = (c?.requires ?? []).filter((req) => own.get(req)?.verdict !== 'PASS');
    if (unmet.length) {
      const why = unmet.map((req) => {
        const o = own.get(req);
        return o ? `${req} is ${o.verdict} here (${o.reason})` : `${req} was not checked in this run`;
      }).join('; ');
      reason = `requires ${why} — so this claim cannot be judged (its checks measured: ${reason})`;
      verdict = 'INCONCLUSIVE';
    }
    const expected = c ? expectedVerdict(c, profile, experiment) : null;
    return {
      id,
      title: c?.title ?? '(not in the claims catalogue)',
      kind: c?.kind ?? 'fault',
      source: c?.source ?? { file: '', section: '', line: 0, quote: '' },
      verdict,
      expected,
      asExpected: expected === null ? verdict !== 'INCONCLUSIVE' : verdict === expected,
      hypotheses: hypotheses.filter((h) => h.claims.includes(id)).map((h) => h.id),
      reason,
      ...(unmet.length ? { gatedBy: unmet } : {}),
      ...(c ? { audit: c.audit, contradictsAudit: verdict !== 'INCONCLUSIVE' && verdict !== c.audit.verdict } : {}),
    };
  });
}
