/**
 * `no-growth`: a level that should hold steady under constant load (a service's resident memory) shows no sustained
 * growth. After a warm-up cut (default: the first 10 % of the phase, at least 2 min — a service's heap and caches
 * fill over its first minutes, and a short run's slope is that filling, not a leak), the phase is cut into equal
 * bins (at most 30, each ≥ 1 s); each bin's mean is one point, and an ordinary least-squares line through them
 * gives the growth per hour with its 95 % confidence interval (Student's t, n − 2 degrees of freedom; bin means
 * rather than raw readings, so a GC's saw-tooth does not pass for independent evidence).
 * The budget is a share of the steady-state level per hour (default 5 %: 4 MiB/h on an 80 MiB service):
 *   FAIL          the interval's lower bound exceeds the budget: it grows, for sure, faster than allowed
 *   PASS          the interval's upper bound is within the budget: it does not, for sure (a level that shrinks too)
 *   INCONCLUSIVE  the interval holds the budget: the run is too short to tell, and the evidence says about how long
 *                 it would need (the half-width of a slope's interval shrinks as T^-3/2 with evenly spaced readings);
 *                 or too few readings after the warm-up
 */
import { z } from 'zod';
import type { FittedTrend, SeriesSelector } from '../../results/model.js';
import { PhasePattern, SelectorSchema, foldPhases, hypothesisBase, label, phasesFor, seconds, type EvaluationInput, type KindResult, type StatsSource } from '../common.js';

export const NoGrowthSchema = z.object({
  kind: z.literal('no-growth'),
  ...hypothesisBase,
  /** The level (a trend of readings: its bins' means are regressed), e.g. {metric: sc_process_rss_mib, tags: {service: chat}}. */
  select: SelectorSchema,
  phase: PhasePattern.default('run'),
  /** Growth allowed per hour, as a share of the steady-state level (the mean after the warm-up). */
  budgetPerHour: z.number().positive().default(0.05),
  /** Left out at the phase's start (default: 10 % of the phase, at least 2 min). */
  warmupS: seconds({ min: 0 }).optional(),
  /** Fewer bins with readings than this → INCONCLUSIVE. */
  minPoints: z.number().int().min(4).default(8),
  unit: z.string().min(1).default('MiB'),
}).strict();
export type NoGrowthHypothesis = z.output<typeof NoGrowthSchema>;

export const noGrowthSelectors = (h: NoGrowthHypothesis): SeriesSelector[] => [h.select];

const MAX_BINS = 30;
const Z975 = 1.959964;

/** Student's t quantile 0.975 for `df` degrees of freedom (Cornish-Fisher expansion: within 0.5 % from df = 3). */
export function t975(df: number): number {
  const z = Z975;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3);
}

export interface Trend {
  n: number;
  /** Per hour, in the level's unit; its 95 % interval. */
  slope: number;
  low: number;
  high: number;
  mean: number;
}

/** Least-squares line through (hours, value) points: slope per hour and its 95 % interval. Null under 3 points or no spread in time. */
export function trendOf(points: readonly { h: number; v: number }[]): Trend | null {
  const n = points.length;
  if (n < 3) return null;
  const mh = points.reduce((a, p) => a + p.h, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.h - mh) ** 2, 0);
  if (!(sxx > 0)) return null;
  const slope = points.reduce((a, p) => a + (p.h - mh) * (p.v - mv), 0) / sxx;
  const rss = points.reduce((a, p) => a + (p.v - (mv + slope * (p.h - mh))) ** 2, 0);
  const half = t975(n - 2) * Math.sqrt(rss / (n - 2) / sxx);
  return { n, slope, low: slope - half, high: slope + half, mean: mv };
}

