/**
 * What kind each metric is (trend / rate / counter / gauge). k6's JSON output says so in its Metric lines;
 * its CSV output (the harness's default raw format, src/results/k6-csv.ts) does not. So the harness writes
 * the kinds itself beside the samples (`metric-kinds.json`): k6's built-in metrics from the table below, and
 * every custom metric the script declares (`new Trend('sc_…')`), read from the bundle's own sources.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { MetricKind } from '../results/model.js';

/** k6's built-in metrics (k6 v2: HTTP, WebSockets, gRPC, browser-free) and their kinds. */
export const BUILTIN_METRIC_KINDS: Readonly<Record<string, MetricKind>> = {
  vus: 'gauge', vus_max: 'gauge',
  iterations: 'counter', iteration_duration: 'trend', dropped_iterations: 'counter',
  data_sent: 'counter', data_received: 'counter', checks: 'rate', group_duration: 'trend',
  http_reqs: 'counter', http_req_failed: 'rate', http_req_duration: 'trend', http_req_blocked: 'trend', http_req_connecting: 'trend',
  http_req_tls_handshaking: 'trend', http_req_sending: 'trend', http_req_waiting: 'trend', http_req_receiving: 'trend',
  ws_connecting: 'trend', ws_session_duration: 'trend', ws_sessions: 'counter', ws_msgs_sent: 'counter', ws_msgs_received: 'counter', ws_ping: 'trend',
  grpc_req_duration: 'trend', grpc_streams: 'counter', grpc_streams_msgs_sent: 'counter', grpc_streams_msgs_received: 'counter',
};

const KIND_OF: Record<string, MetricKind> = { Trend: 'trend', Rate: 'rate', Counter: 'counter', Gauge: 'gauge' };

/** The custom metrics one source text declares: `new Trend('name'…)`, `new Counter("name")`, … */
export function metricKindsIn(src: string): Record<string, MetricKind> {
  const out: Record<string, MetricKind> = {};
  for (const m of src.matchAll(/new\s+(Trend|Counter|Rate|Gauge)\(\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]/g)) out[m[2]!] = KIND_OF[m[1]!]!;
  return out;
}

/** The custom metrics declared in these source files. */
export function declaredMetricKinds(sources: readonly string[]): Record<string, MetricKind> {
  return Object.assign({}, ...sources.filter((f) => existsSync(f)).map((f) => metricKindsIn(readFileSync(f, 'utf8')))) as Record<string, MetricKind>;
}

export const METRIC_KINDS_FILE = 'metric-kinds.json';
const KindsSchema = z.record(z.string(), z.enum(['trend', 'rate', 'counter', 'gauge']));

/** Write the kinds a run's samples need: built-ins, then the script's own (a script may not redefine a built-in). */
export function writeMetricKinds(path: string, sources: readonly string[]): Record<string, MetricKind> {
  const kinds = { ...declaredMetricKinds(sources), ...BUILTIN_METRIC_KINDS };
  writeFileSync(path, `${JSON.stringify(kinds, null, 2)}\n`);
  return kinds;
}

/** The kinds written beside a samples file; {} when there are none (a JSON samples file carries its own). */
export function readMetricKinds(path: string): Record<string, MetricKind> {
  if (!existsSync(path)) return {};
  const r = KindsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success) throw new Error(`${path}: not a metric-kinds file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
