import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readK6Samples, K6Tail } from '../../src/results/k6-reader.js';
import { K6_CSV_COLUMNS, parseCsvTime } from '../../src/results/k6-csv.js';
import { binaries, HARNESS_ROOT } from '../../src/lab/paths.js';
import { DEFAULT_SAMPLE_METRICS, SYSTEM_TAGS, samplesFormatFromEnv, samplesOutput } from '../../src/k6/run.js';
import { sampleMetricsFor } from '../../src/experiment/analyze.js';
import { validateExperiment } from '../../src/experiment/spec.js';
import { parse as parseYaml } from 'yaml';
import type { Sample } from '../../src/results/model.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'results-csv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const collect = () => {
  const samples: Sample[] = [];
  return { samples, on: (s: Sample) => samples.push({ ...s, tags: { ...s.tags } }) };
};
const header = K6_CSV_COLUMNS.join(',');
/** A record with the columns given by name, the rest empty. */
const row = (o: Partial<Record<(typeof K6_CSV_COLUMNS)[number], string>>): string => K6_CSV_COLUMNS.map((c) => o[c] ?? '').join(',');


/** A local endpoint for a real k6 run within the enclosing describe: 200, or 503 for a URL naming `fail`. */
function serveLocally(onPort: (port: number) => void): void {
  let server: Server;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url?.includes('fail') ? 503 : 200;
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onPort((server.address() as { port: number }).port);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
}

