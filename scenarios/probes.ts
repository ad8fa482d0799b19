/**
 * Resilience probes (k6): small, steady, tagged requests whose outcome a claim is about, run while the
 * fault timeline plays. Each probe is its own k6 scenario and records
 *   sc_probe_ok{probe}          Rate   — did the probe see the behaviour the claim wants
 *   sc_probe_duration{probe}    Trend  — how long the probed request took (ms)
 *   sc_probe_clear_error{probe} Rate   — of the failed answers: a 4xx/5xx with a JSON error (not a hang, not a reset)
 * The experiment runner slices them by phase (baseline / fault / recovery); claims compare phases.
 *
 * Probes (SC_PROBES, comma-separated):
 *   login         POST /v1/auth/login of a pre-registered account (round robin over SC_USERS accounts)
 *   authed        GET /v1/users/me with a valid token
 *   revoked       GET /v1/users/me with a token revoked in setup(): ok = refused; sc_revoked_token_accepted counts 2xx
 *   send          POST /v1/messages: ok = 201 (duration = the answer, whatever it is)
 *   deliver       a receiver socket on /v1/ws/chat, POST /v1/messages, ok = the frame arrives within SC_DELIVER_TIMEOUT_MS
 *   upload        upload-url → PUT presigned → upload-complete; sc_upload_minio_failures counts flows that reached
 *                 object storage and failed (what a circuit breaker bounds); duration{upload_api} = the API calls
 *   ws_origin     chat WebSocket upgrade with a foreign Origin: ok = refused with 403 (for SC_ORIGIN_DURATION)
 *   ws_saturation SC_WS_SATURATION_SOCKETS − 1 sockets at once: sc_ws_close_1013 counts "try again later" closes,
 *                 ok{ws_saturation} = this socket was answered (opened, or refused with 1013 / 503);
 *                 ok{service_up} = /health and an authenticated call still answer during the saturation (one VU, 1 s in)
 *   rate_limit    a burst of SC_RATE_LIMIT_BURST GET /v1/users/me: ok = a 429 came (with Retry-After or X-RateLimit-*)
 *
 * Environment: SC_BASE_URL (required), SC_PROBES, SC_DURATION ("30s"), SC_PROBE_RATE (per probe, per s: 2),
 * SC_USERS (10), SC_TIMEOUT ("15s"), SC_DELIVER_TIMEOUT_MS (5000), SC_FOREIGN_ORIGIN, SC_WS_SATURATION_SOCKETS (40),
 * SC_WS_HOLD_MS (3000), SC_SATURATION_START ("2s"), SC_RATE_LIMIT_BURST (300), SC_RATE_LIMIT_START ("0s"), SC_RUN_ID.
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

export const PROBES = ['login', 'authed', 'revoked', 'send', 'deliver', 'upload', 'ws_origin', 'ws_saturation', 'rate_limit'] as const;
type Probe = (typeof PROBES)[number];

function selected(): Probe[] {
  const raw = str('SC_PROBES', 'login,authed,revoked,send,deliver');
  const out: Probe[] = [];
  for (const p of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(PROBES as readonly string[]).includes(p)) throw new Error(`SC_PROBES: unknown probe "${p}" (known: ${PROBES.join(', ')})`);
    out.push(p as Probe);
  }
  if (out.length === 0) throw new Error('SC_PROBES selects no probe');
  return out;
}

const DURATION = str('SC_DURATION', '30s');
const RATE = num('SC_PROBE_RATE', 2);
const TIMEOUT = str('SC_TIMEOUT', '15s');
const SOCKETS = num('SC_WS_SATURATION_SOCKETS', 40);

function steady(fn: Probe, rate = RATE, duration = DURATION): Scenario {
  return {
    executor: 'constant-arrival-rate', exec: fn, rate, timeUnit: '1s', duration,
    preAllocatedVUs: 2, maxVUs: 30, gracefulStop: '20s', tags: { probe: fn },
  };
}

function scenarios(): Record<string, Scenario> {
  const out: Record<string, Scenario> = {};
  for (const p of selected()) {
    if (p === 'ws_saturation') {
      out.ws_saturation = { executor: 'per-vu-iterations', exec: 'ws_saturation', vus: SOCKETS, iterations: 1, startTime: str('SC_SATURATION_START', '2s'), maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'ws_saturation' } };
    } else if (p === 'rate_limit') {
      out.rate_limit = { executor: 'per-vu-iterations', exec: 'rate_limit', vus: 1, iterations: 1, startTime: str('SC_RATE_LIMIT_START', '0s'), maxDuration: '60s', gracefulStop: '10s', tags: { probe: 'rate_limit' } };
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

const ok = new Rate('sc_probe_ok');
const duration = new Trend('sc_probe_duration', true);
const clearError = new Rate('sc_probe_clear_error');
const revokedAccepted = new Counter('sc_revoked_token_accepted');
const minioFailures = new Counter('sc_upload_minio_failures');
const close1013 = new Counter('sc_ws_close_1013');

type Res = RefinedResponse<ResponseType | undefined>;
const JSON_HEADERS = { 'content-type': 'application/json' };

type Account = RegisteredUser;
interface SetupData { base: string; accounts: Account[]; revoked: string; conversation_id: string; sender: string; receiver: string; uploader: string }

function body<T>(r: Res): T | null {
  try {
    return (r.json() as T) ?? null;
  } catch {
    return null;
  }
}

function req(probe: string, token?: string, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  // Every status is "expected": the probe judges it, http_req_failed must not double count faults.
  return { headers, timeout: TIMEOUT, tags: { probe, name: probe }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) };
}

/** A failed answer is clear when it is a real HTTP error with a JSON error message (not a hang / reset / 500 page). */
function recordFailure(probe: string, r: Res): void {
  const b = body<{ error?: unknown; message?: unknown; code?: unknown }>(r);
  const clear = r.status >= 400 && r.status !== 500 && b !== null && (typeof b.error === 'string' || typeof b.error === 'object' || typeof b.message === 'string');
  clearError.add(clear ? 1 : 0, { probe });
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
  return { base, accounts, revoked: victim.token, conversation_id, sender: sender.token, receiver: receiver.token, uploader: uploader.token };
}

