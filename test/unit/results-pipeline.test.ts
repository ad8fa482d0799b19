import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ResultPipeline, selectorLabel } from '../../src/results/pipeline.js';
import type { Phase, Sample, SeriesSelector, Stats } from '../../src/results/model.js';

const T0 = Date.parse('2026-11-23T15:40:00Z');
const PHASES: Phase[] = [
  { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 10_000 },
  { id: 'fault:f1', kind: 'fault', faultId: 'f1', startMs: T0 + 10_000, endMs: T0 + 20_000 },
  { id: 'recovery:f1', kind: 'recovery', faultId: 'f1', startMs: T0 + 20_000, endMs: T0 + 30_000 },
];
const KINDS = { http_req_duration: 'trend', http_req_failed: 'rate', http_reqs: 'counter', vus: 'gauge' } as const;

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** 30 s of traffic: requests (login/send), failures, vus; slower and failing during the fault. Windows 13–14 s are silent. */
function makeSamples(): Sample[] {
  const r = lcg(3);
  const out: Sample[] = [];
  for (let i = 0; i < 6000; i++) {
    const t = T0 + i * 5 + r() * 3; // ms fractions
    if (t >= T0 + 13_000 && t < T0 + 15_000) continue;
    const inFault = t >= T0 + 10_000 && t < T0 + 20_000;
    const name = i % 3 === 0 ? 'login' : 'send';
    const fail = r() < (inFault ? 0.2 : 0.01);
    const tags = { name, status: fail ? '503' : '200' };
    const dur = (inFault ? 200 : 20) * Math.exp(r() * 2) + r();
    out.push({ metric: 'http_reqs', time: t, value: 1, tags });
    out.push({ metric: 'http_req_duration', time: t, value: dur, tags });
    out.push({ metric: 'http_req_failed', time: t, value: fail ? 1 : 0, tags });
    if (i % 200 === 0) out.push({ metric: 'vus', time: t, value: 10 + (i % 7), tags: {} });
    if (i % 10 === 0) out.push({ metric: 'sc_custom', time: t, value: i / 10, tags: { step: 'x' } });
  }
  // a sample after the phases (counts for 'run' and the series only), one before the run's start
  out.push({ metric: 'http_req_duration', time: T0 + 31_500, value: 5000, tags: { name: 'login', status: '200' } });
  out.push({ metric: 'http_req_duration', time: T0 - 500, value: 1, tags: { name: 'login', status: '200' } });
  return out;
}

const SELECTORS: SeriesSelector[] = [
  { metric: 'http_req_duration' },
  { metric: 'http_req_duration', tags: { name: 'login' } },
  { metric: 'http_req_duration', tags: { status: '200', name: 'send' } },
  { metric: 'http_req_failed' },
  { metric: 'http_reqs', tags: { name: 'send' } },
  { metric: 'vus' },
  { metric: 'sc_custom' },
];

