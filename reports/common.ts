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

/** Characters XML 1.0 does not allow at all (C0 controls except tab/newline/CR, lone surrogates, FFFE/FFFF). */
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

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
  return v.toFixed(d).replace(/\.?0+$/, '') || '0';
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
