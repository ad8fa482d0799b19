/**
 * `nothing-lost`: per phase (by default every fault phase), every chat message the target took — acked,
 * or stored in history without an ack — reached every online recipient exactly once (in order), and every
 * acked message is in history. Sends are accounted as acked / refused / hung. A phase is judged only when
 * it carries enough deliveries to see the loss rate the check is about: with independent losses at rate p,
 * n deliveries show at least one with probability 1 − (1 − p)^n; the default (2 %, 95 %) needs n ≥ 149.
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import { checkFanoutRun } from '../../k6/fanout-checker.js';
import { PhasePattern, calibrationProblem, foldPhases, hypothesisBase, hypothesisId, type EvaluationInput, type KindResult, phasesFor } from '../common.js';

export const NothingLostSchema = z.object({
  kind: z.literal('nothing-lost'),
  ...hypothesisBase,
  /** The workload (a chat-fanout scenario) whose messages are reconciled. */
  workload: hypothesisId(),
  /** The phases whose sends are judged, by when each send started (default every fault phase). */
  phase: PhasePattern.default('fault:*'),
  /** Also require no order violation (default true). */
  ordered: z.boolean().default(true),
  /** The loss rate the check must be able to see, and with what probability (detection power). */
  detectLossRate: z.number().gt(0).lt(1).default(0.02),
  power: z.number().gt(0).lt(1).default(0.95),
}).strict();
export type NothingLostHypothesis = z.output<typeof NothingLostSchema>;

export const nothingLostSelectors = (_h: NothingLostHypothesis): SeriesSelector[] => [];

/** Deliveries needed so that a loss rate `p` shows at least once with probability `power`. */
export function deliveriesNeeded(p: number, power: number): number {
  return Math.ceil(Math.log(1 - power) / Math.log(1 - p));
}

export function evaluateNothingLost(h: NothingLostHypothesis, i: EvaluationInput): KindResult {
  const need = deliveriesNeeded(h.detectLossRate, h.power);
  const expected = `0 lost, 0 duplicated${h.ordered ? ', 0 out of order' : ''}, 0 missing from history; ≥ ${need} deliveries per phase (sees ${h.detectLossRate * 100} % loss with ${h.power * 100} % probability)`;
  const out = (verdict: KindResult['verdict'], evidence: string, observed: number | null = null): KindResult => ({ verdict, observed, expected, phase: h.phase, evidence });
  const data = i.fanout[h.workload];
  if (!data) return out('INCONCLUSIVE', `no fan-out record for workload ${h.workload}`);
  if ('error' in data) return out('INCONCLUSIVE', `workload ${h.workload}: ${data.error}`);
  const phases = phasesFor(h.phase, i);
  if (phases.length === 0) return out('INCONCLUSIVE', `no phase ${h.phase} in this run (was the fault applied?)`);
  const results = phases.map((p) => {
    const cal = calibrationProblem(p.faultId, i.calibration);
    if (cal) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: null, evidence: cal };
    const r = checkFanoutRun(data.log, data.history, { sentFrom: p.startMs, sentTo: p.endMs });
    const sends = `${r.acked} acked, ${r.refused} refused, ${r.hung} hung${r.unackedStored ? `, ${r.unackedStored} stored without an ack` : ''}`;
    const bad = r.lost.length + r.duplicates.length + r.missingFromHistory.length + (h.ordered ? r.orderViolations.length : 0);
    // Without a history the deliveries are still judged (a loss is a loss), but a clean phase proves only half.
    const noHistory = data.history === undefined ? `; history not checked: ${data.historyError ?? 'not read'}` : '';
    const ex = (xs: { client_message_id: string; recipient?: string }[]) => xs.slice(0, 3).map((x) => (x.recipient ? `${x.client_message_id}→${x.recipient.slice(0, 8)}` : x.client_message_id)).join(', ');
    const found = `${r.delivered}/${r.expected} deliveries; lost ${r.lost.length}${r.lost.length ? ` (${ex(r.lost)})` : ''}, duplicates ${r.duplicates.length}${r.duplicates.length ? ` (${ex(r.duplicates)})` : ''}, out of order ${r.orderViolations.length}, missing from history ${r.missingFromHistory.length}${r.missingFromHistory.length ? ` (${ex(r.missingFromHistory.map((m) => ({ client_message_id: m })))})` : ''}`;
    // A loss found is a FAIL however few deliveries there were; a clean phase proves something only with enough of them.
    if (bad > 0) return { phase: p.id, verdict: 'FAIL' as const, observed: bad, evidence: `${p.id}: ${found}; sends ${sends}${noHistory}` };
    if (noHistory) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: 0, evidence: `${p.id}: ${found}; sends ${sends}${noHistory} — every acked message in history is the other half of this check` };
    if (r.expected < need) return { phase: p.id, verdict: 'INCONCLUSIVE' as const, observed: 0, evidence: `${p.id}: only ${r.expected} deliveries were due (sends ${sends}); ${need} are needed to see ${h.detectLossRate * 100} % loss with ${h.power * 100} % probability` };
    return { phase: p.id, verdict: 'PASS' as const, observed: 0, evidence: `${p.id}: ${found}; sends ${sends}` };
  });
  return { expected, ...foldPhases(h.phase, results) };
}
