/**
 * k6 outputs (`sch run` / `sch scenario run` `-o/--out`, as `k6 run --out`): handed to every workload's k6
 * beside the harness's own samples file, e.g. `-o json=results.json`, `-o csv=samples.csv`,
 * `-o experimental-prometheus-rw` (configured by the K6_PROMETHEUS_RW_* variables of your shell, which k6
 * inherits). Samples carry no `url` / `name` tag whatever the output (SYSTEM_TAGS in run.ts: URLs hold tokens).
 *
 * `--out <dir>` used to be the report folder (now `--out-dir`): a value that is not `type` or `type=arg`
 * with a k6 output type is refused naming `--out-dir`, so an old command never writes a folder called
 * `json=results.json/` nor sends a run somewhere unexpected.
 */
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The outputs of the pinned k6 (v2.2.0: its own list, from `k6 run -o bogus`). An xk6 output extension's
 * type (K6_EXTENSIONS) is accepted as type=arg, and k6 names it if it is not there.
 */
export const K6_OUTPUT_TYPES = ['json', 'csv', 'cloud', 'experimental-prometheus-rw', 'opentelemetry', 'experimental-opentelemetry', 'influxdb', 'statsd', 'web-dashboard'] as const;

/** Outputs whose argument is a file path (resolved against the caller's directory: k6 runs in the harness root). */
const FILE_OUTPUTS = new Set(['json', 'csv']);

/** A `-o` value that is not a k6 output. Bad input: the CLI exits 2. */
export class OutputError extends Error {
  override name = 'OutputError';
}

const TYPE = /^[a-z][a-z0-9-]*$/;

/**
 * A `-o/--out` value checked and made independent of k6's working directory: `json=results.json` →
 * `json=/where/you/are/results.json`. Throws OutputError (naming --out-dir) for anything that looks like
 * a folder rather than a k6 output.
 */
export function parseK6Output(v: string, cwd: string = process.cwd()): string {
  const eq = v.indexOf('=');
  const type = eq < 0 ? v : v.slice(0, eq);
  const arg = eq < 0 ? '' : v.slice(eq + 1);
  const known = (K6_OUTPUT_TYPES as readonly string[]).includes(type);
  // An unknown bare word (`--out results`) or a path (`--out ./runs`, `--out /tmp/x`) is the old report-folder use.
  if (!TYPE.test(type) || (!known && eq < 0)) {
    throw new OutputError(`--out ${v}: -o/--out is k6's output, as in k6 (e.g. -o json=results.json, -o experimental-prometheus-rw; types: ${K6_OUTPUT_TYPES.join(', ')}); the folder for the run's reports is --out-dir ${v}`);
  }
  if (FILE_OUTPUTS.has(type)) {
    if (arg === '') throw new OutputError(`--out ${v}: give the file, e.g. -o ${type}=results.${type}`);
    // csv also takes key=value options (`csv=fileName=x.csv,timeFormat=unix`): only a plain path is resolved.
    if (!arg.includes('=')) return `${type}=${isAbsolute(arg) ? arg : resolve(cwd, arg)}`;
  }
  return v;
}

/**
 * The outputs of one workload: with several workloads, each file output gets the workload's id before its
 * extension (`results.json` → `results.probes.json`), so no two k6 processes write one file.
 */
export function outputsForWorkload(outputs: readonly string[], workloadId: string, severalWorkloads: boolean): string[] {
  if (!severalWorkloads) return [...outputs];
  return outputs.map((o) => {
    const eq = o.indexOf('=');
    const type = o.slice(0, eq);
    const path = o.slice(eq + 1);
    if (eq < 0 || !FILE_OUTPUTS.has(type) || path.includes('=')) return o;
    const name = basename(path);
    const dot = name.indexOf('.', 1);
    const renamed = dot < 0 ? `${name}.${workloadId}` : `${name.slice(0, dot)}.${workloadId}${name.slice(dot)}`;
    return `${type}=${join(dirname(path), renamed)}`;
  });
}
