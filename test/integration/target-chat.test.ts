import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { cassandraClient } from '../../src/lab/services/cassandra.js';
import { validateChatServerFrame } from '../../fixtures/secureconnect/contract/ws-messages.js';
import { ContractValidator } from '../../src/contract/openapi.js';
import { PORT_OFFSET } from '../../fixtures/secureconnect/target/names.js';

/**
 * The reference target's chat-service through its gateway, on its own lab (Cassandra is slow to
 * start and the toxics here must not disturb the shared lab's other users).
 */
const LAB = 'hchat';
let lab: Lab;
const contract = new ContractValidator();
/** Asserts the response conforms to the contract's schema for that operation and status. */
function conforms(method: string, path: string, r: Res): void {
  expect(contract.check(method, path, r.status, r.body), `${method} ${path} -> ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`).toBeNull();
}

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, basePort: 25000, only: ['redis', 'postgres', 'cassandra'] });
});

afterAll(async () => {
  await Lab.down(LAB);
});

// ---------------------------------------------------------------- helpers

async function toxiproxy(method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${lab.toxiproxyUrl}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok && !(method === 'DELETE' && r.status === 404)) throw new Error(`toxiproxy ${method} ${path}: ${r.status} ${await r.text()}`);
}
const setProxyEnabled = (name: string, enabled: boolean) => toxiproxy('POST', `/proxies/${name}`, { enabled });
const addLatency = (name: string, ms: number) => toxiproxy('POST', `/proxies/${name}/toxics`, { name: 'chat-latency', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: ms, jitter: 0 } });
const removeLatency = (name: string) => toxiproxy('DELETE', `/proxies/${name}/toxics/chat-latency`);

