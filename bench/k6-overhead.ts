/**
 * Benchmark (not a test): the harness's cost on k6's request rate.
 *
 * One local HTTP endpoint; one k6 script (a closed model: SC_VUS VUs GET it as fast as they can for SC_DURATION).
 *   A = plain `k6 run <bundle>` (the same esbuild bundle, no thresholds, no sample output);
 *   B = the same scenario through runScenario (budgets → thresholds via --config, raw samples through the
 *       harness's own output — the default, k6ext/output-sch: k6's CSV format, DEFAULT_SAMPLE_METRICS only;
 *       gzipped after the run —, --summary-export, the /health probe, the cached bundle);
 *   F = B with raw samples through k6's own csv output (samplesFormat csv: every metric; the fallback);
 *   E = B with raw samples as gzipped JSON (samplesFormat json: the harness's format before CSV).
 * Each round runs every configuration once, the order reversed every other round so none always runs last.
 * C = plain k6 with only the harness's raw-sample output added (`--out json=….gz`), to attribute the difference.
 * Request rate = http_reqs / the run's own duration, as k6 reports it. Prints each round and the ratio B/A.
 *
 *   nice npx tsx bench/k6-overhead.ts [--rounds 5] [--duration 10s] [--vus 10]
 */
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { binaries, HARNESS_ROOT } from '../src/lab/paths.js';
import { run } from '../src/lab/exec.js';
import { bundleScenario } from '../src/k6/bundle.js';
import { readSummary, runScenario } from '../src/k6/run.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const ROUNDS = Number(arg('rounds', '5'));
const DURATION = arg('duration', '10s');
const VUS = arg('vus', '10');

