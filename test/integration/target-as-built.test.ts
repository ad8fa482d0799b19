import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { redisClient } from '../../src/lab/services/redis.js';
import { cassandraClient } from '../../src/lab/services/cassandra.js';
import { postgresClient } from '../../src/lab/services/postgres.js';
import { testLab } from './helpers.js';

/**
 * The reference target's `as-built` profile: SecureConnect as its audited code really behaves
 * (measured on the real backend), each behaviour on its own, against the shared lab with the real
 * fault: Redis / MinIO outage = their Toxiproxy proxy disabled, a slow Cassandra = a latency toxic.
 * One as-built target serves the file; timers the real backend has at 10 s / 5 s are shortened
 * through their knobs (the defaults stay the measured values).
 */
const HEALTH_CHECK_MS = 2000;
const MINIO_TIMEOUT_MS = 1000;
const CASSANDRA_TIMEOUT_MS = 4000;
const ORIGIN = 'http://localhost:3000';
const INSTANCE = 'asb';

let lab: Lab;
let target: RunningTarget;
/** The gateway's log, and where this run's part of it starts (a lab keeps its logs across runs). */
let gatewayLog = '';
let gatewayLogFrom = 0;
const extra: RunningTarget[] = [];

beforeAll(async () => {
  lab = await testLab();
  gatewayLog = join(lab.state.dir, 'logs', `target-gateway-${INSTANCE}.log`);
  gatewayLogFrom = existsSync(gatewayLog) ? statSync(gatewayLog).size : 0;
  target = await startTarget(lab, {
    profile: 'as-built', instance: INSTANCE, portBase: 40,
    env: {
      // Set to show the as-built gateway ignores it (hard-coded 100/min).
      RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_SCOPE: `asb-${randomUUID().slice(0, 8)}`,
      REDIS_HEALTH_CHECK_INTERVAL_MS: String(HEALTH_CHECK_MS),
      MINIO_TIMEOUT_MS: String(MINIO_TIMEOUT_MS), MINIO_BREAKER_COOLDOWN_MS: '1000',
      CASSANDRA_TIMEOUT_MS: String(CASSANDRA_TIMEOUT_MS), WS_MAX_CONNECTIONS: '20',
    },
  });
}, 90_000);

afterAll(async () => {
  await proxyEnabled('redis', true).catch(() => undefined);
  await proxyEnabled('minio', true).catch(() => undefined);
  await removeToxic('cassandra').catch(() => undefined);
  for (const t of [...extra, target]) await t?.stop();
});

// ---------------------------------------------------------------- faults (the lab's Toxiproxy)

async function toxiproxy(method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${lab.toxiproxyUrl}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok && !(method === 'DELETE' && r.status === 404)) throw new Error(`toxiproxy ${method} ${path}: ${r.status} ${await r.text()}`);
}
const proxyEnabled = (name: 'redis' | 'minio', enabled: boolean) => toxiproxy('POST', `/proxies/${name}`, { enabled });
const addLatency = (name: string, ms: number) => toxiproxy('POST', `/proxies/${name}/toxics`, { name: 'asb-latency', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: ms, jitter: 0 } });
const removeToxic = (name: string) => toxiproxy('DELETE', `/proxies/${name}/toxics/asb-latency`);