interface Res { status: number; body: unknown; headers: Headers; ms: number }
async function call(t: RunningTarget, method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const t0 = Date.now();
  const r = await fetch(`${t.baseUrl}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, headers: r.headers, ms: Date.now() - t0 };
}
const data = <T>(r: Res): T => (r.body as { data: T }).data;

interface User { user_id: string; token: string }
async function newUser(t: RunningTarget): Promise<User> {
  const id = randomUUID().slice(0, 8);
  const r = await call(t, 'POST', '/v1/auth/register', { body: { email: `c${id}@lab.test`, username: `chat_${id}`, password: `pw-${id}-long`, display_name: `Chat ${id}` } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const d = data<{ user: { user_id: string }; access_token: string }>(r);
  return { user_id: d.user.user_id, token: d.access_token };
}

/** Server frames that do not validate against the contract's ChatServerFrame (checked after each block). */
const badFrames: string[] = [];

interface Frame { type: string; conversation_id: string; sender_id: string; message_id: string; content?: string; client_message_id?: string; timestamp: string }
interface Sock {
  ws: WebSocket;
  frames: Frame[];
  next(pred: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  closed: Promise<number>;
}

/** Opens a chat socket; rejects with the HTTP status when the upgrade is refused. */
function connect(t: RunningTarget, conversationId: string, o: { token?: string; tokenInQuery?: boolean; origin?: string } = {}): Promise<Sock> {
  const q = new URLSearchParams({ conversation_id: conversationId });
  if (o.token && o.tokenInQuery) q.set('token', o.token);
  const headers: Record<string, string> = {};
  if (o.token && !o.tokenInQuery) headers.authorization = `Bearer ${o.token}`;
  if (o.origin) headers.origin = o.origin;
  const ws = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/v1/ws/chat?${q}`, { headers });
  const frames: Frame[] = [];
  const waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as Frame;
    const check = validateChatServerFrame(f);
    if (!check.ok) badFrames.push(`${d.toString().slice(0, 200)}: ${check.errors.join('; ')}`);
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const sock: Sock = {
    ws, frames, closed,
    next: (pred, timeoutMs = 5000) => {
      const have = frames.find(pred);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f.type))}`)), timeoutMs);
        waiters.push({ pred, resolve: (f) => { clearTimeout(timer); resolve(f); } });
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(sock));
    ws.once('unexpected-response', (_req, res) => { reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })); ws.terminate(); });
    ws.once('error', (e) => reject(e));
  });
}
async function refusedStatus(p: Promise<Sock>): Promise<number> {
  try {
    const s = await p;
    s.ws.close();
    return 101;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
}
/** Connected and subscribed: the socket has seen its own user_joined. */
async function joined(t: RunningTarget, cid: string, u: User): Promise<Sock> {
  const s = await connect(t, cid, { token: u.token });
  await s.next((f) => f.type === 'user_joined' && f.sender_id === u.user_id);
  return s;
}
const closeAll = (socks: Sock[]) => { for (const s of socks) s.ws.terminate(); };

const TARGET_ENV = { RATE_LIMIT_PER_MINUTE: '100000', WS_MAX_CONNECTIONS: '3' };

// ---------------------------------------------------------------- audited profile (+ a second instance)

describe('chat through the gateway (audited)', () => {
  let a: RunningTarget;
  let b: RunningTarget;
  beforeAll(async () => {
    a = await startTarget(lab, { profile: 'audited', env: TARGET_ENV });
    // Instance b carries the test hooks (they only touch deliveries to b's own sockets).
    b = await startTarget(lab, { profile: 'audited', instance: 'b', portBase: 10, env: { ...TARGET_ENV, SC_TEST_DROP_DELIVERY_OF: 'hook-drop', SC_TEST_DUPLICATE_DELIVERY_OF: 'hook-dup' } });
  });
  afterAll(async () => {
    await setProxyEnabled('redis', true).catch(() => undefined);
    await removeLatency('cassandra').catch(() => undefined);
    await a?.stop();
    await b?.stop();
    expect(badFrames).toEqual([]);
  });

  it('a POSTed message is acked (201), stored in Cassandra and delivered to the other socket; history pages newest first', async () => {
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(a, cid, ub);
    try {
      const clientId = `c-${randomUUID()}`;
      const r = await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: 'hello B', client_message_id: clientId, sequence: 1 } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      conforms('post', '/v1/messages', r);
      const m = data<{ message_id: string; sender_id: string; sent_at: string; message_type: string; is_encrypted: boolean; client_message_id: string }>(r);
      expect(m).toMatchObject({ sender_id: ua.user_id, message_type: 'text', is_encrypted: false, client_message_id: clientId });
      expect(Number.isNaN(Date.parse(m.sent_at))).toBe(false);

      const f = await sb.next((x) => x.message_id === m.message_id);
      expect(f).toMatchObject({ type: '', conversation_id: cid, sender_id: ua.user_id, content: 'hello B', client_message_id: clientId });

      const { host, port } = lab.endpoint('cassandra');
      const c = cassandraClient(lab.context(), host, port);
      try {
        await c.connect();
        const rows = await c.execute('SELECT message_id, sender_id, content FROM secureconnect.messages WHERE conversation_id = ?', [cid], { prepare: true });
        expect(rows.rows.map((x) => String(x.get('message_id')))).toContain(m.message_id);
        expect(String(rows.first().get('sender_id'))).toBe(ua.user_id);
      } finally {
        await c.shutdown();
      }

      // Two more, then page through the history 2 at a time.
      for (const text of ['second', 'third']) expect((await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: text } })).status).toBe(201);
      const page1 = await call(a, 'GET', `/v1/messages?conversation_id=${cid}&limit=2`, { token: ub.token });
      conforms('get', '/v1/messages', page1);
      const p1 = data<{ messages: { content: string }[]; next_page_state: string; has_more: boolean }>(page1);
      expect(p1.messages.map((x) => x.content)).toEqual(['third', 'second']);
      expect(p1.has_more).toBe(true);
      const p2 = data<{ messages: { content: string }[] }>(await call(a, 'GET', `/v1/messages?conversation_id=${cid}&limit=2&page_state=${encodeURIComponent(p1.next_page_state)}`, { token: ub.token }));
      expect(p2.messages.map((x) => x.content)).toEqual(['hello B']);

      // Validation.
      expect((await call(a, 'GET', `/v1/messages?conversation_id=${cid}&page_state=${encodeURIComponent(Buffer.from('forged page state').toString('base64'))}`, { token: ub.token })).status).toBe(400);
      const bad = await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: 'nope', content: 'x' } });
      expect(bad.status).toBe(400);
      conforms('post', '/v1/messages', bad);
      expect((await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: 'x'.repeat(10_001) } })).status).toBe(400);
      expect((await call(a, 'POST', '/v1/messages', { body: { conversation_id: cid, content: 'x' } })).status).toBe(401);
    } finally {
      closeAll([sb]);
    }
  });

  it('socket chat frames are persisted and fanned out (sender gets its ack); typing relayed; user_left on leave', async () => {
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(a, cid, ub);
    // Token as a query parameter (extension for browsers).
    const sa = await connect(a, cid, { token: ua.token, tokenInQuery: true });
    try {
      await sb.next((f) => f.type === 'user_joined' && f.sender_id === ua.user_id);
      await sa.next((f) => f.type === 'user_joined' && f.sender_id === ua.user_id);
      sa.ws.send(JSON.stringify({ type: 'chat', content: 'over the socket', client_message_id: 'ws-1' }));
      const ack = await sa.next((f) => f.type === 'chat' && f.client_message_id === 'ws-1');
      const got = await sb.next((f) => f.type === 'chat' && f.client_message_id === 'ws-1');
      expect(got.message_id).toBe(ack.message_id);
      const hist = data<{ messages: { message_id: string }[] }>(await call(a, 'GET', `/v1/messages?conversation_id=${cid}`, { token: ua.token }));
      expect(hist.messages.map((x) => x.message_id)).toContain(ack.message_id);
      sa.ws.send(JSON.stringify({ type: 'typing' }));
      await sb.next((f) => f.type === 'typing' && f.sender_id === ua.user_id);
      sa.ws.close();
      await sb.next((f) => f.type === 'user_left' && f.sender_id === ua.user_id);
    } finally {
      closeAll([sa, sb]);
    }
  });

  it('rejected upgrades: 403 for a foreign Origin, 401 without a token, 400 for a bad conversation_id', async () => {
    const u = await newUser(a);
    const cid = randomUUID();
    expect(await refusedStatus(connect(a, cid, { token: u.token, origin: 'http://evil.example' }))).toBe(403);
    expect(await refusedStatus(connect(a, cid, {}))).toBe(401);
    expect(await refusedStatus(connect(a, cid, { token: 'not.a.jwt' }))).toBe(401);
    expect(await refusedStatus(connect(a, 'not-a-uuid', { token: u.token }))).toBe(400);
    expect(await refusedStatus(connect(a, cid, { token: u.token, origin: 'http://localhost:3000' }))).toBe(101);
  });

  it('two chat instances: B on instance b receives what A sends through instance a', async () => {
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(b, cid, ub);
    try {
      const r = await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: 'across instances' } });
      expect(r.status).toBe(201);
      const id = data<{ message_id: string }>(r).message_id;
      expect((await sb.next((f) => f.message_id === id)).content).toBe('across instances');
    } finally {
      closeAll([sb]);
    }
  });

  it('test hooks: the chosen client_message_id is dropped / delivered twice; metrics count messages and sockets', async () => {
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(b, cid, ub);
    try {
      for (const client_message_id of ['hook-drop', 'hook-dup', 'hook-last']) {
        expect((await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: client_message_id, client_message_id } })).status).toBe(201);
      }
      await sb.next((f) => f.client_message_id === 'hook-last');
      await new Promise((r) => setTimeout(r, 200));
      const seen = sb.frames.filter((f) => f.client_message_id).map((f) => f.client_message_id);
      expect(seen).toEqual(['hook-dup', 'hook-dup', 'hook-last']);
      const metrics = await (await fetch(`http://${lab.address}:${lab.ports.target.min + 10 + PORT_OFFSET.chat}/metrics`)).text();
      expect(metrics).toMatch(/^chat_ws_connections\{[^}]*\} 1$/m);
      expect(metrics).toMatch(/^chat_messages_delivered_total\{[^}]*type="message"[^}]*\} [1-9]/m);
      const metricsA = await (await fetch(`http://${lab.address}:${lab.ports.target.min + PORT_OFFSET.chat}/metrics`)).text();
      expect(metricsA).toMatch(/^chat_messages_persisted_total\{[^}]*via="rest"[^}]*\} [1-9]/m);
    } finally {
      closeAll([sb]);
    }
  });

  it('Redis down: presence answers 200 (skipped) and messages are still delivered (locally)', async () => {
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(a, cid, ub);
    try {
      await setProxyEnabled('redis', false);
      const p = await call(a, 'POST', '/v1/presence', { token: ua.token, body: { status: 'online' } });
      expect(p.status, JSON.stringify(p.body)).toBe(200);
      conforms('post', '/v1/presence', p);
      const r = await call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: 'redis is down' } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const id = data<{ message_id: string }>(r).message_id;
      expect((await sb.next((f) => f.message_id === id)).content).toBe('redis is down');
    } finally {
      await setProxyEnabled('redis', true);
      closeAll([sb]);
    }
  });

  it('the subscription cut (Redis drops the pub/sub connections; ioredis waits 100 ms to reconnect): a burst sent meanwhile still reaches this instance\'s sockets', async () => {
    // Publishes succeed with no subscriber to hear them, as at the instant an outage begins: a target whose own
    // sockets hear only the subscription (as-built) loses them.
    const [ua, ub] = [await newUser(a), await newUser(a)];
    const cid = randomUUID();
    const sb = await joined(a, cid, ub);
    const ep = lab.directEndpoint('redis');
    const admin = new Redis({ host: ep.host, port: ep.port, password: lab.credentials.redisPassword, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
      const sent = await Promise.all(Array.from({ length: 5 }, (_, i) => call(a, 'POST', '/v1/messages', { token: ua.token, body: { conversation_id: cid, content: `cut ${i}` } })));
      for (const r of sent) expect(r.status, JSON.stringify(r.body)).toBe(201);
      for (const r of sent) await sb.next((f) => f.message_id === data<{ message_id: string }>(r).message_id);
    } finally {
      admin.disconnect();
      closeAll([sb]);
    }
  });

  it('cassandraGuard off: a 3 s Cassandra latency holds the POST (> 2.5 s)', async () => {
    const u = await newUser(a);
    const cid = randomUUID();
    // Warm the prepared statement first, so the timing is one round trip.
    expect((await call(a, 'POST', '/v1/messages', { token: u.token, body: { conversation_id: cid, content: 'warm' } })).status).toBe(201);
    await addLatency('cassandra', 3000);
    try {
      const r = await call(a, 'POST', '/v1/messages', { token: u.token, body: { conversation_id: cid, content: 'slow' } });
      expect(r.ms).toBeGreaterThan(2500);
    } finally {
      await removeLatency('cassandra');
    }
  });

  it('wsConnectionLimit off: a 4th socket stays open with WS_MAX_CONNECTIONS=3', async () => {
    const u = await newUser(a);
    const cid = randomUUID();
    const socks: Sock[] = [];
    try {
      for (let i = 0; i < 4; i++) socks.push(await connect(a, cid, { token: u.token }));
      await new Promise((r) => setTimeout(r, 500));
      expect(socks.map((s) => s.ws.readyState)).toEqual([WebSocket.OPEN, WebSocket.OPEN, WebSocket.OPEN, WebSocket.OPEN]);
    } finally {
      closeAll(socks);
    }
  });
});

