/**
 * Result pipeline benchmark (run on demand, not a test):
 *   node --import tsx bench/pipeline.ts [--samples 10000000] [--dir /tmp/sch-bench-pipeline] [--regen] [--mode filtered|all]
 *
 * 1. Generates (once, cached in --dir) a k6-format JSON-lines file of N samples, plain and gzipped:
 *    ~10 min of a workload doing login / send_message / fetch_history requests (each request writes
 *    k6's 9 http_* lines with k6's system tags), checks, a custom trend sc_step_duration{step}, iterations,
 *    data_sent/received, vus gauges; 3 phases (baseline, fault:f1 with slower/failing requests, recovery:f1).
 * 2. For each file, in a fresh child process: ResultPipeline with 12 selectors and 1 s windows over
 *    the whole file; prints samples/s, peak RSS (sampled every 100 ms) and RSS at 1M / 5M / 10M lines.
 *
 * `--mode filtered` (default) is the real use (pipeline.readK6: lines of metrics no selector is about
 * are skipped after reading their name); `--mode all` parses and delivers every line.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { ResultPipeline, readK6Samples, type Phase, type SeriesSelector } from '../src/results/index.js';

const argv = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : def;
}

const RUN_START = Date.parse('2026-11-23T15:00:00Z');
const DURATION_MS = 600_000;
const PHASES: Phase[] = [
  { id: 'baseline', kind: 'baseline', startMs: RUN_START, endMs: RUN_START + 200_000 },
  { id: 'fault:f1', kind: 'fault', faultId: 'f1', startMs: RUN_START + 200_000, endMs: RUN_START + 400_000 },
  { id: 'recovery:f1', kind: 'recovery', faultId: 'f1', startMs: RUN_START + 400_000, endMs: RUN_START + DURATION_MS },
];
const SELECTORS: SeriesSelector[] = [
  { metric: 'http_req_duration' },
  { metric: 'http_req_duration', tags: { name: 'login' } },
  { metric: 'http_req_duration', tags: { name: 'send_message' } },
  { metric: 'http_req_duration', tags: { expected_response: 'true' } },
  { metric: 'http_req_failed' },
  { metric: 'http_req_failed', tags: { name: 'login' } },
  { metric: 'http_reqs' },
  { metric: 'sc_step_duration', tags: { step: 'connect' } },
  { metric: 'sc_step_duration', tags: { step: 'chat' } },
  { metric: 'checks' },
  { metric: 'iteration_duration' },
  { metric: 'vus' },
];

// ---------------------------------------------------------------- generation

const METRIC_LINES: [string, string, string][] = [
  ['http_reqs', 'counter', 'default'], ['http_req_duration', 'trend', 'time'], ['http_req_blocked', 'trend', 'time'],
  ['http_req_connecting', 'trend', 'time'], ['http_req_tls_handshaking', 'trend', 'time'], ['http_req_sending', 'trend', 'time'],
  ['http_req_waiting', 'trend', 'time'], ['http_req_receiving', 'trend', 'time'], ['http_req_failed', 'rate', 'default'],
  ['checks', 'rate', 'default'], ['data_sent', 'counter', 'data'], ['data_received', 'counter', 'data'],
  ['iteration_duration', 'trend', 'time'], ['iterations', 'counter', 'default'], ['vus', 'gauge', 'default'],
  ['sc_step_duration', 'trend', 'time'],
];

let seed = 42;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function lognormal(medianMs: number, sigma: number): number {
  const u = Math.max(1e-12, rnd());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  return medianMs * Math.exp(sigma * z);
}
/** RFC 3339 with k6's nanoseconds (trailing zeros trimmed, as Go does). */
function iso(ms: number, nanos: number): string {
  const whole = Math.floor(ms);
  const s = new Date(whole).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ns = (whole % 1000) * 1_000_000 + Math.floor((ms - whole) * 1000) * 1000 + (nanos % 1000);
  const frac = String(ns).padStart(9, '0').replace(/0+$/, '');
  return `${s.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
function num(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

const REQS = [
  { name: 'login', method: 'POST', url: 'http://198.18.0.2:8080/api/v1/auth/login', median: 40 },
  { name: 'send_message', method: 'POST', url: 'http://198.18.0.2:8080/api/v1/chat/messages', median: 25 },
  { name: 'fetch_history', method: 'GET', url: 'http://198.18.0.2:8080/api/v1/chat/conversations/history', median: 60 },
];

async function generate(n: number, plainPath: string, gzPath: string): Promise<void> {
  const plain = createWriteStream(`${plainPath}.tmp`, { highWaterMark: 1 << 20 });
  const gz = createGzip({ level: 6 });
  const gzOut = createWriteStream(`${gzPath}.tmp`);
  gz.pipe(gzOut);
  let buf = '';
  let written = 0;
  const flush = async () => {
    const b = Buffer.from(buf);
    buf = '';
    plain.write(b);
    gz.write(b);
    // (check each just before waiting: one may have drained while waiting for the other)
    if (plain.writableNeedDrain) await once(plain, 'drain');
    if (gz.writableNeedDrain) await once(gz, 'drain');
  };
  const line = (metric: string, time: string, value: string, tags: string) => {
    buf += `{"metric":"${metric}","type":"Point","data":{"time":"${time}","value":${value},"tags":${tags}}}\n`;
    written++;
  };
  for (const [name, type, contains] of METRIC_LINES) {
    buf += `{"type":"Metric","data":{"name":"${name}","type":"${type}","contains":"${contains}","thresholds":[],"submetrics":null},"metric":"${name}"}\n`;
  }
  // Samples per iteration ≈ 3 requests × (9 http + 1 check) + 2 steps + 2 iteration + 2 data + … ≈ 37.
  const perIter = 3 * 10 + 2 + 4;
  const iterations = Math.ceil(n / perIter);
  const stepMs = DURATION_MS / iterations;
  let lastVuSecond = -1;
  for (let it = 0; it < iterations && written < n; it++) {
    const t0 = RUN_START + it * stepMs;
    const inFault = t0 >= RUN_START + 200_000 && t0 < RUN_START + 400_000;
    const sec = Math.floor((t0 - RUN_START) / 1000);
    if (sec !== lastVuSecond) {
      lastVuSecond = sec;
      line('vus', iso(t0, 0), String(20 + (sec % 7)), '{}');
    }
    let t = t0;
    let iterTotal = 0;
    for (const r of REQS) {
      const fail = rnd() < (inFault ? 0.08 : 0.002);
      const status = fail ? (rnd() < 0.5 ? '503' : '0') : r.method === 'POST' ? '201' : '200';
      const dur = fail && status === '0' ? 0 : lognormal(inFault ? r.median * 4 : r.median, 0.5);
      t += dur;
      iterTotal += dur;
      const ts = iso(t, Math.floor(rnd() * 1000));
      const tags = `{"expected_response":"${fail ? 'false' : 'true'}","group":"","method":"${r.method}","name":"${r.name}","proto":"HTTP/1.1","scenario":"registration","status":"${status}","tls_version":"","url":"${r.url}"}`;
      line('http_reqs', ts, '1', tags);
      line('http_req_duration', ts, num(dur), tags);
      line('http_req_blocked', ts, num(rnd() * 0.01), tags);
      line('http_req_connecting', ts, '0', tags);
      line('http_req_tls_handshaking', ts, '0', tags);
      line('http_req_sending', ts, num(rnd() * 0.05), tags);
      line('http_req_waiting', ts, num(dur * 0.97), tags);
      line('http_req_receiving', ts, num(dur * 0.03), tags);
      line('http_req_failed', ts, fail ? '1' : '0', tags);
      line('checks', ts, fail ? '0' : '1', `{"check":"${r.name} is 2xx","group":"","scenario":"registration"}`);
    }
    const ts = iso(t, 1);
    const st = `{"group":"","scenario":"registration","step":"connect"}`;
    line('sc_step_duration', ts, num(lognormal(inFault ? 30 : 8, 0.4)), st);
    line('sc_step_duration', ts, num(iterTotal * 0.6), `{"group":"","scenario":"registration","step":"chat"}`);
    line('data_sent', ts, String(900 + Math.floor(rnd() * 200)), '{"group":"","scenario":"registration"}');
    line('data_received', ts, String(3000 + Math.floor(rnd() * 900)), '{"group":"","scenario":"registration"}');
    line('iteration_duration', ts, num(iterTotal + 1), '{"group":"","scenario":"registration"}');
    line('iterations', ts, '1', '{"group":"","scenario":"registration"}');
    if (buf.length > 1 << 20) await flush();
  }
  await flush();
  plain.end();
  gz.end();
  await Promise.all([once(plain, 'finish'), once(gzOut, 'finish')]);
  renameSync(`${plainPath}.tmp`, plainPath);
  renameSync(`${gzPath}.tmp`, gzPath);
}

// ---------------------------------------------------------------- measurement (child process)

interface ChildResult {
  file: string;
  bytes: number;
  seconds: number;
  lines: number;
  points: number;
  skipped: number;
  samplesPerSec: number;
  /** CPU seconds of the process (user + system, including zlib's worker thread). */
  cpuSeconds: number;
  samplesPerCpuSec: number;
  peakRssMB: number;
  /** RSS before reading (node + tsx + modules). */
  startRssMB: number;
  rssAtMB: Record<string, number>;
  truncated: boolean;
  check: Record<string, number | undefined>;
}

async function measure(file: string, mode: string): Promise<void> {
  const pipe = new ResultPipeline({ phases: PHASES, selectors: SELECTORS, runStartMs: RUN_START, windowMs: 1000 });
  let peak = process.memoryUsage().rss;
  const startRss = peak;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const milestones = [1_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000];
  const rssAt: Record<string, number> = {};
  const onProgress = (lines: number) => {
    const m = milestones[0];
    if (m !== undefined && lines >= m) {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      rssAt[`${m / 1e6}M`] = Math.round(rss / 1e5) / 10;
      milestones.shift();
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let lines = 0;
  const r =
    mode === 'all'
      ? await readK6Samples(file, (s) => pipe.add(s), {
          onMetric: (n, k) => pipe.setMetricKind(n, k),
          onProgress: (l) => {
            lines = l;
            onProgress(l);
          },
        })
      : await pipe.readK6(file, {
          onProgress: (l) => {
            lines = l;
            onProgress(l);
          },
        });
  const table = pipe.phaseTable();
  const series = pipe.series();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const all = pipe.stats(SELECTORS[0] as SeriesSelector, 'run');
  const fault = pipe.stats(SELECTORS[0] as SeriesSelector, 'fault:f1');
  const failed = pipe.stats({ metric: 'http_req_failed' }, 'fault:f1');
  const out: ChildResult = {
    file,
    bytes: statSync(file).size,
    seconds,
    lines,
    points: r.points,
    skipped: r.skipped,
    samplesPerSec: Math.round(lines / seconds),
    cpuSeconds,
    samplesPerCpuSec: Math.round(lines / cpuSeconds),
    peakRssMB: Math.round(peak / 1e5) / 10,
    startRssMB: Math.round(startRss / 1e5) / 10,
    rssAtMB: rssAt,
    truncated: r.truncated,
    check: {
      rows: table.length,
      seriesPoints: series.reduce((a, s) => a + s.points.length, 0),
      runCount: all.count,
      runP95: all.p95,
      faultP95: fault.p95,
      faultFailedRate: failed.rate,
    },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const child = arg('child', '');
  const mode = arg('mode', 'filtered');
  if (child) return measure(child, mode);

  const n = Number(arg('samples', '10000000'));
  const dir = arg('dir', '/tmp/sch-bench-pipeline');
  mkdirSync(dir, { recursive: true });
  const plainPath = join(dir, `samples-${n}.json`);
  const gzPath = `${plainPath}.gz`;
  if (argv.includes('--regen') || !existsSync(plainPath) || !existsSync(gzPath)) {
    const t = performance.now();
    process.stdout.write(`generating ${n} samples into ${dir} … `);
    await generate(n, plainPath, gzPath);
    console.log(`${((performance.now() - t) / 1000).toFixed(1)} s (plain ${(statSync(plainPath).size / 1e6).toFixed(0)} MB, gz ${(statSync(gzPath).size / 1e6).toFixed(0)} MB)`);
  }
  const self = fileURLToPath(import.meta.url);
  for (const file of [plainPath, gzPath]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', file, '--mode', mode], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exitCode = 1;
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult;
    const kind = file.endsWith('.gz') ? 'gz   ' : 'plain';
    console.log(
      `${kind} ${mode}: ${res.lines} lines (${res.points} delivered, ${res.skipped} skipped) in ${res.seconds.toFixed(2)} s = ${(res.samplesPerSec / 1000).toFixed(0)}k samples/s ` +
        `(CPU ${res.cpuSeconds.toFixed(2)} s = ${(res.samplesPerCpuSec / 1000).toFixed(0)}k samples/CPU-s); ` +
        `RSS before ${res.startRssMB} MB, peak ${res.peakRssMB} MB; RSS at ${Object.entries(res.rssAtMB).map(([k, v]) => `${k}: ${v} MB`).join(', ')}`,
    );
    console.log(`        check: ${JSON.stringify(res.check)}`);
  }
}

await main();
