/**
 * Resilience probes (k6): small, steady, tagged requests whose outcome a claim is about, run while the
 * fault timeline plays. Every attempt records, before its request,
 *   sc_attempt{probe}             Counter — one per attempt, timed at its start
 * and, once answered (or timed out),
 *   sc_outcome{probe,class}       Counter — the outcome class (scenarios/lib/outcomes.ts: served, refused-revoked,
 *                                           throttled, fast-clear-error, hang, …)
 *   sc_probe_ok{probe}            Rate    — the outcome is the one this probe wants (for charts and budgets)
 *   sc_probe_duration{probe}      Trend   — how long the probed request took (ms)
 *   sc_probe_clear_error{probe}   Rate    — of the failed answers: an HTTP error with a JSON message
 * Each attempt's samples carry its start time in k6 metadata (`t0`): the result reader times them there, so
 * a request counts in the phase in which it started, however long it hangs. An attempt with no outcome at
 * all (k6 stopped before it was answered) is a hang for the checker.
 *
 * Probes (SC_PROBES, comma-separated; the wanted class in brackets):
 *   login            POST /v1/auth/login of a pre-registered account (round robin over SC_USERS accounts) [served]
 *   authed           GET /v1/users/me with a valid token [served]
 *   register         POST /v1/auth/register of a fresh account: 201 with data.access_token [served]
 *   logout_revokes   a fresh account's registration token: POST /v1/auth/logout, then GET /v1/users/me with it
 *                    [refused-revoked]; a non-2xx logout is the class of that answer (500: server-error), a token that
 *                    still works is `served`. sc_logout_token_still_valid counts tokens that worked after logout.
 *   revoked          GET /v1/users/me with a token revoked in setup() [refused-revoked: 401 + error body]; each VU
 *                    renews the revoked token before it expires (SC_PROBE_RENEW) and makes no revoked* attempt
 *                    with one past its expiry (SC_PROBE_STALE)
 *   revoked_ws_chat  the chat WebSocket upgrade with the revoked token [refused-revoked: 401]
 *   revoked_ws_signaling  the signaling WebSocket upgrade (SC_VIDEO_URL) with the revoked token [refused-revoked]
 *   send             POST /v1/messages [served: 201]
 *   deliver          a receiver socket on /v1/ws/chat, POST /v1/messages [served: the frame arrives within
 *                    SC_DELIVER_TIMEOUT_MS; else `undelivered`]
 *   upload           upload-url → PUT presigned → upload-complete [served]; sc_upload_minio_failures counts flows that
 *                    reached object storage and failed (what a circuit breaker bounds); duration{upload_api} = the API calls
 *   delete           a file created for the attempt (upload-url, and its PUT when that works), then
 *                    DELETE /v1/storage/files/:id [served: 200]: the storage service's delete reaches object storage.
 *                    Each VU keeps 3 files ahead, so DELETEs go on while upload-url refuses; with none left: no attempt
 *                    (sc_probe_unprepared{probe:delete}).
 *   call             POST /v1/calls/initiate (gateway) for a conversation of two probe users, the callee joins
 *                    (video service), both open the signaling socket at SC_VIDEO_URL, the caller's `offer` reaches the
 *                    callee [served]; then the call ends. A refused handshake is client-error (k6/websockets hides its
 *                    status), sockets open but no offer within SC_DELIVER_TIMEOUT_MS: undelivered.
 *   call_initiate    POST /v1/calls/initiate (gateway) for the call conversation [served: 201 with a CallID]; the call is then
 *                    ended (not timed). What a callee's push invitation may cost the caller shows here.
 *   ws_origin        chat WebSocket upgrade with a foreign Origin (SC_FOREIGN_ORIGIN) [refused-origin: 403]
 *   ws_open          one chat socket opened and closed, before the saturation (its precondition) [served]
 *   ws_saturation    SC_WS_SATURATION_SOCKETS sockets at once (default 2 × SC_WS_MAX_CONNECTIONS) [served: held open];
 *                    a limit enforced either way (503 before the upgrade, close 1013) is try-again-later;
 *                    probe service_up: /health and an authenticated call still answer during the saturation
 *   rate_limit       a burst of up to SC_RATE_LIMIT_BURST (default 3 × SC_RATE_LIMIT_PER_MINUTE) GET /v1/users/me until
 *                    a 429 [throttled: 429 with Retry-After or X-RateLimit-*, as the contract documents];
 *                    `not-throttled` when none came. One burst, or one every SC_RATE_LIMIT_EVERY (e.g. "4s").
 *   edge_up          GET /health through the public entry, SC_EDGE_URL (nginx; TLS where it has it) [served]
 *   edge_plain       GET /health on the entry's plain-HTTP listener, SC_EDGE_PLAIN_URL, no redirect followed
 *                    [refused-plain-http: a redirect to https, 426, or a closed port]; served over plain HTTP: `served`
 *   edge_tls         GET /health on the entry's TLS listener, SC_EDGE_TLS_URL, the lab certificate trusted through
 *                    k6's SSL_CERT_FILE [served]
 *   edge_burst       SC_EDGE_BURST (60) GET /health at once through SC_EDGE_URL, one every SC_EDGE_BURST_EVERY (3s)
 *                    [throttled-edge: a 429 on nginx's own page]; 429s only from the gateway: `throttled`; none: not-throttled
 *   edge_spoof       GET /v1/users/me straight at the gateway until a 429 (at most 3 × SC_RATE_LIMIT_PER_MINUTE), then
 *                    through SC_EDGE_URL naming another client in X-Forwarded-For [throttled or throttled-edge: still
 *                    limited]; served: the forged address bought a fresh per-IP bucket; the same request through the entry
 *                    without the forgery not limited (or no 429 at all): not-throttled, which says nothing.
 *                    One every SC_EDGE_SPOOF_EVERY (2s) from SC_EDGE_SPOOF_START (1s).
 * Every socket speaks the real API: the bearer header (contract N02: no token in any URL) and an allowed Origin
 * (SC_ORIGIN, default http://localhost:3000; N03: the real chat socket refuses a missing one).
 *
 * setup(): registering the shared accounts is the only common step (its failure fails the run). Sessions come from
 * login when one login works, else from the registration tokens: one line `SC_SESSIONS {"source":"login"}` or
 * `SC_SESSIONS {"source":"registration","reason":"POST /v1/auth/login answered 500"}`. Then each selected probe sets
 * up on its own (revoked*: a token revoked through the public API — logout, confirmed by GET /v1/users/me → 401;
 * send, deliver, revoked_ws_chat, ws_*: a conversation; call, revoked_ws_signaling: the video service answers;
 * call: a conversation of caller and callee) and prints exactly one line,
 * `SC_PROBE_SETUP {"probe":"<name>","ok":true}` or `SC_PROBE_SETUP {"probe":"<name>","ok":false,"reason":"…"}`
 * (statuses only: never a token, a password or a body). A probe whose setup failed records no attempt.
 *
 * Sizing for per-client-IP limits: the runner spreads a workload over SC_SOURCE_ADDRESSES client addresses
 * (K6_LOCAL_IPS: VU n sends from address n mod count). An arrival-rate executor hands iterations to its free VUs
 * in turn, so every steady probe pre-allocates max(2, SC_SOURCE_ADDRESSES) VUs: each address carries its share.
 *
 * Environment: SC_BASE_URL (required), SC_VIDEO_URL (call, revoked_ws_signaling), SC_PROBES, SC_DURATION ("30s"),
 * SC_PROBE_RATE (per probe, per s: 2), SC_USERS (10), SC_TIMEOUT ("15s"), SC_FAST_ERROR_MS (1000),
 * SC_DELIVER_TIMEOUT_MS (5000), SC_ORIGIN, SC_FOREIGN_ORIGIN, SC_WS_SATURATION_SOCKETS, SC_WS_MAX_CONNECTIONS (1000),
 * SC_WS_HOLD_MS (3000), SC_SATURATION_START ("2s"), SC_RATE_LIMIT_BURST, SC_RATE_LIMIT_PER_MINUTE (100),
 * SC_RATE_LIMIT_START ("0s"), SC_RATE_LIMIT_EVERY, SC_SOURCE_ADDRESSES (1), SC_RUN_ID. A workload with
 * `ownSourceAddress` (the rate-limit burst) runs with K6_LOCAL_IPS: its own client address.
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { fail, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import ws from 'k6/ws';
import { WebSocket } from 'k6/websockets';
import { clearTimeout, setTimeout } from 'k6/timers';
import type { Options, Scenario } from 'k6/options';
import { num, str } from './lib/env.ts';
import { isSet } from './lib/stages.ts';
import { credentialsFor, registerUsers, renewalOf, sessionsFor, tokenOf, type RegisteredUser } from './lib/users.ts';
import { classifyFailure, hasErrorBody, K6_TIMEOUT_ERROR, type OutcomeClass } from './lib/outcomes.ts';
import { durationSeconds } from './lib/duration.ts';
import { closeSocket, wsBase, wsHeaders } from './lib/ws.ts';

export const PROBES = [
  'login', 'authed', 'register', 'logout_revokes', 'revoked', 'revoked_ws_chat', 'revoked_ws_signaling', 'send', 'deliver',
  'upload', 'delete', 'call', 'ws_origin', 'ws_open', 'ws_saturation', 'rate_limit',
  'edge_up', 'edge_plain', 'edge_tls', 'edge_burst', 'edge_spoof', 'call_initiate',
] as const;
type Probe = (typeof PROBES)[number];

/** The class each probe wants: sc_probe_ok is 1 exactly for it. */
const WANTED: Record<Probe | 'service_up', OutcomeClass> = {
  login: 'served', authed: 'served', register: 'served', logout_revokes: 'refused-revoked', revoked: 'refused-revoked',
  revoked_ws_chat: 'refused-revoked', revoked_ws_signaling: 'refused-revoked', send: 'served', deliver: 'served', upload: 'served',
  delete: 'served', call: 'served', ws_origin: 'refused-origin', ws_open: 'served', ws_saturation: 'served', rate_limit: 'throttled',
  edge_up: 'served', edge_plain: 'refused-plain-http', edge_tls: 'served', edge_burst: 'throttled-edge', edge_spoof: 'throttled', call_initiate: 'served',
  service_up: 'served',
};

