import { randomBytes } from 'node:crypto';
import { ProtectionProfileAes128CmHmacSha1_80, SrtpSession } from 'werift';
import type { SrtpSessionKeys } from '../../src/media/srtp-protector.js';

/**
 * Two werift SRTP sessions keyed for each other (AES_CM_128_HMAC_SHA1_80), as a sender and the SFU would be after
 * DTLS, and the session keys werift derived for the sender's side (what a transport hands an SrtpProtector).
 */
export function srtpPair(): { sender: SrtpSession; receiver: SrtpSession; keys: SrtpSessionKeys } {
  const a = { key: randomBytes(16), salt: randomBytes(14) };
  const b = { key: randomBytes(16), salt: randomBytes(14) };
  const profile = ProtectionProfileAes128CmHmacSha1_80;
  const sender = new SrtpSession({ keys: { localMasterKey: a.key, localMasterSalt: a.salt, remoteMasterKey: b.key, remoteMasterSalt: b.salt }, profile });
  const receiver = new SrtpSession({ keys: { localMasterKey: b.key, localMasterSalt: b.salt, remoteMasterKey: a.key, remoteMasterSalt: a.salt }, profile });
  const ctx = (sender as unknown as { localContext: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer } }).localContext;
  return { sender, receiver, keys: { key: ctx.srtpSessionKey, salt: ctx.srtpSessionSalt, auth: ctx.srtpSessionAuthTag } };
}
