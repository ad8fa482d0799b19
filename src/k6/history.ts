import { randomBytes } from 'node:crypto';

/** Pages of 100 the reader reads at most: a 2-hour soak's one conversation held 14,394 messages. */
export const HISTORY_MAX_PAGES = 2000;

/**
 * Every message id and client message id in a conversation's history, read through the public API
 * by a fresh account (GET /v1/messages, paged; bounded to maxPages pages of 100 and timeoutMs). A history longer
 * than the bound is an error, never a shorter history: its missing tail would read as lost messages.
 */
export async function conversationHistory(baseUrl: string, conversationId: string, o: { timeoutMs?: number; maxPages?: number } = {}): Promise<string[]> {
  const signal = AbortSignal.timeout(o.timeoutMs ?? 120_000);
  const maxPages = o.maxPages ?? HISTORY_MAX_PAGES;
  const id = randomBytes(4).toString('hex');
  const reg = await fetch(`${baseUrl}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal,
    body: JSON.stringify({ email: `history-reader-${id}@load.test`, username: `history_reader_${id}`, password: `pw-${id}-long`, display_name: 'History reader' }),
  });
  if (reg.status !== 201) throw new Error(`history reader: register answered HTTP ${reg.status}`);
  const token = ((await reg.json()) as { data?: { access_token?: string } }).data?.access_token;
  if (!token) throw new Error('history reader: register answered no access token');
  const ids: string[] = [];
  let pageState = '';
  for (let page = 0; ; page++) {
    if (page >= maxPages) throw new Error(`history reader: the history holds more than ${maxPages * 100} messages (the reader's bound)`);
    const q = new URLSearchParams({ conversation_id: conversationId, limit: '100', ...(pageState ? { page_state: pageState } : {}) });
    const res = await fetch(`${baseUrl}/v1/messages?${q.toString()}`, { headers: { authorization: `Bearer ${token}` }, signal });
    if (res.status !== 200) throw new Error(`history: GET /v1/messages answered HTTP ${res.status}`);
    const d = ((await res.json()) as { data: { messages: { message_id: string; client_message_id?: string }[]; next_page_state: string; has_more: boolean } }).data;
    for (const m of d.messages) {
      ids.push(m.message_id);
      if (m.client_message_id) ids.push(m.client_message_id);
    }
    if (!d.has_more) break;
    pageState = d.next_page_state;
  }
  return ids;
}
