import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { RtpHeader } from 'werift';
import { SrtpProtector } from '../../src/media/srtp-protector.js';
import { srtpPair } from './srtp-pair.js';

describe('SrtpProtector (AES_CM_128_HMAC_SHA1_80)', () => {
  it('writes byte for byte what werift\'s SrtpSession writes, across a sequence-number wrap (the rollover counter), for payloads of every length', () => {
    const { sender: werift, keys } = srtpPair();
    const ssrc = 0x1234abcd;
    const p = new SrtpProtector(keys, ssrc);
    let seq = 65_530;
    for (let i = 0; i < 40; i++) {
      const payload = randomBytes(1 + ((i * 97) % 1200));
      const ts = (3_000_000_000 + i * 6000) >>> 0;
      const marker = i % 3 === 0;
      const ours = p.protect(96, seq, ts, marker, payload);
      const theirs = werift.encrypt(payload, new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc, marker }));
      expect(ours.equals(theirs), `packet ${i} (seq ${seq})`).toBe(true);
      seq = (seq + 1) & 0xffff;
    }
  });

  it('is authentic to a receiver (its tag checks, its payload decrypts); a flipped bit is refused', () => {
    const { keys, receiver } = srtpPair();
    const p = new SrtpProtector(keys, 42);
    const payload = Buffer.from('a frame of video, or part of one');
    const packet = p.protect(96, 7, 1000, true, payload);
    expect(receiver.decrypt(packet).subarray(12).equals(payload)).toBe(true);
    const bad = Buffer.from(packet);
    bad[20]! ^= 1;
    expect(() => receiver.decrypt(bad)).toThrow();
  });

  it('refuses keys of the wrong size', () => {
    expect(() => new SrtpProtector({ key: randomBytes(32), salt: randomBytes(14), auth: randomBytes(20) }, 1)).toThrow(/16-byte key/);
  });
});
