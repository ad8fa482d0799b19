/**
 * SRTP protection (AES_CM_128_HMAC_SHA1_80, RFC 3711) of one outgoing RTP stream, built for many streams in one
 * process: the AES key schedule is set up once (an ECB cipher encrypts the counter blocks of every packet; ECB
 * keeps no state between calls) and the header is written in place, where werift's SrtpSession creates a cipher,
 * serializes a header object and concatenates buffers per packet. The session keys are werift's own (derived by
 * its SrtpSession from the DTLS master keys); a unit test checks every byte against werift's encrypt.
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

export interface SrtpSessionKeys {
  /** 16-byte session encryption key, 14-byte session salt, 20-byte session authentication key. */
  key: Buffer;
  salt: Buffer;
  auth: Buffer;
}

const HEADER = 12;
const TAG = 10;

export class SrtpProtector {
  private readonly ecb: Cipher;
  /** The counter block without index and block number: salt · 2^16 XOR SSRC · 2^64. */
  private readonly ivBase = Buffer.alloc(16);
  private roc = 0;
  private lastSeq: number | null = null;

  constructor(private readonly keys: SrtpSessionKeys, readonly ssrc: number) {
    if (keys.key.length !== 16 || keys.salt.length !== 14 || keys.auth.length !== 20) throw new Error('AES_CM_128_HMAC_SHA1_80 needs a 16-byte key, a 14-byte salt and a 20-byte auth key');
    this.ecb = createCipheriv('aes-128-ecb', keys.key, null);
    this.ecb.setAutoPadding(false);
    keys.salt.copy(this.ivBase, 0);
    this.ivBase.writeUInt32BE((this.ivBase.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  }

  /** One SRTP packet: a 12-byte header (no CSRC, no extension), the encrypted payload, the 80-bit tag. */
  protect(payloadType: number, sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): Buffer {
    // The rollover counter: a sender's sequence numbers only go forward, so a smaller one is a wrap.
    if (this.lastSeq !== null && sequenceNumber < this.lastSeq && this.lastSeq - sequenceNumber > 0x8000) this.roc = (this.roc + 1) >>> 0;
    this.lastSeq = sequenceNumber;
    const n = payload.length;
    const out = Buffer.allocUnsafe(HEADER + n + TAG);
    out[0] = 0x80;
    out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
    out.writeUInt16BE(sequenceNumber, 2);
    out.writeUInt32BE(timestamp >>> 0, 4);
    out.writeUInt32BE(this.ssrc >>> 0, 8);
    const blocks = Math.ceil(n / 16);
    const ctr = Buffer.alloc(blocks * 16);
    for (let j = 0; j < blocks; j++) {
      const o = j * 16;
      this.ivBase.copy(ctr, o);
      ctr.writeUInt32BE((ctr.readUInt32BE(o + 8) ^ this.roc) >>> 0, o + 8);
      ctr.writeUInt16BE(ctr.readUInt16BE(o + 12) ^ sequenceNumber, o + 12);
      ctr.writeUInt16BE(j, o + 14);
    }
    const stream = this.ecb.update(ctr);
    for (let i = 0; i < n; i++) out[HEADER + i] = payload[i]! ^ stream[i]!;
    const roc = Buffer.allocUnsafe(4);
    roc.writeUInt32BE(this.roc, 0);
    createHmac('sha1', this.keys.auth).update(out.subarray(0, HEADER + n)).update(roc).digest().copy(out, HEADER + n, 0, TAG);
    return out;
  }
}
