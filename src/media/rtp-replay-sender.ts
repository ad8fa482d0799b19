/**
 * A synthetic sender's video: a recording (rtp-recording.ts) replayed in real time on one transport, with its own
 * SSRC and sequence numbers and timestamps that keep increasing across loops. A keyframe request from the SFU
 * (PLI or FIR in its RTCP) restarts the replay at the recording's first packet, a keyframe, at most once per
 * KEYFRAME_DEBOUNCE_MS. The send time of each frame's last packet is kept (by its RTP timestamp) so receivers on
 * this host can measure forwarding delay.
 */
import { randomInt } from 'node:crypto';
import type { Recording } from './rtp-recording.js';
import type { SyntheticTransport } from './synthetic-transport.js';
import { SrtpProtector } from './srtp-protector.js';

/**
 * One timer for every sender of the process: hundreds of senders with a 5 ms interval each would be tens of
 * thousands of timer callbacks a second, the generator's own load; one pass over the active senders per tick is not.
 */
const active = new Set<RtpReplaySender>();
let ticker: NodeJS.Timeout | null = null;

function schedule(s: RtpReplaySender, on: boolean): void {
  if (on) active.add(s);
  else active.delete(s);
  if (active.size > 0 && ticker === null) {
    ticker = setInterval(() => {
      for (const x of active) x.tick();
    }, TICK_MS);
  } else if (active.size === 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
  }
}

const TICK_MS = 5;
const KEYFRAME_DEBOUNCE_MS = 500;
const SEND_TIMES_KEPT = 1024;
const PT_PSFB = 206;
const FMT_PLI = 1;
const FMT_FIR = 4;
const PT_RTPFB = 205;
const FMT_NACK = 1;

export class RtpReplaySender {
  private running = false;
  private protector: SrtpProtector | null = null;
  private index = 0;
  private seq = randomInt(0, 0x10000);
  private readonly tsBase = randomInt(0, 2 ** 31);
  /** Added to the recording's relative timestamps in the current loop. */
  private loopTs = 0;
  private loopStartMs = 0;
  private lastRelTs = 0;
  private lastRestartMs = -Infinity;
  /** Send time (performance.now()) of each frame's last packet, by its RTP timestamp as sent. */
  readonly sendTimes = new Map<number, number>();
  packetsSent = 0;
  /** RTP payload bytes sent (what the SFU takes in, headers and SRTP aside). */
  bytesSent = 0;
  keyframeRequests = 0;
  /** NACK feedback messages the SFU sent (each asks for lost packets again; this sender does not resend). */
  nacks = 0;
  /** The recording's payloads, decoded once (not per packet sent). */
  private readonly payloads: Buffer[];
  private readonly frameTicks: number;

  constructor(private readonly recording: Recording, private readonly transport: SyntheticTransport, readonly ssrc: number, private readonly payloadType: number) {
    const p = recording.packets;
    const span = p[p.length - 1]!.ts - p[0]!.ts;
    // One frame interval past the last frame, so a loop does not repeat a timestamp.
    this.frameTicks = Math.max(1, Math.round(span / Math.max(1, new Set(p.map((x) => x.ts)).size - 1)));
    this.payloads = p.map((x) => Buffer.from(x.payload, 'base64'));
    transport.onRtcp = (buf) => this.onRtcp(buf);
  }

  start(): void {
    this.loopStartMs = performance.now();
    this.protector = new SrtpProtector(this.transport.localSessionKeys(), this.ssrc);
    this.running = true;
    schedule(this, true);
  }

  /** Send what is due (the shared ticker calls it). */
  tick(): void {
    if (!this.running) return;
    const now = performance.now();
    const packets = this.recording.packets;
    // Bounded per tick: at most one pass over the recording.
    for (let n = 0; n < packets.length; n++) {
      const p = packets[this.index]!;
      if (p.atMs > now - this.loopStartMs) return;
      this.send(p, now);
      if (++this.index === packets.length) this.restart(now);
    }
  }

  private send(p: Recording['packets'][number], now: number): void {
    const rel = this.loopTs + p.ts;
    const ts = (this.tsBase + rel) >>> 0;
    this.lastRelTs = rel;
    const payload = this.payloads[this.index]!;
    this.transport.sendProtected(this.protector!.protect(this.payloadType, this.seq, ts, p.marker, payload));
    this.seq = (this.seq + 1) & 0xffff;
    this.packetsSent++;
    this.bytesSent += payload.length;
    if (p.marker) {
      this.sendTimes.set(ts, now);
      if (this.sendTimes.size > SEND_TIMES_KEPT) this.sendTimes.delete(this.sendTimes.keys().next().value!);
    }
  }

  /** Back to the recording's first packet (a keyframe), timestamps going on from the last one sent. */
  private restart(now: number): void {
    this.index = 0;
    this.loopTs = this.lastRelTs + this.frameTicks;
    this.loopStartMs = now;
  }

  private onRtcp(buf: Buffer): void {
    for (let at = 0; at + 4 <= buf.length;) {
      const fmt = buf[at]! & 0x1f;
      const pt = buf[at + 1]!;
      if (pt === PT_RTPFB && fmt === FMT_NACK) this.nacks++;
      if (pt === PT_PSFB && (fmt === FMT_PLI || fmt === FMT_FIR)) {
        this.keyframeRequests++;
        const now = performance.now();
        if (now - this.lastRestartMs >= KEYFRAME_DEBOUNCE_MS) {
          this.lastRestartMs = now;
          this.restart(now);
        }
      }
      at += (buf.readUInt16BE(at + 2) + 1) * 4;
    }
  }

  stop(): void {
    this.running = false;
    schedule(this, false);
  }
}