/** Probes whose setup needs the video service (SC_VIDEO_URL): checked before anything runs. */
const NEEDS_VIDEO: readonly Probe[] = ['revoked_ws_signaling', 'call'];

function selected(): Probe[] {
  const raw = str('SC_PROBES', 'login,authed,revoked,send,deliver');
  const out: Probe[] = [];
  for (const p of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(PROBES as readonly string[]).includes(p)) throw new Error(`SC_PROBES: unknown probe "${p}" (known: ${PROBES.join(', ')})`);
    if (!out.includes(p as Probe)) out.push(p as Probe);
  }
  if (out.length === 0) throw new Error('SC_PROBES selects no probe');
  for (const p of out) {
    if (NEEDS_VIDEO.includes(p) && !__ENV.SC_VIDEO_URL) throw new Error(`SC_PROBES: ${p} needs SC_VIDEO_URL (the video service, where the signaling socket lives)`);
  }
  return out;
}

const DURATION = str('SC_DURATION', '30s');
const RATE = num('SC_PROBE_RATE', 2);
const TIMEOUT = str('SC_TIMEOUT', '15s');
const FAST_MS = num('SC_FAST_ERROR_MS', 1000);
const DELIVER_MS = num('SC_DELIVER_TIMEOUT_MS', 5000);
/** Client addresses the runner gives this workload (K6_LOCAL_IPS); VU n sends from address n mod count. */
const SOURCES = Math.max(1, Math.floor(num('SC_SOURCE_ADDRESSES', 1)));
const SOCKETS = Math.floor(isSet('SC_WS_SATURATION_SOCKETS') ? num('SC_WS_SATURATION_SOCKETS', 0) : 2 * num('SC_WS_MAX_CONNECTIONS', 1000));
const BURST = Math.floor(isSet('SC_RATE_LIMIT_BURST') ? num('SC_RATE_LIMIT_BURST', 0) : 3 * num('SC_RATE_LIMIT_PER_MINUTE', 100));
const RUN = str('SC_RUN_ID', 'r');

function steady(fn: Probe, rate = RATE, duration = DURATION, startTime = '0s'): Scenario {
  // Iterations go to free VUs in turn: at least one VU per source address, so every address carries its share.
  const pre = Math.max(2, SOURCES);
  return {
    executor: 'constant-arrival-rate', exec: fn, rate, timeUnit: '1s', duration, startTime,
    preAllocatedVUs: pre, maxVUs: Math.max(30, pre), gracefulStop: '20s', tags: { probe: fn },
  };
}

