import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeRun } from '../../src/experiment/analyze.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../src/experiment/checkpoint.js';
import { Checkpointer } from '../../src/experiment/checkpointer.js';
import { cutShortPhases, derivePhases } from '../../src/experiment/phases.js';
import { WORKLOAD_FILES, workloadDir, writeManifest } from '../../src/experiment/history.js';
import { defineExperiment } from '../../src/experiment/spec.js';
import { K6_CSV_COLUMNS } from '../../src/results/k6-csv.js';
import type { FaultRecord, Sample } from '../../src/results/model.js';
import { EXIT } from '../../src/util/exit-codes.js';

const T0 = 1_700_000_000_000;
const record = (o: Partial<FaultRecord> = {}): FaultRecord => ({
  id: 'redis', name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: 5, plannedDurationS: 10, verified: true, verifyDetail: '', rolledBack: false, ...o,
});

describe('phases a run that stopped early cut short', () => {
  it('killed mid-fault: the fault phase and the run are cut, the finished baseline is not', () => {
    const faults = [record({ appliedAtMs: T0 + 5000 })];
    const phases = derivePhases(T0, T0 + 8000, faults, 5);
    const cut = cutShortPhases(phases, { runStartMs: T0, stoppedAtMs: T0 + 8000, plannedDurationS: 30, faults, recoveryS: 5 });
    expect(Object.keys(cut).sort()).toEqual(['fault:redis', 'run']);
    expect(cut['fault:redis']).toBe('fault:redis was cut short: the run stopped at t=8 s, the phase would have lasted to t=15 s');
    expect(cut.run).toBe('the run stopped at t=8 s of its planned 30 s');
  });

  it('stopped before the first fault: the baseline is cut; stopped in a recovery: that recovery, not the fault before it', () => {
    expect(Object.keys(cutShortPhases(derivePhases(T0, T0 + 3000, [record()], 5), { runStartMs: T0, stoppedAtMs: T0 + 3000, plannedDurationS: 30, faults: [record()], recoveryS: 5 })).sort()).toEqual(['baseline', 'run']);
    const done = [record({ appliedAtMs: T0 + 5000, removedAtMs: T0 + 15_002 })];
    expect(Object.keys(cutShortPhases(derivePhases(T0, T0 + 17_000, done, 5), { runStartMs: T0, stoppedAtMs: T0 + 17_000, plannedDurationS: 30, faults: done, recoveryS: 5 })).sort()).toEqual(['recovery:redis', 'run']);
  });
});

