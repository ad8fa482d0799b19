import { describe, expect, it } from 'vitest';
import { FaultTimeline } from '../../src/experiment/timeline.js';
import type { CheckResult, Fault, FaultContext } from '../../chaos/index.js';
import type { FaultRecord } from '../../src/results/model.js';

/** A fault whose verify() takes `verifyMs` (a probe through a slow toxic); every call is logged with its time. */
class SlowVerifyFault implements Fault {
  readonly name = 'custom';
  readonly mechanism = 'toxiproxy' as const;
  readonly target = 'postgres';
  readonly params = {};
  readonly events: { what: string; at: number }[] = [];
  constructor(readonly id: string, private readonly verifyMs: number) {}
  async apply(): Promise<void> { this.events.push({ what: 'apply', at: Date.now() }); }
  async verify(): Promise<CheckResult> {
    this.events.push({ what: 'verify-start', at: Date.now() });
    await new Promise((r) => setTimeout(r, this.verifyMs));
    this.events.push({ what: 'verify-end', at: Date.now() });
    return { ok: true, detail: 'measured' };
  }
  async rollback(): Promise<CheckResult> { this.events.push({ what: 'rollback', at: Date.now() }); return { ok: true, detail: 'clean' }; }
}

const record = (id: string, startS: number, durationS: number): FaultRecord => ({ id, name: 'custom', mechanism: 'toxiproxy', target: 'postgres', params: {}, plannedStartS: startS, plannedDurationS: durationS, verified: false, verifyDetail: '', rolledBack: false });
const ctx = {} as FaultContext; // the fake faults never touch a lab

describe('fault timeline', () => {
  it('rolls back at the scheduled end while verify() is still in flight, then records the late verification', async () => {
    const f = new SlowVerifyFault('slow', 1500);
    const tl = new FaultTimeline([{ fault: f, record: record('slow', 0.1, 0.4), startS: 0.1, durationS: 0.4 }], { ctx });
    const start = Date.now();
    await tl.play(start, new AbortController().signal);
    await tl.rollbackAll();
    const order = f.events.map((e) => e.what);
    expect(order).toEqual(['apply', 'verify-start', 'rollback', 'verify-end']);
    const r = tl.records[0]!;
    expect(r.rollbackIssuedAtMs!).toBeLessThan(r.verifiedAtMs!);
    expect(r.verified).toBe(true);
    expect(r.scheduledApplyMs).toBe(start + 100);
    expect(r.scheduledRemoveMs).toBe(start + 500);
    expect(r.removedAtMs! - r.scheduledRemoveMs!).toBeLessThan(1000);
  });

  it('aborting rolls back what is applied and never applies what is still to come', async () => {
    const a = new SlowVerifyFault('a', 10);
    const b = new SlowVerifyFault('b', 10);
    const tl = new FaultTimeline([
      { fault: a, record: record('a', 0, 30), startS: 0, durationS: 30 },
      { fault: b, record: record('b', 20, 5), startS: 20, durationS: 5 },
    ], { ctx });
    const stop = new AbortController();
    const playing = tl.play(Date.now(), stop.signal);
    await new Promise((r) => setTimeout(r, 200));
    expect(tl.active()).toEqual(['a']);
    stop.abort();
    await playing;
    await tl.rollbackAll();
    expect(a.events.map((e) => e.what)).toEqual(['apply', 'verify-start', 'verify-end', 'rollback']);
    expect(b.events).toEqual([]);
    expect(tl.records[1]!.appliedAtMs).toBeUndefined();
  });
});
