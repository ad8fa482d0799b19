/**
 * The checker: hypotheses → verdicts, claims → verdicts. Pure functions over statistics the result
 * pipeline computed; no I/O, so every rule is unit-tested with hand-made numbers.
 */
import type { CalibrationResult, ClaimResult, HypothesisResult, Phase, SeriesSelector, Stats, Verdict } from '../results/model.js';
import type { FanoutReport } from '../k6/fanout-checker.js';
import type { Claim } from '../experiment/claims.js';
import { expectedVerdict } from '../experiment/claims.js';
import type { Hypothesis, NothingLostHypothesis, Op, RecoversHypothesis, StatName, ThresholdHypothesis } from '../experiment/spec.js';
import { phasesMatching } from '../experiment/phases.js';
import { selectorLabel } from '../results/pipeline.js';

/** What the checker needs from the result pipeline. */
export interface StatsSource {
  stats(selector: SeriesSelector, phaseId: string): Stats;
  windowStats(selector: SeriesSelector, fromMs: number, toMs: number): Stats;
}

export interface EvaluationInput {
  phases: Phase[];
  source: StatsSource;
  /** Per fault id: did it land on the workload's path (all calibration rows of the fault ok)? */
  calibration: CalibrationResult[];
  /** Fan-out reconciliation per workload id (or why there is none). */
  fanout: Record<string, FanoutReport | { error: string }>;
  /** When each fault was removed (epoch ms), per id. */
  removedAtMs: Record<string, number | undefined>;
  runEndMs: number;
}

/** `metric{tag=value,…}`: the same label the pipeline and the report use. */
export const label = (s: SeriesSelector): string => selectorLabel(s);

/** The named statistic, or null when there is nothing to read. */
export function statValue(s: Stats, stat: StatName): number | null {
  if (s.count === 0 && stat !== 'count' && stat !== 'sum') return null;
  const v = ({ p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99, max: s.max, min: s.min, mean: s.mean, rate: s.rate, count: s.count, sum: s.sum ?? (s.kind === 'counter' ? 0 : undefined), perSecond: s.perSecond } as Record<StatName, number | undefined>)[stat];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '==': return a === b;
  }
}

const fmt = (v: number, unit: string): string => {
  const n = Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return unit === 'ratio' || unit === 'count' ? n : `${n} ${unit}`;
};

/** Worst first: FAIL outranks INCONCLUSIVE outranks PASS. */
const RANK: Record<Verdict, number> = { FAIL: 2, INCONCLUSIVE: 1, PASS: 0 };
export const worst = (vs: Verdict[]): Verdict => vs.reduce<Verdict>((w, v) => (RANK[v] > RANK[w] ? v : w), 'PASS');

function calibrationProblem(faultId: string | undefined, cal: CalibrationResult[]): string | null {
  if (!faultId) return null;
  const bad = cal.filter((c) => c.faultId === faultId && !c.ok);
  return bad.length ? `fault ${faultId} did not measurably land: ${bad.map((c) => `${c.label}: expected ${c.expected}, ${c.detail}`).join('; ')}` : null;
}