describe('checkpoint', () => {
  it('is written atomically and read back through its schema; the checkpointer records the harness memory beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-cp-'));
    const recorded: Sample[] = [];
    const cp = new Checkpointer({ dir, runStartMs: T0, intervalMs: 50, memoryEveryMs: 25, record: (s) => recorded.push(s), state: () => ({ faultsOn: ['redis'], workloads: [{ id: 'probes', state: 'running' }] }) });
    cp.start();
    await new Promise((r) => setTimeout(r, 180));
    cp.stop();
    const read = readCheckpoint(dir)!;
    expect(read.seq).toBeGreaterThanOrEqual(2);
    expect(read).toMatchObject({ runStartMs: T0, pid: process.pid, faultsOn: ['redis'], workloads: [{ id: 'probes', state: 'running' }] });
    expect(read.atMs - read.completeToMs).toBe(2000);
    expect(read.harness.rssMib).toBeGreaterThan(10);
    expect(existsSync(join(dir, `${CHECKPOINT_FILE}.tmp`))).toBe(false);
    expect(recorded.filter((s) => s.metric === 'sc_harness_memory_mib' && s.tags.kind === 'rss').length).toBeGreaterThanOrEqual(4);
    writeFileSync(join(dir, CHECKPOINT_FILE), '{"seq": 1');
    expect(() => readCheckpoint(dir)).toThrow(/checkpoint\.json: not valid JSON/);
  });

  it('analyze: a run killed outright (no run.json, plain samples cut mid-line) is judged up to its checkpoint — exit 130, interrupted, cut phases INCONCLUSIVE', async () => {
    const experiment = defineExperiment({
      name: 'killed', description: 'a crafted history of a killed run', target: { kind: 'embedded', profile: 'hardened' }, durationS: 30, recoveryS: 5,
      workloads: [{ id: 'probes', scenario: 'probes' }],
      faults: [{ id: 'redis', fault: 'redis-outage', startS: 5, durationS: 10 }],
      hypotheses: [
        { id: 'before', description: 'works before', claims: ['KILL-TEST'], phase: 'baseline', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 },
        { id: 'during', description: 'works during', claims: ['KILL-TEST'], phase: 'fault:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 },
        { id: 'overall', description: 'works overall', claims: ['KILL-TEST'], phase: 'run', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 1 },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'sch-killed-'));
    writeManifest(dir, { runId: 'killed', createdAt: new Date(T0).toISOString(), seed: 1, experiment, options: { labName: 'default', allowRemote: false }, versions: {}, runStartMs: T0, timeline: [record({ appliedAtMs: T0 + 5000, scheduledRemoveMs: T0 + 15_000 })] });
    writeCheckpoint(dir, { seq: 4, atMs: T0 + 10_000, completeToMs: T0 + 8000, runStartMs: T0, pid: 1, faultsOn: ['redis'], workloads: [{ id: 'probes', state: 'running' }], harness: { rssMib: 100, heapMib: 20 } });
    // k6's live CSV (microsecond times): 10 attempts a second, all served; then samples past the checkpoint and a line cut short.
    const wd = workloadDir(dir, 'probes');
    mkdirSync(wd, { recursive: true });
    const row = (metric: string, tMs: number, v: number) => K6_CSV_COLUMNS.map((c) => (c === 'metric_name' ? metric : c === 'timestamp' ? String(tMs * 1000) : c === 'metric_value' ? String(v) : c === 'extra_tags' ? 'probe=authed' : '')).join(',');
    const lines = [K6_CSV_COLUMNS.join(',')];
    for (let t = 0; t < 11_000; t += 100) lines.push(row('sc_attempt', T0 + t, 1), row('sc_probe_ok', T0 + t, 1));
    writeFileSync(join(wd, WORKLOAD_FILES.samplesLive), `${lines.join('\n')}\n${row('sc_probe_ok', T0 + 11_000, 1).slice(0, 20)}`);
    writeFileSync(join(wd, WORKLOAD_FILES.metricKinds), JSON.stringify({ sc_attempt: 'counter', sc_probe_ok: 'rate' }));

    const r = await analyzeRun(dir, { claims: [] });
    expect(r.exitCode).toBe(EXIT.interrupted);
    expect(r.endedAtMs).toBe(T0 + 8000);
    expect(r.interrupted).toEqual({ how: 'killed', atMs: T0 + 8000, detail: 'the run stopped at t=8 s of its planned 30 s' });
    expect(r.error).toMatch(/the run did not finish \(killed outright: no run\.json\); judged up to its last checkpoint, .* \(t=8 s of 30 s\), with fault redis still on/);
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(h('before')).toMatchObject({ verdict: 'PASS' });
    expect(h('during')).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['interrupted:fault:redis'] });
    expect(h('during').evidence).toMatch(/^fault:redis was cut short: the run stopped at t=8 s, the phase would have lasted to t=15 s — so this proves nothing/);
    expect(h('overall')).toMatchObject({ verdict: 'INCONCLUSIVE', gatedBy: ['interrupted:run'] });
    // Nothing past the checkpoint is judged: 80 attempts in [0, 8 s).
    expect(r.phaseTable.find((x) => x.label === 'sc_attempt{probe=authed}' && x.phase === 'run')?.stats.count).toBe(80);
    expect(r.files.map((f) => f.kind)).toEqual(expect.arrayContaining(['checkpoint', 'samples']));
    expect(r.files.some((f) => f.kind === 'run')).toBe(false);
    // A runner still alive with a fresh checkpoint: the run is going on, not killed.
    writeCheckpoint(dir, { ...readCheckpoint(dir)!, pid: process.pid, atMs: Date.now() });
    await expect(analyzeRun(dir, { claims: [] })).rejects.toThrow(/the run is still going \(its runner, pid \d+, wrote its last checkpoint 0 s ago\)/);
    writeCheckpoint(dir, { ...readCheckpoint(dir)!, pid: 1, atMs: T0 + 10_000 });
    // A run.json cut short by the kill is read the same way.
    writeFileSync(join(dir, 'run.json'), '{"runEndMs": 17');
    expect((await analyzeRun(dir, { claims: [] })).error).toMatch(/no run\.json that reads/);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toMatch(/"runId": "killed"/);
  });
});
