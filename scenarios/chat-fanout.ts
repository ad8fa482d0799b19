/**
 * Chat fan-out workload (k6, bundled by src/k6/bundle.ts).
 *
 * setup() registers one sender and the receivers (in parallel batches) and creates the conversations through the API:
 * one per entry of SC_GROUPS (member counts, the sender included: "2" is a 1:1 `direct` conversation), or a single
 * group of SC_GROUP_SIZE receivers. Receivers are shared between conversations (receiver i is a member of every
 * conversation with more than i receivers), as users are in real deployments: one socket per (user, conversation).
 * - `receivers` (SC_RECEIVER_VUS VUs, default 1, each a slice of the sockets): one socket per (conversation, receiver)
 *   on /v1/ws/chat with the bearer header and an allowed Origin (contract N02/N03); every delivered message frame is
 *   recorded in the Trend `sc_delivery_latency` (now − the send time carried in the content) and logged as
 *   `DELIVERY {"recipient","client_message_id","seq","sender","conversation_id"}`; sockets close after warmup + sending + drain.
 *   Every socket (the senders' too) counts in `sc_sockets_opened` once open and in `sc_sockets_closed` when it closes.
 * - sending (SC_SEND_VIA = rest | ws | both, default rest), each after SC_WARMUP:
 *   - `sender` (REST): POST /v1/messages, one message per iteration, to the conversations in turn (iteration mod
 *     their number), so each gets SC_RATE messages/s for SC_DURATION when either is set, else the profile's
 *     SC_STAGES (ramping-arrival-rate, per conversation), else 2/s for 10 s. client_message_id
 *     `${prefix}-${iteration}` (one conversation) or `${prefix}-c${k}-${iteration}`; a per-VU sequence;
 *     `sc_ack_latency` = send → 201.
 *   - `ws_sender` (WebSocket, one VU): the sender's own socket per conversation sends the contract's client `chat`
 *     frame (validated with ws-messages.ts) at the same rate and length; the ack is the frame coming back to the
 *     sender (the target persists and fans out socket messages); ids `${prefix}[-c${k}]-${n}` (`-w${n}` when both
 *     paths run), sender key `ws`; `sc_ack_latency` = send → echo. Never echoed within SC_ACK_TIMEOUT: acked false.
 *   Both log `SENT {"client_message_id","seq","sender","message_id","acked","conversation_id","via"}`.
 * setup() logs `SETUP {"conversation_id","recipients"}` per conversation. src/k6/fanout-checker.ts reads these lines.
 * Sessions come from login when one login works, else from the registration tokens: one line
 * `SC_SESSIONS {"source":"login"}` or `SC_SESSIONS {"source":"registration","reason":"POST /v1/auth/login answered 500"}`.
 * Per-client-IP limits: with SC_SOURCE_ADDRESSES client addresses (K6_LOCAL_IPS, VU n sends from address n mod count)
 * there are at least that many receiver VUs and REST sender VUs, so the upgrades and the sends spread over every address.
 * Received server frames are checked with the contract's validator (`sc_invalid_frames`, SC_VALIDATE=0 to skip).
 *
 * Environment: SC_BASE_URL (required), SC_GROUP_SIZE (10 receivers), SC_GROUPS (e.g. "2,10,50"), SC_SEND_VIA (rest),
 * SC_RATE (msgs/s per conversation), SC_DURATION, SC_STAGES, SC_WARMUP ("2s"), SC_DRAIN ("3s"), SC_ACK_TIMEOUT ("5s"),
 * SC_MESSAGE_ID_PREFIX (default SC_RUN_ID), SC_PRE_VUS (2), SC_MAX_VUS (20), SC_RECEIVER_VUS (1), SC_CONNECT_SPREAD
 * ("0s": open the sockets over this long), SC_RECONNECT_EVERY ("0s": each receiver socket closes and opens again this
 * often, the sockets in turn; deliveries sent in between are missed, so not for nothing-lost), SC_WS_URL (the receivers' socket host; default SC_BASE_URL), SC_LOG_DELIVERIES (1),
 * SC_ORIGIN (the allowed Origin every socket sends; default http://localhost:3000), SC_SOURCE_ADDRESSES (1).
 * Thresholds come from fixtures/budgets.yaml (runner, k6 --config).
 */
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { WebSocket } from 'k6/websockets';
import { setInterval, clearInterval, setTimeout, clearTimeout } from 'k6/timers';
import type { Options, Scenario } from 'k6/options';
import { num, str } from './lib/env.ts';
import { registerUsers, sessionsFor, tokenOf, type RegisteredUser } from './lib/users.ts';
import { durationSeconds } from './lib/duration.ts';
import { envStages, isSet, stagesSeconds } from './lib/stages.ts';
import { closeSocket, wsBase, wsHeaders } from './lib/ws.ts';
import { validateChatClientFrame, validateChatServerFrame } from '../fixtures/secureconnect/contract/ws-messages.ts';

