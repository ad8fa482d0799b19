import { existsSync, readFileSync } from 'node:fs';
import { parseListen } from '../results/fault-events.js';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { REFERENCE_PROFILES, type ReferenceProfile } from '../util/profiles.js';
import { listExperiments, loadExperiment } from '../experiment/load.js';
import { loadClaims } from '../experiment/claims.js';
import { runExperiment, RUNS_DIR, ROTATE_SAMPLES_AFTER_S } from '../experiment/runner.js';
import { analyzeRun } from '../experiment/analyze.js';
import { readManifest } from '../experiment/history.js';
import type { RunManifest } from '../experiment/history.js';
import { listNamedFaults } from '../../chaos/index.js';
import type { RunResult } from '../results/model.js';
import { table, verdictTable } from './table.js';
import { progressPrinter } from '../results/progress.js';
import { parsePort } from './lab-commands.js';
import { FlagError, durationFlag, envFlag, outFlag, refusedOption } from './k6-flags.js';
import { interruptible } from './signals.js';
import { redact } from '../util/redact.js';
import { EXIT as EXIT_CODES } from '../util/exit-codes.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { checkTargetAddress } from '../util/target-address.js';
import { checkHttpUrl, parseParam, runDestinations, withExternalTarget, withParams, type ExternalTargetUrls } from '../experiment/external.js';
import type { DeploymentParams, Experiment } from '../experiment/spec.js';

/** Exit codes CI can use (src/util/exit-codes.ts): the same in the shell, result.json and the report. */
export const EXIT = { ok: EXIT_CODES.ok, notAsExpected: EXIT_CODES.notAsExpected, runFailed: EXIT_CODES.runFailed, usage: EXIT_CODES.badInput, interrupted: EXIT_CODES.interrupted } as const;

/** `--duration` of a run: the timeline's new length in seconds (k6's grammar: 1h30m, 90s, 90), 1 s to 24 h. */
function timelineDuration(v: string): number {
  const s = durationFlag(v) / 1000;
  if (s < 1 || s > 24 * 3600) throw new InvalidArgumentError('between 1 s and 24 h');
  return s;
}

/** --checkpoint-every: 1 s to 10 min. */
function checkpointEvery(v: string): number {
  const ms = durationFlag(v);
  if (ms < 1000 || ms > 600_000) throw new InvalidArgumentError('between 1 s and 10 min');
  return ms;
}

export { FlagError } from './k6-flags.js';

