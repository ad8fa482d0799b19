/**
 * Outcome classes of one probe attempt: what the target answered, in the words checks use. Shared by the
 * k6 probes (which classify) and the checker (whose `outcomes` hypotheses name the classes they accept).
 * Plain TypeScript: bundled into k6 scripts and imported by Node alike.
 */
export const OUTCOME_CLASSES = [
  /** Served: a 2xx with what the call promises (login's token, send's 201), the frame arrived, the socket opened. */
  'served',
  /** 401 with the contract's `{error}` body (REST), or 401 on a WebSocket upgrade: the token was refused. */
  'refused-revoked',
  /** 403: a foreign Origin refused by the upgrade's origin check. */
  'refused-origin',
  /** 429 with Retry-After or X-RateLimit-* (the contract's rate-limit headers). */
  'throttled',
  /** 429 written by the public entry itself (nginx's own error page): the burst never reached the gateway. */
  'throttled-edge',
  /** A burst of requests that never met a 429. */
  'not-throttled',
  /** Plain HTTP at the public entry refused, or redirected to HTTPS, instead of served. */
  'refused-plain-http',
  /** A WebSocket answered "try again later": close 1013 or an upgrade refused with 503. */
  'try-again-later',
  /** 503 / 504 with Retry-After or a JSON error, within the fast-error budget: the target shed the request. */
  'fast-clear-error',
  /** Any other answered error (4xx / 5xx) slower than the fast-error budget. */
  'slow-error',
  /** 500, or a 5xx without a clear body, within the budget. */
  'server-error',
  /** Any other 4xx within the budget (401 without the contract's body, 404, 400…). */
  'client-error',
  /** A 4xx whose error names the participant limit (a call at full capacity): refused clearly. */
  'refused-full',
  /** The request was sent and accepted but the expected frame never came (delivery probes). */
  'undelivered',
  /** Connection refused or reset: no HTTP answer, no timeout. */
  'network-error',
  /** No answer within the probe's timeout, or no answer at all (an attempt with no outcome). */
  'hang',
] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

/** What the classifier needs of one HTTP answer (k6's Response fits). */
export interface AnswerLike {
  status: number;
  /** k6's error code: 1050 = request timeout. */
  error_code?: number;
  durationMs: number;
  headers: Record<string, string | undefined>;
  /** The parsed JSON body, or null. */
  json: unknown;
}

/** k6's error code for a request that ran into its timeout. */
export const K6_TIMEOUT_ERROR = 1050;

const header = (a: AnswerLike, name: string): string | undefined => {
  for (const [k, v] of Object.entries(a.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
};

/** A JSON error body in the contract's shapes: `{error: string | object}` or `{message: string}`. */
export function hasErrorBody(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const b = json as { error?: unknown; message?: unknown };
  return typeof b.error === 'string' || (typeof b.error === 'object' && b.error !== null) || typeof b.message === 'string';
}

/**
 * The class of an answer that was not the probe's success. `fastMs`: the fast-error budget (a shed request
 * must answer within it to count as failing fast).
 */
export function classifyFailure(a: AnswerLike, fastMs: number): OutcomeClass {
  if (a.status === 0) return a.error_code === K6_TIMEOUT_ERROR ? 'hang' : 'network-error';
  const fast = a.durationMs <= fastMs;
  if (a.status === 429) return header(a, 'retry-after') !== undefined || header(a, 'x-ratelimit-limit') !== undefined ? 'throttled' : 'client-error';
  if (a.status === 401 && hasErrorBody(a.json)) return 'refused-revoked';
  if (a.status === 403) return 'refused-origin';
  if (!fast) return 'slow-error';
  if ((a.status === 503 || a.status === 504) && (header(a, 'retry-after') !== undefined || hasErrorBody(a.json))) return 'fast-clear-error';
  if (a.status >= 500) return 'server-error';
  return 'client-error';
}

/** An error body that names a participant limit or a full call ("call is at full capacity (max 4 participants)"). */
export function namesParticipantLimit(json: unknown): boolean {
  if (!hasErrorBody(json)) return false;
  return /full|capacity|participant limit|max(imum)? \d+ participants/i.test(JSON.stringify(json));
}