const WARMUP = str('SC_WARMUP', '2s');
const DRAIN = str('SC_DRAIN', '3s');
const VIA = str('SC_SEND_VIA', 'rest');
if (VIA !== 'rest' && VIA !== 'ws' && VIA !== 'both') throw new Error(`SC_SEND_VIA=${VIA} must be rest, ws or both`);
const REST = VIA !== 'ws';
const WS = VIA !== 'rest';
const VALIDATE = str('SC_VALIDATE', '1') !== '0';
const LOG_DELIVERIES = str('SC_LOG_DELIVERIES', '1') !== '0';
/** Client addresses the runner gives this workload (K6_LOCAL_IPS; VU n sends from address n mod count). */
const SOURCES = Math.max(1, Math.floor(num('SC_SOURCE_ADDRESSES', 1)));
// At least one receiver VU per address: the sockets' upgrades (rate-limited per client IP) spread over them all.
const RECEIVER_VUS = Math.max(SOURCES, Math.floor(num('SC_RECEIVER_VUS', 1)));

/** Receivers per conversation. */
function groupSizes(): number[] {
  const raw = __ENV.SC_GROUPS;
  if (raw) {
    const sizes = raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => Number(s));
    if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`SC_GROUPS=${raw} must list member counts ≥ 2 (the sender included), e.g. "2,10,50"`);
    return sizes.map((n) => n - 1);
  }
  const n = num('SC_GROUP_SIZE', 10);
  if (!Number.isInteger(n) || n < 1) throw new Error('SC_GROUP_SIZE must be a whole number ≥ 1 (receivers)');
  return [n];
}
const GROUPS = groupSizes();

// Sending: explicit SC_RATE / SC_DURATION → constant rate (as before); else the profile's stages; else 2/s for 10 s.
const STAGES = isSet('SC_RATE') || isSet('SC_DURATION') ? null : envStages();
const RATE = num('SC_RATE', 2);
const DURATION = str('SC_DURATION', '10s');
const SEND_S = STAGES ? stagesSeconds(STAGES) : durationSeconds(DURATION);
/** How long the receivers keep their sockets open (ms). */
const LISTEN_MS = Math.round((durationSeconds(WARMUP) + SEND_S + durationSeconds(DRAIN)) * 1000);
const ACK_TIMEOUT_MS = Math.round(durationSeconds(str('SC_ACK_TIMEOUT', '5s')) * 1000);
/** Each receiver socket closes and opens again this often (0: held for the whole run); the sockets' turns are spread over it. */
const RECONNECT_MS = Math.round(durationSeconds(str('SC_RECONNECT_EVERY', '0s')) * 1000);

/** The REST sender: one message per iteration, to the conversations in turn, so the iteration rate is the per-conversation rate × their number. */
function restSender(): Scenario {
  const k = GROUPS.length;
  // Iterations go to free VUs in turn: one VU per address at least, so each address carries its share of the sends.
  const pre = Math.max(SOURCES, num('SC_PRE_VUS', 2));
  const common = { exec: 'sender', startTime: WARMUP, timeUnit: '1s', preAllocatedVUs: pre, maxVUs: Math.max(pre, num('SC_MAX_VUS', 20)), gracefulStop: '10s' };
  if (STAGES) return { ...common, executor: 'ramping-arrival-rate', startRate: num('SC_START_RATE', 1) * k, stages: STAGES.map((s) => ({ ...s, target: s.target * k })) };
  const rate = RATE * k;
  // k6 wants an integer rate: a fractional one becomes a rate per longer time unit.
  if (Number.isInteger(rate)) return { ...common, executor: 'constant-arrival-rate', rate, duration: DURATION };
  return { ...common, executor: 'constant-arrival-rate', rate: Math.max(1, Math.round(rate * 100)), timeUnit: '100s', duration: DURATION };
}

const scenarios: Record<string, Scenario> = {
  receivers: {
    executor: 'per-vu-iterations',
    exec: 'receivers',
    vus: RECEIVER_VUS,
    iterations: 1,
    maxDuration: `${Math.ceil(LISTEN_MS / 1000) + 30}s`,
    gracefulStop: '5s',
  },
};
if (REST) scenarios.sender = restSender();
if (WS) {
  scenarios.ws_sender = {
    executor: 'per-vu-iterations', exec: 'wsSender', vus: 1, iterations: 1, startTime: WARMUP,
    maxDuration: `${Math.ceil(SEND_S + ACK_TIMEOUT_MS / 1000) + 30}s`, gracefulStop: '10s',
  };
}

