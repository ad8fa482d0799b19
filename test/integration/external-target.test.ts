import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { sch as runSch } from '../sch.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { expectedVerdict, loadClaims } from '../../src/experiment/claims.js';
import { ManifestSchema } from '../../src/experiment/history.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';
import { leftovers } from './chaos-leftovers.js';

/**
 * `sch run <experiment> --target-url` against a reference target the runner did not start: `sch target up`
 * in the shared lab (its own instance and ports: not the runner's `exp` at port base 90), then the run as a
 * child process. Its faults go through the lab's Toxiproxy, and exposure is read from the lab's network
 * (the runner does not know the target's pids). The verdicts must be the catalogue's for the profile the
 * target runs, exactly as the embedded runs of test/integration/experiments.test.ts give them: as-built (the
 * real backend's behaviour) under a Redis outage — baseline claims failing, probes that cannot set up.
 */
const PROFILE = 'as-built';
const EXPERIMENT = 'redis-outage';
const INSTANCE = 'extcli';
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-external-${new Date().toISOString().replace(/[:.]/g, '-')}`);
let lab: Lab;

/** bin/sch as typed; SIGTERM after timeoutMs (a run rolls back and reports rather than dies). */
async function sch(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const r = await runSch(args, { timeoutMs: timeoutMs + 60_000, started: (c) => { timer = setTimeout(() => c.kill('SIGTERM'), timeoutMs); } });
  clearTimeout(timer);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

afterAll(async () => {
  // Also when the test failed before its own finally (the instance name is this file's alone).
  await sch(['target', 'down', '--name', lab.name, '--instance', INSTANCE], 30_000);
});

describe('sch run --target-url: an external deployment in the lab', () => {
  it(`${EXPERIMENT} against a ${PROFILE} target started by \`sch target up\`: the catalogue's verdicts, the knobs it did not apply listed`, async () => {
    const up = await sch(['target', 'up', '--name', lab.name, '--profile', PROFILE, '--instance', INSTANCE, '--port-base', '85',
      '--services', 'auth,chat,video,gateway',
      // The deployment's own configuration (not the harness's to set): the real 100/min per-IP limit, a window of its own in the shared Redis.
      '--env', `RATE_LIMIT_SCOPE=${INSTANCE}-${process.pid}`, '--json'], 60_000);
    expect(up.code, up.stderr).toBe(0);
    const target = JSON.parse(up.stdout.trim()) as { baseUrl: string; serviceUrls: Record<string, string> };
    try {
      const run = await sch(['run', EXPERIMENT, '--target-url', target.baseUrl, '--video-url', target.serviceUrls.video!, '--param', 'rateLimitPerMinute=100', '--expect-profile', PROFILE,
        '--lab', lab.name, '--no-screenshot', '--out-dir', runsDir, '--json'], 120_000);
      const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { runId: string; dir: string; exitCode: number };
      const result = JSON.parse(readFileSync(join(summary.dir, 'result.json'), 'utf8')) as RunResult;
      const explain = `${run.stderr}\n${result.error ?? ''}\n${result.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}\n${result.calibration.map((c) => `${c.label}: ${c.ok} ${c.detail}`).join('\n')}`;
      expect(run.code, explain).toBe(0);
      expect(result.error, explain).toBeUndefined();
      expect(result.target).toMatchObject({ kind: 'external', baseUrl: target.baseUrl });

      // The catalogue's expectations for the profile the deployment runs (--expect-profile: the runner cannot know it).
      const catalogue = loadClaims();
      expect(result.claims.length).toBeGreaterThan(0);
      expect(Object.fromEntries(result.claims.map((c) => [c.id, c.verdict])), explain).toEqual(Object.fromEntries(result.claims.map((c) => [c.id, expectedVerdict(catalogue.find((x) => x.id === c.id)!, PROFILE, EXPERIMENT)])));
      expect(result.claims.every((c) => c.asExpected && c.expected !== null)).toBe(true);
      expect(result.target.profile).toBeUndefined();
      expect(result.notes).toContain(`an external target, judged by the catalogue's expectations for the ${PROFILE} profile (--expect-profile)`);

      // The fault sat on the target's path, measured in the lab's network (pooled connections: Toxiproxy's counters would show nothing).
      expect(result.calibration.map((c) => c.label)).toEqual(['redis-outage applied', 'sc_target_connections{proxy=redis}']);
      expect(result.calibration.every((c) => c.ok), explain).toBe(true);
      expect(result.calibration[1]!.detail).toMatch(/processes in the lab's network other than Toxiproxy and the harness held up to \d+ connection/);

      const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(summary.dir, 'manifest.json'), 'utf8')));
      expect(manifest.target).toMatchObject({ kind: 'external', baseUrl: target.baseUrl, videoUrl: target.serviceUrls.video, exposure: 'namespace' });
      expect(manifest.notApplied).toEqual([
        'target.profile=audited (reference target only)',
        'target.services=auth,chat,video,gateway (reference target only)',
      ]);
      expect(manifest.assumedParams).toEqual({ rateLimitPerMinute: 100, wsMaxConnections: 1000 });
      expect(run.stderr).toContain('external target: not applied (reference target only): target.profile=audited, target.services=auth,chat,video,gateway; deployment limits assumed, not set: rateLimitPerMinute=100, wsMaxConnections=1000');
      expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
    } finally {
      const down = await sch(['target', 'down', '--name', lab.name, '--instance', INSTANCE], 30_000);
      expect(down.code, down.stderr).toBe(0);
      lab.refreshState();
      expect(lab.state.processes.filter((p) => p.name.endsWith(`-${INSTANCE}`))).toEqual([]);
    }
  }, 180_000);
});
