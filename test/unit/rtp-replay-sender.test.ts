import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RtpReplaySender } from '../../src/media/rtp-replay-sender.js';
import type { Recording } from '../../src/media/rtp-recording.js';
import type { SyntheticTransport } from '../../src/media/synthetic-transport.js';
import { srtpPair } from './srtp-pair.js';

/** Three frames at 15 fps: a keyframe in two packets, then two one-packet frames. */
const recording: Recording = {
  version: 1, mimeType: 'video/VP8', clockRate: 90000, source: 'test',
  packets: [
    { atMs: 0, ts: 0, marker: false, keyframe: true, payload: 'EAA=' },
    { atMs: 1, ts: 0, marker: true, keyframe: false, payload: 'AAA=' },
    { atMs: 67, ts: 6000, marker: true, keyframe: false, payload: 'EAE=' },
    { atMs: 133, ts: 12000, marker: true, keyframe: false, payload: 'EAE=' },
  ],
};

/**
 * The transport as the sender uses it: the SRTP session keys it protects with, where the protected packets go
 * (decrypted here by a receiving SRTP session, as the SFU would), and where its RTCP goes.
 */
function fakeTransport() {
  const sent: { seq: number; ts: number; marker: boolean; ssrc: number; payload: string }[] = [];
  const { keys, receiver: sfu } = srtpPair();
  const t = {
    onRtcp: (_b: Buffer) => undefined as void,
    localSessionKeys: () => keys,
    sendProtected: (packet: Buffer) => {
      const p = sfu.decrypt(packet);
      sent.push({ seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), marker: (p[1]! & 0x80) !== 0, ssrc: p.readUInt32BE(8), payload: p.subarray(12).toString('base64') });
    },
  };
  return { t, sent };
}

/** An RTCP PSFB packet (PT 206) of format `fmt`: PLI is 1, FIR 4. */
const psfb = (fmt: number) => Buffer.from([0x80 | fmt, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);

describe('a recorded stream replayed', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('in real time, with its own SSRC, consecutive sequence numbers and timestamps that go on across loops', () => {
    const { t, sent } = fakeTransport();
    const s = new RtpReplaySender(recording, t as unknown as SyntheticTransport, 4242, 96);
    s.start();
    vi.advanceTimersByTime(100);
    expect(sent.map((x) => x.payload)).toEqual(['EAA=', 'AAA=', 'EAE=']);
    vi.advanceTimersByTime(400);
    expect(sent.every((x) => x.ssrc === 4242)).toBe(true);
    sent.forEach((x, i) => i > 0 && expect((x.seq - sent[i - 1]!.seq + 0x10000) & 0xffff).toBe(1));
    // Frames keep increasing timestamps by one frame interval, the loop's keyframe included.
    const frames = sent.filter((x) => x.marker).map((x) => x.ts - sent[0]!.ts);
    expect(frames.slice(0, 6)).toEqual([0, 6000, 12000, 18000, 24000, 30000]);
    expect(s.sendTimes.size).toBe(frames.length);
    s.stop();
  });

  it('a keyframe request (PLI or FIR) restarts at the keyframe, at most once per 500 ms; other RTCP is ignored', () => {
    const { t, sent } = fakeTransport();
    const s = new RtpReplaySender(recording, t as unknown as SyntheticTransport, 1, 96);
    s.start();
    vi.advanceTimersByTime(80);
    expect(sent.length).toBe(3);
    t.onRtcp(Buffer.concat([Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 1]), psfb(1)]));
    vi.advanceTimersByTime(10);
    expect(s.keyframeRequests).toBe(1);
    expect(sent[3]!.payload).toBe('EAA=');
    expect(sent[3]!.ts).toBeGreaterThan(sent[2]!.ts);
    t.onRtcp(psfb(4));
    vi.advanceTimersByTime(10);
    expect(s.keyframeRequests).toBe(2);
    // Within 500 ms of the last restart: counted, not restarted (the keyframe's second packet follows, no new keyframe).
    expect(sent.filter((x) => x.payload === 'EAA=').length).toBe(2);
    s.stop();
  });
});
