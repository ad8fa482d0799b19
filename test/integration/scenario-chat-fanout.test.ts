import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { runScenario, type ScenarioRunResult } from '../../src/k6/run.js';
import { checkFanout, parseK6Log, type FanoutReport, type ParsedK6Log } from '../../src/k6/fanout-checker.js';
import { testLab } from './helpers.js';
import { conversationHistory as historyOf } from '../../src/k6/history.js';

/** The chat fan-out workload (k6, REST sends + one socket per receiver): complete and exactly-once, then planted faults are found. */
const GROUP = 5;
let lab: Lab;
const targets: RunningTarget[] = [];
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-chat-fanout-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
});

afterAll(async () => {
  for (const t of targets) await t.stop().catch(() => undefined);
});

async function json(res: Response): Promise<{ data?: Record<string, unknown> }> {
  return (await res.json()) as { data?: Record<string, unknown> };
}


async function fanoutRun(target: RunningTarget, dir: string, prefix: string): Promise<{ r: ScenarioRunResult; log: ParsedK6Log; report: FanoutReport }> {
  const r = await runScenario({
    name: 'chat-fanout', baseUrl: target.baseUrl, profile: 'smoke', outDir: join(runRoot, dir), timeoutMs: 90_000,
    env: { SC_GROUP_SIZE: String(GROUP), SC_RATE: '3', SC_DURATION: '5s', SC_WARMUP: '2s', SC_DRAIN: '3s', SC_MESSAGE_ID_PREFIX: prefix },
  });
  expect(r.timedOut).toBe(false);
  const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
  expect(log.setup, r.stderr.slice(-2000)).not.toBeNull();
  expect(log.setup!.recipients).toHaveLength(GROUP);
  const history = await historyOf(target.baseUrl, log.setup!.conversation_id);
  const report = checkFanout({ sent: log.sent, deliveries: log.deliveries, recipients: log.setup!.recipients, history });
  return { r, log, report };
}

describe('scenario chat-fanout (k6)', () => {
  it('every acked message reaches every receiver exactly once, in order, and is in history', async () => {
    const target = await startTarget(lab, { profile: 'hardened', portBase: 80, instance: 'fan', services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
    targets.push(target);
    const prefix = `fan${randomBytes(3).toString('hex')}`;
    const { r, log, report } = await fanoutRun(target, 'clean', prefix);
    expect(r.exitCode, `${r.stderr.slice(-2000)}\nfailed: ${r.failedThresholds.join('; ')}`).toBe(0);
    expect(r.thresholdsPassed, r.failedThresholds.join('; ')).toBe(true);
    expect(log.sent.length).toBeGreaterThanOrEqual(10);
    expect(log.sent.every((s) => s.acked)).toBe(true);
    expect(log.sent.map((s) => s.client_message_id)).toContain(`${prefix}-0`);
    expect(report.expected).toBe(log.sent.length * GROUP);
    expect(report.lost).toEqual([]);
    expect(report.duplicates).toEqual([]);
    expect(report.orderViolations).toEqual([]);
    expect(report.missingFromHistory).toEqual([]);
    expect(report.completeness).toBe(1);
  }, 150_000);

  it('a dropped and a duplicated fan-out (test hooks) are found exactly', async () => {
    const prefix = `fan2${randomBytes(3).toString('hex')}`;
    const dropped = `${prefix}-1`;
    const duplicated = `${prefix}-2`;
    const target = await startTarget(lab, {
      profile: 'hardened', portBase: 90, instance: 'fan2', services: ['auth', 'chat', 'gateway'],
      env: { RATE_LIMIT_PER_MINUTE: '100000', SC_TEST_DROP_DELIVERY_OF: dropped, SC_TEST_DUPLICATE_DELIVERY_OF: duplicated },
    });
    targets.push(target);
    const { log, report } = await fanoutRun(target, 'faults', prefix);
    const recipients = [...log.setup!.recipients];
    expect(log.sent.filter((s) => s.acked).map((s) => s.client_message_id)).toEqual(expect.arrayContaining([dropped, duplicated]));
    expect(report.lost.map((p) => `${p.client_message_id}/${p.recipient}`).sort()).toEqual(recipients.map((x) => `${dropped}/${x}`).sort());
    expect(report.duplicates.map((p) => `${p.client_message_id}/${p.recipient}/${p.count}`).sort()).toEqual(recipients.map((x) => `${duplicated}/${x}/2`).sort());
    expect(report.orderViolations).toEqual([]);
    // Dropping the fan-out does not drop the message: it is stored.
    expect(report.missingFromHistory).toEqual([]);
    expect(report.delivered).toBe(report.expected - GROUP);
    expect(report.completeness).toBeCloseTo(1 - 1 / log.sent.length);
  }, 150_000);
});
