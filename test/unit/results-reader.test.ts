import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, appendFileSync, rmSync, existsSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync, createGzip, constants } from 'node:zlib';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readK6Samples, K6Tail, parseK6Time } from '../../src/results/k6-reader.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { binaries } from '../../src/lab/paths.js';
import type { Sample } from '../../src/results/model.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'results-reader-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-23T15:40:00Z');

/** k6's time format: RFC 3339 with nanoseconds, trailing zeros trimmed. */
function k6Time(ms: number, nanos = 0): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const ns = (whole % 1000) * 1_000_000 + Math.round((ms - whole) * 1000) * 1000 + nanos;
  const frac = String(ns).padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
function metricLine(name: string, type: string): string {
  return JSON.stringify({ type: 'Metric', data: { name, type, contains: type === 'trend' ? 'time' : 'default', thresholds: [], submetrics: null }, metric: name });
}
function pointLine(metric: string, timeMs: number, value: number, tags: Record<string, string>): string {
  return `{"metric":"${metric}","type":"Point","data":{"time":"${k6Time(timeMs)}","value":${JSON.stringify(value)},"tags":${JSON.stringify(tags)}}}`;
}

function collect(): { samples: Sample[]; on: (s: Sample) => void } {
  const samples: Sample[] = [];
  return { samples, on: (s) => samples.push({ ...s, tags: { ...s.tags } }) };
}

/** A varied file: every layout the reader must handle. */
function variedLines(): string[] {
  return [
    metricLine('http_req_duration', 'trend'),
    metricLine('http_req_failed', 'rate'),
    metricLine('vus', 'gauge'),
    metricLine('http_reqs', 'counter'),
    pointLine('http_req_duration', T0 + 1.5, 12.345678, { name: 'login', status: '200' }),
    pointLine('http_req_duration', T0 + 2, 0, { name: 'login', status: '0', error: 'dial: i/o timeout' }),
    // escapes in tags (k6 writes & as \u0026), a quote, a brace
    '{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-23T15:40:00.003Z","value":7.25,"tags":{"url":"http://x/a?b=1\\u0026c=2","q":"say \\"hi\\" {}"}}}',
    // no fraction, offset zone
    '{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-23T16:40:01+01:00","value":1,"tags":{"name":"login"}}}',
    // exponent, negative, empty tags
    '{"metric":"vus","type":"Point","data":{"time":"2026-11-23T15:40:02.123456789Z","value":1e3,"tags":{}}}',
    '{"metric":"vus","type":"Point","data":{"time":"2026-11-23T15:40:02.5Z","value":-3.5,"tags":{}}}',
    // a field after tags (newer k6 metadata), other key order
    '{"metric":"http_req_failed","type":"Point","data":{"time":"2026-11-23T15:40:03.25Z","value":1,"tags":{"name":"login"},"metadata":{"trace_id":"abc"}}}',
    '{"type":"Point","metric":"http_req_failed","data":{"tags":{"name":"x"},"value":0,"time":"2026-11-23T15:40:03.75Z"}}',
    // garbage: counted as bad
    'not json',
    '',
    pointLine('sc_step_duration', T0 + 4000.25, 99.5, { step: 'connect' }),
  ];
}

describe('parseK6Time', () => {
  it('parses k6 timestamps to epoch ms, keeping sub-ms', () => {
    expect(parseK6Time('2026-11-23T15:40:00Z')).toBe(T0);
    expect(parseK6Time('2026-11-23T15:40:00.5Z')).toBe(T0 + 500);
    expect(parseK6Time('2026-11-23T15:40:00.123456789Z')).toBeCloseTo(T0 + 123.456789, 4);
    expect(parseK6Time('2026-11-23T16:40:00.25+01:00')).toBe(T0 + 250);
  });
});

