/**
 * Chat fan-out workload (k6, bundled by src/scenarios/bundle.ts).
 *
 * setup() registers one sender and SC_GROUP_SIZE receivers and creates a group conversation through the API.
 * - `receivers` (one VU): one socket per receiver on /v1/ws/chat; every delivered message frame is recorded in
 *   the Trend `sc_delivery_latency` (now − the send time carried in the content) and logged as
 *   `DELIVERY {"recipient","client_message_id","seq","sender"}`; sockets close after warmup + duration + drain.
 * - `sender` (constant-arrival-rate, SC_RATE msgs/s for SC_DURATION, starting after SC_WARMUP): POST /v1/messages
 *   with a client_message_id `${SC_MESSAGE_ID_PREFIX}-${scenario iteration}` (deterministic: the first message is
 *   `<prefix>-0`) and a per-VU sequence; records `sc_ack_latency` and logs `SENT {...}`.
 * setup() also logs `SETUP {"conversation_id","recipients"}`. src/scenarios/fanout-checker.ts reads these lines.
 *
 * Environment: SC_BASE_URL (required), SC_GROUP_SIZE (10), SC_RATE (msgs/s, 2), SC_DURATION ("10s"),
 * SC_WARMUP ("2s"), SC_DRAIN ("3s"), SC_MESSAGE_ID_PREFIX (default SC_RUN_ID), SC_PRE_VUS (2), SC_MAX_VUS (20).
 * Thresholds come from fixtures/budgets.yaml (runner, k6 --config).
 */
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { WebSocket } from 'k6/websockets';
import { setTimeout } from 'k6/timers';
import type { Options } from 'k6/options';
import { num, str } from './lib/env.ts';
import { durationSeconds } from './lib/duration.ts';


const WARMUP = str('SC_WARMUP', '2s');
const DURATION = str('SC_DURATION', '10s');
const DRAIN = str('SC_DRAIN', '3s');
/** How long the receivers keep their sockets open (ms). */
const LISTEN_MS = Math.round((durationSeconds(WARMUP) + durationSeconds(DURATION) + durationSeconds(DRAIN)) * 1000);

