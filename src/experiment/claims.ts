import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { HARNESS_ROOT } from '../lab/paths.js';
import { AuditQuotes, auditDir } from '../util/audit-quotes.js';
import type { ClaimSource, Verdict } from '../results/model.js';
import { ExperimentError, formatIssues } from './spec.js';

export const CLAIMS_FILE = join(HARNESS_ROOT, 'fixtures', 'claims.yaml');

const VerdictSchema = z.enum(['PASS', 'FAIL', 'INCONCLUSIVE']);

const ClaimSchema = z.object({
  id: z.string().regex(/^[A-Z][A-Z0-9-]*$/, 'upper-case letters, digits and dashes'),
  title: z.string().min(1),
  source: z.object({ file: z.string().regex(/^[\w.-]+\.txt$/), line: z.number().int().positive(), section: z.string().min(1), quote: z.string().min(3) }).strict(),
  experiments: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/)).min(1),
  expected: z.object({ audited: VerdictSchema, hardened: VerdictSchema }).strict(),
}).strict();

const CatalogueSchema = z.object({ version: z.literal(1), claims: z.array(ClaimSchema).min(1) }).strict();

export type Claim = z.output<typeof ClaimSchema> & { source: ClaimSource };
export type ReferenceProfile = 'audited' | 'hardened';

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
  const seen = new Set<string>();
  r.data.claims.forEach((c, i) => {
    if (seen.has(c.id)) throw new ExperimentError(`${file}: claims[${i}].id: duplicate id "${c.id}"`);
    seen.add(c.id);
  });
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

/** The verdict a claim is expected to get on a reference profile (null for an external target). */
export function expectedVerdict(c: Claim, profile: string | undefined): Verdict | null {
  return profile === 'audited' || profile === 'hardened' ? c.expected[profile] : null;
}