const f1 = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
// Minutes from 5 min on (or a whole number of them): "128 s" stays exact where a rounded "2 min" would mislead.
const duration = (s: number) => (s >= 5400 ? `${(s / 3600).toFixed(1)} h` : s >= 300 || (s >= 90 && Math.round(s) % 60 === 0) ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

/** The warm-up cut from a span before its trend is fitted when none is given: the first 10 % of it, at least 2 min. */
export const defaultWarmupMs = (spanMs: number): number => Math.max(0.1 * spanMs, 120_000);

/** `select`'s readings from `fromMs` to `toMs` in at most MAX_BINS bins of whole seconds: each bin's mean, at its hours after fromMs. */
export function binnedMeans(source: StatsSource, select: SeriesSelector, fromMs: number, toMs: number): { h: number; v: number }[] {
  const binMs = Math.max(1000, Math.ceil((toMs - fromMs) / MAX_BINS / 1000) * 1000);
  const points: { h: number; v: number }[] = [];
  for (let t = fromMs; t + binMs <= toMs; t += binMs) {
    const s = source.windowStats(select, t, t + binMs);
    if (s.count > 0 && s.mean !== undefined) points.push({ h: (t + binMs / 2 - fromMs) / 3_600_000, v: s.mean });
  }
  return points;
}

export function evaluateNoGrowth(h: NoGrowthHypothesis, i: EvaluationInput): KindResult {
  const expected = `${label(h.select)}: growth ≤ ${h.budgetPerHour * 100} % of its steady level per hour (95 % interval's lower bound)`;
  const phases = phasesFor(h.phase, i);
  if (phases.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run` };
  // The line fitted in each phase, for the report (the verdicts below do not read it).
  const trends: FittedTrend[] = [];
  const results = phases.map((p) => {
    const spanMs = p.endMs - p.startMs;
    const warmMs = h.warmupS !== undefined ? h.warmupS * 1000 : defaultWarmupMs(spanMs);
    const from = p.startMs + warmMs;
    const judgedMs = p.endMs - from;
    const points = binnedMeans(i.source, h.select, from, p.endMs);
    const cut = `after a warm-up of ${duration(warmMs / 1000)}`;
    if (points.length < h.minPoints) {
      // Bins are at least 1 s: a phase of warm-up + minPoints seconds of readings is the least that gives them.
      const atLeast = judgedMs >= h.minPoints * 1000 ? '' : `; too short: a phase of at least ${duration(warmMs / 1000 + h.minPoints)} would give them`;
      return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: ${points.length} bins with readings of ${label(h.select)} ${cut} (need ${h.minPoints})${atLeast}` };
    }
    const tr = trendOf(points);
    if (!tr) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: `${p.id}: no trend to fit ${cut}` };
    const meanH = points.reduce((a, x) => a + x.h, 0) / points.length;
    trends.push({ label: label(h.select), phase: p.id, fromMs: from, toMs: p.endMs, atMs: from + meanH * 3_600_000, level: tr.mean, slopePerHour: tr.slope, unit: h.unit });
    const budget = h.budgetPerHour * tr.mean;
    const half = (tr.high - tr.low) / 2;
    const said = `${p.id}: ${f1(tr.slope)} ${h.unit}/h [95 % ${f1(tr.low)}, ${f1(tr.high)}] over ${duration(judgedMs / 1000)} ${cut} (${tr.n} bins, steady level ${f1(tr.mean)} ${h.unit}; budget ${f1(budget)} ${h.unit}/h)`;
    if (tr.low > budget) return { phase: p.id, verdict: 'FAIL' as const, observed: tr.slope, evidence: `${said}: grows faster than the budget` };
    if (tr.high <= budget) return { phase: p.id, verdict: 'PASS' as const, observed: tr.slope, evidence: `${said}: no growth beyond the budget` };
    // The interval holds the budget: it would exclude it once its half-width is below the slope's distance to the
    // budget (if the slope stays where it is); a slope on the budget itself never decides.
    const gap = Math.abs(budget - tr.slope);
    const needS = gap > 0 ? (judgedMs / 1000) * (half / gap) ** (2 / 3) + warmMs / 1000 : Infinity;
    const need = Number.isFinite(needS) && needS < 30 * 86_400 ? `a run of about ${duration(needS)} would tell` : 'a slope this close to the budget takes a much longer run to tell';
    return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: tr.slope, evidence: `${said}: the interval holds the budget, too short to tell; ${need}` };
  });
  return { expected, ...foldPhases(h.phase, results), ...(trends.length ? { trends } : {}) };
}