describe('readK6Samples', () => {
  it('fast path and JSON.parse path give the same samples; kinds and bad lines are reported', async () => {
    const path = join(dir, 'varied.json');
    writeFileSync(path, `${variedLines().join('\n')}\n`);
    const fast = collect();
    const slow = collect();
    const rf = await readK6Samples(path, fast.on);
    const rs = await readK6Samples(path, slow.on, { fastPath: false });
    expect(fast.samples).toEqual(slow.samples);
    expect(rf).toEqual(rs);
    expect(rf.points).toBe(9);
    expect(rf.badLines).toBe(1);
    expect(rf.truncated).toBe(false);
    expect(rf.metrics).toEqual({ http_req_duration: 'trend', http_req_failed: 'rate', vus: 'gauge', http_reqs: 'counter' });
    const s = fast.samples;
    expect(s[0]).toEqual({ metric: 'http_req_duration', time: T0 + 1.5, value: 12.345678, tags: { name: 'login', status: '200' } });
    expect(s[2]?.tags).toEqual({ url: 'http://x/a?b=1&c=2', q: 'say "hi" {}' });
    expect(s[3]?.time).toBe(T0 + 1000);
    expect(s[4]?.value).toBe(1000);
    expect(s[4]?.time).toBeCloseTo(T0 + 2123.456789, 4);
    expect(s[5]?.value).toBe(-3.5);
    expect(s[6]?.tags).toEqual({ name: 'login' });
    expect(s[7]?.metric).toBe('http_req_failed');
    expect(s[8]?.time).toBe(T0 + 4000.25);
  });

  it('values are exactly what JSON.parse reads', async () => {
    const path = join(dir, 'values.json');
    const values: number[] = [];
    let x = 1;
    for (let i = 0; i < 2000; i++) {
      x = (x * 16807) % 2147483647;
      values.push(Number(((x / 2147483647) * 10 ** (i % 9)).toFixed(i % 12)));
    }
    values.push(123456789012345, 1234567890123456789, 0.1, 0.3, 5e-324, 1.7976931348623157e308);
    writeFileSync(path, `${values.map((v, i) => pointLine('m', T0 + i, v, { a: 'b' })).join('\n')}\n`);
    const c = collect();
    await readK6Samples(path, c.on);
    expect(c.samples.map((s) => s.value)).toEqual(values);
  });

  it('adds extra tags to every sample, and filters metrics', async () => {
    const path = join(dir, 'varied2.json');
    writeFileSync(path, `${variedLines().join('\n')}\n`);
    for (const fastPath of [true, false]) {
      const c = collect();
      const r = await readK6Samples(path, c.on, { extraTags: { workload: 'w1' }, metrics: ['http_req_duration', 'vus'], fastPath });
      expect(r.points).toBe(5);
      expect(r.skipped).toBe(4);
      expect(c.samples.every((s) => s.tags.workload === 'w1')).toBe(true);
      expect(c.samples[0]?.tags).toEqual({ name: 'login', status: '200', workload: 'w1' });
      expect(c.samples.filter((s) => s.metric === 'vus').map((s) => s.tags)).toEqual([{ workload: 'w1' }, { workload: 'w1' }]);
    }
  });

  /** n request samples, plus Metric lines. */
  function bigFile(n: number): { lines: string[]; text: string } {
    const lines = [metricLine('http_req_duration', 'trend')];
    for (let i = 0; i < n; i++) lines.push(pointLine('http_req_duration', T0 + i * 3.25, (i % 97) + 0.5, { name: i % 3 === 0 ? 'login' : 'send', status: '200' }));
    return { lines, text: `${lines.join('\n')}\n` };
  }

  it('a plain file cut anywhere: the complete lines are read, the partial tail ignored', async () => {
    const { lines, text } = bigFile(300);
    const full = collect();
    await readK6Samples(writeTo('full.json', text), full.on);
    expect(full.samples).toHaveLength(300);
    let pos = 0;
    const ends = lines.map((l) => (pos += l.length + 1)); // byte offset after each line's newline
    for (const cut of [1, 5, 50, 151, text.length / 2, text.length - 1]) {
      const len = Math.floor(text.length - cut);
      const path = writeTo(`cut-${cut}.json`, text.slice(0, len));
      const c = collect();
      const r = await readK6Samples(path, c.on);
      const pointEnds = ends.slice(1); // the first line is the Metric line
      // a line cut just before its newline is complete JSON: it is read
      const firstCut = ends.findIndex((e) => e > len);
      const missingOnlyNewline = firstCut >= 0 && (ends[firstCut] as number) - 1 === len;
      const expected = pointEnds.filter((e) => e <= len).length + (missingOnlyNewline && firstCut > 0 ? 1 : 0);
      expect(c.samples.length).toBe(expected);
      expect(r.truncated).toBe(!missingOnlyNewline && !ends.includes(len));
      expect(c.samples).toEqual(full.samples.slice(0, c.samples.length));
    }
  });

  it('a gzipped file, whole and truncated (what the stream holds is read)', async () => {
    const { text } = bigFile(5000);
    const gz = gzipSync(Buffer.from(text));
    const full = collect();
    const rFull = await readK6Samples(writeTo('full.json.gz', gz), full.on);
    expect(rFull.truncated).toBe(false);
    expect(full.samples).toHaveLength(5000);
    for (const cut of [8, 100, Math.floor(gz.length / 2)]) {
      const c = collect();
      const r = await readK6Samples(writeTo(`cut-${cut}.json.gz`, gz.subarray(0, gz.length - cut)), c.on);
      expect(r.truncated).toBe(true);
      expect(c.samples.length).toBeGreaterThan(0);
      // cutting only the 8-byte trailer loses no line, but the stream is still reported truncated
      if (cut > 8) expect(c.samples.length).toBeLessThan(5000);
      expect(c.samples).toEqual(full.samples.slice(0, c.samples.length));
    }
    // a file cut inside the gzip header yields nothing, without throwing
    const r = await readK6Samples(writeTo('cut-head.json.gz', gz.subarray(0, 5)), () => {});
    expect(r.points).toBe(0);
  });

  function writeTo(name: string, data: string | Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  }
});