function evaluateThreshold(h: ThresholdHypothesis, i: EvaluationInput): HypothesisResult {
  const expected = `${h.stat}(${label(h.select)}) ${h.op} ${fmt(h.value, h.unit)}`;
  const base = { id: h.id, description: h.description, claims: h.claims, expected, phase: h.phase };
  const phases = h.phase === 'run'
    ? [{ id: 'run', kind: 'baseline' as const, startMs: 0, endMs: 0 }]
    : phasesMatching(h.phase, i.phases);
  if (phases.length === 0) return { ...base, verdict: 'INCONCLUSIVE', observed: null, evidence: `no phase ${h.phase} in this run (was the fault applied?)` };
  const results = phases.map((p) => {
    const s = i.source.stats(h.select, p.id);
    const v = statValue(s, h.stat);
    const cal = calibrationProblem(p.faultId, i.calibration);
    if (cal) return { phase: p.id, verdict: 'INCONCLUSIVE' as Verdict, observed: v, evidence: cal };
    if (s.count < h.minSamples || v === null) return { phase: p.id, verdict: 'INCONCLUSIVE' as Verdict, observed: v, evidence: `${p.id}: ${s.count} samples of ${label(h.select)} (need ${h.minSamples})` };
    const ok = compare(v, h.op, h.value);
    return { phase: p.id, verdict: (ok ? 'PASS' : 'FAIL') as Verdict, observed: v, evidence: `${p.id}: ${h.stat} = ${fmt(v, h.unit)} over ${s.count} samples (${ok ? 'meets' : 'breaks'} ${h.op} ${fmt(h.value, h.unit)})` };
  });
  const verdict = worst(results.map((r) => r.verdict));
  const shown = results.find((r) => r.verdict === verdict)!;
  return { ...base, phase: phases.length === 1 ? shown.phase : h.phase, verdict, observed: shown.observed, evidence: results.map((r) => r.evidence).join('; ') };
}

function evaluateRecovers(h: RecoversHypothesis, i: EvaluationInput): HypothesisResult {
  const isRate = h.stat === 'rate';
  const slack = h.slack ?? (isRate ? 0.05 : 50);
  const expected = isRate
    ? `${h.stat}(${label(h.select)}) back to ≥ baseline − ${slack} within ${h.withinS} s`
    : `${h.stat}(${label(h.select)}) back to ≤ baseline × ${h.factor} + ${slack} within ${h.withinS} s`;
  const base = { id: h.id, description: h.description, claims: h.claims, expected, phase: h.fault === '*' ? 'recovery:*' : `recovery:${h.fault}` };
  const baseline = i.source.stats(h.select, 'baseline');
  const b = statValue(baseline, h.stat);
  if (b === null || baseline.count < h.minSamples) return { ...base, verdict: 'INCONCLUSIVE', observed: null, evidence: `baseline: ${baseline.count} samples of ${label(h.select)} (need ${h.minSamples})` };
  const limit = isRate ? b - slack : b * h.factor + slack;
  const faults = h.fault === '*' ? Object.keys(i.removedAtMs) : [h.fault];
  const per = faults.map((fid) => {
    const removed = i.removedAtMs[fid];
    const cal = calibrationProblem(fid, i.calibration);
    if (removed === undefined) return { verdict: 'INCONCLUSIVE' as Verdict, observed: null, evidence: `${fid}: never removed (or never applied)` };
    if (cal) return { verdict: 'INCONCLUSIVE' as Verdict, observed: null, evidence: cal };
    const win = h.windowS * 1000;
    let sawData = false;
    // Scan 1 s steps from the removal: the first window whose statistic is back is the recovery time.
    for (let t = removed; t + win <= Math.min(removed + (h.withinS + h.windowS) * 1000, i.runEndMs + 1); t += 1000) {
      const s = i.source.windowStats(h.select, t, t + win);
      const v = statValue(s, h.stat);
      if (v === null || s.count < h.minSamples) continue;
      sawData = true;
      const back = isRate ? v >= limit : v <= limit;
      if (back && (t - removed) / 1000 <= h.withinS) {
        const secs = (t - removed) / 1000;
        return { verdict: 'PASS' as Verdict, observed: secs, evidence: `${fid}: back after ${secs} s (${h.stat} ${fmt(v, isRate ? 'ratio' : 'ms')} vs baseline ${fmt(b, isRate ? 'ratio' : 'ms')}, limit ${fmt(limit, isRate ? 'ratio' : 'ms')})` };
      }
    }
    if (!sawData) return { verdict: 'INCONCLUSIVE' as Verdict, observed: null, evidence: `${fid}: not enough samples after the removal to judge (run ended or workload idle)` };
    const after = i.source.windowStats(h.select, removed, Math.min(removed + h.withinS * 1000, i.runEndMs));
    return { verdict: 'FAIL' as Verdict, observed: null, evidence: `${fid}: not back within ${h.withinS} s (${h.stat} over that time ${fmt(statValue(after, h.stat) ?? NaN, isRate ? 'ratio' : 'ms')} vs limit ${fmt(limit, isRate ? 'ratio' : 'ms')})` };
  });
  const verdict = worst(per.map((p) => p.verdict));
  const observed = per.every((p) => p.observed !== null) ? Math.max(...per.map((p) => p.observed as number)) : null;
  return { ...base, verdict, observed, evidence: per.map((p) => p.evidence).join('; ') };
}

