import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { HARNESS_ROOT } from '../lab/paths.js';
import { Lab } from '../lab/lab.js';
import { listScenarios, scenarioLabel, scenarioSource } from '../k6/bundle.js';
import { loadBudgets } from '../k6/budgets.js';
import { PROFILES, ScenarioInputError, loadFlags, planSeconds, runScenario, type Profile, type ThresholdResult } from '../k6/run.js';
import { durationSeconds } from '../util/duration.js';
import { EXIT as EXIT_CODES } from '../util/exit-codes.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { redact } from '../util/redact.js';
import { checkTargetAddress } from '../util/target-address.js';
import { checkHttpUrl } from '../experiment/external.js';
import { table } from './table.js';
import { countFlag, durationFlag, envFlag, outFlag, refusedOption } from './k6-flags.js';
import { interruptible } from './signals.js';

/**
 * Exit codes of `sch scenario run`: 0 every budget held on real samples; 99 a threshold was crossed or its
 * metric got no samples; 2 bad input (nothing sent) or the run failed (k6 aborted, crashed, timed out);
 * 130 interrupted.
 */
export const EXIT = { passed: EXIT_CODES.ok, badInput: EXIT_CODES.badInput, runFailed: EXIT_CODES.runFailed, thresholds: EXIT_CODES.thresholds, interrupted: EXIT_CODES.interrupted } as const;

interface ScenarioRunFlags {
  targetUrl?: string;
  baseUrl?: string;
  videoUrl?: string;
  lab: string;
  load: Profile;
  /** -d as typed (checked as a k6 duration): a script of your own gets k6's --duration with it. */
  duration?: string;
  vus?: number;
  iterations?: number;
  env?: Record<string, string>;
  out?: string[];
  outDir?: string;
  soakDuration?: string;
  /** --timeout in milliseconds. */
  timeout?: number;
  probe: boolean;
  quiet?: boolean;
  samples: boolean;
  allowRemote?: boolean;
}

/**
 * No --target-url: the reference target running in the lab (`sch target up`, its default instance), and its
 * video service unless --video-url says otherwise. No lab or no target there: bad input, saying how to start one.
 */
async function labTarget(name: string, videoUrl: string | undefined): Promise<{ targetUrl: string; videoUrl?: string }> {
  const start = `sch lab up${name === DEFAULT_LAB ? '' : ` --name ${name}`} && sch target up${name === DEFAULT_LAB ? '' : ` --name ${name}`}`;
  const lab = await Lab.attach(name);
  if (!lab) throw new ScenarioInputError(`no --target-url given and no lab "${name}" is up: start one with its reference target (${start}) or give --target-url`);
  const t = (lab.state.targets ?? []).find((x) => x.instance === 'default');
  if (!t) throw new ScenarioInputError(`no --target-url given and lab "${name}" runs no reference target: start one (sch target up${name === DEFAULT_LAB ? '' : ` --name ${name}`}) or give --target-url`);
  const video = videoUrl ?? t.serviceUrls.video;
  return { targetUrl: t.baseUrl, ...(video ? { videoUrl: video } : {}) };
}

/** The RESULT column of the threshold table. */
export function thresholdCell(t: ThresholdResult): string {
  if (t.status === 'crossed') return 'CROSSED';
  if (t.status === 'no data') return t.optional ? 'no data (optional)' : 'NO DATA';
  return 'ok';
}

/** The first sentence of a scenario's header comment (its one-line description). */
export function scenarioDescription(name: string): string {
  const src = readFileSync(scenarioSource(name), 'utf8');
  const m = /\/\*\*([\s\S]*?)\*\//.exec(src);
  if (!m) return '';
  const text = m[1]!.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').trim();
  return (/^(.*?\.)(\s|$)/.exec(text)?.[1] ?? text).replace(/\s*\(k6, bundled by [^)]*\)/, '').replace(/\.$/, '');
}

/** `K=V` → [K, V]; the key must look like an environment variable. */
export function parseEnvPair(pair: string): [string, string] {
  const i = pair.indexOf('=');
  const k = i > 0 ? pair.slice(0, i) : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ScenarioInputError(`--env "${pair}" is not K=V (K a variable name)`);
  return [k, pair.slice(i + 1)];
}

/** The target flags of `scenario run`, resolved: which flag gave the gateway (for messages), and the k6 environment with SC_VIDEO_URL. */
export interface ScenarioTarget {
  baseUrl: string;
  flag: '--target-url' | '--base-url';
  env: Record<string, string>;
}

/**
 * --target-url (alias --base-url: the same flag's older name) and --video-url (SC_VIDEO_URL) checked as
 * URLs, then against loopback / the lab's network unless allowRemote — before anything is sent. Each
 * error names its flag; ScenarioInputError and TargetRefused both exit 2.
 */
