import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { readSummary, runScenario } from '../../src/k6/run.js';
import { checkFanoutRun, parseK6Log, type FanoutRunReport, type ParsedK6Log } from '../../src/k6/fanout-checker.js';
import { testLab } from './helpers.js';
import { conversationHistory as historyOf } from '../../src/k6/history.js';

/** chat-fanout's send paths and group sizes on a hardened target: the socket send path, a group of 50, several conversations at once. */
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-chat-fanout-paths-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  target = await startTarget(lab, { profile: 'hardened', portBase: 40, instance: 'fanpaths', services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});

afterAll(async () => {
  await target?.stop();
});


async function fanout(dir: string, env: Record<string, string>): Promise<{ log: ParsedK6Log; report: FanoutRunReport; summary: ReturnType<typeof readSummary> }> {
  const r = await runScenario({
    name: 'chat-fanout', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, dir), timeoutMs: 120_000,
    env: { SC_RATE: '2', SC_DURATION: '4s', SC_WARMUP: '2s', SC_DRAIN: '3s', ...env },
  });
  expect(r.timedOut).toBe(false);
  expect(r.exitCode, `${r.stderr.slice(-2000)}\nfailed: ${r.failedThresholds.join('; ')}`).toBe(0);
  expect(r.thresholdsPassed, r.failedThresholds.join('; ')).toBe(true);
  const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
  const history: Record<string, string[]> = {};
  for (const s of log.setups) history[s.conversation_id] = await historyOf(target!.baseUrl, s.conversation_id);
  const report = checkFanoutRun(log, history);
  return { log, report, summary: readSummary(r.summaryPath) };
}

function expectClean(report: FanoutRunReport): void {
  expect(report.expected).toBeGreaterThan(0);
  expect(report.lost).toEqual([]);
  expect(report.duplicates).toEqual([]);
  expect(report.orderViolations).toEqual([]);
  expect(report.missingFromHistory).toEqual([]);
  expect(report.unacked).toBe(0);
  expect(report.completeness).toBe(1);
}

describe('scenario chat-fanout: send paths and group sizes (k6, smoke)', () => {
  it('socket send path (SC_SEND_VIA=ws): every frame is echoed, stored and reaches every receiver exactly once, in order', async () => {
    const prefix = `ws${randomBytes(3).toString('hex')}`;
    const { log, report, summary } = await fanout('ws', { SC_SEND_VIA: 'ws', SC_GROUP_SIZE: '5', SC_RATE: '3', SC_MESSAGE_ID_PREFIX: prefix });
    expect(log.setups).toHaveLength(1);
    expect(log.sent.length).toBeGreaterThanOrEqual(8);
    expect(log.sent.every((s) => s.via === 'ws' && s.acked && typeof s.message_id === 'string')).toBe(true);
    expect(log.sent.map((s) => s.client_message_id)).toContain(`${prefix}-0`);
    expect(report.ackedVia).toEqual({ rest: 0, ws: log.sent.length });
    expect(report.expected).toBe(log.sent.length * 5);
    expectClean(report);
    expect(summary.metrics.sc_invalid_frames?.count ?? 0).toBe(0);
    expect(Number(summary.metrics.sc_ack_latency?.count)).toBe(log.sent.length);
  }, 150_000);

  it('a group of 50 receivers, REST and socket sends together (SC_SEND_VIA=both): clean', async () => {
    const { log, report } = await fanout('g50', { SC_SEND_VIA: 'both', SC_GROUP_SIZE: '50' });
    expect(log.setup!.recipients).toHaveLength(50);
    expect(report.ackedVia.rest).toBeGreaterThanOrEqual(6);
    expect(report.ackedVia.ws).toBeGreaterThanOrEqual(6);
    expect(report.expected).toBe(log.sent.length * 50);
    expectClean(report);
  }, 150_000);

  it('several conversations at once (SC_GROUPS=2,10,25: a 1:1 and two groups): each clean on its own', async () => {
    const { log, report } = await fanout('groups', { SC_GROUPS: '2,10,25' });
    expect(log.setups.map((s) => s.recipients.length)).toEqual([1, 9, 24]);
    expect(report.conversations.map((c) => c.recipients)).toEqual([1, 9, 24]);
    for (const c of report.conversations) {
      expect(c.acked).toBeGreaterThanOrEqual(6);
      expect(c.expected).toBe(c.acked * c.recipients);
      expect(c.completeness).toBe(1);
    }
    expectClean(report);
  }, 150_000);
});