export function login(d: SetupData): void {
  const a = d.accounts[exec.scenario.iterationInTest % d.accounts.length]!;
  const r = http.post(`${d.base}/v1/auth/login`, JSON.stringify({ email: a.email, password: a.password }), req('login'));
  duration.add(r.timings.duration, { probe: 'login' });
  const good = r.status === 200 && typeof body<{ data?: { access_token?: unknown } }>(r)?.data?.access_token === 'string';
  ok.add(good ? 1 : 0, { probe: 'login' });
  if (!good) recordFailure('login', r);
}

export function authed(d: SetupData): void {
  const a = d.accounts[exec.scenario.iterationInTest % d.accounts.length]!;
  const r = http.get(`${d.base}/v1/users/me`, req('authed', a.token));
  duration.add(r.timings.duration, { probe: 'authed' });
  ok.add(r.status === 200 ? 1 : 0, { probe: 'authed' });
  if (r.status !== 200) recordFailure('authed', r);
}

export function revoked(d: SetupData): void {
  const r = http.get(`${d.base}/v1/users/me`, req('revoked', d.revoked));
  duration.add(r.timings.duration, { probe: 'revoked' });
  const accepted = r.status >= 200 && r.status < 300;
  // Refused means an HTTP refusal; a connection failure proves nothing either way.
  ok.add(!accepted && r.status >= 400 ? 1 : 0, { probe: 'revoked' });
  revokedAccepted.add(accepted ? 1 : 0);
}

export function send(d: SetupData): void {
  const id = `probe-${str('SC_RUN_ID', 'r')}-s${exec.scenario.iterationInTest}`;
  const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, client_message_id: id }), req('send', d.sender));
  duration.add(r.timings.duration, { probe: 'send' });
  ok.add(r.status === 201 ? 1 : 0, { probe: 'send' });
  if (r.status !== 201) recordFailure('send', r);
}

export function deliver(d: SetupData): void {
  const id = `probe-${str('SC_RUN_ID', 'r')}-d${exec.scenario.iterationInTest}`;
  const wsBase = d.base.replace(/^http/, 'ws');
  const socket = new WebSocket(`${wsBase}/v1/ws/chat?conversation_id=${d.conversation_id}&token=${encodeURIComponent(d.receiver)}`);
  let done = false;
  let sentAt = 0;
  const finish = (good: boolean): void => {
    if (done) return;
    done = true;
    ok.add(good ? 1 : 0, { probe: 'deliver' });
    if (good) duration.add(Date.now() - sentAt, { probe: 'deliver' });
    socket.close();
  };
  socket.onopen = () => {
    sentAt = Date.now();
    const r = http.post(`${d.base}/v1/messages`, JSON.stringify({ conversation_id: d.conversation_id, content: id, client_message_id: id }), req('deliver', d.sender));
    if (r.status !== 201) {
      recordFailure('deliver', r);
      finish(false);
    }
  };
  socket.onmessage = (e) => {
    let f: { content?: unknown; client_message_id?: unknown };
    try { f = JSON.parse(String(e?.data)) as typeof f; } catch { return; }
    if (f.client_message_id === id || f.content === id) finish(true);
  };
  socket.onerror = () => finish(false);
  socket.onclose = () => finish(false);
  setTimeout(() => finish(false), num('SC_DELIVER_TIMEOUT_MS', 5000));
}

