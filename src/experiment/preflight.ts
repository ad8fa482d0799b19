/**
 * What can be known about an experiment before any load: that its scenarios exist, that the metrics and
 * probes its hypotheses read are ones its workloads produce, that its faults build, that its claims are
 * catalogued, and that its timeline can work (every workload's load covers every fault; a Toxiproxy
 * fault leaves the observers time to see the target's own connections before it). `sch validate` prints
 * these; `loadExperiment` refuses an experiment with any of them, so `sch run` stops before starting anything.
 *
 * The metrics a scenario emits are read from its source (`new Trend('sc_…')`, `new Counter(…)`, …, and
 * the files under scenarios/lib/ it imports), so a new metric needs no second list; k6's built-ins and
 * the runner's own observations are listed here.
 */
import { VIDEO_METRICS } from '../media/video-stats.js';
import { probesOf } from '../media/video-spec.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createFault } from '../../chaos/spec.js';
import { SCENARIOS_DIR, listScenarios } from '../k6/bundle.js';
import { PROFILE_PLANS } from '../k6/run.js';
import { parseDuration } from '../util/duration.js';
import { loadClaims, CLAIMS_FILE } from './claims.js';
import { didYouMean } from './issues.js';
import { MIN_LATENCY_FAULT_START_S, MIN_PROXY_FAULT_START_S } from './phases.js';
import { faultSpec, type Experiment, type Workload } from './spec.js';
import { lastEndS } from './schedule.js';
import { metricKindsIn } from '../k6/metric-kinds.js';

/** Printed once per process, as the file's own deprecations are (loadExperiment). */
export { noteWarnings } from './spec.js';

/** k6's built-in metrics (https://grafana.com/docs/k6/latest/using-k6/metrics/reference/). */
export const K6_BUILTIN_METRICS = [
  'checks', 'data_received', 'data_sent', 'dropped_iterations', 'iteration_duration', 'iterations', 'vus', 'vus_max',
  'http_req_blocked', 'http_req_connecting', 'http_req_duration', 'http_req_failed', 'http_req_receiving', 'http_req_sending',
  'http_req_tls_handshaking', 'http_req_waiting', 'http_reqs', 'group_duration',
  'ws_connecting', 'ws_msgs_received', 'ws_msgs_sent', 'ws_ping', 'ws_session_duration', 'ws_sessions',
] as const;

/** The runner's own observations (observers.ts, generator-cpu.ts, server-observer.ts), recorded beside the workloads' samples. */
export const OBSERVATION_METRICS = [
  'sc_target_connections', 'sc_proxy_bytes', 'sc_path_rtt', 'sc_path_ok', 'sc_generator_busy', 'sc_generator_cores', 'sc_generator_starved',
  'sc_metrics_up', 'sc_server', 'sc_process_rss_mib', 'sc_process_fds', 'sc_process_cpu_cores',
] as const;

/** A Toxiproxy fault's earliest start, a latency toxic's: phases.ts says why. */
export { MIN_LATENCY_FAULT_START_S, MIN_PROXY_FAULT_START_S };

