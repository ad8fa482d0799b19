import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/**
 * A minimal TURN client (RFC 5766 Allocate + Refresh with long-term credentials), enough to prove
 * a TURN server hands out relays and to measure its round trip, over UDP or TCP.
 */
const MAGIC = 0x2112a442;
const ATTR = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, LIFETIME: 0x000d, REALM: 0x0014, NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016, REQUESTED_TRANSPORT: 0x0019, XOR_MAPPED_ADDRESS: 0x0020 } as const;
const METHOD = { BINDING: 0x0001, ALLOCATE: 0x0003, REFRESH: 0x0004 } as const;

interface StunMessage {
  type: number;
  transactionId: Buffer;
  attrs: Map<number, Buffer>;
}

function encode(type: number, tid: Buffer, attrs: [number, Buffer][], integrityKey?: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const [t, v] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    parts.push(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  let body = Buffer.concat(parts);
  const header = (len: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC, 4);
    tid.copy(h, 8);
    return h;
  };
  if (integrityKey) {
    // The HMAC covers the message with its length already counting the MESSAGE-INTEGRITY attribute.
    const mac = createHmac('sha1', integrityKey).update(Buffer.concat([header(body.length + 24), body])).digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, 0);
    h.writeUInt16BE(20, 2);
    body = Buffer.concat([body, h, mac]);
  }
  return Buffer.concat([header(body.length), body]);
}

function decode(buf: Buffer): StunMessage {
  if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC) throw new Error('not a STUN message');
  const len = buf.readUInt16BE(2);
  const attrs = new Map<number, Buffer>();
  let off = 20;
  while (off + 4 <= 20 + len) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    attrs.set(t, buf.subarray(off + 4, off + 4 + l));
    off += 4 + l + ((4 - (l % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), transactionId: buf.subarray(8, 20), attrs };
}

function xorAddress(v: Buffer): { address: string; port: number } {
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [0, 1, 2, 3].map((i) => v[4 + i]! ^ ((MAGIC >>> (24 - 8 * i)) & 0xff)).join('.');
  return { address: ip, port };
}

/** One request/response exchange over a connected transport. */
interface Transport {
  request(msg: Buffer, tid: Buffer): Promise<StunMessage>;
  close(): void;
}

