/**
 * `drift`: a latency that should hold steady over a soak does not drift — per step (one selector per value of a tag,
 * e.g. `step` or `via`), the p95 of the phase's last window against the p95 of its first after a warm-up (default: 10 %
 * of the phase, at most 2 min, as no-growth's: a cold start's slow first requests would raise the budget and hide a drift).
 * Each window's p95 comes from the merged HDR histograms of the pipeline's 1-second windows it covers (never an
 * average of percentiles; the windows' histograms keep 2 significant digits, ±1 %).
 *   FAIL          last p95 > first p95 × maxRatio + slackMs (the slack keeps a few ms of noise on a fast step from
 *                 reading as drift)
 *   PASS          last p95 within that budget
 *   INCONCLUSIVE  either window has fewer than minSamples samples (a p95 of fewer than 20 is its maximum), or no phase
 * The worst step decides; every step's numbers are in the evidence.
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { PhasePattern, SelectorSchema, foldPhases, hypothesisBase, label, phasesFor, seconds, worst, type EvaluationInput, type KindResult } from '../common.js';

export const DriftSchema = z.object({
  kind: z.literal('drift'),
  ...hypothesisBase,
  /** The latency (a trend), e.g. {metric: sc_ack_latency, tags: {via: rest}}. */
  select: SelectorSchema,
  /** One judgement per value of this tag (the scenario's steps), each added to `select`'s tags. */
  per: z.object({ tag: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), values: z.array(z.string().min(1)).min(1) }).strict().optional(),
  phase: PhasePattern.default('run'),
  /** Each window's length; default: `windowShare` of the phase. */
  windowS: seconds({ positive: true }).optional(),
  windowShare: z.number().positive().max(0.45).default(0.1),
  /** Left out before the first window (default: 10 % of the phase, at most 2 min). */
  warmupS: seconds({ min: 0 }).optional(),
  /** The last window's p95 may be this many times the first's … */
  maxRatio: z.number().min(1).default(1.5),
  /** … plus this many ms. */
  slackMs: z.number().min(0).default(50),
  /** Fewer samples in either window → INCONCLUSIVE. */
  minSamples: z.number().int().min(20).default(20),
}).strict();
export type DriftHypothesis = z.output<typeof DriftSchema>;

/** One selector per step. */
export const driftSelectors = (h: DriftHypothesis): SeriesSelector[] =>
  h.per ? h.per.values.map((v) => ({ metric: h.select.metric, tags: { ...(h.select.tags ?? {}), [h.per!.tag]: v } })) : [h.select];

const ms = (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
const secs = (v: number) => `${Math.round(v / 100) / 10} s`;

export function evaluateDrift(h: DriftHypothesis, i: EvaluationInput): KindResult {
  const expected = `p95 of the last window ≤ ${h.maxRatio} × the first's + ${h.slackMs} ms, per step`;
  const phases = phasesFor(h.phase, i);
  if (phases.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run` };
  // Judged under load: where the target is watched after the load (afterLoadS), the phase ends where the load did.
  const loadEndMs = i.phases.find((p) => p.kind === 'after-load')?.startMs ?? Infinity;
  const results = phases.map((phase) => {
    const p = { ...phase, endMs: Math.max(phase.startMs, Math.min(phase.endMs, loadEndMs)) };
    const span = p.endMs - p.startMs;
    const warm = Math.min(h.warmupS !== undefined ? h.warmupS * 1000 : Math.min(0.1 * span, 120_000), span / 2);
    const win = Math.min(h.windowS !== undefined ? h.windowS * 1000 : span * h.windowShare, (span - warm) / 2);
    const first = `the first ${secs(win)} after a warm-up of ${secs(warm)}`;
    const steps = driftSelectors(h).map((sel) => {
      const a = i.source.windowStats(sel, p.startMs + warm, p.startMs + warm + win);
      const b = i.source.windowStats(sel, p.endMs - win, p.endMs);
      const name = label(sel);
      if (a.count < h.minSamples || b.count < h.minSamples || a.p95 === undefined || b.p95 === undefined) {
        return { verdict: 'INCONCLUSIVE' as const, ratio: null, text: `${name}: ${a.count} samples in ${first}, ${b.count} in the last ${secs(win)} (need ${h.minSamples} in each)` };
      }
      const budget = a.p95 * h.maxRatio + h.slackMs;
      const ratio = a.p95 > 0 ? b.p95 / a.p95 : Infinity;
      const text = `${name}: p95 ${ms(a.p95)} in ${first} (${a.count} samples) → ${ms(b.p95)} in the last ${secs(win)} (${b.count}; ×${ratio.toFixed(2)}, budget ${ms(budget)})`;
      return b.p95 > budget ? { verdict: 'FAIL' as const, ratio, text: `${text}: drifted` } : { verdict: 'PASS' as const, ratio, text };
    });
    const verdict = worst(steps.map((s) => s.verdict));
    const shown = steps.filter((s) => s.verdict === verdict && s.ratio !== null).reduce<number | null>((m, s) => (m === null || s.ratio! > m ? s.ratio : m), null);
    return { phase: p.id, verdict, observed: shown, evidence: `${p.id}: ${steps.map((s) => s.text).join('; ')}` };
  });
  return { expected, ...foldPhases(h.phase, results) };
}