// ---------------------------------------------------------------- hardened profile

describe('chat through the gateway (hardened)', () => {
  let h: RunningTarget;
  beforeAll(async () => {
    h = await startTarget(lab, { profile: 'hardened', env: TARGET_ENV });
  });
  afterAll(async () => {
    await removeLatency('cassandra').catch(() => undefined);
    await h?.stop();
    expect(badFrames).toEqual([]);
  });

  it('wsConnectionLimit on: the 4th socket is closed with 1013 (WS_MAX_CONNECTIONS=3)', async () => {
    const u = await newUser(h);
    const cid = randomUUID();
    const socks: Sock[] = [];
    try {
      for (let i = 0; i < 3; i++) socks.push(await connect(h, cid, { token: u.token }));
      const fourth = await connect(h, cid, { token: u.token });
      socks.push(fourth);
      expect(await fourth.closed).toBe(1013);
      expect(socks.slice(0, 3).map((s) => s.ws.readyState)).toEqual([WebSocket.OPEN, WebSocket.OPEN, WebSocket.OPEN]);
      // A slot freed is a slot usable again.
      socks[0]!.ws.close();
      await socks[0]!.closed;
      await new Promise((r) => setTimeout(r, 200));
      const again = await connect(h, cid, { token: u.token });
      socks.push(again);
      await again.next((f) => f.type === 'user_joined');
      expect(again.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      closeAll(socks);
    }
  });

  it('cassandraGuard on: a 3 s latency gets 503 + Retry-After in < 1.5 s, then the breaker fails fast; it closes again', async () => {
    const u = await newUser(h);
    const cid = randomUUID();
    // A forged page_state is the client's fault: 400, and it does not count against the breaker.
    const forged = encodeURIComponent(Buffer.from('forged page state').toString('base64'));
    for (let i = 0; i < 4; i++) expect((await call(h, 'GET', `/v1/messages?conversation_id=${cid}&page_state=${forged}`, { token: u.token })).status).toBe(400);
    expect((await call(h, 'POST', '/v1/messages', { token: u.token, body: { conversation_id: cid, content: 'warm' } })).status).toBe(201);
    await addLatency('cassandra', 3000);
    try {
      const results: Res[] = [];
      for (let i = 0; i < 4; i++) results.push(await call(h, 'POST', '/v1/messages', { token: u.token, body: { conversation_id: cid, content: `slow ${i}` } }));
      for (const r of results) {
        expect(r.status, JSON.stringify(r.body)).toBe(503);
        expect((r.body as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.ms).toBeLessThan(1500);
      }
      // 3 timeouts opened the breaker: the 4th did not wait for Cassandra.
      expect(results[3]!.ms).toBeLessThan(300);
      const hist = await call(h, 'GET', `/v1/messages?conversation_id=${cid}`, { token: u.token });
      expect(hist.status).toBe(503);
      expect(hist.ms).toBeLessThan(300);
    } finally {
      await removeLatency('cassandra');
    }
    // After the open period one trial goes through and closes it.
    await new Promise((r) => setTimeout(r, 5500));
    const ok = await call(h, 'POST', '/v1/messages', { token: u.token, body: { conversation_id: cid, content: 'recovered' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });
});
