/**
 * Shorthands for experiment files: the hypothesis shapes every experiment repeats (a probe's
 * precondition, an outcome check). Plain data out: defineExperiment validates it like any other input.
 */
import type { OutcomeClass } from '../../scenarios/lib/outcomes.ts';
import type { ExperimentInput } from './spec.js';

type HypothesisIn = ExperimentInput['hypotheses'][number];
type Verdicts = Partial<Record<'audited' | 'as-built' | 'hardened', 'PASS' | 'FAIL' | 'INCONCLUSIVE'>>;

/** The classes a refusal of a revoked token may take: refused as revoked, or the service failing closed. */
export const REFUSED: OutcomeClass[] = ['refused-revoked', 'try-again-later', 'fast-clear-error'];
/** Every class but a hang: "answers, one way or another". */
export const ANSWERED: OutcomeClass[] = ['served', 'refused-revoked', 'refused-origin', 'throttled', 'not-throttled', 'try-again-later', 'fast-clear-error', 'slow-error', 'server-error', 'client-error', 'refused-full', 'undelivered', 'network-error'];

/** Precondition `<probe>-works-before`: the probe saw what it wants in `phase` (default baseline), else its claims' checks prove nothing. */
export function worksBefore(probe: string, claims: string[], accept: OutcomeClass[] = ['served'], o: { phase?: string; share?: number; minAttempts?: number; id?: string; expected?: Verdicts } = {}): HypothesisIn {
  return {
    kind: 'outcomes', role: 'precondition', id: o.id ?? `${probe.replace(/_/g, '-')}-works-before`,
    description: `The ${probe} probe works before the fault (${accept.join(' | ')}); else the checks that rely on it prove nothing`,
    claims, phase: o.phase ?? 'baseline', probe, accept, share: o.share ?? 0.95, ...(o.minAttempts ? { minAttempts: o.minAttempts } : {}), ...(o.expected ? { expected: o.expected } : {}),
  };
}

/** The baseline claims' journeys: the probe that makes one, what it does, and the outcome it wants. */
const JOURNEYS = {
  REGISTRATION: { probe: 'register', does: 'a new account registers: 201 with its tokens' },
  LOGIN: { probe: 'login', does: 'a registered account logs in: 200 with an access token' },
  DELIVERY: { probe: 'deliver', does: 'a message sent over REST reaches the recipient\'s open chat socket' },
  UPLOAD: { probe: 'upload', does: 'upload-url → PUT to object storage → upload-complete succeeds' },
  CALL: { probe: 'call', does: 'a call is initiated and joined, and a signaling frame crosses between both parties' },
  'LOGOUT-REVOKES': { probe: 'logout_revokes', does: 'after logout the access token is refused (401)', accept: ['refused-revoked'] },
} as const satisfies Record<string, { probe: string; does: string; accept?: OutcomeClass[] }>;
export type BaselineClaim = keyof typeof JOURNEYS;

/**
 * Checks `<probe>-works` of baseline claims: before any fault, at least 95 % of the journey's attempts end
 * as it wants. The fault claims that require one of them are INCONCLUSIVE when it does not PASS.
 */
export function baselineChecks(...claims: BaselineClaim[]): HypothesisIn[] {
  return claims.map((claim) => {
    const j: { probe: string; does: string; accept?: readonly OutcomeClass[] } = JOURNEYS[claim];
    // A 429 before any fault says nothing about the journey (the spread over client addresses fell short): left out.
    return { kind: 'outcomes', id: `${j.probe.replace(/_/g, '-')}-works`, description: `Before any fault, ${j.does}`, claims: [claim], phase: 'baseline', probe: j.probe, accept: [...(j.accept ?? ['served'])], share: 0.95, ignore: ['throttled'] };
  });
}