/** Runs `fn` with the proxy disabled; always enables it again (and lets the clients reconnect). */
async function outage<T>(name: 'redis' | 'minio', fn: () => Promise<T>, settleMs = 1500): Promise<T> {
  await proxyEnabled(name, false);
  try {
    return await fn();
  } finally {
    await proxyEnabled(name, true);
    await sleep(settleMs);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- HTTP

interface Res { status: number; body: { data?: Record<string, unknown>; error?: { code: string } } & Record<string, unknown>; ms: number }
async function call(base: string, method: string, path: string, o: { body?: unknown; token?: string; ip?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  // The gateway limits per client IP (it trusts X-Forwarded-For): each test its own client.
  if (o.ip) headers['x-forwarded-for'] = o.ip;
  const t0 = performance.now();
  const r = await fetch(`${base}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let body: Res['body'] = {};
  try { body = JSON.parse(text) as Res['body']; } catch { /* not JSON */ }
  return { status: r.status, body, ms: performance.now() - t0 };
}
const svc = (name: keyof RunningTarget['serviceUrls']) => target.serviceUrls[name];

interface User { id: string; email: string; password: string; token: string }
const registration = () => {
  const id = randomUUID().slice(0, 8);
  return { email: `asb${id}@lab.test`, username: `asb_${id}`, password: `pw-${id}-long`, display_name: `AsBuilt ${id}` };
};
/** Register (login answers 500 on as-built, so register's tokens are the only ones). */
async function newUser(): Promise<User> {
  const b = registration();
  const r = await call(svc('auth'), 'POST', '/v1/auth/register', { body: b });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const d = r.body.data as { user: { user_id: string }; access_token: string };
  return { id: d.user.user_id, email: b.email, password: b.password, token: d.access_token };
}
const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

// ---------------------------------------------------------------- auth

describe('as-built auth', () => {
  it('login answers 500 even with Redis up (a missing lockout key is taken for an error)', async () => {
    const u = await newUser();
    const login = await call(svc('auth'), 'POST', '/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(500);
    expect(login.body.error?.code).toBe('INTERNAL_ERROR');
  });

  it('register needs Redis: 500 during the outage with the user row committed, so the retry gets 409', async () => {
    const b = registration();
    const during = await outage('redis', () => call(svc('auth'), 'POST', '/v1/auth/register', { body: b }));
    expect(during.status).toBe(500);
    const retry = await call(svc('auth'), 'POST', '/v1/auth/register', { body: b });
    expect(retry.status).toBe(409);
  });

  it('logout answers 500 and the token is never revoked', async () => {
    const u = await newUser();
    const out = await call(svc('auth'), 'POST', '/v1/auth/logout', { token: u.token, body: {} });
    expect(out.status).toBe(500);
    expect((await call(svc('auth'), 'GET', '/v1/auth/profile', { token: u.token })).status).toBe(200);
  });

  it('revocation fails open: a token revoked in Redis is 401, 200 during the outage, 401 again once Redis is back', async () => {
    const u = await newUser();
    const direct = lab.directEndpoint('redis');
    const redis = redisClient(lab.context(), direct.host, direct.port);
    try {
      await redis.connect();
      await redis.set(`blacklist:${jtiOf(u.token)}`, '1', 'EX', 600);
    } finally {
      redis.disconnect();
    }
    const profile = () => call(svc('auth'), 'GET', '/v1/auth/profile', { token: u.token });
    expect((await profile()).status).toBe(401);
    await proxyEnabled('redis', false);
    try {
      expect((await profile()).status).toBe(200);
    } finally {
      await proxyEnabled('redis', true);
    }
    // Accepted until the client has reconnected (~2 s measured on the real one), then refused again.
    const back = Date.now();
    let status = 0;
    while (Date.now() - back < 10_000 && (status = (await profile()).status) !== 401) await sleep(100);
    expect(status).toBe(401);
  });
});

// ---------------------------------------------------------------- chat

interface Sock { ws: WebSocket; frames: { type: string; content?: string }[] }
function chatSocket(base: string, conversationId: string, o: { token?: string; tokenInQuery?: boolean; origin?: string | null } = {}): Promise<Sock> {
  const q = new URLSearchParams({ conversation_id: conversationId });
  if (o.token && o.tokenInQuery) q.set('token', o.token);
  const headers: Record<string, string> = {};
  if (o.token && !o.tokenInQuery) headers.authorization = `Bearer ${o.token}`;
  const origin = o.origin === undefined ? ORIGIN : o.origin;
  if (origin !== null) headers.origin = origin;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws/chat?${q}`, { headers });
  const frames: Sock['frames'] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Sock['frames'][number]));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('unexpected-response', (_req, res) => { reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })); ws.terminate(); });
    ws.once('error', reject);
  });
}
async function refused(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 101;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
}
async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred() && Date.now() < end) await sleep(50);
  return pred();
}
const message = (conversationId: string, content: string) => ({ conversation_id: conversationId, content, message_type: 'text' });

