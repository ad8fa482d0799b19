/**
 * One WebRTC transport of a synthetic SFU participant, on one UDP socket: ICE as the controlling agent against
 * the SFU's ICE-lite server (a STUN binding request with USE-CANDIDATE, then one every CONSENT_MS so the server's
 * consent check keeps the tuple), DTLS as the client (werift's DtlsClient, the server's certificate checked
 * against the fingerprint it announced), then SRTP keys from the handshake. What makes it cheap: after that,
 * received RTP is handed on as it arrived — SRTP leaves the RTP header in the clear, so a receiver reads sequence
 * numbers, timestamps and SSRCs without decrypting anything; only what is sent (a sender's replayed video) and,
 * on request, what a recorder keeps is run through SRTP.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, X509Certificate } from 'node:crypto';
import {
  type SignatureHash, type Transport,
  CipherContext, DtlsClient, HashAlgorithm, Message, NamedCurveAlgorithm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader,
  SignatureAlgorithm, SrtcpSession, SrtpSession, classes, keyLength, methods, parseMessage, saltLength,
} from 'werift';
import type { types as ms } from 'mediasoup-client';
import type { SrtpSessionKeys } from './srtp-protector.js';

/** Consent freshness: the server drops a tuple it has not heard a check on for 30 s (mediasoup's default). */
const CONSENT_MS = 5_000;
const ICE_RETRY_MS = 100;

export interface TransportInfo {
  id: string;
  iceParameters: ms.IceParameters;
  iceCandidates: ms.IceCandidate[];
  dtlsParameters: ms.DtlsParameters;
}

interface Certificate {
  certPem: string;
  keyPem: string;
  signatureHash: SignatureHash;
  fingerprint: string;
}

let certificate: Promise<Certificate> | null = null;

/** One self-signed ECDSA certificate for every transport of this process (a browser too uses one per peer connection). */
function localCertificate(): Promise<Certificate> {
  certificate ??= CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  ).then(({ certPem, keyPem, signatureHash }) => ({ certPem, keyPem, signatureHash, fingerprint: new X509Certificate(certPem).fingerprint256 }));
  return certificate;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
};

export class SyntheticTransport {
  private socket: Socket | null = null;
  private dtls: DtlsClient | null = null;
  private srtp: SrtpSession | null = null;
  private srtcp: SrtcpSession | null = null;
  private consent: NodeJS.Timeout | null = null;
  private readonly localUfrag = randomBytes(6).toString('hex');
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE();
  private readonly remote: { address: string; port: number };
  private iceAnswered: (() => void) | null = null;
  private pendingCheck: string | null = null;
  /** DTLS records go to werift's socket through this. */
  private readonly dtlsTransport: Transport = {
    type: 'udp', address: { address: '0.0.0.0', port: 0, family: 'IPv4' }, closed: false,
    onData: () => undefined,
    send: async (buf: Buffer): Promise<void> => this.sendRaw(buf),
    close: async (): Promise<void> => undefined,
  };
  private closed = false;
  /** Every RTP packet as it arrived (still SRTP: header in the clear, payload encrypted), with its arrival time (ms, performance.now()). */
  onRtp: (packet: Buffer, arrivalMs: number) => void = () => undefined;
  /** Every RTCP packet, decrypted (the server's reports and feedback: PLI, FIR, NACK). Only with `readRtcp`. */
  onRtcp: (packet: Buffer) => void = () => undefined;
  bytesIn = 0;
  packetsIn = 0;

  constructor(readonly info: TransportInfo, private readonly o: { readRtcp?: boolean } = {}) {
    const c = info.iceCandidates.find((x) => x.protocol === 'udp');
    if (!c) throw new Error(`transport ${info.id} offers no UDP candidate`);
    this.remote = { address: c.address ?? (c as unknown as { ip: string }).ip, port: c.port };
  }

