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
 * Probes (SC_PROBES, comma-separated):
 *   login            POST /v1/auth/login of a pre-registered account (round robin over SC_USERS accounts)
 *   authed           GET /v1/users/me with a valid token
 *   revoked          GET /v1/users/me with a token revoked in setup(): wanted = refused-revoked (401 + error body)
 *   revoked_ws_chat  the chat WebSocket upgrade with the revoked token: wanted = refused-revoked (401)
 *   revoked_ws_signaling  the signaling WebSocket upgrade (SC_VIDEO_URL) with the revoked token: wanted = refused-revoked
 *   send             POST /v1/messages: wanted = served (201)
 *   deliver          a receiver socket on /v1/ws/chat, POST /v1/messages: wanted = served (the frame arrives within
 *                    SC_DELIVER_TIMEOUT_MS; else `undelivered`)
 *   upload           upload-url → PUT presigned → upload-complete; sc_upload_minio_failures counts flows that reached
 *                    object storage and failed (what a circuit breaker bounds); duration{upload_api} = the API calls
 *   ws_origin        chat WebSocket upgrade with a foreign Origin: wanted = refused-origin (403)
 *   ws_open          one chat socket opened and closed, before the saturation (its precondition): wanted = served
 *   ws_saturation    SC_WS_SATURATION_SOCKETS − 1 sockets at once: served (held open) or try-again-later (1013 / 503);
 *                    probe service_up: /health and an authenticated call still answer during the saturation
 *   rate_limit       a burst of up to SC_RATE_LIMIT_BURST GET /v1/users/me until a 429: wanted = throttled (429 with
 *                    Retry-After or X-RateLimit-*, as the contract documents); `not-throttled` when none came. One
 *                    burst, or one every SC_RATE_LIMIT_EVERY (e.g. "4s") for the whole run.
 * Sockets authenticate with the bearer header (contract N02): no token in any URL.
 *
 * Environment: SC_BASE_URL (required), SC_VIDEO_URL (for revoked_ws_signaling), SC_PROBES, SC_DURATION ("30s"),
 * SC_PROBE_RATE (per probe, per s: 2), SC_USERS (10), SC_TIMEOUT ("15s"), SC_FAST_ERROR_MS (1000),
 * SC_DELIVER_TIMEOUT_MS (5000), SC_FOREIGN_ORIGIN, SC_WS_SATURATION_SOCKETS (40), SC_WS_HOLD_MS (3000),
 * SC_SATURATION_START ("2s"), SC_RATE_LIMIT_BURST (300), SC_RATE_LIMIT_START ("0s"), SC_RATE_LIMIT_EVERY,
 * SC_RUN_ID. A workload with `ownSourceAddress` (the rate-limit burst) runs with K6_LOCAL_IPS: its own client address.
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { fail, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import ws from 'k6/ws';
import { WebSocket } from 'k6/websockets';
import { setTimeout } from 'k6/timers';
import type { Options, Scenario } from 'k6/options';
import { num, str } from './lib/env.ts';
import { registerUsers, type RegisteredUser } from './lib/users.ts';
import { classifyFailure, hasErrorBody, K6_TIMEOUT_ERROR, type OutcomeClass } from './lib/outcomes.ts';
import { durationSeconds } from './lib/duration.ts';

export const PROBES = ['login', 'authed', 'revoked', 'revoked_ws_chat', 'revoked_ws_signaling', 'send', 'deliver', 'upload', 'ws_origin', 'ws_open', 'ws_saturation', 'rate_limit'] as const;
type Probe = (typeof PROBES)[number];

/** The class each probe wants: sc_probe_ok is 1 exactly for it. */
const WANTED: Record<Probe | 'service_up', OutcomeClass> = {
  login: 'served', authed: 'served', revoked: 'refused-revoked', revoked_ws_chat: 'refused-revoked', revoked_ws_signaling: 'refused-revoked',
  send: 'served', deliver: 'served', upload: 'served', ws_origin: 'refused-origin', ws_open: 'served', ws_saturation: 'served',
  rate_limit: 'throttled', service_up: 'served',
};

function selected(): Probe[] {
  const raw = str('SC_PROBES', 'login,authed,revoked,send,deliver');
  const out: Probe[] = [];
  for (const p of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(PROBES as readonly string[]).includes(p)) throw new Error(`SC_PROBES: unknown probe "${p}" (known: ${PROBES.join(', ')})`);
    out.push(p as Probe);
  }
  if (out.length === 0) throw new Error('SC_PROBES selects no probe');
  if (out.includes('revoked_ws_signaling') && !__ENV.SC_VIDEO_URL) throw new Error('SC_PROBES: revoked_ws_signaling needs SC_VIDEO_URL (the video service, where the signaling socket lives)');
  return out;
}