describe('K6Tail', () => {
  it('follows a plain file being written in pieces that split lines', async () => {
    const path = join(dir, 'tail.json');
    const lines = [metricLine('http_req_duration', 'trend')];
    for (let i = 0; i < 200; i++) lines.push(pointLine('http_req_duration', T0 + i, i, { n: String(i % 4) }));
    const text = `${lines.join('\n')}\n`;
    const got: Sample[] = [];
    const tail = new K6Tail(path, (s) => got.push(s), { intervalMs: 10_000 });
    await tail.poll(); // file absent: nothing
    expect(tail.points).toBe(0);
    const pieces = [0, 333, 1000, 1001, 5000, text.length - 7, text.length];
    for (let i = 1; i < pieces.length; i++) {
      appendFileSync(path, text.slice(pieces[i - 1], pieces[i]));
      await tail.poll();
      const complete = text.slice(0, pieces[i]).split('\n').length - 1 - 1; // complete lines minus the Metric line
      expect(tail.points).toBe(Math.max(0, complete));
    }
    const r = await tail.stop();
    expect(r.points).toBe(200);
    expect(r.truncated).toBe(false);
    expect(got.map((s) => s.value)).toEqual([...Array(200).keys()]);
    expect(r.metrics).toEqual({ http_req_duration: 'trend' });
  });

  it('follows a gzip stream being written (flushed blocks) and its timer polls by itself', async () => {
    const path = join(dir, 'tail.json.gz');
    const out = createWriteStream(path);
    const gz = createGzip();
    gz.pipe(out);
    const got: Sample[] = [];
    const tail = new K6Tail(path, (s) => got.push(s), { intervalMs: 20 }).start();
    const flush = () => new Promise<void>((r) => gz.flush(constants.Z_SYNC_FLUSH, () => r()));
    gz.write(`${metricLine('http_reqs', 'counter')}\n`);
    for (let i = 0; i < 100; i++) gz.write(`${pointLine('http_reqs', T0 + i, 1, { name: 'a' })}\n`);
    gz.write('{"metric":"http_reqs","type":"Po'); // a partial line
    await flush();
    await waitFor(() => got.length === 100);
    gz.write(`int","data":{"time":"${k6Time(T0 + 100)}","value":1,"tags":{"name":"a"}}}\n`);
    await flush();
    await waitFor(() => got.length === 101);
    gz.end();
    await once(out, 'finish');
    const r = await tail.stop();
    expect(r.points).toBe(101);
    expect(r.truncated).toBe(false);
    expect(r.metrics).toEqual({ http_reqs: 'counter' });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a real k6 output', () => {
  const k6 = binaries().k6;
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const slow = req.url?.includes('slow') ? 30 : 2;
      setTimeout(() => {
        res.statusCode = req.url?.includes('fail') ? 503 : 200;
        res.end('ok');
      }, slow);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads k6 --out json=….gz: same samples as JSON.parse of the whole file, and the pipeline agrees with exact maths', async (ctx) => {
    // The input must come from a real k6; without one (scripts/setup not run) say so rather than pass quietly.
    if (!existsSync(k6)) {
      const reason = `no k6 at ${k6}: install it with scripts/setup --only go-tools`;
      process.stderr.write(`skipped: ${reason}\n`);
      ctx.skip(reason);
    }
    const script = join(dir, 'script.js');
    writeFileSync(
      script,
      `import http from 'k6/http'; import { check } from 'k6'; import { Trend } from 'k6/metrics';
const step = new Trend('sc_step_duration', true);
export const options = { vus: 3, duration: '2s' };
export default function () {
  const a = http.get('http://127.0.0.1:${port}/login', { tags: { name: 'login' } });
  check(a, { 'login 200': (r) => r.status === 200 });
  const b = http.get('http://127.0.0.1:${port}/slow', { tags: { name: 'slow' } });
  http.get('http://127.0.0.1:${port}/fail?x=1&y=2', { tags: { name: 'fail' } });
  step.add(b.timings.duration, { step: 'slow' });
}
`,
    );
    const out = join(dir, 'k6.json.gz');
    const child: ChildProcess = spawn(k6, ['run', '--quiet', '--no-usage-report', '--out', `json=${out}`, script], { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);

    // Independent reading: JSON.parse of every line of the whole file.
    const all = gunzipSync(readFileSync(out))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; metric: string; data: { time: string; value: number; tags?: Record<string, string>; type?: string } });
    const points = all.filter((o) => o.type === 'Point');
    const c = collect();
    const r = await readK6Samples(out, c.on);
    expect(r.points).toBe(points.length);
    expect(r.truncated).toBe(false);
    expect(r.metrics.http_req_duration).toBe('trend');
    expect(r.metrics.sc_step_duration).toBe('trend');
    expect(r.metrics.http_req_failed).toBe('rate');
    expect(c.samples.map((s) => [s.metric, s.value, s.tags])).toEqual(points.map((p) => [p.metric, p.data.value, p.data.tags ?? {}]));
    expect(c.samples.map((s) => Math.floor(s.time))).toEqual(points.map((p) => Math.floor(parseK6Time(p.data.time))));

    const times = c.samples.map((s) => s.time);
    const start = Math.min(...times);
    const mid = start + 1000;
    const pipe = new ResultPipeline({
      runStartMs: start,
      phases: [
        { id: 'baseline', kind: 'baseline', startMs: start, endMs: mid },
        { id: 'fault:x', kind: 'fault', faultId: 'x', startMs: mid, endMs: Math.max(...times) + 1 },
      ],
      selectors: [{ metric: 'http_req_duration', tags: { name: 'slow' } }, { metric: 'http_req_failed' }, { metric: 'sc_step_duration', tags: { step: 'slow' } }],
    });
    const rr = await pipe.readK6(out);
    expect(rr.points).toBeGreaterThan(0);
    const slow = points
      .filter((p) => p.metric === 'http_req_duration' && p.data.tags?.name === 'slow' && parseK6Time(p.data.time) >= mid)
      .map((p) => p.data.value)
      .sort((a, b) => a - b);
    const st = pipe.stats({ metric: 'http_req_duration', tags: { name: 'slow' } }, 'fault:x');
    expect(st.count).toBe(slow.length);
    const p95 = slow[Math.ceil(0.95 * slow.length) - 1] as number;
    expect(Math.abs((st.p95 as number) - p95)).toBeLessThanOrEqual(p95 * 1e-3 + 1e-3);
    expect(st.p50).toBeGreaterThanOrEqual(29);
    const failed = points.filter((p) => p.metric === 'http_req_failed');
    const fr = pipe.stats({ metric: 'http_req_failed' }, 'run');
    expect(fr.count).toBe(failed.length);
    expect(fr.passes).toBe(failed.filter((p) => p.data.value !== 0).length);
    expect(fr.rate).toBeCloseTo(1 / 3, 1);
    expect(pipe.stats({ metric: 'sc_step_duration', tags: { step: 'slow' } }, 'run').count).toBe(points.filter((p) => p.metric === 'sc_step_duration').length);
  }, 20_000);
});