function evaluateNothingLost(h: NothingLostHypothesis, i: EvaluationInput): HypothesisResult {
  const base = { id: h.id, description: h.description, claims: h.claims, phase: 'run', expected: `0 lost, 0 duplicated${h.ordered ? ', 0 out of order' : ''}, 0 missing from history` };
  const r = i.fanout[h.workload];
  if (!r) return { ...base, verdict: 'INCONCLUSIVE', observed: null, evidence: `no fan-out record for workload ${h.workload}` };
  if ('error' in r) return { ...base, verdict: 'INCONCLUSIVE', observed: null, evidence: `workload ${h.workload}: ${r.error}` };
  if (r.expected === 0) return { ...base, verdict: 'INCONCLUSIVE', observed: 0, evidence: `workload ${h.workload}: no acknowledged message to reconcile` };
  const bad = r.lost.length + r.duplicates.length + r.missingFromHistory.length + (h.ordered ? r.orderViolations.length : 0);
  const ex = (xs: { client_message_id: string; recipient?: string }[]) => xs.slice(0, 3).map((x) => x.recipient ? `${x.client_message_id}→${x.recipient.slice(0, 8)}` : x.client_message_id).join(', ');
  const evidence = `${r.delivered}/${r.expected} deliveries (completeness ${(r.completeness * 100).toFixed(2)} %); lost ${r.lost.length}${r.lost.length ? ` (${ex(r.lost)})` : ''}, duplicates ${r.duplicates.length}${r.duplicates.length ? ` (${ex(r.duplicates)})` : ''}, out of order ${r.orderViolations.length}, missing from history ${r.missingFromHistory.length}${r.missingFromHistory.length ? ` (${ex(r.missingFromHistory.map((m) => ({ client_message_id: m })))})` : ''}`;
  return { ...base, verdict: bad === 0 ? 'PASS' : 'FAIL', observed: bad, evidence };
}

export function evaluateHypothesis(h: Hypothesis, i: EvaluationInput): HypothesisResult {
  if (h.kind === 'recovers') return evaluateRecovers(h, i);
  if (h.kind === 'nothing-lost') return evaluateNothingLost(h, i);
  return evaluateThreshold(h, i);
}

/**
 * A claim's verdict from the hypotheses that name it: any FAIL → FAIL, else any INCONCLUSIVE →
 * INCONCLUSIVE, else PASS; no hypothesis → INCONCLUSIVE.
 */
export function evaluateClaims(claims: Claim[], hypotheses: HypothesisResult[], profile: string | undefined): ClaimResult[] {
  const ids = [...new Set(hypotheses.flatMap((h) => h.claims))];
  return ids.map((id) => {
    const c = claims.find((x) => x.id === id);
    const hs = hypotheses.filter((h) => h.claims.includes(id));
    const verdict = hs.length ? worst(hs.map((h) => h.verdict)) : 'INCONCLUSIVE';
    const expected = c ? expectedVerdict(c, profile) : null;
    const deciding = hs.filter((h) => h.verdict === verdict);
    const reason = deciding.length ? deciding.map((h) => `${h.id}: ${h.evidence}`).join(' | ') : 'no hypothesis checks this claim';
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