/** An argument parser for a URL flag: commander names the flag in its error. */
export const urlFlag = (flag: string) => (v: string): string => {
  try {
    return checkHttpUrl(flag, v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** `--param name=value` (repeatable) → the deployment params given, each validated by the experiment schema. */
export function parseParamFlag(v: string, prev: Partial<DeploymentParams> = {}): Partial<DeploymentParams> {
  try {
    const [k, value] = parseParam(v);
    return { ...prev, [k]: value };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/**
 * The external target the flags ask for: --target-url replaces the experiment's target; --toxiproxy-url and
 * --video-url alone amend an experiment whose target is already external. Null: the experiment's own target.
 */
export function externalTargetFromFlags(e: Experiment, f: { targetUrl?: string; toxiproxyUrl?: string; videoUrl?: string }): ExternalTargetUrls | null {
  if (f.targetUrl === undefined) {
    if (f.toxiproxyUrl === undefined && f.videoUrl === undefined) return null;
    if (e.target.kind !== 'external') throw new FlagError(`${f.toxiproxyUrl !== undefined ? '--toxiproxy-url' : '--video-url'} applies to an external target: give its gateway with --target-url`);
    const toxiproxyUrl = f.toxiproxyUrl ?? e.target.toxiproxyUrl;
    const videoUrl = f.videoUrl ?? e.target.videoUrl;
    return { baseUrl: e.target.baseUrl, ...(toxiproxyUrl ? { toxiproxyUrl } : {}), ...(videoUrl ? { videoUrl } : {}) };
  }
  return { baseUrl: f.targetUrl, ...(f.toxiproxyUrl ? { toxiproxyUrl: f.toxiproxyUrl } : {}), ...(f.videoUrl ? { videoUrl: f.videoUrl } : {}) };
}

/**
 * Every address the run would send load or faults to, outside loopback and the lab's network, is refused
 * unless --allow-remote: checked here, before the run directory, the lab or the first packet. Each refusal
 * names the flag (or the experiment field) that gave the address.
 */
export function checkRunAddresses(e: Experiment, ext: ExternalTargetUrls | null, allowRemote: boolean): void {
  const target = ext ? withExternalTarget(e, ext) : e;
  const named = ext ? { target: '--target-url', toxiproxy: '--toxiproxy-url', video: '--video-url' } : {};
  for (const d of runDestinations(target, named)) checkTargetAddress(d.url, null, allowRemote, d.what);
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw new InvalidArgumentError('a non-negative integer');
  return n;
}

function summary(r: RunResult, dir: string): string {
  const lines = [
    '',
    verdictTable(r),
    '',
    r.error ? `run error: ${r.error}` : r.exitCode === 0 ? 'every claim got its expected verdict' : `${r.claims.filter((c) => !c.asExpected).length} claim(s) not as expected`,
    `report: ${join(dir, 'report.html')}`,
    `junit:  ${join(dir, 'junit.xml')}   json: ${join(dir, 'result.json')}`,
  ];
  return redact(lines.join('\n'));
}

interface RunFlags {
  targetProfile?: ReferenceProfile;
  /** The old name of --target-profile (npm start -- --profile hardened keeps working). */
  profile?: ReferenceProfile;
  expectProfile?: ReferenceProfile;
  duration?: number;
  checkpointEvery?: number;
  rotateSamples?: 'auto' | 'on' | 'off';
  seed?: number;
  generators?: number;
  metricsListen?: { host: string; port: number };
  lab: string;
  basePort?: number;
  keepLab?: boolean;
  targetEnv?: Record<string, string>;
  /** -e/--env: k6 environment of every workload. */
  env?: Record<string, string>;
  /** -o/--out: k6 outputs of every workload. */
  out?: string[];
  targetUrl?: string;
  toxiproxyUrl?: string;
  videoUrl?: string;
  param?: Partial<DeploymentParams>;
  allowRemote?: boolean;
  screenshot: boolean;
  outDir?: string;
  json?: boolean;
}

/** --target-profile, or its old name --profile; both given and different is bad input. */
function targetProfileOf(f: RunFlags): ReferenceProfile | undefined {
  if (f.targetProfile && f.profile && f.targetProfile !== f.profile) throw new FlagError(`--target-profile ${f.targetProfile} and --profile ${f.profile} disagree: --profile is the old name of --target-profile, give one`);
  return f.targetProfile ?? f.profile;
}

/** -e for every workload, over what a replayed run gave each (its manifest's workloadEnv). */
function workloadEnvOf(e: Experiment, f: RunFlags, replayOf?: RunManifest): Record<string, Record<string, string>> | undefined {
  const recorded = replayOf?.options.workloadEnv;
  if (!f.env && !recorded) return undefined;
  return Object.fromEntries(e.workloads.map((w) => [w.id, { ...(recorded?.[w.id] ?? {}), ...(f.env ?? {}) }]));
}

async function doRun(nameOrFile: string, f: RunFlags, replayOf?: RunManifest): Promise<never> {
  const profile = targetProfileOf(f);
  const loaded = replayOf ? replayOf.experiment : await loadExperiment(nameOrFile);
  const experiment = f.param ? withParams(loaded, f.param) : loaded;
  const externalTarget = externalTargetFromFlags(experiment, f);
  // A replay asks again: the recorded run's --allow-remote does not carry over to this machine and time.
  const allowRemote = f.allowRemote ?? false;
  checkRunAddresses(experiment, externalTarget, allowRemote);
  const workloadEnv = workloadEnvOf(experiment, f, replayOf);
  const { value: r } = await interruptible('stopping the load and rolling back every fault…', (signal) => runExperiment({
    experiment,
    ...(externalTarget ? { externalTarget } : {}),
    ...(profile ? { profile } : {}),
    ...(f.expectProfile ? { expectProfile: f.expectProfile } : replayOf?.options.expectProfile ? { expectProfile: replayOf.options.expectProfile as ReferenceProfile } : {}),
    ...(f.duration ? { durationS: f.duration } : {}),
    ...(f.checkpointEvery ? { checkpointEveryMs: f.checkpointEvery } : {}),
    ...(f.rotateSamples === 'on' ? { rotateSamples: true } : f.rotateSamples === 'off' ? { rotateSamples: false } : {}),
    ...(f.seed !== undefined ? { seed: f.seed } : replayOf ? { seed: replayOf.seed } : {}),
    ...(f.generators !== undefined ? { generators: f.generators } : {}),
    ...(f.metricsListen ? { metricsListen: f.metricsListen } : {}),
    labName: f.lab,
    ...(f.basePort ? { basePort: f.basePort } : {}),
    ...(f.keepLab ? { keepLab: true } : {}),
    ...(f.targetEnv ? { targetEnv: f.targetEnv } : replayOf?.options.targetEnv ? { targetEnv: replayOf.options.targetEnv } : {}),
    ...(workloadEnv ? { workloadEnv } : {}),
    ...(f.out?.length ? { outputs: f.out } : {}),
    allowRemote,
    screenshot: f.screenshot,
    ...(f.outDir ? { runsDir: resolve(f.outDir) } : {}),
    onProgress: progressPrinter(),
    signal,
  }));
  const dir = join(f.outDir ? resolve(f.outDir) : RUNS_DIR, r.runId);
  if (f.json) process.stdout.write(`${JSON.stringify({ runId: r.runId, dir, exitCode: r.exitCode, claims: r.claims.map((c) => ({ id: c.id, verdict: c.verdict, expected: c.expected, asExpected: c.asExpected })) })}\n`);
  else process.stdout.write(`${summary(r, dir)}\n`);
  // The result's own code (analyze.ts: 130 over 2 over 1): what result.json and the report say, the shell gets.
  process.exit(r.exitCode);
}

function listenFlag(v: string): { host: string; port: number } {
  try {
    return parseListen(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--metrics-listen \S+: /, ''));
  }
}

function parseGenerators(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new InvalidArgumentError('a whole number from 1 to 8');
  return n;
}

function runFlags(c: Command): Command {
  return c
    .option('--target-url <url>', 'run against this deployment (its gateway) instead of the experiment\'s target; what only the reference target understands is listed as not applied', urlFlag('--target-url'))
    .option('--toxiproxy-url <url>', 'external target: its own Toxiproxy API (proxies named after the dependencies); default: the lab\'s, which must front the deployment\'s dependencies', urlFlag('--toxiproxy-url'))
    .option('--video-url <url>', 'external target: its video service (the signaling socket; SC_VIDEO_URL of every workload)', urlFlag('--video-url'))
    .option('--param <name=value>', 'a deployment limit the probes are sized by (repeatable): rateLimitPerMinute (default 100), wsMaxConnections (1000); applied to the reference target, assumed of an external one', parseParamFlag)
    .addOption(new Option('--target-profile <profile>', 'the reference target\'s profile (embedded targets): audited, as-built or hardened').choices(REFERENCE_PROFILES))
    .addOption(new Option('--profile <profile>', 'old name of --target-profile').choices(REFERENCE_PROFILES))
    .addOption(new Option('--expect-profile <profile>', 'judge an external target by the catalogue\'s expectations for this profile (e.g. as-built: "does my deployment still behave as the audited code does?"); exit 1 where it does not').choices(REFERENCE_PROFILES))
    .option('-d, --duration <time>', 'stretch the timeline to this length (k6 durations: 30m, 1h30m, 90s; a plain number is seconds); faults keep their length', timelineDuration)
    .option('--checkpoint-every <time>', 'write the run\'s checkpoint this often (default 30s): a run killed outright is judged up to its last one by sch analyze', checkpointEvery)
    .addOption(new Option('--rotate-samples <when>', `bounded disk for long runs: at each checkpoint, raw samples become the windowed history (windows.jsonl.gz: per series and second, HDR histograms and counters; seconds holding a phase boundary kept raw) and are released from samples.csv; sch analyze rebuilds every verdict from it. auto: for runs longer than ${ROTATE_SAMPLES_AFTER_S / 60} min`).choices(['auto', 'on', 'off']).default('auto'))
    .option('-e, --env <KEY=value>', 'k6 environment of every workload, as k6 -e (repeatable; over the experiment\'s own), e.g. -e SC_PROBE_RATE=4', envFlag)
    .option('-o, --out <output>', 'k6 output for every workload, as k6 --out (repeatable): json=results.json, csv=samples.csv, experimental-prometheus-rw, …; a file gets each workload\'s id when there are several (results.probes.json)', outFlag)
    .option('--out-dir <dir>', `where run folders go (default ${RUNS_DIR})`)
    .option('--seed <n>', 'seed for run ids and anything random (recorded in the manifest)', parseSeed)
    .option('--metrics-listen <host:port>', 'serve the fault timeline as Prometheus metrics at http://HOST:PORT/metrics while the run lasts (sch_fault_active{fault,…} and more: a live view beside k6\'s -o outputs); events.jsonl in the run directory either way', listenFlag)
    .option('--generators <n>', 'split every workload over N load generators (k6 execution segments; each in a network namespace of its own on the lab\'s network; setup() once for all): 1 to 8', parseGenerators)
    .option('--lab <name>', 'lab to use: attached if up, else started and stopped after the run', DEFAULT_LAB)
    .option('--base-port <port>', 'lab base port when the run starts it', parsePort)
    .option('--keep-lab', 'leave a lab this run started running')
    .option('--target-env <KEY=value>', 'the reference target\'s own environment (repeatable), e.g. RATE_LIMIT_PER_MINUTE=1000; -e is the workloads\'', envFlag)
    .option('--allow-remote', 'allow a target, Toxiproxy or video service outside loopback and the lab network (refused without it, before anything is sent)')
    .option('--no-screenshot', 'skip rendering the report to report.png in headless Chromium')
    .option('--json', 'print a JSON summary instead of the verdict table')
    .addOption(refusedOption('-u, --vus <n>', 'an experiment sizes each workload itself (its file: load profile, -e SC_* rates); to run one scenario with N VUs: sch scenario run <scenario> --vus N'))
    .addOption(refusedOption('-i, --iterations <n>', 'an experiment runs for its duration (-d/--duration stretches it); a fixed number of iterations: sch scenario run ./your-script.js --iterations N'))
    .addOption(refusedOption('--load <profile>', 'an experiment gives each workload its load profile in its file; --load is sch scenario run\'s'));
}

export function runCommand(): Command {
  return runFlags(new Command('run')
    .description('run an experiment (name from fixtures/experiments/ or a file) and write its reports')
    .argument('<experiment>', 'experiment name (see `sch list`) or a .ts/.json/.yaml file')
    .addHelpText('after', `
Exit codes (the same in result.json and the report): 0 every claim got its expected verdict, 1 some did
not, 2 bad input or the run failed, 130 interrupted (every fault is rolled back first); 130 wins over 2,
2 over 1. A run killed outright (SIGKILL, OOM) leaves checkpoint.json, rewritten every --checkpoint-every:
\`sch analyze <run-dir>\` judges it up to there (exit 130, phases it cut short INCONCLUSIVE); the next
\`sch run\` on the lab rolls back the faults it left and stops its target (its k6 die with it).

Examples:
  sch run soak-chaos                        # the default suite on the embedded lab + reference target
  sch run redis-outage --target-profile hardened
  sch run soak-chaos -d 1h30m --seed 42 -o json=results.json -e SC_PROBE_RATE=4
  sch run cassandra-slow --target-url http://198.18.0.2:21590 --video-url http://198.18.0.2:21593 --param rateLimitPerMinute=300`))
    .action(async (name: string, f: RunFlags) => doRun(name, f));
}

export function replayCommand(): Command {
  return runFlags(new Command('replay')
    .description('run again what a previous run ran (its manifest: experiment, seed, profile, target environment)')
    .argument('<run>', 'a run folder (or its manifest.json)'))
    .action(async (path: string, f: RunFlags) => {
      const dir = path.endsWith('.json') ? resolve(path, '..') : resolve(path);
      const m = readManifest(dir);
      const prof = REFERENCE_PROFILES.find((p) => p === m.options.profile);
      await doRun(m.experiment.name, { ...f, ...(targetProfileOf(f) || !prof ? {} : { targetProfile: prof }) }, m);
    });
}

export function analyzeCommand(): Command {
  return new Command('analyze')
    .description('re-derive a run\'s phases, calibration, verdicts and reports from its run directory alone (its history), and print its verdicts')
    .argument('<run>', 'a run folder')
    .option('--screenshot', 'also render report.png in headless Chromium')
    .option('--json', 'print a JSON summary instead of the verdict table')
    .addHelpText('after', `
The run folder holds the whole history (manifest.json, run.json, observations*.jsonl*, workloads/*/); this
rewrites result.json, junit.xml and report.html from it with the current checker. Exit codes as for run.
A run killed outright (no run.json) is judged up to its last checkpoint.json: exit 130, result.json's
\`interrupted\` says when, and the phases it cut short are INCONCLUSIVE.`)
    .action(async (path: string, o: { screenshot?: boolean; json?: boolean }) => {
      const dir = resolve(path);
      const { writeReports } = await import('../../reports/index.js');
      const r = await analyzeRun(dir);
      r.files = [...r.files, ...(await writeReports(r, dir, { screenshot: o.screenshot === true }))];
      if (o.json) process.stdout.write(`${JSON.stringify({ runId: r.runId, dir, exitCode: r.exitCode, claims: r.claims.map((c) => ({ id: c.id, verdict: c.verdict, expected: c.expected, asExpected: c.asExpected })) })}\n`);
      else process.stdout.write(`${summary(r, dir)}\n`);
      process.exit(r.exitCode);
    });
}

export function listCommand(): Command {
  return new Command('list')
    .description('list experiments, claims and named faults')
    .addOption(new Option('--what <kind>', 'only one list').choices(['experiments', 'claims', 'faults']))
    .action(async (o: { what?: string }) => {
      const out: string[] = [];
      if (!o.what || o.what === 'experiments') {
        const rows: string[][] = [];
        for (const n of listExperiments()) {
          const e = await loadExperiment(n);
          rows.push([n, `${e.durationS}s`, e.faults.map((f) => f.id).join(',') || '-', [...new Set(e.hypotheses.flatMap((h) => h.claims))].join(',')]);
        }
        out.push(table(['EXPERIMENT', 'LENGTH', 'FAULTS', 'CLAIMS'], rows), '');
      }
      if (!o.what || o.what === 'claims') {
        out.push(table(['CLAIM', 'KIND', 'AUDIT SAYS', 'AUDITED', 'AS-BUILT', 'HARDENED', 'REQUIRES', 'EXPERIMENTS', 'TITLE'], loadClaims().map((c) => [c.id, c.kind, c.audit.verdict, c.expected.audited, c.expected['as-built'], c.expected.hardened, c.requires.join(',') || '-', c.experiments.join(','), c.title])), '');
      }
      if (!o.what || o.what === 'faults') {
        out.push(table(['FAULT', 'MECHANISM', 'TARGET', 'DESCRIPTION'], listNamedFaults().map((f) => [f.name, f.mechanism, f.target, f.description])), '');
      }
      process.stdout.write(`${out.join('\n')}`);
    });
}

export function reportCommand(): Command {
  return new Command('report')
    .description('re-render a run\'s reports (HTML, JUnit, JSON) from its result.json, and print its verdicts')
    .argument('<run>', 'a run folder (or its result.json)')
    .option('--screenshot', 'also render report.png in headless Chromium')
    .action(async (path: string, o: { screenshot?: boolean }) => {
      const { readResultJson, writeReports, screenshotReport } = await import('../../reports/index.js');
      const file = path.endsWith('.json') ? resolve(path) : join(resolve(path), 'result.json');
      const dir = resolve(file, '..');
      const r = await readResultJson(file);
      await writeReports(r, dir);
      if (o.screenshot) await screenshotReport(join(dir, 'report.html'), join(dir, 'report.png'));
      process.stdout.write(`${summary(r, dir)}\n`);
      process.exit(r.exitCode);
    });
}