/** The metrics a scenario's source declares, with those of the scenarios/lib files it imports. */
export function scenarioMetrics(name: string, dir: string = SCENARIOS_DIR): string[] {
  const seen = new Set<string>();
  const out = new Set<string>();
  const read = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    // The same reading of `new Trend('…')` as the kinds written beside a run's samples.
    for (const m of Object.keys(metricKindsIn(src))) out.add(m);
    for (const m of src.matchAll(/from\s+['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) read(resolve(dirname(file), m[1]!));
  };
  read(join(dir, `${name}.ts`));
  return [...out].sort();
}

/** The probes scenarios/probes.ts knows (its `PROBES` list), read from its source. */
export function knownProbes(dir: string = SCENARIOS_DIR): string[] {
  const file = join(dir, 'probes.ts');
  if (!existsSync(file)) return [];
  const m = /export const PROBES = \[([^\]]*)\]/.exec(readFileSync(file, 'utf8'));
  return m ? [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!) : [];
}

/** The default of SC_PROBES in scenarios/probes.ts (and analyze.ts). */
const DEFAULT_PROBES = 'login,authed,revoked,send,deliver';
/** Tags some probes write under another name: the upload probe's API calls, the saturation's service check. */
const PROBE_TAG_OF: Record<string, string> = { upload_api: 'upload', service_up: 'ws_saturation' };

const seconds = (v: string | undefined, dflt: string): number => parseDuration(v === undefined || v === '' ? dflt : v) / 1000;

function stagesSeconds(raw: string): number {
  const stages = JSON.parse(raw) as { duration: string }[];
  return stages.reduce((t, s) => t + parseDuration(s.duration) / 1000, 0);
}

/**
 * How many seconds of load a workload gives, by its scenario's own schedule rules (each scenario's header)
 * under the environment the runner gives it: the profile's SC_STAGES, SC_DURATION = the experiment's
 * duration, then the workload's env. null: a scenario whose schedule this does not model.
 */
export function workloadLoadSeconds(w: Workload, durationS: number): number | null {
  // A video workload's load lasts the experiment's duration, from its first join.
  if (w.kind === 'video') return durationS;
  const env: Record<string, string> = { SC_STAGES: JSON.stringify(PROFILE_PLANS[w.profile].stages), SC_DURATION: `${durationS}s`, ...w.env };
  const isSet = (k: string) => env[k] !== undefined && env[k] !== '';
  switch (w.scenario) {
    case 'probes':
      return seconds(env.SC_DURATION, '30s');
    case 'uploads':
      return seconds(env.SC_DURATION, '10s');
    case 'call-signaling':
      return isSet('SC_RATE') || isSet('SC_DURATION') ? seconds(env.SC_DURATION, '5s') : stagesSeconds(env.SC_STAGES!);
    case 'chat-fanout':
      // The senders start after the warm-up.
      return seconds(env.SC_WARMUP, '2s') + (isSet('SC_RATE') || isSet('SC_DURATION') ? seconds(env.SC_DURATION, '10s') : stagesSeconds(env.SC_STAGES!));
    case 'registration':
      // Its stages win over SC_DURATION: the profile's plan decides its length.
      return isSet('SC_STAGES') ? stagesSeconds(env.SC_STAGES!) : seconds(env.SC_RAMP, '5s') + seconds(env.SC_DURATION, '10s');
    default:
      return null;
  }
}

export interface PreflightOptions {
  scenariosDir?: string;
  claimsFile?: string;
}

/** A k6 script of your own as a workload's scenario (a file, not a name of scenarios/): its metrics are its own. */
const OWN_SCRIPT = /\.(?:m?js|ts)$/;

export interface Preflight {
  /** One line per problem, naming its field (`<where>: workloads[0].scenario: …`): the experiment cannot run as meant. */
  errors: string[];
  /** Worth saying, not refusing (a claim outside the catalogue is judged without an expected verdict). */
  warnings: string[];
}

/** Everything found before any load. */
export function preflightExperiment(e: Experiment, where = 'experiment', o: PreflightOptions = {}): Preflight {
  const dir = o.scenariosDir ?? SCENARIOS_DIR;
  const problems: string[] = [];
  const warnings: string[] = [];
  const say = (path: string, msg: string) => problems.push(`${where}: ${path}: ${msg}`);

  // Scenarios, and what they emit.
  const scenarios = listScenarios(dir);
  const metrics = new Set<string>([...K6_BUILTIN_METRICS, ...OBSERVATION_METRICS]);
  // A script of your own (load.ts checks the file exists) may emit any metric: the metrics are not checked then.
  const ownScripts = e.workloads.some((w) => w.kind === 'k6' && OWN_SCRIPT.test(w.scenario));
  e.workloads.forEach((w, i) => {
    if (w.kind === 'video') {
      for (const m of Object.keys(VIDEO_METRICS)) metrics.add(m);
      return;
    }
    if (OWN_SCRIPT.test(w.scenario)) return;
    if (!scenarios.includes(w.scenario)) say(`workloads[${i}].scenario`, `no scenario "${w.scenario}" in scenarios/${didYouMean(w.scenario, scenarios)} (scenarios: ${scenarios.join(', ')})`);
    else for (const m of scenarioMetrics(w.scenario, dir)) metrics.add(m);
  });
  const known = [...metrics].sort();
  const checkMetric = (path: string, metric: string) => {
    if (!ownScripts && !metrics.has(metric)) say(path, `no workload of this experiment emits "${metric}"${didYouMean(metric, known)} (k6's built-ins, the runner's observations, and these scenarios' own: ${known.filter((m) => m.startsWith('sc_')).join(', ')})`);
  };

  // Probes: a hypothesis about a probe no workload runs would only ever be INCONCLUSIVE (no attempts).
  const probeWorkloads = e.workloads.filter((w) => w.kind === 'video' || w.scenario === 'probes');
  const allProbes = knownProbes(dir);
  const running = new Set<string>();
  e.workloads.forEach((w, i) => {
    // A video workload's joins are probes too (video_join; video_join_extra, video_initiate_extra with extra participants).
    if (w.kind === 'video') {
      for (const p of probesOf(w.video)) running.add(p);
      return;
    }
    if (w.scenario !== 'probes') return;
    const list = (w.env.SC_PROBES ?? DEFAULT_PROBES).split(',').map((x) => x.trim()).filter(Boolean);
    list.forEach((p) => {
      if (allProbes.length && !allProbes.includes(p)) say(`workloads[${i}].env.SC_PROBES`, `unknown probe "${p}"${didYouMean(p, allProbes)} (probes: ${allProbes.join(', ')})`);
      running.add(p);
    });
  });
  const checkProbe = (path: string, tag: string) => {
    const p = PROBE_TAG_OF[tag] ?? tag;
    if (probeWorkloads.length === 0) say(path, `probe "${tag}": no workload runs the probes scenario or a video call`);
    else if (!running.has(p)) say(path, `probe "${tag}" is not run by any workload${didYouMean(p, [...running])} (SC_PROBES: ${[...running].join(', ')})`);
  };

  e.hypotheses.forEach((h, i) => {
    const at = `hypotheses[${i}]`;
    if (h.kind === 'threshold' || h.kind === 'recovers') {
      checkMetric(`${at}.select.metric`, h.select.metric);
      if (h.select.tags?.probe) checkProbe(`${at}.select.tags.probe`, h.select.tags.probe);
    }
    if (h.kind === 'threshold' && h.attempts) {
      checkMetric(`${at}.attempts.metric`, h.attempts.metric);
      if (h.attempts.tags?.probe) checkProbe(`${at}.attempts.tags.probe`, h.attempts.tags.probe);
    }
    if (h.kind === 'outcomes') checkProbe(`${at}.probe`, h.probe);
    if (h.kind === 'returns-to-baseline' && h.select) checkMetric(`${at}.select.metric`, h.select.metric);
    if (h.kind === 'server-agrees') {
      h.compare.forEach((c, j) => {
        checkMetric(`${at}.compare[${j}].harness.metric`, c.harness.metric);
        if (c.harnessClosed) checkMetric(`${at}.compare[${j}].harnessClosed.metric`, c.harnessClosed.metric);
      });
    }
  });

  // Claims: each named one is in the catalogue.
  try {
    const catalogue = loadClaims(o.claimsFile ?? CLAIMS_FILE);
    const ids = catalogue.map((c) => c.id);
    // A claim's baseline requirements are judged in the same run: without a check of them it is INCONCLUSIVE.
    const checked = new Set(e.hypotheses.filter((h) => h.role === 'check').flatMap((h) => h.claims));
    const told = new Set<string>();
    e.hypotheses.forEach((h, i) => h.claims.forEach((c, j) => {
      if (!ids.includes(c)) {
        // Near a catalogued one: a typo. Else a claim of your own: judged, with no expected verdict (evaluate.ts).
        const typo = didYouMean(c, ids);
        if (typo) say(`hypotheses[${i}].claims[${j}]`, `no claim "${c}" in fixtures/claims.yaml${typo}`);
        else if (!told.has(c)) warnings.push(`${where}: hypotheses[${i}].claims[${j}]: "${c}" is not in fixtures/claims.yaml: it is judged, with no expected verdict (PASS or FAIL is as expected, INCONCLUSIVE is not)`);
        told.add(c);
        return;
      }
      for (const req of catalogue.find((x) => x.id === c)?.requires ?? []) {
        if (checked.has(req) || told.has(`${c}>${req}`)) continue;
        told.add(`${c}>${req}`);
        say(`hypotheses[${i}].claims[${j}]`, `${c} requires the baseline claim ${req}, which no check here judges: its verdict would be INCONCLUSIVE — add a check of ${req} in the baseline (in TypeScript: baselineChecks('${req}'))`);
      }
    }));
  } catch (err) {
    problems.push(`${where}: claims: cannot read the catalogue: ${(err as Error).message}`);
  }

  // Faults build, and the timeline can work.
  const loads = e.workloads.map((w) => workloadLoadSeconds(w, e.durationS));
  e.faults.forEach((f, i) => {
    const { startS } = f;
    // A repeating fault: its last cycle, started as late as its jitter allows.
    const end = lastEndS(f, e.durationS);
    let built: { mechanism: string; expectedLatencyMs?: number | undefined } | undefined;
    try {
      built = createFault(faultSpec(f));
    } catch (err) {
      say(`faults[${i}]`, `does not build: ${(err as Error).message.replace(/\s*\n\s*/g, '; ')}`);
    }
    if (built?.mechanism === 'toxiproxy') {
      const latency = built.expectedLatencyMs !== undefined;
      const min = latency ? MIN_LATENCY_FAULT_START_S : MIN_PROXY_FAULT_START_S;
      if (startS < min) say(`faults[${i}].startS`, `${startS} s is too early: a ${latency ? 'latency toxic' : 'Toxiproxy fault'} needs ${min} s of load before it, for the calibration's reading${latency ? 's' : ''} of the target's own connections through the proxy${latency ? ' and of path round trips' : ''} before the fault; else its checks are INCONCLUSIVE`);
    }
    e.workloads.forEach((w, j) => {
      const load = loads[j];
      if (w.kind !== 'k6' || load === null || load === undefined || load >= end) return;
      say(`workloads[${j}]`, `${w.scenario} (profile ${w.profile}${Object.keys(w.env).some((k) => /^SC_(DURATION|STAGES|RATE|WARMUP|RAMP)$/.test(k)) ? ', with its env' : ''}) gives ${load} s of load, but faults[${i}] (${f.id}) lasts until ${end} s: the fault would meet no load, or not be applied at all — ${w.scenario === 'registration' ? 'its length is its profile\'s stages: give env SC_STAGES, or another profile' : 'give env SC_DURATION ≥ the fault\'s end, or leave it to durationS'}`);
    });
  });
  return { errors: problems, warnings };
}