function udpTransport(host: string, port: number, timeoutMs: number, localPort?: number): Transport {
  const sock = createSocket('udp4');
  // Unbound, the first send binds an ephemeral port; a chosen one (tests) is bound before it.
  if (localPort !== undefined) sock.bind(localPort);
  const pending = new Map<string, (m: StunMessage) => void>();
  sock.on('message', (b) => {
    try {
      const m = decode(b);
      pending.get(m.transactionId.toString('hex'))?.(m);
    } catch {
      /* not STUN: ignore */
    }
  });
  return {
    request: (msg, tid) =>
      new Promise((resolve, reject) => {
        const key = tid.toString('hex');
        let tries = 0;
        // RFC 5389 retransmits over UDP; a bounded number of tries within timeoutMs.
        const send = () => sock.send(msg, port, host);
        const retx = setInterval(() => (++tries < 5 ? send() : undefined), Math.max(100, timeoutMs / 5));
        const timer = setTimeout(() => {
          clearInterval(retx);
          pending.delete(key);
          reject(new Error(`TURN ${host}:${port}/udp did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(key, (m) => {
          clearTimeout(timer);
          clearInterval(retx);
          pending.delete(key);
          resolve(m);
        });
        send();
      }),
    close: () => sock.close(),
  };
}

function tcpTransport(host: string, port: number, timeoutMs: number): Transport {
  const sock = connect({ host, port });
  let buf = Buffer.alloc(0);
  let waiter: ((m: StunMessage) => void) | null = null;
  let failure: Error | null = null;
  sock.on('error', (e) => (failure = e));
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 20) {
      const total = 20 + buf.readUInt16BE(2);
      if (buf.length < total) break;
      const m = decode(buf.subarray(0, total));
      buf = buf.subarray(total);
      waiter?.(m);
    }
  });
  return {
    request: (msg) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const timer = setTimeout(() => reject(new Error(`TURN ${host}:${port}/tcp did not answer within ${timeoutMs} ms`)), timeoutMs);
        sock.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        sock.once('close', () => {
          clearTimeout(timer);
          reject(new Error(`TURN ${host}:${port}/tcp closed the connection`));
        });
        waiter = (m) => {
          clearTimeout(timer);
          resolve(m);
        };
        sock.write(msg);
      }),
    close: () => sock.destroy(),
  };
}

export interface TurnAllocateOptions {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  username: string;
  password: string;
  timeoutMs?: number;
}

export interface TurnAllocation {
  relayed: { address: string; port: number };
  mapped?: { address: string; port: number };
  lifetimeSeconds: number;
  roundTripMs: number;
}

/** A TURN error response (e.g. 508 Insufficient Capacity, 486 Allocation Quota Reached): the server's own words. */
export class TurnError extends Error {
  override name = 'TurnError';
  constructor(readonly method: 'Allocate' | 'Refresh', readonly code: number, readonly reason: string) {
    super(`TURN ${method} failed: ${code} ${reason}`);
  }
}

function errorOf(m: StunMessage): { code: number; reason: string } | null {
  const e = m.attrs.get(ATTR.ERROR_CODE);
  if (!e) return null;
  return { code: (e[2]! & 0x7) * 100 + e[3]!, reason: e.subarray(4).toString('utf8') };
}

/**
 * The long-term-credential handshake both allocations start with: an unauthenticated Allocate must be answered
 * 401 with REALM and NONCE; the message-integrity key is MD5(username:realm:password) (RFC 5389 §15.4).
 */
async function allocateChallenge(t: Transport, o: { username: string; password: string }): Promise<{ realm: Buffer; nonce: Buffer; key: Buffer }> {
  const tid = randomBytes(12);
  const challenge = await t.request(encode(METHOD.ALLOCATE, tid, [[ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0])]]), tid);
  const err = errorOf(challenge);
  // 437 answers here too when the 5-tuple's session belongs to another user (measured on coturn 4.6).
  if (err?.code === ALLOCATION_MISMATCH) throw new TurnError('Allocate', err.code, err.reason);
  if (!err || err.code !== 401) throw new Error(`TURN Allocate without credentials: expected 401, got ${err ? err.code : 'success'}`);
  const realm = challenge.attrs.get(ATTR.REALM);
  const nonce = challenge.attrs.get(ATTR.NONCE);
  if (!realm || !nonce) throw new Error('TURN 401 without REALM/NONCE');
  return { realm, nonce, key: createHash('md5').update(`${o.username}:${realm.toString()}:${o.password}`).digest() };
}

/** Allocate a relay (401 challenge, then authenticated request), then release it with a zero-lifetime Refresh. */
export async function turnAllocate(o: TurnAllocateOptions): Promise<TurnAllocation> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const t = o.transport === 'udp' ? udpTransport(o.host, o.port, timeoutMs) : tcpTransport(o.host, o.port, timeoutMs);
  const udpTransportAttr = Buffer.from([17, 0, 0, 0]);
  try {
    const started = performance.now();
    const { realm, nonce, key } = await allocateChallenge(t, o);
    const authAttrs: [number, Buffer][] = [[ATTR.USERNAME, Buffer.from(o.username)], [ATTR.REALM, realm], [ATTR.NONCE, nonce]];
    const tid2 = randomBytes(12);
    const res = await t.request(encode(METHOD.ALLOCATE, tid2, [[ATTR.REQUESTED_TRANSPORT, udpTransportAttr], ...authAttrs], key), tid2);
    const roundTripMs = performance.now() - started;
    const err2 = errorOf(res);
    if (err2) throw new TurnError('Allocate', err2.code, err2.reason);
    const relayedAttr = res.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
    if (!relayedAttr) throw new Error('TURN Allocate success without XOR-RELAYED-ADDRESS');
    const mappedAttr = res.attrs.get(ATTR.XOR_MAPPED_ADDRESS);
    const lifetime = res.attrs.get(ATTR.LIFETIME)?.readUInt32BE(0) ?? 0;
    const tid3 = randomBytes(12);
    await t.request(encode(METHOD.REFRESH, tid3, [[ATTR.LIFETIME, Buffer.from([0, 0, 0, 0])], ...authAttrs], key), tid3).catch(() => undefined);
    return { relayed: xorAddress(relayedAttr), ...(mappedAttr ? { mapped: xorAddress(mappedAttr) } : {}), lifetimeSeconds: lifetime, roundTripMs };
  } finally {
    t.close();
  }
}

/** A STUN Binding round trip: the cheapest liveness check of a TURN server. */
export async function stunBinding(host: string, port: number, transport: 'udp' | 'tcp', timeoutMs = 2000): Promise<{ address: string; port: number }> {
  const t = transport === 'udp' ? udpTransport(host, port, timeoutMs) : tcpTransport(host, port, timeoutMs);
  try {
    const tid = randomBytes(12);
    const res = await t.request(encode(METHOD.BINDING, tid, []), tid);
    const mapped = res.attrs.get(ATTR.XOR_MAPPED_ADDRESS);
    if (!mapped) throw new Error('STUN Binding response without XOR-MAPPED-ADDRESS');
    return xorAddress(mapped);
  } finally {
    t.close();
  }
}

/**
 * 437 Allocation Mismatch: the server already holds a session of another allocation (or user) on this client
 * 5-tuple — an ephemeral port the kernel reused while coturn still remembers its last owner. RFC 8656 §7.3: pick
 * another client transport address and retry, trying three before giving up.
 */
export const ALLOCATION_MISMATCH = 437;
const CLIENT_ADDRESSES_TRIED = 3;

export type TurnHoldOptions = Omit<TurnAllocateOptions, 'transport'> & {
  lifetimeSeconds: number;
  /** The first try's client port (default: an ephemeral one); a 437 moves later tries to ephemeral ports. */
  localPort?: number;
};

/** One relay allocation kept open: its own UDP socket (coturn keys an allocation by its 5-tuple). */
export interface HeldAllocation {
  readonly relayed: { address: string; port: number };
  /** Client transport addresses tried to get it: 1, or more when coturn answered 437 on the ones before. */
  readonly clientAddresses: number;
  /** The lifetime coturn granted (it may differ from the one asked for). */
  readonly lifetimeSeconds: number;
  /** Refresh with `lifetimeSeconds` (default: the one asked at Allocate); resolves to the granted lifetime. */
  refresh(lifetimeSeconds?: number): Promise<number>;
  /** Refresh with lifetime 0 (RFC 5766 §7: the allocation is deleted), then close the socket; true when coturn confirmed. */
  release(): Promise<boolean>;
}

const lifetimeAttr = (s: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(s, 0);
  return b;
};

/**
 * Allocate a relay over UDP and keep it: the caller refreshes it while it needs it and releases it after.
 * A short `lifetimeSeconds` makes coturn free it by itself if the holder dies. Rejects with a TurnError when
 * coturn refuses (its code says why), or an Error when it does not answer.
 */
export async function turnHold(o: TurnHoldOptions): Promise<HeldAllocation> {
  const timeoutMs = o.timeoutMs ?? 3000;
  // Sockets a 437 turned away stay open until the end, so the kernel cannot hand their port to the next try.
  const turnedAway: Transport[] = [];
  try {
    for (let i = 1; ; i++) {
      const t = udpTransport(o.host, o.port, timeoutMs, i === 1 ? o.localPort : undefined);
      try {
        return await holdOn(t, o, i);
      } catch (e) {
        const mismatch = e instanceof TurnError && e.code === ALLOCATION_MISMATCH;
        if (mismatch) turnedAway.push(t);
        if (!mismatch || i >= CLIENT_ADDRESSES_TRIED) throw e;
      }
    }
  } finally {
    for (const t of turnedAway) t.close();
  }
}

/** One Allocate on transport `t`, kept: closes `t` when it fails, but for a 437. */
async function holdOn(t: Transport, o: TurnHoldOptions, clientAddresses: number): Promise<HeldAllocation> {
  const udpTransportAttr = Buffer.from([17, 0, 0, 0]);
  try {
    const first = await allocateChallenge(t, o);
    const { realm, key } = first;
    let nonce = first.nonce;
    const auth = (): [number, Buffer][] => [[ATTR.USERNAME, Buffer.from(o.username)], [ATTR.REALM, realm], [ATTR.NONCE, nonce]];
    const tid2 = randomBytes(12);
    const res = await t.request(encode(METHOD.ALLOCATE, tid2, [[ATTR.REQUESTED_TRANSPORT, udpTransportAttr], [ATTR.LIFETIME, lifetimeAttr(o.lifetimeSeconds)], ...auth()], key), tid2);
    const err2 = errorOf(res);
    if (err2) throw new TurnError('Allocate', err2.code, err2.reason);
    const relayedAttr = res.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
    if (!relayedAttr) throw new Error('TURN Allocate success without XOR-RELAYED-ADDRESS');
    const refresh = async (lifetime: number): Promise<number> => {
      // A stale nonce (438) carries the new one: one retry with it.
      for (let i = 0; i < 2; i++) {
        const tid = randomBytes(12);
        const r = await t.request(encode(METHOD.REFRESH, tid, [[ATTR.LIFETIME, lifetimeAttr(lifetime)], ...auth()], key), tid);
        const e = errorOf(r);
        if (!e) return r.attrs.get(ATTR.LIFETIME)?.readUInt32BE(0) ?? lifetime;
        const fresh = r.attrs.get(ATTR.NONCE);
        if (e.code !== 438 || !fresh) throw new TurnError('Refresh', e.code, e.reason);
        nonce = fresh;
      }
      throw new TurnError('Refresh', 438, 'stale nonce twice');
    };
    let closed = false;
    return {
      relayed: xorAddress(relayedAttr),
      clientAddresses,
      lifetimeSeconds: res.attrs.get(ATTR.LIFETIME)?.readUInt32BE(0) ?? o.lifetimeSeconds,
      refresh: (lifetime = o.lifetimeSeconds) => refresh(lifetime),
      release: async () => {
        if (closed) return true;
        try {
          await refresh(0);
          return true;
        } catch {
          return false;
        } finally {
          closed = true;
          t.close();
        }
      },
    };
  } catch (e) {
    // A 437's socket is the caller's to keep open while it tries another port.
    if (!(e instanceof TurnError && e.code === ALLOCATION_MISMATCH)) t.close();
    throw e;
  }
}
