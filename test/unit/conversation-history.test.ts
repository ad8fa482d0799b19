import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationHistory, rateLimitWaitMs } from '../../src/k6/history.js';

/**
 * A conversation of 250 messages behind SecureConnect's paged GET /v1/messages (a local double of its API), with the
 * gateway's fixed-window per-client limit (here `limit` requests a second, X-RateLimit-Reset in epoch seconds) and a
 * switch answering the next `unavailable` requests 503.
 */
let server: Server;
let base = '';
const MESSAGES = Array.from({ length: 250 }, (_, i) => ({ message_id: `m${i}`, client_message_id: `c${i}` }));
const state = { limit: Infinity, window: 0, used: 0, unavailable: 0, pageStatus: 200, requests: 0 };

beforeAll(async () => {
  server = createServer((req, res) => {
    state.requests++;
    const nowS = Math.floor(Date.now() / 1000);
    if (nowS !== state.window) Object.assign(state, { window: nowS, used: 0 });
    if (++state.used > state.limit) return void res.writeHead(429, { 'content-type': 'application/json', 'x-ratelimit-reset': String(nowS + 1) }).end(JSON.stringify({ error: 'Rate limit exceeded', reset_at: nowS + 1 }));
    if (state.unavailable > 0) return void (state.unavailable--, res.writeHead(503).end('{}'));
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v1/auth/register') return void res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { access_token: 't' } }));
    if (state.pageStatus !== 200) return void res.writeHead(state.pageStatus).end('{}');
    const from = Number(url.searchParams.get('page_state') || 0);
    const limit = Number(url.searchParams.get('limit'));
    const page = MESSAGES.slice(from, from + limit);
    const more = from + limit < MESSAGES.length;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { messages: page, next_page_state: more ? String(from + limit) : '', has_more: more } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => Object.assign(state, { limit: Infinity, used: 0, unavailable: 0, pageStatus: 200, requests: 0 }));

describe('the conversation history reader', () => {
  it('reads every page of a long history', async () => {
    const ids = await conversationHistory(base, 'conv');
    expect(ids.length).toBe(500);
    expect(ids.at(-1)).toBe('c249');
  });

  it('a history past its bound is an error, never a shorter history (its tail would read as lost)', async () => {
    await expect(conversationHistory(base, 'conv', { maxPages: 2 })).rejects.toThrow(/holds more than 200 messages \(the reader's bound\)/);
  });

  it('a history longer than the rate limit allows is read across windows, going on from the throttled page', async () => {
    state.limit = 2; // register + 3 pages = 4 requests: at least one window's wait
    const lines: string[] = [];
    const ids = await conversationHistory(base, 'conv', { log: (l) => lines.push(l) });
    expect(ids.length).toBe(500);
    expect(new Set(ids).size).toBe(500);
    expect(lines.join('\n')).toMatch(/throttled \(429\), waiting \d\.\d s for the rate limit's window/);
    // Only the throttled requests are repeated: never a new registration and a read from the first page.
    expect(state.requests).toBeLessThan(4 + 4);
  });

  it('waits out a target answering 503 for a while, and gives up on one that keeps answering it', async () => {
    state.unavailable = 2;
    expect((await conversationHistory(base, 'conv', { unavailableMs: 10_000 })).length).toBe(500);
    state.unavailable = 1000;
    await expect(conversationHistory(base, 'conv', { unavailableMs: 1500 })).rejects.toThrow(/register answered HTTP 503 for 2 s/);
  });

  it('any other answer is the answer: a 4xx at once, a 500 after three tries', async () => {
    state.pageStatus = 401;
    await expect(conversationHistory(base, 'conv')).rejects.toThrow(/GET \/v1\/messages answered HTTP 401/);
    expect(state.requests).toBe(2);
    Object.assign(state, { pageStatus: 500, requests: 0 });
    await expect(conversationHistory(base, 'conv')).rejects.toThrow(/GET \/v1\/messages answered HTTP 500/);
    expect(state.requests).toBe(1 + 3);
  });

  it('reads the wait of a 429 from Retry-After, X-RateLimit-Reset or the body\'s reset_at', () => {
    const now = 1_800_000_000_000;
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '7' }), '', now)).toBe(7000);
    expect(rateLimitWaitMs(new Headers({ 'x-ratelimit-reset': String(now / 1000 + 12) }), '', now)).toBe(12_250);
    expect(rateLimitWaitMs(new Headers(), JSON.stringify({ reset_at: now / 1000 + 3 }), now)).toBe(3250);
    expect(rateLimitWaitMs(new Headers(), 'not json', now)).toBe(5000);
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '3600' }), '', now)).toBe(65_000);
  });
});
