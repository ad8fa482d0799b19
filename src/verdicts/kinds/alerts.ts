/**
 * `alerts`: recommended alert rules evaluated on the run's own data, window by window (default 5 s, from the run's
 * start; a rule's `for:` of minutes shrinks to one window in an accelerated run). A window where the rule's series has
 * fewer than `minSamples` samples says nothing (neither firing nor quiet).
 *   FAIL          a rule fires in a window inside the baseline (a false alarm with no fault), or a rule the experiment
 *                 says should fire during a fault has data in that fault's windows and never fires there
 *   PASS          no rule fires in the baseline (each had data there) and every expected firing happened
 *   INCONCLUSIVE  a rule had no data in the baseline, an expected rule had none in its fault, is not evaluable, or the
 *                 fault never landed (not applied, calibration failed)
 * A rule with no data source (`notEvaluable`, or a series with no sample in the whole run) is listed, never counted.
 * When each rule fired is kept as the result's `timeline` for the report.
 */
import { z } from 'zod';
import type { AlertRow, SeriesSelector } from '../../results/model.js';
import { SelectorSchema, StatSchema, calibrationProblem, compare, fmt, hypothesisBase, hypothesisId, label, phasesFor, seconds, statValue, worst, type EvaluationInput, type KindResult } from '../common.js';
import { phasesMatching } from '../../experiment/phases.js';

const RuleSchema = z.object({
  /** The series, the statistic of a window, and the condition that fires the rule. */
  select: SelectorSchema,
  stat: StatSchema,
  op: z.enum(['>', '>=', '<', '<=']),
  value: z.number(),
  unit: z.string().min(1).default('ms'),
}).strict();

const AlertSchema = z.object({
  id: hypothesisId(),
  /** The recommendation's words, e.g. "High error rate (> 5% of requests failing)". */
  says: z.string().min(1),
  rule: RuleSchema.optional(),
  /** Why this target gives the rule no data (no memory limit, no pool gauge): listed, never counted. */
  notEvaluable: z.string().min(1).optional(),
}).strict().refine((a) => (a.rule === undefined) !== (a.notEvaluable === undefined), { message: 'an alert has either a rule or notEvaluable (why it has no data source)' });

export const AlertsSchema = z.object({
  kind: z.literal('alerts'),
  ...hypothesisBase,
  alerts: z.array(AlertSchema).min(1),
  /** Per fault id: the alerts that must fire while it is on. */
  shouldFire: z.record(hypothesisId(), z.array(hypothesisId()).min(1)).default({}),
  windowS: seconds({ positive: true }).default(5),
  /** Fewer samples in a window → the window says nothing. */
  minSamples: z.number().int().min(1).default(5),
}).strict().superRefine((h, ctx) => {
  const ids = new Set(h.alerts.map((a) => a.id));
  for (const [fault, list] of Object.entries(h.shouldFire)) {
    for (const a of list) if (!ids.has(a)) ctx.addIssue({ code: 'custom', path: ['shouldFire', fault], message: `no alert ${a} (alerts: ${[...ids].join(', ')})` });
  }
});
export type AlertsHypothesis = z.output<typeof AlertsSchema>;

export const alertsSelectors = (h: AlertsHypothesis): SeriesSelector[] => h.alerts.flatMap((a) => (a.rule ? [a.rule.select] : []));

type WindowState = 'firing' | 'quiet' | 'no-data';
interface Evaluated { id: string; says: string; windows: { startMs: number; endMs: number; state: WindowState }[]; notEvaluable?: string }

/** A time as seconds since the run's start. */
const sinceStart = (ms: number, runStart: number) => `+${Math.round((ms - runStart) / 100) / 10} s`;

/** Each rule over the run's windows (pure: from the stats source). */
function evaluateRules(h: AlertsHypothesis, i: EvaluationInput, startMs: number, endMs: number): Evaluated[] {
  const w = h.windowS * 1000;
  return h.alerts.map((a): Evaluated => {
    if (!a.rule) return { id: a.id, says: a.says, windows: [], notEvaluable: a.notEvaluable! };
    const r = a.rule;
    if (i.source.windowStats(r.select, startMs, endMs).count === 0) return { id: a.id, says: a.says, windows: [], notEvaluable: `no sample of ${label(r.select)} in the run` };
    const windows: Evaluated['windows'] = [];
    for (let t = startMs, n = 0; t < endMs && n < 100_000; t += w, n++) {
      const e = Math.min(t + w, endMs);
      const s = i.source.windowStats(r.select, t, e);
      const v = s.count >= h.minSamples ? statValue(s, r.stat) : null;
      windows.push({ startMs: t, endMs: e, state: v === null ? 'no-data' : compare(v, r.op, r.value) ? 'firing' : 'quiet' });
    }
    return { id: a.id, says: a.says, windows };
  });
}

