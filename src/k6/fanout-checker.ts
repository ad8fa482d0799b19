/**
 * Checks a chat fan-out run (scenarios/chat-fanout.ts): every message the target took — acknowledged, or
 * found in the conversation's history without an ack (a socket send whose echo never came) — reaches every
 * online recipient exactly once, in each sender's order; every acknowledged message is in history.
 */

/** How a send ended: acknowledged, refused with an answer, or no answer within the client's timeout. */
export type SendOutcome = 'acked' | 'refused' | 'hung';

export interface SentRecord {
  client_message_id: string; seq: number; sender?: string; message_id?: string | null; acked: boolean; conversation_id?: string; via?: 'rest' | 'ws';
  /** When the send started (epoch ms): the phase a message belongs to. */
  sent_at?: number;
  outcome?: SendOutcome;
  /** A REST send's HTTP status (0: no answer). */
  status?: number;
}
export interface DeliveryRecord { recipient: string; client_message_id: string; seq?: number; sender?: string; conversation_id?: string }
export interface SetupRecord { conversation_id: string; recipients: string[] }

export interface FanoutInput {
  sent: SentRecord[];
  deliveries: DeliveryRecord[];
  /** The recipients online for the whole run. */
  recipients: string[];
  /** Client ids or message ids found in the conversation's history. */
  history: string[];
}

export interface Pair { client_message_id: string; recipient: string }
export interface OrderViolation { sender: string; recipient: string; client_message_id: string; seq: number; after: number }

export interface FanoutReport {
  /** Messages the target took (acked or in history) × recipients. */
  expected: number;
  /** Distinct (acked message, recipient) pairs delivered. */
  delivered: number;
  lost: Pair[];
  duplicates: (Pair & { count: number })[];
  orderViolations: OrderViolation[];
  /** Acked messages whose client id and message id are both absent from the history. */
  missingFromHistory: string[];
  /** delivered / expected (1 when nothing was expected). */
  completeness: number;
  /** Sends by outcome (refused: answered with an error; hung: no answer). */
  acked: number;
  refused: number;
  hung: number;
  /** Messages in history whose send was never acknowledged (they must be delivered all the same). */
  unackedStored: number;
}

const key = (id: string, r: string) => `${id}\u0000${r}`;

const outcomeOf = (s: SentRecord): SendOutcome => s.outcome ?? (s.acked ? 'acked' : 'refused');

export function checkFanout(i: FanoutInput): FanoutReport {
  const hist = new Set(i.history);
  const stored = (s: SentRecord) => hist.has(s.client_message_id) || (!!s.message_id && hist.has(s.message_id));
  // A message the target stored must reach everyone online, ack or no ack: for socket sends the ack *is*
  // the fan-out echo, so an unacknowledged message may be exactly the one that was lost.
  const acked = i.sent.filter((s) => s.acked || stored(s));
  // Order is promised for acknowledged sends only: a message the sender was told had failed but that was stored
  // all the same must still arrive (above), whenever it does.
  const orderedIds = new Set(i.sent.filter((s) => s.acked).map((s) => s.client_message_id));
  const recipients = [...new Set(i.recipients)];
  const counts = new Map<string, number>();
  for (const d of i.deliveries) counts.set(key(d.client_message_id, d.recipient), (counts.get(key(d.client_message_id, d.recipient)) ?? 0) + 1);

  const lost: Pair[] = [];
  const duplicates: (Pair & { count: number })[] = [];
  let delivered = 0;
  for (const s of acked) {
    for (const r of recipients) {
      const n = counts.get(key(s.client_message_id, r)) ?? 0;
      if (n === 0) lost.push({ client_message_id: s.client_message_id, recipient: r });
      else delivered++;
      if (n > 1) duplicates.push({ client_message_id: s.client_message_id, recipient: r, count: n });
    }
  }

  // Order: per (sender, recipient), deliveries in arrival order must have increasing seq (repeats are duplicates, not order faults).
  const bySend = new Map(i.sent.map((s) => [s.client_message_id, s]));
  const highest = new Map<string, number>();
  const orderViolations: OrderViolation[] = [];
  for (const d of i.deliveries) {
    const s = bySend.get(d.client_message_id);
    const seq = d.seq ?? s?.seq;
    const sender = d.sender ?? s?.sender ?? '';
    if (seq === undefined || !orderedIds.has(d.client_message_id)) continue;
    const k = key(sender, d.recipient);
    const prev = highest.get(k);
    if (prev !== undefined && seq < prev) orderViolations.push({ sender, recipient: d.recipient, client_message_id: d.client_message_id, seq, after: prev });
    else highest.set(k, seq);
  }

  const missingFromHistory = acked.filter((s) => s.acked && !stored(s)).map((s) => s.client_message_id);

  const expected = acked.length * recipients.length;
  const count = (o: SendOutcome) => i.sent.filter((s) => outcomeOf(s) === o).length;
  return {
    expected, delivered, lost, duplicates, orderViolations, missingFromHistory, completeness: expected === 0 ? 1 : delivered / expected,
    acked: count('acked'), refused: count('refused'), hung: count('hung'), unackedStored: acked.filter((s) => !s.acked).length,
  };
}