function matches(sel: SeriesSelector, s: Sample): boolean {
  return s.metric === sel.metric && Object.entries(sel.tags ?? {}).every(([k, v]) => s.tags[k] === v);
}
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
}
function expectTrend(st: Stats, values: number[]): void {
  const sorted = [...values].sort((a, b) => a - b);
  expect(st.kind).toBe('trend');
  expect(st.count).toBe(values.length);
  expect(st.min).toBe(sorted[0]);
  expect(st.max).toBe(sorted[sorted.length - 1]);
  expect(st.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
  for (const [p, got] of [[50, st.p50], [90, st.p90], [95, st.p95], [99, st.p99]] as const) {
    const want = exactPercentile(sorted, p);
    expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(want * 1e-3 + 1e-3);
  }
}

function newPipeline(): ResultPipeline {
  return new ResultPipeline({ phases: PHASES, selectors: SELECTORS, runStartMs: T0, metricKinds: { ...KINDS } });
}

describe('ResultPipeline', () => {
  const samples = makeSamples();
  const pipe = newPipeline();
  // out of order: the pipeline must not care
  for (let i = samples.length - 1; i >= 0; i--) pipe.add(samples[i] as Sample);
  const inPhase = (p: Phase) => (s: Sample) => s.time >= p.startMs && s.time < p.endMs;

  it('per-phase and run trend statistics match exact sorted-array maths (selectors with tags)', () => {
    for (const sel of SELECTORS.slice(0, 3)) {
      for (const p of PHASES) {
        const vals = samples.filter((s) => matches(sel, s) && inPhase(p)(s)).map((s) => s.value);
        expectTrend(pipe.stats(sel, p.id), vals);
      }
      expectTrend(pipe.stats(sel, 'run'), samples.filter((s) => matches(sel, s)).map((s) => s.value));
    }
    // the fault phase is visibly slower
    expect(pipe.stats(SELECTORS[0] as SeriesSelector, 'fault:f1').p50).toBeGreaterThan(5 * (pipe.stats(SELECTORS[0] as SeriesSelector, 'baseline').p50 as number));
  });

  it('rate, counter and gauge maths', () => {
    for (const p of PHASES) {
      const failed = samples.filter((s) => s.metric === 'http_req_failed' && inPhase(p)(s));
      const passes = failed.filter((s) => s.value !== 0).length;
      expect(pipe.stats({ metric: 'http_req_failed' }, p.id)).toEqual({ kind: 'rate', count: failed.length, passes, rate: passes / failed.length });
      const reqs = samples.filter((s) => matches({ metric: 'http_reqs', tags: { name: 'send' } }, s) && inPhase(p)(s));
      const sum = reqs.reduce((a, s) => a + s.value, 0);
      expect(pipe.stats({ metric: 'http_reqs', tags: { name: 'send' } }, p.id)).toEqual({ kind: 'counter', count: reqs.length, sum, perSecond: sum / 10 });
      const vus = samples.filter((s) => s.metric === 'vus' && inPhase(p)(s)).sort((a, b) => a.time - b.time);
      const vv = vus.map((s) => s.value);
      expect(pipe.stats({ metric: 'vus' }, p.id)).toEqual({ kind: 'gauge', count: vus.length, last: vv[vv.length - 1], min: Math.min(...vv), max: Math.max(...vv) });
    }
    expect(pipe.stats({ metric: 'http_req_failed' }, 'fault:f1').rate).toBeGreaterThan(0.1);
    // run: perSecond over run start → latest sample
    const runSum = samples.filter((s) => matches({ metric: 'http_reqs', tags: { name: 'send' } }, s)).length;
    expect(pipe.stats({ metric: 'http_reqs', tags: { name: 'send' } }, 'run').perSecond).toBeCloseTo(runSum / ((pipe.lastSampleMs - T0) / 1000), 9);
  });

  it('a metric of unknown kind is a trend', () => {
    const st = pipe.stats({ metric: 'sc_custom' }, 'baseline');
    expect(st.kind).toBe('trend');
    expectTrend(st, samples.filter((s) => s.metric === 'sc_custom' && inPhase(PHASES[0] as Phase)(s)).map((s) => s.value));
  });

  it('series: one point per 1 s window with samples, from the run start to the last sample', () => {
    const series = pipe.series();
    expect(series.map((s) => s.label)).toEqual([
      'http_req_duration',
      'http_req_duration{name=login}',
      'http_req_duration{name=send,status=200}',
      'http_req_failed',
      'http_reqs{name=send}',
      'vus',
      'sc_custom',
    ]);
    const login = series[1];
    expect(login?.windowMs).toBe(1000);
    const ts = login?.points.map((p) => p.t) ?? [];
    // windows 0..29 except the silent 13, 14; then 31 (the late sample); nothing before the start
    expect(ts).toEqual([...Array(30).keys()].filter((w) => w !== 13 && w !== 14).map((w) => w * 1000).concat([31_000]));
    for (const pt of login?.points ?? []) {
      const vals = samples.filter((s) => matches(SELECTORS[1] as SeriesSelector, s) && s.time >= T0 + pt.t && s.time < T0 + pt.t + 1000).map((s) => s.value);
      expect(pt.stats.count).toBe(vals.length);
      const sorted = vals.sort((a, b) => a - b);
      // window histograms hold 2 significant digits
      expect(Math.abs((pt.stats.p95 as number) - exactPercentile(sorted, 95))).toBeLessThanOrEqual(exactPercentile(sorted, 95) * 1e-2);
    }
    const reqs = series[4]?.points[0]?.stats;
    expect(reqs?.kind).toBe('counter');
    expect(reqs?.perSecond).toBe(reqs?.sum);
  });

  it('windowStats merges whole windows (for time-to-recover scans)', () => {
    const sel = { metric: 'http_req_duration', tags: { name: 'login' } };
    const w = pipe.windowStats(sel, T0 + 20_000, T0 + 25_000);
    const vals = samples.filter((s) => matches(sel, s) && s.time >= T0 + 20_000 && s.time < T0 + 25_000).map((s) => s.value);
    expect(w.count).toBe(vals.length);
    const sorted = vals.sort((a, b) => a - b);
    expect(Math.abs((w.p95 as number) - exactPercentile(sorted, 95))).toBeLessThanOrEqual(exactPercentile(sorted, 95) * 1e-2);
    // unaligned bounds round to window starts: [20.5 s, 25.5 s) → windows 21..25
    const w2 = pipe.windowStats({ metric: 'http_req_failed' }, T0 + 20_500, T0 + 25_500);
    const f = samples.filter((s) => s.metric === 'http_req_failed' && s.time >= T0 + 21_000 && s.time < T0 + 26_000);
    expect(w2).toEqual({ kind: 'rate', count: f.length, passes: f.filter((s) => s.value !== 0).length, rate: f.filter((s) => s.value !== 0).length / f.length });
    const c = pipe.windowStats('http_reqs{name=send}', T0 + 1000, T0 + 3000);
    expect(c.perSecond).toBe((c.sum as number) / 2);
    // a span without samples
    expect(pipe.windowStats(sel, T0 + 13_000, T0 + 15_000)).toEqual({ kind: 'trend', count: 0 });
  });

  it('phaseTable: one row per selector × phase, then run', () => {
    const rows = pipe.phaseTable();
    expect(rows).toHaveLength(SELECTORS.length * 4);
    expect(rows.slice(0, 4).map((r) => [r.label, r.phase])).toEqual([
      ['http_req_duration', 'baseline'],
      ['http_req_duration', 'fault:f1'],
      ['http_req_duration', 'recovery:f1'],
      ['http_req_duration', 'run'],
    ]);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows); // plain JSON
  });

  it('phaseTable leaves out a phase without samples, and keeps the run row of a series with none', () => {
    const p = new ResultPipeline({
      runStartMs: T0,
      selectors: [{ metric: 'm' }, { metric: 'silent' }],
      phases: [
        { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 10 },
        { id: 'fault:a', kind: 'fault', startMs: T0 + 10, endMs: T0 + 20 },
        { id: 'recovery:a', kind: 'recovery', startMs: T0 + 20, endMs: T0 + 30 },
      ],
    });
    for (const t of [1, 2, 25]) p.add({ metric: 'm', time: T0 + t, value: t, tags: {} });
    const rows = p.phaseTable().map((r) => [r.label, r.phase, r.stats.count]);
    expect(rows).toEqual([
      ['m', 'baseline', 2],
      ['m', 'recovery:a', 1],
      ['m', 'run', 3],
      ['silent', 'run', 0],
    ]);
    expect(p.stats('m', 'fault:a').count).toBe(0); // still answerable by stats()
  });

  it('overlapping phases each get the sample; unknown phase / selector throw', () => {
    const p = new ResultPipeline({
      runStartMs: T0,
      selectors: [{ metric: 'm' }],
      phases: [
        { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 10 },
        { id: 'fault:a', kind: 'fault', startMs: T0 + 5, endMs: T0 + 20 },
        { id: 'fault:b', kind: 'fault', startMs: T0 + 8, endMs: T0 + 9 },
      ],
    });
    for (let t = 0; t < 25; t++) p.add({ metric: 'm', time: T0 + t, value: t, tags: {} });
    expect(p.stats('m', 'baseline').count).toBe(10);
    expect(p.stats('m', 'fault:a').count).toBe(15);
    expect(p.stats('m', 'fault:b')).toMatchObject({ count: 1, min: 8, max: 8 });
    expect(p.stats('m', 'run').count).toBe(25);
    expect(() => p.stats('m', 'nope')).toThrow(/unknown phase/);
    expect(() => p.stats({ metric: 'x' }, 'run')).toThrow(/unknown selector/);
    expect(selectorLabel({ metric: 'm', tags: { b: '2', a: '1' } })).toBe('m{a=1,b=2}');
  });

  describe('from a k6 file', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'results-pipeline-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('readK6 (plain and gz) gives the same statistics as adding the samples; kinds from Metric lines', async () => {
      const k6Time = (ms: number) => {
        const whole = Math.floor(ms);
        const ns = (whole % 1000) * 1e6 + Math.round((ms - whole) * 1e6);
        return `${new Date(whole).toISOString().slice(0, 19)}.${String(ns).padStart(9, '0')}Z`;
      };
      const lines = Object.entries(KINDS).map(([name, type]) => JSON.stringify({ type: 'Metric', data: { name, type, contains: 'default' }, metric: name }));
      // times rounded to the ns so the file holds them exactly
      const rounded = samples.map((s) => ({ ...s, time: Math.round(s.time * 1e6) / 1e6 }));
      for (const s of rounded) lines.push(`{"metric":"${s.metric}","type":"Point","data":{"time":"${k6Time(s.time)}","value":${s.value},"tags":${JSON.stringify(s.tags)}}}`);
      const text = `${lines.join('\n')}\n`;
      writeFileSync(join(dir, 'k6.json'), text);
      writeFileSync(join(dir, 'k6.json.gz'), gzipSync(text));
      const direct = new ResultPipeline({ phases: PHASES, selectors: SELECTORS, runStartMs: T0, metricKinds: { ...KINDS } });
      for (const s of rounded) direct.add(s);
      for (const f of ['k6.json', 'k6.json.gz']) {
        const p = new ResultPipeline({ phases: PHASES, selectors: SELECTORS, runStartMs: T0 }); // kinds from the file
        const r = await p.readK6(join(dir, f), { extraTags: { workload: 'w1' } });
        expect(r.truncated).toBe(false);
        const round = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)));
        expect(round(p.phaseTable())).toEqual(round(direct.phaseTable()));
        expect(round(p.series())).toEqual(round(direct.series()));
        expect(p.stats({ metric: 'vus' }, 'run').kind).toBe('gauge');
      }
    });
  });
});

