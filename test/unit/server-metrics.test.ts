import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { expositionSamples, parseExposition, SERVER_METRIC } from '../../src/experiment/prometheus-text.js';
import { parseCpuSeconds, parseRssBytes, processTotals } from '../../src/experiment/process-stats.js';
import { METRICS_UP, PROCESS_FDS, PROCESS_RSS, ServerObserver, scrapeIntervalMs } from '../../src/experiment/server-observer.js';
import type { Sample } from '../../src/results/model.js';
import { closedPort } from './closed-port.js';

/** What the reference target's services serve: prom-client with its default metrics and the service label. */
function targetRegistry(): Registry {
  const r = new Registry();
  r.setDefaultLabels({ service: 'chat' });
  collectDefaultMetrics({ register: r });
  const h = new Histogram({ name: 'http_request_duration_seconds', help: 'x', labelNames: ['route', 'status'], buckets: [0.1, 1], registers: [r] });
  h.observe({ route: '/v1/messages', status: '201' }, 0.05);
  h.observe({ route: '/health', status: '200' }, 0.5);
  new Gauge({ name: 'chat_ws_connections', help: 'x', registers: [r] }).set(7);
  new Counter({ name: 'odd_total', help: 'x', labelNames: ['metric'], registers: [r] }).inc({ metric: 'm' }, 2);
  return r;
}

/** The real services' client_golang output: `le` last, the service as a const label in its own words. */
const GO_TEXT = `# HELP websocket_connections Number of active WebSocket connections
# TYPE websocket_connections gauge
websocket_connections{service="chat-service"} 3
# HELP http_request_duration_seconds HTTP request latency in seconds
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{endpoint="/v1/messages",method="POST",service="chat-service",le="0.005"} 1
http_request_duration_seconds_bucket{endpoint="/v1/messages",method="POST",service="chat-service",le="+Inf"} 4
http_request_duration_seconds_sum{endpoint="/v1/messages",method="POST",service="chat-service"} 0.25
http_request_duration_seconds_count{endpoint="/v1/messages",method="POST",service="chat-service"} 4
http_request_duration_seconds_bucket{endpoint="/health",method="GET",service="chat-service",le="+Inf"} 2
http_request_duration_seconds_sum{endpoint="/health",method="GET",service="chat-service"} 0.001
http_request_duration_seconds_count{endpoint="/health",method="GET",service="chat-service"} 2
# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 2.1e-05
go_gc_duration_seconds_sum 0.0012
go_gc_duration_seconds_count 40
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.4576e+07
# TYPE odd gauge
odd NaN`;

describe('Prometheus text → samples', () => {
  it('reads prom-client output: every series with its labels; histograms as _sum and _count per label set, no buckets', async () => {
    const text = await targetRegistry().metrics();
    const s = expositionSamples(text, 'chat', 1000);
    expect(s.every((x) => x.metric === SERVER_METRIC && x.time === 1000 && x.tags.service === 'chat' && Number.isFinite(x.value))).toBe(true);
    expect(s.find((x) => x.tags.metric === 'chat_ws_connections')?.value).toBe(7);
    const counts = s.filter((x) => x.tags.metric === 'http_request_duration_seconds_count');
    expect(counts.map((x) => [x.tags.route, x.value]).sort()).toEqual([['/health', 1], ['/v1/messages', 1]]);
    expect(s.find((x) => x.tags.metric === 'http_request_duration_seconds_sum' && x.tags.route === '/health')?.value).toBe(0.5);
    expect(s.some((x) => (x.tags.metric ?? '').endsWith('_bucket') || 'le' in x.tags)).toBe(false);
    expect(s.find((x) => x.tags.metric === 'process_resident_memory_bytes')!.value).toBeGreaterThan(1e6);
    // A server label named like one of the harness's tags is kept aside, Prometheus's way.
    expect(s.find((x) => x.tags.metric === 'odd_total')?.tags).toEqual({ service: 'chat', metric: 'odd_total', exported_metric: 'm' });
  });

  it('reads client_golang output: le last, summaries without quantiles, NaN left out, a foreign service label kept aside', () => {
    const s = expositionSamples(GO_TEXT, 'chat', 5);
    const by = (m: string) => s.filter((x) => x.tags.metric === m);
    expect(by('websocket_connections')).toEqual([{ metric: SERVER_METRIC, time: 5, value: 3, tags: { service: 'chat', metric: 'websocket_connections', exported_service: 'chat-service' } }]);
    expect(by('http_request_duration_seconds_count').map((x) => [x.tags.endpoint, x.value])).toEqual([['/v1/messages', 4], ['/health', 2]]);
    expect(by('go_gc_duration_seconds_count')[0]?.value).toBe(40);
    expect(by('go_gc_duration_seconds')).toEqual([]);
    expect(by('process_resident_memory_bytes')[0]?.value).toBe(24576000);
    expect(by('odd')).toEqual([]);
    expect(s.some((x) => (x.tags.metric ?? '').endsWith('_bucket'))).toBe(false);
  });

  it('refuses what is not the format (an HTML or JSON error page), and finds no series in an empty answer', () => {
    expect(() => parseExposition('<html><body>404 page not found</body></html>\n')).toThrow(/not the Prometheus text format/);
    expect(() => parseExposition('404 page not found')).toThrow(/not the Prometheus text format/);
    expect(parseExposition('')).toEqual([]);
  });
});