export function resolveScenarioTarget(o: { targetUrl?: string; baseUrl?: string; videoUrl?: string; allowRemote?: boolean }, env: Record<string, string>): ScenarioTarget {
  if (o.targetUrl !== undefined && o.baseUrl !== undefined && o.targetUrl !== o.baseUrl) throw new ScenarioInputError(`--target-url ${o.targetUrl} and --base-url ${o.baseUrl} disagree: --base-url is the old name of --target-url, give one`);
  const flag = o.targetUrl !== undefined ? '--target-url' : '--base-url';
  const baseUrl = o.targetUrl ?? o.baseUrl;
  if (baseUrl === undefined) throw new ScenarioInputError('required option \'--base-url <url>\' or \'--target-url <url>\' not specified');
  const out = { ...env };
  if (o.videoUrl !== undefined) {
    if (env.SC_VIDEO_URL !== undefined && env.SC_VIDEO_URL !== o.videoUrl) throw new ScenarioInputError(`--video-url ${o.videoUrl} and --env SC_VIDEO_URL=${env.SC_VIDEO_URL} disagree: give one`);
    out.SC_VIDEO_URL = o.videoUrl;
  }
  const urls: [string, string][] = [[flag, baseUrl], ...(out.SC_VIDEO_URL !== undefined ? [[o.videoUrl !== undefined ? '--video-url' : 'SC_VIDEO_URL', out.SC_VIDEO_URL] as [string, string]] : [])];
  for (const [what, url] of urls) {
    try {
      checkHttpUrl(what, url);
    } catch (e) {
      throw new ScenarioInputError((e as Error).message);
    }
    checkTargetAddress(url, null, o.allowRemote === true, what);
  }
  // Any other *_URL of --env: runScenario refuses those by their variable name.
  return { baseUrl, flag, env: out };
}

function fail(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`error: ${redact(msg)}\n`);
  // Bad input (ScenarioInputError, BudgetError, TargetRefused: nothing was sent) and a run that could not go on both exit 2.
  process.exit(EXIT.runFailed);
}

