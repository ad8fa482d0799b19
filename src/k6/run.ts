import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { K6CsvParser, isCsvSamplesPath } from '../results/k6-csv.js';
import { METRIC_KINDS_FILE, writeMetricKinds } from './metric-kinds.js';
import { DEFAULT_SAMPLE_METRICS, SAMPLE_METRIC_PATTERN } from './sample-metrics.js';
import { K6_LOG_GZ, K6_LOG_GZIP_BYTES, K6_LOG_PARTS, K6_LOG_STDERR_MARK, TOLERANT_GUNZIP } from './log-parts.js';
import { GzipSpool } from './gzip-spool.js';
import { binaries, HARNESS_ROOT } from '../lab/paths.js';
import { run } from '../lab/exec.js';
import { redact } from '../util/redact.js';
import { checkTargetAddress } from '../util/target-address.js';
import { bundleScenario, isScriptFile, scenarioSource, ScenarioInputError, SETUP_DATA_ENV, SETUP_DATA_OUT_ENV, SETUP_ONLY_ENV, SUMMARY_EXPORT_ENV, type BundleResult } from './bundle.js';
import { loadBudgets, thresholdSpecs, thresholdsFor, BUDGETS_FILE, type K6Thresholds, type ThresholdSpec } from './budgets.js';
import { DurationError, durationSeconds, formatDuration, parseDuration } from '../util/duration.js';

export { ScenarioInputError };
export { DEFAULT_SAMPLE_METRICS, SAMPLE_METRIC_PATTERN };
export { TargetRefused } from '../util/target-address.js';

export const PROFILES = ['smoke', 'load', 'stress', 'spike', 'soak'] as const;
export type Profile = (typeof PROFILES)[number];

interface Stage { target: number; duration: string }
interface ProfilePlan {
  /** Arrival-rate stages (iterations per second). */
  stages: Stage[];
  startRate: number;
  preVUs: number;
  maxVUs: number;
  /** k6 duration string. */
  gracefulStop: string;
}

/** The schedule of each profile (iterations/s of the scenario's ramping-arrival-rate executor). */
export const PROFILE_PLANS: Record<Profile, ProfilePlan> = {
  smoke: { startRate: 1, stages: [{ target: 2, duration: '3s' }, { target: 2, duration: '4s' }], preVUs: 4, maxVUs: 20, gracefulStop: '10s' },
  load: { startRate: 1, stages: [{ target: 20, duration: '30s' }, { target: 20, duration: '2m' }, { target: 0, duration: '15s' }], preVUs: 20, maxVUs: 200, gracefulStop: '30s' },
  stress: { startRate: 5, stages: [{ target: 50, duration: '1m' }, { target: 100, duration: '2m' }, { target: 150, duration: '2m' }, { target: 0, duration: '30s' }], preVUs: 50, maxVUs: 600, gracefulStop: '30s' },
  spike: { startRate: 5, stages: [{ target: 5, duration: '30s' }, { target: 100, duration: '10s' }, { target: 100, duration: '30s' }, { target: 5, duration: '10s' }, { target: 5, duration: '30s' }], preVUs: 50, maxVUs: 500, gracefulStop: '30s' },
  soak: { startRate: 1, stages: [{ target: 10, duration: '1m' }, { target: 10, duration: '30m' }, { target: 0, duration: '1m' }], preVUs: 20, maxVUs: 200, gracefulStop: '30s' },
};

/** Default soak plateau (the soak profile's middle stage); `soakDuration` / SC_SOAK_DURATION replace it. */
export const SOAK_DEFAULT_DURATION = '30m';

/**
 * A positive duration (src/util/duration.ts: k6's grammar, a plain number is seconds) as k6 should get it:
 * the text as given when it has units, a plain number with its unit added ("90" → "1m30s"). Else a
 * ScenarioInputError starting with `what`.
 */
export function k6Duration(what: string, v: string | number): { ms: number; text: string } {
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    if (e instanceof DurationError) throw new ScenarioInputError(`${what} "${String(v)}" is not a k6 duration (e.g. 45m, 2h, 1h30m, 500ms; a plain number is seconds)`);
    throw e;
  }
  if (ms <= 0) throw new ScenarioInputError(`${what} "${String(v)}" must be longer than 0`);
  const text = typeof v === 'string' && /[a-zµμ]/.test(v) ? v.trim() : formatDuration(ms);
  return { ms, text };
}

/**
 * The profile's plan. For `soak`, the plateau lasts `soakDuration` (e.g. "2h", "45m"). `duration` (k6's
 * -d: the length of the whole load) scales every stage so they add up to it (the graceful stop stays);
 * not with `soakDuration`. A bad duration or profile → ScenarioInputError.
 */
export function planFor(profile: Profile, o: { soakDuration?: string; duration?: string | number } = {}): ProfilePlan {
  if (!(PROFILES as readonly string[]).includes(profile)) throw new ScenarioInputError(`unknown profile "${String(profile)}" (known: ${PROFILES.join(', ')})`);
  const plan = PROFILE_PLANS[profile];
  if (o.soakDuration !== undefined && o.duration !== undefined) throw new ScenarioInputError(`-d/--duration ${String(o.duration)} and the soak duration ${o.soakDuration} both set the length: give one`);
  if (o.duration !== undefined) {
    const total = k6Duration('-d/--duration', o.duration).ms;
    const k = total / plan.stages.reduce((t, st) => t + parseDuration(st.duration), 0);
    return { ...plan, stages: plan.stages.map((st) => ({ ...st, duration: formatDuration(parseDuration(st.duration) * k) })) };
  }
  if (o.soakDuration === undefined) return plan;
  const soak = k6Duration('soak duration', o.soakDuration).text;
  if (profile !== 'soak') return plan;
  const stages = plan.stages.map((st, i) => (i === 1 ? { ...st, duration: soak } : st));
  return { ...plan, stages };
}

