/**
 * One SFU call of synthetic participants held steady for a while, measured: the consumers the SFU carried, what
 * the receivers saw (loss, jitter, forwarding delay, from RTP headers), the load generator's own CPU (this
 * process) and, given a reader, the SFU worker's CPU. The building block of a benchmark step.
 */
import { randomUUID } from 'node:crypto';
import type { CallApi, CallUser } from '../media/call-api.js';
import type { Recording } from '../media/rtp-recording.js';
import type { RtpReplaySender } from '../media/rtp-replay-sender.js';
import { quantile } from '../media/rtp-stream-stats.js';
import { SyntheticParticipant } from '../media/synthetic-participant.js';

export interface SyntheticCallOptions {
  api: CallApi;
  origin: string;
  recording: Recording;
  /** Each participant: sends the recording, receives every other's video, or both. */
  participants: { send: boolean; receive: boolean }[];
  /** Users to join as (registered beforehand: registration is not what is measured); one per participant. */
  users: CallUser[];
  /** Settling time after every consumer is resumed, then the measured window. */
  warmupS: number;
  seconds: number;
  /** CPU seconds of the SFU worker under test so far (null: not measured). */
  workerCpuSeconds?: () => number | null;
  log?: (line: string) => void;
}

export interface SyntheticCallResult {
  consumers: number;
  /** Consumers that received nothing in the window. */
  silentConsumers: number;
  packets: number;
  expected: number;
  lost: number;
  loss: number | null;
  jitterP95Ms: number | null;
  delayP50Ms: number | null;
  delayP95Ms: number | null;
  delaySamples: number;
  /** This process's CPU over the window, as a share of one core. */
  generatorCpu: number;
  workerCpu: number | null;
  /** Packets of SSRCs no receiver's consumer announced (per receiver, summed). */
  unannouncedPackets: number;
  /** Per unannounced SSRC packets / per consumed stream packets (0 when none). */
  unannouncedRatio: number;
  /** Keyframe requests (PLI / FIR) the senders got from the SFU over the whole call. */
  keyframeRequests: number;
  errors: string[];
}

const JOINED_TIMEOUT_MS = 20_000;

export async function runSyntheticCall(o: SyntheticCallOptions): Promise<SyntheticCallResult> {
  if (o.users.length < o.participants.length) throw new Error(`${o.participants.length} participants need as many users (got ${o.users.length})`);
  const callId = randomUUID();
  const senders = new Map<string, RtpReplaySender>();
  const ps = o.participants.map((p, i) => new SyntheticParticipant({
    label: `s${i}`, userId: o.users[i]!.userId, token: o.users[i]!.token, signalingUrl: o.api.signalingUrl(callId), origin: o.origin,
    receive: p.receive, senders, ...(p.send ? { send: o.recording } : {}), ...(o.log ? { log: o.log } : {}),
  }));
  try {
    // Receivers first, then senders (each sender's producer announced to every receiver already there).
    for (const p of ps.filter((_, i) => !o.participants[i]!.send)) await p.join();
    for (const p of ps.filter((_, i) => o.participants[i]!.send)) await p.join();
    const sendersN = o.participants.filter((p) => p.send).length;
    const want = o.participants.reduce((n, p) => n + (p.receive ? sendersN - (p.send ? 1 : 0) : 0), 0);
    const deadline = Date.now() + JOINED_TIMEOUT_MS;
    while (ps.reduce((n, p) => n + p.streams.size, 0) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const consumers = ps.reduce((n, p) => n + p.streams.size, 0);
    if (consumers < want) o.log?.(`only ${consumers} of ${want} consumers after ${JOINED_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, o.warmupS * 1000));
    for (const p of ps) {
      p.take();
      p.unannounced.clear();
    }
    const cpu0 = process.cpuUsage();
    const w0 = o.workerCpuSeconds?.() ?? null;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const w1 = o.workerCpuSeconds?.() ?? null;
    const windows = ps.flatMap((p) => p.take().map((x) => x.window));
    const packets = windows.reduce((n, w) => n + w.received, 0);
    const expected = windows.reduce((n, w) => n + w.expected, 0);
    const lost = windows.reduce((n, w) => n + w.lost, 0);
    const delays = windows.flatMap((w) => w.delaysMs);
    const unannouncedPackets = ps.reduce((n, p) => n + [...p.unannounced.values()].reduce((a, b) => a + b, 0), 0);
    return {
      consumers: windows.length,
      silentConsumers: windows.filter((w) => w.received === 0).length,
      packets, expected, lost,
      loss: expected > 0 ? lost / expected : null,
      jitterP95Ms: quantile(windows.map((w) => w.jitterMs), 0.95),
      delayP50Ms: quantile(delays, 0.5),
      delayP95Ms: quantile(delays, 0.95),
      delaySamples: delays.length,
      generatorCpu: (cpu.user + cpu.system) / 1e6 / wallS,
      workerCpu: w0 !== null && w1 !== null ? (w1 - w0) / wallS : null,
      unannouncedPackets,
      unannouncedRatio: packets > 0 ? unannouncedPackets / packets : 0,
      keyframeRequests: ps.reduce((n, p) => n + (p.sender?.keyframeRequests ?? 0), 0),
      errors: ps.flatMap((p) => [...p.errors, ...p.signaling.problems]),
    };
  } finally {
    for (const p of ps) p.close();
  }
}