const DURATION = str('SC_DURATION', '30s');
const RATE = num('SC_PROBE_RATE', 2);
const TIMEOUT = str('SC_TIMEOUT', '15s');
const FAST_MS = num('SC_FAST_ERROR_MS', 1000);
const SOCKETS = num('SC_WS_SATURATION_SOCKETS', 40);

function steady(fn: Probe, rate = RATE, duration = DURATION, startTime = '0s'): Scenario {
  return {
    executor: 'constant-arrival-rate', exec: fn, rate, timeUnit: '1s', duration, startTime,
    preAllocatedVUs: 2, maxVUs: 30, gracefulStop: '20s', tags: { probe: fn },
  };
}

function scenarios(): Record<string, Scenario> {
  const out: Record<string, Scenario> = {};
  for (const p of selected()) {
    if (p === 'ws_saturation') {
      out.ws_saturation = { executor: 'per-vu-iterations', exec: 'ws_saturation', vus: SOCKETS, iterations: 1, startTime: str('SC_SATURATION_START', '2s'), maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'ws_saturation' } };
    } else if (p === 'ws_open') {
      // Before the saturation starts: one socket a second.
      const until = Math.max(1, durationSeconds(str('SC_SATURATION_START', '2s')));
      out.ws_open = steady('ws_open', 1, `${until}s`);
    } else if (p === 'rate_limit') {
      const every = str('SC_RATE_LIMIT_EVERY', '');
      const start = str('SC_RATE_LIMIT_START', '0s');
      out.rate_limit = every
        // A burst can last longer than the interval (the limiter's window just reset): VUs enough that none is dropped.
        ? { executor: 'constant-arrival-rate', exec: 'rate_limit', rate: 1, timeUnit: every, duration: DURATION, startTime: start, preAllocatedVUs: 4, maxVUs: 10, gracefulStop: '20s', tags: { probe: 'rate_limit' } }
        : { executor: 'per-vu-iterations', exec: 'rate_limit', vus: 1, iterations: 1, startTime: start, maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'rate_limit' } };
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
const minioFailures = new Counter('sc_upload_minio_failures');
const close1013 = new Counter('sc_ws_close_1013');

type Res = RefinedResponse<ResponseType | undefined>;
const JSON_HEADERS = { 'content-type': 'application/json' };

type Account = RegisteredUser;
interface SetupData { base: string; video: string; accounts: Account[]; revoked: string; conversation_id: string; sender: string; receiver: string; uploader: string }

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

function req(probe: string, token?: string, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  // Every status is "expected": the probe judges it, http_req_failed must not double count faults.
  return { headers, timeout: TIMEOUT, tags: { probe, name: probe }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) };
}

/** A failed answer is clear when it is a real HTTP error with a JSON error message (not a hang / reset / 500 page). */
function recordFailure(probe: string, r: Res): void {
  clearError.add(r.status >= 400 && r.status !== 500 && hasErrorBody(body(r)) ? 1 : 0, { probe });
}