/** Consecutive firing windows as one span. */
function firingSpans(e: Evaluated): { startMs: number; endMs: number }[] {
  const out: { startMs: number; endMs: number }[] = [];
  for (const x of e.windows) {
    if (x.state !== 'firing') continue;
    const last = out[out.length - 1];
    if (last && last.endMs === x.startMs) last.endMs = x.endMs;
    else out.push({ startMs: x.startMs, endMs: x.endMs });
  }
  return out;
}

export function evaluateAlerts(h: AlertsHypothesis, i: EvaluationInput): KindResult {
  const faults = Object.keys(h.shouldFire);
  const expected = `no alert fires in the baseline${faults.length ? `; ${faults.map((f) => `${h.shouldFire[f]!.join(', ')} fire during ${f}`).join('; ')}` : ''} (windows of ${h.windowS} s, ≥ ${h.minSamples} samples)`;
  const run = phasesFor('run', i)[0]!;
  const rules = evaluateRules(h, i, run.startMs, run.endMs);
  const timeline: AlertRow[] = rules.map((e) => ({ id: e.id, label: e.says, firing: firingSpans(e), ...(e.notEvaluable ? { notEvaluable: e.notEvaluable } : {}) }));
  const findings: { verdict: 'PASS' | 'FAIL' | 'INCONCLUSIVE'; text: string }[] = [];
  const rel = (ms: number) => sinceStart(ms, run.startMs);

  const baseline = i.phases.filter((p) => p.kind === 'baseline');
  for (const e of rules.filter((x) => !x.notEvaluable)) {
    const inBase = e.windows.filter((x) => baseline.some((p) => x.startMs >= p.startMs && x.endMs <= p.endMs));
    const fired = inBase.filter((x) => x.state === 'firing');
    const withData = inBase.filter((x) => x.state !== 'no-data');
    if (fired.length) findings.push({ verdict: 'FAIL', text: `${e.id} fires in the baseline (${fired.map((x) => `${rel(x.startMs)}…${rel(x.endMs)}`).join(', ')})` });
    else if (withData.length === 0) findings.push({ verdict: 'INCONCLUSIVE', text: `${e.id}: no baseline window with ≥ ${h.minSamples} samples (${inBase.length} windows)` });
    else findings.push({ verdict: 'PASS', text: `${e.id} quiet in the baseline (${withData.length} windows)` });
  }

  for (const [fault, ids] of Object.entries(h.shouldFire)) {
    const phases = phasesMatching(`fault:${fault}`, i.phases);
    if (phases.length === 0) {
      findings.push({ verdict: 'INCONCLUSIVE', text: `fault ${fault} was never applied` });
      continue;
    }
    for (const p of phases) {
      const bad = calibrationProblem(p.faultId, i.calibration);
      if (bad) {
        findings.push({ verdict: 'INCONCLUSIVE', text: bad });
        continue;
      }
      for (const id of ids) {
        const e = rules.find((x) => x.id === id)!;
        if (e.notEvaluable) {
          findings.push({ verdict: 'INCONCLUSIVE', text: `${id} should fire during ${p.id} but is not evaluable: ${e.notEvaluable}` });
          continue;
        }
        // A window belongs to the fault when at least half of it lies inside the fault's phase.
        const inFault = e.windows.filter((x) => Math.min(x.endMs, p.endMs) - Math.max(x.startMs, p.startMs) >= (x.endMs - x.startMs) / 2);
        const fired = inFault.find((x) => x.state === 'firing');
        const withData = inFault.filter((x) => x.state !== 'no-data');
        if (fired) findings.push({ verdict: 'PASS', text: `${id} fires during ${p.id} (from ${rel(fired.startMs)})` });
        else if (withData.length === 0) findings.push({ verdict: 'INCONCLUSIVE', text: `${id}: no window of ${p.id} with ≥ ${h.minSamples} samples (${inFault.length} windows)` });
        else findings.push({ verdict: 'FAIL', text: `${id} never fires during ${p.id} (${withData.length} windows with data)` });
      }
    }
  }

  const notEvaluable = rules.filter((e) => e.notEvaluable).map((e) => `${e.id} not evaluable: ${e.notEvaluable}`);
  const ruleTexts = h.alerts.filter((a) => a.rule && !rules.find((e) => e.id === a.id)!.notEvaluable).map((a) => `${a.id}: ${a.rule!.stat}(${label(a.rule!.select)}) ${a.rule!.op} ${fmt(a.rule!.value, a.rule!.unit)}`);
  const verdict = findings.length ? worst(findings.map((f) => f.verdict)) : 'INCONCLUSIVE';
  // A PASS shows every finding; otherwise the ones that decided it.
  const shown = verdict === 'PASS' ? findings : findings.filter((f) => f.verdict === verdict);
  const evidence = [
    findings.length ? '' : 'no alert is evaluable on this target',
    ...shown.map((f) => f.text),
    ruleTexts.length ? `rules: ${ruleTexts.join('; ')}` : '',
    ...notEvaluable,
  ].filter(Boolean).join('; ');
  return { verdict, observed: findings.filter((f) => f.verdict === 'FAIL').length, expected, phase: 'run', evidence, timeline };
}