export const options: Options = {
  scenarios,
  setupTimeout: `${60 + Math.ceil(Math.max(...GROUPS) / 5)}s`,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** Send → ack (ms): the 201 of POST /v1/messages, or the frame coming back on the sender's socket. */
const ackLatency = new Trend('sc_ack_latency', true);
/** Send time (in the content) → frame received by a receiver (ms). */
const deliveryLatency = new Trend('sc_delivery_latency', true);
const deliveries = new Counter('sc_deliveries');
const sent = new Counter('sc_messages_acked');
/** Frames that fail the contract's validator (received server frames, or a client frame we were about to send). */
const invalidFrames = new Counter('sc_invalid_frames');
/** Sockets that could not be opened or failed. */
const socketErrors = new Counter('sc_socket_errors');
/** Sockets opened and closed (their running difference: the sockets the harness holds, what server-agrees compares). */
const socketsOpened = new Counter('sc_sockets_opened');
const socketsClosed = new Counter('sc_sockets_closed');

/** Counts a socket in sc_sockets_opened once open, and in sc_sockets_closed when that one closes. */
function counted(sock: WebSocket, onClose?: () => void): WebSocket {
  let opened = false;
  sock.addEventListener('open', () => { opened = true; socketsOpened.add(1); });
  sock.addEventListener('close', () => {
    if (opened) socketsClosed.add(1);
    onClose?.();
  });
  return sock;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** An account with its credentials: a VU logs it in again when its token nears expiry (tokenOf). */
type User = RegisteredUser;
interface Conversation { conversation_id: string; receivers: number }
interface SetupData { base: string; sender: User; receivers: User[]; conversations: Conversation[] }

export function setup(): SetupData {
  const base = __ENV.SC_BASE_URL;
  if (!base) fail('SC_BASE_URL is not set');
  const run = str('SC_RUN_ID', 'r');
  const max = Math.max(...GROUPS);
  // One registration and one SC_SESSIONS decision for the sender and the receivers alike.
  const registered = registerUsers(base, [`${run}-fs`, ...Array.from({ length: max }, (_, i) => `${run}-fr${i}`)], { display: 'Fanout' });
  const [sender, ...receivers] = sessionsFor(base, registered).users;
  const conversations: Conversation[] = GROUPS.map((n, k) => {
    const members = receivers.slice(0, n).map((r) => r.user_id);
    const c = http.post(`${base}/v1/conversations`, JSON.stringify({ title: `fanout ${run} ${k}`, type: n === 1 ? 'direct' : 'group', participant_ids: [sender!.user_id, ...members] }), {
      headers: { ...JSON_HEADERS, authorization: `Bearer ${sender!.token}` }, tags: { name: 'create_conversation' },
    });
    if (c.status !== 201) fail(`create conversation ${k}: HTTP ${c.status} ${String(c.body).slice(0, 200)}`);
    const conversation_id = (c.json() as { data: { conversation_id: string } }).data.conversation_id;
    console.log(`SETUP ${JSON.stringify({ conversation_id, recipients: members })}`);
    return { conversation_id, receivers: n };
  });
  return { base, sender: sender!, receivers, conversations };
}

interface Frame { type?: string; message_id?: string; content?: string; client_message_id?: string; sequence?: number; sender_id?: string }
interface Payload { id?: string; seq?: number; sender?: string; sentAt?: number }

function parseFrame(text: string): Frame | null {
  let f: unknown;
  try { f = JSON.parse(text); } catch { invalidFrames.add(1, { frame: 'not-json' }); return null; }
  if (VALIDATE && !validateChatServerFrame(f).ok) invalidFrames.add(1, { frame: 'chat-server' });
  return typeof f === 'object' && f !== null ? (f as Frame) : null;
}

function isMessage(f: Frame): boolean {
  return f.type !== 'user_joined' && f.type !== 'user_left' && f.type !== 'typing' && f.type !== 'read' && typeof f.content === 'string';
}

export function receivers(data: SetupData): void {
  // SC_WS_URL: where the receivers' sockets go (default the gateway, SC_BASE_URL; e.g. chat-service itself).
  const ws = wsBase(str('SC_WS_URL', data.base).replace(/\/+$/, ''));
  const me = exec.scenario.iterationInTest % RECEIVER_VUS;
  const spreadMs = durationSeconds(str('SC_CONNECT_SPREAD', '0s')) * 1000;
  const mine: { conv: Conversation; r: User }[] = [];
  let slot = 0;
  for (const conv of data.conversations) {
    for (const r of data.receivers.slice(0, conv.receivers)) {
      if (slot++ % RECEIVER_VUS === me) mine.push({ conv, r });
    }
  }
  const live = new Set<WebSocket>();
  const reconnects = new Set<ReturnType<typeof setTimeout>>();
  let ending = false;
  const open = (conv: Conversation, r: User, reconnectInMs = RECONNECT_MS) => {
    const sock = counted(new WebSocket(`${ws}/v1/ws/chat?conversation_id=${conv.conversation_id}`, null, { headers: wsHeaders(tokenOf(data.base, r)) }), () => live.delete(sock));
    live.add(sock);
    if (RECONNECT_MS > 0) {
      // A client that reconnects: this socket closes and a new one opens (messages sent in between are missed).
      const t = setTimeout(() => {
        reconnects.delete(t);
        if (ending) return;
        closeSocket(sock);
        open(conv, r);
      }, reconnectInMs);
      reconnects.add(t);
    }
    sock.onmessage = (e) => {
      const now = Date.now();
      const text = String(e?.data);
      // Presence frames (user_joined / user_left: n² per group) carry no content: skip them unparsed unless validating.
      if (!VALIDATE && !text.includes('"content"')) return;
      const f = parseFrame(text);
      if (!f || !isMessage(f)) return;
      let p: Payload = {};
      try { p = JSON.parse(f.content!) as Payload; } catch { /* not ours */ }
      if (typeof p.sentAt === 'number') deliveryLatency.add(now - p.sentAt);
      deliveries.add(1);
      if (!LOG_DELIVERIES) return;
      const seq = typeof f.sequence === 'number' ? f.sequence : p.seq;
      console.log(`DELIVERY ${JSON.stringify({ recipient: r.user_id, client_message_id: f.client_message_id ?? p.id ?? f.message_id, seq, sender: p.sender ?? f.sender_id, conversation_id: conv.conversation_id })}`);
    };
    sock.onerror = (e) => {
      socketErrors.add(1);
      console.warn(`socket error for ${r.user_id}: ${String((e as { error?: string }).error ?? '')}`);
    };
  };
  // The first reconnects spread over one period, so the sockets take turns.
  const firstReconnect = (i: number) => Math.round((RECONNECT_MS * (i + 1)) / Math.max(1, mine.length));
  if (spreadMs <= 0) mine.forEach((x, i) => open(x.conv, x.r, firstReconnect(i)));
  else mine.forEach((x, i) => setTimeout(() => open(x.conv, x.r, firstReconnect(i)), (i * spreadMs) / Math.max(1, mine.length)));
  setTimeout(() => {
    ending = true;
    for (const t of reconnects) clearTimeout(t);
    for (const s of [...live]) closeSocket(s);
  }, LISTEN_MS);
}

/** Message id: `${prefix}-${n}` for one conversation, `${prefix}-c${k}-${n}`; `w` before n for socket sends when both paths run. */
function messageId(k: number, n: number, viaWs: boolean): string {
  const prefix = str('SC_MESSAGE_ID_PREFIX', str('SC_RUN_ID', 'r'));
  const conv = GROUPS.length > 1 ? `-c${k}` : '';
  return `${prefix}${conv}-${viaWs && VIA === 'both' ? 'w' : ''}${n}`;
}

/** `sent_at`: when the send started (its phase); `outcome`: acked, refused (an answer), hung (none within the timeout); `status`: a REST send's HTTP status. */
function logSent(o: { client_message_id: string; seq: number; sender: string; message_id: string | null; acked: boolean; conversation_id: string; via: 'rest' | 'ws'; sent_at: number; outcome: 'acked' | 'refused' | 'hung'; status?: number }): void {
  console.log(`SENT ${JSON.stringify(o)}`);
}

export function sender(data: SetupData): void {
  const n = exec.scenario.iterationInTest;
  const k = n % data.conversations.length;
  const c = data.conversations[k]!;
  const senderKey = `vu${exec.vu.idInTest}`;
  const seq = exec.vu.iterationInScenario;
  const id = messageId(k, n, false);
  const sentAt = Date.now();
  const content = JSON.stringify({ id, seq, sender: senderKey, sentAt });
  const r = http.post(`${data.base}/v1/messages`, JSON.stringify({ conversation_id: c.conversation_id, content, message_type: 'text', client_message_id: id, sequence: seq }), {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${tokenOf(data.base, data.sender)}` }, tags: { name: 'send', via: 'rest' },
  });
  ackLatency.add(r.timings.duration, { via: 'rest' });
  let messageId_: string | undefined;
  try { messageId_ = (r.json() as { data?: { message_id?: string } }).data?.message_id; } catch { /* not JSON */ }
  const acked = check(r, { 'send: 201 with message_id': (x) => x.status === 201 && typeof messageId_ === 'string' });
  if (acked) sent.add(1, { via: 'rest' });
  const outcome = acked ? 'acked' : r.status === 0 && r.error_code === 1050 ? 'hung' : 'refused';
  logSent({ client_message_id: id, seq, sender: senderKey, message_id: messageId_ ?? null, acked, conversation_id: c.conversation_id, via: 'rest', sent_at: sentAt, outcome, status: r.status });
}

interface Pending { id: string; seq: number; sentAt: number; conversation_id: string }

/** The socket send path: the sender's socket per conversation, SC_RATE frames/s each; acked by the echo. */
export function wsSender(data: SetupData): void {
  const base = wsBase(data.base);
  const pending = new Map<string, Pending>();
  const sockets: WebSocket[] = [];
  const intervalMs = 1000 / Math.max(RATE, 0.001);
  const plan = STAGES;
  let opened = 0;
  let n = 0;
  const started = Date.now();
  const endAt = started + SEND_S * 1000;

  const settle = (id: string, acked: boolean, messageId: string | null) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (acked) {
      ackLatency.add(Date.now() - p.sentAt, { via: 'ws' });
      sent.add(1, { via: 'ws' });
    }
    check(null, { 'send (ws): echoed to the sender': () => acked });
    // A frame never echoed got no answer at all: for the socket path that is a hung send.
    logSent({ client_message_id: id, seq: p.seq, sender: 'ws', message_id: messageId, acked, conversation_id: p.conversation_id, via: 'ws', sent_at: p.sentAt, outcome: acked ? 'acked' : 'hung' });
  };

  data.conversations.forEach((c) => {
    const sock = counted(new WebSocket(`${base}/v1/ws/chat?conversation_id=${c.conversation_id}`, null, { headers: wsHeaders(tokenOf(data.base, data.sender)) }));
    sock.addEventListener('open', () => { opened++; });
    sock.onmessage = (e) => {
      const f = parseFrame(String(e?.data));
      if (!f || !isMessage(f) || typeof f.client_message_id !== 'string') return;
      settle(f.client_message_id, true, typeof f.message_id === 'string' ? f.message_id : null);
    };
    sock.onerror = (e) => {
      socketErrors.add(1);
      console.warn(`sender socket error: ${String((e as { error?: string }).error ?? '')}`);
    };
    sockets.push(sock);
  });

  /** Current rate (frames/s per conversation): constant, or the stage plan interpolated like ramping-arrival-rate. */
  const rateAt = (t: number): number => {
    if (!plan) return RATE;
    let from = num('SC_START_RATE', 1);
    let at = 0;
    for (const s of plan) {
      const d = durationSeconds(s.duration);
      if (t < at + d) return from + ((s.target - from) * (t - at)) / Math.max(d, 0.001);
      at += d;
      from = s.target;
    }
    return from;
  };

  let credit = 0;
  let last = Date.now();
  const tickMs = plan ? 50 : intervalMs;
  const timer = setInterval(() => {
    const now = Date.now();
    if (now >= endAt) {
      clearInterval(timer);
      setTimeout(() => {
        for (const id of [...pending.keys()]) settle(id, false, null);
        for (const s of sockets) closeSocket(s);
      }, ACK_TIMEOUT_MS);
      return;
    }
    if (opened < sockets.length) { last = now; return; }
    credit += plan ? (rateAt((now - started) / 1000) * (now - last)) / 1000 : 1;
    last = now;
    while (credit >= 1) {
      credit -= 1;
      const seq = n++;
      data.conversations.forEach((c, k) => {
        const id = messageId(k, seq, true);
        const frame = { type: 'chat', content: JSON.stringify({ id, seq, sender: 'ws', sentAt: Date.now() }), message_type: 'text', client_message_id: id, sequence: seq };
        if (VALIDATE && !validateChatClientFrame(frame).ok) invalidFrames.add(1, { frame: 'chat-client' });
        pending.set(id, { id, seq, sentAt: Date.now(), conversation_id: c.conversation_id });
        sockets[k]!.send(JSON.stringify(frame));
      });
    }
  }, tickMs);
}
