/**
 * `returns-to-baseline`: a level the load raises (the sockets a service holds, its open files) comes back once the
 * load stops. Its level before the load (phase `before-load`: its lowest reading there — the phase ends when the
 * harness saw the load's first sample, so its last readings may already hold the first sockets; the workload's own
 * setup passes there too) against its level at the end of the after-load window (the mean of the readings in its last
 * `tailS`), within a tolerance (the larger of `absolute` and `relative` × the baseline):
 *   PASS          the end level is within the tolerance above the baseline: what the load took was given back
 *   FAIL          above it: something the load opened was never released
 *   INCONCLUSIVE  the target lacks the metric (its dialect names no series for it: server-quantities.ts), no
 *                 before-load / after-load phase (the experiment's afterLoadS), no reading before the load or at the
 *                 end, or the load never raised the level by `minRise` (a level that never moved tells nothing of a leak)
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { QUANTITIES, seriesFor, seriesOfAnyDialect } from '../../experiment/server-quantities.js';
import { SelectorSchema, fmt, hypothesisBase, label, phasesFor, seconds, type EvaluationInput, type KindResult } from '../common.js';

export const ToleranceSchema = z.object({
  /** Allowed difference in the series' unit. */
  absolute: z.number().min(0).default(0),
  /** Allowed difference as a share of the reference value (the baseline here; what the harness did in server-agrees). */
  relative: z.number().min(0).default(0.05),
}).strict();

export const ReturnsToBaselineSchema = z.object({
  kind: z.literal('returns-to-baseline'),
  ...hypothesisBase,
  /** What is measured, by meaning: the target's own series for it on `service` (server-quantities.ts). */
  quantity: z.enum(QUANTITIES).optional(),
  service: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a service name (chat, gateway, …)').optional(),
  /** Or any series, e.g. {metric: sc_process_fds, tags: {service: chat}} (the runner's /proc reading). */
  select: SelectorSchema.optional(),
  /** The end level: the mean of the readings in the after-load window's last so long. */
  tailS: seconds({ positive: true }).default(3),
  tolerance: ToleranceSchema.default({ absolute: 0, relative: 0.05 }),
  /** The load must raise the level at least this much above the baseline; less → INCONCLUSIVE. */
  minRise: z.number().positive().default(1),
  unit: z.string().min(1).default('count'),
}).strict().refine((h) => (h.select === undefined) === (h.quantity !== undefined && h.service !== undefined) && (h.select === undefined || (h.quantity === undefined && h.service === undefined)), {
  message: 'name the level either by quantity + service or by select',
});
export type ReturnsToBaselineHypothesis = z.output<typeof ReturnsToBaselineSchema>;

export const returnsToBaselineSelectors = (h: ReturnsToBaselineHypothesis): SeriesSelector[] =>
  h.select ? [h.select] : seriesOfAnyDialect(h.quantity!, h.service!);

/** A reading's level: the mean of a trend's readings (the server's series), else a gauge's last. */
const levelOf = (s: { count: number; mean?: number | undefined; last?: number | undefined }): number | null =>
  s.count === 0 ? null : (s.mean ?? s.last ?? null);

export function evaluateReturnsToBaseline(h: ReturnsToBaselineHypothesis, i: EvaluationInput): KindResult {
  const dialect = i.dialect ?? 'reference';
  const sel = h.select ?? seriesFor(h.quantity!, dialect, h.service!);
  const what = h.select ? label(h.select) : `${h.quantity} of ${h.service}`;
  const allowed = (base: number) => Math.max(h.tolerance.absolute, h.tolerance.relative * base);
  const expected = `${what}: back within max(${fmt(h.tolerance.absolute, h.unit)}, ${h.tolerance.relative * 100} %) of its level before the load, ${h.tailS} s before the after-load window ends`;
  const out = (verdict: KindResult['verdict'], observed: number | null, evidence: string, phase = 'after-load'): KindResult => ({ verdict, observed, expected, phase, evidence });
  if (!sel) return out('INCONCLUSIVE', null, `the target lacks the metric: ${dialect} targets name no series for ${h.quantity} on ${h.service}`);
  const before = i.phases.find((p) => p.id === 'before-load');
  const after = i.phases.find((p) => p.id === 'after-load');
  if (!before || !after) return out('INCONCLUSIVE', null, `no ${before ? 'after-load' : 'before-load'} phase in this run: the target is observed around the load only when the experiment sets afterLoadS`);
  const pre = i.source.stats(sel, 'before-load');
  const base = pre.count > 0 ? (pre.min ?? null) : null;
  if (base === null) return out('INCONCLUSIVE', null, `no reading of ${label(sel)} before the load (${Math.round((before.endMs - before.startMs) / 1000)} s observed)`, 'before-load');
  const run = phasesFor('run', i)[0]!;
  const peak = i.source.windowStats(sel, run.startMs, after.startMs).max;
  const tailFrom = Math.max(after.startMs, after.endMs - h.tailS * 1000);
  const end = levelOf(i.source.windowStats(sel, tailFrom, after.endMs));
  const said = `${label(sel)}: ${fmt(base, h.unit)} before the load (its lowest reading there), ${peak === undefined ? 'no reading' : fmt(peak, h.unit)} at most under it`;
  if (end === null) return out('INCONCLUSIVE', null, `${said}; no reading in the last ${h.tailS} s of the after-load window (${Math.round((after.endMs - after.startMs) / 1000)} s long)`);
  if (peak === undefined || peak - base < h.minRise) return out('INCONCLUSIVE', end, `${said}: the load never raised it by ${fmt(h.minRise, h.unit)}, so its return says nothing (does the target update it?)`);
  const limit = base + allowed(base);
  const ended = `${fmt(end, h.unit)} at the end of the after-load window (allowed ≤ ${fmt(limit, h.unit)})`;
  if (end <= limit) return out('PASS', end, `${said}, ${ended}: back to its baseline`);
  return out('FAIL', end, `${said}, ${ended}: ${fmt(end - base, h.unit)} above its baseline after the load, never released`);
}
