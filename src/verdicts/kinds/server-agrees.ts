/**
 * `server-agrees`: the target's own counters agree with what the harness did. Each comparison names a quantity by
 * meaning (server-quantities.ts picks the target's series for it) and the harness's own record of the same thing:
 *   a counter (messages-stored, requests-rate-limited): the series' growth over the phase — its highest reading less
 *     its level before the load (the before-load phase's readings; a labelled counter the service did not serve yet
 *     was 0: it appears at its first increment), else its first reading — against the harness counter's sum;
 *   a level (sockets-held): each scrape's reading against the harness's own level then (`harness` counts what it
 *     opened, `harnessClosed` what it closed: their running difference), the median of the differences over the
 *     readings while the harness held any.
 * Within max(absolute, relative × the harness's number):
 *   PASS          every comparison the target can make agrees
 *   FAIL          one disagrees (a counter that under-counts, a gauge that never comes down or never moves)
 *   INCONCLUSIVE  one lacks evidence: no reading of the series (a declared counter the service never moved serves
 *                 none), fewer harness events than minCount, too few readings of a level
 * A comparison whose quantity the target lacks altogether (its dialect names no series) is listed as not evaluable
 * and never counted; when none is left the check is INCONCLUSIVE.
 * A counter split by labels (the reference's persisted counter by `via`) is read as the highest of its series: a
 * workload that sends over both paths needs `serverTags` to name one.
 */
import { z } from 'zod';
import { median } from '../../util/median.js';
import type { SeriesSelector, Verdict } from '../../results/model.js';
import { seriesFor, seriesOfAnyDialect, type Quantity } from '../../experiment/server-quantities.js';
import { METRICS_UP } from '../../experiment/server-observer.js';
import { PhasePattern, SelectorSchema, fmt, hypothesisBase, label, phasesFor, worst, type EvaluationInput, type KindResult } from '../common.js';
import { ToleranceSchema } from './returns-to-baseline.js';

const COUNTERS = ['messages-stored', 'requests-rate-limited'] as const;
const LEVELS = ['sockets-held'] as const;

const ComparisonSchema = z.object({
  quantity: z.enum([...COUNTERS, ...LEVELS]),
  service: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a service name (chat, gateway, …)'),
  /** The harness's record: a counter (e.g. sc_messages_acked); for a level, what it opened (sc_sockets_opened). */
  harness: SelectorSchema,
  /** A level only: what the harness closed (sc_sockets_closed). */
  harnessClosed: SelectorSchema.optional(),
  /** Narrows the server's series (a label of a split counter, e.g. {via: rest}). */
  serverTags: z.record(z.string(), z.string()).optional(),
}).strict().refine((c) => ((LEVELS as readonly string[]).includes(c.quantity)) === (c.harnessClosed !== undefined), {
  message: 'a level (sockets-held) needs harness (opened) and harnessClosed (closed); a counter takes harness alone',
});

export const ServerAgreesSchema = z.object({
  kind: z.literal('server-agrees'),
  ...hypothesisBase,
  compare: z.array(ComparisonSchema).min(1),
  phase: PhasePattern.default('run'),
  tolerance: ToleranceSchema.default({ absolute: 1, relative: 0.05 }),
  /** A counter the harness moved fewer times than this in the phase → INCONCLUSIVE. */
  minCount: z.number().int().min(1).default(10),
  /** A level with fewer readings than this while the harness held any → INCONCLUSIVE. */
  minReadings: z.number().int().min(1).default(5),
}).strict();
export type ServerAgreesHypothesis = z.output<typeof ServerAgreesSchema>;
type Comparison = ServerAgreesHypothesis['compare'][number];

const serverSeries = (c: Comparison, s: SeriesSelector): SeriesSelector => (c.serverTags ? { metric: s.metric, tags: { ...s.tags, ...c.serverTags } } : s);
const upOf = (service: string): SeriesSelector => ({ metric: METRICS_UP, tags: { service } });

export const serverAgreesSelectors = (h: ServerAgreesHypothesis): SeriesSelector[] => h.compare.flatMap((c) => [
  ...seriesOfAnyDialect(c.quantity as Quantity, c.service).map((s) => serverSeries(c, s)),
  c.harness, ...(c.harnessClosed ? [c.harnessClosed] : []), upOf(c.service),
]);

interface Judged { verdict: Verdict | 'not-evaluable'; observed: number | null; evidence: string }
const STEP_MS = 1000;

