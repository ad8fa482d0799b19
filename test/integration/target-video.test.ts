import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { ContractValidator } from '../../src/contract/openapi.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { bundleForBrowser } from '../../src/media/page-bundle.js';
import { startPageServer, type PageServer } from '../../src/media/page-server.js';
import { launchChromium, type ChromiumSession } from '../../src/media/chromium.js';
import { sleep } from '../../src/lab/exec.js';
import { validateSfuRequest, validateSfuServerFrame, validateSignalingServerFrame } from '../../fixtures/secureconnect/contract/ws-messages.js';
import { testLab } from './helpers.js';

/** video-service of the reference target: calls REST, mesh relay, the SFU path with real media, TURN failure reporting. */
let lab: Lab;
let page: PageServer;
const t: Partial<Record<'audited' | 'hardened', RunningTarget>> = {};
const contract = new ContractValidator();

beforeAll(async () => {
  lab = await testLab();
  // The page is served on the host end of the lab's veth, where Chromium (inside the namespace) reaches it.
  const host = lab.netns?.hostAddress ?? '127.0.0.1';
  const bundle = await bundleForBrowser(join(HARNESS_ROOT, 'src', 'media', 'browser', 'signaling-page.ts'));
  page = await startPageServer({ host, assets: { '/': { contentType: 'text/html', body: '<!doctype html><script src="/client.js"></script>' }, '/client.js': { contentType: 'text/javascript', body: bundle } } });
  const env = { RATE_LIMIT_PER_MINUTE: '100000', CORS_ALLOWED_ORIGINS: page.url };
  t.hardened = await startTarget(lab, { profile: 'hardened', portBase: 30, instance: 'vh', env });
  t.audited = await startTarget(lab, { profile: 'audited', portBase: 40, instance: 'va', env });
});

afterAll(async () => {
  for (const x of Object.values(t)) await x?.stop();
  await page?.close();
});

