import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeRun, sampleKinds } from '../../src/experiment/analyze.js';
import { writeMetricKinds } from '../../src/k6/metric-kinds.js';
import { HISTORY_FILES, WORKLOAD_FILES, appendObservation, observationSegments, readObservations, workloadDir, writeManifest, writeRunEnd } from '../../src/experiment/history.js';
import { ObservationRotator } from '../../src/experiment/observation-rotator.js';
import { SampleRotator } from '../../src/experiment/sample-rotator.js';
import { BASELINE_GUARD_MS } from '../../src/experiment/phases.js';
import { defineExperiment } from '../../src/experiment/spec.js';
import { gzipFile } from '../../src/k6/run.js';
import { K6Tail } from '../../src/results/k6-reader.js';
import { K6_CSV_COLUMNS } from '../../src/results/k6-csv.js';
import { forEachSegment } from '../../src/results/window-segment.js';
import type { FaultRecord, RunResult } from '../../src/results/model.js';

/**
 * The windowed history (window-segment.ts) stands for the raw samples exactly: a run's samples rotated at its
 * checkpoints as the runner does it (K6Tail → SampleRotator, lines released with fallocate) give the same phase
 * statistics, series and verdicts as the raw samples.
 */
const T0 = 1_700_000_000_000;
const APPLIED = T0 + 7_437; // ms precision: the boundaries fall inside seconds
const REMOVED = T0 + 19_291;
const RECOVERY_S = 5;
const END = T0 + 30_000;

const experiment = defineExperiment({
  name: 'windowed', description: 'a recorded history, rotated', target: { kind: 'embedded', profile: 'hardened' }, durationS: 30, recoveryS: RECOVERY_S,
  workloads: [{ id: 'probes', scenario: 'probes' }],
  faults: [{ id: 'redis', fault: 'redis-outage', startS: 7, durationS: 12 }],
  hypotheses: [
    { id: 'fast-before', description: 'p95 before', claims: ['W'], phase: 'baseline', select: { metric: 'sc_probe_duration', tags: { probe: 'authed' } }, stat: 'p(95)', op: '<', value: 200, minAttempts: 10 },
    { id: 'served-during', description: 'served during', claims: ['W'], phase: 'fault:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 0.95 },
    { id: 'served-after', description: 'served in recovery', claims: ['W'], phase: 'recovery:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } }, stat: 'rate', op: '>=', value: 0.9 },
    { id: 'slow-during', description: 'p99 during', claims: ['W'], phase: 'fault:redis', select: { metric: 'sc_probe_duration', tags: { probe: 'authed' } }, stat: 'p(99)', op: '<', value: 500 },
  ],
});

/** A deterministic recording: probes at 20/s with request-start times (t0), HTTP timings, VUs; slower and failing during the fault. */
function recording(): string[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const row = (metric: string, tMs: number, v: number, tags: string, meta = '') => K6_CSV_COLUMNS.map((c) => (c === 'metric_name' ? metric : c === 'timestamp' ? String(Math.round(tMs * 1000)) : c === 'metric_value' ? v.toFixed(6) : c === 'scenario' ? 'probes' : c === 'extra_tags' ? tags : c === 'metadata' ? meta : '')).join(',');
  const lines = [K6_CSV_COLUMNS.join(',')];
  for (let t = T0 - 2000; t < END; t += 50) {
    const t0 = Math.round(t + rnd() * 40);
    const during = t0 >= APPLIED && t0 < REMOVED;
    const ms = during ? 50 + rnd() * 900 : 5 + rnd() * 60 + (rnd() < 0.02 ? 300 : 0);
    const emitted = t0 + ms; // written when the answer came: later than its request's start
    const ok = during ? (rnd() < 0.7 ? 1 : 0) : rnd() < 0.99 ? 1 : 0;
    lines.push(row('sc_attempt', emitted, 1, 'probe=authed', `t0=${t0}`));
    lines.push(row('sc_probe_ok', emitted, ok, 'probe=authed', `t0=${t0}`));
    lines.push(row('sc_probe_duration', emitted, ms, 'probe=authed', `t0=${t0}`));
    lines.push(row('http_req_duration', emitted, ms * 0.9, `name=${rnd() < 0.5 ? 'login' : 'me'}`));
    if (t % 1000 === 0) lines.push(row('vus', t, 20 + Math.floor(rnd() * 3), ''));
  }
  return lines;
}

function historyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sch-windowed-'));
  const rec: FaultRecord = { id: 'redis', name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: 7, plannedDurationS: 12, appliedAtMs: APPLIED, removedAtMs: REMOVED, verified: true, verifyDetail: '', rolledBack: true };
  writeManifest(dir, { runId: 'windowed', createdAt: new Date(T0).toISOString(), seed: 1, experiment, options: { labName: 'default', allowRemote: false }, versions: {}, runStartMs: T0, timeline: [rec] });
  writeRunEnd(dir, { runEndMs: END, interrupted: false, workloads: [{ id: 'probes', scenario: 'probes', profile: 'smoke', exitCode: 0, failedThresholds: [] }] });
  // The target's own connections through the faulted proxy (calibration: the fault landed); observations are not rotated.
  for (let t = T0 + 1000; t < END; t += 1000) appendObservation(dir, { metric: 'sc_target_connections', time: t, value: t >= APPLIED && t < REMOVED ? 0 : 2, tags: { proxy: 'redis' } });
  mkdirSync(workloadDir(dir, 'probes'), { recursive: true });
  writeFileSync(join(workloadDir(dir, 'probes'), WORKLOAD_FILES.metricKinds), JSON.stringify({ sc_attempt: 'counter', sc_probe_ok: 'rate', sc_probe_duration: 'trend', http_req_duration: 'trend', vus: 'gauge' }));
  return dir;
}

/** What must agree: every phase statistic, every series point, every verdict and its number. */
function comparable(r: RunResult) {
  const round = (x: unknown): unknown => (typeof x === 'number' ? Number(x.toPrecision(12)) : Array.isArray(x) ? x.map(round) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, round(v)])) : x);
  return round({ phases: r.phases, phaseTable: r.phaseTable, series: r.series, hypotheses: r.hypotheses.map((h) => ({ id: h.id, verdict: h.verdict, observed: h.observed, evidence: h.evidence })) });
}