describe('/proc readings', () => {
  it('parses VmRSS and utime + stime (a command name with spaces and parentheses)', () => {
    expect(parseRssBytes('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nThreads: 7\n')).toBe(2048 * 1024);
    expect(parseRssBytes('Name:\tkworker\n')).toBeNull();
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1234 1000 200';
    expect(parseCpuSeconds(stat)).toBe(3);
  });

  it('totals this process (and its descendants): memory, files, CPU; none for a pid that is gone', () => {
    const t = processTotals([process.pid])!;
    expect(t.processes).toBeGreaterThanOrEqual(1);
    expect(t.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(t.openFds).toBeGreaterThan(2);
    expect(t.cpuSeconds).toBeGreaterThan(0);
    expect(processTotals([2 ** 22 + 1])).toBeNull();
  });
});

describe('ServerObserver', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const reg = targetRegistry();
    server = createServer((req, res) => {
      if (req.url === '/ok/metrics') void reg.metrics().then((t) => res.writeHead(200, { 'content-type': reg.contentType }).end(t));
      else if (req.url === '/html/metrics') res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hello</body></html>');
      else res.writeHead(404).end('404 page not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('records each service up or down (never throws), its series, and its processes; logs a state once', async () => {
    const refused = `http://127.0.0.1:${await closedPort()}`;
    const samples: Sample[] = [];
    const lines: string[] = [];
    const o = new ServerObserver({
      services: [
        { service: 'chat', metricsUrl: `${base}/ok/metrics`, pids: () => [process.pid] },
        { service: 'gateway', metricsUrl: `${base}/missing/metrics` },
        { service: 'video', metricsUrl: `${base}/html/metrics` },
        { service: 'storage', metricsUrl: `${refused}/metrics` },
      ],
      record: (s) => samples.push(s), log: (l) => lines.push(l), timeoutMs: 2000, intervalMs: 1000,
    });
    await o.tick();
    await o.tick();
    const up = (service: string) => samples.filter((s) => s.metric === METRICS_UP && s.tags.service === service).map((s) => s.value);
    expect(up('chat')).toEqual([1, 1]);
    expect(up('gateway')).toEqual([0, 0]);
    expect(up('video')).toEqual([0, 0]);
    expect(up('storage')).toEqual([0, 0]);
    expect(samples.some((s) => s.metric === SERVER_METRIC && s.tags.service === 'chat' && s.tags.metric === 'chat_ws_connections')).toBe(true);
    expect(samples.some((s) => s.metric === SERVER_METRIC && s.tags.service !== 'chat')).toBe(false);
    expect(samples.filter((s) => s.metric === PROCESS_RSS).map((s) => s.tags.service)).toEqual(['chat', 'chat']);
    expect(samples.find((s) => s.metric === PROCESS_FDS)!.value).toBeGreaterThan(2);
    expect(lines.filter((l) => l.includes('gateway'))).toEqual(['server metrics: gateway /metrics unavailable: HTTP 404']);
    expect(lines.find((l) => l.includes('video'))).toMatch(/not the Prometheus text format/);
    expect(lines.find((l) => l.includes('storage'))).toMatch(/ECONNREFUSED/);
    o.stop();
  });

  it('reads once a second until the baseline ends (sparseFrom), then once per interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      const times: number[] = [];
      const o = new ServerObserver({ services: [{ service: 'chat', metricsUrl: `${base}/ok/metrics`, pids: () => [process.pid] }], record: (s) => { if (s.metric === PROCESS_RSS) times.push(s.time); }, log: () => undefined, intervalMs: 5000 });
      const t0 = Date.now();
      o.start();
      o.sparseFrom(t0 + 10_000);
      for (let i = 0; i < 40; i++) await vi.advanceTimersByTimeAsync(1000);
      o.stop();
      const dense = times.filter((t) => t < t0 + 10_000).length;
      const sparse = times.filter((t) => t >= t0 + 10_000).length;
      expect(dense).toBeGreaterThanOrEqual(10);
      expect(sparse).toBeGreaterThanOrEqual(5);
      expect(sparse).toBeLessThanOrEqual(7);
    } finally {
      vi.useRealTimers();
    }
  });

  it('scrapes once a second in a short run, every 5 s from 5 minutes on', () => {
    expect([15, 86, 150, 300, 7200].map(scrapeIntervalMs)).toEqual([1000, 1000, 3000, 5000, 5000]);
  });
});

