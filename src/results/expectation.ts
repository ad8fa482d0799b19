/**
 * Where each claim's expected verdict came from, for result.json. The checker (src/verdicts/) already
 * chose the verdict; this only names its source, read from the catalogue entry by the same rule
 * (the experiment's override first), so the two cannot disagree on the verdict itself.
 */
import type { ClaimResult, Expectation, ReportedClaim, Verdict } from './model.js';

/** The part of a catalogue claim (src/experiment/claims.ts) the source is read from. */
export interface CatalogueExpectations {
  id: string;
  expectedIn?: Record<string, Partial<Record<string, Verdict>>> | undefined;
}

export function expectationOf(c: Pick<ClaimResult, 'expected'>, entry: CatalogueExpectations | undefined, profile: string | undefined, experiment: string): Expectation {
  if (c.expected === null || profile === undefined) return { profile: profile ?? null, source: 'none' };
  const override = entry?.expectedIn?.[experiment]?.[profile];
  return { profile, source: override !== undefined && override === c.expected ? 'experiment' : 'catalogue' };
}

/** The checker's claims with their expectation's source (`profile`: the profile the run is judged by). */
export function withExpectations(claims: readonly ClaimResult[], catalogue: readonly CatalogueExpectations[], profile: string | undefined, experiment: string): ReportedClaim[] {
  return claims.map((c) => ({ ...c, expectation: expectationOf(c, catalogue.find((x) => x.id === c.id), profile, experiment) }));
}
