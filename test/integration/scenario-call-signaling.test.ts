import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { checksOf, readSummary, runScenario, type ScenarioRunResult } from '../../src/k6/run.js';
import { run } from '../../src/lab/exec.js';
import { expectEveryStepPassed, testLab } from './helpers.js';

/** The call-signaling workload (k6): REST call lifecycle + mesh relay among every pair, then the SFU path, on a hardened target. */
const STEPS = ['initiate', 'join', 'end'];
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-call-signaling-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  target = await startTarget(lab, { profile: 'hardened', portBase: 50, instance: 'calls', services: ['auth', 'video', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});

afterAll(async () => {
  await target?.stop();
});

function expectClean(r: ScenarioRunResult, participants: number): ReturnType<typeof readSummary> {
  expect(r.timedOut).toBe(false);
  expect(r.exitCode, `${r.stderr.slice(-2000)}\nfailed: ${r.failedThresholds.join('; ')}`).toBe(0);
  expect(r.thresholdsPassed, r.failedThresholds.join('; ')).toBe(true);
  const s = expectEveryStepPassed(r, STEPS);
  const m = s.metrics;
  const calls = Number(m.sc_calls_completed?.passes ?? 0);
  expect(calls).toBeGreaterThanOrEqual(3);
  expect(m.sc_calls_completed?.fails ?? 0).toBe(0);
  // Every pair: offer + answer + 2 candidates each way.
  const perCall = ((participants * (participants - 1)) / 2) * (2 + 2 * 2);
  expect(Number(m.sc_signal_frames_sent?.count)).toBe(calls * perCall);
  expect(Number(m.sc_signal_frames_received?.count)).toBe(calls * perCall);
  expect(Number(m.sc_signal_frames_lost?.count ?? 0)).toBe(0);
  expect(Number(m.sc_signal_frames_misrouted?.count ?? 0)).toBe(0);
  expect(Number(m.sc_invalid_frames?.count ?? 0)).toBe(0);
  expect(Number(m.sc_signal_relay_latency?.count)).toBe(calls * perCall);
  expect(Number(m.sc_signal_join_latency?.count)).toBe(calls * participants);
  for (const [name, c] of Object.entries(checksOf(s))) expect(c.fails, name).toBe(0);
  return s;
}

describe('scenario call-signaling (k6, smoke, hardened target)', () => {
  it('mesh: every offer/answer/candidate reaches its addressee among 3 participants; calls start and end', async () => {
    const r = await runScenario({
      name: 'call-signaling', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'mesh'), timeoutMs: 90_000,
      env: { SC_VIDEO_URL: target!.serviceUrls.video, SC_PARTICIPANTS: '3' },
    });
    const s = expectClean(r, 3);
    expect(s.metrics.sc_sfu_request_latency?.count ?? 0).toBe(0);
    expect(r.thresholds.sc_signal_relay_latency).toEqual(['p(95)<1000']);
  }, 120_000);

  it('SFU: each of 4 participants gets the router capabilities and a send and a recv transport', async () => {
    const r = await runScenario({
      name: 'call-signaling', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, 'sfu'), timeoutMs: 90_000,
      env: { SC_VIDEO_URL: target!.serviceUrls.video, SC_PARTICIPANTS: '4', SC_SFU: '1', SC_RATE: '1', SC_DURATION: '5s' },
    });
    const s = expectClean(r, 4);
    const calls = Number(s.metrics.sc_calls_completed?.passes ?? 0);
    // get-router-rtp-capabilities + 2 × create-transport per participant.
    expect(Number(s.metrics.sc_sfu_request_latency?.count)).toBe(calls * 4 * 3);
    expect(Number(s.metrics.sc_sfu_failures?.count ?? 0)).toBe(0);
    const checks = checksOf(s);
    expect(checks['sfu: transport parameters received']?.passes).toBe(calls);
  }, 120_000);

  it('the CLI runs it too: `sch scenario run call-signaling … --env SC_VIDEO_URL=…` exits 0 and prints the thresholds', async () => {
    const out = join(runRoot, 'cli');
    const r = await run(process.execPath, ['--import', 'tsx', join(HARNESS_ROOT, 'src', 'cli', 'main.ts'), 'scenario', 'run', 'call-signaling',
      '--base-url', target!.baseUrl, '--load', 'smoke', '--env', `SC_VIDEO_URL=${target!.serviceUrls.video}`, '--env', 'SC_RATE=1', '--env', 'SC_DURATION=3s', '--out-dir', out],
    { cwd: HARNESS_ROOT, timeoutMs: 90_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/sc_signal_relay_latency\s+p\(95\)<1000\s+ok/);
    expect(r.stderr).toMatch(/\[scenario\] call-signaling \(smoke\) against/);
    expect(readSummary(join(out, 'summary.json')).metrics.sc_signal_frames_lost?.count ?? 0).toBe(0);
  }, 120_000);
});