function scenarios(): Record<string, Scenario> {
  const out: Record<string, Scenario> = {};
  for (const p of selected()) {
    if (p === 'ws_saturation') {
      if (SOCKETS < 1) throw new Error('ws_saturation needs at least one socket (SC_WS_SATURATION_SOCKETS / SC_WS_MAX_CONNECTIONS)');
      // One VU per socket (k6/ws reports the upgrade's status, k6/websockets does not), plus the service_up VU.
      out.ws_saturation = { executor: 'per-vu-iterations', exec: 'ws_saturation', vus: SOCKETS + 1, iterations: 1, startTime: str('SC_SATURATION_START', '2s'), maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'ws_saturation' } };
    } else if (p === 'ws_open') {
      // One socket a second, ending a second before the saturation starts (a socket opened as it starts may meet the limit itself).
      const until = Math.max(1, durationSeconds(str('SC_SATURATION_START', '2s')) - 1);
      out.ws_open = steady('ws_open', 1, `${until}s`);
    } else if (p === 'rate_limit') {
      const every = str('SC_RATE_LIMIT_EVERY', '');
      const start = str('SC_RATE_LIMIT_START', '0s');
      out.rate_limit = every
        // A burst can last longer than the interval (the limiter's window just reset): VUs enough that none is dropped.
        ? { executor: 'constant-arrival-rate', exec: 'rate_limit', rate: 1, timeUnit: every, duration: DURATION, startTime: start, preAllocatedVUs: 4, maxVUs: 10, gracefulStop: '20s', tags: { probe: 'rate_limit' } }
        : { executor: 'per-vu-iterations', exec: 'rate_limit', vus: 1, iterations: 1, startTime: start, maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'rate_limit' } };
    } else if (p === 'edge_spoof') {
      out.edge_spoof = { executor: 'constant-arrival-rate', exec: 'edge_spoof', rate: 1, timeUnit: str('SC_EDGE_SPOOF_EVERY', '2s'), duration: DURATION, startTime: str('SC_EDGE_SPOOF_START', '1s'), preAllocatedVUs: 1, maxVUs: 2, gracefulStop: '20s', tags: { probe: 'edge_spoof' } };
    } else if (p === 'edge_burst') {
      out.edge_burst = { executor: 'constant-arrival-rate', exec: 'edge_burst', rate: 1, timeUnit: str('SC_EDGE_BURST_EVERY', '3s'), duration: DURATION, startTime: str('SC_EDGE_BURST_START', '0s'), preAllocatedVUs: 2, maxVUs: 4, gracefulStop: '20s', tags: { probe: 'edge_burst' } };
    } else {
      out[p] = p === 'ws_origin' ? steady(p, Math.min(RATE, 1), str('SC_ORIGIN_DURATION', DURATION)) : steady(p);
    }
  }
  return out;
}

export const options: Options = {
  scenarios: scenarios(),
  setupTimeout: '120s',
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

const attempts = new Counter('sc_attempt');
const outcomes = new Counter('sc_outcome');
const ok = new Rate('sc_probe_ok');
const duration = new Trend('sc_probe_duration', true);
const clearError = new Rate('sc_probe_clear_error');
const revokedAccepted = new Counter('sc_revoked_token_accepted');
const logoutStillValid = new Counter('sc_logout_token_still_valid');
const minioFailures = new Counter('sc_upload_minio_failures');
const close1013 = new Counter('sc_ws_close_1013');
/** An iteration that could not make its attempt (no fresh account, no file to delete): what the probe is about never ran. */
const unprepared = new Counter('sc_probe_unprepared');

type Res = RefinedResponse<ResponseType | undefined>;
const JSON_HEADERS = { 'content-type': 'application/json' };

type Account = RegisteredUser;
interface SetupData {
  base: string;
  /** The public entry (SC_EDGE_URL: TLS where it has it), its plain-HTTP and TLS listeners ('' without one). */
  edge: string;
  edgePlain: string;
  edgeTls: string;
  video: string;
  accounts: Account[];
  /** Each selected probe's own setup worked (a probe absent or false makes no attempt). */
  ready: Partial<Record<Probe, boolean>>;
  /** A token revoked through logout ('' when that failed); each VU renews it (revokedToken). */
  revoked: string;
  conversation_id: string;
  sender: Account;
  receiver: Account;
  uploader: Account;
  caller: Account;
  callee: Account;
  call_conversation_id: string;
}

function body<T>(r: Res): T | null {
  try {
    return (r.json() as T) ?? null;
  } catch {
    return null;
  }
}

/** An attempt starts: its marker, and its start time on every sample until it ends. */
function begin(probe: string): number {
  const t0 = Date.now();
  exec.vu.metrics.metadata.t0 = String(t0);
  attempts.add(1, { probe });
  return t0;
}

/** An attempt ends with its class (and, for an answered failure, whether its error was clear). */
function end(probe: Probe | 'service_up', cls: OutcomeClass, t0: number, ms?: number): void {
  outcomes.add(1, { probe, class: cls });
  ok.add(cls === WANTED[probe] ? 1 : 0, { probe });
  duration.add(ms ?? Date.now() - t0, { probe });
  delete exec.vu.metrics.metadata.t0;
}

function classOf(r: Res, t0: number): OutcomeClass {
  return classifyFailure({ status: r.status, error_code: r.error_code, durationMs: r.status === 0 ? Date.now() - t0 : r.timings.duration, headers: r.headers, json: body(r) }, FAST_MS);
}

function req(probe: string, token?: string, o: { json?: boolean; name?: string } = {}) {
  // No content-type without a body: the API refuses an empty application/json body (400).
  const headers: Record<string, string> = o.json === false ? {} : { ...JSON_HEADERS };
  if (token) headers.authorization = `Bearer ${token}`;
  // Every status is "expected": the probe judges it, http_req_failed must not double count faults.
  return { headers, timeout: TIMEOUT, tags: { probe, name: o.name ?? probe }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) };
}

/** A failed answer is clear when it is a real HTTP error with a JSON error message (not a hang / reset / 500 page). */
function recordFailure(probe: string, r: Res): void {
  clearError.add(r.status >= 400 && r.status !== 500 && hasErrorBody(body(r)) ? 1 : 0, { probe });
}

const is2xx = (status: number): boolean => status >= 200 && status < 300;
/**
 * "answered 500" / "answered nothing": a status for a reason line (never a body: it could echo a credential).
 * Reasons never put a colon right after "token": the log on disk is redacted, and `token: X` reads as a secret.
 */
const answered = (r: Res): string => (r.status === 0 ? `answered nothing (${r.error_code === K6_TIMEOUT_ERROR ? 'timeout' : 'no connection'})` : `answered ${r.status}`);
const SETUP_TAGS = { name: 'setup' };
const auth = (token: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });

/** Log `token` out and ask for it again: the two answers (`me` absent when the logout failed). */
function logOut(base: string, token: string, tags: Record<string, string>): { lo: Res; me?: Res } {
  const lo = http.post(`${base}/v1/auth/logout`, '{}', { headers: auth(token), tags, timeout: TIMEOUT });
  if (!is2xx(lo.status)) return { lo };
  return { lo, me: http.get(`${base}/v1/users/me`, { headers: auth(token), tags, timeout: TIMEOUT }) };
}

/** Revoke `token` through the public API and confirm it is refused; null when it is, else why not. */
function revokeThroughLogout(base: string, token: string): string | null {
  const { lo, me } = logOut(base, token, SETUP_TAGS);
  if (!me) return `no public path revokes a token (POST /v1/auth/logout ${answered(lo)})`;
  if (me.status === 401) return null;
  if (is2xx(me.status)) return `no public path revokes a token (POST /v1/auth/logout answered ${lo.status} but the token still works: GET /v1/users/me answered ${me.status})`;
  return `revocation not confirmed: after POST /v1/auth/logout answered ${lo.status}, GET /v1/users/me ${answered(me)} (not 401)`;
}

