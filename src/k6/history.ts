import { randomBytes } from 'node:crypto';
import { sleepUnless } from '../lab/exec.js';

/** Pages of 100 the reader reads at most: a 2-hour soak's one conversation held 14,394 messages. */
export const HISTORY_MAX_PAGES = 2000;

export interface HistoryReadOptions {
  /** The whole read's bound (default 30 min: 2000 pages under a limit of 100 requests a minute take 20). */
  timeoutMs?: number;
  maxPages?: number;
  /** How long the target may answer 5xx or not at all in a row before the read gives up (default 75 s). */
  unavailableMs?: number;
  /** Progress lines (pages read, waits for the rate limit); the reader's token never appears in them. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Longest single wait for a rate-limit window: a minute's window plus slack. */
const MAX_WAIT_MS = 65_000;

/**
 * How long a 429 asks the client to wait (ms): Retry-After (seconds), else X-RateLimit-Reset or the body's
 * `reset_at` (epoch seconds: SecureConnect's gateway), else 5 s.
 */
export function rateLimitWaitMs(headers: Headers, body: string, nowMs = Date.now()): number {
  const retryAfter = Number(headers.get('retry-after'));
  if (headers.get('retry-after') !== null && Number.isFinite(retryAfter)) return clampWait(retryAfter * 1000);
  let reset = Number(headers.get('x-ratelimit-reset'));
  if (!Number.isFinite(reset) || reset <= 0) {
    try { reset = Number((JSON.parse(body) as { reset_at?: unknown }).reset_at); } catch { reset = NaN; }
  }
  // Reset in epoch seconds; a little past it, so the next request falls in the new window.
  if (Number.isFinite(reset) && reset > 0) return clampWait(reset * 1000 - nowMs + 250);
  return 5_000;
}

const clampWait = (ms: number): number => Math.min(MAX_WAIT_MS, Math.max(250, ms));

/**
 * Every message id and client message id in a conversation's history, read through the public API by a fresh
 * account (GET /v1/messages, paged; bounded to maxPages pages of 100 and timeoutMs). The read respects the target's
 * per-client rate limit: a 429 waits for its window and asks for the same page again, so a history longer than the
 * limit's worth of pages (a 90-minute soak's 10,801 messages are 109 pages, past the gateway's 100 a minute) is read
 * in several windows instead of starting over. 502–504 and refused connections are retried for unavailableMs in a row,
 * a 500 twice; any other answer is an error. A history longer than the bound is an error, never a shorter history: its
 * missing tail would read as lost messages.
 */
export async function conversationHistory(baseUrl: string, conversationId: string, o: HistoryReadOptions = {}): Promise<string[]> {
  const timeoutMs = o.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  const maxPages = o.maxPages ?? HISTORY_MAX_PAGES;
  const unavailableMs = o.unavailableMs ?? 75_000;
  const log = o.log ?? (() => undefined);
  let failingSince: number | null = null;
  let throttled = 0;

  /** One request, repeated while it is throttled or the target is unavailable; the answer with any other status. */
  const request = async (what: string, url: string, init: RequestInit): Promise<{ status: number; body: string }> => {
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`history reader: ${what}: gave up after ${Math.round(timeoutMs / 1000)} s`);
      const signal = AbortSignal.any([AbortSignal.timeout(Math.min(left, 30_000)), ...(o.signal ? [o.signal] : [])]);
      let status: number;
      let body = '';
      let headers = new Headers();
      try {
        const res = await fetch(url, { ...init, signal });
        ({ status, headers } = res);
        body = await res.text();
      } catch (err) {
        if (o.signal?.aborted) throw new Error(`history reader: ${what}: interrupted`);
        status = 0;
        body = (err as Error).message;
      }
      if (status === 429) {
        const wait = rateLimitWaitMs(headers, body);
        throttled++;
        if (throttled === 1 || throttled % 10 === 0) log(`history reader: ${what} throttled (429), waiting ${(wait / 1000).toFixed(1)} s for the rate limit's window (${throttled} so far)`);
        if (Date.now() + wait > deadline) throw new Error(`history reader: ${what} answered HTTP 429 and its window resets after the reader's deadline`);
        await sleepUnless(wait, o.signal);
        continue;
      }
      // 500 is an answer once it repeats (a handler that fails); 502–504 and no answer: a target still recovering.
      if (status === 500 && attempt >= 3) return { status, body };
      if (status === 0 || status >= 500) {
        failingSince ??= Date.now();
        const why = status === 0 ? `no answer (${body})` : `HTTP ${status}`;
        if (Date.now() - failingSince >= unavailableMs) throw new Error(`history reader: ${what} answered ${why} for ${Math.round(unavailableMs / 1000)} s`);
        if (attempt === 1) log(`history reader: ${what} answered ${why}; retrying for up to ${Math.round(unavailableMs / 1000)} s`);
        await sleepUnless(1000, o.signal);
        continue;
      }
      failingSince = null;
      return { status, body };
    }
  };

  const id = randomBytes(4).toString('hex');
  const reg = await request('register', `${baseUrl}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `history-reader-${id}@load.test`, username: `history_reader_${id}`, password: `pw-${id}-long`, display_name: 'History reader' }),
  });
  if (reg.status !== 201) throw new Error(`history reader: register answered HTTP ${reg.status}`);
  let token: string | undefined;
  try { token = (JSON.parse(reg.body) as { data?: { access_token?: string } }).data?.access_token; } catch { /* not JSON */ }
  if (!token) throw new Error('history reader: register answered no access token');
  const ids: string[] = [];
  let pageState = '';
  for (let page = 0; ; page++) {
    if (page >= maxPages) throw new Error(`history reader: the history holds more than ${maxPages * 100} messages (the reader's bound)`);
    const q = new URLSearchParams({ conversation_id: conversationId, limit: '100', ...(pageState ? { page_state: pageState } : {}) });
    const res = await request(`GET /v1/messages page ${page + 1}`, `${baseUrl}/v1/messages?${q.toString()}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`history: GET /v1/messages answered HTTP ${res.status}`);
    let d: { messages: { message_id: string; client_message_id?: string }[]; next_page_state: string; has_more: boolean };
    try {
      d = (JSON.parse(res.body) as { data: typeof d }).data;
      if (!Array.isArray(d.messages)) throw new Error('no messages');
    } catch {
      throw new Error(`history: GET /v1/messages page ${page + 1} answered 200 without a page of messages: ${res.body.slice(0, 120)}`);
    }
    for (const m of d.messages) {
      ids.push(m.message_id);
      if (m.client_message_id) ids.push(m.client_message_id);
    }
    if ((page + 1) % 100 === 0) log(`history reader: ${page + 1} pages read (${ids.length} ids)`);
    if (!d.has_more) break;
    pageState = d.next_page_state;
  }
  return ids;
}
