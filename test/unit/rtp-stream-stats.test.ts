import { describe, expect, it } from 'vitest';
import { RtpStreamStats, quantile } from '../../src/media/rtp-stream-stats.js';
import { isVp8KeyframeStart } from '../../src/media/rtp-recording.js';

/** A 15 fps stream at 90 kHz, one packet a frame, arriving `delayMs` after it was sent. */
function feed(s: RtpStreamStats, seqs: number[], o: { delayMs?: (i: number) => number; sent?: Map<number, number>; startSeq?: number } = {}): void {
  seqs.forEach((seq) => {
    const i = (seq - (o.startSeq ?? seqs[0]!) + 0x10000) & 0xffff;
    const ts = (1000 + i * 6000) >>> 0;
    const sentAt = i * (1000 / 15);
    o.sent?.set(ts, sentAt);
    s.add(seq & 0xffff, ts, true, sentAt + (o.delayMs?.(i) ?? 5));
  });
}

describe('a received RTP stream, from its headers', () => {
  it('counts loss from sequence gaps per window, across the 16-bit wrap', () => {
    const s = new RtpStreamStats(90000);
    const seqs = Array.from({ length: 20 }, (_, i) => 65530 + i).filter((x) => x !== 65534 && x !== 65537);
    feed(s, seqs, { startSeq: 65530 });
    expect(s.take()).toMatchObject({ received: 18, expected: 20, lost: 2 });
    feed(s, [65550, 65551, 65553].map((x) => x), { startSeq: 65530 });
    expect(s.take()).toMatchObject({ received: 3, expected: 4, lost: 1 });
    expect(s.take()).toMatchObject({ received: 0, expected: 0, lost: 0 });
  });

  it('a reordered (late) packet is not a loss', () => {
    const s = new RtpStreamStats(90000);
    feed(s, [1, 2, 4, 3, 5]);
    expect(s.take()).toMatchObject({ received: 5, expected: 5, lost: 0 });
  });

  it('jitter: 0 for a steady stream, about the mean deviation for an uneven one (RFC 3550)', () => {
    const steady = new RtpStreamStats(90000);
    feed(steady, Array.from({ length: 100 }, (_, i) => i));
    expect(steady.take().jitterMs).toBeCloseTo(0, 5);
    const uneven = new RtpStreamStats(90000);
    feed(uneven, Array.from({ length: 400 }, (_, i) => i), { delayMs: (i) => (i % 2 ? 20 : 0) });
    // |D| is 20 ms for every packet: J converges to 20 ms.
    expect(uneven.take().jitterMs).toBeGreaterThan(19);
  });

  it('forwarding delay: arrival minus the send time of the frame with that timestamp; frames of unknown send time are skipped', () => {
    const sent = new Map<number, number>();
    const s = new RtpStreamStats(90000, (ts) => (ts % 12000 === 1000 ? sent.get(ts) : undefined));
    feed(s, Array.from({ length: 10 }, (_, i) => i), { sent, delayMs: (i) => 3 + i });
    const w = s.take();
    expect(w.delaysMs).toEqual([3, 5, 7, 9, 11].map((x) => expect.closeTo(x, 6)));
    expect(quantile(w.delaysMs, 0.5)).toBeCloseTo(7, 6);
    expect(quantile(w.delaysMs, 0.95)).toBeCloseTo(11, 6);
    expect(quantile([], 0.5)).toBeNull();
  });
});

describe('VP8 keyframe starts (RFC 7741)', () => {
  it('reads the payload descriptor with and without extensions', () => {
    // S=1 PID=0, no extension, frame header P=0 (key frame).
    expect(isVp8KeyframeStart(Buffer.from([0x10, 0x00, 0x9d, 0x01, 0x2a]))).toBe(true);
    // P=1: an interframe.
    expect(isVp8KeyframeStart(Buffer.from([0x10, 0x01]))).toBe(false);
    // X=1, I=1 with a 15-bit picture id (M=1), then the frame header.
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x81, 0x23, 0x10]))).toBe(true);
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x81, 0x23, 0x11]))).toBe(false);
    // X=1, I=1 (7-bit id), L=1, T=1.
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0xe0, 0x05, 0x07, 0x20, 0x00]))).toBe(true);
    // Not the start of partition 0, or cut short.
    expect(isVp8KeyframeStart(Buffer.from([0x00, 0x00]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.from([0x90, 0x80]))).toBe(false);
    expect(isVp8KeyframeStart(Buffer.alloc(0))).toBe(false);
  });
});