/** The access token a registration answered with (201 and a token), else undefined. */
function registrationToken(r: Res): string | undefined {
  const t = r.status === 201 ? body<{ data?: { access_token?: unknown } }>(r)?.data?.access_token : undefined;
  return typeof t === 'string' ? t : undefined;
}

/** A conversation of `members`, created by the first; its id, or why not. */
function createConversation(base: string, title: string, type: 'direct' | 'group', members: Account[]): { id: string } | { reason: string } {
  const c = http.post(`${base}/v1/conversations`, JSON.stringify({ title, type, participant_ids: members.map((m) => m.user_id) }), { headers: auth(members[0]!.token), tags: SETUP_TAGS, timeout: TIMEOUT });
  const id = body<{ data?: { conversation_id?: unknown } }>(c)?.data?.conversation_id;
  if (c.status !== 201 || typeof id !== 'string') return { reason: `POST /v1/conversations ${c.status === 201 ? 'answered 201 without a conversation_id' : answered(c)}` };
  return { id };
}

function videoReachable(video: string): string | null {
  const h = http.get(`${video}/health`, { tags: SETUP_TAGS, timeout: '5s', responseCallback: http.expectedStatuses({ min: 100, max: 599 }) });
  return h.status === 0 || h.status >= 500 ? `video service (SC_VIDEO_URL) unreachable: GET /health ${answered(h)}` : null;
}

/** A shared setup step, run once however many probes need it. */
function once<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) { v = f(); done = true; }
    return v;
  };
}

export function setup(): SetupData {
  const base = (__ENV.SC_BASE_URL ?? '').replace(/\/+$/, '');
  if (!base) fail('SC_BASE_URL is not set');
  const video = (__ENV.SC_VIDEO_URL ?? '').replace(/\/+$/, '');
  const probes = selected();
  const naming = { email: 'probe', username: 'pr', display: 'Probe', tag: 'setup' };
  const n = num('SC_USERS', 10);
  // The only common step: its failure fails the run (registerUsers fails on any non-201).
  const registered = registerUsers(base, [...Array.from({ length: n }, (_, i) => `${RUN}-${i}`), `${RUN}-rv`, `${RUN}-s`, `${RUN}-d`, `${RUN}-u`, `${RUN}-c1`, `${RUN}-c2`], naming);
  const users = sessionsFor(base, registered, 'setup').users;
  const accounts = users.slice(0, n);
  const [victim, sender, receiver, uploader, caller, callee] = users.slice(n) as [Account, Account, Account, Account, Account, Account];

  // Every step answers a reason instead of throwing: one probe's broken setup never stops the others.
  const guard = (f: () => string | null): string | null => {
    try { return f(); } catch (e) { return `setup step threw: ${String(e).slice(0, 120)}`; }
  };
  const revocation = once(() => guard(() => revokeThroughLogout(base, victim.token)));
  let conversation_id = '';
  const conversation = once(() => guard(() => {
    const c = createConversation(base, `probes ${RUN}`, 'direct', [sender, receiver]);
    if ('reason' in c) return c.reason;
    conversation_id = c.id;
    return null;
  }));
  const videoUp = once(() => guard(() => videoReachable(video)));
  let call_conversation_id = '';
  const callConversation = once(() => guard(() => {
    const c = createConversation(base, `probe calls ${RUN}`, 'direct', [caller, callee]);
    if ('reason' in c) return c.reason;
    call_conversation_id = c.id;
    return null;
  }));
  /** The first reason among a probe's steps (steps run in order, stopping at the first failure). */
  const first = (...steps: (() => string | null)[]): string | null => {
    for (const s of steps) {
      const r = s();
      if (r !== null) return r;
    }
    return null;
  };

  const ready: Partial<Record<Probe, boolean>> = {};
  for (const p of probes) {
    let reason: string | null = null;
    switch (p) {
      case 'revoked': reason = first(revocation); break;
      case 'revoked_ws_chat': reason = first(revocation, conversation); break;
      case 'revoked_ws_signaling': reason = first(revocation, videoUp); break;
      case 'send': case 'deliver': case 'ws_origin': case 'ws_open': case 'ws_saturation': reason = first(conversation); break;
      case 'call': reason = first(videoUp, callConversation); break;
      case 'call_initiate': reason = first(callConversation); break;
      // The shared accounts are all they need (register, logout_revokes and delete make their own per attempt).
      case 'login': case 'authed': case 'register': case 'logout_revokes': case 'upload': case 'delete': case 'rate_limit': break;
      case 'edge_up': case 'edge_plain': case 'edge_tls': case 'edge_burst': case 'edge_spoof': reason = edgeMissing(p); break;
    }
    ready[p] = reason === null;
    console.log(`SC_PROBE_SETUP ${JSON.stringify(reason === null ? { probe: p, ok: true } : { probe: p, ok: false, reason })}`);
  }
  return {
    base, video, accounts, ready, edge: trimmed('SC_EDGE_URL'), edgePlain: trimmed('SC_EDGE_PLAIN_URL'), edgeTls: trimmed('SC_EDGE_TLS_URL'), revoked: ready.revoked || ready.revoked_ws_chat || ready.revoked_ws_signaling ? victim.token : '',
    conversation_id, sender, receiver, uploader, caller, callee, call_conversation_id,
  };
}

/**
 * The sessions an attempt will use, renewed now if due (tokenOf): a renewal (a refresh or a login) is the harness's
 * own work, not part of the attempt it would otherwise start inside and be timed with.
 */
function sessions(d: SetupData, ...users: Account[]): void {
  for (const u of users) tokenOf(d.base, u);
}

/** The probe's own setup failed (its SC_PROBE_SETUP line says why): no attempt. */
const skip = (d: SetupData, p: Probe): boolean => d.ready[p] !== true;

/**
 * The revoked token this VU presents, or null when it has none that proves anything. A revoked token past its own
 * expiry proves nothing: a refusal then is for its age, not its revocation (a 2-hour soak's revocation probes read
 * "refused" in every Redis outage after the first 15 minutes, the audited target's failure hidden). So each VU
 * renews it before it expires as setup made it (a new account's token, logged out), and the new token counts only
 * when it is refused while a live session is served at the same moment — a target failing every token closed (its
 * revocation store down) proves no revocation. A renewal that does not prove it is tried again 10 s later; past
 * the old token's expiry no attempt is made (those phases have no evidence, so no verdict) and the log says so
 * once a probe (SC_PROBE_STALE). SC_REVOKED_RENEW=0 keeps setup's token for the whole run.
 */
/** A revoked token this close to its expiry is not presented (the clocks of harness and target differ a little). */
const STALE_MS = 5_000;
interface RevokedHeld { token: string; expMs: number; renewAtMs: number; stale: Set<string>; renewSaid: boolean }
let revokedHeld: RevokedHeld | undefined;
const heldRevoked = (token: string): RevokedHeld => ({ token, ...renewalOf(token), stale: new Set(), renewSaid: false });

