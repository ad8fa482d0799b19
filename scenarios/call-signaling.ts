/**
 * Call signaling workload (k6, bundled by src/k6/bundle.ts). Each iteration is one call:
 *
 * 1. `initiate`: the caller POSTs /v1/calls/initiate through the gateway (`call_type`, `conversation_id`,
 *    `callee_ids`; the answer's id is `CallID`, contract N13).
 * 2. `join`: every callee POSTs /v1/calls/{id}/join on video-service directly (not routed by the gateway, N11).
 * 3. Every participant opens the signaling socket on video-service (`/v1/calls/ws/signaling?call_id=…`, never
 *    through the gateway: N01) with the bearer header and an allowed Origin (N02/N03); `sc_signal_join_latency`
 *    = upgrade request → open.
 * 4. Mesh: for every pair (i < j), i sends j an `offer` and SC_ICE_CANDIDATES `ice_candidate`s, j answers with an
 *    `answer` and as many candidates (all targeted with `target_id`). Each frame carries its own id (an SDP
 *    attribute line, the candidate's foundation); `sc_signal_relay_latency` = send → the addressee receives it;
 *    a frame received by anyone else, or with the wrong sender, is misrouted; one never received by the
 *    deadline (SC_SIGNAL_TIMEOUT) is lost. Frames are checked with the contract's validators
 *    (fixtures/secureconnect/contract/ws-messages.ts, bundled): what we send and what we get.
 * 5. SFU (SC_SFU=1, the reference target's extension): each participant asks for the router's RTP capabilities,
 *    then creates a send and a recv transport and must get their parameters (`sc_sfu_request_latency`, tag method).
 * 6. The sockets close and the caller POSTs /v1/calls/{id}/end (`end`).
 *
 * Users come from a pool registered in setup() (SC_USER_POOL, default 4 × SC_PARTICIPANTS) and one group
 * conversation holding them all; an iteration takes SC_PARTICIPANTS consecutive users of the pool.
 * Schedule: constant-arrival-rate SC_RATE calls/s for SC_DURATION when either is set, else the profile's
 * SC_STAGES (ramping-arrival-rate), else 1 call/s for 5 s.
 *
 * Environment: SC_BASE_URL (gateway, required), SC_VIDEO_URL (video-service, required), SC_PARTICIPANTS (3),
 * SC_ICE_CANDIDATES (2), SC_SFU (0), SC_SIGNAL_TIMEOUT ("5s"), SC_USER_POOL, SC_CALL_TYPE ("video"),
 * SC_RATE, SC_DURATION, SC_STAGES, SC_START_RATE, SC_PRE_VUS (5, at least SC_SOURCE_ADDRESSES), SC_MAX_VUS (50),
 * SC_GRACEFUL_STOP ("30s"), SC_ORIGIN (the allowed Origin of every socket; default http://localhost:3000).
 * Thresholds come from fixtures/budgets.yaml (runner, k6 --config).
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { WebSocket } from 'k6/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import type { Options, Scenario } from 'k6/options';
import { num, str } from './lib/env.ts';
import { registerUsers, tokenOf, type RegisteredUser } from './lib/users.ts';
import { durationSeconds } from './lib/duration.ts';
import { envStages, isSet } from './lib/stages.ts';
import { closeSocket, wsBase, wsHeaders } from './lib/ws.ts';
import {
  SIGNALING_WS, SfuMethod, validateSfuRequest, validateSfuServerFrame, validateSignalingClientFrame, validateSignalingServerFrame,
  type SfuMethodName,
} from '../fixtures/secureconnect/contract/ws-messages.ts';

export const STEPS = ['initiate', 'join', 'end'] as const;
type Step = (typeof STEPS)[number];

const N = Math.floor(num('SC_PARTICIPANTS', 3));
if (N < 2) throw new Error('SC_PARTICIPANTS must be at least 2');
const CANDIDATES = Math.floor(num('SC_ICE_CANDIDATES', 2));
const SFU = str('SC_SFU', '0') === '1';
const SIGNAL_TIMEOUT_MS = Math.round(durationSeconds(str('SC_SIGNAL_TIMEOUT', '5s')) * 1000);
const POOL = Math.max(N, Math.floor(num('SC_USER_POOL', N * 4)));

function schedule(): Scenario {
  // At least one VU per client address (SC_SOURCE_ADDRESSES; iterations go to free VUs in turn).
  const pre = Math.max(num('SC_SOURCE_ADDRESSES', 1), num('SC_PRE_VUS', 5));
  const common = { exec: 'call', preAllocatedVUs: pre, maxVUs: Math.max(pre, num('SC_MAX_VUS', 50)), gracefulStop: str('SC_GRACEFUL_STOP', '30s'), timeUnit: '1s' };
  const stages = isSet('SC_RATE') || isSet('SC_DURATION') ? null : envStages();
  if (stages) return { ...common, executor: 'ramping-arrival-rate', startRate: num('SC_START_RATE', 1), stages };
  return { ...common, executor: 'constant-arrival-rate', rate: num('SC_RATE', 1), duration: str('SC_DURATION', '5s') };
}

export const options: Options = {
  scenarios: { calls: schedule() },
  setupTimeout: `${60 + Math.ceil(POOL / 5)}s`,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** REST step durations (ms), tagged `step`. */
