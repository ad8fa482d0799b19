import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { FaultSpecSchema, MECHANISMS, createFault, formatIssues, listNamedFaults, parseFaultSpec, type FaultLab } from '../../chaos/index.js';

const issuesOf = (input: unknown, prefix = ''): string[] => {
  const r = FaultSpecSchema.safeParse(input);
  expect(r.success).toBe(false);
  return formatIssues((r as { error: z.ZodError }).error, prefix);
};

describe('fault specs', () => {
  it('accepts each form and builds the right mechanism', () => {
    expect(createFault({ id: 'a', fault: 'cassandra-slow' })).toMatchObject({ name: 'cassandra-slow', mechanism: 'toxiproxy', target: 'cassandra', expectedLatencyMs: 3000 });
    expect(createFault({ id: 'b', fault: 'postgres-slow', params: { latencyMs: 200 } })).toMatchObject({ expectedLatencyMs: 200, params: { latencyMs: 200, jitterMs: 0 } });
    expect(createFault({ id: 'c', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 150 } } })).toMatchObject({ name: 'custom', mechanism: 'toxiproxy', expectedLatencyMs: 150 });
    expect(createFault({ id: 'd', proxyDown: 'minio' })).toMatchObject({ mechanism: 'toxiproxy', target: 'minio' });
    expect(createFault({ id: 'e', udp: { action: 'loss', percent: 10 } })).toMatchObject({ mechanism: 'nft', target: 'turn-udp' });
    expect(createFault({ id: 'f', process: { action: 'pause', target: 'target:chat' } })).toMatchObject({ mechanism: 'process', target: 'target:chat' });
    expect(createFault({ id: 'g', fault: 'turn-outage' })).toMatchObject({ mechanism: 'nft' });
    expect(createFault({ id: 'h', fault: 'redis-crash-restart' })).toMatchObject({ mechanism: 'process', target: 'redis' });
  });

  it('names the field of a wrong param, with the experiment file prefix', () => {
    const lines = issuesOf({ id: 'x', fault: 'cassandra-slow', params: { latencyMs: 'slow' } }, 'faults[2]');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^faults\[2\]\.params\.latencyMs: .*expected number/);
  });

  it('rejects unknown params, unknown named faults, bad ids, bad toxic attributes, ambiguous specs', () => {
    expect(issuesOf({ id: 'x', fault: 'redis-outage', params: { nope: 1 } }).join('\n')).toMatch(/^params: .*nope/m);
    expect(issuesOf({ id: 'x', fault: 'redis-exploded' }).join('\n')).toMatch(/^fault: /m);
    expect(issuesOf({ id: 'Bad Id!', proxyDown: 'redis' }).join('\n')).toMatch(/^id: /m);
    expect(issuesOf({ id: 'x', toxic: { proxy: 'redis', type: 'latency', attributes: { latncy: 5 } } }).join('\n')).toMatch(/toxic\.attributes/);
    expect(issuesOf({ id: 'x', toxic: { proxy: 'kafka', type: 'latency', attributes: { latency: 5 } } }).join('\n')).toMatch(/^toxic\.proxy: /m);
    expect(issuesOf({ id: 'x', udp: { action: 'loss' } }).join('\n')).toMatch(/^udp\.percent: required/m);
    expect(issuesOf({ id: 'x', udp: { action: 'rate-cap' } }).join('\n')).toMatch(/^udp\.kbytesPerSecond: required/m);
    expect(issuesOf({ id: 'x', proxyDown: 'redis', udp: { action: 'outage' } }).join('\n')).toMatch(/exactly one/);
    expect(issuesOf({ id: 'x' }).join('\n')).toMatch(/needs one of/);
    expect(issuesOf({ id: 'x', process: { action: 'freeze', target: 'redis' } }).join('\n')).toMatch(/^process\.action: /m);
    expect(() => parseFaultSpec({ id: 'x', fault: 'postgres-slow', params: { latencyMs: -1 } }, 'faults[0]')).toThrow(/faults\[0\]\.params\.latencyMs/);
  });

  it('takes its mechanism keys from the registry, in registry order', () => {
    const keys = MECHANISMS.flatMap((m) => Object.keys(m.specs));
    expect(keys).toEqual(['toxic', 'proxyDown', 'udp', 'process']);
    expect(issuesOf({ id: 'x' })).toEqual([`(spec): needs one of ${['fault', ...keys].join(', ')}`]);
    // Each key builds a fault of the mechanism that declares it.
    const examples: Record<string, unknown> = { toxic: { proxy: 'redis', type: 'timeout', attributes: { timeout: 0 } }, proxyDown: 'redis', udp: { action: 'outage' }, process: { action: 'kill-restart', target: 'redis' } };
    for (const m of MECHANISMS) for (const key of Object.keys(m.specs)) expect(createFault({ id: 'k', [key]: examples[key] }).mechanism, key).toBe(m.name);
    expect(createFault({ id: 'k', proxyDown: 'redis' }).params).toEqual({ proxyDown: 'redis' });
    expect(createFault({ id: 'k', udp: { action: 'loss', percent: 5 } }).params).toEqual({ action: 'loss', percent: 5 });
  });

  it('lists every named fault with its defaults', () => {
    const names = listNamedFaults().map((f) => f.name);
    expect(names).toEqual(['redis-outage', 'cassandra-slow', 'minio-down', 'turn-loss', 'turn-outage', 'redis-crash-restart', 'postgres-slow', 'push-down', 'push-slow', 'turn-relay-exhaust']);
    expect(listNamedFaults().find((f) => f.name === 'turn-loss')?.defaults).toEqual({ percent: 30 });
    expect(listNamedFaults().find((f) => f.name === 'cassandra-slow')?.defaults).toEqual({ latencyMs: 3000, jitterMs: 0 });
  });
});

describe('UDP faults without the lab namespace', () => {
  it('apply throws an error naming the fault and the namespace it needs', async () => {
    // A lab on the host loopback (no namespace): all a fault may ask of a lab, nothing behind it.
    const none = (): never => {
      throw new Error('not in this test');
    };
    const lab: FaultLab = {
      name: 'nons', isExternal: false, toxiproxyUrl: 'http://127.0.0.1:1', netns: null, address: '127.0.0.1',
      ports: { service: { coturn: 1 }, turnRelay: { min: 2, max: 3 } }, state: { services: [], processes: [] },
      endpoint: none, directEndpoint: none, refreshState: () => undefined, restartService: none, restartTargetService: none, probeService: none,
    };
    const saved = process.env.SCH_STATE_DIR;
    // The journal goes next to the (here absent) lab state: keep it in a scratch folder.
    process.env.SCH_STATE_DIR = mkdtempSync(`${tmpdir()}/sch-unit-`);
    const f = createFault({ id: 'nons-loss', fault: 'turn-loss' });
    await expect(f.apply({ lab })).rejects.toThrow(/fault "nons-loss" \(UDP loss 30 %\) needs the lab network namespace/);
    await expect(f.verify({ lab })).rejects.toThrow(/needs the lab network namespace/);
    expect((await f.rollback({ lab })).ok).toBe(true);
    if (saved === undefined) delete process.env.SCH_STATE_DIR;
    else process.env.SCH_STATE_DIR = saved;
  });
});