export function evaluateServerAgrees(h: ServerAgreesHypothesis, i: EvaluationInput): KindResult {
  const tol = (ref: number) => Math.max(h.tolerance.absolute, h.tolerance.relative * ref);
  const expected = `the target's counters within max(${h.tolerance.absolute}, ${h.tolerance.relative * 100} %) of what the harness did: ${h.compare.map((c) => `${c.quantity} of ${c.service}`).join(', ')}`;
  const p = phasesFor(h.phase, i)[0];
  if (!p) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: h.phase, evidence: `no phase ${h.phase} in this run` };
  const dialect = i.dialect ?? 'reference';
  const phaseStats = (s: SeriesSelector) => (p.id === 'run' ? i.source.stats(s, 'run') : i.source.windowStats(s, p.startMs, p.endMs));
  const before = i.phases.find((x) => x.id === 'before-load');

  const counter = (c: Comparison, sel: SeriesSelector, name: string): Judged => {
    const did = phaseStats(c.harness).sum ?? 0;
    if (did < h.minCount) return { verdict: 'INCONCLUSIVE', observed: null, evidence: `${c.quantity}: the harness counted ${did} (${label(c.harness)}), fewer than ${h.minCount} to compare` };
    const inPhase = phaseStats(sel);
    const served = phaseStats(upOf(c.service)).passes ?? 0;
    if (inPhase.count === 0) {
      return { verdict: 'INCONCLUSIVE', observed: null, evidence: served > 0
        ? `${c.quantity}: ${c.service} served /metrics ${served} times, never with a ${sel.tags?.metric ?? sel.metric} series (declared and never moved?)`
        : `${c.quantity}: no reading of ${c.service}'s /metrics in ${p.id}` };
    }
    let from: number;
    let fromWhat: string;
    const pre = before ? i.source.stats(sel, 'before-load') : null;
    if (pre && pre.count > 0) [from, fromWhat] = [pre.max!, 'its level before the load'];
    else if (before && (i.source.stats(upOf(c.service), 'before-load').passes ?? 0) > 0) [from, fromWhat] = [0, 'no series before the load (a counter appears at its first increment)'];
    else [from, fromWhat] = [inPhase.min!, 'its first reading'];
    const grew = inPhase.max! - from;
    const off = grew - did;
    const said = `${c.quantity}: ${name} grew by ${fmt(grew, 'count')} (from ${fromWhat}), the harness counted ${fmt(did, 'count')} (${label(c.harness)})`;
    return Math.abs(off) <= tol(did)
      ? { verdict: 'PASS', observed: off, evidence: `${said}: agree` }
      : { verdict: 'FAIL', observed: off, evidence: `${said}: ${off < 0 ? 'under' : 'over'}-counts by ${fmt(Math.abs(off), 'count')} (${Math.round((Math.abs(off) / did) * 100)} %; allowed ${fmt(tol(did), 'count')})` };
  };

  const level = (c: Comparison, sel: SeriesSelector, name: string): Judged => {
    // The harness's level at each step: what it opened less what it closed, from the first sample on. Before the
    // phase: every sample (the run's total, sockets opened just before the load's clock started included) less those in
    // the windows from the phase's start on.
    const earlier = (s: SeriesSelector) => (i.source.stats(s, 'run').sum ?? 0) - (i.source.windowStats(s, p.startMs, Number.MAX_SAFE_INTEGER).sum ?? 0);
    let held = earlier(c.harness) - earlier(c.harnessClosed!);
    const diffs: number[] = [];
    const levels: number[] = [];
    const steps = Math.min(Math.ceil((p.endMs - p.startMs) / STEP_MS), 200_000);
    for (let k = 0; k < steps; k++) {
      const t = p.startMs + k * STEP_MS;
      held += (i.source.windowStats(c.harness, t, t + STEP_MS).sum ?? 0) - (i.source.windowStats(c.harnessClosed!, t, t + STEP_MS).sum ?? 0);
      const s = i.source.windowStats(sel, t, t + STEP_MS);
      if (held <= 0 || s.count === 0 || s.mean === undefined) continue;
      diffs.push(s.mean - held);
      levels.push(held);
    }
    if (diffs.length < h.minReadings) return { verdict: 'INCONCLUSIVE', observed: null, evidence: `${c.quantity}: ${diffs.length} readings of ${name} while the harness held sockets (need ${h.minReadings})` };
    const off = median(diffs);
    const ref = median(levels);
    const said = `${c.quantity}: ${name} ${off >= 0 ? '+' : ''}${fmt(off, 'count')} against the harness's own count (median over ${diffs.length} readings; it held ${fmt(ref, 'count')})`;
    return Math.abs(off) <= tol(ref)
      ? { verdict: 'PASS', observed: off, evidence: `${said}: agree` }
      : { verdict: 'FAIL', observed: off, evidence: `${said}: disagree (allowed ${fmt(tol(ref), 'count')})` };
  };

  const judged = h.compare.map((c): Judged => {
    const s = seriesFor(c.quantity as Quantity, dialect, c.service);
    if (!s) return { verdict: 'not-evaluable', observed: null, evidence: `${c.quantity}: not evaluable — the target lacks the metric (${dialect} targets name no series for it on ${c.service}), not counted` };
    const sel = serverSeries(c, s);
    const name = `${c.service}'s ${sel.tags?.metric ?? sel.metric}`;
    return (LEVELS as readonly string[]).includes(c.quantity) ? level(c, sel, name) : counter(c, sel, name);
  });
  const counted = judged.filter((j): j is Judged & { verdict: Verdict } => j.verdict !== 'not-evaluable');
  const evidence = judged.map((j) => j.evidence).join('; ');
  if (counted.length === 0) return { verdict: 'INCONCLUSIVE', observed: null, expected, phase: p.id, evidence: `nothing to compare on this target: ${evidence}` };
  const verdict = worst(counted.map((j) => j.verdict));
  return { verdict, observed: counted.find((j) => j.verdict === verdict)?.observed ?? null, expected, phase: p.id, evidence };
}
