import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { binaries, HARNESS_ROOT } from '../lab/paths.js';
import { run } from '../lab/exec.js';
import { bundleScenario, scenarioSource, ScenarioInputError, type BundleResult } from './bundle.js';
import { loadBudgets, thresholdsFor, BUDGETS_FILE, type K6Thresholds } from './budgets.js';
import { durationSeconds } from '../../scenarios/lib/duration.ts';

export { ScenarioInputError };

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
const DURATION_RE = /^(\d+(\.\d+)?(ms|h|m|s))+$/;

/**
 * The profile's plan; for `soak`, the plateau lasts `soakDuration` (a k6 duration, e.g. "2h", "45m").
 * A bad duration → ScenarioInputError.
 */
export function planFor(profile: Profile, o: { soakDuration?: string } = {}): ProfilePlan {
  if (!(PROFILES as readonly string[]).includes(profile)) throw new ScenarioInputError(`unknown profile "${String(profile)}" (known: ${PROFILES.join(', ')})`);
  const plan = PROFILE_PLANS[profile];
  if (o.soakDuration === undefined) return plan;
  if (!DURATION_RE.test(o.soakDuration) || durationSeconds(o.soakDuration) <= 0) throw new ScenarioInputError(`soak duration "${o.soakDuration}" is not a k6 duration (e.g. 45m, 2h, 1h30m)`);
  if (profile !== 'soak') return plan;
  const stages = plan.stages.map((st, i) => (i === 1 ? { ...st, duration: o.soakDuration! } : st));
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
 */
export async function probeTarget(url: string, timeoutMs = 3000): Promise<void> {
  const base = url.replace(/\/+$/, '');
  let status: number;
  try {
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    status = r.status;
    await r.body?.cancel().catch(() => undefined);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new ScenarioInputError(`target ${base} is not reachable: ${why}`);
  }
  if (status >= 500) throw new ScenarioInputError(`target ${base} is not reachable: ${base}/health answered HTTP ${status}`);
}

/** Like exec.run, but hands each output line to `onLine` as it comes. */
async function runStreaming(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv; signal?: AbortSignal }, onLine: (line: string, stream: 'stdout' | 'stderr') => void) {
  const { spawn } = await import('node:child_process');
  return new Promise<{ code: number; stdout: string; stderr: string }>((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGTERM' as const } : {}) });
    const out = { stdout: '', stderr: '' };
    const partial = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      const text = d.toString();
      out[stream] += text;
      const lines = (partial[stream] + text).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) onLine(l, stream);
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => { if (e.name === 'AbortError') return; clearTimeout(timer); rej(new Error(`cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : 1), stdout: out.stdout, stderr: signal === 'SIGKILL' && code === null ? `${out.stderr}\n(timed out after ${opts.timeoutMs} ms)` : out.stderr });
    });
  });
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
  /** Where scenarios live (default scenarios/). */
  scenariosDir?: string;
  /** Samples file name inside outDir (default samples.json.gz). */
  samplesFile?: string;
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
}

export interface ScenarioRunResult {
  exitCode: number;
  /** No threshold crossed (k6 exits 99 when one is). */
  thresholdsPassed: boolean;
  /** Each crossed threshold as `<metric selector>: <expression>`, from the summary. */
  failedThresholds: string[];
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

/** k6 exit code when thresholds were crossed. */
export const K6_THRESHOLDS_FAILED = 99;

/**
 * Run one scenario with k6: bundle it, give it the budgets' thresholds (k6 --config <outDir>/options.json),
 * write the samples (gzipped JSON lines) and the summary into outDir. An unknown scenario or profile (or a
 * scenario without budgets) throws before any load; k6 is killed after `timeoutMs`.
 */
export async function runScenario(o: RunScenarioOptions): Promise<ScenarioRunResult> {
  const plan = planFor(o.profile, { ...soakOf(o) });
  scenarioSource(o.name, o.scenariosDir);
  const thresholds = thresholdsFor(loadBudgets(o.budgetsFile ?? BUDGETS_FILE), o.name);
  checkUrl('baseUrl', o.baseUrl);
  if (o.env?.SC_VIDEO_URL !== undefined) checkUrl('SC_VIDEO_URL', o.env.SC_VIDEO_URL);
  const k6 = binaries().k6;
  if (!existsSync(k6)) throw new Error(`k6 not found at ${k6}: run scripts/setup --only go-tools`);
  if (o.probe !== false) {
    await probeTarget(o.baseUrl, o.probeTimeoutMs);
    if (o.env?.SC_VIDEO_URL) await probeTarget(o.env.SC_VIDEO_URL, o.probeTimeoutMs);
  }

  const bundle = await bundleScenario(o.name, o.scenariosDir ? { scenariosDir: o.scenariosDir } : {});
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const optionsPath = join(outDir, 'options.json');
  const summaryPath = join(outDir, 'summary.json');
  const samplesPath = join(outDir, o.samplesFile ?? 'samples.json.gz');
  writeFileSync(optionsPath, `${JSON.stringify({ thresholds }, null, 2)}\n`);

  const env = scenarioEnv(o.baseUrl, o.profile, plan, o.env);
  const timeoutMs = o.timeoutMs ?? (planSeconds(plan) + 60) * 1000;
  const args = [
    'run', '--quiet', '--no-usage-report', '--no-color',
    '--config', optionsPath,
    ...(o.samples === false ? [] : ['--out', `json=${samplesPath}`]),
    '--summary-export', summaryPath,
    ...Object.entries(o.tags ?? {}).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
    ...envArgs(env),
    bundle.path,
  ];
  const r = o.onOutput
    ? await runStreaming(k6, args, { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, K6_NO_COLOR: '1' }, ...(o.signal ? { signal: o.signal } : {}) }, o.onOutput)
    : await run(k6, args, { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, K6_NO_COLOR: '1' }, ...(o.signal ? { signal: o.signal, killSignal: 'SIGTERM' as const } : {}) });
  const timedOut = r.stderr.includes(`(timed out after ${timeoutMs} ms)`);
  const failedThresholds = existsSync(summaryPath) ? failedThresholdsOf(readSummary(summaryPath)) : [];
  writeFileSync(join(outDir, 'k6.log'), `${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return {
    exitCode: r.code,
    thresholdsPassed: !timedOut && r.code !== K6_THRESHOLDS_FAILED && existsSync(summaryPath) && failedThresholds.length === 0,
    failedThresholds,
    timedOut,
    summaryPath,
    samplesPath,
    optionsPath,
    thresholds,
    bundle,
    stdout: r.stdout,
    stderr: r.stderr,
  };
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

/** Read k6's JSON output (gzipped when the name ends in .gz). */
export function readSamples(path: string): K6Sample[] {
  const raw = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as K6Sample);
}
