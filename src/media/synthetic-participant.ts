/**
 * A synthetic participant of an SFU call: the same SFU extension on the same signaling socket as a browser
 * participant (router capabilities, a send and a receive transport, a producer, a consumer for every video
 * producer announced before or after it joined, each resumed once wired up), with real ICE / DTLS / SRTP
 * transports (synthetic-transport.ts) but no browser: a sender replays a recorded camera stream
 * (rtp-replay-sender.ts), a receiver reads only the RTP headers of what it gets (rtp-stream-stats.ts). Packets of
 * an SSRC no consumer of its own announced (mediasoup's bandwidth probe aside) are counted apart: the SFU sending
 * what nobody asked for.
 */
import { randomInt } from 'node:crypto';
import type { types as ms } from 'mediasoup-client';
import { SfuSignaling, type SfuProducerNotice } from './sfu-signaling.js';
import { SyntheticTransport } from './synthetic-transport.js';
import { RtpReplaySender } from './rtp-replay-sender.js';
import { RtpStreamStats, type RtpWindow } from './rtp-stream-stats.js';
import type { Recording } from './rtp-recording.js';

/** mediasoup's bandwidth probation stream (RTP_PROBATOR_SSRC): sent on every transport, consumer of none. */
const PROBATOR_SSRC = 1234;
const VP8_PAYLOAD_TYPE = 96;
const JOIN_TIMEOUT_MS = 15_000;

export interface SyntheticParticipantOptions {
  label: string;
  userId: string;
  token: string;
  signalingUrl: string;
  origin: string;
  /** Replay this recording as the participant's camera. */
  send?: Recording;
  /** Consume every video producer of the others. */
  receive: boolean;
  /** Every synthetic sender of this process by producer id: where receivers find a frame's send time. */
  senders: Map<string, RtpReplaySender>;
  /** A recorder: each consumed packet decrypted, with its arrival time (the one place SRTP is undone on receipt). */
  record?: (packet: Buffer, arrivalMs: number) => void;
  log?: (line: string) => void;
}

/** SRTP's authentication tag (AES_CM_128_HMAC_SHA1_80), after the payload. */
const SRTP_TAG = 10;

/** An SRTP packet's payload length: the header (CSRCs, extension) and the tag off, padding too. */
function rtpPayloadLength(buf: Buffer): number {
  let header = 12 + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10 && buf.length >= header + 4) header += 4 + buf.readUInt16BE(header + 2) * 4;
  const end = buf.length - SRTP_TAG;
  const padding = buf[0]! & 0x20 ? buf[end - 1]! : 0;
  return Math.max(0, end - header - padding);
}

export interface ConsumedStream {
  consumerId: string;
  producerId: string;
  ssrc: number;
  rtxSsrc: number | null;
  stats: RtpStreamStats;
}

export class SyntheticParticipant {
  readonly signaling: SfuSignaling;
  private caps: ms.RtpCapabilities | null = null;
  private recv: SyntheticTransport | null = null;
  private sendTransport: SyntheticTransport | null = null;
  sender: RtpReplaySender | null = null;
  /** Consumed video streams by their SSRC. */
  readonly streams = new Map<number, ConsumedStream>();
  /** Packets of SSRCs no consumer of this participant announced, by SSRC. */
  readonly unannounced = new Map<number, number>();
  readonly errors: string[] = [];
  /** RTP payload bytes of the consumed streams (header and SRTP tag off: what a browser's getStats counts). */
  payloadBytes = 0;
  private pending: SfuProducerNotice[] = [];
  private consuming: Promise<void> = Promise.resolve();
  private closed = false;
  /** This participant's producer (a sender's), the key of its entry in the shared `senders` map. */
  private producerId: string | null = null;

  constructor(private readonly o: SyntheticParticipantOptions) {
    this.signaling = new SfuSignaling(o.label, (n) => this.onNotice(n));
  }

  private error(e: unknown): void {
    const m = e instanceof Error ? e.message : String(e);
    if (this.errors.length < 20) this.errors.push(m);
    this.o.log?.(`[${this.o.label}] ${m}`);
  }

