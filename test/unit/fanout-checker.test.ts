import { describe, expect, it } from 'vitest';
import { checkFanout, parseK6Log, type DeliveryRecord, type SentRecord } from '../../src/k6/fanout-checker.js';

const R = ['alice', 'bob', 'carol'];
const sent: SentRecord[] = [0, 1, 2, 3].map((seq) => ({ client_message_id: `p-${seq}`, seq, sender: 'vu1', message_id: `m-${seq}`, acked: true }));
const clean = (): DeliveryRecord[] => sent.flatMap((s) => R.map((recipient) => ({ recipient, client_message_id: s.client_message_id, seq: s.seq, sender: 'vu1' })));
const history = sent.map((s) => s.client_message_id);

describe('checkFanout', () => {
  it('reports zeros on a clean set', () => {
    const r = checkFanout({ sent, deliveries: clean(), recipients: R, history });
    expect(r).toEqual({ expected: 12, delivered: 12, lost: [], duplicates: [], orderViolations: [], missingFromHistory: [], completeness: 1, acked: 4, refused: 0, hung: 0, unackedStored: 0 });
  });

  it('a message in history without an ack is due all the same: its missing deliveries are losses', () => {
    const r = checkFanout({ sent: [...sent, { client_message_id: 'p-7', seq: 7, sender: 'vu1', acked: false, outcome: 'hung' }], deliveries: clean(), recipients: R, history: [...history, 'p-7'] });
    expect(r.unackedStored).toBe(1);
    expect(r.hung).toBe(1);
    expect(r.expected).toBe(15);
    expect(r.lost.map((l) => l.client_message_id)).toEqual(['p-7', 'p-7', 'p-7']);
    expect(r.missingFromHistory).toEqual([]);
    // Delivered late (after p-0…p-3): no order promise for a send that was never acknowledged.
    const late = checkFanout({ sent: [...sent, { client_message_id: 'p-7', seq: 0, sender: 'vu1', acked: false }], deliveries: [...clean(), ...R.map((recipient) => ({ recipient, client_message_id: 'p-7', seq: 0, sender: 'vu1' }))], recipients: R, history: [...history, 'p-7'] });
    expect(late.lost).toEqual([]);
    expect(late.orderViolations).toEqual([]);
  });

  it('finds a planted loss (and ignores unacked messages)', () => {
    const deliveries = clean().filter((d) => !(d.client_message_id === 'p-2' && d.recipient === 'bob'));
    const r = checkFanout({ sent: [...sent, { client_message_id: 'p-9', seq: 9, sender: 'vu1', acked: false }], deliveries, recipients: R, history });
    expect(r.lost).toEqual([{ client_message_id: 'p-2', recipient: 'bob' }]);
    expect(r.expected).toBe(12);
    expect(r.delivered).toBe(11);
    expect(r.completeness).toBeCloseTo(11 / 12);
    expect(r.duplicates).toEqual([]);
    expect(r.orderViolations).toEqual([]);
  });

  it('finds a planted duplicate (not an order violation)', () => {
    const deliveries = clean();
    deliveries.splice(4, 0, { recipient: 'carol', client_message_id: 'p-1', seq: 1, sender: 'vu1' });
    const r = checkFanout({ sent, deliveries, recipients: R, history });
    expect(r.duplicates).toEqual([{ client_message_id: 'p-1', recipient: 'carol', count: 2 }]);
    expect(r.lost).toEqual([]);
    expect(r.orderViolations).toEqual([]);
    expect(r.completeness).toBe(1);
  });

  it('finds an order violation per (sender, recipient)', () => {
    const deliveries = clean();
    // alice gets p-3 before p-2
    const i2 = deliveries.findIndex((d) => d.client_message_id === 'p-2' && d.recipient === 'alice');
    const i3 = deliveries.findIndex((d) => d.client_message_id === 'p-3' && d.recipient === 'alice');
    [deliveries[i2], deliveries[i3]] = [deliveries[i3]!, deliveries[i2]!];
    const r = checkFanout({ sent, deliveries, recipients: R, history });
    expect(r.orderViolations).toEqual([{ sender: 'vu1', recipient: 'alice', client_message_id: 'p-2', seq: 2, after: 3 }]);
    expect(r.lost).toEqual([]);
    expect(r.duplicates).toEqual([]);
  });

  it('reports messages missing from history (by client id or message id)', () => {
    const r = checkFanout({ sent, deliveries: clean(), recipients: R, history: ['p-0', 'm-1', 'p-3'] });
    expect(r.missingFromHistory).toEqual(['p-2']);
  });
});

describe('parseK6Log', () => {
  it('reads raw lines and k6 logfmt console lines', () => {
    const text = [
      'SETUP {"conversation_id":"c1","recipients":["alice","bob"]}',
      'time="2026-01-01T00:00:00Z" level=info msg="SENT {\\"client_message_id\\":\\"p-0\\",\\"seq\\":0,\\"sender\\":\\"vu1\\",\\"message_id\\":\\"m-0\\",\\"acked\\":true}" source=console',
      'time="2026-01-01T00:00:00Z" level=info msg="DELIVERY {\\"recipient\\":\\"alice\\",\\"client_message_id\\":\\"p-0\\",\\"seq\\":0,\\"sender\\":\\"vu1\\"}" source=console',
      'some other line',
    ].join('\n');
    const p = parseK6Log(text);
    expect(p.setup).toEqual({ conversation_id: 'c1', recipients: ['alice', 'bob'] });
    expect(p.sent).toEqual([{ client_message_id: 'p-0', seq: 0, sender: 'vu1', message_id: 'm-0', acked: true }]);
    expect(p.deliveries).toEqual([{ recipient: 'alice', client_message_id: 'p-0', seq: 0, sender: 'vu1' }]);
  });
});