export interface ParsedK6Log {
  /** The first SETUP line (the only one when the run had one conversation). */
  setup: SetupRecord | null;
  /** Every SETUP line: one per conversation. */
  setups: SetupRecord[];
  sent: SentRecord[];
  deliveries: DeliveryRecord[];
}

const LINE = /\b(SETUP|SENT|DELIVERY) (\{.*\})\s*$/;

/** The message of one k6 log line: raw, or logfmt `msg="…"` (console output on stderr). */
export function messageOf(line: string): string {
  const m = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line);
  if (!m) return line;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return m[1]!;
  }
}

/** Extracts the SETUP / SENT / DELIVERY lines that scenarios/chat-fanout.ts writes with console.log. */
export function parseK6Log(text: string): ParsedK6Log {
  const out = emptyK6Log();
  for (const line of text.split('\n')) addK6LogLine(out, line);
  return out;
}

export const emptyK6Log = (): ParsedK6Log => ({ setup: null, setups: [], sent: [], deliveries: [] });

/** One line of the log into `out` (a long run's log is read line by line: history.ts forEachWorkloadLogLine). */
export function addK6LogLine(out: ParsedK6Log, line: string): void {
  if (!/(SETUP|SENT|DELIVERY) /.test(line)) return;
  const m = LINE.exec(messageOf(line).trim());
  if (!m) return;
  let v: unknown;
  try { v = JSON.parse(m[2]!); } catch { return; }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  if (m[1] === 'SETUP' && typeof o.conversation_id === 'string' && Array.isArray(o.recipients)) {
    const rec = { conversation_id: o.conversation_id, recipients: o.recipients.filter((x): x is string => typeof x === 'string') };
    out.setups.push(rec);
    out.setup ??= rec;
  } else if (m[1] === 'SENT' && typeof o.client_message_id === 'string' && typeof o.seq === 'number') {
    out.sent.push({
      client_message_id: o.client_message_id, seq: o.seq, acked: o.acked === true,
      ...(typeof o.sender === 'string' ? { sender: o.sender } : {}),
      ...(typeof o.message_id === 'string' ? { message_id: o.message_id } : {}),
      ...(typeof o.conversation_id === 'string' ? { conversation_id: o.conversation_id } : {}),
      ...(o.via === 'rest' || o.via === 'ws' ? { via: o.via } : {}),
      ...(typeof o.sent_at === 'number' ? { sent_at: o.sent_at } : {}),
      ...(o.outcome === 'acked' || o.outcome === 'refused' || o.outcome === 'hung' ? { outcome: o.outcome } : {}),
      ...(typeof o.status === 'number' ? { status: o.status } : {}),
    });
  } else if (m[1] === 'DELIVERY' && typeof o.recipient === 'string' && typeof o.client_message_id === 'string') {
    out.deliveries.push({
      recipient: o.recipient, client_message_id: o.client_message_id,
      ...(typeof o.seq === 'number' ? { seq: o.seq } : {}),
      ...(typeof o.sender === 'string' ? { sender: o.sender } : {}),
      ...(typeof o.conversation_id === 'string' ? { conversation_id: o.conversation_id } : {}),
    });
  }
}

