import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveNetns, waitHealthy, LabError } from '../../src/lab/lab.js';
import { spawnDetached, stopProcess, isAlive } from '../../src/lab/process.js';
import type { LabContext, ServiceDefinition } from '../../src/lab/services/types.js';

describe('network namespace decision', () => {
  it('uses a namespace as root, the host loopback otherwise, and refuses "always" without root', () => {
    expect(resolveNetns('auto', true)).toBe(true);
    expect(resolveNetns('auto', false)).toBe(false);
    expect(resolveNetns('never', true)).toBe(false);
    expect(() => resolveNetns('always', false)).toThrow(/needs root.*--no-netns.*turn-loss/);
  });
});

describe('waiting for a service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sch-unit-'));
  const ctx = {} as LabContext;
  const def = (probe: () => Promise<string>, startTimeoutMs = 1500): ServiceDefinition => ({
    name: 'redis', requires: () => [], startTimeoutMs, prepare: async () => { throw new Error('unused'); }, probe,
  });

  it('reports a server that exits during start with the last lines of its log', async () => {
    const rec = spawnDetached({ name: 'redis', command: 'sh', args: ['-c', 'echo "FATAL: bad config line 3"; exit 3'], logFile: join(dir, 'exit.log') });
    const err = await waitHealthy(def(async () => { throw new Error('refused'); }), ctx, rec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as Error).message).toMatch(/redis exited during start/);
    expect((err as Error).message).toContain('FATAL: bad config line 3');
  });

  it('reports a server that never answers with the last probe error and its log', async () => {
    const rec = spawnDetached({ name: 'redis', command: 'sh', args: ['-c', 'echo listening-soon; sleep 30'], logFile: join(dir, 'hang.log') });
    try {
      const err = await waitHealthy(def(async () => { throw new Error('connection refused'); }, 800), ctx, rec).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/did not become healthy within 0.8 s \(last probe: connection refused\)/);
      expect((err as Error).message).toContain('listening-soon');
    } finally {
      await stopProcess(rec, 1000);
    }
    expect(isAlive(rec)).toBe(false);
  });

  it('stops when interrupted', async () => {
    const rec = spawnDetached({ name: 'redis', command: 'sleep', args: ['30'], logFile: join(dir, 'int.log') });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      await expect(waitHealthy(def(async () => { throw new Error('not yet'); }, 10_000), ctx, rec, ac.signal)).rejects.toThrow(/interrupted/);
    } finally {
      await stopProcess(rec, 1000);
    }
  });
});