function revokedToken(d: SetupData, probe: Probe): string | null {
  const h = (revokedHeld ??= heldRevoked(d.revoked));
  const now = Date.now();
  // Due at its renewal time, and at the latest when it would go stale (short-lived tokens: their renewal margin is less).
  if (now >= Math.min(h.renewAtMs, h.expMs - STALE_MS) && __ENV.SC_REVOKED_RENEW !== '0') {
    const r = renewRevoked(d);
    if ('token' in r) {
      revokedHeld = heldRevoked(r.token);
      console.log(`SC_PROBE_RENEW ${JSON.stringify({ ok: true, vu: exec.vu.idInTest, expires: new Date(revokedHeld.expMs).toISOString() })}`);
      return revokedHeld.token;
    }
    h.renewAtMs = now + 10_000;
    if (!h.renewSaid) {
      h.renewSaid = true;
      console.log(`SC_PROBE_RENEW ${JSON.stringify({ ok: false, vu: exec.vu.idInTest, reason: r.reason })}`);
    }
  }
  if (now < h.expMs - STALE_MS) return h.token;
  if (!h.stale.has(probe)) {
    h.stale.add(probe);
    console.log(`SC_PROBE_STALE ${JSON.stringify({ probe, reason: `the revoked token expires at ${new Date(h.expMs).toISOString()}: no attempt after it` })}`);
  }
  return null;
}

const RENEW_TAGS = { name: 'revoked_renew' };
/**
 * A new revoked token, proved so, or why not. A fresh account's (as logout_revokes makes them): a login of one
 * account by every VU would run into the per-account login limit.
 */
let renewals = 0;
function renewRevoked(d: SetupData): { token: string } | { reason: string } {
  // Unique across the run's scenarios (VU ids are): a username stays within 30 characters.
  const c = freshCredentials(`rv${exec.vu.idInTest}x`, renewals++);
  const reg = http.post(`${d.base}/v1/auth/register`, JSON.stringify(c), { headers: JSON_HEADERS, tags: RENEW_TAGS, timeout: TIMEOUT });
  const token = registrationToken(reg);
  if (token === undefined) return { reason: `POST /v1/auth/register ${answered(reg)}` };
  const { lo, me } = logOut(d.base, token, RENEW_TAGS);
  if (!me) return { reason: `POST /v1/auth/logout ${answered(lo)}` };
  if (me.status !== 401) return { reason: `after logout GET /v1/users/me ${answered(me)} (not 401)` };
  const live = http.get(`${d.base}/v1/users/me`, { headers: auth(tokenOf(d.base, d.accounts[0]!)), tags: RENEW_TAGS, timeout: TIMEOUT });
  if (!is2xx(live.status)) return { reason: `a live session's GET /v1/users/me ${answered(live)}: the refusal proves no revocation` };
  return { token };
}

export function login(d: SetupData): void {
  if (skip(d, 'login')) return;
  const a = d.accounts[exec.scenario.iterationInTest % d.accounts.length]!;
  const t0 = begin('login');
  const r = http.post(`${d.base}/v1/auth/login`, JSON.stringify({ email: a.email, password: a.password }), req('login'));
  const served = r.status === 200 && typeof body<{ data?: { access_token?: unknown } }>(r)?.data?.access_token === 'string';
  if (!served) recordFailure('login', r);
  end('login', served ? 'served' : classOf(r, t0), t0, r.timings.duration);
}

export function authed(d: SetupData): void {
  if (skip(d, 'authed')) return;
  // An account per VU (spread over the accounts as the VUs are): a VU holding a session of every account renewed
  // them all near their expiry, ten logins a VU at the same minute, a per-account login limit crossed.
  const a = d.accounts[exec.vu.idInTest % d.accounts.length]!;
  sessions(d, a);
  const t0 = begin('authed');
  const r = http.get(`${d.base}/v1/users/me`, req('authed', tokenOf(d.base, a)));
  if (r.status !== 200) recordFailure('authed', r);
  end('authed', r.status === 200 ? 'served' : classOf(r, t0), t0, r.timings.duration);
}

/** A fresh account per iteration (unique in the run), as POST /v1/auth/register takes it. */
function freshCredentials(tag: string, n: number = exec.scenario.iterationInTest): ReturnType<typeof credentialsFor> {
  return credentialsFor(`${RUN}-${tag}${n}`, { email: 'probe', username: 'pr', display: 'Probe' });
}

export function register(d: SetupData): void {
  if (skip(d, 'register')) return;
  const c = freshCredentials('g');
  const t0 = begin('register');
  const r = http.post(`${d.base}/v1/auth/register`, JSON.stringify(c), req('register'));
  const served = registrationToken(r) !== undefined;
  if (!served) recordFailure('register', r);
  // A 201 without the token is not what register promises.
  end('register', served ? 'served' : r.status === 201 ? 'client-error' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}

export function logout_revokes(d: SetupData): void {
  if (skip(d, 'logout_revokes')) return;
  // The session under test: a fresh account's registration token (login may be what is broken).
  const reg = http.post(`${d.base}/v1/auth/register`, JSON.stringify(freshCredentials('lo')), req('logout_revokes', undefined, { name: 'logout_revokes_session' }));
  const token = registrationToken(reg);
  if (token === undefined) {
    unprepared.add(1, { probe: 'logout_revokes' });
    return;
  }
  const t0 = begin('logout_revokes');
  const lo = http.post(`${d.base}/v1/auth/logout`, '{}', req('logout_revokes', token));
  const me = http.get(`${d.base}/v1/users/me`, req('logout_revokes', token, { json: false, name: 'logout_revokes_check' }));
  const stillValid = is2xx(me.status);
  logoutStillValid.add(stillValid ? 1 : 0);
  let cls: OutcomeClass;
  if (!is2xx(lo.status)) {
    recordFailure('logout_revokes', lo);
    cls = classOf(lo, t0);
  } else {
    cls = stillValid ? 'served' : classOf(me, t0);
  }
  end('logout_revokes', cls, t0);
}

export function revoked(d: SetupData): void {
  const token = skip(d, 'revoked') ? null : revokedToken(d, 'revoked');
  if (token === null) return;
  const t0 = begin('revoked');
  const r = http.get(`${d.base}/v1/users/me`, req('revoked', token));
  const accepted = r.status >= 200 && r.status < 300;
  revokedAccepted.add(accepted ? 1 : 0);
  end('revoked', accepted ? 'served' : classOf(r, t0), t0, r.timings.duration);
}

/** A WebSocket upgrade's answer as a class: 101 served, 401 refused-revoked, 403 refused-origin, 503 try-again-later. */
function upgradeClass(status: number, t0: number, error?: string): OutcomeClass {
  if (status === 101) return 'served';
  if (status === 0) return error && /timeout|deadline/i.test(error) ? 'hang' : 'network-error';
  if (status === 401) return 'refused-revoked';
  if (status === 403) return 'refused-origin';
  if (status === 503) return 'try-again-later';
  if (status === 429) return 'throttled';
  return classifyFailure({ status, durationMs: Date.now() - t0, headers: {}, json: null }, FAST_MS);
}

/** One upgrade with the given headers, closed right away when it opens; its status (0: no HTTP answer). */
function upgrade(url: string, headers: Record<string, string>, probe: string): { status: number; error?: string } {
  try {
    const r = ws.connect(url, { headers, tags: { probe, name: probe } }, (s) => {
      s.setTimeout(() => s.close(), 100);
    });
    return { status: r?.status ?? 0 };
  } catch (e) {
    return { status: 0, error: String(e) };
  }
}

function revokedUpgrade(probe: 'revoked_ws_chat' | 'revoked_ws_signaling', url: string, token: string): void {
  const t0 = begin(probe);
  // An allowed Origin: the refusal must be about the token, not the origin check.
  const r = upgrade(url, wsHeaders(token), probe);
  if (r.status === 101) revokedAccepted.add(1);
  end(probe, upgradeClass(r.status, t0, r.error), t0);
}

const chatUrl = (d: SetupData): string => `${wsBase(d.base)}/v1/ws/chat?conversation_id=${d.conversation_id}`;

export function revoked_ws_chat(d: SetupData): void {
  const token = skip(d, 'revoked_ws_chat') ? null : revokedToken(d, 'revoked_ws_chat');
  if (token !== null) revokedUpgrade('revoked_ws_chat', chatUrl(d), token);
}

/** A well-formed call id: the signaling upgrade checks its shape before the token. */
const CALL_ID = 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16));