/** Total length of a plan in seconds (stages + graceful stop). */
export function planSeconds(p: ProfilePlan): number {
  return p.stages.reduce((t, s) => t + durationSeconds(s.duration), 0) + durationSeconds(p.gracefulStop);
}

function soakOf(o: { soakDuration?: string; env?: Record<string, string> }): { soakDuration?: string } {
  const d = o.soakDuration ?? o.env?.SC_SOAK_DURATION;
  return d === undefined || d === '' ? {} : { soakDuration: d };
}

function checkUrl(what: string, url: string): void {
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new ScenarioInputError(`${what} "${url}" is not an http(s) URL`);
}

/** The k6 environment of a run: the profile's plan as SC_* variables, then the caller's `env` (wins). */
export function scenarioEnv(baseUrl: string, profile: Profile, plan: ProfilePlan, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SC_BASE_URL: baseUrl.replace(/\/+$/, ''),
    SC_PROFILE: profile,
    SC_RUN_ID: randomBytes(4).toString('hex'),
    SC_STAGES: JSON.stringify(plan.stages),
    SC_START_RATE: String(plan.startRate),
    SC_PRE_VUS: String(plan.preVUs),
    SC_MAX_VUS: String(plan.maxVUs),
    SC_GRACEFUL_STOP: plan.gracefulStop,
    ...extra,
  };
}

const envArgs = (env: Record<string, string>): string[] => Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);

/**
 * GET `<url>/health` within `timeoutMs` (default 3 s): any HTTP answer below 500 counts as reachable (the gateway's
 * and every service's `/health`, contract tag `health`). Else a ScenarioInputError `target <url> is not reachable: …`.
 * `caFile`: the one certificate trusted for an https URL, as k6 is told through SSL_CERT_FILE (the lab's public entry).
 */