export interface ConversationReport extends FanoutReport { conversation_id: string; recipients: number }
export interface FanoutRunReport extends FanoutReport {
  /** One report per conversation (SETUP line). */
  conversations: ConversationReport[];
  /** Acked sends per path. */
  ackedVia: { rest: number; ws: number };
  /** Sends never acked (timeouts, errors). */
  unacked: number;
}

/**
 * Checks a whole run with one or several conversations: each conversation (its SETUP line) is checked on
 * its own sends and deliveries (records without conversation_id belong to the only conversation), and the
 * totals are summed. `history` maps a conversation id to the ids found in its history (absent: not checked,
 * nothing counts as missing).
 */
export function checkFanoutRun(full: ParsedK6Log, history?: Record<string, string[]>, o: { sentFrom?: number; sentTo?: number } = {}): FanoutRunReport {
  const log = o.sentFrom === undefined && o.sentTo === undefined ? full : sentWithin(full, o.sentFrom ?? -Infinity, o.sentTo ?? Infinity);
  const setups = log.setups.length ? log.setups : log.setup ? [log.setup] : [];
  const only = setups.length === 1 ? setups[0]!.conversation_id : undefined;
  const convOf = (r: { conversation_id?: string }) => r.conversation_id ?? only;
  const conversations: ConversationReport[] = setups.map((s) => {
    const sent = log.sent.filter((x) => convOf(x) === s.conversation_id);
    const ids = history?.[s.conversation_id] ?? sent.filter((x) => x.acked).map((x) => x.client_message_id);
    const r = checkFanout({ sent, deliveries: log.deliveries.filter((d) => convOf(d) === s.conversation_id), recipients: s.recipients, history: ids });
    return { ...r, conversation_id: s.conversation_id, recipients: new Set(s.recipients).size };
  });
  const expected = conversations.reduce((t, c) => t + c.expected, 0);
  const delivered = conversations.reduce((t, c) => t + c.delivered, 0);
  return {
    expected,
    delivered,
    lost: conversations.flatMap((c) => c.lost),
    duplicates: conversations.flatMap((c) => c.duplicates),
    orderViolations: conversations.flatMap((c) => c.orderViolations),
    missingFromHistory: conversations.flatMap((c) => c.missingFromHistory),
    completeness: expected === 0 ? 1 : delivered / expected,
    acked: conversations.reduce((t, c) => t + c.acked, 0),
    refused: conversations.reduce((t, c) => t + c.refused, 0),
    hung: conversations.reduce((t, c) => t + c.hung, 0),
    unackedStored: conversations.reduce((t, c) => t + c.unackedStored, 0),
    conversations,
    ackedVia: { rest: log.sent.filter((x) => x.acked && x.via !== 'ws').length, ws: log.sent.filter((x) => x.acked && x.via === 'ws').length },
    unacked: log.sent.filter((x) => !x.acked).length,
  };
}

/** The sends that started in [from, to) and the deliveries of those messages (a phase's share of a run). */
export function sentWithin(log: ParsedK6Log, from: number, to: number): ParsedK6Log {
  const sent = log.sent.filter((s) => s.sent_at !== undefined && s.sent_at >= from && s.sent_at < to);
  const ids = new Set(sent.map((s) => s.client_message_id));
  return { ...log, sent, deliveries: log.deliveries.filter((d) => ids.has(d.client_message_id)) };
}

/** What the checker reconciles for one chat-fanout workload: its k6 records and each conversation's history. */
export interface FanoutData {
  log: ParsedK6Log;
  /** conversation id → the ids found in its history (read after the run); absent when it could not be read. */
  history?: Record<string, string[]>;
  /** Why the history could not be read (the delivery part is judged all the same; the history part is not). */
  historyError?: string;
}
