import { describe, expect, it } from 'vitest';
import { createFault } from '../../chaos/index.js';
import { FaultTimeline } from '../../src/experiment/timeline.js';
import type { FaultRecord } from '../../src/results/model.js';
import { testLab } from './helpers.js';
import { leftovers } from './chaos-leftovers.js';

describe('fault timeline on the real Toxiproxy', () => {
  it('the rollback is issued at the scheduled end while verify() still waits on a probe through a 3 s toxic', async () => {
    const lab = await testLab();
    const fault = createFault({ id: 'tl-slow', toxic: { proxy: 'postgres', type: 'latency', attributes: { latency: 3000 } } });
    const record: FaultRecord = { id: 'tl-slow', name: fault.name, mechanism: fault.mechanism, target: fault.target, params: fault.params, plannedStartS: 0.2, plannedDurationS: 1, verified: false, verifyDetail: '', rolledBack: false };
    const tl = new FaultTimeline([{ fault, record, startS: 0.2, durationS: 1 }], { ctx: { lab } });
    try {
      await tl.play(Date.now(), new AbortController().signal);
      // Rolled back on schedule, whatever verify() (PostgreSQL round trips through the toxic) was doing.
      expect(record.removedAtMs).toBeDefined();
      expect(record.rolledBack).toBe(true);
      expect(record.rollbackIssuedAtMs!).toBeGreaterThanOrEqual(record.scheduledRemoveMs!);
    } finally {
      await tl.rollbackAll();
    }
    // The ordering: the rollback was issued while verify() was still waiting on the toxic (its probes, 3 s each, started at apply).
    expect(record.verifyStartedAtMs!).toBeLessThan(record.rollbackIssuedAtMs!);
    expect(record.rollbackIssuedAtMs! - record.verifyStartedAtMs!).toBeLessThan(3000);
    expect(record.verifiedAtMs).toBeDefined();
    expect(record.rollbackIssuedAtMs!).toBeLessThan(record.verifiedAtMs!);
    expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
  }, 60_000);
});