export function revoked_ws_signaling(d: SetupData): void {
  const token = skip(d, 'revoked_ws_signaling') ? null : revokedToken(d, 'revoked_ws_signaling');
  if (token !== null) revokedUpgrade('revoked_ws_signaling', `${wsBase(d.video)}/v1/calls/ws/signaling?call_id=${CALL_ID}`, token);
}

export function send(d: SetupData): void {
  if (skip(d, 'send')) return;
  const id = `probe-${RUN}-s${exec.scenario.iterationInTest}`;
  sessions(d, d.sender);
  const t0 = begin('send');
  const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, message_type: 'text', client_message_id: id }), req('send', tokenOf(d.base, d.sender)));
  if (r.status !== 201) recordFailure('send', r);
  end('send', r.status === 201 ? 'served' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}

export function deliver(d: SetupData): void {
  if (skip(d, 'deliver')) return;
  const id = `probe-${RUN}-d${exec.scenario.iterationInTest}`;
  sessions(d, d.receiver, d.sender);
  const t0 = begin('deliver');
  const socket = new WebSocket(chatUrl(d), null, { headers: wsHeaders(tokenOf(d.base, d.receiver)), tags: { probe: 'deliver', name: 'deliver_socket' } });
  let done = false;
  // Cleared on the answer: a pending timer would hold the VU for the whole timeout, starving the arrival rate.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (cls: OutcomeClass): void => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    end('deliver', cls, t0);
    closeSocket(socket);
  };
  socket.onopen = () => {
    const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, message_type: 'text', client_message_id: id }), req('deliver', tokenOf(d.base, d.sender)));
    if (r.status !== 201) {
      recordFailure('deliver', r);
      finish(classOf(r, t0));
    }
  };
  socket.onmessage = (e) => {
    let f: { content?: unknown; client_message_id?: unknown };
    try { f = JSON.parse(String(e?.data)) as typeof f; } catch { return; }
    if (f.client_message_id === id || f.content === id) finish('served');
  };
  socket.onerror = () => finish('network-error');
  socket.onclose = () => finish('undelivered');
  timer = setTimeout(() => finish('undelivered'), DELIVER_MS);
}

/** A file record for this iteration: upload-url (and the PUT when it works); its id, or null when presigning failed. */
function createFile(d: SetupData, probe: 'upload' | 'delete', name: string, content: string): { id: string; put: Res | null; u: Res } | { id: null; u: Res } {
  const u = http.post(`${d.base}/v1/storage/upload-url`, JSON.stringify({ file_name: name, file_size: content.length, content_type: 'application/octet-stream', is_encrypted: false }), req(probe, tokenOf(d.base, d.uploader), { name: `${probe}_upload_url` }));
  const ud = body<{ data?: { FileID?: string; UploadURL?: string } }>(u)?.data;
  if (u.status !== 200 || !ud?.FileID) return { id: null, u };
  // The PUT goes straight to object storage; when that is down the file record exists all the same.
  const put = ud.UploadURL
    ? http.put(ud.UploadURL, content, { headers: { 'content-type': 'application/octet-stream' }, timeout: TIMEOUT, tags: { probe, name: `${probe}_put` }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) })
    : null;
  return { id: ud.FileID, put, u };
}

export function upload(d: SetupData): void {
  if (skip(d, 'upload')) return;
  const n = exec.scenario.iterationInTest;
  const content = `probe upload ${n} ${'x'.repeat(1000)}`;
  sessions(d, d.uploader);
  const t0 = begin('upload');
  const f = createFile(d, 'upload', `probe-${n}.bin`, content);
  duration.add(f.u.timings.duration, { probe: 'upload_api' });
  if (f.id === null || f.put === null) {
    recordFailure('upload', f.u);
    end('upload', f.u.status === 200 ? 'client-error' : classOf(f.u, t0), t0);
    return;
  }
  const c = http.post(`${d.base}/v1/storage/upload-complete`, JSON.stringify({ file_id: f.id }), req('upload', tokenOf(d.base, d.uploader)));
  duration.add(c.timings.duration, { probe: 'upload_api' });
  const good = f.put.status === 200 && c.status === 200;
  if (!good) {
    minioFailures.add(1);
    if (c.status !== 200) recordFailure('upload', c);
    end('upload', c.status !== 200 ? classOf(c, t0) : classOf(f.put, t0), t0);
    return;
  }
  end('upload', 'served', t0);
  http.del(`${d.base}/v1/storage/files/${f.id}`, null, req('upload', tokenOf(d.base, d.uploader), { json: false, name: 'upload_cleanup' }));
}

/** Files this VU made for the delete probe and has not deleted yet (oldest first). */
const deletable: string[] = [];
/** Files a VU keeps ahead: made while storage works, deleted one an attempt while it does not. */
const DELETE_POOL = 3;