describe('as-built chat', () => {
  it('POST /v1/messages requires message_type (400 without it)', async () => {
    const u = await newUser();
    const conv = randomUUID();
    expect((await call(svc('chat'), 'POST', '/v1/messages', { token: u.token, body: { conversation_id: conv, content: 'no type' } })).status).toBe(400);
    expect((await call(svc('chat'), 'POST', '/v1/messages', { token: u.token, body: message(conv, 'typed') })).status).toBe(201);
  });

  it('chatMetricsStill: with a socket open and a message stored, chat_ws_connections reads 0 and no persisted-message series is served (the real hub and SendMessage never update theirs)', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const conv = randomUUID();
    const sock = await chatSocket(svc('chat'), conv, { token: b.token });
    try {
      expect((await call(svc('chat'), 'POST', '/v1/messages', { token: a.token, body: message(conv, 'counted?') })).status).toBe(201);
      expect(await until(() => sock.frames.some((f) => f.content === 'counted?'), 5000)).toBe(true);
      const metrics = await (await fetch(`${svc('chat')}/metrics`)).text();
      expect(metrics).toMatch(/^chat_ws_connections\{[^}]*\} 0$/m);
      expect(metrics).not.toMatch(/^chat_messages_persisted_total\{/m);
      expect(metrics).toMatch(/^chat_messages_delivered_total\{[^}]*\} [1-9]/m);
    } finally {
      sock.ws.close();
    }
  });

  it('GET /v1/messages answers 500', async () => {
    const u = await newUser();
    const r = await call(svc('chat'), 'GET', `/v1/messages?conversation_id=${randomUUID()}`, { token: u.token });
    expect(r.status).toBe(500);
  });

  it('Redis outage: 10/10 sends acked 201 and stored, 0 delivered (sockets hear only the subscription)', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const conv = randomUUID();
    const sock = await chatSocket(svc('chat'), conv, { token: b.token });
    try {
      // Before the outage delivery works (through the subscription).
      await call(svc('chat'), 'POST', '/v1/messages', { token: a.token, body: message(conv, 'before') });
      expect(await until(() => sock.frames.some((f) => f.content === 'before'), 5000)).toBe(true);
      const statuses = await outage('redis', async () => {
        const out: number[] = [];
        for (let i = 0; i < 10; i++) out.push((await call(svc('chat'), 'POST', '/v1/messages', { token: a.token, body: message(conv, `during-${i}`) })).status);
        await sleep(1000);
        return out;
      });
      expect(statuses).toEqual(Array(10).fill(201));
      expect(sock.frames.filter((f) => f.content?.startsWith('during-'))).toEqual([]);
      const e = lab.directEndpoint('cassandra');
      const cass = cassandraClient(lab.context(), e.host, e.port);
      try {
        const rs = await cass.execute('SELECT content FROM secureconnect.messages WHERE conversation_id = ?', [conv], { prepare: true });
        expect(rs.rows.map((r) => String(r.get('content'))).filter((c) => c.startsWith('during-')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `during-${i}`).sort());
      } finally {
        await cass.shutdown();
      }
    } finally {
      sock.ws.close();
    }
  });

  it('Cassandra +3 s: the send answers 201 after ~3 s (no request timeout below the driver\'s)', async () => {
    const u = await newUser();
    await addLatency('cassandra', 3000);
    try {
      const r = await call(svc('chat'), 'POST', '/v1/messages', { token: u.token, body: message(randomUUID(), 'slow') });
      expect(r.status).toBe(201);
      expect(r.ms).toBeGreaterThan(2900);
      expect(r.ms).toBeLessThan(CASSANDRA_TIMEOUT_MS);
    } finally {
      await removeToxic('cassandra');
    }
  });

  it('Cassandra latency at or above the driver timeout: 4 attempts of CASSANDRA_TIMEOUT_MS, then 500', async () => {
    // Its own chat instance with a short driver timeout (1 s; 5 s real → ~20 s then 500).
    const chat = await startTarget(lab, { profile: 'as-built', instance: 'asb-cass', portBase: 50, services: ['chat'], env: { CASSANDRA_TIMEOUT_MS: '1000' } });
    extra.push(chat);
    const u = await newUser();
    await addLatency('cassandra', 1500);
    try {
      const r = await call(chat.serviceUrls.chat, 'POST', '/v1/messages', { token: u.token, body: message(randomUUID(), 'too slow') });
      expect(r.status).toBe(500);
      expect(r.ms).toBeGreaterThan(4 * 1000 - 100);
      expect(r.ms).toBeLessThan(4 * 1500 + 1500);
    } finally {
      await removeToxic('cassandra');
    }
  });

  it('chat socket: foreign or missing Origin 403, ?token= alone 401, bearer + allowed Origin opens', async () => {
    const u = await newUser();
    const conv = randomUUID();
    expect(await refused(chatSocket(svc('chat'), conv, { token: u.token, origin: 'https://evil.example' }))).toBe(403);
    expect(await refused(chatSocket(svc('chat'), conv, { token: u.token, origin: null }))).toBe(403);
    expect(await refused(chatSocket(svc('chat'), conv, { token: u.token, origin: '' }))).toBe(403);
    expect(await refused(chatSocket(svc('chat'), conv, { token: u.token, tokenInQuery: true }))).toBe(401);
    const ok = await chatSocket(svc('chat'), conv, { token: u.token });
    ok.ws.close();
  });

  it('the connection limit never holds: 40 of 40 sockets open against WS_MAX_CONNECTIONS=20', async () => {
    const u = await newUser();
    const socks = await Promise.allSettled(Array.from({ length: 40 }, () => chatSocket(svc('chat'), randomUUID(), { token: u.token })));
    try {
      await sleep(500);
      const open = socks.filter((s): s is PromiseFulfilledResult<Sock> => s.status === 'fulfilled' && s.value.ws.readyState === WebSocket.OPEN);
      expect(open.length).toBe(40);
    } finally {
      for (const s of socks) if (s.status === 'fulfilled') s.value.ws.terminate();
    }
  });
});

