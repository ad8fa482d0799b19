import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { testLab } from './helpers.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { edgeStatus, edgeUrls } from '../../src/lab/edge.js';
import { EDGE_BURST } from '../../src/lab/edge-config.js';
import type { Lab } from '../../src/lab/lab.js';

/**
 * nginx, the lab's public entry, in front of a real reference target: requests and chat WebSockets reach
 * the gateway through it; on hardened only over TLS (the lab's certificate trusted explicitly, per request),
 * plain HTTP redirected, and a burst from one client refused 429 by nginx itself.
 */
let lab: Lab;
const ORIGIN = 'http://localhost:3000';
const INSTANCE = 'edge';
/** The gateway's per-IP windows live in the lab's shared Redis: a scope of this run's own, so other files' requests do not count. */
const TARGET_ENV = { RATE_LIMIT_SCOPE: `edge-${randomUUID().slice(0, 8)}` };

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One request, http or https; `ca` is the only trust added, for this request alone. */
function send(url: string, o: { method?: string; body?: unknown; headers?: Record<string, string>; ca?: Buffer } = {}): Promise<Res> {
  const u = new URL(url);
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers: Record<string, string> = { ...o.headers, ...(payload ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const done = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const opts = { method: o.method ?? 'GET', headers, timeout: 10_000, agent: false as const };
    const req = u.protocol === 'https:' ? httpsRequest(u, { ...opts, ca: o.ca }, done) : httpRequest(u, opts, done);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Which server wrote a 429: nginx's own error page, or the gateway's JSON. */
function answeredBy(r: Res): 'nginx' | 'gateway' | 'other' {
  if (/<center>nginx[^<]*<\/center>/.test(r.body)) return 'nginx';
  try {
    const j = JSON.parse(r.body) as { error?: unknown };
    return j.error === 'Rate limit exceeded' ? 'gateway' : 'other';
  } catch {
    return 'other';
  }
}

async function newUser(base: string, ca?: Buffer): Promise<{ userId: string; token: string }> {
  const id = randomUUID().slice(0, 8);
  const r = await send(`${base}/v1/auth/register`, { method: 'POST', ca, headers: { origin: ORIGIN }, body: { email: `e${id}@lab.test`, username: `edge_${id}`, password: `pw-${id}-long`, display_name: `Edge ${id}` } });
  expect(r.status, r.body).toBe(201);
  const d = (JSON.parse(r.body) as { data: { user: { user_id: string }; access_token: string } }).data;
  return { userId: d.user.user_id, token: d.access_token };
}

/** A chat socket through the entry: joined (its own user_joined seen), a message sent and acked. */
async function chatRoundTrip(wsBase: string, u: { userId: string; token: string }, ca?: Buffer): Promise<void> {
  const cid = randomUUID();
  const ws = new WebSocket(`${wsBase}/v1/ws/chat?conversation_id=${cid}`, { headers: { authorization: `Bearer ${u.token}`, origin: ORIGIN }, ca });
  const frames: { type?: string; sender_id?: string; client_message_id?: string; message_id?: string }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chat socket: no ack within 10 s; frames ${JSON.stringify(frames.map((f) => f.type))}`)), 10_000);
      ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as (typeof frames)[number];
        frames.push(f);
        if (f.type === 'user_joined' && f.sender_id === u.userId) ws.send(JSON.stringify({ type: 'chat', content: 'through the edge', client_message_id: 'edge-1' }));
        if (f.type === 'chat' && f.client_message_id === 'edge-1' && f.message_id) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    ws.terminate();
  }
}

beforeAll(async () => {
  lab = await testLab();
});

describe('nginx, the public entry', () => {
  it('is up with the lab, fronting nothing: nginx answers 503 itself until a target asks for it', async () => {
    const st = (await lab.status()).find((s) => s.name === 'nginx');
    expect(st, 'nginx in lab status').toMatchObject({ running: true, healthy: true });
    expect(await edgeStatus(lab.address, lab.ports.edge.status)).toMatch(/ none$/);
    const r = await send(`${edgeUrls(lab).http}/health`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/no target behind the edge/);
  });

  describe('as-built: plain HTTP, no edge rate limit, no TLS (as the audit found)', () => {
    let t: RunningTarget;
    beforeAll(async () => {
      t = await startTarget(lab, { profile: 'as-built', instance: INSTANCE, portBase: 30, edge: true, env: TARGET_ENV });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('what the gateway takes for the client behind nginx: the X-Forwarded-For nginx appends to (spoofable)', async () => {
      const probe = '/v1/sch-edge-probe';
      const remaining = (r: Res) => Number(r.headers['x-ratelimit-remaining']);
      // Direct and through nginx, from the same host address: one bucket means the gateway keyed the client, not nginx.
      const direct1 = remaining(await send(`${t.baseUrl}${probe}`));
      const viaEdge = remaining(await send(`${t.edge!.http}${probe}`));
      const direct2 = remaining(await send(`${t.baseUrl}${probe}`));
      process.stderr.write(`[edge] gateway X-RateLimit-Remaining: direct ${direct1}, through nginx ${viaEdge}, direct ${direct2}\n`);
      expect([direct1 - viaEdge, viaEdge - direct2]).toEqual([1, 1]);
      // A client-supplied X-Forwarded-For is kept leftmost by nginx ($proxy_add_x_forwarded_for) and taken as the client: a fresh bucket.
      const spoofed = await send(`${t.edge!.http}${probe}`, { headers: { 'x-forwarded-for': `203.0.113.${1 + Math.floor(Math.random() * 250)}` } });
      process.stderr.write(`[edge] with a forged X-Forwarded-For: remaining ${remaining(spoofed)} of ${String(spoofed.headers['x-ratelimit-limit'])}\n`);
      expect(remaining(spoofed)).toBe(Number(spoofed.headers['x-ratelimit-limit']) - 1);
    });

    it('carries a request and a chat WebSocket to the gateway; no TLS listener; a burst is not limited by nginx', async () => {
      const e = t.edge!;
      const h = await send(`${e.http}/health`);
      expect(h.status, h.body).toBe(200);
      expect(JSON.parse(h.body)).toMatchObject({ service: 'api-gateway' });
      const u = await newUser(e.http);
      await chatRoundTrip(e.http.replace(/^http/, 'ws'), u);
      await expect(send(`${e.https}/health`, { ca: readFileSync(e.caFile) })).rejects.toThrow(/ECONNREFUSED/);
      const burst = await Promise.all(Array.from({ length: EDGE_BURST * 2 }, () => send(`${e.http}/health`)));
      expect(burst.filter((r) => answeredBy(r) === 'nginx')).toHaveLength(0);
    });
  });

  describe('hardened: TLS with the lab certificate, plain HTTP redirected, limit_req 429 from nginx', () => {
    let t: RunningTarget;
    let ca: Buffer;
    beforeAll(async () => {
      t = await startTarget(lab, { profile: 'hardened', instance: INSTANCE, portBase: 30, edge: true, env: TARGET_ENV });
      ca = readFileSync(t.edge!.caFile);
    });
    afterAll(async () => {
      await t?.stop();
      // Stopping the fronted target leaves nginx fronting nothing again.
      expect(await edgeStatus(lab.address, lab.ports.edge.status)).toMatch(/ none$/);
    });

    it('TLS works with the lab certificate passed to the request (and only with it); a chat WebSocket over wss', async () => {
      const e = t.edge!;
      const h = await send(`${e.https}/health`, { ca });
      expect(h.status, h.body).toBe(200);
      expect(JSON.parse(h.body)).toMatchObject({ service: 'api-gateway' });
      // Verification is on: without the lab certificate the same request is refused by the client.
      await expect(send(`${e.https}/health`)).rejects.toThrow(/self[- ]signed|unable to verify/i);
      const u = await newUser(e.https, ca);
      await chatRoundTrip(e.https.replace(/^https/, 'wss'), u, ca);
    });

    it('a forged X-Forwarded-For buys no fresh bucket: the entry names the client itself', async () => {
      const probe = `${t.edge!.https}/v1/sch-edge-probe`;
      const remaining = (r: Res) => Number(r.headers['x-ratelimit-remaining']);
      const own = remaining(await send(probe, { ca }));
      const forged = remaining(await send(probe, { ca, headers: { 'x-forwarded-for': '203.0.113.77' } }));
      process.stderr.write(`[edge] hardened: remaining ${own}, then ${forged} with a forged X-Forwarded-For\n`);
      expect(own - forged).toBe(1);
    });

    it('plain HTTP is redirected to the TLS listener, never proxied', async () => {
      const r = await send(`${t.edge!.http}/v1/auth/login`, { method: 'POST', body: { email: 'x@lab.test', password: 'y' } });
      expect(r.status).toBe(301);
      expect(r.headers.location).toBe(`${t.edge!.https}/v1/auth/login`);
      // nginx's own redirect page: the request never reached the gateway.
      expect(answeredBy(r)).toBe('nginx');
      expect(r.headers['x-request-id']).toBeUndefined();
    });

    it('a burst from one client gets 429 from nginx (its error page), never from the gateway', async () => {
      const burst = await Promise.all(Array.from({ length: EDGE_BURST * 3 }, () => send(`${t.edge!.https}/health`, { ca })));
      const by = { nginx: 0, gateway: 0, served: 0 };
      for (const r of burst) {
        if (r.status === 200) by.served++;
        else if (r.status === 429) by[answeredBy(r) === 'nginx' ? 'nginx' : 'gateway']++;
      }
      process.stderr.write(`[edge] burst of ${burst.length}: ${by.served} served, 429 from nginx ${by.nginx}, 429 from the gateway ${by.gateway}\n`);
      expect(by.served).toBeGreaterThan(0);
      expect(by.served).toBeLessThanOrEqual(EDGE_BURST + 2);
      expect(by.nginx).toBe(burst.length - by.served);
      expect(by.gateway).toBe(0);
    });
  });
});
