import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/lab/lab.js';
import { DEPENDENCY_NAMES } from '../../src/topology/topology.js';
import { cleanupFaults, createFault, probeRtt, probeRtts, readJournal, type Fault, type FaultContext, type FaultSpec } from '../../chaos/index.js';
import { listToxics } from '../../chaos/toxics/api.js';
import { testLab } from './helpers.js';

let lab: Lab;
let ctx: FaultContext;

beforeAll(async () => {
  lab = await testLab();
  ctx = { lab, log: (l) => process.stderr.write(`[chaos] ${l}\n`) };
  await cleanupFaults(lab);
});
afterAll(async () => {
  if (lab) await cleanupFaults(lab);
});

/** apply → verify (must land) → rollback (must be clean, no toxic left, journal empty). */
async function roundTrip(spec: FaultSpec): Promise<{ fault: Fault; verify: { ok: boolean; detail: string } }> {
  const fault = createFault(spec);
  await fault.apply(ctx);
  try {
    expect(readJournal(lab).map((e) => e.id)).toContain(spec.id);
    const verify = await fault.verify(ctx);
    expect(verify.ok, verify.detail).toBe(true);
    return { fault, verify };
  } finally {
    const rb = await fault.rollback(ctx);
    expect(rb.ok, rb.detail).toBe(true);
    for (const proxy of DEPENDENCY_NAMES) expect(await listToxics(lab, proxy)).toEqual([]);
    expect(readJournal(lab)).toEqual([]);
  }
}

describe('path probes', () => {
  it('every dependency answers its protocol probe through its proxy', async () => {
    for (const dep of DEPENDENCY_NAMES) {
      const { host, port } = lab.endpoint(dep);
      const ms = await probeRtt(dep, host, port);
      expect(ms, dep).toBeLessThan(500);
    }
  });
});

describe('toxics (Toxiproxy)', () => {
  it('latency 150 ms adds 135-165 ms to a Redis round trip, and goes away on rollback', async () => {
    const { host, port } = lab.endpoint('redis');
    const before = (await probeRtts('redis', host, port, 5)).medianMs!;
    const fault = createFault({ id: 'lat150', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 150 } } });
    expect(fault.expectedLatencyMs).toBe(150);
    await fault.apply(ctx);
    const during = (await probeRtts('redis', host, port, 5)).medianMs!;
    const v = await fault.verify(ctx);
    const rb = await fault.rollback(ctx);
    const after = (await probeRtts('redis', host, port, 5)).medianMs!;
    expect(v.ok, v.detail).toBe(true);
    expect(during - before).toBeGreaterThanOrEqual(135);
    expect(during - before).toBeLessThanOrEqual(165);
    expect(rb.ok, rb.detail).toBe(true);
    expect(after - before).toBeLessThan(20);
  });

  it('latency with jitter on postgres (named postgres-slow)', async () => {
    const { verify } = await roundTrip({ id: 'pgslow', fault: 'postgres-slow', params: { latencyMs: 200, jitterMs: 20 } });
    expect(verify.detail).toMatch(/added \d+/);
  });

  it('bandwidth caps throughput', async () => {
    const { verify } = await roundTrip({ id: 'bw', toxic: { proxy: 'redis', type: 'bandwidth', attributes: { rate: 8 } } });
    const kbps = Number(/= ([\d.]+) KB\/s/.exec(verify.detail)?.[1]);
    expect(kbps).toBeGreaterThan(2);
    expect(kbps).toBeLessThanOrEqual(8 * 1.3);
  });

  it('timeout: the probe gets no answer', async () => {
    await roundTrip({ id: 'to', toxic: { proxy: 'cassandra', type: 'timeout', attributes: { timeout: 0 } } });
  });

  it('reset_peer: the probe fails', async () => {
    await roundTrip({ id: 'rst', toxic: { proxy: 'minio', type: 'reset_peer', attributes: { timeout: 0 } } });
  });

  it('slicer: answers arrive in small slices', async () => {
    const { verify } = await roundTrip({ id: 'slice', toxic: { proxy: 'coturn', type: 'slicer', attributes: { average_size: 4, size_variation: 1, delay: 2000 } } });
    expect(verify.detail).toMatch(/reads/);
  });

  it('limit_data: the connection closes after the byte cap', async () => {
    await roundTrip({ id: 'lim', toxic: { proxy: 'redis', type: 'limit_data', attributes: { bytes: 60 } } });
  });

  it('slow_close: the close arrives late', async () => {
    const { verify } = await roundTrip({ id: 'slowc', toxic: { proxy: 'redis', type: 'slow_close', attributes: { delay: 600 } } });
    const gap = Number(/closed (\d+) ms/.exec(verify.detail)?.[1]);
    expect(gap).toBeGreaterThanOrEqual(540);
  });

  it('proxy down (named redis-outage): the probe fails, then answers again after rollback', async () => {
    const { host, port } = lab.endpoint('redis');
    await roundTrip({ id: 'rdown', fault: 'redis-outage' });
    expect(await probeRtt('redis', host, port)).toBeLessThan(500);
  });
});