// ---------------------------------------------------------------- gateway rate limit

describe('as-built gateway rate limit', () => {
  const ip = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

  it('100/min per client IP on every route, /health included; RATE_LIMIT_PER_MINUTE ignored and logged once', async () => {
    const client = ip();
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await call(target.baseUrl, 'GET', '/health', { ip: client })).status);
    expect(statuses).toEqual(Array(100).fill(200));
    expect((await call(target.baseUrl, 'GET', '/health', { ip: client })).status).toBe(429);
    expect((await call(target.baseUrl, 'POST', '/v1/auth/register', { ip: client, body: registration() })).status).toBe(429);
    // Another client is not affected.
    expect((await call(target.baseUrl, 'GET', '/health', { ip: ip() })).status).toBe(200);
    const log = readFileSync(gatewayLog).subarray(gatewayLogFrom).toString('utf8');
    expect(log.split('\n').filter((l) => l.includes('RATE_LIMIT_PER_MINUTE ignored')).length).toBe(1);
  });

  it('Redis errors: 429 to everything until the health check marks Redis degraded, then in memory with a window of one second', async () => {
    await outage('redis', async () => {
      const down = Date.now();
      expect((await call(target.baseUrl, 'GET', '/health', { ip: ip() })).status).toBe(429);
      // Refused until the next health check (interval + its 2 s ping bound at most).
      let status = 429;
      while (Date.now() - down < HEALTH_CHECK_MS + 3000 && (status = (await call(target.baseUrl, 'GET', '/health', { ip: ip() })).status) === 429) await sleep(100);
      expect(status).toBe(200);
      // Degraded: the in-memory window restarts every second, so 100 per second go through.
      const client = ip();
      for (let attempt = 0; attempt < 3; attempt++) {
        while (Date.now() % 1000 > 50) await sleep(5);
        const t0 = Date.now();
        const burst: number[] = [];
        for (let i = 0; i < 110; i++) burst.push((await call(target.baseUrl, 'GET', '/health', { ip: client })).status);
        // A burst that crossed a second boundary proves nothing: try again.
        if (Math.floor(Date.now() / 1000) !== Math.floor(t0 / 1000)) continue;
        expect(burst.slice(0, 100)).toEqual(Array(100).fill(200));
        expect(burst.slice(100)).toEqual(Array(10).fill(429));
        while (Math.floor(Date.now() / 1000) === Math.floor(t0 / 1000)) await sleep(10);
        expect((await call(target.baseUrl, 'GET', '/health', { ip: client })).status).toBe(200);
        return;
      }
      throw new Error('no 110-request burst fitted in one second');
    });
  });
});

// ---------------------------------------------------------------- storage

