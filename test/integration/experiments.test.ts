import { describe, expect, it, beforeAll } from 'vitest';
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { loadClaims } from '../../src/experiment/claims.js';
import { defineExperiment } from '../../src/experiment/spec.js';
import { runExperiment, type RunOptions } from '../../src/experiment/runner.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';
import { startTarget } from '../../src/lab/target.js';
import { leftovers } from './chaos-leftovers.js';

/**
 * Every experiment of the catalogue on both reference profiles (short timelines), each claim against
 * a target that has its defect, calibration, and rollback on SIGINT / after SIGKILL.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-experiments-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

async function run(name: string, o: Partial<RunOptions> = {}): Promise<RunResult> {
  return runExperiment({ experiment: await loadExperiment(name), labName: lab.name, runsDir, ...o });
}

const verdicts = (r: RunResult) => Object.fromEntries(r.claims.map((c) => [c.id, c.verdict]));
const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}\n${r.calibration.map((c) => `${c.label}: ${c.ok} ${c.detail}`).join('\n')}`;

const EXPERIMENTS = ['redis-outage', 'cassandra-slow', 'minio-down', 'api-guards', 'recovery'];

describe('every claim gets its expected verdict on both reference profiles', () => {
  const claims = loadClaims();
  for (const name of EXPERIMENTS) {
    for (const profile of ['audited', 'hardened'] as const) {
      it(`${name} on ${profile}`, async () => {
        const r = await run(name, { profile });
        expect(r.error, explain(r)).toBeUndefined();
        expect(r.claims.length).toBeGreaterThan(0);
        for (const c of r.claims) {
          const want = claims.find((x) => x.id === c.id)!.expected[profile];
          expect(c.verdict, `${c.id}\n${explain(r)}`).toBe(want);
          expect(c.asExpected).toBe(true);
        }
        if (profile === 'hardened') expect(r.claims.every((c) => c.verdict === 'PASS')).toBe(true);
        expect(r.exitCode).toBe(0);
        // Reports are written and say what the result says.
        const dir = join(runsDir, r.runId);
        for (const f of ['result.json', 'junit.xml', 'report.html', 'manifest.json']) expect(existsSync(join(dir, f)), f).toBe(true);
        expect((JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult).claims.map((c) => c.verdict)).toEqual(r.claims.map((c) => c.verdict));
        expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
      }, 180_000);
    }
  }
});

describe('each check FAILs on a target with the defect', () => {
  it('login and chat without their Redis degraded modes: REDIS-LOGIN and REDIS-CHAT FAIL (revocation still PASS)', async () => {
    const r = await run('redis-outage', { profile: 'hardened', targetEnv: { SC_TEST_REQUIRE_REDIS: 'session,publish' } });
    expect(verdicts(r), explain(r)).toEqual({ 'REDIS-LOGIN': 'FAIL', 'REDIS-CHAT': 'FAIL', 'REDIS-REVOCATION': 'PASS' });
    expect(r.exitCode).toBe(1);
  }, 180_000);

  it('no circuit breaker on MinIO: MINIO-BREAKER FAIL (every upload reaches the dead MinIO)', async () => {
    const r = await run('minio-down', { profile: 'hardened', targetEnv: { MINIO_BREAKER_THRESHOLD: '100000' } });
    expect(verdicts(r), explain(r)).toEqual({ 'MINIO-BREAKER': 'FAIL' });
    expect(r.hypotheses.find((h) => h.id === 'breaker-opens-after-3')!.verdict).toBe('FAIL');
  }, 180_000);

  it('foreign origin allowed and no rate limit: WS-ORIGIN and RATE-LIMIT FAIL', async () => {
    const r = await run('api-guards', { profile: 'hardened', targetEnv: { CORS_ALLOWED_ORIGINS: 'https://evil.example', RATE_LIMIT_PER_MINUTE: '100000000' } });
    expect(verdicts(r), explain(r)).toEqual({ 'WS-ORIGIN': 'FAIL', 'WS-SATURATION': 'PASS', 'RATE-LIMIT': 'FAIL' });
  }, 180_000);

  it('a breaker that stays open 25 s and a dropped fan-out: RECOVERY-LATENCY and NO-MESSAGE-LOSS FAIL', async () => {
    const r = await run('recovery', {
      profile: 'hardened',
      targetEnv: { CASSANDRA_BREAKER_OPEN_MS: '25000', SC_TEST_DROP_DELIVERY_OF: 'lossy-2' },
      workloadEnv: { chat: { SC_MESSAGE_ID_PREFIX: 'lossy' } },
    });
    expect(verdicts(r), explain(r)).toEqual({ 'RECOVERY-LATENCY': 'FAIL', 'NO-MESSAGE-LOSS': 'FAIL' });
    expect(r.hypotheses.find((h) => h.id === 'nothing-lost')!.evidence).toMatch(/lost 5 \(lossy-2/);
  }, 180_000);
});

describe('calibration', () => {
  it('a 150 ms toxic shows as 150 ms ±10 % on its path; a fault on a path the workload does not use is INCONCLUSIVE', async () => {
    const experiment = defineExperiment({
      name: 'calibration', description: 'two latency toxics: one on the workload path (PostgreSQL), one on MinIO that nothing uses',
      target: { kind: 'embedded', profile: 'hardened', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } },
      durationS: 20,
      workloads: [{ id: 'probes', scenario: 'probes', env: { SC_PROBES: 'login', SC_PROBE_RATE: '3' } }],
      faults: [
        { id: 'pg', toxic: { proxy: 'postgres', type: 'latency', attributes: { latency: 150 } }, startS: 7, durationS: 8 },
        { id: 'minio', toxic: { proxy: 'minio', type: 'latency', attributes: { latency: 150 } }, startS: 7, durationS: 8 },
      ],
      hypotheses: [
        { id: 'login-under-pg-latency', description: 'logins stay under 2 s', claims: ['CALIBRATION-PG'], phase: 'fault:pg', select: { metric: 'sc_probe_duration', tags: { probe: 'login' } }, stat: 'p95', op: '<', value: 2000, unit: 'ms' },
        { id: 'login-under-minio-latency', description: 'logins stay under 2 s', claims: ['CALIBRATION-MINIO'], phase: 'fault:minio', select: { metric: 'sc_probe_duration', tags: { probe: 'login' } }, stat: 'p95', op: '<', value: 2000, unit: 'ms' },
      ],
    });
    const r = await runExperiment({ experiment, labName: lab.name, runsDir });
    const pathRow = r.calibration.find((c) => c.faultId === 'pg' && c.label.startsWith('sc_path_rtt'))!;
    expect(pathRow.observed, explain(r)).not.toBeNull();
    expect(pathRow.observed!).toBeGreaterThanOrEqual(135);
    expect(pathRow.observed!).toBeLessThanOrEqual(165);
    expect(pathRow.ok).toBe(true);
    // The workload's own view of it: the login probe got slower by at least one toxic round trip.
    const before = r.phaseTable.find((x) => x.label === 'sc_probe_duration{probe=login}' && x.phase === 'baseline')!.stats.p50!;
    const during = r.phaseTable.find((x) => x.label === 'sc_probe_duration{probe=login}' && x.phase === 'fault:pg')!.stats.p50!;
    expect(during - before).toBeGreaterThan(135);
    expect(verdicts(r)).toEqual({ 'CALIBRATION-PG': 'PASS', 'CALIBRATION-MINIO': 'INCONCLUSIVE' });
    expect(r.calibration.find((c) => c.faultId === 'minio' && c.label.startsWith('sc_proxy_connections'))!.detail).toMatch(/does not use/);
  }, 180_000);
});

describe('external targets', () => {
  it('runs against a base URL it did not start (no lab needed without faults), and refuses one outside loopback / the lab', async () => {
    const t = await startTarget(lab, { profile: 'hardened', portBase: 80, instance: 'ext', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    try {
      const experiment = defineExperiment({
        name: 'external-smoke', description: 'probes against a deployment the harness did not start',
        target: { kind: 'external', baseUrl: t.baseUrl }, durationS: 4,
        workloads: [{ id: 'probes', scenario: 'probes', env: { SC_PROBES: 'authed', SC_PROBE_RATE: '2', SC_USERS: '2' } }],
        hypotheses: [{ id: 'authed', description: 'authenticated calls answer 200', claims: ['EXTERNAL-SMOKE'], phase: 'run', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 }],
      });
      const r = await runExperiment({ experiment, labName: 'no-such-lab', runsDir });
      expect(r.error, explain(r)).toBeUndefined();
      expect(r.target).toMatchObject({ kind: 'external', baseUrl: t.baseUrl });
      expect(r.claims).toMatchObject([{ id: 'EXTERNAL-SMOKE', verdict: 'PASS', expected: null, asExpected: true }]);
      await expect(runExperiment({ experiment: { ...experiment, target: { kind: 'external', baseUrl: 'https://secureconnect.example.com' } }, runsDir })).rejects.toThrow(/outside loopback.*--allow-remote/);
      // The manifest is enough to run it again.
      const manifest = JSON.parse(readFileSync(join(runsDir, r.runId, 'manifest.json'), 'utf8')) as { seed: number; experiment: { name: string } };
      expect(manifest.experiment.name).toBe('external-smoke');
      const replay = await new Promise<{ code: number; out: string }>((res) => {
        const c = spawn(join(HARNESS_ROOT, 'bin', 'sch'), ['replay', join(runsDir, r.runId), '--json', '--no-screenshot', '--out', runsDir, '--lab', 'no-such-lab'], { cwd: HARNESS_ROOT });
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.on('exit', (code) => res({ code: code ?? 1, out }));
      });
      expect(replay.code, replay.out).toBe(0);
      const again = JSON.parse(replay.out.trim().split('\n').pop()!) as { runId: string; claims: { id: string; verdict: string }[] };
      expect(again.claims).toEqual([expect.objectContaining({ id: 'EXTERNAL-SMOKE', verdict: 'PASS' })]);
      expect((JSON.parse(readFileSync(join(runsDir, again.runId, 'manifest.json'), 'utf8')) as { seed: number }).seed).toBe(manifest.seed);
    } finally {
      await t.stop();
    }
  }, 120_000);
});

describe('external target with its own Toxiproxy', () => {
  it('faults go through the deployment\'s Toxiproxy (proxies named after the dependencies); only the harness\'s toxics are swept', async () => {
    const t = await startTarget(lab, { profile: 'hardened', portBase: 70, instance: 'ext2', services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    // Someone else's toxic on that Toxiproxy: the run must leave it alone.
    const own = await fetch(`${lab.toxiproxyUrl}/proxies/postgres/toxics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'operator-own', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 1, jitter: 0 } }) });
    expect(own.status).toBe(200);
    try {
      const base = await loadExperiment('redis-outage');
      const r = await runExperiment({ experiment: { ...base, target: { kind: 'external', baseUrl: t.baseUrl, toxiproxyUrl: lab.toxiproxyUrl } }, labName: 'no-such-lab', runsDir });
      expect(r.error, explain(r)).toBeUndefined();
      expect(verdicts(r), explain(r)).toEqual({ 'REDIS-LOGIN': 'PASS', 'REDIS-CHAT': 'PASS', 'REDIS-REVOCATION': 'PASS' });
      expect(r.claims.every((c) => c.expected === null && c.asExpected)).toBe(true);
      expect(r.faults[0]).toMatchObject({ id: 'redis', verified: true, rolledBack: true });
      // No connection count from outside a deployment: calibration is verify() only.
      expect(r.calibration.map((c) => c.label)).toEqual(['redis-outage applied']);
      const left = await leftovers(lab);
      expect(left.toxics).toEqual(['postgres/operator-own']);
      expect(left.disabledProxies).toEqual([]);
    } finally {
      await fetch(`${lab.toxiproxyUrl}/proxies/postgres/toxics/operator-own`, { method: 'DELETE' });
      await t.stop();
    }
  }, 180_000);
});

describe('rollback', () => {
  /** Four mechanisms at once: proxy down, latency toxic, nft UDP loss, a paused process. */
  function writeFaultyExperiment(): string {
    const file = join(runsDir, 'faulty.json');
    writeFileSync(file, JSON.stringify({
      name: 'faulty', description: 'every mechanism at once, long enough to be interrupted',
      target: { kind: 'embedded', profile: 'hardened', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } },
      durationS: 60,
      workloads: [{ id: 'probes', scenario: 'probes', env: { SC_PROBES: 'authed', SC_PROBE_RATE: '2' } }],
      faults: [
        { id: 'redis', fault: 'redis-outage', startS: 3, durationS: 50 },
        { id: 'pg', fault: 'postgres-slow', params: { latencyMs: 100 }, startS: 3, durationS: 50 },
        { id: 'turn', fault: 'turn-loss', startS: 3, durationS: 50 },
        { id: 'pause', process: { action: 'pause', target: 'coturn' }, startS: 3, durationS: 50 },
      ],
      hypotheses: [{ id: 'authed', description: 'd', claims: ['ROLLBACK-TEST'], phase: 'baseline', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 0 }],
    }));
    return file;
  }

  function startCli(file: string): { child: ReturnType<typeof spawn>; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(join(HARNESS_ROOT, 'bin', 'sch'), ['run', file, '--lab', lab.name, '--no-screenshot', '--out', runsDir], { cwd: HARNESS_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', () => undefined);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    return { child, stderr: () => err, exited };
  }

  async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (pred()) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('SIGINT mid-fault: exit 130, every fault rolled back, partial result reported', async () => {
    const cli = startCli(writeFaultyExperiment());
    await waitFor(() => (cli.stderr().match(/fault \w+ applied/g) ?? []).length === 4, 90_000, `4 faults applied:\n${cli.stderr()}`);
    const during = await leftovers(lab);
    expect(during.toxics.length + during.disabledProxies.length + during.faultChains.length + during.paused.length).toBeGreaterThanOrEqual(4);
    process.kill(cli.child.pid!, 'SIGINT');
    expect(await cli.exited).toBe(130);
    expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
    expect(cli.stderr()).toMatch(/rolling back every fault/);
  }, 180_000);

  it('SIGKILL mid-fault: the faults stay, and the next start removes every one', async () => {
    const cli = startCli(writeFaultyExperiment());
    await waitFor(() => (cli.stderr().match(/fault \w+ applied/g) ?? []).length === 4, 90_000, `4 faults applied:\n${cli.stderr()}`);
    process.kill(-cli.child.pid!, 'SIGKILL');
    await cli.exited;
    const left = await leftovers(lab);
    expect(left.toxics.length).toBeGreaterThan(0);
    expect(left.paused.length).toBeGreaterThan(0);
    // The next run (any experiment) cleans up at its start.
    const next = await runExperiment({
      experiment: defineExperiment({
        name: 'after-crash', description: 'a short run after a crash', target: { kind: 'embedded', profile: 'hardened', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } }, durationS: 4,
        workloads: [{ id: 'probes', scenario: 'probes', env: { SC_PROBES: 'authed', SC_PROBE_RATE: '2', SC_USERS: '2' } }],
        hypotheses: [{ id: 'authed', description: 'authenticated calls work after the cleanup', claims: ['AFTER-CRASH'], phase: 'run', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 }],
      }), labName: lab.name, runsDir,
    });
    expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
    expect(verdicts(next), explain(next)).toEqual({ 'AFTER-CRASH': 'PASS' });
  }, 240_000);
});