export const options: Options = {
  scenarios: {
    receivers: {
      executor: 'per-vu-iterations',
      exec: 'receivers',
      vus: 1,
      iterations: 1,
      maxDuration: `${Math.ceil(LISTEN_MS / 1000) + 15}s`,
      gracefulStop: '5s',
    },
    sender: {
      executor: 'constant-arrival-rate',
      exec: 'sender',
      startTime: WARMUP,
      rate: num('SC_RATE', 2),
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: num('SC_PRE_VUS', 2),
      maxVUs: num('SC_MAX_VUS', 20),
      gracefulStop: '10s',
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** Send → 201 ack (ms). */
const ackLatency = new Trend('sc_ack_latency', true);
/** Send time (in the content) → frame received by a receiver (ms). */
const deliveryLatency = new Trend('sc_delivery_latency', true);
const deliveries = new Counter('sc_deliveries');
const sent = new Counter('sc_messages_acked');

const JSON_HEADERS = { 'content-type': 'application/json' };

interface Receiver { user_id: string; token: string }
interface SetupData { base: string; conversation_id: string; sender_token: string; receivers: Receiver[] }

function register(base: string, id: string): Receiver {
  const username = `k6_${id}`.slice(0, 30).replace(/[^A-Za-z0-9_.-]/g, '_');
  const r = http.post(`${base}/v1/auth/register`, JSON.stringify({ email: `k6-${id}@load.test`, username, password: `pw-${id}-long`, display_name: `Fanout ${id}` }), { headers: JSON_HEADERS, tags: { name: 'register' } });
  if (r.status !== 201) fail(`register ${id}: HTTP ${r.status} ${String(r.body).slice(0, 200)}`);
  const d = (r.json() as { data: { user: { user_id: string }; access_token: string } }).data;
  return { user_id: d.user.user_id, token: d.access_token };
}

export function setup(): SetupData {
  const base = __ENV.SC_BASE_URL;
  if (!base) fail('SC_BASE_URL is not set');
  const run = str('SC_RUN_ID', 'r');
  const n = num('SC_GROUP_SIZE', 10);
  if (n < 2) fail('SC_GROUP_SIZE must be at least 2');
  const sender = register(base, `${run}-fs`);
  const receivers: Receiver[] = [];
  for (let i = 0; i < n; i++) receivers.push(register(base, `${run}-fr${i}`));
  const c = http.post(`${base}/v1/conversations`, JSON.stringify({ title: `fanout ${run}`, type: 'group', participant_ids: receivers.map((r) => r.user_id) }), {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${sender.token}` }, tags: { name: 'create_conversation' },
  });
  if (c.status !== 201) fail(`create conversation: HTTP ${c.status} ${String(c.body).slice(0, 200)}`);
  const conversation_id = (c.json() as { data: { conversation_id: string } }).data.conversation_id;
  console.log(`SETUP ${JSON.stringify({ conversation_id, recipients: receivers.map((r) => r.user_id) })}`);
  return { base, conversation_id, sender_token: sender.token, receivers };
}

interface Frame { type?: string; message_id?: string; content?: string; client_message_id?: string; sequence?: number; sender_id?: string }
interface Payload { id?: string; seq?: number; sender?: string; sentAt?: number }

export function receivers(data: SetupData): void {
  const wsBase = data.base.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  for (const r of data.receivers) {
    const ws = new WebSocket(`${wsBase}/v1/ws/chat?conversation_id=${data.conversation_id}&token=${encodeURIComponent(r.token)}`);
    ws.onmessage = (e) => {
      const now = Date.now();
      let f: Frame;
      try { f = JSON.parse(String(e?.data)) as Frame; } catch { return; }
      if (f.type === 'user_joined' || f.type === 'user_left' || typeof f.content !== 'string') return;
      let p: Payload = {};
      try { p = JSON.parse(f.content) as Payload; } catch { /* not ours */ }
      if (typeof p.sentAt === 'number') deliveryLatency.add(now - p.sentAt);
      deliveries.add(1);
      const seq = typeof f.sequence === 'number' ? f.sequence : p.seq;
      console.log(`DELIVERY ${JSON.stringify({ recipient: r.user_id, client_message_id: f.client_message_id ?? p.id ?? f.message_id, seq, sender: p.sender ?? f.sender_id })}`);
    };
    ws.onerror = (e) => console.warn(`socket error for ${r.user_id}: ${String((e as { error?: string }).error ?? '')}`);
    sockets.push(ws);
  }
  setTimeout(() => { for (const ws of sockets) ws.close(); }, LISTEN_MS);
}

export function sender(data: SetupData): void {
  const prefix = str('SC_MESSAGE_ID_PREFIX', str('SC_RUN_ID', 'r'));
  const id = `${prefix}-${exec.scenario.iterationInTest}`;
  const senderKey = `vu${exec.vu.idInTest}`;
  const seq = exec.vu.iterationInScenario;
  const content = JSON.stringify({ id, seq, sender: senderKey, sentAt: Date.now() });
  const r = http.post(`${data.base}/v1/messages`, JSON.stringify({ conversation_id: data.conversation_id, content, client_message_id: id, sequence: seq }), {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${data.sender_token}` }, tags: { name: 'send' },
  });
  ackLatency.add(r.timings.duration);
  let messageId: string | undefined;
  try { messageId = (r.json() as { data?: { message_id?: string } }).data?.message_id; } catch { /* not JSON */ }
  const acked = check(r, { 'send: 201 with message_id': (x) => x.status === 201 && typeof messageId === 'string' });
  if (acked) sent.add(1);
  console.log(`SENT ${JSON.stringify({ client_message_id: id, seq, sender: senderKey, message_id: messageId ?? null, acked })}`);
}
