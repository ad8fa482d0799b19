import { describe, expect, it } from 'vitest';
import { FaultTimeline } from '../../src/experiment/timeline.js';
import { FaultMetrics, faultEvent, parseListen, type FaultEvent } from '../../src/results/fault-events.js';
import type { CheckResult, Fault, FaultContext } from '../../chaos/index.js';
import type { FaultRecord } from '../../src/results/model.js';

/** A fault that only says it was applied (a unit double: no lab). */
class QuietFault implements Fault {
  readonly name = 'redis-outage';
  readonly mechanism = 'toxiproxy' as const;
  readonly target = 'redis';
  readonly params = {};
  constructor(readonly id: string) {}
  async apply(): Promise<void> {}
  async verify(): Promise<CheckResult> { return { ok: true, detail: 'probe refused' }; }
  async rollback(): Promise<CheckResult> { return { ok: true, detail: 'clean' }; }
}

const rec = (id: string, cycle: number, startS: number): FaultRecord => ({ id, entryId: 'redis', cycle, name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: startS, plannedDurationS: 0.2, verified: false, verifyDetail: '', rolledBack: false });

async function scrape(url: string): Promise<string> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return r.text();
}

describe('the fault timeline as events and live metrics', () => {
  it('a Prometheus scrape sees each cycle go on and off; every event is recorded with its cycle', async () => {
    const m = new FaultMetrics({ runId: 'r1', experiment: 'soak' });
    const url = await m.listen('127.0.0.1', 0);
    const f = new QuietFault('redis');
    const events: FaultEvent[] = [];
    // The scrape waits for the first cycle's apply (not a clock): on a loaded machine a timer can fire late.
    let firstOn: () => void = () => undefined;
    const firstApplied = new Promise<void>((r) => (firstOn = r));
    const tl = new FaultTimeline([
      { fault: f, record: rec('redis', 1, 0.05), startS: 0.05, durationS: 1.5 },
      { fault: f, record: rec('redis#2', 2, 1.7), startS: 1.7, durationS: 0.3 },
    ], { ctx: {} as FaultContext, onEvent: (ev) => { const e = faultEvent(ev.type, ev.record); events.push(e); m.record(e); if (e.type === 'applied' && e.fault === 'redis') firstOn(); } });
    try {
      const playing = tl.play(Date.now(), new AbortController().signal);
      await firstApplied;
      const during = await scrape(url);
      expect(during).toMatch(/sch_fault_active\{fault="redis",entry="redis",name="redis-outage",target="redis"\} 1/);
      expect(during).toMatch(/sch_run_info\{run="r1",experiment="soak"\} 1/);
      await playing;
      await tl.rollbackAll();
      const after = await scrape(url);
      expect(after).toMatch(/sch_fault_active\{fault="redis",[^}]*\} 0/);
      expect(after).toMatch(/sch_fault_active\{fault="redis#2",[^}]*\} 0/);
      expect(after).toMatch(/sch_fault_events_total\{type="applied",entry="redis"\} 2/);
      expect(after).toMatch(/sch_fault_verified\{fault="redis#2"\} 1/);
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await m.close();
    }
    expect(events.map((e) => [e.type, e.fault, e.cycle])).toEqual([
      ['applied', 'redis', 1], ['verified', 'redis', 1], ['removed', 'redis', 1],
      ['applied', 'redis#2', 2], ['verified', 'redis#2', 2], ['removed', 'redis#2', 2],
    ]);
    expect(events.find((e) => e.type === 'removed')).toMatchObject({ ok: true, entry: 'redis' });
  });

  it('--metrics-listen takes HOST:PORT and names the flag otherwise', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('9464')).toThrow(/--metrics-listen 9464: give HOST:PORT/);
    expect(() => parseListen('h:70000')).toThrow(/--metrics-listen h:70000/);
  });
});