  async join(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${this.o.label}: join took over ${JOIN_TIMEOUT_MS} ms`)), JOIN_TIMEOUT_MS); });
    try {
      await Promise.race([this.joinSteps(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async joinSteps(): Promise<void> {
    await this.signaling.open(this.o.signalingUrl, this.o.token, this.o.origin);
    this.caps = (await this.signaling.request('sfu-get-router-rtp-capabilities', {})).rtpCapabilities;
    if (this.o.receive) {
      this.recv = await this.transport('recv');
      this.recv.onRtp = (buf, at) => this.onRtp(buf, at);
      const announced = this.pending;
      this.pending = [];
      for (const n of announced) this.onNotice(n);
    }
    if (this.o.send) await this.produce(this.o.send);
  }

  private async transport(direction: 'send' | 'recv'): Promise<SyntheticTransport> {
    const info = await this.signaling.request('sfu-create-transport', { direction });
    const t = new SyntheticTransport(info, { readRtcp: direction === 'send' });
    await this.signaling.request('sfu-connect-transport', { transportId: info.id, dtlsParameters: await t.dtlsParameters() });
    await t.connect();
    return t;
  }

  private async produce(recording: Recording): Promise<void> {
    const t = await this.transport('send');
    this.sendTransport = t;
    const ssrc = randomInt(0x10000, 0x7fffffff);
    const { producerId } = await this.signaling.request('sfu-produce', {
      transportId: t.info.id,
      kind: 'video',
      rtpParameters: {
        mid: '0',
        codecs: [{
          mimeType: recording.mimeType, payloadType: VP8_PAYLOAD_TYPE, clockRate: recording.clockRate, parameters: {},
          rtcpFeedback: [{ type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
        }],
        headerExtensions: [],
        encodings: [{ ssrc }],
        rtcp: { cname: this.o.label, reducedSize: true },
      },
      appData: { peerId: this.o.userId },
    });
    this.sender = new RtpReplaySender(recording, t, ssrc, VP8_PAYLOAD_TYPE);
    this.producerId = producerId;
    this.o.senders.set(producerId, this.sender);
    this.sender.start();
  }

  private onNotice(n: SfuProducerNotice): void {
    if (this.closed || n.peerId === this.o.userId || !this.o.receive) return;
    if (n.type === 'sfu-producer-closed') {
      for (const [ssrc, s] of this.streams) if (s.producerId === n.producerId) this.streams.delete(ssrc);
      return;
    }
    if (n.kind !== 'video') return;
    if (!this.recv || !this.caps) {
      this.pending.push(n);
      return;
    }
    // One consume at a time, in the order announced (as a browser's transport handles them).
    this.consuming = this.consuming.then(() => this.consume(n.producerId)).catch((e: unknown) => this.error(e));
  }

  private async consume(producerId: string): Promise<void> {
    if (this.closed) return;
    const c = await this.signaling.request('sfu-consume', { producerId, rtpCapabilities: this.caps!, transportId: this.recv!.info.id });
    const enc = c.rtpParameters.encodings?.[0];
    if (enc?.ssrc === undefined) throw new Error(`consumer ${c.consumerId} has no SSRC`);
    const codec = c.rtpParameters.codecs[0];
    const sendTimes = () => this.o.senders.get(producerId)?.sendTimes;
    this.streams.set(enc.ssrc, {
      consumerId: c.consumerId, producerId, ssrc: enc.ssrc, rtxSsrc: enc.rtx?.ssrc ?? null,
      stats: new RtpStreamStats(codec?.clockRate ?? 90000, (ts) => sendTimes()?.get(ts)),
    });
    await this.signaling.request('sfu-resume-consumer', { consumerId: c.consumerId });
  }

  private onRtp(buf: Buffer, arrivalMs: number): void {
    if (buf.length < 12) return;
    const ssrc = buf.readUInt32BE(8);
    const s = this.streams.get(ssrc);
    if (!s) {
      if (ssrc !== PROBATOR_SSRC && ![...this.streams.values()].some((x) => x.rtxSsrc === ssrc)) this.unannounced.set(ssrc, (this.unannounced.get(ssrc) ?? 0) + 1);
      return;
    }
    s.stats.add(buf.readUInt16BE(2), buf.readUInt32BE(4), (buf[1]! & 0x80) !== 0, arrivalMs);
    this.payloadBytes += rtpPayloadLength(buf);
    if (this.o.record) {
      try {
        this.o.record(this.recv!.decryptRtp(buf), arrivalMs);
      } catch (e) {
        this.error(e);
      }
    }
  }

  /** RTP bytes received on the receive transport (as they arrived, SRTP included): the SFU's egress to this participant. */
  get bytesReceived(): number {
    return this.recv?.bytesIn ?? 0;
  }

  /** Each consumed stream's window since the last take(). */
  take(): { consumerId: string; producerId: string; window: RtpWindow }[] {
    return [...this.streams.values()].map((s) => ({ consumerId: s.consumerId, producerId: s.producerId, window: s.stats.take() }));
  }

  /** Leave: stop sending, close transports and the socket (the server closes the peer's media). Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender?.stop();
    // The map is shared by every room of a search: a closed sender's entry would outlive it (hundreds over a search).
    if (this.producerId !== null && this.o.senders.get(this.producerId) === this.sender) this.o.senders.delete(this.producerId);
    this.sendTransport?.close();
    this.recv?.close();
    this.signaling.close();
  }
}