const stepDuration = new Trend('sc_step_duration', true);
/** Upgrade request → socket open (ms). */
const joinLatency = new Trend('sc_signal_join_latency', true);
/** A relayed frame: sent → received by its addressee (ms), tagged `type`. */
const relayLatency = new Trend('sc_signal_relay_latency', true);
/** SFU request → its sfu-response (ms), tagged `method`. */
const sfuLatency = new Trend('sc_sfu_request_latency', true);
const framesSent = new Counter('sc_signal_frames_sent');
const framesReceived = new Counter('sc_signal_frames_received');
/** Relayed frames their addressee never got (always added, 0 included, so it is in every summary). */
const framesLost = new Counter('sc_signal_frames_lost');
/** Frames delivered to the wrong participant, with the wrong sender, or twice. */
const misrouted = new Counter('sc_signal_frames_misrouted');
/** Frames failing the contract's validators (sent or received). */
const invalidFrames = new Counter('sc_invalid_frames');
/** Per relayed frame: 1 received by its addressee, 0 lost. */
const delivered = new Rate('sc_signal_delivered');
/** SFU requests answered with ok: false, or never answered. */
const sfuFailures = new Counter('sc_sfu_failures');
const socketErrors = new Counter('sc_socket_errors');
/** Calls whose every step, frame and SFU request succeeded. */
const callsCompleted = new Rate('sc_calls_completed');

const JSON_HEADERS = { 'content-type': 'application/json' };

/** An account with its credentials: its token is renewed by tokenOf before it expires. */
type User = RegisteredUser;
interface SetupData { base: string; video: string; conversation_id: string; users: User[] }

export function setup(): SetupData {
  const base = (__ENV.SC_BASE_URL ?? '').replace(/\/+$/, '');
  const video = (__ENV.SC_VIDEO_URL ?? '').replace(/\/+$/, '');
  if (!base) fail('SC_BASE_URL is not set');
  if (!video) fail('SC_VIDEO_URL is not set (video-service itself: the signaling socket is not reachable through the gateway, contract N01)');
  const run = str('SC_RUN_ID', 'r');
  const users = registerUsers(base, Array.from({ length: POOL }, (_, i) => `${run}-cs${i}`), { display: 'Caller' });
  const c = http.post(`${base}/v1/conversations`, JSON.stringify({ title: `calls ${run}`, type: 'group', participant_ids: users.map((u) => u.user_id) }), {
    headers: { ...JSON_HEADERS, authorization: `Bearer ${users[0]!.token}` }, tags: { name: 'create_conversation' },
  });
  if (c.status !== 201) fail(`create conversation: HTTP ${c.status} ${String(c.body).slice(0, 200)}`);
  return { base, video, conversation_id: (c.json() as { data: { conversation_id: string } }).data.conversation_id, users };
}

function params(step: Step, token: string) {
  return { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, tags: { step, name: step } };
}

function record(step: Step, r: RefinedResponse<ResponseType | undefined>): void {
  stepDuration.add(r.timings.duration, { step });
}

interface Expected { from: number; to: number; type: string; sentAt: number; got: number }
interface Peer { i: number; user: User; ws: WebSocket | null; transports: number; rtpCaps: boolean }
interface SfuPending { method: SfuMethodName; sentAt: number; peer: number; onOk: (data: Record<string, unknown>) => void }
interface SignalFrame { type?: string; sender_id?: string; target_id?: string; sdp?: string; candidate?: { candidate?: string }; request_id?: string | null; ok?: boolean; data?: Record<string, unknown>; error?: { code?: string } }

const sdpOf = (fid: string, kind: 'offer' | 'answer') =>
  `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=sc-frame:${fid}\r\na=setup:${kind === 'offer' ? 'actpass' : 'active'}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n`;