async function api(target: RunningTarget, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${target.baseUrl}${path}`, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function user(target: RunningTarget): Promise<{ id: string; token: string }> {
  const n = randomUUID().slice(0, 8);
  const r = await api(target, 'POST', '/v1/auth/register', { email: `v${n}@lab.test`, username: `v_${n}`, password: `pw-${n}-long`, display_name: n });
  const d = r.body.data as { user: { user_id: string }; access_token: string };
  return { id: d.user.user_id, token: d.access_token };
}

const wsUrl = (target: RunningTarget, callId: string, token?: string) =>
  `${target.serviceUrls.video.replace('http', 'ws')}/v1/calls/ws/signaling?call_id=${callId}${token ? `&token=${token}` : ''}`;

function socket(target: RunningTarget, callId: string, token: string): Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }> {
  const ws = new WebSocket(wsUrl(target, callId), { headers: { authorization: `Bearer ${token}` } });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('error', reject);
  });
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = fn();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('calls REST', () => {
  it('initiate, join, get, end conform to the contract', async () => {
    const target = t.hardened!;
    const [a, b] = [await user(target), await user(target)];
    const init = await api(target, 'POST', '/v1/calls/initiate', { call_type: 'video', conversation_id: randomUUID(), callee_ids: [b.id] }, a.token);
    expect(init.status).toBe(201);
    expect(contract.check('post', '/v1/calls/initiate', init.status, init.body)).toBeNull();
    const callId = (init.body.data as { CallID: string }).CallID;
    const joined = await api(target, 'POST', `/v1/calls/${callId}/join`, {}, b.token);
    expect(contract.check('post', '/v1/calls/{id}/join', joined.status, joined.body)).toBeNull();
    const got = await api(target, 'GET', `/v1/calls/${callId}`, undefined, a.token);
    expect(contract.check('get', '/v1/calls/{id}', got.status, got.body)).toBeNull();
    expect((got.body.data as { status: string }).status).toBe('active');
    const ended = await api(target, 'POST', `/v1/calls/${callId}/end`, {}, a.token);
    expect(ended.status).toBe(200);
    expect(contract.check('post', '/v1/calls/{id}/end', ended.status, ended.body)).toBeNull();
  });

  it('participant limit: a mesh call holds 4 (a clear 409 past it), an SFU call on hardened more', async () => {
    const callees = Array.from({ length: 4 }, () => randomUUID());
    for (const [p, topology, status] of [['audited', undefined, 409], ['hardened', undefined, 409], ['hardened', 'sfu', 201]] as const) {
      const a = await user(t[p]!);
      const r = await api(t[p]!, 'POST', '/v1/calls/initiate', { call_type: 'video', conversation_id: randomUUID(), callee_ids: callees, ...(topology ? { topology } : {}) }, a.token);
      expect(r.status, `${p} ${topology ?? 'mesh'}`).toBe(status);
      if (status === 409) {
        expect(contract.check('post', '/v1/calls/initiate', r.status, r.body)).toBeNull();
        expect(JSON.stringify(r.body)).toMatch(/max 4 participants/);
      }
    }
    const a = await user(t.audited!);
    const call = await api(t.audited!, 'POST', '/v1/calls/initiate', { call_type: 'audio', conversation_id: randomUUID(), callee_ids: [randomUUID()] }, a.token);
    const callId = (call.body.data as { CallID: string }).CallID;
    const joins: number[] = [];
    for (let i = 0; i < 4; i++) joins.push((await api(t.audited!, 'POST', `/v1/calls/${callId}/join`, {}, (await user(t.audited!)).token)).status);
    expect(joins).toEqual([200, 200, 200, 409]);
  });
});

describe('signaling socket', () => {
  it('relays mesh offers to their target and broadcasts join/ice_candidate to the others', async () => {
    const target = t.audited!;
    const callId = randomUUID();
    const [a, b, c] = [await user(target), await user(target), await user(target)];
    const sa = await socket(target, callId, a.token);
    const sb = await socket(target, callId, b.token);
    const sc = await socket(target, callId, c.token);
    await until('join frames', () => sa.frames.filter((f) => f.type === 'join').length === 2);
    sa.ws.send(JSON.stringify({ type: 'offer', target_id: b.id, sdp: 'v=0 fake-offer' }));
    const offer = await until('offer at b', () => sb.frames.find((f) => f.type === 'offer'));
    expect(offer).toMatchObject({ type: 'offer', call_id: callId, sender_id: a.id, target_id: b.id, sdp: 'v=0 fake-offer' });
    sa.ws.send(JSON.stringify({ type: 'ice_candidate', candidate: { candidate: 'candidate:1 1 udp 1 198.18.0.9 9 typ host', sdpMid: '0' } }));
    await until('candidate at b and c', () => sb.frames.some((f) => f.type === 'ice_candidate') && sc.frames.some((f) => f.type === 'ice_candidate'));
    expect(sc.frames.some((f) => f.type === 'offer')).toBe(false);
    expect(sa.frames.some((f) => f.type === 'ice_candidate')).toBe(false);
    // Every frame the server sent conforms to the contract's signaling schema.
    for (const f of [...sa.frames, ...sb.frames, ...sc.frames]) expect(validateSignalingServerFrame(f), JSON.stringify(f)).toMatchObject({ ok: true });
    for (const s of [sa, sb, sc]) s.ws.close();
  });

  it('refuses an upgrade without a valid token (401), a bad call id (400), a foreign origin (403)', async () => {
    const target = t.audited!;
    const status = (url: string, headers: Record<string, string> = {}) => new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('error', () => undefined);
    });
    const u = await user(target);
    expect(await status(wsUrl(target, randomUUID()))).toBe(401);
    expect(await status(wsUrl(target, randomUUID()), { authorization: 'Bearer nope' })).toBe(401);
    expect(await status(wsUrl(target, 'not-a-uuid'), { authorization: `Bearer ${u.token}` })).toBe(400);
    expect(await status(wsUrl(target, randomUUID()), { authorization: `Bearer ${u.token}`, origin: 'http://evil.example' })).toBe(403);
  });
});

describe('SFU path: real media through mediasoup', () => {
  let chromium: ChromiumSession | null = null;
  afterAll(async () => {
    await chromium?.close();
  });

  it('a producer from one participant reaches another participant\'s consumer and decodes', async () => {
    const target = t.hardened!;
    const callId = randomUUID();
    const [a, b] = [await user(target), await user(target)];
    chromium = await launchChromium({ netnsPrefix: lab.execPrefix, extraArgs: lab.netns ? [`--unsafely-treat-insecure-origin-as-secure=${page.url}`] : [] });
    const [pa, pb] = [await chromium.browser.newPage(), await chromium.browser.newPage()];
    for (const p of [pa, pb]) await p.goto(page.url);
    // B joins first and receives A's producer through sfu-new-producer.
    await pb.evaluate((u) => (window as unknown as { scParticipant: { join(u: string, p: boolean): Promise<void> } }).scParticipant.join(u, false), wsUrl(target, callId, b.token));
    await pa.evaluate((u) => (window as unknown as { scParticipant: { join(u: string, p: boolean): Promise<void> } }).scParticipant.join(u, true), wsUrl(target, callId, a.token));
    const deadline = Date.now() + 30_000;
    let frames = 0;
    while (Date.now() < deadline && frames === 0) {
      frames = await pb.evaluate(() => (window as unknown as { scParticipant: { framesDecoded(): Promise<number> } }).scParticipant.framesDecoded());
      await sleep(250);
    }
    expect(frames).toBeGreaterThan(0);
  });
});

describe('SFU restart-ICE (the TURN-failure fix)', () => {
  it('hardened serves sfu-restart-ice: fresh ICE parameters for the transport, as the contract has them; audited answers unknown-method', async () => {
    const ask = async (target: RunningTarget) => {
      const u = await user(target);
      const sock = await socket(target, randomUUID(), u.token);
      try {
        const request = async (type: string, data: Record<string, unknown>) => {
          const frame = { type, request_id: `${type}-${sock.frames.length}`, data };
          expect(validateSfuRequest(frame), type).toMatchObject({ ok: true });
          sock.ws.send(JSON.stringify(frame));
          const r = await until(type, () => sock.frames.find((f) => f.type === 'sfu-response' && f.request_id === frame.request_id));
          expect(validateSfuServerFrame(r), JSON.stringify(r)).toMatchObject({ ok: true });
          return r as { ok: boolean; data?: Record<string, unknown>; error?: { code: string } };
        };
        const created = await request('sfu-create-transport', { direction: 'send' });
        const before = (created.data!.iceParameters as { usernameFragment: string }).usernameFragment;
        return { before, restart: await request('sfu-restart-ice', { transportId: created.data!.id }) };
      } finally {
        sock.ws.close();
      }
    };
    const hard = await ask(t.hardened!);
    expect(hard.restart.ok).toBe(true);
    expect((hard.restart.data!.iceParameters as { usernameFragment: string }).usernameFragment).not.toBe(hard.before);
    const aud = await ask(t.audited!);
    expect(aud.restart).toMatchObject({ ok: false, error: { code: 'unknown-method' } });
  });
});

describe('TURN unreachable (coturn paused with SIGSTOP)', () => {
  it('hardened reports it promptly (503 + a turn_unavailable frame); audited hands out credentials regardless', async () => {
    const coturn = lab.state.processes.find((p) => p.name === 'coturn')!;
    const [ua, uh] = [await user(t.audited!), await user(t.hardened!)];
    const sock = await socket(t.hardened!, randomUUID(), uh.token);
    process.kill(coturn.pid, 'SIGSTOP');
    try {
      const aud = await api(t.audited!, 'GET', '/v1/calls/turn-credentials', undefined, ua.token);
      expect(aud.status).toBe(200);
      expect(aud.body.data).toMatchObject({ username: expect.stringMatching(/^\d+:/), uris: expect.any(Array) });
      const t0 = Date.now();
      const hard = await api(t.hardened!, 'GET', '/v1/calls/turn-credentials', undefined, uh.token);
      expect(hard.status).toBe(503);
      expect(JSON.stringify(hard.body)).toContain('TURN_UNAVAILABLE');
      expect(Date.now() - t0).toBeLessThan(3000);
      await until('turn_unavailable frame', () => sock.frames.find((f) => f.type === 'turn_unavailable'), 8000);
    } finally {
      process.kill(coturn.pid, 'SIGCONT');
      sock.ws.close();
    }
    expect((await api(t.hardened!, 'GET', '/v1/calls/turn-credentials', undefined, uh.token)).status).toBe(200);
  });
});