/** Check: in `phase`, at least `share` of the probe's attempts end in one of `accept` (those in `ignore` left out). */
export function outcomeCheck(id: string, description: string, claims: string[], probe: string, phase: string, accept: OutcomeClass[], o: { share?: number; minAttempts?: number; expected?: Verdicts; requires?: string[]; ignore?: OutcomeClass[] } = {}): HypothesisIn {
  return {
    kind: 'outcomes', id, description, claims, phase, probe, accept, share: o.share ?? 1,
    ...(o.minAttempts ? { minAttempts: o.minAttempts } : {}), ...(o.expected ? { expected: o.expected } : {}), ...(o.requires ? { requires: o.requires } : {}), ...(o.ignore ? { ignore: o.ignore } : {}),
  };
}

/**
 * CASSANDRA-SLOW-ISOLATION in fault phase `fault:<faultId>`: registration and an authenticated call (auth) and the
 * upload API (storage) keep the 1 s p95 budget (003 line 328), each with its precondition (the probe answered
 * before the fault; an upload that completes with a 500, as on as-built, still answers).
 */
export function isolationChecks(faultId: string): HypothesisIn[] {
  const claims = ['CASSANDRA-SLOW-ISOLATION'];
  const within = (probe: string, select: string, what: string, attempts?: string): HypothesisIn => ({
    id: `${select.replace(/_/g, '-')}-within-budget-during-${faultId}`, description: `While Cassandra is slow, ${what} answers within the 1 s p95 budget`,
    claims, phase: `fault:${faultId}`, select: { metric: 'sc_probe_duration', tags: { probe: select } }, stat: 'p(95)', op: '<', value: 1000, unit: 'ms',
    requires: [`${probe.replace(/_/g, '-')}-answers-before`], ...(attempts ? { attempts: { metric: 'sc_attempt', tags: { probe: attempts } } } : {}),
  });
  return [
    worksBefore('register', claims, ['served'], { id: 'register-answers-before' }),
    worksBefore('authed', claims, ['served'], { id: 'authed-answers-before' }),
    worksBefore('upload', claims, ANSWERED, { id: 'upload-answers-before' }),
    within('register', 'register', 'registration (auth)'),
    within('authed', 'authed', 'an authenticated call (auth validates the token)'),
    within('upload', 'upload_api', 'the upload API (storage)', 'upload'),
  ];
}

/**
 * METRICS-AVAILABLE, one check per service (`metrics-<service>`): before any fault, at least 90 % of the runner's
 * scrapes of its /metrics (sc_metrics_up, server-observer.ts) answered 200 in the Prometheus text format. A scrape
 * or two lost to a loaded machine is no missing endpoint; fewer than 5 scrapes say nothing (INCONCLUSIVE).
 */
export function metricsAvailable(services: readonly string[]): HypothesisIn[] {
  return services.map((service) => ({
    id: `metrics-${service}`, description: `Before any fault, the ${service} service serves /metrics in the Prometheus text format`, claims: ['METRICS-AVAILABLE'],
    phase: 'baseline', select: { metric: 'sc_metrics_up', tags: { service } }, stat: 'rate', op: '>=', value: 0.9, unit: 'ratio', minAttempts: 5,
  }));
}

/**
 * Precondition `sends-served`: a soak's chat sends were answered 201 (≤ 1 % failed) over the run. A soak whose load
 * stopped being served (sessions expired, a target down) measured an idle target: its trends and counters prove
 * nothing, so its checks are INCONCLUSIVE rather than a PASS of a flat line.
 */
export function sendsServed(claims: string[], workload = 'chat'): HypothesisIn {
  return {
    id: 'sends-served', role: 'precondition', claims,
    description: `The ${workload} workload's sends were served over the run (≤ 1 % failed): else the soak measured an idle target`,
    phase: 'run', select: { metric: 'http_req_failed', tags: { workload, name: 'send' } }, stat: 'rate', op: '<=', value: 0.01, unit: 'ratio', minAttempts: 10,
  };
}