export function setup(): SetupData {
  const base = __ENV.SC_BASE_URL;
  if (!base) fail('SC_BASE_URL is not set');
  const run = str('SC_RUN_ID', 'r');
  const naming = { email: 'probe', username: 'pr', display: 'Probe', tag: 'setup' };
  const accounts: Account[] = registerUsers(base, Array.from({ length: num('SC_USERS', 10) }, (_, i) => `${run}-${i}`), naming);
  const [victim, sender, receiver, uploader] = registerUsers(base, [`${run}-rv`, `${run}-s`, `${run}-d`, `${run}-u`], naming) as [Account, Account, Account, Account];
  const lo = http.post(`${base}/v1/auth/logout`, '{}', { headers: { ...JSON_HEADERS, authorization: `Bearer ${victim.token}` }, tags: { name: 'setup' } });
  if (lo.status !== 200) fail(`setup: logout: HTTP ${lo.status} ${String(lo.body).slice(0, 200)}`);
  const c = http.post(`${base}/v1/conversations`, JSON.stringify({ title: `probes ${run}`, type: 'direct', participant_ids: [sender.user_id, receiver.user_id] }), {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${sender.token}` }, tags: { name: 'setup' },
  });
  if (c.status !== 201) fail(`setup: create conversation: HTTP ${c.status} ${String(c.body).slice(0, 200)}`);
  const conversation_id = body<{ data: { conversation_id: string } }>(c)!.data.conversation_id;
  return { base, video: (__ENV.SC_VIDEO_URL ?? '').replace(/\/+$/, ''), accounts, revoked: victim.token, conversation_id, sender: sender.token, receiver: receiver.token, uploader: uploader.token };
}

export function login(d: SetupData): void {
  const a = d.accounts[exec.scenario.iterationInTest % d.accounts.length]!;
  const t0 = begin('login');
  const r = http.post(`${d.base}/v1/auth/login`, JSON.stringify({ email: a.email, password: a.password }), req('login'));
  const served = r.status === 200 && typeof body<{ data?: { access_token?: unknown } }>(r)?.data?.access_token === 'string';
  if (!served) recordFailure('login', r);
  end('login', served ? 'served' : classOf(r, t0), t0, r.timings.duration);
}

export function authed(d: SetupData): void {
  const a = d.accounts[exec.scenario.iterationInTest % d.accounts.length]!;
  const t0 = begin('authed');
  const r = http.get(`${d.base}/v1/users/me`, req('authed', a.token));
  if (r.status !== 200) recordFailure('authed', r);
  end('authed', r.status === 200 ? 'served' : classOf(r, t0), t0, r.timings.duration);
}

export function revoked(d: SetupData): void {
  const t0 = begin('revoked');
  const r = http.get(`${d.base}/v1/users/me`, req('revoked', d.revoked));
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
  const r = upgrade(url, { authorization: `Bearer ${token}` }, probe);
  if (r.status === 101) revokedAccepted.add(1);
  end(probe, upgradeClass(r.status, t0, r.error), t0);
}

export function revoked_ws_chat(d: SetupData): void {
  revokedUpgrade('revoked_ws_chat', `${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}`, d.revoked);
}

/** A well-formed call id: the signaling upgrade checks its shape before the token. */
const CALL_ID = 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16));

export function revoked_ws_signaling(d: SetupData): void {
  revokedUpgrade('revoked_ws_signaling', `${d.video.replace(/^http/, 'ws')}/v1/calls/ws/signaling?call_id=${CALL_ID}`, d.revoked);
}

export function send(d: SetupData): void {
  const id = `probe-${str('SC_RUN_ID', 'r')}-s${exec.scenario.iterationInTest}`;
  const t0 = begin('send');
  const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, message_type: 'text', client_message_id: id }), req('send', d.sender));
  if (r.status !== 201) recordFailure('send', r);
  end('send', r.status === 201 ? 'served' : classOf(r, t0), t0, r.status === 0 ? undefined : r.timings.duration);
}

export function deliver(d: SetupData): void {
  const id = `probe-${str('SC_RUN_ID', 'r')}-d${exec.scenario.iterationInTest}`;
  const wsBase = d.base.replace(/^http/, 'ws');
  const t0 = begin('deliver');
  const socket = new WebSocket(`${wsBase}/v1/ws/chat?conversation_id=${d.conversation_id}`, null, { headers: { authorization: `Bearer ${d.receiver}` }, tags: { probe: 'deliver', name: 'deliver_socket' } });
  let done = false;
  const finish = (cls: OutcomeClass): void => {
    if (done) return;
    done = true;
    end('deliver', cls, t0);
    socket.close();
  };
  socket.onopen = () => {
    const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, message_type: 'text', client_message_id: id }), req('deliver', d.sender));
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
  setTimeout(() => finish('undelivered'), num('SC_DELIVER_TIMEOUT_MS', 5000));
}

export function upload(d: SetupData): void {
  const n = exec.scenario.iterationInTest;
  const content = `probe upload ${n} ${'x'.repeat(1000)}`;
  const t0 = begin('upload');
  const u = http.post(`${d.base}/v1/storage/upload-url`, JSON.stringify({ file_name: `probe-${n}.bin`, file_size: content.length, content_type: 'application/octet-stream', is_encrypted: false }), req('upload', d.uploader));
  duration.add(u.timings.duration, { probe: 'upload_api' });
  const ud = body<{ data?: { FileID?: string; UploadURL?: string } }>(u)?.data;
  if (u.status !== 200 || !ud?.FileID || !ud.UploadURL) {
    recordFailure('upload', u);
    end('upload', u.status === 200 ? 'client-error' : classOf(u, t0), t0);
    return;
  }
  // The PUT goes straight to object storage; when that is down the flow has reached it and failed.
  const put = http.put(ud.UploadURL, content, { headers: { 'content-type': 'application/octet-stream' }, timeout: TIMEOUT, tags: { probe: 'upload', name: 'upload_put' }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) });
  const c = http.post(`${d.base}/v1/storage/upload-complete`, JSON.stringify({ file_id: ud.FileID }), req('upload', d.uploader));
  duration.add(c.timings.duration, { probe: 'upload_api' });
  const good = put.status === 200 && c.status === 200;
  if (!good) {
    minioFailures.add(1);
    if (c.status !== 200) recordFailure('upload', c);
    end('upload', c.status !== 200 ? classOf(c, t0) : classOf(put, t0), t0);
    return;
  }
  end('upload', 'served', t0);
  http.del(`${d.base}/v1/storage/files/${ud.FileID}`, null, req('upload', d.uploader));
}

export function ws_origin(d: SetupData): void {
  const a = d.accounts[0]!;
  const t0 = begin('ws_origin');
  const r = upgrade(`${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}`, { Origin: str('SC_FOREIGN_ORIGIN', 'https://evil.example'), authorization: `Bearer ${a.token}` }, 'ws_origin');
  // 403 is the origin check; a 401 / 429 is some other guard and proves nothing about origins.
  end('ws_origin', upgradeClass(r.status, t0, r.error), t0);
}

export function ws_open(d: SetupData): void {
  const a = d.accounts[0]!;
  const t0 = begin('ws_open');
  const r = upgrade(`${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}`, { authorization: `Bearer ${a.token}` }, 'ws_open');
  end('ws_open', upgradeClass(r.status, t0, r.error), t0);
}

export function ws_saturation(d: SetupData): void {
  const a = d.accounts[exec.vu.idInTest % d.accounts.length]!;
  const hold = num('SC_WS_HOLD_MS', 3000);
  // One VU opens no socket: it checks the service while the others hold theirs.
  if (exec.scenario.iterationInTest === 0) {
    sleep(Math.min(1, hold / 2000));
    const t0 = begin('service_up');
    const h = http.get(`${d.base}/health`, req('service_up'));
    const me = http.get(`${d.base}/v1/users/me`, req('service_up', a.token));
    end('service_up', h.status === 200 && me.status === 200 ? 'served' : classOf(h.status !== 200 ? h : me, t0), t0);
    return;
  }
  const url = `${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}`;
  const t0 = begin('ws_saturation');
  let tryLater = false;
  let status = 0;
  let error: string | undefined;
  try {
    const r = ws.connect(url, { headers: { authorization: `Bearer ${a.token}` }, tags: { probe: 'ws_saturation', name: 'ws_saturation' } }, (s) => {
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

export function rate_limit(d: SetupData): void {
  const a = d.accounts[0]!;
  const burst = num('SC_RATE_LIMIT_BURST', 300);
  const t0 = begin('rate_limit');
  for (let i = 0; i < burst; i++) {
    const r = http.get(`${d.base}/v1/users/me`, req('rate_limit', a.token));
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
