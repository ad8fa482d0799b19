import { describe, expect, it } from 'vitest';
import { checkFanoutRun, parseK6Log } from '../../src/k6/fanout-checker.js';

/** checkFanoutRun: several conversations (SC_GROUPS), REST and socket sends, from the k6 log lines. */
const line = (kind: string, o: unknown) => `time="2026-01-01T00:00:00Z" level=info msg="${kind} ${JSON.stringify(o).replace(/"/g, '\\"')}" source=console`;

function log(drop?: { id: string; recipient: string }): string {
  const lines = [
    line('SETUP', { conversation_id: 'c1', recipients: ['u0'] }),
    line('SETUP', { conversation_id: 'c2', recipients: ['u0', 'u1', 'u2'] }),
  ];
  for (const [conv, recipients] of [['c1', ['u0']], ['c2', ['u0', 'u1', 'u2']]] as const) {
    for (let n = 0; n < 2; n++) {
      for (const via of ['rest', 'ws'] as const) {
        const id = `p-${conv}-${via === 'ws' ? 'w' : ''}${n}`;
        const sender = via === 'ws' ? 'ws' : 'vu1';
        lines.push(line('SENT', { client_message_id: id, seq: n, sender, message_id: `m-${id}`, acked: true, conversation_id: conv, via }));
        for (const r of recipients) if (!(drop && drop.id === id && drop.recipient === r)) lines.push(line('DELIVERY', { recipient: r, client_message_id: id, seq: n, sender, conversation_id: conv }));
      }
    }
  }
  return lines.join('\n');
}

describe('checkFanoutRun', () => {
  it('checks each conversation against its own recipients and sums them', () => {
    const p = parseK6Log(log());
    expect(p.setups.map((s) => s.conversation_id)).toEqual(['c1', 'c2']);
    expect(p.setup?.conversation_id).toBe('c1');
    expect(p.sent[0]).toMatchObject({ conversation_id: 'c1', via: 'rest' });
    const r = checkFanoutRun(p);
    // c1: 4 messages × 1 recipient; c2: 4 × 3. The same user (u0) in both conversations is two different sockets.
    expect(r.conversations.map((c) => [c.conversation_id, c.expected, c.delivered])).toEqual([['c1', 4, 4], ['c2', 12, 12]]);
    expect(r).toMatchObject({ expected: 16, delivered: 16, completeness: 1, lost: [], duplicates: [], orderViolations: [], unacked: 0, ackedVia: { rest: 4, ws: 4 } });
  });

  it('a loss in one conversation is reported there only', () => {
    const r = checkFanoutRun(parseK6Log(log({ id: 'p-c2-w1', recipient: 'u1' })));
    expect(r.lost).toEqual([{ client_message_id: 'p-c2-w1', recipient: 'u1' }]);
    expect(r.conversations[0]!.completeness).toBe(1);
    expect(r.conversations[1]!.completeness).toBeCloseTo(11 / 12);
    expect(r.completeness).toBeCloseTo(15 / 16);
  });

  it('records without conversation_id (older runs) belong to the only conversation; history is checked when given', () => {
    const p = parseK6Log([
      line('SETUP', { conversation_id: 'c', recipients: ['a', 'b'] }),
      line('SENT', { client_message_id: 'x-0', seq: 0, sender: 'vu1', message_id: 'm0', acked: true }),
      line('DELIVERY', { recipient: 'a', client_message_id: 'x-0', seq: 0, sender: 'vu1' }),
      line('DELIVERY', { recipient: 'b', client_message_id: 'x-0', seq: 0, sender: 'vu1' }),
    ].join('\n'));
    expect(checkFanoutRun(p, { c: ['m0'] })).toMatchObject({ expected: 2, delivered: 2, missingFromHistory: [] });
    expect(checkFanoutRun(p, { c: [] }).missingFromHistory).toEqual(['x-0']);
  });
});