const SCRIPT = `/** Benchmark workload: GET one URL as fast as SC_VUS VUs can. */
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  scenarios: { hammer: { executor: 'constant-vus', vus: Number(__ENV.SC_VUS || 10), duration: __ENV.SC_DURATION || '10s', gracefulStop: '2s' } },
};
export default function () {
  const r = http.get(__ENV.SC_BASE_URL + '/hit', { tags: { name: 'hit' } });
  check(r, { 'hit: 200': (x) => x.status === 200 });
}
`;
const SOURCE = { file: '003_039d4faa86754376.txt', line: 328, section: 'Monitoring & Alerting → Alerting Recommendations', quote: '2. High latency (p95 > 1s)' };
const BUDGETS = `version: 1
scenarios:
  bench-http:
    scenario:
      - { metric: http_req_failed, stat: rate, op: "<", value: 0.05, unit: ratio, source: ${JSON.stringify(SOURCE)} }
      - { metric: http_req_duration, stat: "p(95)", op: "<", value: 1000, unit: ms, source: ${JSON.stringify(SOURCE)} }
      - { metric: checks, stat: rate, op: ">", value: 0.95, unit: ratio, source: ${JSON.stringify(SOURCE)} }
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sch-bench-k6-'));
  const scenariosDir = join(dir, 'scenarios');
  mkdirSync(scenariosDir);
  writeFileSync(join(scenariosDir, 'bench-http.ts'), SCRIPT);
  const budgetsFile = join(dir, 'budgets.yaml');
  writeFileSync(budgetsFile, BUDGETS);
  const body = Buffer.from('{"ok":true}');
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bundle = await bundleScenario('bench-http', { scenariosDir, outDir: join(dir, 'bundles') });
  const env = { SC_BASE_URL: baseUrl, SC_DURATION: DURATION, SC_VUS: VUS };

  const plain = async (): Promise<number> => {
    const summary = join(dir, 'plain-summary.json');
    // --summary-export is written once, at the end: it does not touch the request loop.
    const r = await run(binaries().k6, ['run', '--quiet', '--no-usage-report', '--no-color', '--summary-export', summary, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), bundle.path], { cwd: HARNESS_ROOT, timeoutMs: 120_000, env: { ...process.env, K6_NO_COLOR: '1' } });
    if (r.code !== 0) throw new Error(`plain k6 exited ${r.code}: ${r.stderr.slice(-500)}`);
    return Number(readSummary(summary).metrics.http_reqs?.rate);
  };
  /** C: plain k6 plus only the harness's raw-sample output (--out json=….gz): attributes the difference. */
  const plainJson = async (): Promise<number> => {
    const summary = join(dir, 'json-summary.json');
    const r = await run(binaries().k6, ['run', '--quiet', '--no-usage-report', '--no-color', '--summary-export', summary, '--out', `json=${join(dir, 'json-samples.json.gz')}`, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), bundle.path], { cwd: HARNESS_ROOT, timeoutMs: 120_000, env: { ...process.env, K6_NO_COLOR: '1' } });
    if (r.code !== 0) throw new Error(`plain k6 (json) exited ${r.code}: ${r.stderr.slice(-500)}`);
    return Number(readSummary(summary).metrics.http_reqs?.rate);
  };
  let n = 0;
  const harness = async (): Promise<number> => {
    const r = await runScenario({ name: 'bench-http', scenariosDir, budgetsFile, baseUrl, profile: 'smoke', env, outDir: join(dir, `harness-${n++}`), timeoutMs: 120_000 });
    if (!r.thresholdsPassed) throw new Error(`harness run failed: exit ${r.exitCode}, ${r.failedThresholds.join('; ')} ${r.stderr.slice(-500)}`);
    return Number(readSummary(r.summaryPath).metrics.http_reqs?.rate);
  };

  /** F: through runScenario with k6's own csv output (every metric: the harness's default before output-sch). */
  const harnessCsv = async (): Promise<number> => {
    const r = await runScenario({ name: 'bench-http', scenariosDir, budgetsFile, baseUrl, profile: 'smoke', env, outDir: join(dir, `harness-csv-${n++}`), timeoutMs: 120_000, samplesFormat: 'csv' });
    if (!r.thresholdsPassed) throw new Error(`harness run failed: exit ${r.exitCode}, ${r.failedThresholds.join('; ')} ${r.stderr.slice(-500)}`);
    return Number(readSummary(r.summaryPath).metrics.http_reqs?.rate);
  };

  /** E: through runScenario with JSON raw samples (what the harness wrote before CSV). */
  const harnessJson = async (): Promise<number> => {
    const r = await runScenario({ name: 'bench-http', scenariosDir, budgetsFile, baseUrl, profile: 'smoke', env, outDir: join(dir, `harness-json-${n++}`), timeoutMs: 120_000, samplesFormat: 'json' });
    if (!r.thresholdsPassed) throw new Error(`harness run failed: exit ${r.exitCode}, ${r.failedThresholds.join('; ')} ${r.stderr.slice(-500)}`);
    return Number(readSummary(r.summaryPath).metrics.http_reqs?.rate);
  };

  /** D: through runScenario with raw samples off (a pure load run). */
  const harnessNoSamples = async (): Promise<number> => {
    const r = await runScenario({ name: 'bench-http', scenariosDir, budgetsFile, baseUrl, profile: 'smoke', env, outDir: join(dir, `harness-ns-${n++}`), timeoutMs: 120_000, samples: false });
    if (!r.thresholdsPassed) throw new Error(`harness run failed: exit ${r.exitCode}, ${r.failedThresholds.join('; ')} ${r.stderr.slice(-500)}`);
    return Number(readSummary(r.summaryPath).metrics.http_reqs?.rate);
  };

  console.log(`k6 overhead: ${ROUNDS} rounds × (plain, harness: sch output, k6 csv output, JSON, no samples; plain + json), ${VUS} VUs, ${DURATION} each, endpoint ${baseUrl} (in this process)`);
  await plain(); // warm-up (page cache, JIT of the server), not counted
  const rows: { round: number; plain: number; harness: number; ratio: number; plainJson: number; harnessNoSamples: number; harnessJson: number; harnessCsv: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let a: number;
    let b: number;
    let c: number;
    let d: number;
    let e: number;
    let f: number;
    if (i % 2 === 0) { a = await plain(); d = await harnessNoSamples(); b = await harness(); f = await harnessCsv(); e = await harnessJson(); c = await plainJson(); } else { c = await plainJson(); e = await harnessJson(); f = await harnessCsv(); b = await harness(); d = await harnessNoSamples(); a = await plain(); }
    rows.push({ round: i + 1, plain: a, harness: b, ratio: b / a, plainJson: c, harnessNoSamples: d, harnessJson: e, harnessCsv: f });
    console.log(`round ${i + 1} (${i % 2 === 0 ? 'A D B F E C' : 'C E F B D A'}): plain ${a.toFixed(0)} req/s, harness (sch output) ${b.toFixed(0)} req/s, harness/plain ${(b / a).toFixed(3)}; harness with k6's csv output ${f.toFixed(0)} (${(f / a).toFixed(3)}); harness with JSON samples ${e.toFixed(0)} (${(e / a).toFixed(3)}); harness without raw samples ${d.toFixed(0)} (${(d / a).toFixed(3)}); plain + json.gz output ${c.toFixed(0)} req/s (${(c / a).toFixed(3)})`);
  }
  const sum = (xs: number[]) => xs.reduce((t, x) => t + x, 0);
  const med = (xs: number[]) => { const s = [...xs].sort((p, q) => p - q); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
  const plainMean = sum(rows.map((r) => r.plain)) / rows.length;
  const harnessMean = sum(rows.map((r) => r.harness)) / rows.length;
  const overhead = 1 - harnessMean / plainMean;
  console.log(JSON.stringify({
    rounds: rows.length, vus: Number(VUS), duration: DURATION,
    plainMeanReqPerS: Math.round(plainMean), harnessMeanReqPerS: Math.round(harnessMean),
    ratioOfMeans: Number((harnessMean / plainMean).toFixed(4)),
    plainJsonMeanReqPerS: Math.round(sum(rows.map((r) => r.plainJson)) / rows.length),
    harnessNoSamplesMeanReqPerS: Math.round(sum(rows.map((r) => r.harnessNoSamples)) / rows.length),
    harnessJsonMeanReqPerS: Math.round(sum(rows.map((r) => r.harnessJson)) / rows.length),
    harnessCsvMeanReqPerS: Math.round(sum(rows.map((r) => r.harnessCsv)) / rows.length),
    harnessCsvVsPlain: Number((sum(rows.map((r) => r.harnessCsv)) / rows.length / plainMean).toFixed(4)),
    harnessJsonVsPlain: Number((sum(rows.map((r) => r.harnessJson)) / rows.length / plainMean).toFixed(4)),
    harnessNoSamplesVsPlain: Number((sum(rows.map((r) => r.harnessNoSamples)) / rows.length / plainMean).toFixed(4)),
    harnessVsPlainJson: Number((harnessMean / (sum(rows.map((r) => r.plainJson)) / rows.length)).toFixed(4)), medianPairRatio: Number(med(rows.map((r) => r.ratio)).toFixed(4)),
    overheadPercent: Number((overhead * 100).toFixed(2)), goal: 'harness with raw samples ≥ 0.90 of plain k6', met: harnessMean / plainMean >= 0.9, rows,
  }, null, 2));
  server.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