export async function probeTarget(url: string, timeoutMs = 3000, caFile?: string): Promise<void> {
  const base = url.replace(/\/+$/, '');
  const target = new URL(`${base}/health`);
  const get = target.protocol === 'https:' ? httpsGet : httpGet;
  const status = await new Promise<number>((resolve, reject) => {
    const req = get(target, { timeout: timeoutMs, ...(caFile && target.protocol === 'https:' ? { ca: readFileSync(caFile) } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  }).catch((e: Error & { code?: string }) => {
    throw new ScenarioInputError(`target ${base} is not reachable: ${e.code ?? e.message}`);
  });
  if (status >= 500) throw new ScenarioInputError(`target ${base} is not reachable: ${base}/health answered HTTP ${status}`);
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * The command run so that the kernel stops it when this process dies (setpriv --pdeathsig, util-linux): a runner
 * killed outright (SIGKILL, OOM) must not leave its k6 loading the target until its plan ends, hours later in a soak.
 * SIGTERM: k6 stops its scenarios and flushes its outputs. Unchanged where setpriv is missing (the next start's
 * cleanup then finds nothing to stop but the target).
 */
export function diesWithParent([cmd, args]: [string, string[]]): [string, string[]] {
  return process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', cmd, ...args]] : [cmd, args];
}

/** What runStreaming keeps in memory of a stream it spools to disk: its last KEEP_CHARS, and its first error lines. */
const KEEP_CHARS = 256 * 1024;
const MAX_ERROR_LINES = 100;
const ERROR_LINE = /\blevel=(error|fatal|panic)\b|^(panic:|fatal error:)/;


/**
 * Like exec.run, but hands each output line to `onLine` as it comes, and says whether it killed the command (timeout)
 * or a signal ended it. With `spool`, each line goes (redacted) to its stream's file as it comes and memory keeps only
 * each stream's tail and stderr's error lines: a chat workload logs a line a message, for hours in a soak.
 */
async function runStreaming(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv; signal?: AbortSignal; spool?: { stdout: string; stderr: string } }, onLine: (line: string, stream: 'stdout' | 'stderr') => void) {
  const { spawn } = await import('node:child_process');
  return new Promise<{ code: number; stdout: string; stderr: string; signal: NodeJS.Signals | null; timedOut: boolean }>((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGTERM' as const } : {}) });
    const out = { stdout: '', stderr: '' };
    const partial = { stdout: '', stderr: '' };
    const spool = opts.spool ? { stdout: new GzipSpool(opts.spool.stdout), stderr: new GzipSpool(opts.spool.stderr) } : null;
    const errorLines: string[] = [];
    const line = (l: string, stream: 'stdout' | 'stderr') => {
      if (spool) {
        spool[stream].write(redact(l));
        if (stream === 'stderr' && errorLines.length < MAX_ERROR_LINES && ERROR_LINE.test(l)) errorLines.push(l);
      }
      onLine(l, stream);
    };
    const take = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      const text = d.toString();
      out[stream] += text;
      if (spool && out[stream].length > 2 * KEEP_CHARS) out[stream] = out[stream].slice(-KEEP_CHARS);
      const lines = (partial[stream] + text).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) line(l, stream);
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    let timedOut = false;
    // SIGQUIT first: k6 (Go) writes every goroutine's stack to stderr, the spooled log; then SIGKILL.
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGQUIT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
    }, opts.timeoutMs);
    child.on('error', (e) => {
      if (e.name === 'AbortError') return;
      clearTimeout(timer);
      if (spool) for (const x of [spool.stdout, spool.stderr]) x.close();
      rej(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      for (const stream of ['stdout', 'stderr'] as const) if (partial[stream] !== '') line(partial[stream], stream);
      if (spool) for (const x of [spool.stdout, spool.stderr]) x.close();
      // Spooled: k6's error lines from the whole run, then the tail (what runFailure reads).
      const stderr = spool && errorLines.length ? `${errorLines.join('\n')}\n${out.stderr}` : out.stderr;
      res({ code: code ?? (signal ? 128 : 1), stdout: out.stdout, stderr: timedOut ? `${stderr}\n(timed out after ${opts.timeoutMs} ms)` : stderr, signal, timedOut });
    });
  });
}

/**
 * k6.log from the spooled parts (redacted, gzip members): stdout, the mark, stderr; streamed, then the parts removed.
 * Written plain while it stays within K6_LOG_GZIP_BYTES of text; past that, k6.log.gz instead — the parts' members as
 * they are, the mark's between (history.ts reads either). The text is inflated once, and only up to the limit.
 */
export async function assembleK6Log(outDir: string): Promise<void> {
  const part = (name: string) => join(outDir, name);
  const [out, err] = [part(K6_LOG_PARTS.stdout), part(K6_LOG_PARTS.stderr)];
  const raw = async function* (p: string) {
    if (existsSync(p)) for await (const c of createReadStream(p)) yield c as Buffer;
  };
  const text = async function* (p: string) {
    if (existsSync(p)) for await (const c of createReadStream(p).pipe(createGunzip(TOLERANT_GUNZIP))) yield c as Buffer;
  };
  const plain = join(outDir, 'k6.log');
  const tooLong = new Error('past K6_LOG_GZIP_BYTES');
  let bytes = 0;
  const within = async function* (p: string) {
    for await (const c of text(p)) {
      if ((bytes += c.length) > K6_LOG_GZIP_BYTES) throw tooLong;
      yield c;
    }
  };
  try {
    await pipeline(async function* () {
      yield* within(out);
      yield Buffer.from(K6_LOG_STDERR_MARK);
      yield* within(err);
    }, createWriteStream(plain));
  } catch (e) {
    if (e !== tooLong) throw e;
    rmSync(plain, { force: true });
    await pipeline(async function* () {
      yield* raw(out);
      yield gzipSync(K6_LOG_STDERR_MARK);
      yield* raw(err);
    }, createWriteStream(join(outDir, K6_LOG_GZ)));
  }
  for (const p of [out, err]) rmSync(p, { force: true });
}

export interface ExecutionRequirements {
  /** The most VUs the plan can use. */
  maxVUs: number;
  /** The whole run's longest duration (seconds), graceful stops included. */
  totalDurationSeconds: number;
  /** k6's own answer (`k6 inspect --execution-requirements`). */
  raw: Record<string, unknown>;
}

/**
 * What a scenario under a profile would run, without running it: the same bundle, thresholds and
 * environment as runScenario, through `k6 inspect --execution-requirements` (k6 validates the options and
 * the executors, and runs no setup). Bad input → ScenarioInputError / BudgetError; k6 refusing → Error.
 */
export async function inspectScenario(o: { name: string; profile: Profile; baseUrl?: string; env?: Record<string, string>; soakDuration?: string; budgetsFile?: string; scenariosDir?: string }): Promise<ExecutionRequirements> {
  const plan = planFor(o.profile, soakOf(o));
  scenarioSource(o.name, o.scenariosDir);
  const thresholds = thresholdsFor(loadBudgets(o.budgetsFile ?? BUDGETS_FILE), o.name);
  const bundle = await bundleScenario(o.name, o.scenariosDir ? { scenariosDir: o.scenariosDir } : {});
  const dir = mkdtempSync(join(tmpdir(), 'sch-inspect-'));
  try {
    const optionsPath = join(dir, 'options.json');
    writeFileSync(optionsPath, JSON.stringify({ thresholds }));
    const env = scenarioEnv(o.baseUrl ?? 'http://127.0.0.1:9', o.profile, plan, o.env);
    const r = await run(binaries().k6, ['inspect', '--execution-requirements', '--config', optionsPath, ...envArgs(env), bundle.path], { cwd: HARNESS_ROOT, timeoutMs: 60_000, env: { ...process.env, K6_NO_COLOR: '1' } });
    if (r.code !== 0) throw new Error(`k6 inspect ${o.name} (${o.profile}) exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    const raw = JSON.parse(r.stdout) as Record<string, unknown>;
    const totalDuration = String(raw.totalDuration ?? '0s');
    return { maxVUs: Number(raw.maxVUs ?? 0), totalDurationSeconds: durationSeconds(totalDuration), raw };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunScenarioOptions {
  name: string;
  baseUrl: string;
  profile: Profile;
  /** Extra k6 environment (`-e`), applied last: can override the profile's SC_* values. */
  env?: Record<string, string>;
  /** Where the run's files go (created). */
  outDir: string;
  /** Kill k6 after this long (default: the profile's length + its graceful stop + 60 s). */
  timeoutMs?: number;
  /** Budgets file (default fixtures/budgets.yaml). */
  budgetsFile?: string;
  /** Soak plateau length (k6 duration); else env.SC_SOAK_DURATION; else 30m. Only the soak profile uses it. */
  soakDuration?: string;
  /** Probe `<baseUrl>/health` (and SC_VIDEO_URL's) before any load (default true); unreachable → ScenarioInputError. */
  probe?: boolean;
  /** Probe timeout (default 3000 ms). */
  probeTimeoutMs?: number;
  /**
   * Send load outside loopback and the lab's network (198.18.0.0/15, or `labAddress`). Default false: a
   * baseUrl or `*_URL` variable of `env` elsewhere → TargetRefused before anything is sent.
   */
  allowRemote?: boolean;
  /** The lab's address, also accepted as local (the 198.18.0.0/15 labs are anyway). */
  labAddress?: string | null;
  /** Where scenarios live (default scenarios/). */
  scenariosDir?: string;
  /**
   * k6's console output to disk as it comes (k6.log made of the parts at the end), memory keeping only its tail and
   * error lines: the result's stdout / stderr are then those (experiment runs: a soak's chat workload logs a line a message).
   */
  spoolOutput?: boolean;
  /** Samples file name inside outDir (default samples.csv.gz, or samples.json.gz with samplesFormat json). */
  samplesFile?: string;
  /**
   * Which k6 output writes the raw samples: `sch` (default: the harness's own output, k6ext/output-sch — k6's
   * CSV format, only the metrics of `sampleMetrics`, a fraction of k6's csv output's cost), `csv` (k6's own
   * csv output: every metric, the fallback) or `json`. CSV is gzipped after the run, microsecond times, with
   * the metric kinds written beside it (metric-kinds.ts).
   */
  samplesFormat?: SamplesFormat;
  /**
   * The metrics the `sch` output writes: names, or prefixes ending in `*` (default DEFAULT_SAMPLE_METRICS);
   * `all` writes every metric. k6's csv and json outputs always write every metric.
   */
  sampleMetrics?: readonly string[] | 'all';
  /** Extra k6 run tags (`--tag k=v`) on every sample. */
  tags?: Record<string, string>;
  /** Each line k6 writes while it runs (progress). */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Write k6's raw samples (default true: experiments need them). Off, a pure load run costs k6 only what
   * its summary costs (the JSON sample stream is k6's most expensive part: ~30 % of the request rate at
   * several thousand requests/s on loopback, bench/k6-overhead.ts). */
  samples?: boolean;
  /** Aborting stops k6 with SIGTERM (it ends the test and still writes its summary and samples). */
  signal?: AbortSignal;
  /** k6 options that only exist as environment variables of the k6 process (e.g. K6_LOCAL_IPS: the source address). */
  k6Env?: Record<string, string>;
  /** k6 outputs (`--out`, as checked by parseK6Output), beside the harness's own samples file. */
  outputs?: string[];
  /**
   * The length of the load (k6's -d; a k6 duration, a plain number is seconds). A scenario of scenarios/
   * gets it as its profile's stages scaled to that length, or as SC_DURATION when it runs at a constant
   * rate; a script of your own gets k6's --duration.
   */
  duration?: string | number;
  /** At most this many VUs (k6's --vus): SC_MAX_VUS of a scenario of scenarios/, k6's --vus for a script of your own. */
  vus?: number;
  /** k6's --iterations: a script of your own only (the scenarios of scenarios/ run at an arrival rate). */
  iterations?: number;
  /**
   * One of `count` instances of a split workload (src/experiment/generators.ts): k6's --execution-segment
   * `index/count:(index+1)/count` of the sequence `0,1/count,…,1`, so the instances together run exactly the
   * planned load (arrival rates, VUs and iterations divided as k6 defines).
   */
  segment?: { index: number; count: number };
  /** Run k6 inside this network namespace (a generator's own: `ip netns exec`). */
  netns?: string;
  /** setup()'s data, as a setup-only run wrote it: every instance of a split workload reads it instead of running setup() again. */
  setupData?: string;
  /** Run setup() alone and write its data here (mode 0600 at the caller's care: it holds the test accounts' tokens). */
  setupOnly?: string;
}

/** The raw sample outputs runScenario knows (RunScenarioOptions.samplesFormat). */
export type SamplesFormat = 'sch' | 'csv' | 'json';

/** SAMPLES_OUTPUT_ENV: which output writes raw samples when the caller does not say (the CLI's way to k6's own csv output). */
export const SAMPLES_OUTPUT_ENV = 'SCH_SAMPLES_OUTPUT';

/** The samples format SCH_SAMPLES_OUTPUT names (default sch); another value → ScenarioInputError. */
export function samplesFormatFromEnv(env: NodeJS.ProcessEnv = process.env): SamplesFormat {
  const v = env[SAMPLES_OUTPUT_ENV];
  if (v === undefined || v === '') return 'sch';
  if (v === 'sch' || v === 'csv' || v === 'json') return v;
  throw new ScenarioInputError(`${SAMPLES_OUTPUT_ENV}=${v}: not a samples output (sch, csv, json)`);
}

/** k6's `--out` for the harness's raw samples written to `path`. */
export function samplesOutput(format: SamplesFormat, path: string, metrics: readonly string[] | 'all' = DEFAULT_SAMPLE_METRICS): string {
  if (format !== 'sch') return `${format}=${path}`;
  for (const m of metrics === 'all' ? [] : metrics) {
    if (!SAMPLE_METRIC_PATTERN.test(m)) throw new ScenarioInputError(`sample metric "${m}" is not a k6 metric name (or a prefix ending in *)`);
  }
  if (/,/.test(path)) throw new ScenarioInputError(`samples path ${path}: the sch output cannot take a comma in it`);
  return `sch=file=${path}${metrics === 'all' || metrics.length === 0 ? '' : `,metrics=${[...new Set(metrics)].join('|')}`}`;
}

/** Whether the scenario's source reads (or documents) an SC_* variable: what a flag mapped onto one can change. */
function reads(src: string, variable: string): boolean {
  return new RegExp(`\\b${variable}\\b`).test(readFileSync(src, 'utf8'));
}

/**
 * k6's -d / --vus / --iterations for one run. A script of your own gets them as k6's own flags (k6's
 * meaning exactly). A scenario of scenarios/ has named scenarios with arrival-rate executors, which k6's
 * shortcut flags would replace: -d scales the profile's stages (or sets SC_DURATION where the scenario runs
 * at a constant rate), --vus caps SC_MAX_VUS, --iterations is refused. A flag the scenario cannot honour,
 * or one that contradicts an -e of the same variable, is a ScenarioInputError naming it.
 */
export function loadFlags(o: Pick<RunScenarioOptions, 'name' | 'profile' | 'duration' | 'vus' | 'iterations' | 'env' | 'soakDuration' | 'scenariosDir'>): { plan: ProfilePlan; env: Record<string, string>; k6Args: string[] } {
  const count = (flag: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ScenarioInputError(`${flag} ${v} is not a whole number of at least 1`);
  };
  count('--vus', o.vus);
  count('--iterations', o.iterations);
  const src = scenarioSource(o.name, o.scenariosDir);
  if (isScriptFile(o.name)) {
    const d = o.duration === undefined ? undefined : k6Duration('-d/--duration', o.duration).text;
    return {
      plan: planFor(o.profile, soakOf(o)),
      env: {},
      k6Args: [...(o.vus !== undefined ? ['--vus', String(o.vus)] : []), ...(o.iterations !== undefined ? ['--iterations', String(o.iterations)] : []), ...(d !== undefined ? ['--duration', d] : [])],
    };
  }
  if (o.iterations !== undefined) throw new ScenarioInputError(`--iterations applies to a k6 script of your own (sch scenario run ./my.js --iterations ${o.iterations}): scenario ${o.name} runs at an arrival rate; size it with --load, -d/--duration, --vus or -e SC_RATE=…`);
  const given = (k: string): boolean => {
    const v = o.env?.[k];
    return v !== undefined && v !== '';
  };
  const env: Record<string, string> = {};
  let plan = planFor(o.profile, soakOf(o));
  if (o.duration !== undefined) {
    if (given('SC_DURATION') || given('SC_STAGES')) throw new ScenarioInputError(`-d/--duration ${String(o.duration)} and -e ${given('SC_STAGES') ? 'SC_STAGES' : 'SC_DURATION'} both set the length: give one`);
    if (reads(src, 'SC_STAGES') && !given('SC_RATE')) plan = planFor(o.profile, { duration: o.duration, ...soakOf(o) });
    else if (reads(src, 'SC_DURATION')) env.SC_DURATION = k6Duration('-d/--duration', o.duration).text;
    else throw new ScenarioInputError(`-d/--duration: scenario ${o.name} has no length to set`);
  }
  if (o.vus !== undefined) {
    if (!reads(src, 'SC_MAX_VUS')) throw new ScenarioInputError(`--vus: scenario ${o.name} sizes its VUs itself (it does not read SC_MAX_VUS)`);
    if (given('SC_MAX_VUS')) throw new ScenarioInputError(`--vus ${o.vus} and -e SC_MAX_VUS=${o.env?.SC_MAX_VUS} disagree: give one`);
    env.SC_MAX_VUS = String(o.vus);
    if (!given('SC_PRE_VUS')) env.SC_PRE_VUS = String(Math.min(plan.preVUs, o.vus));
  }
  return { plan, env, k6Args: [] };
}

/**
 * How a run ended. `passed`: k6 ran to its end and every threshold held on real samples. `thresholds`:
 * k6 ran to its end and a threshold was crossed or its metric had no samples (and its budget is not
 * optional). `failed`: the run itself failed — k6 aborted (setup/teardown error, script error: 107…),
 * crashed, timed out, was interrupted, or wrote no summary — so its thresholds say nothing.
 */
export type ScenarioOutcome = 'passed' | 'thresholds' | 'failed';

/** `no data`: the metric got no sample (absent from the summary, or count 0). */
export type ThresholdStatus = 'ok' | 'crossed' | 'no data';

export interface ThresholdResult {
  /** `metric` or `metric{tag:value}`. */
  selector: string;
  expression: string;
  status: ThresholdStatus;
  /** Its budget allows no data (then `no data` does not count as crossed). */
  optional: boolean;
}

export interface ScenarioRunResult {
  outcome: ScenarioOutcome;
  /** Why the run failed (k6's error messages, redacted), when outcome is `failed`; else null. */
  failure: string | null;
  /** k6's own exit code (0, 99 thresholds crossed, 107 script error, …). */
  exitCode: number;
  /** outcome === 'passed'. */
  thresholdsPassed: boolean;
  /**
   * Each threshold that did not hold as `<metric selector>: <expression>`: crossed, or without data (and
   * not optional). Those without data are listed in `noData` too.
   */
  failedThresholds: string[];
  /** The thresholds in failedThresholds whose metric had no samples. */
  noData: string[];
  /** Every threshold with its status (empty when k6 wrote no summary). */
  thresholdResults: ThresholdResult[];
  timedOut: boolean;
  summaryPath: string;
  samplesPath: string;
  /** The k6 config file holding the thresholds. */
  optionsPath: string;
  thresholds: K6Thresholds;
  bundle: BundleResult;
  stdout: string;
  stderr: string;
}

/** k6's flags for instance `index` of `count`: its execution segment, and the whole sequence (every instance the same). */
export function segmentArgs(s: { index: number; count: number } | undefined): string[] {
  if (!s || s.count <= 1) return [];
  if (!Number.isInteger(s.index) || !Number.isInteger(s.count) || s.index < 0 || s.index >= s.count) throw new ScenarioInputError(`execution segment ${s.index} of ${s.count}: not an instance of the split`);
  const at = (i: number) => (i === 0 ? '0' : i === s.count ? '1' : `${i}/${s.count}`);
  return ['--execution-segment', `${at(s.index)}:${at(s.index + 1)}`, '--execution-segment-sequence', Array.from({ length: s.count + 1 }, (_, i) => at(i)).join(',')];
}

/** Where k6 writes a CSV samples file while it runs: the final name without `.gz` (runScenario compresses it after). */
export function liveSamplesPath(samplesPath: string): string {
  return samplesPath.replace(/\.gz$/, '');
}

/** Compress `from` into `to` (streaming), then remove `from`; a reader holding `from` open still reads it to the end. */
export async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip(), createWriteStream(`${to}.tmp`));
  renameSync(`${to}.tmp`, to);
  rmSync(from, { force: true });
}

/** k6 exit code when thresholds were crossed. */
export const K6_THRESHOLDS_FAILED = 99;

/** k6's exit codes (go.k6.io/k6/v2 errext/exitcodes), for failure messages. */
export const K6_EXIT_CODES: Readonly<Record<number, string>> = {
  97: 'cloud test run failed', 98: 'cloud progress unavailable', 99: 'thresholds crossed', 100: 'setup() timed out',
  101: 'teardown() timed out', 102: 'timed out', 103: 'stopped through the REST API', 104: 'invalid configuration',
  105: 'aborted by a signal', 106: 'cannot start the REST API', 107: 'script exception', 108: 'aborted by the script (test.abort)',
  109: 'Go panic', 110: 'marked as failed',
};

/**
 * k6's system tags on samples: its defaults without `url` and `name`. Both hold a request's full URL
 * (`name` when the script sets none), and URLs carry credentials: a socket's `?token=`, presigned
 * `X-Amz-Signature`s. A `name` the script sets is a plain tag and stays. Nothing in src/results or the
 * reports reads either.
 */
export const SYSTEM_TAGS = ['proto', 'subproto', 'status', 'method', 'group', 'check', 'error', 'error_code', 'tls_version', 'scenario', 'service', 'expected_response'] as const;

/** The summary's trend statistics: the scenarios' own, `count` (how no data is told apart) and any the budgets use. */
export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** Variables of `env` that name a place the scenario sends traffic to. */
const isTargetVariable = (k: string): boolean => /_URL$/.test(k);

/**
 * Run one scenario with k6: bundle it, give it the budgets' thresholds (k6 --config <outDir>/options.json),
 * write the raw samples (samplesFormat: k6's CSV format through the sch output by default, gzipped after the
 * run) and the summary into outDir. An unknown scenario or profile (or a
 * scenario without budgets), a target outside loopback and the lab without `allowRemote` (TargetRefused),
 * or an unreachable one throws before any load; k6 is killed after `timeoutMs`. `outcome` says how it ended.
 */
export async function runScenario(o: RunScenarioOptions): Promise<ScenarioRunResult> {
  const { plan, env: flagEnv, k6Args } = loadFlags(o);
  // A script of your own brings its own thresholds (its options); the budgets are the harness scenarios'.
  const script = isScriptFile(o.name);
  const specs = script ? [] : thresholdSpecs(loadBudgets(o.budgetsFile ?? BUDGETS_FILE), o.name);
  const thresholds: K6Thresholds = {};
  for (const t of specs) (thresholds[t.selector] ??= []).push(t.expression);
  checkUrl('baseUrl', o.baseUrl);
  if (o.env?.SC_VIDEO_URL !== undefined) checkUrl('SC_VIDEO_URL', o.env.SC_VIDEO_URL);
  // Before anything is sent (the /health probe included): every place the scenario would send to.
  const allowRemote = o.allowRemote ?? false;
  const labAddress = o.labAddress ?? null;
  checkTargetAddress(o.baseUrl, labAddress, allowRemote);
  for (const [k, v] of Object.entries(o.env ?? {})) if (isTargetVariable(k) && v !== '') checkTargetAddress(v, labAddress, allowRemote, k);
  const k6 = binaries().k6;
  if (!existsSync(k6)) throw new Error(`k6 not found at ${k6}: run scripts/setup --only go-tools`);
  if (o.probe !== false) {
    await probeTarget(o.baseUrl, o.probeTimeoutMs, o.k6Env?.SSL_CERT_FILE);
    if (o.env?.SC_VIDEO_URL) await probeTarget(o.env.SC_VIDEO_URL, o.probeTimeoutMs);
  }

  const bundle = await bundleScenario(o.name, o.scenariosDir ? { scenariosDir: o.scenariosDir } : {});
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const optionsPath = join(outDir, 'options.json');
  const summaryPath = join(outDir, 'summary.json');
  const format = o.samplesFormat ?? samplesFormatFromEnv();
  const csv = format !== 'json';
  const samplesPath = join(outDir, o.samplesFile ?? (csv ? 'samples.csv.gz' : 'samples.json.gz'));
  // k6 writes CSV plain (flushed every second, so the run can follow it live: gzipped, a slow workload's
  // output would sit in a half-filled deflate block until k6 exits); it is compressed once k6 is done.
  const writtenPath = csv ? liveSamplesPath(samplesPath) : samplesPath;
  const samplesOut = samplesOutput(format, writtenPath, o.sampleMetrics);
  // CSV names no metric kinds: the script's declared ones and k6's built-ins, beside the samples.
  if (o.samples !== false && csv) writeMetricKinds(join(outDir, METRIC_KINDS_FILE), bundle.inputs);
  writeFileSync(optionsPath, `${JSON.stringify(script ? {} : { thresholds }, null, 2)}\n`);
  // A summary left by an earlier run in the same directory must not pass for this one's.
  rmSync(summaryPath, { force: true });

  // The summary is written by the bundle's handleSummary (src/k6/bundle.ts), without setup() data.
  const env = {
    ...scenarioEnv(o.baseUrl, o.profile, plan, { ...flagEnv, ...o.env }), [SUMMARY_EXPORT_ENV]: summaryPath,
    ...(o.setupData ? { [SETUP_DATA_ENV]: o.setupData } : {}),
    ...(o.setupOnly ? { [SETUP_ONLY_ENV]: '1', [SETUP_DATA_OUT_ENV]: o.setupOnly } : {}),
  };
  // Beyond the plan: setup(), the end-of-test summary, the output's flush — more of them in a long run (2 % of it).
  const planned = await expectedSeconds(o, plan, bundle.path, optionsPath, envArgs(env));
  const timeoutMs = o.timeoutMs ?? Math.round(planned + 60 + 0.02 * planned) * 1000;
  const budgetStats = specs.map((t) => /^(p\([\d.]+\))/.exec(t.expression)?.[1]).filter((x): x is string => x !== undefined);
  const args = [
    'run', '--quiet', '--no-usage-report', '--no-color',
    '--config', optionsPath,
    '--system-tags', SYSTEM_TAGS.join(','),
    '--summary-trend-stats', [...new Set([...TREND_STATS, ...budgetStats])].join(','),
    ...(o.samples === false ? [] : ['--out', samplesOut]),
    ...(o.outputs ?? []).flatMap((x) => ['--out', x]),
    ...Object.entries(o.tags ?? {}).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
    ...k6Args,
    ...segmentArgs(o.segment),
    ...envArgs(env),
    bundle.path,
  ];
  const [cmd, cmdArgs] = diesWithParent(o.netns ? ['ip', ['netns', 'exec', o.netns, k6, ...args]] : [k6, args]);
  // k6's console output to disk as it comes (a soak's chat workload logs a line a message), redacted: k6 logs failed
  // requests with their URL (tokens, signatures). A run killed outright leaves the parts (history.ts workloadLog reads them).
  const spool = o.spoolOutput ? { stdout: join(outDir, K6_LOG_PARTS.stdout), stderr: join(outDir, K6_LOG_PARTS.stderr) } : undefined;
  const r = await runStreaming(cmd, cmdArgs, { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, ...(o.k6Env ?? {}), K6_NO_COLOR: '1', K6_CSV_TIME_FORMAT: 'unix_micro' }, ...(o.signal ? { signal: o.signal } : {}), ...(spool ? { spool } : {}) }, o.onOutput ?? (() => undefined));
  if (spool) await assembleK6Log(outDir);
  else writeFileSync(join(outDir, 'k6.log'), redact(`${r.stdout}${K6_LOG_STDERR_MARK}${r.stderr}`));
  if (writtenPath !== samplesPath && existsSync(writtenPath)) await gzipFile(writtenPath, samplesPath);

  let summary: K6Summary | null = null;
  let summaryProblem: string | null = null;
  if (!existsSync(summaryPath)) summaryProblem = `k6 wrote no summary (${summaryPath})`;
  else {
    try {
      summary = readSummary(summaryPath);
    } catch (e) {
      summaryProblem = (e as Error).message;
    }
  }
  const thresholdResults = summary ? judgeThresholds(summary, specs) : [];
  const counted = thresholdResults.filter((t) => t.status === 'crossed' || (t.status === 'no data' && !t.optional));
  const failedThresholds = counted.map((t) => `${t.selector}: ${t.expression}`).sort();
  const noData = counted.filter((t) => t.status === 'no data').map((t) => `${t.selector}: ${t.expression}`).sort();
  const failure = runFailure({ exitCode: r.code, signal: r.signal, timedOut: r.timedOut, timeoutMs, interrupted: o.signal?.aborted === true, stderr: r.stderr, summaryProblem });
  // Exit 99 with nothing counted: k6 crossed only optional thresholds without data (an empty rate reads 0), else trust k6.
  const onlyOptionalEmpty = thresholdResults.some((t) => t.optional && t.status === 'no data');
  const k6Crossed = r.code === K6_THRESHOLDS_FAILED && !onlyOptionalEmpty;
  const outcome: ScenarioOutcome = failure !== null ? 'failed' : failedThresholds.length > 0 || k6Crossed ? 'thresholds' : 'passed';
  return {
    outcome,
    failure,
    exitCode: r.code,
    thresholdsPassed: outcome === 'passed',
    failedThresholds,
    noData,
    thresholdResults,
    timedOut: r.timedOut,
    summaryPath,
    samplesPath,
    optionsPath,
    thresholds,
    bundle,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

/** k6's default for an iterations executor's maxDuration (10m) plus its default graceful stop (30s). */
const K6_DEFAULT_MAX_SECONDS = 630;

/**
 * How long a run may take before it counts as hung: the profile's plan (or SC_DURATION, -d) for a scenario
 * of scenarios/; for a script of your own, which sets its own schedule, k6's own answer for the script's
 * options (`k6 inspect --execution-requirements`, which takes no --vus / --iterations: with those and no
 * -d, k6's default bound for iterations).
 */
async function expectedSeconds(o: RunScenarioOptions, plan: ProfilePlan, bundlePath: string, optionsPath: string, envFlags: string[]): Promise<number> {
  const fromPlan = planSeconds(plan);
  const sc = o.env?.SC_DURATION ?? (o.duration !== undefined ? String(o.duration) : undefined);
  const flat = sc === undefined ? 0 : durationSeconds(sc) + 30;
  if (!isScriptFile(o.name)) return Math.max(fromPlan, flat);
  if (o.duration !== undefined) return flat;
  const r = await run(binaries().k6, ['inspect', '--execution-requirements', '--config', optionsPath, ...envFlags, bundlePath], { cwd: HARNESS_ROOT, timeoutMs: 60_000, env: { ...process.env, K6_NO_COLOR: '1' } });
  if (r.code !== 0) throw new ScenarioInputError(`k6 script ${scenarioSource(o.name)}: k6 inspect exited ${r.code}: ${redact(r.stderr.trim() || r.stdout.trim())}`);
  const raw = JSON.parse(r.stdout) as Record<string, unknown>;
  const own = durationSeconds(String(raw.totalDuration ?? '0s'));
  return o.vus !== undefined || o.iterations !== undefined ? Math.max(own, K6_DEFAULT_MAX_SECONDS) : own;
}

/**
 * Why a k6 run failed, or null when it ran to its end (exit 0, or 99 for crossed thresholds) and wrote its
 * summary. The text carries k6's own error messages (redacted).
 */
export function runFailure(o: { exitCode: number; signal?: NodeJS.Signals | null; timedOut: boolean; timeoutMs?: number; interrupted?: boolean; stderr: string; summaryProblem: string | null }): string | null {
  const errors = k6Errors(o.stderr);
  const why = errors.length ? `: ${errors.join(' | ')}` : '';
  let failure: string | null = null;
  if (o.timedOut) failure = `k6 did not finish within ${Math.round((o.timeoutMs ?? 0) / 1000)} s and was killed (its goroutines, SIGQUIT's dump, are at the end of its k6.log)${why}`;
  else if (o.interrupted) failure = `interrupted: k6 was stopped (exit ${o.exitCode}${o.signal ? `, ${o.signal}` : ''})${why}`;
  else if (o.signal) failure = `k6 was killed by ${o.signal}${why}`;
  else if (o.exitCode !== 0 && o.exitCode !== K6_THRESHOLDS_FAILED) {
    const meaning = K6_EXIT_CODES[o.exitCode];
    const tail = errors.length ? why : `; last lines: ${o.stderr.trim().split('\n').slice(-5).join(' | ')}`;
    failure = `k6 exited ${o.exitCode}${meaning ? ` (${meaning})` : ''}${tail}`;
  } else if (o.summaryProblem !== null) failure = `${o.summaryProblem}${why}`;
  // A k6 built before the harness's output existed (or by hand, without K6_EXTENSIONS).
  if (failure !== null && /invalid output type 'sch'/.test(o.stderr)) failure += ' — this k6 has no sch output (k6ext/output-sch): run scripts/setup --only go-tools, or write samples with k6\'s csv output (SCH_SAMPLES_OUTPUT=csv)';
  return failure === null ? null : redact(failure);
}

/** logfmt value `"…"` → text (k6 escapes quotes, backslashes, newlines and tabs). */
function unquote(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/**
 * k6's error messages from its log (stderr): each `level=error` line's msg (first line: a GoError's stack is
 * dropped) with its hint, and panics. Deduplicated, at most 5.
 */
export function k6Errors(stderr: string): string[] {
  const out: string[] = [];
  for (const line of stderr.split('\n')) {
    let text: string | null = null;
    if (/\blevel=(error|fatal|panic)\b/.test(line)) {
      const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line) ?? /\bmsg=(\S+)/.exec(line);
      const hint = /\bhint="((?:[^"\\]|\\.)*)"/.exec(line);
      const first = msg ? unquote(msg[1]!).split('\n')[0]!.trim() : line.trim();
      text = hint ? `${first} (${unquote(hint[1]!)})` : first;
    } else if (/^(panic:|fatal error:)/.test(line)) text = line.trim();
    if (text && !out.includes(text)) out.push(text);
  }
  return out.slice(0, 5);
}

/** Whether a summary metric got samples: absent, count 0, or a rate with no pass and no fail → no. */
export function hasSamples(m: Record<string, unknown> | undefined): boolean {
  if (m === undefined) return false;
  const n = (k: string): number => (typeof m[k] === 'number' ? (m[k] as number) : 0);
  // Rate: passes + fails. Trend (count is always in the summary, TREND_STATS) and Counter: count. A counter
  // that only ever got add(0) reads as no data too: the summary cannot tell it apart (mark its budget optional).
  if ('passes' in m || 'fails' in m) return n('passes') + n('fails') > 0;
  if ('count' in m) return n('count') > 0;
  // Gauge (value, min, max): only an all-zero one is indistinguishable from none.
  return Object.entries(m).some(([k, v]) => k !== 'thresholds' && typeof v === 'number' && v !== 0);
}

/**
 * Every threshold of the run with its status, from the summary: `crossed` as k6 judged it, `no data` when its
 * metric had no samples (k6 judges an empty metric as 0 and may call `p(95)<1000` ok). The budgets' thresholds
 * come first (with their `optional`), then any other threshold the summary holds.
 */
export function judgeThresholds(s: K6Summary, specs: readonly ThresholdSpec[]): ThresholdResult[] {
  const status = (selector: string, expression: string): ThresholdStatus => {
    const m = s.metrics[selector];
    if (!hasSamples(m)) return 'no data';
    return m?.thresholds?.[expression] === true ? 'crossed' : 'ok';
  };
  const out: ThresholdResult[] = specs.map((t) => ({ selector: t.selector, expression: t.expression, status: status(t.selector, t.expression), optional: t.optional }));
  for (const [selector, m] of Object.entries(s.metrics)) {
    for (const expression of Object.keys(m.thresholds ?? {})) {
      if (!out.some((t) => t.selector === selector && t.expression === expression)) out.push({ selector, expression, status: status(selector, expression), optional: false });
    }
  }
  return out;
}


/** k6's --summary-export (legacy format): each metric's values and, for thresholds, whether each failed. */
export interface K6Summary {
  root_group: K6Group;
  metrics: Record<string, Record<string, unknown> & { thresholds?: Record<string, boolean> }>;
}
export interface K6Group {
  name: string;
  path: string;
  groups: Record<string, K6Group> | K6Group[];
  checks: Record<string, { name: string; path: string; passes: number; fails: number }> | { name: string; path: string; passes: number; fails: number }[];
}

export function readSummary(path: string): K6Summary {
  const s = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof s !== 'object' || s === null || !('metrics' in s) || !('root_group' in s)) throw new Error(`${path} is not a k6 summary export`);
  return s as K6Summary;
}