export function upload(d: SetupData): void {
  const n = exec.scenario.iterationInTest;
  const content = `probe upload ${n} ${'x'.repeat(1000)}`;
  const u = http.post(`${d.base}/v1/storage/upload-url`, JSON.stringify({ file_name: `probe-${n}.bin`, file_size: content.length, content_type: 'application/octet-stream', is_encrypted: false }), req('upload', d.uploader));
  duration.add(u.timings.duration, { probe: 'upload_api' });
  const ud = body<{ data?: { FileID?: string; UploadURL?: string } }>(u)?.data;
  if (u.status !== 200 || !ud?.FileID || !ud.UploadURL) {
    ok.add(0, { probe: 'upload' });
    recordFailure('upload', u);
    return;
  }
  // The PUT goes straight to object storage; when that is down the flow has reached it and failed.
  const put = http.put(ud.UploadURL, content, { headers: { 'content-type': 'application/octet-stream' }, timeout: TIMEOUT, tags: { probe: 'upload', name: 'upload_put' }, responseCallback: http.expectedStatuses({ min: 100, max: 599 }) });
  const c = http.post(`${d.base}/v1/storage/upload-complete`, JSON.stringify({ file_id: ud.FileID }), req('upload', d.uploader));
  duration.add(c.timings.duration, { probe: 'upload_api' });
  const good = put.status === 200 && c.status === 200;
  ok.add(good ? 1 : 0, { probe: 'upload' });
  if (!good) {
    minioFailures.add(1);
    if (c.status !== 200) recordFailure('upload', c);
    return;
  }
  http.del(`${d.base}/v1/storage/files/${ud.FileID}`, null, req('upload', d.uploader));
}

export function ws_origin(d: SetupData): void {
  const a = d.accounts[0]!;
  const url = `${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}&token=${encodeURIComponent(a.token)}`;
  const started = Date.now();
  let status = 0;
  try {
    const r = ws.connect(url, { headers: { Origin: str('SC_FOREIGN_ORIGIN', 'https://evil.example') }, tags: { probe: 'ws_origin' } }, (s) => {
      s.setTimeout(() => s.close(), 200);
    });
    status = r?.status ?? 0;
  } catch {
    status = 0;
  }
  duration.add(Date.now() - started, { probe: 'ws_origin' });
  // 403 is the origin check; a 401 / 429 would be some other guard and proves nothing about origins.
  ok.add(status === 403 ? 1 : 0, { probe: 'ws_origin' });
}

export function ws_saturation(d: SetupData): void {
  const a = d.accounts[exec.vu.idInTest % d.accounts.length]!;
  const hold = num('SC_WS_HOLD_MS', 3000);
  // One VU opens no socket: it checks the service while the others hold theirs.
  if (exec.scenario.iterationInTest === 0) {
    sleep(Math.min(1, hold / 2000));
    const h = http.get(`${d.base}/health`, req('service_up'));
    const me = http.get(`${d.base}/v1/users/me`, req('service_up', a.token));
    ok.add(h.status === 200 && me.status === 200 ? 1 : 0, { probe: 'service_up' });
    duration.add(me.timings.duration, { probe: 'service_up' });
    return;
  }
  const url = `${d.base.replace(/^http/, 'ws')}/v1/ws/chat?conversation_id=${d.conversation_id}&token=${encodeURIComponent(a.token)}`;
  let answered = false;
  const started = Date.now();
  let status = 0;
  try {
    const r = ws.connect(url, { tags: { probe: 'ws_saturation' } }, (s) => {
      s.on('open', () => { answered = true; });
      s.on('close', (code: number) => {
        if (code === 1013) close1013.add(1);
      });
      s.setTimeout(() => s.close(), hold);
    });
    status = r?.status ?? 0;
  } catch {
    status = 0;
  }
  if (status === 503 || status === 429) answered = true;
  duration.add(Date.now() - started, { probe: 'ws_saturation' });
  ok.add(answered ? 1 : 0, { probe: 'ws_saturation' });
}

export function rate_limit(d: SetupData): void {
  const a = d.accounts[0]!;
  const burst = num('SC_RATE_LIMIT_BURST', 300);
  let limited = false;
  let first = -1;
  for (let i = 0; i < burst; i++) {
    const r = http.get(`${d.base}/v1/users/me`, req('rate_limit', a.token));
    if (r.status === 429) {
      limited = true;
      first = i;
      duration.add(r.timings.duration, { probe: 'rate_limit' });
      recordFailure('rate_limit', r);
      break;
    }
  }
  ok.add(limited ? 1 : 0, { probe: 'rate_limit' });
  if (first >= 0) console.log(`RATE_LIMIT first 429 after ${first} requests`);
}

export function teardown(): void {
  // Present (as 0) in every summary.
  revokedAccepted.add(0);
  minioFailures.add(0);
  close1013.add(0);
}
