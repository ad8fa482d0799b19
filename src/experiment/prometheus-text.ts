/**
 * A service's `/metrics` (Prometheus text exposition format) as harness samples, through the kept parser
 * parse-prometheus-text-format (pinned in package.json). Every series becomes one sample of `sc_server` tagged
 * `{service, metric: <family name>, …its labels}`, so a hypothesis selects a server-side series like any other
 * (`{metric: sc_server, tags: {service: chat, metric: chat_ws_connections}}`).
 *
 * Histograms and summaries keep their `_sum` and `_count` series only: buckets and quantiles are tens of series a
 * family, and a soak writes every scrape to the history. The parser groups a labelled histogram's samples into one
 * (it keeps only the unlabelled case right), so their TYPE lines are read as untyped: each series then stands alone.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { z } from 'zod';
import type { Sample } from '../results/model.js';

export const SERVER_METRIC = 'sc_server';
/** Tags the harness sets itself; a server label of the same name is kept as `exported_<name>` (Prometheus's own rule). */
const RESERVED = new Set(['service', 'metric']);

const Family = z.object({
  name: z.string(),
  type: z.string(),
  metrics: z.array(z.object({ value: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }).passthrough()),
}).passthrough();
const Families = z.array(Family);

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Case as Prometheus reads it (strconv.ParseFloat): prom-client writes "Nan".
const SPECIAL_VALUE = /^([+-]?inf(inity)?|nan)$/i;

/**
 * The series of one exposition: family name, labels, value (NaN and ±Inf left out: no statistic takes them).
 * Throws when the text is not that format (an HTML error page parses as families with impossible names or values).
 */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  // Histogram / summary families read as untyped (see above); the parser wants a final newline to keep the last line.
  const flat = text.replace(/^# TYPE (\S+) (histogram|summary)\s*$/gm, '# TYPE $1 untyped');
  const families = Families.parse(parsePrometheusTextFormat(flat.endsWith('\n') ? flat : `${flat}\n`));
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`not the Prometheus text format: "${f.name.slice(0, 40)}" is no metric name`);
    for (const m of f.metrics) {
      const value = Number(m.value);
      if (m.value === undefined || !(Number.isFinite(value) || SPECIAL_VALUE.test(m.value))) throw new Error(`not the Prometheus text format: ${f.name} has the value "${String(m.value).slice(0, 40)}"`);
      if (f.name.endsWith('_bucket') || m.labels?.quantile !== undefined || !Number.isFinite(value)) continue;
      out.push({ name: f.name, labels: m.labels ?? {}, value });
    }
  }
  return out;
}

/** One scrape of `service` at `timeMs` as samples (throws when the text is not the exposition format). */
export function expositionSamples(text: string, service: string, timeMs: number): Sample[] {
  return parseExposition(text).map((s) => {
    const tags: Record<string, string> = { service, metric: s.name };
    for (const [k, v] of Object.entries(s.labels)) {
      // The server's own `service` label (prom-client default labels, the Go services' const label) names the same
      // service in its words: dropped when it agrees with ours, kept aside when it does not.
      if (k === 'service' && v === service) continue;
      tags[RESERVED.has(k) ? `exported_${k}` : k] = v;
    }
    return { metric: SERVER_METRIC, time: timeMs, value: s.value, tags };
  });
}
