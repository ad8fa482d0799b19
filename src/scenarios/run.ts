import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { binaries, HARNESS_ROOT } from '../lab/paths.js';
import { run } from '../lab/exec.js';
import { bundleScenario, scenarioSource, type BundleResult } from './bundle.js';
import { loadBudgets, thresholdsFor, BUDGETS_FILE, type K6Thresholds } from './budgets.js';
import { durationSeconds } from '../../scenarios/lib/duration.ts';

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
  if (!(PROFILES as readonly string[]).includes(o.profile)) throw new Error(`unknown profile "${String(o.profile)}" (known: ${PROFILES.join(', ')})`);
  scenarioSource(o.name);
  const thresholds = thresholdsFor(loadBudgets(o.budgetsFile ?? BUDGETS_FILE), o.name);
  if (!/^https?:\/\/[^\s]+$/.test(o.baseUrl)) throw new Error(`baseUrl "${o.baseUrl}" is not an http(s) URL`);
  const k6 = binaries().k6;
  if (!existsSync(k6)) throw new Error(`k6 not found at ${k6}: run scripts/setup --only go-tools`);

  const bundle = await bundleScenario(o.name);
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const optionsPath = join(outDir, 'options.json');
  const summaryPath = join(outDir, 'summary.json');
  const samplesPath = join(outDir, 'samples.json.gz');
  writeFileSync(optionsPath, `${JSON.stringify({ thresholds }, null, 2)}\n`);

  const plan = PROFILE_PLANS[o.profile];
  const env: Record<string, string> = {
    SC_BASE_URL: o.baseUrl.replace(/\/+$/, ''),
    SC_PROFILE: o.profile,
    SC_RUN_ID: randomBytes(4).toString('hex'),
    SC_STAGES: JSON.stringify(plan.stages),
    SC_START_RATE: String(plan.startRate),
    SC_PRE_VUS: String(plan.preVUs),
    SC_MAX_VUS: String(plan.maxVUs),
    SC_GRACEFUL_STOP: plan.gracefulStop,
    ...o.env,
  };
  const timeoutMs = o.timeoutMs ?? (planSeconds(plan) + 60) * 1000;
  const args = [
    'run', '--quiet', '--no-usage-report', '--no-color',
    '--config', optionsPath,
    '--out', `json=${samplesPath}`,
    '--summary-export', summaryPath,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    bundle.path,
  ];
  const r = await run(k6, args, { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, K6_NO_COLOR: '1' } });
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

function planSeconds(p: ProfilePlan): number {
  return p.stages.reduce((t, s) => t + durationSeconds(s.duration), 0) + durationSeconds(p.gracefulStop);
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