export function scenarioCommand(): Command {
  const sc = new Command('scenario').description('k6 workloads (scenarios/*.ts) with the budgets of fixtures/budgets.yaml as thresholds');

  sc.command('list')
    .description('every scenario, whether it has budgets, and what it does')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      let budgets: Record<string, unknown> = {};
      try { budgets = loadBudgets().scenarios; } catch (e) { fail(e); }
      const rows = listScenarios().map((name) => ({ name, budgets: name in budgets, description: scenarioDescription(name) }));
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(`${table(['SCENARIO', 'BUDGETS', 'DESCRIPTION'], rows.map((r) => [r.name, r.budgets ? 'yes' : 'MISSING', r.description]))}\n`);
      process.stderr.write(`load profiles (--load): ${PROFILES.join(', ')}; or run a k6 script of your own: sch scenario run ./my.js\n`);
    });

  sc.command('run')
    .description('run one scenario (or a k6 script of your own) with k6 against a target; exit 0 when every budget holds on real samples, 99 when a threshold was crossed or its metric got no samples ("no data"), 2 on bad input (nothing sent) or when the run failed (k6 aborted: setup error, script error, crash, timeout), 130 interrupted')
    .argument('<scenario>', 'a scenario (see: sch scenario list) or a k6 script file of your own (./my.js, ./load.ts)')
    .option('--target-url <url>', 'the target\'s gateway, e.g. http://198.18.0.2:21500 (its /health is probed first); default: the reference target running in --lab')
    .option('--base-url <url>', 'the old name of --target-url')
    .option('--video-url <url>', 'the target\'s video service (the signaling socket; sets SC_VIDEO_URL)')
    .option('--lab <name>', 'without --target-url: the lab whose reference target (sch target up) to load', DEFAULT_LAB)
    .addOption(new Option('--load <profile>', 'load profile: the schedule the scenario follows').choices(PROFILES).default('smoke'))
    .option('-d, --duration <time>', 'length of the load, as k6 -d (1h30m, 20s, 500ms; a plain number is seconds): the profile\'s stages scaled to it, or SC_DURATION for a constant-rate scenario; k6\'s own --duration for a script of your own', (v: string) => { durationFlag(v); return v; })
    .option('-u, --vus <n>', 'at most this many VUs, as k6 --vus (SC_MAX_VUS of a scenario; k6\'s own --vus for a script of your own)', countFlag)
    .option('-i, --iterations <n>', 'k6 --iterations: a script of your own only (the scenarios run at an arrival rate)', countFlag)
    .option('-e, --env <KEY=value>', 'k6 environment of the scenario, as k6 -e (repeatable), e.g. -e SC_GROUP_SIZE=50', envFlag)
    .option('-o, --out <output>', 'k6 output, as k6 --out (repeatable): json=results.json, csv=samples.csv, experimental-prometheus-rw, …', outFlag)
    .option('--out-dir <dir>', 'where the run\'s files go (default reports/runs/<scenario>-<load>-<time>)')
    .option('--soak-duration <duration>', 'soak plateau length (45m, 2h); soak load only')
    .option('--timeout <duration>', 'kill k6 after this long (1h, 90s; a plain number is seconds; default: the load\'s length + 60 s)', durationFlag)
    .option('--no-probe', 'do not probe the target\'s /health first')
    .option('--allow-remote', 'send load to a target outside loopback and the lab\'s network (198.18.0.0/15); refused without it, before anything is sent')
    .option('--quiet', 'no progress lines')
    .option('--no-samples', 'do not write k6\'s raw samples (a pure load run: k6\'s JSON sample stream is its most expensive part)')
    .addOption(refusedOption('--profile <profile>', `ambiguous here: the load profile is --load ${PROFILES.join('|')}; the reference target's profile is --target-profile (sch run, sch target up)`))
    .addOption(refusedOption('--target-profile <profile>', 'the reference target is started by sch target up --target-profile <profile> (then sch scenario run loads it); the load profile is --load'))
    .addHelpText('after', `
Exit codes: 0 every budget held, 99 a threshold crossed or without data, 2 bad input or the run failed,
130 interrupted (k6 is stopped and still writes its summary).

Examples:
  sch lab up && sch target up && sch scenario run chat-fanout --load load -d 5m
  sch scenario run registration --target-url http://127.0.0.1:8080 -e SC_RATE=5 -o json=results.json
  sch scenario run ./my-script.js --vus 10 --iterations 100`)
    .action(async (name: string, o: ScenarioRunFlags) => {
      try {
        const urls = o.targetUrl !== undefined || o.baseUrl !== undefined ? o : { ...o, ...(await labTarget(o.lab, o.videoUrl ?? o.env?.SC_VIDEO_URL)) };
        const target = resolveScenarioTarget(urls, o.env ?? {});
        const env = target.env;
        const profile = o.load;
        scenarioSource(name);
        const soak = o.soakDuration ?? env.SC_SOAK_DURATION;
        // The plan as it will run (-d, --vus, --iterations checked against the scenario): refused here, before anything is sent.
        const { plan } = loadFlags({ name, profile, env, ...(soak ? { soakDuration: soak } : {}), ...(o.duration !== undefined ? { duration: o.duration } : {}), ...(o.vus !== undefined ? { vus: o.vus } : {}), ...(o.iterations !== undefined ? { iterations: o.iterations } : {}) });
        const label = scenarioLabel(name);
        const outDir = o.outDir ?? join(HARNESS_ROOT, 'reports', 'runs', `${label}-${profile}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        const started = Date.now();
        const expectS = Math.round(o.duration !== undefined ? durationSeconds(o.duration) : planSeconds(plan));
        const tick = o.quiet ? null : setInterval(() => {
          process.stderr.write(`[scenario] ${label} (${profile}): ${Math.round((Date.now() - started) / 1000)} s of about ${expectS} s\n`);
        }, 10_000);
        if (!o.quiet) process.stderr.write(`[scenario] ${label} (${profile}) against ${target.baseUrl}: output in ${outDir}\n`);
        const { value: r, interrupted } = await interruptible('stopping k6 (it still writes its summary)…', (signal) => runScenario({
          name, baseUrl: target.baseUrl, profile, env, outDir, probe: o.probe, samples: o.samples, allowRemote: o.allowRemote === true, signal,
          ...(soak ? { soakDuration: soak } : {}), ...(o.timeout ? { timeoutMs: o.timeout } : {}),
          ...(o.duration !== undefined ? { duration: o.duration } : {}), ...(o.vus !== undefined ? { vus: o.vus } : {}), ...(o.iterations !== undefined ? { iterations: o.iterations } : {}),
          ...(o.out?.length ? { outputs: o.out } : {}),
          ...(o.quiet ? {} : { onOutput: (line: string) => { if (/level=(error|warning)/.test(line)) process.stderr.write(`[k6] ${redact(line)}\n`); } }),
        })).finally(() => {
          if (tick) clearInterval(tick);
        });
        process.stderr.write(`[scenario] k6 exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''} after ${((Date.now() - started) / 1000).toFixed(1)} s; summary ${r.summaryPath}\n`);
        if (interrupted) {
          process.stderr.write('error: interrupted (SIGINT/SIGTERM): k6 stopped\n');
          process.exitCode = EXIT.interrupted;
          return;
        }
        if (r.outcome === 'failed') {
          // Its thresholds say nothing (k6 judges metrics it never fed as 0): no table, the failure.
          process.stderr.write(`error: run failed: ${r.failure ?? `k6 exited ${r.exitCode}`}\n`);
          process.exitCode = EXIT.runFailed;
          return;
        }
        const rows = r.thresholdResults.map((t) => [t.selector, t.expression, thresholdCell(t)]);
        process.stdout.write(`${table(['METRIC', 'THRESHOLD', 'RESULT'], rows)}\n`);
        if (r.outcome === 'passed') {
          process.exitCode = EXIT.passed;
        } else {
          const noData = new Set(r.noData);
          const listed = r.failedThresholds.map((t) => (noData.has(t) ? `${t} (no data)` : t));
          process.stderr.write(`[scenario] thresholds crossed: ${listed.join('; ') || `k6 exited ${r.exitCode}`}\n`);
          process.exitCode = EXIT.thresholds;
        }
      } catch (e) {
        fail(e);
      }
    });
  return sc;
}
