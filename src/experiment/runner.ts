/**
 * The experiment runner: lab + target, workloads (k6) and the fault timeline side by side, then the
 * result pipeline, calibration, verdicts and reports. Every fault is rolled back in `finally` (success,
 * failure, exception, abort); a run killed outright is cleaned up by the next start (chaos journal).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { Lab } from '../lab/lab.js';
import { stopProcess } from '../lab/process.js';
import { writeState } from '../lab/state.js';
import { HARNESS_ROOT, binaries, pinnedVersions } from '../lab/paths.js';
import { run as runCmd } from '../lab/exec.js';
import { startTarget, type RunningTarget } from '../lab/target.js';
import type { DependencyName } from '../topology/topology.js';
import { DEPENDENCY_NAMES } from '../topology/topology.js';
import { runScenario, type ScenarioRunResult } from '../k6/run.js';
import { checkFanoutRun, parseK6Log, type FanoutReport } from '../k6/fanout-checker.js';
import { conversationHistory } from '../k6/history.js';
import { ResultPipeline } from '../results/pipeline.js';
import { K6Tail } from '../results/k6-reader.js';
import { ProgressMeter } from '../results/progress.js';
import type { CalibrationResult, FaultRecord, RunFile, RunResult, Sample, SeriesSelector } from '../results/model.js';
import { createFault, cleanupFaults, probeRtt, type Fault, type FaultContext } from '../../chaos/index.js';
import { derivePhases } from './phases.js';
import { loadClaims } from './claims.js';
import { scaleExperiment } from './load.js';
import type { Experiment, Selector } from './spec.js';
import { evaluateClaims, evaluateHypothesis, label, statValue } from '../verdicts/evaluate.js';
import { redact } from '../util/redact.js';

export const RUNS_DIR = join(HARNESS_ROOT, 'reports', 'runs');

export interface RunOptions {
  experiment: Experiment;
  /** Embedded target profile (overrides the experiment's). */
  profile?: 'audited' | 'hardened';
  /** Extra embedded-target environment (knobs, single switches, test hooks). */
  targetEnv?: Record<string, string>;
  /** Extra k6 environment per workload id (applied last). */
  workloadEnv?: Record<string, Record<string, string>>;
  /** Stretch the timeline to this many seconds. */
  durationS?: number;
  seed?: number;
  /** Lab to use: attached when up, else started (and stopped at the end unless keepLab). */
  labName?: string;
  basePort?: number;
  keepLab?: boolean;
  /** Port offset of the embedded target inside the lab's target range (0..90, default 90). */
  targetPortBase?: number;
  runsDir?: string;
  runId?: string;
  /** Allow a target outside loopback and the lab's namespace. */
  allowRemote?: boolean;
  /** Render the HTML report in headless Chromium and keep a PNG (default false). */
  screenshot?: boolean;
  onProgress?: (line: string) => void;
  /** Abort (SIGINT / SIGTERM): faults are rolled back, k6 stopped, what was measured is reported. */
  signal?: AbortSignal;
}

export class RunRefused extends Error {
  override name = 'RunRefused';
}

/** The manifest: everything needed to run the same experiment again. */
export interface RunManifest {
  runId: string;
  createdAt: string;
  seed: number;
  experiment: Experiment;
  options: { profile?: string; targetEnv?: Record<string, string>; workloadEnv?: Record<string, Record<string, string>>; labName: string; basePort?: number; allowRemote: boolean };
  versions: Record<string, string>;
  /** Filled in as the run goes. */
  timeline: FaultRecord[];
  runStartMs?: number;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/;

/** A target outside loopback and the lab's namespace is refused unless allowRemote. */
export function checkTargetAddress(baseUrl: string, labAddress: string | null, allowRemote: boolean): void {
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    throw new RunRefused(`target.baseUrl "${baseUrl}" is not a URL`);
  }
  if (allowRemote) return;
  const h = host.replace(/^\[|\]$/g, '');
  // 198.18.0.0/15 is where labs put their namespaces (RFC 2544 benchmarking space: never routed).
  if (LOOPBACK.test(h) || (labAddress !== null && h === labAddress) || (isIP(h) === 4 && /^198\.1[89]\./.test(h))) return;
  throw new RunRefused(`target ${baseUrl} is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.`);
}

