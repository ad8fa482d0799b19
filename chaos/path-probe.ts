import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { DependencyName } from './types.js';

/**
 * Protocol-level probes through a TCP path (usually a Toxiproxy proxy): each sends the cheapest
 * request its server answers without credentials, so a probe measures the path, not the login.
 */
interface Protocol {
  request(seq: number, host: string): Buffer;
  /** Length of the complete answer at the start of buf, or 0 while incomplete. Throws on a non-answer. */
  answerLength(buf: Buffer): number;
  /** Whether several requests may share one connection (pipelined bursts). */
  repeatable: boolean;
  /** A request after which the server closes the connection (for slow_close), if the protocol has one. */
  closeRequest?(host: string): Buffer;
}

const crlf = (buf: Buffer): number => {
  const i = buf.indexOf('\r\n');
  return i < 0 ? 0 : i + 2;
};

const httpAnswer = (buf: Buffer): number => {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 0;
  const head = buf.subarray(0, end).toString('latin1');
  if (!head.startsWith('HTTP/1.')) throw new Error(`not an HTTP answer: ${head.slice(0, 40)}`);
  const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
  return buf.length >= end + 4 + len ? end + 4 + len : 0;
};

const stunAnswer = (buf: Buffer): number => {
  if (buf.length < 20) return 0;
  const total = 20 + buf.readUInt16BE(2);
  return buf.length >= total ? total : 0;
};