describe('windowed history', () => {
  it('samples rotated at each checkpoint as the run goes give the same phase statistics, series and verdicts as the raw samples; so does their gzipped rest', async () => {
    const lines = recording();
    const raw = historyDir();
    writeFileSync(join(workloadDir(raw, 'probes'), WORKLOAD_FILES.samplesLive), `${lines.join('\n')}\n`);
    const fromRaw = await analyzeRun(raw, { claims: [] });
    expect(fromRaw.hypotheses.map((h) => h.verdict)).toEqual(['PASS', 'FAIL', 'PASS', 'FAIL']);

    // The live run: k6 appends, the tail follows, a rotation every "checkpoint" (3 s of recording) with what is known then.
    const rotated = historyDir();
    const wd = workloadDir(rotated, 'probes');
    const live = join(wd, WORKLOAD_FILES.samplesLive);
    const rotator = new SampleRotator({ samplesPath: live, windowsPath: join(wd, WORKLOAD_FILES.windows), kindOf: sampleKinds(wd) });
    const tail = new K6Tail(live, (s) => rotator.add(s), { extraTags: { workload: 'probes' } });
    writeFileSync(live, `${lines[0]}\n`);
    const timeOf = (l: string) => Number(l.split(',')[1]) / 1000;
    let at = 1;
    for (let clock = T0 + 3000; at < lines.length; clock += 3000) {
      const batch: string[] = [];
      while (at < lines.length && timeOf(lines[at]!) < clock) batch.push(lines[at++]!);
      if (batch.length) appendFileSync(live, `${batch.join('\n')}\n`);
      await tail.poll();
      const known = [...(APPLIED <= clock ? [APPLIED - BASELINE_GUARD_MS, APPLIED] : []), ...(REMOVED <= clock ? [REMOVED, REMOVED + RECOVERY_S * 1000] : [])];
      await rotator.rotate(tail.completeBytes, T0, known, clock - 2000);
    }
    await tail.stop();
    expect(rotator.segments).toBeGreaterThanOrEqual(8);
    // Most samples were summed; the seconds holding a boundary, and the last ones, stayed raw.
    let summed = 0;
    let kept = 0;
    await forEachSegment(join(wd, WORKLOAD_FILES.windows), (seg) => {
      kept += seg.raw.length;
      for (const ser of seg.series) for (const w of ser.windows) summed += w.acc.count;
    });
    expect(summed).toBeGreaterThan(kept * 2);
    expect(kept).toBeGreaterThan(0);
    // The released lines are gone from the disk: the file's blocks cover little more than its unrotated tail.
    const st = statSync(live);
    expect(st.blocks * 512).toBeLessThan(st.size - rotator.released + 64 * 1024);
    expect(rotator.released).toBeGreaterThan(st.size * 0.6);
    const fromWindows = await analyzeRun(rotated, { claims: [] });
    expect(comparable(fromWindows)).toEqual(comparable(fromRaw));
    expect(fromWindows.workloads[0]!.samples).toBe(fromRaw.workloads[0]!.samples);
    expect(fromWindows.files.map((f) => f.kind)).toContain('windows');
    // Each segment a gzip member of its own; a member cut short by a kill (before its lines were released) is
    // skipped; an older run's plain windows.jsonl reads the same.
    const gz = join(wd, WORKLOAD_FILES.windows);
    expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const plainText = gunzipSync(readFileSync(gz));
    expect(readFileSync(gz).length).toBeLessThan(plainText.length / 3);
    const cut = gzipSync(plainText.subarray(0, 4000));
    appendFileSync(gz, cut.subarray(0, cut.length - 40));
    expect(comparable(await analyzeRun(rotated, { claims: [] }))).toEqual(comparable(fromRaw));
    rmSync(gz);
    writeFileSync(join(wd, WORKLOAD_FILES.windowsPlain), plainText);
    expect(comparable(await analyzeRun(rotated, { claims: [] }))).toEqual(comparable(fromRaw));
    rmSync(join(wd, WORKLOAD_FILES.windowsPlain));
    writeFileSync(gz, Buffer.concat(plainText.toString('utf8').split('\n').filter(Boolean).map((l) => gzipSync(`${l}\n`))));

    // As the run leaves it: the live file gzipped (its released part as zeros).
    await gzipFile(live, join(wd, WORKLOAD_FILES.samples));
    expect(existsSync(live)).toBe(false);
    expect(comparable(await analyzeRun(rotated, { claims: [] }))).toEqual(comparable(fromRaw));
  });

  it('observations closed into gzipped segments as the run goes (and one left plain by a rotation cut short) read as the same stream', async () => {
    const lines = recording();
    const plain = historyDir();
    writeFileSync(join(workloadDir(plain, 'probes'), WORKLOAD_FILES.samplesLive), `${lines.join('\n')}\n`);
    const fromPlain = await analyzeRun(plain, { claims: [] });

    const dir = historyDir();
    writeFileSync(join(workloadDir(dir, 'probes'), WORKLOAD_FILES.samplesLive), `${lines.join('\n')}\n`);
    const all = readObservations(dir);
    rmSync(join(dir, HISTORY_FILES.observations));
    const rotator = new ObservationRotator({ dir, minBytes: 1024 });
    for (const [i, s] of all.entries()) {
      appendObservation(dir, s);
      if (i % 7 === 6) await rotator.rotate();
    }
    expect(rotator.segments).toBeGreaterThanOrEqual(2);
    expect(rotator.gzBytes).toBeLessThan(rotator.plainBytes);
    // A rotation killed between its rename and its gzip leaves the plain segment (and maybe a partial .gz): it is read.
    const first = observationSegments(dir)[0]!;
    writeFileSync(first.path.replace(/\.gz$/, ''), gunzipSync(readFileSync(first.path)));
    writeFileSync(first.path, 'not gzip');
    expect(readObservations(dir)).toEqual(all);
    const fromSegments = await analyzeRun(dir, { claims: [] });
    expect(comparable(fromSegments)).toEqual(comparable(fromPlain));
    expect(fromSegments.calibration).toEqual(fromPlain.calibration);
    expect(fromSegments.files.filter((f) => f.kind === 'observations').map((f) => f.path)).toEqual(['observations.1.jsonl', ...observationSegments(dir).slice(1).map((x) => x.path.slice(dir.length + 1)), 'observations.jsonl']);
    // At the run's end the rest is closed too.
    await rotator.rotate(0);
    expect(existsSync(join(dir, HISTORY_FILES.observations))).toBe(false);
    expect(readObservations(dir)).toEqual(all);
  });

  it('a segment that does not follow the one before is refused, naming the file', async () => {
    const dir = historyDir();
    const wd = workloadDir(dir, 'probes');
    writeFileSync(join(wd, WORKLOAD_FILES.samplesLive), `${K6_CSV_COLUMNS.join(',')}\n`);
    const seg = { fromByte: 0, toByte: 10, runStartMs: T0, windowMs: 1000, series: [], raw: [] };
    writeFileSync(join(wd, WORKLOAD_FILES.windowsPlain), `${JSON.stringify(seg)}\n${JSON.stringify({ ...seg, fromByte: 20, toByte: 30 })}\n`);
    await expect(analyzeRun(dir, { claims: [] })).rejects.toThrow(/windows\.jsonl: a segment starts at byte 20, the one before it ended at 10/);
  });
});

describe('sample kinds for the rotator', () => {
  it('are read once k6 has written them, not when the rotator is made (it is made before k6 starts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-kinds-'));
    try {
      const kindOf = sampleKinds(dir);
      // Before the file: k6's built-ins are still known (a rate is never folded as a trend).
      expect(kindOf('http_req_failed')).toBe('rate');
      writeMetricKinds(join(dir, 'metric-kinds.json'), []);
      expect(kindOf('checks')).toBe('rate');
      expect(kindOf('http_reqs')).toBe('counter');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