async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = { node: process.version, ...pinnedVersions() };
  try {
    out.harness = (JSON.parse(readFileSync(join(HARNESS_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const head = await runCmd('git', ['rev-parse', '--short', 'HEAD'], { cwd: HARNESS_ROOT, timeoutMs: 5000 });
    if (head.code === 0) out.commit = head.stdout.trim();
  } catch {
    /* not a git checkout */
  }
  try {
    const k6 = await runCmd(binaries().k6, ['version'], { timeoutMs: 10_000 });
    if (k6.code === 0) out.k6Binary = k6.stdout.trim().split('\n')[0] ?? '';
  } catch {
    /* reported when a workload starts */
  }
  return out;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  if (signal?.aborted || ms <= 0) return resolve();
  const t = setTimeout(done, ms);
  function done() {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

/** 1 s windows up to 10 minutes, then at most ~600 windows: memory stays bounded on long soaks. */
export const windowMsFor = (durationS: number): number => Math.max(1000, Math.ceil(durationS / 600) * 1000);

/** Default series for the report, plus everything hypotheses and calibration read. */
function selectorsFor(e: Experiment, pathDeps: DependencyName[]): SeriesSelector[] {
  const out = new Map<string, SeriesSelector>();
  const add = (s: Selector) => out.set(label(s), s.tags ? { metric: s.metric, tags: s.tags } : { metric: s.metric });
  add({ metric: 'http_req_duration' });
  add({ metric: 'http_req_failed' });
  for (const w of e.workloads) {
    if (w.scenario === 'probes') {
      for (const p of (w.env.SC_PROBES ?? 'login,authed,revoked,send,deliver').split(',').map((x) => x.trim()).filter(Boolean)) {
        add({ metric: 'sc_probe_ok', tags: { probe: p } });
        add({ metric: 'sc_probe_duration', tags: { probe: p === 'upload' ? 'upload_api' : p } });
      }
    }
    if (w.scenario === 'chat-fanout') {
      add({ metric: 'sc_delivery_latency' });
      add({ metric: 'sc_ack_latency' });
    }
  }
  for (const h of e.hypotheses) if (h.kind !== 'nothing-lost') add(h.select);
  for (const d of pathDeps) {
    add({ metric: 'sc_path_rtt', tags: { dep: d } });
    add({ metric: 'sc_proxy_connections', tags: { proxy: d } });
  }
  return [...out.values()];
}

/**
 * Open TCP connections into a proxy's listen port (ss, inside the lab namespace): evidence that
 * something on the target side uses that path. (Toxiproxy's byte counters only move when a
 * connection closes, so they say nothing about a pooled client.)
 */
async function proxyConnections(lab: Lab, port: number): Promise<number> {
  const [cmd, ...pre] = [...lab.execPrefix, 'ss'];
  const r = await runCmd(cmd!, [...pre, '-Htn', 'state', 'established', `( sport = :${port} )`], { timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`ss exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** The runner's own target instance in the lab (its processes are named target-<service>-exp). */
const TARGET_INSTANCE = 'exp';

/** A run killed outright leaves its target running: stop it before starting a new one on the same ports. */
async function stopLeftoverTarget(lab: Lab, instance: string, log: (l: string) => void): Promise<void> {
  lab.refreshState();
  const mine = lab.state.processes.filter((p) => p.name.startsWith('target-') && p.name.endsWith(`-${instance}`));
  if (mine.length === 0) return;
  log(`stopping ${mine.length} target process(es) left by a previous run`);
  await Promise.all(mine.map((p) => stopProcess(p, 5000)));
  lab.state.processes = lab.state.processes.filter((p) => !mine.includes(p));
  lab.state.targets = (lab.state.targets ?? []).filter((t) => t.instance !== instance);
  writeState(lab.state);
}

interface Active {
  fault: Fault;
  record: FaultRecord;
  applied: boolean;
  removed: boolean;
}

/**
 * Run one experiment end to end and write its reports. Never throws for what the target does (that is
 * the verdict); throws RunRefused for a refused target, and returns a result with exitCode 2 and
 * `error` when the run itself could not be carried out.
 */
export async function runExperiment(o: RunOptions): Promise<RunResult> {
  let e = o.durationS ? scaleExperiment(o.experiment, o.durationS) : o.experiment;
  if (o.profile && e.target.kind === 'embedded') e = { ...e, target: { ...e.target, profile: o.profile } };
  const profile = e.target.kind === 'embedded' ? e.target.profile : undefined;
  const seed = o.seed ?? e.seed ?? randomInt(1, 2 ** 31 - 1);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const runId = o.runId ?? `${stamp}-${e.name}${profile ? `-${profile}` : ''}`;
  const dir = join(o.runsDir ?? RUNS_DIR, runId);
  mkdirSync(dir, { recursive: true });
  const progress = (l: string) => o.onProgress?.(redact(l));
  const logFile = join(dir, 'run.log');
  const log = (l: string) => {
    appendFileSync(logFile, `${new Date().toISOString()} ${redact(l)}\n`);
  };
  const labName = o.labName ?? 'sch';
  const files: RunFile[] = [{ kind: 'manifest', path: 'manifest.json' }, { kind: 'log', path: 'run.log' }];

  const manifest: RunManifest = {
    runId, createdAt: new Date().toISOString(), seed, experiment: e,
    options: { ...(profile ? { profile } : {}), ...(o.targetEnv ? { targetEnv: o.targetEnv } : {}), ...(o.workloadEnv ? { workloadEnv: o.workloadEnv } : {}), labName, ...(o.basePort ? { basePort: o.basePort } : {}), allowRemote: o.allowRemote ?? false },
    versions: await versions(),
    timeline: [],
  };
  const writeManifest = () => writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeManifest();

  if (e.target.kind === 'external') checkTargetAddress(e.target.baseUrl, null, o.allowRemote ?? false);

  const startedAtMs = Date.now();
  let lab: Lab | null = null;
  let startedLab = false;
  let target: RunningTarget | null = null;
  let baseUrl = e.target.kind === 'external' ? e.target.baseUrl : '';
  const actives: Active[] = [];
  const workloadResults = new Map<string, ScenarioRunResult | Error>();
  const tails: K6Tail[] = [];
  const pathSamples: Sample[] = [];
  const fanout: Record<string, FanoutReport | { error: string }> = {};
  let runStartMs = startedAtMs;
  let runEndMs = startedAtMs;
  let error: string | undefined;
  const stopWork = new AbortController();
  const onAbort = () => stopWork.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let ctx: FaultContext | null = null;

  const rollbackAll = async () => {
    if (!ctx) return;
    for (const a of actives) {
      if (!a.applied || a.removed) continue;
      try {
        const r = await a.fault.rollback(ctx);
        a.record.rolledBack = r.ok;
        if (!r.ok) a.record.error = `rollback: ${r.detail}`;
      } catch (err) {
        a.record.rolledBack = false;
        a.record.error = `rollback: ${(err as Error).message}`;
      }
      a.removed = true;
      a.record.removedAtMs = Date.now();
    }
  };

  try {
    // ---- lab and target
    if (e.target.kind === 'external' && e.faults.length > 0 && e.target.toxiproxyUrl) {
      // The deployment's own Toxiproxy (its proxies named after the dependencies): Toxiproxy faults only.
      checkTargetAddress(e.target.toxiproxyUrl, null, o.allowRemote ?? false);
      lab = await Lab.external(e.target.toxiproxyUrl);
      ctx = { lab, log };
      const clean = await cleanupFaults(lab, { log });
      if (clean.journal.length > 0) progress(`cleaned up after a previous run: ${clean.journal.length} fault(s) from its journal`);
    } else if (e.target.kind === 'embedded' || e.faults.length > 0) {
      lab = await Lab.attach(labName);
      if (!lab) {
        if (e.target.kind === 'external') throw new RunRefused(`faults on an external target need its Toxiproxy (target.toxiproxyUrl) or a lab whose Toxiproxy fronts it: no lab "${labName}" is up (sch lab up --name ${labName})`);
        progress(`starting lab "${labName}"…`);
        lab = await Lab.up({ name: labName, ...(o.basePort ? { basePort: o.basePort } : {}), onProgress: (l) => log(`[lab] ${l}`), ...(o.signal ? { signal: o.signal } : {}) });
        startedLab = true;
      }
      ctx = { lab, log };
      // A previous run killed outright may have left faults behind: its journal says which.
      const clean = await cleanupFaults(lab, { log });
      const leftovers = clean.journal.length + clean.restarted.length + clean.resumed.length;
      if (leftovers > 0) progress(`cleaned up after a previous run: ${JSON.stringify({ journal: clean.journal.length, resumed: clean.resumed.length, restarted: clean.restarted.length })}`);
    }
    if (e.target.kind === 'embedded') {
      await stopLeftoverTarget(lab!, TARGET_INSTANCE, log);
      progress(`starting the reference target (${e.target.profile})…`);
      target = await startTarget(lab!, {
        profile: e.target.profile, instance: TARGET_INSTANCE, portBase: o.targetPortBase ?? 90,
        // Its own rate-limit window: the limiter's counters live in the shared Redis, and one run's burst must not throttle the next.
        env: { RATE_LIMIT_SCOPE: `run-${runId}`, ...e.target.env, ...(o.targetEnv ?? {}) },
        ...(e.target.services ? { services: e.target.services } : {}),
      });
      baseUrl = target.baseUrl;
      checkTargetAddress(baseUrl, lab!.address, o.allowRemote ?? false);
    }
    if (o.signal?.aborted) throw new Error('interrupted');

    // ---- faults (built up front: a bad spec fails before any load)
    const faults = e.faults.map((f) => {
      const { startS, durationS, ...spec } = f;
      const fault = createFault(spec);
      const record: FaultRecord = { id: f.id, name: fault.name, mechanism: fault.mechanism, target: fault.target, params: fault.params, plannedStartS: startS, plannedDurationS: durationS, verified: false, verifyDetail: '', rolledBack: false };
      return { fault, record, startS, durationS };
    });
    manifest.timeline = faults.map((f) => f.record);
    const proxyDeps = [...new Set(faults.filter((f) => f.fault.mechanism === 'toxiproxy').map((f) => f.fault.target))].filter((d): d is DependencyName => (DEPENDENCY_NAMES as readonly string[]).includes(d));

    // ---- workloads
    const runTag = createHash('sha256').update(`${seed}-${runId}`).digest('hex').slice(0, 8);
    const meter = new ProgressMeter(10);
    let firstSample = 0;
    const workloadRuns = e.workloads.map((w) => {
      const outDir = join(dir, 'workloads', w.id);
      mkdirSync(outDir, { recursive: true });
      const samples = join(outDir, 'samples.json.gz');
      const tail = new K6Tail(samples, (s) => {
        if (!firstSample) firstSample = Date.now();
        meter.add(s);
      }, { intervalMs: 1000, extraTags: { workload: w.id } });
      tails.push(tail);
      tail.start();
      files.push({ kind: 'samples', path: relative(dir, samples) }, { kind: 'k6-summary', path: relative(dir, join(outDir, 'summary.json')) });
      const p = runScenario({
        name: w.scenario, baseUrl, profile: w.profile, outDir, signal: stopWork.signal,
        timeoutMs: (e.durationS + 180) * 1000,
        tags: { workload: w.id },
        env: { SC_DURATION: `${e.durationS}s`, SC_RUN_ID: `${runTag}${w.id.replace(/[^a-z0-9]/g, '')}`.slice(0, 14), ...w.env, ...(o.workloadEnv?.[w.id] ?? {}) },
      }).then(
        (r) => { workloadResults.set(w.id, r); log(`workload ${w.id}: k6 exited ${r.exitCode}${r.failedThresholds.length ? `; thresholds crossed: ${r.failedThresholds.join('; ')}` : ''}`); },
        (err: Error) => { workloadResults.set(w.id, err); log(`workload ${w.id}: ${err.message}`); },
      );
      return p;
    });
    const allDone = Promise.all(workloadRuns);
    let finished = false;
    void allDone.then(() => { finished = true; });

    // The timeline starts with the load: the first sample any workload writes (at most 60 s of setup).
    const waitStart = Date.now();
    while (!firstSample && !finished && !stopWork.signal.aborted && Date.now() - waitStart < 60_000) await sleep(200, stopWork.signal);
    runStartMs = firstSample ? Math.min(firstSample, Date.now()) - 1000 : Date.now();
    manifest.runStartMs = runStartMs;
    writeManifest();
    progress(`load running; fault timeline started (${faults.length} fault${faults.length === 1 ? '' : 's'})`);

    // ---- path probes (calibration) and proxy byte counters (exposure), once a second
    const pathLog = join(dir, 'path-probes.jsonl');
    files.push({ kind: 'path-probes', path: 'path-probes.jsonl' });
    /** The runner's own samples: kept for the analysis and appended to disk as they come. */
    const keep = (s: Sample): void => {
      pathSamples.push(s);
      appendFileSync(pathLog, `${JSON.stringify(s)}\n`);
    };
    const inFlight = new Set<string>();
    // Connection counts first (the target's own use of each path), then path probes from 4 s before the
    // first fault on (their own connections would otherwise count).
    const firstFaultS = faults.length ? Math.min(...faults.map((f) => f.startS)) : e.durationS;
    const probeFrom = runStartMs + Math.max(2, firstFaultS - 4) * 1000;
    const probeTick = async () => {
      if (!lab) return;
      const now = Date.now();
      if (now >= probeFrom) for (const d of proxyDeps) {
        if (inFlight.has(d)) continue;
        inFlight.add(d);
        const ep = lab.endpoint(d);
        void probeRtt(d, ep.host, ep.port, { timeoutMs: 8000 }).then(
          (ms) => keep({ metric: 'sc_path_rtt', time: now, value: ms, tags: { dep: d } }),
          () => keep({ metric: 'sc_path_ok', time: now, value: 0, tags: { dep: d } }),
        ).finally(() => inFlight.delete(d));
      }
      // Connections are counted in the lab's namespace; an external deployment's are not visible from here.
      if (now < probeFrom && !lab.isExternal) {
        for (const d of proxyDeps) {
          try {
            keep({ metric: 'sc_proxy_connections', time: now, value: await proxyConnections(lab, lab.endpoint(d).port), tags: { proxy: d } });
          } catch (err) {
            log(`connections through ${d}: ${(err as Error).message}`);
          }
        }
      }
    };
    const probeTimer = setInterval(() => void probeTick(), 1000);

    // ---- progress line
    const phaseNow = () => {
      const on = actives.filter((a) => a.applied && !a.removed).map((a) => a.record.id);
      if (on.length) return { phase: `fault:${on.join('+')}`, on };
      const last = actives.filter((a) => a.removed && a.record.removedAtMs && Date.now() - a.record.removedAtMs < e.recoveryS * 1000).pop();
      return { phase: last ? `recovery:${last.record.id}` : actives.some((a) => a.applied) ? 'after' : 'baseline', on };
    };
    const progressTimer = setInterval(() => {
      const t = Math.round((Date.now() - runStartMs) / 1000);
      const { phase, on } = phaseNow();
      progress(`t=${t}s/${e.durationS}s  phase ${phase}  faults [${on.join(', ') || '-'}]  ${meter.line()}`);
    }, 2000);

    // ---- the fault timeline (each fault on its own clock)
    const schedule = faults.map(async (f) => {
      const a: Active = { fault: f.fault, record: f.record, applied: false, removed: false };
      actives.push(a);
      await sleep(runStartMs + f.startS * 1000 - Date.now(), stopWork.signal);
      if (stopWork.signal.aborted || finished) return;
      try {
        a.applied = true;
        await f.fault.apply(ctx!);
        f.record.appliedAtMs = Date.now();
        progress(`fault ${f.record.id} applied (${f.record.name} on ${f.record.target})`);
        const v = await f.fault.verify(ctx!);
        f.record.verified = v.ok;
        f.record.verifyDetail = v.detail;
        log(`fault ${f.record.id}: verify ${v.ok ? 'ok' : 'FAILED'}: ${v.detail}`);
      } catch (err) {
        f.record.error = `apply: ${(err as Error).message}`;
        f.record.appliedAtMs ??= Date.now();
        log(`fault ${f.record.id}: ${f.record.error}`);
      }
      writeManifest();
      await sleep(runStartMs + (f.startS + f.durationS) * 1000 - Date.now(), stopWork.signal);
      if (a.removed) return;
      try {
        const r = await f.fault.rollback(ctx!);
        f.record.rolledBack = r.ok;
        if (!r.ok) f.record.error = `rollback: ${r.detail}`;
      } catch (err) {
        f.record.error = `rollback: ${(err as Error).message}`;
      }
      a.removed = true;
      f.record.removedAtMs = Date.now();
      progress(`fault ${f.record.id} removed${f.record.rolledBack ? '' : ' (rollback NOT clean)'}`);
      writeManifest();
    });

    try {
      await Promise.all(schedule);
      await allDone;
    } finally {
      clearInterval(probeTimer);
      clearInterval(progressTimer);
      stopWork.abort();
      await rollbackAll();
      runEndMs = Date.now();
      for (const t of tails) await t.stop().catch(() => undefined);
      writeManifest();
    }
    if (o.signal?.aborted) error = 'interrupted (SIGINT/SIGTERM): faults rolled back, partial results reported';

    // ---- fan-out reconciliation (needs the target: before it stops)
    for (const h of e.hypotheses) {
      if (h.kind !== 'nothing-lost' || fanout[h.workload]) continue;
      const r = workloadResults.get(h.workload);
      if (!r || r instanceof Error) {
        fanout[h.workload] = { error: r ? r.message : 'workload did not run' };
        continue;
      }
      const parsed = parseK6Log(`${r.stdout}\n${r.stderr}`);
      const setups = parsed.setups.length ? parsed.setups : parsed.setup ? [parsed.setup] : [];
      if (setups.length === 0) {
        fanout[h.workload] = { error: 'no SETUP line in the k6 log (setup failed?)' };
        continue;
      }
      try {
        // The service may still be recovering (a breaker cooling down): retry a bounded while.
        const history: Record<string, string[]> = {};
        for (const s of setups) {
          for (let attempt = 0, until = Date.now() + 30_000; history[s.conversation_id] === undefined; attempt++) {
            try {
              history[s.conversation_id] = await conversationHistory(baseUrl, s.conversation_id);
            } catch (err) {
              if (Date.now() > until || attempt >= 30) throw err;
              await sleep(1000);
            }
          }
        }
        fanout[h.workload] = checkFanoutRun(parsed, history);
        writeFileSync(join(dir, 'workloads', h.workload, 'fanout.json'), `${JSON.stringify(fanout[h.workload], null, 2)}\n`);
        files.push({ kind: 'fanout', path: `workloads/${h.workload}/fanout.json` });
      } catch (err) {
        fanout[h.workload] = { error: `history: ${(err as Error).message}` };
      }
    }
  } catch (err) {
    error = err instanceof RunRefused ? err.message : `run failed: ${(err as Error).message}`;
    log(error);
    if (err instanceof RunRefused && !lab) throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await rollbackAll().catch(() => undefined);
    if (lab) await cleanupFaults(lab, { log }).catch((err: Error) => log(`cleanup: ${err.message}`));
    if (target) await target.stop().catch((err: Error) => log(`target stop: ${err.message}`));
    if (lab && startedLab && !o.keepLab) await Lab.down(labName).catch((err: Error) => log(`lab down: ${err.message}`));
    writeManifest();
  }

  // ---- analysis
  const records = actives.map((a) => a.record);
  const phases = derivePhases(runStartMs, runEndMs, records, e.recoveryS);
  const pipeline = new ResultPipeline({ phases, selectors: selectorsFor(e, [...new Set(records.filter((r) => r.mechanism === 'toxiproxy').map((r) => r.target as DependencyName))]), runStartMs, windowMs: windowMsFor(e.durationS) });
  const workloads: RunResult['workloads'] = [];
  for (const w of e.workloads) {
    const samples = join(dir, 'workloads', w.id, 'samples.json.gz');
    let points = 0;
    if (existsSync(samples)) {
      try {
        points = (await pipeline.readK6(samples, { extraTags: { workload: w.id } })).points;
      } catch (err) {
        log(`samples of ${w.id}: ${(err as Error).message}`);
      }
    }
    const r = workloadResults.get(w.id);
    workloads.push({ id: w.id, scenario: w.scenario, profile: w.profile, exitCode: r && !(r instanceof Error) ? r.exitCode : null, samples: points, failedThresholds: r && !(r instanceof Error) ? r.failedThresholds : [] });
    // A workload that could not run at all (script error, setup failure) is a failed run, not a verdict.
    if (r instanceof Error) error ??= `workload ${w.id}: ${r.message}`;
    else if (r && r.exitCode !== 0 && r.exitCode !== 99 && !o.signal?.aborted) error ??= `workload ${w.id}: k6 exited ${r.exitCode}: ${redact(r.stderr.split('\n').filter((l) => /level=error|GoError|Error/.test(l)).slice(-3).join(' | ').slice(0, 600))}`;
  }
  for (const s of pathSamples) {
    if (s.metric === 'sc_path_ok') continue;
    pipeline.setMetricKind(s.metric, s.metric === 'sc_proxy_connections' ? 'gauge' : 'trend');
    pipeline.add(s);
  }

  const calibration = calibrate(records, pipeline, { exposure: !lab?.isExternal });
  const removedAtMs: Record<string, number | undefined> = {};
  for (const r of records) if (r.appliedAtMs !== undefined) removedAtMs[r.id] = r.removedAtMs;
  const input = { phases, source: pipeline, calibration, fanout, removedAtMs, runEndMs };
  const hypotheses = e.hypotheses.map((h) => evaluateHypothesis(h, input));
  const claims = evaluateClaims(loadClaims(), hypotheses, profile);
  const notExpected = claims.filter((c) => !c.asExpected).length;

  const result: RunResult = {
    runId, experiment: e.name, description: e.description,
    target: { kind: e.target.kind, ...(profile ? { profile } : {}), baseUrl },
    startedAtMs: runStartMs, endedAtMs: runEndMs,
    phases, faults: records, phaseTable: pipeline.phaseTable(), series: pipeline.series(),
    calibration, hypotheses, claims, workloads,
    exitCode: error ? 2 : notExpected ? 1 : 0,
    ...(error ? { error } : {}),
    files,
  };
  const { writeReports, screenshotReport } = await import('../../reports/index.js');
  result.files = [...files, ...(await writeReports(result, dir))];
  if (o.screenshot) {
    try {
      await screenshotReport(join(dir, 'report.html'), join(dir, 'report.png'));
      result.files.push({ kind: 'screenshot', path: 'report.png' });
      await writeReports(result, dir);
    } catch (err) {
      log(`screenshot: ${(err as Error).message}`);
    }
  }
  return result;
}

/**
 * Did each fault land where the workload goes? (1) its own verify() after apply; (2) latency faults:
 * the path probe's median RTT during the fault minus baseline ≈ the toxic's latency (±10 %); (3)
 * Toxiproxy faults: the target held connections through that proxy before the fault — a fault on a
 * path nothing uses proves nothing, and its claims become INCONCLUSIVE.
 */
export function calibrate(records: FaultRecord[], p: Pick<ResultPipeline, 'stats'>, o: { exposure?: boolean } = {}): CalibrationResult[] {
  const out: CalibrationResult[] = [];
  for (const r of records) {
    if (r.appliedAtMs === undefined) continue;
    out.push({ faultId: r.id, selector: { metric: 'fault' }, label: `${r.name} applied`, expected: 'verify() confirms it landed', observed: r.verified ? 1 : 0, ok: r.verified && !r.error, detail: r.error ?? r.verifyDetail });
    if (r.mechanism !== 'toxiproxy') continue;
    const dep = r.target;
    const latency = typeof r.params.latencyMs === 'number' ? r.params.latencyMs : (r.params.type === 'latency' && typeof (r.params.attributes as Record<string, unknown> | undefined)?.latency === 'number') ? (r.params.attributes as Record<string, number>).latency : undefined;
    if (latency !== undefined) {
      const sel = { metric: 'sc_path_rtt', tags: { dep } };
      const before = statValue(p.stats(sel, 'baseline'), 'p50');
      const during = p.stats(sel, `fault:${r.id}`);
      const d = statValue(during, 'p50');
      const delta = before !== null && d !== null ? d - before : null;
      const ok = delta !== null && Math.abs(delta - latency) <= 0.1 * latency;
      out.push({ faultId: r.id, selector: sel, label: label(sel), expected: `median delta ≈ ${latency} ms ±10%`, observed: delta, ok, detail: delta === null ? `no path samples (baseline ${before ?? 'none'}, fault ${during.count})` : `baseline p50 ${before!.toFixed(1)} ms, fault p50 ${d!.toFixed(1)} ms over ${during.count} probes: delta ${delta.toFixed(1)} ms` });
    }
    if (o.exposure === false) continue;
    const connSel = { metric: 'sc_proxy_connections', tags: { proxy: dep } };
    const base = p.stats(connSel, 'baseline');
    const conns = base.count > 0 ? (base.max ?? 0) : null;
    out.push({ faultId: r.id, selector: connSel, label: label(connSel), expected: 'the target holds connections through the proxy before the fault (≥ 1)', observed: conns, ok: (conns ?? 0) >= 1, detail: conns === null ? `no connection count for ${dep} during the baseline` : conns >= 1 ? `up to ${conns} open connection(s) through ${dep} during the baseline` : `no connection through ${dep} during the baseline: the fault is aimed at a path the workload does not use` });
  }
  return out;
}