function frameIdOf(f: SignalFrame): string | null {
  if (typeof f.sdp === 'string') return /a=sc-frame:(\S+)/.exec(f.sdp)?.[1] ?? null;
  const c = f.candidate?.candidate;
  return typeof c === 'string' ? (/^candidate:(\S+) /.exec(c)?.[1] ?? null) : null;
}

export function call(data: SetupData): void {
  const iter = exec.scenario.iterationInTest;
  const start = (iter * N) % data.users.length;
  const users = Array.from({ length: N }, (_, k) => data.users[(start + k) % data.users.length]!);
  const caller = users[0]!;

  const ini = http.post(`${data.base}/v1/calls/initiate`, JSON.stringify({ call_type: str('SC_CALL_TYPE', 'video'), conversation_id: data.conversation_id, callee_ids: users.slice(1).map((u) => u.user_id) }), params('initiate', tokenOf(data.base, caller)));
  record('initiate', ini);
  let callId: string | undefined;
  try { callId = (ini.json() as { data?: { CallID?: string } }).data?.CallID; } catch { /* not JSON */ }
  if (!check(ini, { 'initiate: 201 with CallID': (r) => r.status === 201 && typeof callId === 'string' }, { step: 'initiate' }) || !callId) {
    callsCompleted.add(0);
    return;
  }
  const id = callId;
  const joins = http.batch(users.slice(1).map((u) => ({ method: 'POST', url: `${data.video}/v1/calls/${id}/join`, body: '{}', params: params('join', tokenOf(data.base, u)) })));
  let ok = true;
  for (const r of joins) {
    record('join', r);
    ok = check(r, { 'join: 200': (x) => x.status === 200 }, { step: 'join' }) && ok;
  }

  const peers: Peer[] = users.map((user, i) => ({ i, user, ws: null, transports: 0, rtpCaps: false }));
  const expected = new Map<string, Expected>();
  const sfuPending = new Map<string, SfuPending>();
  const pairFrames = 2 + 2 * CANDIDATES;
  const totalFrames = ((N * (N - 1)) / 2) * pairFrames;
  let nextId = 0;
  let received = 0;
  let opened = 0;
  let sfuDone = 0;
  let finished = false;
  let bad = 0;

  const send = (p: Peer, frame: Record<string, unknown>) => {
    const isSfu = typeof frame.type === 'string' && frame.type.startsWith('sfu-');
    if (!(isSfu ? validateSfuRequest(frame).ok : validateSignalingClientFrame(frame).ok)) invalidFrames.add(1, { frame: isSfu ? 'sfu-request' : 'signaling-client' });
    p.ws!.send(JSON.stringify(frame));
  };
  const relay = (from: Peer, to: Peer, type: 'offer' | 'answer' | 'ice_candidate') => {
    const fid = `${iter}.${nextId++}`;
    expected.set(fid, { from: from.i, to: to.i, type, sentAt: Date.now(), got: 0 });
    framesSent.add(1, { type });
    if (type === 'ice_candidate') {
      send(from, { type, target_id: to.user.user_id, candidate: { candidate: `candidate:${fid} 1 udp 2122260223 192.0.2.${1 + from.i} ${50000 + nextId} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });
    } else {
      send(from, { type, target_id: to.user.user_id, sdp: sdpOf(fid, type) });
    }
  };
  const sendCandidates = (from: Peer, to: Peer) => { for (let c = 0; c < CANDIDATES; c++) relay(from, to, 'ice_candidate'); };

  const sfuRequest = (p: Peer, method: SfuMethodName, body: Record<string, unknown>, onOk: (d: Record<string, unknown>) => void) => {
    const rid = `${method}-${p.i}-${nextId++}`;
    sfuPending.set(rid, { method, sentAt: Date.now(), peer: p.i, onOk });
    send(p, { type: method, request_id: rid, data: body });
  };
  const sfuStart = () => {
    for (const p of peers) {
      sfuRequest(p, SfuMethod.GetRouterRtpCapabilities, {}, () => {
        p.rtpCaps = true;
        for (const direction of ['send', 'recv']) {
          sfuRequest(p, SfuMethod.CreateTransport, { direction }, (d) => {
            const params = typeof d.id === 'string' && typeof d.iceParameters === 'object' && Array.isArray(d.iceCandidates) && typeof d.dtlsParameters === 'object';
            if (!params) bad++;
            p.transports++;
            if (p.transports === 2 && ++sfuDone === N) finish();
          });
        }
      });
    }
  };

  const deadline = setTimeout(() => finish(), SIGNAL_TIMEOUT_MS + (SFU ? SIGNAL_TIMEOUT_MS : 0));

  const meshDone = () => {
    if (SFU) sfuStart();
    else finish();
  };

  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    let lost = 0;
    for (const e of expected.values()) if (e.got === 0) { lost++; delivered.add(0, { type: e.type }); }
    lost += totalFrames - expected.size; // frames never sent (a socket did not open)
    framesLost.add(lost);
    const meshOk = check(null, {
      'mesh: every participant joined the signaling socket': () => opened === N,
      'mesh: every relayed frame reached its addressee': () => lost === 0 && received === totalFrames,
    });
    let sfuOk = true;
    if (SFU) {
      for (const s of sfuPending.values()) sfuFailures.add(1, { method: s.method });
      sfuOk = check(null, {
        'sfu: router rtp capabilities received': () => peers.every((p) => p.rtpCaps),
        'sfu: transport parameters received': () => sfuDone === N && bad === 0,
      });
    }
    // Sockets still connecting too (one opening late would hold the iteration open).
    for (const p of peers) if (p.ws) closeSocket(p.ws);
    const end = http.post(`${data.base}/v1/calls/${id}/end`, '{}', params('end', tokenOf(data.base, caller)));
    record('end', end);
    const ended = check(end, { 'end: 200': (r) => r.status === 200 }, { step: 'end' });
    callsCompleted.add(ok && meshOk && sfuOk && ended ? 1 : 0);
  }

  const onFrame = (p: Peer, text: string) => {
    const now = Date.now();
    let f: SignalFrame;
    try { f = JSON.parse(text) as SignalFrame; } catch { invalidFrames.add(1, { frame: 'not-json' }); return; }
    if (typeof f.type === 'string' && f.type.startsWith('sfu-')) {
      if (!validateSfuServerFrame(f).ok) invalidFrames.add(1, { frame: 'sfu-server' });
      if (f.type !== 'sfu-response' || typeof f.request_id !== 'string') return;
      const s = sfuPending.get(f.request_id);
      if (!s) return;
      sfuPending.delete(f.request_id);
      sfuLatency.add(now - s.sentAt, { method: s.method });
      if (f.ok === true && f.data) s.onOk(f.data);
      else {
        sfuFailures.add(1, { method: s.method });
        console.warn(`sfu ${s.method} failed: ${JSON.stringify(f.error ?? null)}`);
      }
      return;
    }
    if (!validateSignalingServerFrame(f).ok) invalidFrames.add(1, { frame: 'signaling-server' });
    if (f.type !== 'offer' && f.type !== 'answer' && f.type !== 'ice_candidate') return;
    const fid = frameIdOf(f);
    const e = fid ? expected.get(fid) : undefined;
    if (!e || e.to !== p.i || f.sender_id !== users[e.from]!.user_id || f.target_id !== p.user.user_id || e.got > 0) {
      misrouted.add(1, { type: f.type });
      if (e && e.to === p.i) e.got++;
      return;
    }
    e.got++;
    received++;
    framesReceived.add(1, { type: e.type });
    relayLatency.add(now - e.sentAt, { type: e.type });
    delivered.add(1, { type: e.type });
    if (e.type === 'offer') {
      const from = peers[e.from]!;
      relay(p, from, 'answer');
      sendCandidates(p, from);
    }
    if (received === totalFrames) meshDone();
  };

  const meshStart = () => {
    for (let i = 0; i < N; i++) {
      for (let j = i + 1; j < N; j++) {
        relay(peers[i]!, peers[j]!, 'offer');
        sendCandidates(peers[i]!, peers[j]!);
      }
    }
  };

  const ws = wsBase(data.video);
  for (const p of peers) {
    const t0 = Date.now();
    const sock = new WebSocket(`${ws}${SIGNALING_WS.upstreamPath}?call_id=${id}`, null, { headers: wsHeaders(tokenOf(data.base, p.user)) });
    p.ws = sock;
    sock.onopen = () => {
      joinLatency.add(Date.now() - t0);
      if (++opened === N) meshStart();
    };
    sock.onmessage = (e) => onFrame(p, String(e?.data));
    sock.onerror = (e) => {
      socketErrors.add(1);
      console.warn(`signaling socket error (participant ${p.i}): ${String((e as { error?: string }).error ?? '')}`);
    };
  }
}