/** Every crossed threshold as `<metric selector>: <expression>` (summary-export marks a failed one `true`). */
export function failedThresholdsOf(s: K6Summary): string[] {
  const out: string[] = [];
  for (const [metric, m] of Object.entries(s.metrics)) {
    for (const [expr, failed] of Object.entries(m.thresholds ?? {})) if (failed === true) out.push(`${metric}: ${expr}`);
  }
  return out.sort();
}

/** Every check of the run (all groups): name → passes / fails. */
export function checksOf(s: K6Summary): Record<string, { passes: number; fails: number }> {
  const out: Record<string, { passes: number; fails: number }> = {};
  const walk = (g: K6Group) => {
    for (const c of Object.values(g.checks ?? {})) {
      const prev = out[c.name] ?? { passes: 0, fails: 0 };
      out[c.name] = { passes: prev.passes + c.passes, fails: prev.fails + c.fails };
    }
    for (const sub of Object.values(g.groups ?? {})) walk(sub);
  };
  walk(s.root_group);
  return out;
}

/** One line of k6's JSON output. */
export type K6Sample =
  | { type: 'Metric'; metric: string; data: { name: string; type: string; contains: string } }
  | { type: 'Point'; metric: string; data: { time: string; value: number; tags?: Record<string, string> } };

/**
 * Read a whole raw samples file at once (gzipped when the name ends in .gz): k6's JSON lines, or its CSV
 * (`.csv[.gz]`) as the same Point objects (tags without empty system tags; time as k6's RFC 3339). For tests
 * and small files; the analysis streams them (src/results/k6-reader.ts).
 */
export function readSamples(path: string): K6Sample[] {
  const raw = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  if (isCsvSamplesPath(path)) {
    const out: K6Sample[] = [];
    const p = new K6CsvParser((s) => out.push({ type: 'Point', metric: s.metric, data: { time: new Date(s.time).toISOString(), value: s.value, tags: { ...s.tags } } }));
    p.pushText(text);
    p.finish();
    return out;
  }
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as K6Sample);
}
