import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runExitCode, worstExit } from '../../src/util/exit-codes.js';
import { analyzeRun } from '../../src/experiment/analyze.js';
import { writeManifest, writeRunEnd, type RunEnd } from '../../src/experiment/history.js';
import { defineExperiment } from '../../src/experiment/spec.js';

/** One exit code for a run, whatever reads it: the shell (the CLI exits with the result's), result.json, the report. */
describe('exit codes', () => {
  it('when several apply: 130 over 2, 2 over 1 and 99, any over 0', () => {
    expect(worstExit()).toBe(0);
    expect(worstExit(0, 1)).toBe(1);
    expect(worstExit(1, 2)).toBe(2);
    expect(worstExit(99, 2)).toBe(2);
    expect(worstExit(2, 130, 1)).toBe(130);
    expect(worstExit(99, 0)).toBe(99);
    expect(runExitCode({ interrupted: true, failed: true, notAsExpected: true })).toBe(EXIT.interrupted);
    expect(runExitCode({ interrupted: false, failed: true, notAsExpected: true })).toBe(EXIT.runFailed);
    expect(runExitCode({ interrupted: false, failed: false, notAsExpected: true })).toBe(EXIT.notAsExpected);
    expect(runExitCode({ interrupted: false, failed: false, notAsExpected: false })).toBe(EXIT.ok);
  });

  // A run directory as the runner leaves it, without samples: the one claim is INCONCLUSIVE (no attempts),
  // so not as expected (1) unless something stronger applies.
  const experiment = defineExperiment({
    name: 'exit-codes', description: 'a crafted history', target: { kind: 'embedded', profile: 'hardened' }, durationS: 10,
    workloads: [{ id: 'probes', scenario: 'probes' }],
    hypotheses: [{ id: 'authed', description: 'authenticated calls work', claims: ['EXIT-TEST'], phase: 'run', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 }],
  });
  function runDir(end: Omit<RunEnd, 'runEndMs' | 'workloads'> & { failure?: string }): string {
    const dir = mkdtempSync(join(tmpdir(), 'sch-exit-'));
    const t0 = Date.now() - 10_000;
    writeManifest(dir, { runId: 'r', createdAt: new Date(t0).toISOString(), seed: 1, experiment, options: { labName: 'default', allowRemote: false }, versions: {}, timeline: [], runStartMs: t0 });
    const { failure, ...rest } = end;
    writeRunEnd(dir, { ...rest, runEndMs: t0 + 10_000, workloads: [{ id: 'probes', scenario: 'probes', profile: 'smoke', exitCode: failure ? 105 : 0, failedThresholds: [], ...(failure ? { failure } : {}) }] });
    return dir;
  }

  it('analyze: an interrupted run whose workload failed and whose claim is not as expected says 130 — what the shell got', async () => {
    const r = await analyzeRun(runDir({ interrupted: true, error: 'interrupted (SIGINT/SIGTERM): faults rolled back, partial results reported', failure: 'k6 exited 105 (aborted by a signal)' }), { claims: [] });
    expect(r.exitCode).toBe(130);
    expect(r.error).toMatch(/interrupted/);
  });

  it('analyze: a failed workload says 2 over a claim not as expected (1); the claim alone says 1', async () => {
    expect((await analyzeRun(runDir({ interrupted: false, failure: 'k6 exited 107 (script exception)' }), { claims: [] })).exitCode).toBe(2);
    expect((await analyzeRun(runDir({ interrupted: false }), { claims: [] })).exitCode).toBe(1);
  });
});
