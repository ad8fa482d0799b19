/**
 * Registration workload (k6, bundled by src/k6/bundle.ts).
 *
 * Open model (ramping-arrival-rate): each iteration is one new user going through
 * register → login → refresh → GET /v1/auth/profile → logout → the revoked access token is refused (401).
 *
 * Environment (__ENV; src/k6/run.ts sets them from the profile):
 * - SC_BASE_URL   the gateway (required)
 * - SC_STAGES     JSON [{ "target": <iterations/s>, "duration": "10s" }, …]; else built from:
 * - SC_RATE (iterations/s at the plateau, default 2), SC_RAMP (default "5s"), SC_DURATION (plateau, default "10s")
 * - SC_START_RATE (default 1), SC_PRE_VUS (default 5), SC_MAX_VUS (default 50), SC_GRACEFUL_STOP (default "30s")
 * Thresholds are not defined here: the runner passes them from fixtures/budgets.yaml (k6 --config).
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { num, str } from './lib/env.ts';

export const STEPS = ['register', 'login', 'refresh', 'profile', 'logout', 'revoked'] as const;
type Step = (typeof STEPS)[number];

interface Stage { target: number; duration: string }


function stages(): Stage[] {
  const raw = __ENV.SC_STAGES;
  if (raw) {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('SC_STAGES must be a non-empty JSON array');
    return parsed.map((s: unknown, i: number) => {
      const o = s as Partial<Stage>;
      if (typeof o.target !== 'number' || typeof o.duration !== 'string') throw new Error(`SC_STAGES[${i}] needs a numeric target and a string duration`);
      return { target: o.target, duration: o.duration };
    });
  }
  const rate = num('SC_RATE', 2);
  return [
    { target: rate, duration: str('SC_RAMP', '5s') },
    { target: rate, duration: str('SC_DURATION', '10s') },
  ];
}

export const options: Options = {
  scenarios: {
    registration: {
      executor: 'ramping-arrival-rate',
      startRate: num('SC_START_RATE', 1),
      timeUnit: '1s',
      preAllocatedVUs: num('SC_PRE_VUS', 5),
      maxVUs: num('SC_MAX_VUS', 50),
      stages: stages(),
      gracefulStop: str('SC_GRACEFUL_STOP', '30s'),
    },
  },
  // Every step answers 2xx except the last, which sets its own expected status.
  // (http_req_failed then counts only unexpected answers.)
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** Duration of each step (ms), tagged `step`. */
const stepDuration = new Trend('sc_step_duration', true);
/** A revoked access token was accepted after logout: must stay 0. */
const revokedAccepted = new Counter('sc_revoked_token_accepted');
/** Completed iterations (all six steps ran). */
const flows = new Counter('sc_flows_completed');

const JSON_HEADERS = { 'content-type': 'application/json' };

interface Tokens { access_token: string; refresh_token: string }

function tokensOf(r: RefinedResponse<ResponseType | undefined>): Tokens | null {
  try {
    const body = r.json() as { data?: Partial<Tokens> } | null;
    const d = body?.data;
    if (d && typeof d.access_token === 'string' && typeof d.refresh_token === 'string') return { access_token: d.access_token, refresh_token: d.refresh_token };
  } catch {
    /* not JSON */
  }
  return null;
}

function record(step: Step, r: RefinedResponse<ResponseType | undefined>): void {
  stepDuration.add(r.timings.duration, { step });
}

function params(step: Step, token?: string, expected?: number) {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (token) headers.authorization = `Bearer ${token}`;
  return {
    headers,
    tags: { step, name: step },
    ...(expected === undefined ? {} : { responseCallback: http.expectedStatuses(expected) }),
  };
}

export default function registration(): void {
  const base = __ENV.SC_BASE_URL;
  if (!base) fail('SC_BASE_URL is not set');
  // Unique per run, VU and iteration (the run id keeps repeated runs against one database apart).
  const run = str('SC_RUN_ID', 'r');
  const id = `${run}-${exec.vu.idInTest}-${exec.scenario.iterationInTest}`;
  const email = `k6-${id}@load.test`;
  const password = `pw-${id}-long`;
  const username = `k6_${id}`.slice(0, 30).replace(/[^A-Za-z0-9_.-]/g, '_');

  const reg = http.post(`${base}/v1/auth/register`, JSON.stringify({ email, username, password, display_name: `Load ${id}` }), params('register', undefined, 201));
  record('register', reg);
  if (!check(reg, { 'register: 201 with tokens': (r) => r.status === 201 && tokensOf(r) !== null }, { step: 'register' })) return;

  const login = http.post(`${base}/v1/auth/login`, JSON.stringify({ email, password }), params('login', undefined, 200));
  record('login', login);
  const loginTokens = tokensOf(login);
  if (!check(login, { 'login: 200 with tokens': (r) => r.status === 200 && loginTokens !== null }, { step: 'login' }) || !loginTokens) return;

  const refresh = http.post(`${base}/v1/auth/refresh`, JSON.stringify({ refresh_token: loginTokens.refresh_token }), params('refresh', undefined, 200));
  record('refresh', refresh);
  const fresh = tokensOf(refresh);
  if (!check(refresh, { 'refresh: 200 with a new pair': (r) => r.status === 200 && fresh !== null }, { step: 'refresh' }) || !fresh) return;

  const profile = http.get(`${base}/v1/auth/profile`, params('profile', fresh.access_token, 200));
  record('profile', profile);
  check(profile, {
    'profile: 200 for this user': (r) => {
      if (r.status !== 200) return false;
      try {
        return (r.json() as { data?: { username?: string } }).data?.username === username;
      } catch {
        return false;
      }
    },
  }, { step: 'profile' });

  const logout = http.post(`${base}/v1/auth/logout`, '{}', params('logout', fresh.access_token, 200));
  record('logout', logout);
  if (!check(logout, { 'logout: 200': (r) => r.status === 200 }, { step: 'logout' })) return;

  const revoked = http.get(`${base}/v1/auth/profile`, params('revoked', fresh.access_token, 401));
  record('revoked', revoked);
  check(revoked, { 'revoked: 401': (r) => r.status === 401 }, { step: 'revoked' });
  // Always add, so the metric exists (and reads 0) in every summary.
  revokedAccepted.add(revoked.status >= 200 && revoked.status < 300 ? 1 : 0);
  flows.add(1);
}