describe('as-built storage', () => {
  const uploadUrl = (token: string) => call(svc('storage'), 'POST', '/v1/storage/upload-url', { token, body: { file_name: 'a.bin', file_size: 16, content_type: 'application/octet-stream' } });

  it('upload-complete always answers 500 (the object is there)', async () => {
    const u = await newUser();
    const up = await uploadUrl(u.token);
    expect(up.status).toBe(200);
    const put = await fetch(up.body.data!.UploadURL as string, { method: 'PUT', body: Buffer.alloc(16, 1) });
    expect(put.status).toBe(200);
    const done = await call(svc('storage'), 'POST', '/v1/storage/upload-complete', { token: u.token, body: { file_id: up.body.data!.FileID } });
    expect(done.status).toBe(500);
  });

  it('MinIO down: presigning is local (upload-url 200 fast), the client\'s PUT fails fast', async () => {
    const u = await newUser();
    await outage('minio', async () => {
      const up = await uploadUrl(u.token);
      expect(up.status).toBe(200);
      expect(up.ms).toBeLessThan(500);
      const t0 = performance.now();
      const put = await fetch(up.body.data!.UploadURL as string, { method: 'PUT', body: Buffer.alloc(16, 1), signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
      expect(put).not.toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);
    }, 200);
  });

  it('MinIO down: DELETE takes two client timeouts then 500; the breaker opens only after that and never half-opens', async () => {
    const u = await newUser();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await uploadUrl(u.token)).body.data!.FileID as string);
    const del = (id: string) => call(svc('storage'), 'DELETE', `/v1/storage/files/${id}`, { token: u.token });
    await outage('minio', async () => {
      // ~10 s on the real one (2 × 5 s): a client with a 10 s budget never sees the breaker.
      const first = await del(ids[0]!);
      expect(first.status).toBe(500);
      expect(first.ms).toBeGreaterThan(2 * MINIO_TIMEOUT_MS - 100);
      expect(first.ms).toBeLessThan(2 * MINIO_TIMEOUT_MS + 1500);
      expect((await del(ids[1]!)).status).toBe(500); // its lookup is the third failure: open
      const open = await del(ids[2]!);
      expect(open.status).toBe(500);
      expect(open.ms).toBeLessThan(300);
    }, 200);
    // MinIO back, cooldown (1 s) long past: still refused at once, no trial call.
    await sleep(1500);
    const after = await del(ids[3]!);
    expect(after.status).toBe(500);
    expect(after.ms).toBeLessThan(300);
    const m = await (await fetch(`${svc('storage')}/metrics`)).text();
    expect(/^storage_minio_breaker_state(?:\{[^}]*\})? 2$/m.test(m)).toBe(true);
  });

  it('storage-service refuses to start while MinIO is down (non-zero exit, a log line naming MinIO)', async () => {
    await outage('minio', async () => {
      await expect(startTarget(lab, { profile: 'as-built', instance: 'asb-st', portBase: 60, services: ['storage'], env: { MINIO_TIMEOUT_MS: '500' } }))
        .rejects.toThrow(/exited during start[\s\S]*MinIO not reachable/);
    }, 200);
  });
});

// ---------------------------------------------------------------- video

describe('as-built video', () => {
  const initiate = (token: string, conv: string, callees: string[]) => call(svc('video'), 'POST', '/v1/calls/initiate', { token, body: { call_type: 'video', conversation_id: conv, callee_ids: callees } });

  it('a 5-person initiate answers 500 after the call row is created (an orphan "ringing" call)', async () => {
    const caller = await newUser();
    const conv = randomUUID();
    const r = await initiate(caller.token, conv, Array.from({ length: 4 }, () => randomUUID()));
    expect(r.status).toBe(500);
    const db = postgresClient(lab.context(), lab.directEndpoint('postgres').host, lab.directEndpoint('postgres').port);
    await db.connect();
    try {
      const rows = (await db.query<{ status: string }>('select status from calls where conversation_id = $1', [conv])).rows;
      expect(rows).toEqual([{ status: 'ringing' }]);
    } finally {
      await db.end();
    }
  });

  it('the 5th join answers 500', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser()));
    const r = await initiate(users[0]!.token, randomUUID(), [users[1]!.id]);
    expect(r.status).toBe(201);
    const callId = r.body.data!.CallID as string;
    const joins: number[] = [];
    for (const u of users.slice(1)) joins.push((await call(svc('video'), 'POST', `/v1/calls/${callId}/join`, { token: u.token, body: {} })).status);
    expect(joins).toEqual([200, 200, 200, 500]);
  });

  it('signaling at /v1/calls/ws/signaling: bearer header opens, ?token= alone is 401', async () => {
    const u = await newUser();
    const url = `${svc('video').replace(/^http/, 'ws')}/v1/calls/ws/signaling?call_id=${randomUUID()}`;
    const open = (o: { header: boolean }) => new Promise<number>((resolve) => {
      const ws = new WebSocket(o.header ? url : `${url}&token=${u.token}`, { headers: { origin: ORIGIN, ...(o.header ? { authorization: `Bearer ${u.token}` } : {}) } });
      ws.once('open', () => { ws.close(); resolve(101); });
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? -1); ws.terminate(); });
      ws.once('error', () => resolve(-1));
    });
    expect(await open({ header: true })).toBe(101);
    expect(await open({ header: false })).toBe(401);
  });
});
