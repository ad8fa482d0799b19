import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { validateExperiment } from '../../src/experiment/spec.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { expandSchedule } from '../../src/experiment/schedule.js';
import { gunzipSync } from 'node:zlib';
import { readSamples } from '../../src/k6/run.js';
import { K6_CSV_COLUMNS } from '../../src/results/k6-csv.js';
import { sampleMetricsFor } from '../../src/experiment/analyze.js';

/**
 * The README's worked example (fixtures/examples/redis-outage-20s.yaml), exactly as a user runs it:
 * `bin/sch run <file> --profile hardened --lab <the test lab>` ends with every claim as expected (exit 0),
 * LOGIN and REDIS-LOGIN PASS, and the Redis fault calibrated.
 */
describe('the worked example runs to PASS on the hardened target', () => {
  it('bin/sch run fixtures/examples/redis-outage-20s.yaml --profile hardened', async () => {
    const out = join(HARNESS_ROOT, 'reports', 'runs', `itest-example-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(out, { recursive: true });
    const started = Date.now();
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(join(HARNESS_ROOT, 'bin', 'sch'), ['run', join(HARNESS_ROOT, 'fixtures', 'examples', 'redis-outage-20s.yaml'), '--profile', 'hardened', '--lab', inject('labName'), '--out-dir', out, '--no-screenshot', '--json'],
        { cwd: HARNESS_ROOT, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
    const seconds = (Date.now() - started) / 1000;
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const summary = JSON.parse(line || '{}') as { dir?: string; exitCode?: number; claims?: { id: string; verdict: string }[] };
    const result = summary.dir ? JSON.parse(readFileSync(join(summary.dir, 'result.json'), 'utf8')) as { hypotheses: { id: string; verdict: string; evidence: string }[]; calibration: { label: string; ok: boolean; detail: string }[] } : undefined;
    const why = `${r.stderr.slice(-2000)}\n${result?.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n') ?? ''}\n${result?.calibration.map((c) => `${c.label}: ${c.ok} ${c.detail}`).join('\n') ?? ''}`;
    expect(r.code, why).toBe(0);
    expect(Object.fromEntries((summary.claims ?? []).map((c) => [c.id, c.verdict])), why).toEqual({ LOGIN: 'PASS', 'REDIS-LOGIN': 'PASS' });
    expect(result?.calibration.every((c) => c.ok), why).toBe(true);
    // The issue's budget: a 20 s experiment, start to verdicts, within 45 s on this machine.
    expect(seconds, why).toBeLessThan(45);
    // Those verdicts came from raw samples written by the harness's own k6 output (k6ext/output-sch): k6's CSV
    // columns, only the metrics this experiment's analysis reads, the probe's attempts and outcomes among them.
    const samples = readSamples(join(summary.dir!, 'workloads', 'probes', 'samples.csv.gz'));
    const header = gunzipSync(readFileSync(join(summary.dir!, 'workloads', 'probes', 'samples.csv.gz'))).toString('utf8').split('\n')[0]!.split(',');
    expect(header.every((c) => (K6_CSV_COLUMNS as readonly string[]).includes(c))).toBe(true);
    const metrics = new Set(samples.map((p) => p.metric));
    const wanted = sampleMetricsFor(validateExperiment(parse(readFileSync(join(HARNESS_ROOT, 'fixtures', 'examples', 'redis-outage-20s.yaml'), 'utf8')), 'example'));
    expect(wanted).not.toBe('all');
    expect([...metrics].filter((m) => !m.startsWith('sc_') && !(wanted as readonly string[]).includes(m))).toEqual([]);
    for (const m of ['sc_attempt', 'sc_outcome', 'sc_probe_ok', 'http_req_duration']) expect(metrics).toContain(m);
    expect(samples.some((p) => p.type === 'Point' && p.metric === 'sc_outcome' && p.data.tags?.probe === 'login' && p.data.tags.class === 'served' && p.data.tags.workload === 'probes')).toBe(true);
  }, 150_000);
});

describe('an early fault calibrates', () => {
  // The observer's first reading lands ~1.1 s into the load and the baseline phase ends a second before the
  // first fault: a fault at 2 s left the baseline without any reading (INCONCLUSIVE "no connection count").
  it('a Redis outage at 2 s: the target\'s own connections are read before it', async () => {
    const raw = parse(readFileSync(join(HARNESS_ROOT, 'fixtures', 'examples', 'redis-outage-20s.yaml'), 'utf8')) as Record<string, unknown>;
    const experiment = validateExperiment({ ...raw, name: 'early-fault', durationS: '10s', recoveryS: '2s', faults: [{ id: 'redis', fault: 'redis-outage', startS: '2s', durationS: '5s' }] }, 'early-fault');
    const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-early-fault-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const r = await runExperiment({ experiment, profile: 'hardened', labName: inject('labName'), runsDir, screenshot: false });
    const why = r.calibration.map((c) => `${c.label}: ${c.ok} ${c.detail}`).join('\n');
    expect(r.calibration.find((c) => c.selector.metric === 'sc_target_connections'), why).toMatchObject({ ok: true });
    expect(r.calibration.every((c) => c.ok), why).toBe(true);
  }, 120_000);
});

describe('a soak with a repeating schedule', () => {
  // fixtures/examples/soak-repeating.yaml is 10 minutes (Redis down every minute, PostgreSQL slow every minute
  // in between): the same file, its rhythm shortened to 14 s so three cycles of each (and their recoveries) fit in 50 s.
  it('applies each fault three times, each cycle calibrated and judged in phases of its own; the progress line names the next fault', async () => {
    const raw = parse(readFileSync(join(HARNESS_ROOT, 'fixtures', 'examples', 'soak-repeating.yaml'), 'utf8')) as { faults: Record<string, unknown>[] } & Record<string, unknown>;
    const timing: Record<string, Record<string, unknown>> = { redis: { startS: '5s', durationS: '5s', everyS: '14s', jitterS: '2s' }, pg: { startS: '13s', durationS: '3s', everyS: '14s' } };
    const experiment = validateExperiment({ ...raw, durationS: '50s', recoveryS: '3s', faults: raw.faults.map((f) => ({ ...f, ...timing[f.id as string] })) }, 'soak-repeating (shortened)');
    const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-soak-repeating-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const lines: string[] = [];
    // The live view: scraped while the second Redis cycle is on.
    let metricsUrl = '';
    let scraped: Promise<string> | undefined;
    const r = await runExperiment({
      experiment, profile: 'hardened', labName: inject('labName'), runsDir, screenshot: false,
      metricsListen: { host: '127.0.0.1', port: 0 }, onMetricsListening: (u) => { metricsUrl = u; },
      onProgress: (l) => {
        lines.push(l);
        if (l.startsWith('fault redis#2 applied')) scraped ??= fetch(metricsUrl).then((x) => x.text());
      },
    });
    const why = `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}\n${r.calibration.map((c) => `${c.faultId} ${c.label}: ${c.ok} ${c.detail}`).join('\n')}`;

    // Every cycle applied, verified on the wire and rolled back, in the order the schedule says.
    expect(r.faults.map((f) => f.id), why).toEqual(['redis', 'pg', 'redis#2', 'pg#2', 'redis#3', 'pg#3']);
    for (const f of r.faults) expect(f, `${f.id}\n${why}`).toMatchObject({ verified: true, rolledBack: true, appliedAtMs: expect.any(Number), removedAtMs: expect.any(Number) });
    // The jitter came from the run's seed: the schedule replays from the manifest alone.
    const manifest = JSON.parse(readFileSync(join(runsDir, r.runId, 'manifest.json'), 'utf8')) as { seed: number };
    expect(r.faults.map((f) => f.plannedStartS)).toEqual(expandSchedule(experiment.faults, experiment.durationS, manifest.seed).map((o) => o.startS));
    r.faults.filter((f) => f.entryId === 'redis' || f.id === 'redis').forEach((f, i) => {
      expect(f.plannedStartS - (5 + i * 14)).toBeGreaterThanOrEqual(0);
      expect(f.plannedStartS - (5 + i * 14)).toBeLessThan(2);
    });

    // Each cycle has its own phases and its own calibration (the target's connections, the 300 ms on the path).
    for (const id of ['redis', 'redis#2', 'redis#3', 'pg', 'pg#2', 'pg#3']) {
      expect(r.phases.map((p) => p.id), why).toContain(`fault:${id}`);
      const cal = r.calibration.filter((c) => c.faultId === id);
      expect(cal.length, `${id}\n${why}`).toBeGreaterThanOrEqual(2);
      expect(cal.every((c) => c.ok), `${id}\n${why}`).toBe(true);
    }
    // A check on fault:redis is judged on every cycle; recovers on every fault's every cycle.
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(h('login-during-outage').evidence, why).toMatch(/fault:redis(: .*; |, )fault:redis#2(: .*; |, )fault:redis#3: /); // phases saying the same are said once
    expect(h('login-during-outage').verdict, why).toBe('PASS');
    for (const id of ['redis', 'redis#2', 'redis#3', 'pg', 'pg#2', 'pg#3']) expect(h('login-recovers').evidence, why).toContain(`${id}: back after`);
    expect(r.claims.map((c) => [c.id, c.verdict]), why).toEqual([['LOGIN', 'PASS'], ['REDIS-LOGIN', 'PASS'], ['RECOVERY-LATENCY', 'PASS']]);
    expect(r.exitCode, why).toBe(0);

    // The fault timeline as events, and as Prometheus metrics while it ran.
    const events = readFileSync(join(runsDir, r.runId, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; fault: string; cycle?: number });
    for (const id of ['redis', 'redis#2', 'redis#3', 'pg', 'pg#2', 'pg#3']) expect(events.filter((x) => x.fault === id).map((x) => x.type).sort(), id).toEqual(['applied', 'removed', 'verified']);
    expect(await scraped, 'scraped during redis#2').toMatch(/sch_fault_active\{fault="redis#2",entry="redis",name="redis-outage",target="redis"\} 1/);
    await expect(fetch(metricsUrl)).rejects.toThrow(); // closed with the run

    // A soak's reader sees what is on, and what comes next and when.
    expect(lines.some((l) => /^t=\d+s\/50s  phase (fault:redis|recovery:redis)  next pg in \d+s/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /phase fault:redis#2 .*next pg#2 in \d+s/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /no fault to come/.test(l)), lines.join('\n')).toBe(true);
  }, 150_000);
});
