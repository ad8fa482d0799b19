/**
 * What a synthetic receiver learns about one received RTP stream from its headers alone: loss from the gaps in
 * the (extended) sequence numbers, interarrival jitter as RFC 3550 §6.4.1 defines it, and forwarding delay —
 * for the last packet of each frame (marker bit), arrival minus the time the sender sent the frame with that RTP
 * timestamp (both on this host's monotonic clock; the SFU keeps a simple consumer's timestamps). Counted per
 * window: take() returns what arrived since the previous take() and starts the next window.
 */

export interface RtpWindow {
  /** Packets received in the window. */
  received: number;
  /** Packets the sequence numbers say were sent in the window (highest extended sequence number advanced by). */
  expected: number;
  /** max(0, expected − received). */
  lost: number;
  /** RFC 3550 interarrival jitter at the window's end, ms. */
  jitterMs: number;
  /** Forwarding delays of the frames completed in the window, ms. */
  delaysMs: number[];
}

/** The send time (ms, the receiver's clock) of the frame with this RTP timestamp, when known. */
export type SendTimeOf = (rtpTimestamp: number) => number | undefined;

const int16 = (x: number): number => ((x & 0xffff) << 16) >> 16;
const int32 = (x: number): number => x | 0;

export class RtpStreamStats {
  private maxExt: number | null = null;
  private windowStartExt = 0;
  private received = 0;
  private lastTs = 0;
  private lastArrivalMs = 0;
  private jitter = 0;
  private delays: number[] = [];
  /** Packets ever received. */
  total = 0;

  constructor(private readonly clockRate: number, private readonly sendTimeOf: SendTimeOf = () => undefined, private readonly maxDelaySamples = 10_000) {}

  /** One packet's header fields and arrival time (ms). */
  add(seq: number, timestamp: number, marker: boolean, arrivalMs: number): void {
    this.total++;
    this.received++;
    if (this.maxExt === null) {
      this.maxExt = seq;
      this.windowStartExt = seq - 1;
    } else {
      const ext = this.maxExt + int16(seq - this.maxExt);
      if (ext > this.maxExt) this.maxExt = ext;
      const d = (arrivalMs - this.lastArrivalMs) * (this.clockRate / 1000) - int32(timestamp - this.lastTs);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTs = timestamp;
    this.lastArrivalMs = arrivalMs;
    if (marker) {
      const sent = this.sendTimeOf(timestamp >>> 0);
      if (sent !== undefined && this.delays.length < this.maxDelaySamples) this.delays.push(arrivalMs - sent);
    }
  }

  /** The window since the last take(); the next one starts now. */
  take(): RtpWindow {
    const top = this.maxExt ?? this.windowStartExt;
    const expected = Math.max(0, top - this.windowStartExt);
    const w: RtpWindow = { received: this.received, expected, lost: Math.max(0, expected - this.received), jitterMs: (this.jitter / this.clockRate) * 1000, delaysMs: this.delays };
    this.windowStartExt = top;
    this.received = 0;
    this.delays = [];
    return w;
  }
}

/** The q-quantile (0..1) of `xs` by nearest rank; null for no samples. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