  /** What `sfu-connect-transport` tells the server: this side is the DTLS client, with its certificate's fingerprint. */
  async dtlsParameters(): Promise<ms.DtlsParameters> {
    const cert = await localCertificate();
    return { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: cert.fingerprint }] };
  }

  /** ICE, then DTLS, then SRTP keys; rejects (and closes) when either does not complete within `timeoutMs`. */
  async connect(timeoutMs = 10_000): Promise<void> {
    const cert = await localCertificate();
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (buf) => this.onDatagram(buf));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    try {
      await withTimeout(this.iceCheck(), timeoutMs, `transport ${this.info.id}: ICE`);
      this.consent = setInterval(() => this.sendCheck(), CONSENT_MS);
      this.consent.unref();
      const dtls = new DtlsClient({
        cert: cert.certPem, key: cert.keyPem, signatureHash: cert.signatureHash, transport: this.dtlsTransport,
        srtpProfiles: [ProtectionProfileAes128CmHmacSha1_80], extendedMasterSecret: true,
      });
      this.dtls = dtls;
      await withTimeout(new Promise<void>((resolve, reject) => {
        dtls.onConnect.once(() => resolve());
        dtls.onError.once((e: Error) => reject(e));
        dtls.connect().catch(reject);
      }), timeoutMs, `transport ${this.info.id}: DTLS`);
      this.checkServerCertificate(dtls);
      const profile = dtls.srtp.srtpProfile;
      if (profile === undefined) throw new Error(`transport ${this.info.id}: no SRTP profile negotiated`);
      const k = dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
      const config = { keys: { localMasterKey: k.localKey, localMasterSalt: k.localSalt, remoteMasterKey: k.remoteKey, remoteMasterSalt: k.remoteSalt }, profile };
      this.srtp = new SrtpSession(config);
      this.srtcp = new SrtcpSession(config);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private checkServerCertificate(dtls: DtlsClient): void {
    const der = dtls.remoteCertificate;
    if (!der) throw new Error(`transport ${this.info.id}: the server sent no certificate`);
    const seen = new X509Certificate(der).fingerprint256.toUpperCase();
    const announced = this.info.dtlsParameters.fingerprints.filter((f) => f.algorithm === 'sha-256').map((f) => f.value.toUpperCase());
    if (!announced.includes(seen)) throw new Error(`transport ${this.info.id}: the server's DTLS certificate does not match the fingerprint it announced`);
  }

  /** One connectivity check (nominating); its answer is matched in onDatagram. */
  private sendCheck(): void {
    const m = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', `${this.info.iceParameters.usernameFragment}:${this.localUfrag}`)
      .setAttribute('PRIORITY', 0x6e0001ff)
      .setAttribute('ICE-CONTROLLING', this.tieBreaker)
      .setAttribute('USE-CANDIDATE', null)
      .addMessageIntegrity(Buffer.from(this.info.iceParameters.password))
      .addFingerprint();
    this.pendingCheck = m.transactionIdHex;
    this.sendRaw(m.bytes);
  }

  /** Checks every ICE_RETRY_MS until one is answered (the caller bounds the wait; close() stops the retries). */
  private iceCheck(): Promise<void> {
    return new Promise<void>((resolve) => {
      const retry = setInterval(() => (this.closed ? clearInterval(retry) : this.sendCheck()), ICE_RETRY_MS);
      this.iceAnswered = () => {
        clearInterval(retry);
        resolve();
      };
      this.sendCheck();
    });
  }

  private onDatagram(buf: Buffer): void {
    const b0 = buf[0] ?? 0;
    if (b0 >= 128 && b0 <= 191) {
      // RTP or RTCP (RFC 7983); RTCP's packet types are 192–223 in the second byte.
      const pt = buf[1] ?? 0;
      if (pt >= 192 && pt <= 223) {
        if (this.o.readRtcp && this.srtcp) {
          try {
            this.onRtcp(this.srtcp.decrypt(buf));
          } catch {
            /* not authentic: dropped */
          }
        }
        return;
      }
      this.bytesIn += buf.length;
      this.packetsIn++;
      this.onRtp(buf, performance.now());
    } else if (b0 >= 20 && b0 <= 63) {
      this.dtlsTransport.onData(buf, [this.remote.address, this.remote.port]);
    } else if (b0 < 4) {
      const m = parseMessage(buf);
      if (m && m.messageClass === classes.RESPONSE && m.transactionIdHex === this.pendingCheck) {
        this.iceAnswered?.();
        this.iceAnswered = null;
      }
    }
  }

  private sendRaw(buf: Buffer): void {
    if (this.closed || !this.socket) return;
    this.socket.send(buf, this.remote.port, this.remote.address);
  }

  /** Send one RTP packet (header fields as given, payload in the clear): SRTP-protected as the server expects. */
  sendRtp(header: RtpHeader, payload: Buffer): void {
    if (!this.srtp) throw new Error(`transport ${this.info.id}: not connected`);
    this.sendRaw(this.srtp.encrypt(payload, header));
  }

  /**
   * The SRTP session keys werift derived for what this side sends (its SrtpSession keeps them on its local
   * context): what a fast protector of an outgoing stream needs (srtp-protector.ts).
   */
  localSessionKeys(): SrtpSessionKeys {
    const ctx = (this.srtp as unknown as { localContext?: { srtpSessionKey?: unknown; srtpSessionSalt?: unknown; srtpSessionAuthTag?: unknown } } | null)?.localContext;
    const { srtpSessionKey: key, srtpSessionSalt: salt, srtpSessionAuthTag: auth } = ctx ?? {};
    if (!Buffer.isBuffer(key) || !Buffer.isBuffer(salt) || !Buffer.isBuffer(auth)) throw new Error(`transport ${this.info.id}: no SRTP session keys (not connected, or werift keeps them elsewhere)`);
    return { key, salt, auth };
  }

  /** Send one packet already SRTP-protected. */
  sendProtected(packet: Buffer): void {
    this.sendRaw(packet);
  }

  /** Decrypt one received SRTP packet (a recorder's use; receivers never do). */
  decryptRtp(packet: Buffer): Buffer {
    if (!this.srtp) throw new Error(`transport ${this.info.id}: not connected`);
    return this.srtp.decrypt(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.consent) clearInterval(this.consent);
    this.iceAnswered = null;
    try {
      this.dtls?.close();
    } catch {
      /* already gone */
    }
    this.socket?.close();
    this.socket = null;
  }
}