describe('ProgressMeter', () => {
  it('request rate, p95 and errors over the last complete seconds', async () => {
    const { ProgressMeter } = await import('../../src/results/progress.js');
    const m = new ProgressMeter(5);
    // 20 s of 10 req/s; the last 5 complete seconds before the latest (15..19) fail 50% and take 100 ms
    for (let sec = 0; sec <= 20; sec++) {
      for (let i = 0; i < 10; i++) {
        const t = T0 + sec * 1000 + i * 100;
        const late = sec >= 15;
        m.add({ metric: 'http_reqs', time: t, value: 1, tags: {} });
        m.add({ metric: 'http_req_duration', time: t, value: late ? 100 : 10 + i, tags: {} });
        m.add({ metric: 'http_req_failed', time: t, value: late && i % 2 === 0 ? 1 : 0, tags: {} });
      }
    }
    const s = m.snapshot();
    expect(s.reqPerSec).toBe(10);
    expect(s.p95Ms).toBeCloseTo(100, 0);
    expect(s.errorRate).toBe(0.5);
    expect(s.totalRequests).toBe(210);
    expect(s.totalErrors).toBe(30);
    expect(m.line()).toMatch(/^10 req\/s {2}p95 100\.\d ms {2}errors 50\.0% \(30\)/);
  });
});