const PROTOCOLS: Record<DependencyName, Protocol> = {
  // +PONG, or -NOAUTH when the server wants a password: either is Redis answering.
  redis: { request: () => Buffer.from('PING\r\n'), answerLength: crlf, repeatable: true, closeRequest: () => Buffer.from('QUIT\r\n') },
  // SSLRequest: the server answers one byte, 'N' or 'S', before any authentication.
  postgres: {
    request: () => Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
    answerLength: (b) => {
      if (b.length === 0) return 0;
      if (b[0] !== 0x4e && b[0] !== 0x53) throw new Error(`unexpected SSLRequest answer 0x${b[0]!.toString(16)}`);
      return 1;
    },
    repeatable: false,
  },
  // Native protocol v4 OPTIONS (opcode 5) → SUPPORTED (opcode 6), no authentication needed.
  cassandra: {
    request: (seq) => Buffer.from([0x04, 0, (seq >> 8) & 0x7f, seq & 0xff, 0x05, 0, 0, 0, 0]),
    answerLength: (b) => (b.length >= 9 && b.length >= 9 + b.readUInt32BE(5) ? 9 + b.readUInt32BE(5) : 0),
    repeatable: true,
  },
  minio: {
    request: (_seq, host) => Buffer.from(`GET /minio/health/live HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
    answerLength: httpAnswer,
    repeatable: true,
    closeRequest: (host) => Buffer.from(`GET /minio/health/live HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  },
  // The push endpoint's /health: HTTP keep-alive, like MinIO's.
  push: {
    request: (_seq, host) => Buffer.from(`GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
    answerLength: httpAnswer,
    repeatable: true,
    closeRequest: (host) => Buffer.from(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  },
  // STUN Binding over TCP: coturn's TCP listener answers it without credentials.
  coturn: {
    request: () => {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(0x0001, 0);
      h.writeUInt32BE(0x2112a442, 4);
      randomBytes(12).copy(h, 8);
      return h;
    },
    answerLength: stunAnswer,
    repeatable: true,
  },
};

export interface ProbeOptions {
  /** Give up after this long (connect + answer); default 3000 ms. */
  timeoutMs?: number;
}

function open(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.setNoDelay(true);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${host}:${port}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(new Error(`connect ${host}:${port}: ${e.message}`));
    });
  });
}

/**
 * One request/answer round trip on a fresh connection: milliseconds from the request's write to the
 * complete answer (the connect is not counted: Toxiproxy accepts locally whatever the upstream does).
 * Rejects when the path gives no complete answer (refused, reset, closed, timed out).
 */
export async function probeRtt(dep: DependencyName, host: string, port: number, o: ProbeOptions = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const proto = PROTOCOLS[dep];
  const sock = await open(host, port, timeoutMs);
  try {
    return await new Promise<number>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`${dep} ${host}:${port}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${dep} ${host}:${port}: ${why}`));
      };
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        try {
          if (proto.answerLength(buf) > 0) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          }
        } catch (e) {
          fail((e as Error).message);
        }
      });
      sock.on('error', (e) => fail(e.message));
      sock.on('close', () => fail(`connection closed after ${buf.length} bytes, before a complete answer`));
      sock.write(proto.request(0, host));
    });
  } finally {
    sock.removeAllListeners();
    sock.on('error', () => undefined);
    sock.destroy();
  }
}

export interface RttSample {
  rtts: number[];
  failures: string[];
  medianMs: number | null;
}

/** `count` sequential probes; median of the ones that answered. */
export async function probeRtts(dep: DependencyName, host: string, port: number, count = 5, o: ProbeOptions = {}): Promise<RttSample> {
  // At once, each on its own connection: a verify() through a 3 s toxic takes 3 s, not 15, and stays
  // inside a fault that is rolled back on schedule whatever verify() is doing.
  const settled = await Promise.allSettled(Array.from({ length: count }, () => probeRtt(dep, host, port, o)));
  const rtts = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  const s = [...rtts].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const medianMs = s.length === 0 ? null : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { rtts, failures, medianMs };
}

export interface BurstResult {
  requests: number;
  answers: number;
  bytes: number;
  /** Reads the socket delivered: how finely the path sliced the data. */
  chunks: number;
  elapsedMs: number;
  /** The path closed the connection before every answer arrived. */
  closed: boolean;
  error?: string;
}

/**
 * Pipelined requests on one connection, to measure what a single round trip cannot: throughput
 * (bandwidth), slicing (slicer) and a byte cap (limit_data). Non-repeatable protocols send one.
 */
export async function probeBurst(dep: DependencyName, host: string, port: number, requests: number, o: ProbeOptions = {}): Promise<BurstResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const proto = PROTOCOLS[dep];
  const n = proto.repeatable ? Math.max(1, requests) : 1;
  const sock = await open(host, port, Math.min(timeoutMs, 3000));
  try {
    return await new Promise<BurstResult>((resolve) => {
      let buf = Buffer.alloc(0);
      const r: BurstResult = { requests: n, answers: 0, bytes: 0, chunks: 0, elapsedMs: 0, closed: false };
      const t0 = performance.now();
      const done = (extra: Partial<BurstResult> = {}) => {
        clearTimeout(timer);
        resolve({ ...r, ...extra, elapsedMs: performance.now() - t0 });
      };
      const timer = setTimeout(() => done({ error: `${r.answers}/${n} answers within ${timeoutMs} ms` }), timeoutMs);
      sock.on('data', (d: Buffer) => {
        r.bytes += d.length;
        r.chunks++;
        buf = Buffer.concat([buf, d]);
        try {
          for (let len = proto.answerLength(buf); len > 0; len = proto.answerLength(buf)) {
            buf = buf.subarray(len);
            if (++r.answers >= n) return done();
          }
        } catch (e) {
          done({ error: (e as Error).message });
        }
      });
      sock.on('error', (e) => done({ closed: true, error: e.message }));
      sock.on('close', () => done({ closed: true }));
      const reqs: Buffer[] = [];
      for (let i = 0; i < n; i++) reqs.push(proto.request(i % 0x7fff, host));
      sock.write(Buffer.concat(reqs));
    });
  } finally {
    sock.removeAllListeners();
    sock.on('error', () => undefined);
    sock.destroy();
  }
}

/** Whether `dep` has a request after which its server closes the connection. */
export const hasCloseProbe = (dep: DependencyName): boolean => PROTOCOLS[dep].closeRequest !== undefined;

/**
 * Send the protocol's closing request (Redis QUIT, HTTP Connection: close) and measure how long the
 * path keeps the connection open after the answer: what slow_close delays.
 */
export async function probeCloseDelay(dep: DependencyName, host: string, port: number, o: ProbeOptions = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const proto = PROTOCOLS[dep];
  if (!proto.closeRequest) throw new Error(`no closing request for ${dep}`);
  const sock = await open(host, port, 3000);
  try {
    return await new Promise<number>((resolve, reject) => {
      let answeredAt: number | null = null;
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error(`${dep}: connection still open ${timeoutMs} ms after the closing request`)), timeoutMs);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (answeredAt === null && proto.answerLength(buf) > 0) answeredAt = performance.now();
      });
      sock.on('error', () => undefined);
      sock.on('close', () => {
        clearTimeout(timer);
        if (answeredAt === null) reject(new Error(`${dep}: closed before answering`));
        else resolve(performance.now() - answeredAt);
      });
      sock.write(proto.closeRequest!(host));
    });
  } finally {
    sock.removeAllListeners();
    sock.on('error', () => undefined);
    sock.destroy();
  }
}
