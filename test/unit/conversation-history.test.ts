import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationHistory } from '../../src/k6/history.js';

/** A conversation of 250 messages behind SecureConnect's paged GET /v1/messages (a local double of its API). */
let server: Server;
let base = '';
const MESSAGES = Array.from({ length: 250 }, (_, i) => ({ message_id: `m${i}`, client_message_id: `c${i}` }));

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v1/auth/register') return void res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { access_token: 't' } }));
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

describe('the conversation history reader', () => {
  it('reads every page of a long history', async () => {
    const ids = await conversationHistory(base, 'conv');
    expect(ids.length).toBe(500);
    expect(ids.at(-1)).toBe('c249');
  });
  it('a history past its bound is an error, never a shorter history (its tail would read as lost)', async () => {
    await expect(conversationHistory(base, 'conv', { maxPages: 2 })).rejects.toThrow(/holds more than 200 messages \(the reader's bound\)/);
  });
});