describe('an external target', () => {
  it('names the services whose /metrics it cannot reach (their checks are INCONCLUSIVE); none for an embedded target', async () => {
    const { loadExperiment } = await import('../../src/experiment/load.js');
    const { externalRun } = await import('../../src/experiment/external.js');
    const e = await loadExperiment('baseline');
    expect(externalRun(e, {}).notApplied).toEqual([]);
    const ext = externalRun(e, { externalTarget: { baseUrl: 'http://127.0.0.1:8080', videoUrl: 'http://127.0.0.1:8083' } });
    expect(ext.notApplied).toContain("server observation of auth, chat, storage (only the gateway's /metrics and the video service's can be reached; their checks are INCONCLUSIVE)");
  });
});

describe('which series carries what, per target', () => {
  it('the reference target\'s names, the real services\' names, and null where a target lacks the quantity', async () => {
    const { seriesFor } = await import('../../src/experiment/server-quantities.js');
    expect(seriesFor('sockets-held', 'reference', 'chat')).toEqual({ metric: 'sc_server', tags: { service: 'chat', metric: 'chat_ws_connections' } });
    expect(seriesFor('sockets-held', 'secureconnect', 'chat')).toEqual({ metric: 'sc_server', tags: { service: 'chat', metric: 'chat_websocket_connections' } });
    expect(seriesFor('resident-memory', 'secureconnect', 'gateway')?.tags?.metric).toBe('process_resident_memory_bytes');
    expect(seriesFor('requests-rate-limited', 'reference', 'gateway')).toBeNull();
    expect(seriesFor('sockets-held', 'reference', 'auth')).toBeNull();
  });

  it('what the reference target serves today carries its names', async () => {
    const { QUANTITIES, seriesFor } = await import('../../src/experiment/server-quantities.js');
    const served = new Set(parseExposition(await targetRegistry().metrics()).map((s) => s.name));
    // The chat registry above declares chat_ws_connections; the default metrics give the process ones.
    for (const q of QUANTITIES) {
      const s = seriesFor(q, 'reference', 'chat');
      if (s && ['resident-memory', 'open-files', 'sockets-held'].includes(q)) expect(served.has(s.tags!.metric!), q).toBe(true);
    }
  });
});

describe('the report', () => {
  it('labels the target\'s readings by their unit, latency trends in ms', async () => {
    const { trendUnit } = await import('../../reports/charts.js');
    expect(['sc_process_rss_mib', 'sc_process_fds', 'sc_process_cpu_cores', 'sc_server', 'sc_probe_duration'].map(trendUnit)).toEqual(['MiB', 'files', 'cores', 'as served', 'ms']);
  });
});
