/** Helpers shared by the renderers: the as-expected rule, XML/HTML escaping, number and time formats. */
import type { ClaimResult, HypothesisResult, RunResult } from '../src/results/model.js';
import { redact } from '../src/util/redact.js';

/**
 * Whether a claim came out as the catalogue expects: verdict === expected; with no expectation
 * (external target), anything but INCONCLUSIVE. Computed from verdict/expected rather than read from
 * `asExpected`, so every renderer agrees with the exit code even on a hand-edited result.
 */
export function claimAsExpected(c: Pick<ClaimResult, 'verdict' | 'expected'>): boolean {
  return c.expected === null ? c.verdict !== 'INCONCLUSIVE' : c.verdict === c.expected;
}

/**
 * Whether a hypothesis result is acceptable given the claims it serves: PASS always; FAIL when one of
 * its claims expects FAIL (the documented defect was detected); INCONCLUSIVE only when every one of
 * its claims expects INCONCLUSIVE.
 */
export function hypothesisAsExpected(h: HypothesisResult, _result?: RunResult): boolean {
  // The checker records each hypothesis's own expectation (null: none, e.g. an external target).
  return h.asExpected;
}

export function notAsExpected(result: RunResult): ClaimResult[] {
  return result.claims.filter((c) => !claimAsExpected(c));
}

/** "all claims as expected" / "N claims not as expected" (or the run's error). */
export function outcomeText(result: RunResult): string {
  if (result.error !== undefined) return `run failed: ${result.error}`;
  const n = notAsExpected(result).length;
  if (n === 0) return 'all claims as expected';
  return `${n} claim${n === 1 ? '' : 's'} not as expected`;
}

/** The hypotheses a claim names, as the result has them (a hand-edited result may lack some). */
export function hypothesesOf(c: ClaimResult, result: RunResult): HypothesisResult[] {
  return c.hypotheses.map((id) => result.hypotheses.find((h) => h.id === id)).filter((h): h is HypothesisResult => h !== undefined);
}

/** What a check wanted and, when it had a value, what it saw: `wanted p95 < 1000 ms, observed 1240`. */
export function wantedObserved(h: HypothesisResult): string {
  return `wanted ${h.expected}${h.observed === null ? '' : `, observed ${fmtNum(h.observed, 4)}`}`;
}

/** One check in one line: where it was judged, what it wanted, what it saw, and its evidence. */
export function checkLine(h: HypothesisResult): string {
  const gate = h.gatedBy?.length ? `; not judged: precondition ${h.gatedBy.join(', ')} did not hold` : '';
  return `${h.id} [${h.phase}] ${h.verdict}: ${wantedObserved(h)} — ${h.evidence}${gate}`;
}

export interface ClaimExplanation {
  /** The check that decided the verdict (the first, when several did); undefined when none is in the result. */
  check: HypothesisResult | undefined;
  /** The deciding check's observed value. */
  observed: number | null;
  /** Why, one item each: unmet baseline requirements, the deciding check and its evidence, a contradiction of the audit. */
  lines: string[];
}

/**
 * Why a claim got its verdict, from the result alone: the deciding check (the first of its checks with
 * the claim's verdict, else its first check) with its evidence, the baseline claims it waited on, and
 * where the measurement contradicts the audit's text. The terminal table, JUnit and the HTML say the same.
 */
export function explainClaim(c: ClaimResult, result: RunResult): ClaimExplanation {
  const checks = hypothesesOf(c, result).filter((h) => h.role === 'check');
  const deciding = checks.filter((h) => h.verdict === c.verdict);
  const check = deciding[0] ?? checks[0];
  const lines: string[] = [];
  if (c.gatedBy?.length) lines.push(`requires ${c.gatedBy.join(', ')}, which did not PASS in this run: not judged`);
  if (check) lines.push(`${checkLine(check)}${deciding.length > 1 ? ` (and ${deciding.length - 1} more ${c.verdict} check${deciding.length > 2 ? 's' : ''})` : ''}`);
  else lines.push(c.reason);
  if (c.contradictsAudit && c.audit) lines.push(`contradicts the audit: it says ${c.audit.verdict} (${c.audit.says}), measured ${c.verdict}`);
  return { check, observed: check?.observed ?? null, lines };
}

/** A phase's length (ms): `run` is the whole run; an unknown phase 0. */
export function phaseSpanMs(result: RunResult, phaseId: string): number {
  if (phaseId === 'run') return Math.max(0, result.endedAtMs - result.startedAtMs);
  const p = result.phases.find((x) => x.id === phaseId);
  return p ? Math.max(0, p.endMs - p.startMs) : 0;
}

/** The span (ms) from the first start to the last end of the phases a claim's hypotheses were judged on. */
export function claimSpanMs(c: ClaimResult, result: RunResult): number {
  const windows = hypothesesOf(c, result).flatMap((h) => {
    if (h.phase === 'run') return [{ startMs: result.startedAtMs, endMs: result.endedAtMs }];
    const p = result.phases.find((x) => x.id === h.phase);
    return p ? [p] : [];
  });
  if (windows.length === 0) return 0;
  return Math.max(0, Math.max(...windows.map((w) => w.endMs)) - Math.min(...windows.map((w) => w.startMs)));
}

/** Characters XML 1.0 does not allow at all (C0 controls except tab/newline/CR, lone surrogates, FFFE/FFFF). */
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Redacts and replaces characters XML cannot carry (U+FFFD): text for an XML builder, which escapes it. */
export function clean(value: unknown): string {
  return redact(String(value)).replace(INVALID_XML, '\uFFFD');
}

/** Redacts, drops characters XML cannot carry, and escapes & < > " ' (valid in text and attributes). */
export function esc(value: unknown): string {
  return redact(String(value))
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A number for tables: up to 3 significant decimals, no trailing zeros; `—` for null/undefined/NaN. */
export function fmtNum(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  const d = abs >= 100 ? 0 : abs >= 10 ? 1 : digits;
  // Only a fraction's trailing zeros go (579.6 → "580", not "58").
  const t = v.toFixed(d);
  return (t.includes('.') ? t.replace(/\.?0+$/, '') : t) || '0';
}

export function fmtPct(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${fmtNum(rate * 100, 2)} %`;
}

/** Seconds relative to the run's start, e.g. "+10.04 s". */
export function fmtRel(ms: number | undefined, startedAtMs: number): string {
  if (ms === undefined) return '—';
  return `+${((ms - startedAtMs) / 1000).toFixed(2)} s`;
}

export function fmtIso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${(s - m * 60).toFixed(0)} s`;
}
