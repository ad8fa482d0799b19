/**
 * Which metrics the harness's own k6 output (k6ext/output-sch, `--out sch=`) writes as raw samples. Apart
 * from run.ts so the analysis (which picks an experiment's list) does not load the k6 runner.
 */

/**
 * The metrics the harness itself reads from raw samples when nothing more is asked: the scenarios' own
 * (`sc_*`: probes' attempts and outcomes, latencies), the request metrics of the progress line and the
 * report, and checks. An experiment adds the metrics its hypotheses select (analyze.ts: sampleMetricsFor).
 */
export const DEFAULT_SAMPLE_METRICS: readonly string[] = ['sc_*', 'http_reqs', 'http_req_duration', 'http_req_failed', 'checks'];

/** A metric name, or a prefix ending in `*`, as the sch output takes it. */
export const SAMPLE_METRIC_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;