describe('k6 CSV samples', () => {
  it('reads columns, extra tags, metadata t0 and microsecond times; malformed records are counted, never fatal', async () => {
    const text = [
      header,
      row({ metric_name: 'http_req_duration', timestamp: '1795974204843457', metric_value: '12.500000', method: 'GET', name: 'login', status: '200', scenario: 'default', extra_tags: 'workload=w1&probe=login' }),
      // A probe's sample: timed at its request's start (metadata t0), a tag value holding '=' and a quoted field.
      row({ metric_name: 'sc_attempt', timestamp: '1795974204900000', metric_value: '1.000000', extra_tags: '"probe=a=b,c"', metadata: 't0=1795974204000&trace=x' }),
      'sc_bad,1795974204900000',
      row({ metric_name: 'vus', timestamp: '1795974205', metric_value: '3.000000' }),
      '',
    ].join('\n');
    const c = collect();
    const r = await readK6Samples(join(dir, 'x.csv'), c.on, {}).catch(() => null);
    expect(r).toBeNull(); // no such file: the reader never invents samples
    writeFileSync(join(dir, 'x.csv'), text);
    const r2 = await readK6Samples(join(dir, 'x.csv'), c.on, { extraTags: { run: 'r1' } });
    expect(r2).toMatchObject({ points: 3, badLines: 1, truncated: false, metrics: {} });
    expect(c.samples).toEqual([
      { metric: 'http_req_duration', time: 1795974204843.457, value: 12.5, tags: { method: 'GET', name: 'login', status: '200', scenario: 'default', workload: 'w1', probe: 'login', run: 'r1' } },
      { metric: 'sc_attempt', time: 1795974204000, value: 1, tags: { probe: 'a=b,c', run: 'r1' } },
      { metric: 'vus', time: 1795974205000, value: 3, tags: { run: 'r1' } },
    ]);
    expect(parseCsvTime('1795974204843457123')).toBeCloseTo(1795974204843.457, 3);
    expect(parseCsvTime('2026-11-29T17:43:28.930559999Z')).toBe(Date.parse('2026-11-29T17:43:28.930Z'));
  });

  it('a cut gzip stream or a last line without its newline is reported truncated, with what it holds', async () => {
    const lines = [header, ...Array.from({ length: 2000 }, (_, i) => row({ metric_name: 'sc_x', timestamp: String(1795974204000000 + i * 1000), metric_value: `${i}.000000`, extra_tags: `n=${i}` }))];
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const full = collect();
    expect(await readK6Samples(writeTo('full.csv.gz', gz), full.on)).toMatchObject({ points: 2000, truncated: false });
    const cut = collect();
    const r = await readK6Samples(writeTo('cut.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.6))), cut.on);
    expect(r.truncated).toBe(true);
    expect(cut.samples).toEqual(full.samples.slice(0, cut.samples.length));
    const noNl = collect();
    expect(await readK6Samples(writeTo('nonl.csv', lines.slice(0, 3).join('\n')), noNl.on)).toMatchObject({ points: 1, truncated: true });
  });

  describe('from a real k6', () => {
    let port = 0;
    serveLocally((p) => (port = p));

    it('k6 writing JSON and CSV of one run: the same samples from both, and the CSV followed while k6 writes it', async (ctx) => {
      const k6 = binaries().k6;
      if (!existsSync(k6)) ctx.skip(`no k6 at ${k6}: run scripts/setup`);
      const script = join(dir, 'script.js');
      writeFileSync(script, `import http from 'k6/http'; import exec from 'k6/execution'; import { Trend, Rate } from 'k6/metrics';
const step = new Trend('sc_step_duration', true); const ok = new Rate('sc_ok');
export const options = { vus: 3, duration: '2s' };
export default function () {
  exec.vu.metrics.metadata.t0 = String(Date.now());
  const a = http.get('http://127.0.0.1:${port}/login', { tags: { name: 'login', probe: 'login' } });
  delete exec.vu.metrics.metadata.t0;
  ok.add(a.status === 200, { probe: 'login' });
  http.get('http://127.0.0.1:${port}/fail?x=1', { tags: { name: 'fail' } });
  step.add(a.timings.duration / 3, { step: 'third' });
}
`);
      const json = join(dir, 'k6.json.gz');
      const csv = join(dir, 'k6.csv.gz');
      const child = spawn(k6, ['run', '--quiet', '--no-usage-report', '--tag', 'workload=w1', '--out', `json=${json}`, '--out', `csv=${csv}`, script], { stdio: 'ignore', env: { ...process.env, K6_CSV_TIME_FORMAT: 'unix_micro' } });
      const tailed = collect();
      const tail = new K6Tail(csv, tailed.on, { intervalMs: 100 }).start();
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      const tr = await tail.stop();

      const fromJson = collect();
      const fromCsv = collect();
      await readK6Samples(json, fromJson.on);
      const r = await readK6Samples(csv, fromCsv.on);
      expect(r).toMatchObject({ badLines: 0, truncated: false });
      expect(fromCsv.samples.length).toBeGreaterThan(50);
      expect(fromCsv.samples.length).toBe(fromJson.samples.length);
      // The same samples, in the same order: CSV keeps microseconds and 6 decimals, and leaves out empty tags.
      fromCsv.samples.forEach((s, i) => {
        const j = fromJson.samples[i]!;
        expect(s.metric).toBe(j.metric);
        expect(Math.abs(s.time - j.time)).toBeLessThan(0.002); // a microsecond, within a double's precision at epoch ms
        expect(Math.abs(s.value - j.value)).toBeLessThanOrEqual(5e-7);
        expect(s.tags).toEqual(Object.fromEntries(Object.entries(j.tags).filter(([, v]) => v !== '')));
      });
      // Probes' samples timed at their request's start in both.
      expect(fromCsv.samples.filter((s) => s.tags.probe === 'login' && s.metric === 'http_req_duration').every((s) => Number.isInteger(s.time))).toBe(true);
      expect(tr.points).toBe(fromCsv.samples.length);
      expect(tailed.samples).toEqual(fromCsv.samples);
    }, 60_000);
  });
});

describe('the sch output (k6ext/output-sch): k6\'s CSV format, only the metrics asked for', () => {
  it('its --out argument: the file and the metric patterns; names it cannot take are refused', () => {
    expect(samplesOutput('sch', '/r/samples.csv')).toBe(`sch=file=/r/samples.csv,metrics=${DEFAULT_SAMPLE_METRICS.join('|')}`);
    expect(samplesOutput('sch', '/r/samples.csv', ['sc_*', 'checks', 'checks'])).toBe('sch=file=/r/samples.csv,metrics=sc_*|checks');
    expect(samplesOutput('sch', '/r/samples.csv', 'all')).toBe('sch=file=/r/samples.csv');
    expect(samplesOutput('csv', '/r/samples.csv')).toBe('csv=/r/samples.csv');
    expect(() => samplesOutput('sch', '/r/samples.csv', ['a|b'])).toThrow(/not a k6 metric name/);
    expect(() => samplesOutput('sch', '/r/a,b.csv')).toThrow(/comma/);
    expect(samplesFormatFromEnv({})).toBe('sch');
    expect(samplesFormatFromEnv({ SCH_SAMPLES_OUTPUT: 'csv' })).toBe('csv');
    expect(() => samplesFormatFromEnv({ SCH_SAMPLES_OUTPUT: 'parquet' })).toThrow(/not a samples output/);
  });

  it('an experiment writes what its analysis reads: the defaults, its selectors; a name the output cannot take writes every metric', () => {
    const raw = parseYaml(readFileSync(join(HARNESS_ROOT, 'fixtures', 'examples', 'redis-outage-20s.yaml'), 'utf8')) as Record<string, unknown>;
    const e = validateExperiment(raw, 'example');
    const m = sampleMetricsFor(e);
    expect(m).not.toBe('all');
    expect(m).toEqual(expect.arrayContaining([...DEFAULT_SAMPLE_METRICS, 'sc_probe_ok', 'sc_probe_duration']));
    const selecting = validateExperiment({ ...raw, hypotheses: [...(raw.hypotheses as object[]), { kind: 'threshold', id: 'ws', description: 'x', claims: ['LOGIN'], phase: 'baseline', select: { metric: 'ws_connecting' }, stat: 'p(95)', op: '<', value: 1000, unit: 'ms' }] }, 'example');
    expect(sampleMetricsFor(selecting)).toContain('ws_connecting');
    expect(sampleMetricsFor({ ...selecting, hypotheses: [...selecting.hypotheses.slice(0, -1), { ...selecting.hypotheses.at(-1)!, select: { metric: 'my.metric' } } as typeof selecting.hypotheses[number]] })).toBe('all');
  });

  describe('from a real k6', () => {
    let port = 0;
    serveLocally((p) => (port = p));

    it('k6 writing its own csv and the sch output of one run: the same header, the same samples of the metrics asked for (bit for bit), followed live', async (ctx) => {
      const k6 = binaries().k6;
      if (!existsSync(k6)) ctx.skip(`no k6 at ${k6}: run scripts/setup`);
      const script = join(dir, 'sch-script.js');
      // A tag value with a comma and a quote (CSV quoting), metadata (a probe's t0), custom metrics, a failing request.
      writeFileSync(script, `import http from 'k6/http'; import exec from 'k6/execution'; import { check } from 'k6'; import { Trend, Counter } from 'k6/metrics';
const step = new Trend('sc_step_duration', true); const attempts = new Counter('sc_attempt'); const other = new Counter('other_count');
export const options = { vus: 3, duration: '2s' };
export default function () {
  exec.vu.metrics.metadata.t0 = String(Date.now());
  attempts.add(1, { probe: 'login' });
  const a = http.get('http://127.0.0.1:${port}/login', { tags: { name: 'login', probe: 'login', note: 'a,"b" c' } });
  delete exec.vu.metrics.metadata.t0;
  check(a, { 'login: 200': (r) => r.status === 200 });
  http.get('http://127.0.0.1:${port}/fail?x=1', { tags: { name: 'fail' } });
  step.add(a.timings.duration / 3, { step: 'third' });
  other.add(1);
}
`);
      const csv = join(dir, 'k6-own.csv');
      const sch = join(dir, 'sch.csv');
      const wanted = ['sc_*', 'http_req_duration', 'checks'];
      const child = spawn(k6, ['run', '--quiet', '--no-usage-report', '--tag', 'workload=w1', '--system-tags', SYSTEM_TAGS.join(','), '--out', `csv=${csv}`, '--out', samplesOutput('sch', sch, wanted), script], { stdio: 'ignore', env: { ...process.env, K6_CSV_TIME_FORMAT: 'unix_micro' } });
      const tailed = collect();
      const tail = new K6Tail(sch, tailed.on, { intervalMs: 100 }).start();
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      const tr = await tail.stop();

      const firstLine = (p: string) => readFileSync(p, 'utf8').split('\n')[0];
      expect(firstLine(sch)).toBe(firstLine(csv));
      const fromCsv = collect();
      const fromSch = collect();
      await readK6Samples(csv, fromCsv.on);
      const r = await readK6Samples(sch, fromSch.on);
      expect(r).toMatchObject({ badLines: 0, truncated: false });
      const expected = fromCsv.samples.filter((s) => s.metric.startsWith('sc_') || s.metric === 'http_req_duration' || s.metric === 'checks');
      expect(new Set(fromCsv.samples.map((s) => s.metric))).toContain('other_count');
      expect(new Set(fromSch.samples.map((s) => s.metric))).toEqual(new Set(['sc_attempt', 'sc_step_duration', 'http_req_duration', 'checks']));
      expect(fromSch.samples.length).toBeGreaterThan(50);
      // Exactly the same values, times (t0 included), tags — in the same order.
      expect(fromSch.samples).toEqual(expected);
      expect(fromSch.samples.some((s) => s.tags.note === 'a,"b" c' && s.tags.probe === 'login' && s.tags.workload === 'w1')).toBe(true);
      expect(tr.points).toBe(fromSch.samples.length);
      expect(tailed.samples).toEqual(fromSch.samples);
    }, 60_000);
  });
});

function writeTo(name: string, data: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}
