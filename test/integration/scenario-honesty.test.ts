import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { runScenario } from '../../src/k6/run.js';
import { parseK6Log } from '../../src/k6/fanout-checker.js';
import { testLab } from './helpers.js';

/** Honest verdicts against the real target: sends nobody acknowledged cross a budget; a k6 abort is a failed run (exit 2). */
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-honesty-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  target = await startTarget(lab, { profile: 'hardened', portBase: 80, instance: 'honest', services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});

afterAll(async () => {
  await target?.stop();
});

const ENV = { SC_SEND_VIA: 'ws', SC_GROUP_SIZE: '3', SC_RATE: '3', SC_DURATION: '4s', SC_WARMUP: '2s', SC_DRAIN: '2s', SC_ACK_TIMEOUT: '2s' };

describe('chat-fanout over the socket', () => {
  it('with Cassandra 2 s slow, no frame is stored or echoed: none acked crosses the acked-sends budget (and the ack latency has no data)', async () => {
    const name = `honest-${randomBytes(3).toString('hex')}`;
    const proxy = await lab.toxiproxy().get('cassandra');
    // The hardened chat service gives up on a query after 500 ms: the frame is not stored, so never echoed.
    await proxy.addToxic({ name, type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 2000 } });
    try {
      const r = await runScenario({ name: 'chat-fanout', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'unacked'), timeoutMs: 120_000, env: ENV });
      const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
      expect(log.sent.length, r.stderr.slice(-1500)).toBeGreaterThanOrEqual(8);
      expect(log.sent.filter((s) => s.acked)).toEqual([]);
      // k6 itself would call this run a pass on every other budget: the exit code comes from ours.
      expect(r.outcome, r.failure ?? '').toBe('thresholds');
      expect(r.failedThresholds).toContain('checks: rate>0.95');
      expect(r.noData).toContain('sc_ack_latency: p(95)<1000');
      expect(r.thresholdResults.find((t) => t.selector === 'checks')?.status).toBe('crossed');
    } finally {
      const res = await fetch(`${lab.toxiproxyUrl}/proxies/cassandra/toxics/${name}`, { method: 'DELETE' });
      if (!res.ok && res.status !== 404) throw new Error(`removing toxic ${name}: HTTP ${res.status}`);
    }
  }, 180_000);

  it('control: Cassandra healthy again, the same run passes (every frame echoed)', async () => {
    // The breaker opened during the previous test: give it time to close (half-open after CASSANDRA_BREAKER_OPEN_MS).
    let r = await runScenario({ name: 'chat-fanout', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'acked'), timeoutMs: 120_000, env: ENV });
    if (r.outcome !== 'passed') {
      await new Promise((ok) => setTimeout(ok, 10_000));
      r = await runScenario({ name: 'chat-fanout', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'acked-again'), timeoutMs: 120_000, env: ENV });
    }
    expect(r.outcome, `${r.failure ?? ''} ${r.failedThresholds.join('; ')}`).toBe('passed');
    const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
    expect(log.sent.length).toBeGreaterThanOrEqual(8);
    expect(log.sent.every((s) => s.acked)).toBe(true);
  }, 300_000);
});

describe('sch scenario run against the real target', () => {
  it('call-signaling without SC_VIDEO_URL: k6\'s setup() aborts (107) → exit 2 "run failed" with its message (it used to exit 0)', async () => {
    const out = join(runRoot, 'no-video');
    const r = await run(process.execPath, ['--import', 'tsx', join(HARNESS_ROOT, 'src', 'cli', 'main.ts'), 'scenario', 'run', 'call-signaling', '--base-url', target!.baseUrl, '--load', 'smoke', '--out-dir', out],
      { cwd: HARNESS_ROOT, timeoutMs: 90_000 });
    expect(r.code, r.stderr.slice(-1500)).toBe(2);
    expect(r.stderr).toMatch(/error: run failed: k6 exited 107 \(script exception\): GoError: SC_VIDEO_URL is not set \(video-service itself/);
    expect(r.stdout).toBe('');
  }, 120_000);
});