export function delete_(d: SetupData): void {
  if (skip(d, 'delete')) return;
  const n = exec.scenario.iterationInTest;
  // Keep a few files ahead, so that DELETEs go on (and show what a breaker does to them) while upload-url refuses.
  for (let k = 0; deletable.length < DELETE_POOL && k < DELETE_POOL; k++) {
    const f = createFile(d, 'delete', `probe-del-${n}-${k}.bin`, `probe delete ${n} ${k}`);
    if (f.id === null) break;
    deletable.push(f.id);
  }
  const id = deletable.shift();
  if (id === undefined) {
    unprepared.add(1, { probe: 'delete' });
    return;
  }
  sessions(d, d.uploader);
  const t0 = begin('delete');
  const r = http.del(`${d.base}/v1/storage/files/${id}`, null, req('delete', tokenOf(d.base, d.uploader), { json: false }));
  if (r.status !== 200) recordFailure('delete', r);
  end('delete', r.status === 200 ? 'served' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}
// `delete` is a reserved word: the scenario's exec name is "delete", its function delete_.
export { delete_ as delete };

/** A k6/websockets error as a class: it hides the upgrade's status, so an answered refusal is a client-error. */
function socketErrorClass(e: unknown): OutcomeClass {
  const msg = String((e as { error?: unknown } | null)?.error ?? '');
  if (/bad handshake/i.test(msg)) return 'client-error';
  if (/timeout|deadline/i.test(msg)) return 'hang';
  return 'network-error';
}

export function call(d: SetupData): void {
  if (skip(d, 'call')) return;
  const fid = `probe-${RUN}-${exec.scenario.iterationInTest}`;
  sessions(d, d.caller, d.callee);
  const t0 = begin('call');
  const ini = http.post(`${d.base}/v1/calls/initiate`, JSON.stringify({ call_type: 'audio', conversation_id: d.call_conversation_id, callee_ids: [d.callee.user_id] }), req('call', tokenOf(d.base, d.caller)));
  const callId = body<{ data?: { CallID?: unknown } }>(ini)?.data?.CallID;
  if (ini.status !== 201 || typeof callId !== 'string') {
    recordFailure('call', ini);
    end('call', ini.status === 201 ? 'client-error' : classOf(ini, t0), t0);
    return;
  }
  const endCall = () => { http.post(`${d.base}/v1/calls/${callId}/end`, '{}', req('call', tokenOf(d.base, d.caller), { name: 'call_end' })); };
  // join is served by the video service only (contract N11).
  const join = http.post(`${d.video}/v1/calls/${callId}/join`, '{}', req('call', tokenOf(d.base, d.callee), { name: 'call_join' }));
  if (join.status !== 200) {
    recordFailure('call', join);
    end('call', classOf(join, t0), t0);
    endCall();
    return;
  }
  const url = `${wsBase(d.video)}/v1/calls/ws/signaling?call_id=${callId}`;
  const tags = { probe: 'call', name: 'call_socket' };
  const a = new WebSocket(url, null, { headers: wsHeaders(tokenOf(d.base, d.caller)), tags });
  const b = new WebSocket(url, null, { headers: wsHeaders(tokenOf(d.base, d.callee)), tags });
  let opened = 0;
  let done = false;
  const finish = (cls: OutcomeClass): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    end('call', cls, t0);
    closeSocket(a);
    closeSocket(b);
    endCall();
  };
  const timer = setTimeout(() => finish(opened === 2 ? 'undelivered' : 'hang'), DELIVER_MS);
  const onOpen = () => {
    if (++opened < 2) return;
    // The contract's smallest relayed exchange: an offer addressed to the callee (target_id), its SDP marked with this attempt.
    a.send(JSON.stringify({ type: 'offer', target_id: d.callee.user_id, sdp: `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=sc-frame:${fid}\r\n` }));
  };
  a.onopen = onOpen;
  b.onopen = onOpen;
  b.onmessage = (e) => {
    let f: { type?: unknown; sdp?: unknown };
    try { f = JSON.parse(String(e?.data)) as typeof f; } catch { return; }
    if (f.type === 'offer' && typeof f.sdp === 'string' && f.sdp.includes(`a=sc-frame:${fid}`)) finish('served');
  };
  a.onerror = (e) => finish(socketErrorClass(e));
  b.onerror = (e) => finish(socketErrorClass(e));
}

