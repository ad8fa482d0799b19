/**
 * The hypothesis kinds: one module each (schema, the series it reads, evaluate). A new kind is one file
 * here plus one entry below; the experiment schema, the runner's selectors and the checker loop over this.
 */
import { z } from 'zod';
import type { SeriesSelector } from '../../results/model.js';
import type { EvaluationInput, KindResult } from '../common.js';
import { AlertsSchema, alertsSelectors, evaluateAlerts, type AlertsHypothesis } from './alerts.js';
import { DriftSchema, driftSelectors, evaluateDrift, type DriftHypothesis } from './drift.js';
import { NoGrowthSchema, evaluateNoGrowth, noGrowthSelectors, type NoGrowthHypothesis } from './no-growth.js';
import { NothingLostSchema, evaluateNothingLost, nothingLostSelectors, type NothingLostHypothesis } from './nothing-lost.js';
import { OutcomesSchema, evaluateOutcomes, outcomesSelectors, type OutcomesHypothesis } from './outcomes.js';
import { ReturnsToBaselineSchema, evaluateReturnsToBaseline, returnsToBaselineSelectors, type ReturnsToBaselineHypothesis } from './returns-to-baseline.js';
import { ServerAgreesSchema, evaluateServerAgrees, serverAgreesSelectors, type ServerAgreesHypothesis } from './server-agrees.js';
import { RecoversSchema, evaluateRecovers, recoversSelectors, type RecoversHypothesis } from './recovers.js';
import { ThresholdSchema, evaluateThreshold, thresholdSelectors, type ThresholdHypothesis } from './threshold.js';

export type Hypothesis = ThresholdHypothesis | OutcomesHypothesis | RecoversHypothesis | NothingLostHypothesis | NoGrowthHypothesis | DriftHypothesis | AlertsHypothesis | ReturnsToBaselineHypothesis | ServerAgreesHypothesis;

interface Kind<H extends Hypothesis> {
  selectors(h: H): SeriesSelector[];
  evaluate(h: H, i: EvaluationInput): KindResult;
}

const KINDS: { [K in Hypothesis['kind']]: Kind<Extract<Hypothesis, { kind: K }>> } = {
  threshold: { selectors: thresholdSelectors, evaluate: evaluateThreshold },
  outcomes: { selectors: outcomesSelectors, evaluate: evaluateOutcomes },
  recovers: { selectors: recoversSelectors, evaluate: evaluateRecovers },
  'nothing-lost': { selectors: nothingLostSelectors, evaluate: evaluateNothingLost },
  'no-growth': { selectors: noGrowthSelectors, evaluate: evaluateNoGrowth },
  drift: { selectors: driftSelectors, evaluate: evaluateDrift },
  alerts: { selectors: alertsSelectors, evaluate: evaluateAlerts },
  'returns-to-baseline': { selectors: returnsToBaselineSelectors, evaluate: evaluateReturnsToBaseline },
  'server-agrees': { selectors: serverAgreesSelectors, evaluate: evaluateServerAgrees },
};

/** Each kind's own schema (experiment validation names a field of another kind in a kind-less hypothesis). */
export const HYPOTHESIS_KINDS = [
  { kind: 'threshold', schema: ThresholdSchema },
  { kind: 'outcomes', schema: OutcomesSchema },
  { kind: 'recovers', schema: RecoversSchema },
  { kind: 'nothing-lost', schema: NothingLostSchema },
  { kind: 'no-growth', schema: NoGrowthSchema },
  { kind: 'drift', schema: DriftSchema },
  { kind: 'alerts', schema: AlertsSchema },
  { kind: 'returns-to-baseline', schema: ReturnsToBaselineSchema },
  { kind: 'server-agrees', schema: ServerAgreesSchema },
] as const;

/** `kind` picks the schema, so an error names the field of that kind. */
const ByKind = z.discriminatedUnion('kind', [ThresholdSchema.extend({ kind: z.literal('threshold') }), OutcomesSchema, RecoversSchema, NothingLostSchema, NoGrowthSchema, DriftSchema, AlertsSchema, ReturnsToBaselineSchema, ServerAgreesSchema]);

/** A hypothesis of any kind; without `kind` it is a threshold (the common case in experiment files). */
export const HypothesisSchema = z.preprocess((v) => (typeof v === 'object' && v !== null && !('kind' in v) ? { ...v, kind: 'threshold' } : v), ByKind);

export function selectorsOf(h: Hypothesis): SeriesSelector[] {
  return (KINDS[h.kind] as Kind<Hypothesis>).selectors(h);
}

export function evaluateKind(h: Hypothesis, i: EvaluationInput): KindResult {
  return (KINDS[h.kind] as Kind<Hypothesis>).evaluate(h, i);
}

export type { ThresholdHypothesis, OutcomesHypothesis, RecoversHypothesis, NothingLostHypothesis, NoGrowthHypothesis, DriftHypothesis, AlertsHypothesis, ReturnsToBaselineHypothesis, ServerAgreesHypothesis };
