import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { HARNESS_ROOT } from '../lab/paths.js';
import { AuditQuotes, auditDir } from '../util/audit-quotes.js';
import type { ClaimSource, Verdict } from '../results/model.js';
import { REFERENCE_PROFILES, type ReferenceProfile } from '../util/profiles.js';
import { ExperimentError, formatIssues } from './spec.js';

export const CLAIMS_FILE = join(HARNESS_ROOT, 'fixtures', 'claims.yaml');

const VerdictSchema = z.enum(['PASS', 'FAIL', 'INCONCLUSIVE']);

const ClaimId = z.string().regex(/^[A-Z][A-Z0-9-]*$/, 'upper-case letters, digits and dashes');
/** One verdict per reference profile, every profile named. */
const PerProfile = z.object(Object.fromEntries(REFERENCE_PROFILES.map((p) => [p, VerdictSchema])) as Record<ReferenceProfile, typeof VerdictSchema>).strict();

const ClaimSchema = z.object({
  id: ClaimId,
  /** baseline: works with no fault at all; fault: holds under a fault; guard: an edge guard (origin, limits). */
  kind: z.enum(['baseline', 'fault', 'guard']),
  title: z.string().min(1),
  source: z.object({
    file: z.string().regex(/^[\w.-]+\.txt$/), line: z.number().int().positive(),
    /** The passage the claim rests on, when longer than the quoted line. */
    lines: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    section: z.string().min(1), quote: z.string().min(3),
  }).strict(),
  /** What the document's text says: its verdict and the statement in a few words (the report shows contradictions). */
  audit: z.object({ verdict: z.enum(['PASS', 'FAIL']), says: z.string().min(3) }).strict(),
  /** Baseline claims this one relies on: one that does not PASS in the same run makes this one INCONCLUSIVE. */
  requires: z.array(ClaimId).default([]),
  experiments: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/)).min(1),
  expected: PerProfile,
  /** Per experiment, profiles whose expectation differs there (e.g. a part that experiment cannot judge). */
  expectedIn: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), PerProfile.partial()).optional(),
}).strict();

export const CatalogueSchema = z.object({ version: z.literal(1), claims: z.array(ClaimSchema).min(1) }).strict();

export type Claim = z.output<typeof ClaimSchema> & { source: ClaimSource };
export type { ReferenceProfile };

/** Load and validate the catalogue; a malformed field → an error naming the file and the field. */
export function loadClaims(file: string = CLAIMS_FILE): Claim[] {
  if (!existsSync(file)) throw new ExperimentError(`${file}: claims catalogue not found`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ExperimentError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  const r = CatalogueSchema.safeParse(raw);
  if (!r.success) throw new ExperimentError(formatIssues(file, r.error.issues));
  const byId = new Map<string, (typeof r.data.claims)[number]>();
  r.data.claims.forEach((c, i) => {
    if (byId.has(c.id)) throw new ExperimentError(`${file}: claims[${i}].id: duplicate id "${c.id}"`);
    byId.set(c.id, c);
  });
  r.data.claims.forEach((c, i) => c.requires.forEach((req, j) => {
    const needed = byId.get(req);
    if (!needed) throw new ExperimentError(`${file}: claims[${i}].requires[${j}]: no claim "${req}"`);
    if (needed.kind !== 'baseline') throw new ExperimentError(`${file}: claims[${i}].requires[${j}]: "${req}" is not a baseline claim (kind: baseline)`);
    // A requirement is judged in the same run: every experiment of the claim must check it too.
    const missing = c.experiments.filter((x) => !needed.experiments.includes(x));
    if (missing.length) throw new ExperimentError(`${file}: claims[${i}].requires[${j}]: "${req}" is not checked in ${missing.join(', ')} (add it to ${req}'s experiments and a check of it there)`);
  }));
  return r.data.claims;
}


/** Each claim's quote must be on the line it names (compared as ASCII, whitespace collapsed); audits from auditDir() (--audit-dir). */
export function verifyClaimSources(claims: Claim[], dir: string = auditDir()): string[] {
  const quotes = new AuditQuotes(dir);
  return claims.flatMap((c) => {
    const p = quotes.problem(c.source);
    return p ? [`${c.id}: ${p}`] : [];
  });
}

const isReferenceProfile = (p: string | undefined): p is ReferenceProfile => (REFERENCE_PROFILES as readonly (string | undefined)[]).includes(p);

/** The verdict a claim is expected to get on a reference profile in an experiment (null for an external target). */
export function expectedVerdict(c: Claim, profile: string | undefined, experiment?: string): Verdict | null {
  if (!isReferenceProfile(profile)) return null;
  return (experiment !== undefined ? c.expectedIn?.[experiment]?.[profile] : undefined) ?? c.expected[profile];
}
