import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { HARNESS_ROOT } from '../lab/paths.js';
import { listScenarios, scenarioSource } from '../k6/bundle.js';
import { loadBudgets } from '../k6/budgets.js';
import { K6_THRESHOLDS_FAILED, PROFILES, ScenarioInputError, planFor, planSeconds, runScenario, type Profile, type ThresholdResult } from '../k6/run.js';
import { redact } from '../util/redact.js';
import { checkTargetAddress } from '../util/target-address.js';
import { checkHttpUrl } from '../experiment/external.js';
import { table } from './table.js';

/**
 * Exit codes of `sch scenario run`: 0 every budget held on real samples; 99 a threshold was crossed or its
 * metric got no samples; 2 bad input (nothing sent) or the run failed (k6 aborted, crashed, timed out).
 */
export const EXIT = { passed: 0, badInput: 2, runFailed: 2, thresholds: K6_THRESHOLDS_FAILED } as const;

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

const collect = (v: string, prev: string[]) => [...prev, v];

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
      process.stderr.write(`profiles: ${PROFILES.join(', ')}\n`);
    });

  sc.command('run')
    .description('run one scenario with k6 against a target; exit 0 when every budget holds on real samples, 99 when a threshold was crossed or its metric got no samples ("no data"), 2 on bad input (nothing sent) or when the run failed (k6 aborted: setup error, script error, crash, timeout)')
    .argument('<name>', 'scenario (see: sch scenario list)')
    .option('--target-url <url>', 'the target\'s gateway, e.g. http://198.18.0.2:21500 (its /health is probed first)')
    .option('--base-url <url>', 'the old name of --target-url')
    .option('--video-url <url>', 'the target\'s video service (the signaling socket; sets SC_VIDEO_URL)')
    .addOption(new Option('--profile <profile>', `load profile: ${PROFILES.join(', ')}`).default('smoke'))
    .option('--env <K=V>', 'k6 environment for the scenario (repeatable), e.g. --env SC_GROUP_SIZE=50 --env SC_VIDEO_URL=http://…', collect, [] as string[])
    .option('--out <dir>', 'where the run\'s files go (default reports/runs/<name>-<profile>-<time>)')
    .option('--soak-duration <duration>', 'soak plateau length (k6 duration: 45m, 2h); soak profile only')
    .option('--timeout <seconds>', 'kill k6 after this long (default: the profile\'s length + 60 s)')
    .option('--no-probe', 'do not probe the target\'s /health first')
    .option('--allow-remote', 'send load to a target outside loopback and the lab\'s network (198.18.0.0/15); refused without it, before anything is sent')
    .option('--quiet', 'no progress lines')
    .option('--no-samples', 'do not write k6\'s raw samples (a pure load run: k6\'s JSON sample stream is its most expensive part)')
    .exitOverride((err) => {
      // commander's own parse errors (unknown option, missing argument) are bad input too.
      process.exit(err.exitCode === 0 ? EXIT.passed : EXIT.badInput);
    })
    .action(async (name: string, o: { targetUrl?: string; baseUrl?: string; videoUrl?: string; profile: string; env: string[]; out?: string; soakDuration?: string; timeout?: string; probe: boolean; quiet?: boolean; samples: boolean; allowRemote?: boolean }) => {
      try {
        const target = resolveScenarioTarget(o, Object.fromEntries(o.env.map(parseEnvPair)));
        const env = target.env;
        const profile = o.profile as Profile;
        scenarioSource(name);
        const soak = o.soakDuration ?? env.SC_SOAK_DURATION;
        const plan = planFor(profile, soak ? { soakDuration: soak } : {});
        let timeoutMs: number | undefined;
        if (o.timeout !== undefined) {
          const t = Number(o.timeout);
          if (!Number.isFinite(t) || t <= 0) throw new ScenarioInputError(`--timeout ${o.timeout} is not a positive number of seconds`);
          timeoutMs = t * 1000;
        }
        const outDir = o.out ?? join(HARNESS_ROOT, 'reports', 'runs', `${name}-${profile}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        const started = Date.now();
        const expectS = Math.round(planSeconds(plan));
        const tick = o.quiet ? null : setInterval(() => {
          process.stderr.write(`[scenario] ${name} (${profile}): ${Math.round((Date.now() - started) / 1000)} s of about ${expectS} s\n`);
        }, 10_000);
        if (!o.quiet) process.stderr.write(`[scenario] ${name} (${profile}) against ${target.baseUrl}: output in ${outDir}\n`);
        let r;
        try {
          r = await runScenario({
            name, baseUrl: target.baseUrl, profile, env, outDir, probe: o.probe, samples: o.samples, allowRemote: o.allowRemote === true,
            ...(soak ? { soakDuration: soak } : {}), ...(timeoutMs ? { timeoutMs } : {}),
            ...(o.quiet ? {} : { onOutput: (line: string) => { if (/level=(error|warning)/.test(line)) process.stderr.write(`[k6] ${redact(line)}\n`); } }),
          });
        } finally {
          if (tick) clearInterval(tick);
        }
        process.stderr.write(`[scenario] k6 exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''} after ${((Date.now() - started) / 1000).toFixed(1)} s; summary ${r.summaryPath}\n`);
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