export function call_initiate(d: SetupData): void {
  if (skip(d, 'call_initiate')) return;
  sessions(d, d.caller);
  const t0 = begin('call_initiate');
  const r = http.post(`${d.base}/v1/calls/initiate`, JSON.stringify({ call_type: 'audio', conversation_id: d.call_conversation_id, callee_ids: [d.callee.user_id] }), req('call_initiate', tokenOf(d.base, d.caller)));
  const callId = body<{ data?: { CallID?: unknown } }>(r)?.data?.CallID;
  const served = r.status === 201 && typeof callId === 'string';
  if (!served) recordFailure('call_initiate', r);
  end('call_initiate', served ? 'served' : r.status === 201 ? 'client-error' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
  if (typeof callId === 'string') http.post(`${d.base}/v1/calls/${callId}/end`, '{}', req('call_initiate', tokenOf(d.base, d.caller), { name: 'call_initiate_end' }));
}

export function ws_origin(d: SetupData): void {
  if (skip(d, 'ws_origin')) return;
  const a = d.accounts[0]!;
  sessions(d, a);
  const t0 = begin('ws_origin');
  const r = upgrade(chatUrl(d), wsHeaders(tokenOf(d.base, a), str('SC_FOREIGN_ORIGIN', 'https://evil.example')), 'ws_origin');
  // 403 is the origin check; a 401 / 429 is some other guard and proves nothing about origins.
  end('ws_origin', upgradeClass(r.status, t0, r.error), t0);
}

export function ws_open(d: SetupData): void {
  if (skip(d, 'ws_open')) return;
  const a = d.accounts[0]!;
  sessions(d, a);
  const t0 = begin('ws_open');
  const r = upgrade(chatUrl(d), wsHeaders(tokenOf(d.base, a)), 'ws_open');
  end('ws_open', upgradeClass(r.status, t0, r.error), t0);
}

export function ws_saturation(d: SetupData): void {
  if (skip(d, 'ws_saturation')) return;
  const a = d.accounts[exec.vu.idInTest % d.accounts.length]!;
  const hold = num('SC_WS_HOLD_MS', 3000);
  // One VU opens no socket: it checks the service while the others hold theirs.
  if (exec.scenario.iterationInTest === 0) {
    sleep(Math.min(1, hold / 2000));
    sessions(d, a);
    const t0 = begin('service_up');
    const h = http.get(`${d.base}/health`, req('service_up'));
    const me = http.get(`${d.base}/v1/users/me`, req('service_up', tokenOf(d.base, a)));
    end('service_up', h.status === 200 && me.status === 200 ? 'served' : classOf(h.status !== 200 ? h : me, t0), t0);
    return;
  }
  const t0 = begin('ws_saturation');
  let tryLater = false;
  let status = 0;
  let error: string | undefined;
  try {
    const r = ws.connect(chatUrl(d), { headers: wsHeaders(tokenOf(d.base, a)), tags: { probe: 'ws_saturation', name: 'ws_saturation' } }, (s) => {
      s.on('close', (code: number) => {
        if (code === 1013) {
          close1013.add(1);
          tryLater = true;
        }
      });
      s.setTimeout(() => s.close(), hold);
    });
    status = r?.status ?? 0;
  } catch (e) {
    error = String(e);
  }
  end('ws_saturation', tryLater ? 'try-again-later' : upgradeClass(status, t0, error), t0);
}

const trimmed = (name: string): string => (__ENV[name] ?? '').replace(/\/+$/, '');
/** The public entry's URLs come from the runner (target.edge): without them an edge probe has nothing to probe. */
function edgeMissing(p: Probe): string | null {
  const name = p === 'edge_plain' ? 'SC_EDGE_PLAIN_URL' : p === 'edge_tls' ? 'SC_EDGE_TLS_URL' : 'SC_EDGE_URL';
  return trimmed(name) ? null : `no public entry: ${name} is not set (the experiment's target has no edge)`;
}
/** nginx's own error page, not the gateway's JSON: which server answered. */
const fromEdge = (r: Res): boolean => typeof r.body === 'string' && /<center>nginx[^<]*<\/center>/.test(r.body);

/** GET <base>/health as probe `probe`: served on 200, else the failure's class. */
function healthAt(d: SetupData, probe: Probe, base: string | undefined): void {
  if (skip(d, probe)) return;
  const t0 = begin(probe);
  const r = http.get(`${base}/health`, req(probe, undefined, { json: false }));
  if (r.status !== 200) recordFailure(probe, r);
  end(probe, r.status === 200 ? 'served' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}

export function edge_up(d: SetupData): void {
  healthAt(d, 'edge_up', d.edge);
}

/** Plain HTTP at the entry: served is the defect; a refusal or a redirect to https is what the claim wants. */
export function edge_plain(d: SetupData): void {
  if (skip(d, 'edge_plain')) return;
  const t0 = begin('edge_plain');
  const r = http.get(`${d.edgePlain}/health`, { ...req('edge_plain', undefined, { json: false }), redirects: 0 });
  const location = String(r.headers.Location ?? r.headers.location ?? '');
  const redirected = r.status >= 300 && r.status < 400 && location.startsWith('https://');
  // 426 Upgrade Required or a closed port refuse plain HTTP as well.
  const refused = r.status === 426 || (r.status === 0 && r.error_code !== K6_TIMEOUT_ERROR);
  end('edge_plain', redirected || refused ? 'refused-plain-http' : r.status === 200 ? 'served' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}

/** The entry's TLS listener, verified against the lab certificate (k6's SSL_CERT_FILE) and nothing else. */
export function edge_tls(d: SetupData): void {
  healthAt(d, 'edge_tls', d.edgeTls);
}

/**
 * SC_EDGE_BURST (default 60) GET /health at once from one client through the entry. A 429 on nginx's own page is
 * throttled-edge; a 429 only from the gateway is `throttled` (the report tells them apart); none: not-throttled.
 */
export function edge_burst(d: SetupData): void {
  if (skip(d, 'edge_burst')) return;
  const n = Math.max(1, Math.floor(num('SC_EDGE_BURST', 60)));
  const params = req('edge_burst', undefined, { json: false });
  const t0 = begin('edge_burst');
  const rs = http.batch(Array.from({ length: n }, () => ({ method: 'GET', url: `${d.edge}/health`, params })));
  const edge429 = rs.filter((r) => r.status === 429 && fromEdge(r)).length;
  const gateway429 = rs.filter((r) => r.status === 429 && !fromEdge(r)).length;
  console.log(`EDGE_BURST ${n} requests: 429 from nginx ${edge429}, 429 from the gateway ${gateway429}, 200 ${rs.filter((r) => r.status === 200).length}`);
  if (rs.every((r) => r.status === 0 && r.error_code === K6_TIMEOUT_ERROR)) return end('edge_burst', 'hang', t0);
  end('edge_burst', edge429 > 0 ? 'throttled-edge' : gateway429 > 0 ? 'throttled' : 'not-throttled', t0);
}

/**
 * One client spends its per-IP budget at the gateway (straight to it, from its own address: the entry's own limit
 * never interferes), then asks through the public entry naming another client in X-Forwarded-For, then once more
 * without. Still limited: the entry tells the gateway who really sent it. Served: the forged address bought a
 * fresh bucket. The honest request served as well: the gateway does not identify this client behind the entry at all
 * (`not-throttled`: the attempt says nothing about forging).
 */
export function edge_spoof(d: SetupData): void {
  if (skip(d, 'edge_spoof')) return;
  const a = d.accounts[0]!;
  const spend = req('edge_spoof', tokenOf(d.base, a), { json: false, name: 'edge_spoof_spend' });
  let limited = false;
  for (let i = 0; i < 3 * num('SC_RATE_LIMIT_PER_MINUTE', 100) && !limited; i += 20) {
    limited = http.batch(Array.from({ length: 20 }, () => ({ method: 'GET', url: `${d.base}/v1/users/me`, params: spend }))).some((r) => r.status === 429);
  }
  const t0 = begin('edge_spoof');
  if (!limited) return end('edge_spoof', 'not-throttled', t0);
  // A documentation address (RFC 5737), another each attempt: a bucket nobody has used.
  const forged = `203.0.113.${1 + (exec.scenario.iterationInTest % 254)}`;
  const params = req('edge_spoof', tokenOf(d.base, a), { json: false });
  const r = http.get(`${d.edge}/v1/users/me`, { ...params, headers: { ...params.headers, 'x-forwarded-for': forged } });
  const honest = http.get(`${d.edge}/v1/users/me`, req('edge_spoof', tokenOf(d.base, a), { json: false, name: 'edge_spoof_honest' }));
  console.log(`EDGE_SPOOF budget spent; through the entry naming ${forged}: ${answered(r)}, without: ${answered(honest)}`);
  const cls: OutcomeClass = honest.status !== 429 ? 'not-throttled'
    : r.status === 429 ? (fromEdge(r) ? 'throttled-edge' : 'throttled') : is2xx(r.status) ? 'served' : classOf(r, t0);
  end('edge_spoof', cls, t0, r.status === 0 ? undefined : r.timings.duration);
}

export function rate_limit(d: SetupData): void {
  if (skip(d, 'rate_limit')) return;
  const a = d.accounts[0]!;
  sessions(d, a);
  const t0 = begin('rate_limit');
  for (let i = 0; i < BURST; i++) {
    const r = http.get(`${d.base}/v1/users/me`, req('rate_limit', tokenOf(d.base, a)));
    if (r.status === 429) {
      recordFailure('rate_limit', r);
      // Throttled only with the headers the contract documents (Retry-After / X-RateLimit-*).
      end('rate_limit', classOf(r, t0), t0, r.timings.duration);
      console.log(`RATE_LIMIT first 429 after ${i} requests`);
      return;
    }
    if (r.status === 0 && r.error_code === K6_TIMEOUT_ERROR) {
      end('rate_limit', 'hang', t0);
      return;
    }
  }
  end('rate_limit', 'not-throttled', t0);
}
