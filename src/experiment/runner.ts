/**
 * The experiment runner: provisions the lab and target, runs the workloads (k6) and the fault timeline
 * side by side while the observers watch the faulted paths, writes everything into the run directory (the
 * history, src/experiment/history.ts), then analyses that history (analyze.ts) and writes the reports.
 * Every fault is rolled back in `finally` (success, failure, exception, abort); a run killed outright is
 * cleaned up by the next start (chaos journal).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { HARNESS_ROOT, binaries, pinnedVersions } from '../lab/paths.js';
import { run as runCmd, sleepUnless } from '../lab/exec.js';
import type { DependencyName } from '../topology/topology.js';
import { DEPENDENCY_NAMES } from '../topology/topology.js';
import { runScenario, type ScenarioRunResult } from '../k6/run.js';
import { runVideoWorkload } from '../media/video-workload.js';
import { outputsForWorkload } from '../k6/outputs.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { addK6LogLine, emptyK6Log } from '../k6/fanout-checker.js';
import { conversationHistory } from '../k6/history.js';
import { K6Tail } from '../results/k6-reader.js';
import { ProgressMeter } from '../results/progress.js';
import { FaultMetrics, faultEvent } from '../results/fault-events.js';
import type { FaultRecord, RunResult } from '../results/model.js';
import { createFault } from '../../chaos/index.js';
import { scaleExperiment } from './load.js';
import { faultSpec, type Experiment } from './spec.js';
import { expandSchedule } from './schedule.js';
import { redact } from '../util/redact.js';
import { formatDuration } from '../util/duration.js';
import type { ReferenceProfile } from '../util/profiles.js';
import { analyzeRun, sampleMetricsFor } from './analyze.js';
import { derivePhases } from './phases.js';
import { FaultTimeline, type TimelineEntry } from './timeline.js';
import { PathObserver } from './observers.js';
import { GeneratorCpuMonitor, idleCores } from './generator-cpu.js';
import { ServerObserver, scrapeIntervalMs } from './server-observer.js';
import { Checkpointer } from './checkpointer.js';
import { ObservationRotator } from './observation-rotator.js';
import { SampleRotator } from './sample-rotator.js';
import { BASELINE_GUARD_MS } from './phases.js';
import { sampleKinds } from './analyze.js';
import { capacityProblem } from './generator-capacity.js';
import { Provision, RunRefused, checkRunTarget } from './provision.js';
import { createGenerators, deleteGenerators, takeAddresses, type Generator } from '../lab/generator-net.js';
import type { NetnsLayout } from '../lab/netns.js';
import { isLocalHost } from '../util/target-address.js';
import { hostGenerators, instanceDir, runSplitWorkload } from './split-workload.js';
import { externalNote, externalRun, type ExternalTargetUrls } from './external.js';
import { HISTORY_FILES, WORKLOAD_FILES, appendFaultEvent, appendObservation, forEachWorkloadLogLine, workloadDir, writeConversationHistory, writeHistoryError, writeManifest, writeRunEnd, type RunManifest, type WorkloadEnd } from './history.js';

export { RunRefused } from './provision.js';
export { windowMsFor } from './analyze.js';
export { calibrate } from './calibration.js';
export type { RunManifest } from './history.js';

export const RUNS_DIR = join(HARNESS_ROOT, 'reports', 'runs');

export interface RunOptions {
  experiment: Experiment;
  /** Embedded target profile (overrides the experiment's). */
  profile?: ReferenceProfile;
  /** Extra embedded-target environment (knobs, single switches, test hooks). */
  targetEnv?: Record<string, string>;
  /** Extra k6 environment per workload id (applied last; `sch run -e` gives every workload the same). */
  workloadEnv?: Record<string, Record<string, string>>;
  /** k6 outputs for every workload (`sch run -o`, checked by parseK6Output); a file output gets each workload's id when there are several. */
  outputs?: string[];
  /** Stretch the timeline to this many seconds. */
  durationS?: number;
  /** Serve the fault timeline as Prometheus metrics here while the run lasts (sch run --metrics-listen). */
  metricsListen?: { host: string; port: number };
  /** Called with the metrics URL once it listens (port 0 picks one). */
  onMetricsListening?: (url: string) => void;
  /** Split every workload over this many load generators (sch run --generators; else each workload's own `generators`). */
  generators?: number;
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
  /** External targets: judge the verdicts by the catalogue's expectations for this reference profile. */
  expectProfile?: ReferenceProfile;
  /** Run against this external deployment instead of the experiment's target (sch run --target-url; external.ts). */
  externalTarget?: ExternalTargetUrls;
  /** Render the HTML report in headless Chromium and keep a PNG (default false). */
  screenshot?: boolean;
  onProgress?: (line: string) => void;
  /** Abort (SIGINT / SIGTERM): faults are rolled back, k6 stopped, what was measured is reported. */
  signal?: AbortSignal;
  /** Between checkpoints (checkpoint.ts: what `sch analyze` judges a run killed outright by); default 30 s. */
  checkpointEveryMs?: number;
  /**
   * Rotate raw samples into the windowed history at each checkpoint (sample-rotator.ts: bounded disk); default: for
   * runs longer than ROTATE_SAMPLES_AFTER_S.
   */
  rotateSamples?: boolean;
}

/** Runs longer than this rotate their raw samples by default (15 min: a few hundred MB of CSV at the probes' rates). */
export const ROTATE_SAMPLES_AFTER_S = 15 * 60;
/** Samples this recent stay raw at a rotation: a phase boundary near them may not be known yet (a fault being applied). */
const ROTATE_LAG_MS = 10_000;

/** A target outside loopback and the lab's namespace is refused unless allowRemote. */
export function checkTargetAddress(baseUrl: string, labAddress: string | null, allowRemote: boolean): void {
  checkRunTarget(baseUrl, labAddress, allowRemote);
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

/**
 * Build every fault up front (a bad spec fails before any load), and every occurrence of it: a repeating
 * fault (schedule.ts) is one Fault played once per cycle, each cycle with a record (and phases) of its own.
 */
function buildTimeline(e: Experiment, seed: number): TimelineEntry[] {
  const faults = new Map(e.faults.map((f) => [f.id, createFault(faultSpec(f))]));
  return expandSchedule(e.faults, e.durationS, seed).map((o) => {
    const fault = faults.get(o.entryId)!;
    const record: FaultRecord = {
      id: o.id, ...(o.cycle !== undefined ? { entryId: o.entryId, cycle: o.cycle } : {}),
      name: fault.name, mechanism: fault.mechanism, target: fault.target, params: fault.params, plannedStartS: o.startS, plannedDurationS: o.durationS,
      ...(fault.expectedLatencyMs !== undefined ? { expectedLatencyMs: fault.expectedLatencyMs } : {}),
      verified: false, verifyDetail: '', rolledBack: false,
    };
    return { fault, record, startS: o.startS, durationS: o.durationS };
  });
}

/** What the history keeps of a workload's end: k6's (ScenarioRunResult) or a video workload's. */
type Ended = { exitCode: number | null } & Pick<ScenarioRunResult, 'failedThresholds' | 'failure'>;

/** How a workload ended, for the history. */
function workloadEnd(w: Experiment['workloads'][number], r: Ended | Error | undefined, interrupted: boolean): WorkloadEnd {
  const base = w.kind === 'k6' ? { id: w.id, scenario: w.scenario, profile: w.profile } : { id: w.id, scenario: 'video', profile: w.video.topology };
  if (r === undefined) return { ...base, exitCode: null, failedThresholds: [], ...(interrupted ? {} : { failure: 'did not run' }) };
  if (r instanceof Error) return { ...base, exitCode: null, failedThresholds: [], failure: redact(r.message) };
  return { ...base, exitCode: r.exitCode, failedThresholds: r.failedThresholds, ...(r.failure !== null && !interrupted ? { failure: r.failure } : {}) };
}

/**
 * Run one experiment end to end and write its reports. Never throws for what the target does (that is
 * the verdict); throws RunRefused for a refused target, and returns a result with exitCode 2 and
 * `error` when the run itself could not be carried out.
 */
export async function runExperiment(o: RunOptions): Promise<RunResult> {
  let e = o.durationS ? scaleExperiment(o.experiment, o.durationS) : o.experiment;
  // External target (external.ts): the target replaced; what only the reference target takes is listed as not applied.
  const ext = externalRun(e, o);
  e = ext.experiment;
  if (o.profile && e.target.kind === 'embedded') e = { ...e, target: { ...e.target, profile: o.profile } };
  const profile = e.target.kind === 'embedded' ? e.target.profile : undefined;
  const seed = o.seed ?? e.seed ?? randomInt(1, 2 ** 31 - 1);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const runId = o.runId ?? `${stamp}-${e.name}${profile ? `-${profile}` : ''}`;
  const dir = join(o.runsDir ?? RUNS_DIR, runId);
  mkdirSync(dir, { recursive: true });
  const progress = (l: string) => o.onProgress?.(redact(l));
  const log = (l: string) => appendFileSync(join(dir, HISTORY_FILES.log), `${new Date().toISOString()} ${redact(l)}\n`);
  const labName = o.labName ?? DEFAULT_LAB;

  const manifest: RunManifest = {
    runId, createdAt: new Date().toISOString(), seed, experiment: e,
    options: { ...(profile ? { profile } : {}), ...(o.expectProfile && !profile ? { expectProfile: o.expectProfile } : {}), ...(o.targetEnv ? { targetEnv: o.targetEnv } : {}), ...(o.workloadEnv ? { workloadEnv: o.workloadEnv } : {}), labName, ...(o.basePort ? { basePort: o.basePort } : {}), allowRemote: o.allowRemote ?? false },
    versions: await versions(),
    ...(ext.notApplied.length ? { notApplied: ext.notApplied } : {}),
    ...(ext.assumedParams ? { assumedParams: ext.assumedParams } : {}),
    timeline: [],
  };
  const saveManifest = () => writeManifest(dir, manifest);
  saveManifest();
  const note = externalNote(ext);
  if (note) progress(note);

  const prov = new Provision(e, { labName, ...(o.basePort ? { basePort: o.basePort } : {}), ...(o.keepLab ? { keepLab: true } : {}), allowRemote: o.allowRemote ?? false, runId, ...(o.targetEnv ? { targetEnv: o.targetEnv } : {}), ...(o.targetPortBase !== undefined ? { targetPortBase: o.targetPortBase } : {}), ...(o.signal ? { signal: o.signal } : {}), log, progress });
  const workloadResults = new Map<string, Ended | Error>();
  const tails: K6Tail[] = [];
  /** Each followed samples file's rotation (rotateSamples), beside its tail. */
  const rotations: { tail: K6Tail; rotator: SampleRotator }[] = [];
  const rotate = o.rotateSamples ?? e.durationS > ROTATE_SAMPLES_AFTER_S;
  /** The observations' rotation (gzipped segments), on whenever the samples rotate. */
  const segmentBytes = Number(process.env.SCH_OBSERVATION_SEGMENT_BYTES); // a test's knob: small segments in a short run
  const observationRotator = rotate ? new ObservationRotator({ dir, log, ...(segmentBytes > 0 ? { minBytes: segmentBytes } : {}) }) : null;
  let timeline: FaultTimeline | null = null;
  /** The lab whose generator namespaces this run created (removed in finally), and the namespaces. */
  let generatorLab: NetnsLayout | null = null;
  let generatorPool: Generator[] | null = null;
  let observer: PathObserver | null = null;
  let generatorCpu: GeneratorCpuMonitor | null = null;
  // Set inside a closure (startServerObserver): typed by assertion so control-flow narrowing keeps the union.
  let serverObserver = null as ServerObserver | null;
  let checkpointer: Checkpointer | null = null;
  let runEndMs = Date.now();
  let error: string | undefined;
  const stopWork = new AbortController();
  const onAbort = () => stopWork.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  // A live view of the fault timeline beside k6's own outputs (fault-events.ts): up before any fault, down at the end.
  let liveMetrics: FaultMetrics | null = null;
  if (o.metricsListen) {
    liveMetrics = new FaultMetrics({ runId, experiment: e.name });
    const url = await liveMetrics.listen(o.metricsListen.host, o.metricsListen.port);
    progress(`fault timeline metrics: ${url}`);
    o.onMetricsListening?.(url);
  }

  try {
    // Browser participants cost CPU: a plan beyond the idle cores is refused before anything starts (generator-capacity.ts).
    const calls = e.workloads.flatMap((w) => (w.kind === 'video' ? [{ workload: w.id, video: w.video }] : []));
    if (calls.length) {
      const machine = await idleCores(1000);
      const problem = capacityProblem(calls, machine);
      log(`load generator: ${machine.idle.toFixed(2)} idle of ${machine.cores} cores at start${problem ? '' : '; the browser participants fit'}`);
      if (problem?.refuse) throw new RunRefused(problem.message);
      manifest.generator = { idleCores: Math.round(machine.idle * 100) / 100, cores: machine.cores, ...(problem ? { warning: problem.message } : {}) };
      saveManifest();
      if (problem) progress(problem.message);
    }
    await prov.up();
    manifest.target = prov.targetInfo(); // with target.exposure: how analyze calibrates
    saveManifest();
    if (o.signal?.aborted) throw new Error('interrupted');

    const entries = buildTimeline(e, seed);
    manifest.timeline = entries.map((f) => f.record);
    const ctx = prov.faultContext;
    if (entries.length > 0 && !ctx) throw new RunRefused('this experiment has faults but no lab or Toxiproxy to apply them through');
    timeline = new FaultTimeline(entries, {
      ctx: ctx!, log,
      onEvent: (ev) => {
        const fe = faultEvent(ev.type, ev.record);
        appendFaultEvent(dir, fe);
        liveMetrics?.record(fe);
        if (ev.type === 'applied') progress(`fault ${ev.record.id} applied (${ev.record.name} on ${ev.record.target})${ev.record.error ? `: ${ev.record.error}` : ''}`);
        if (ev.type === 'removed') progress(`fault ${ev.record.id} removed${ev.record.rolledBack ? '' : ' (rollback NOT clean)'}`);
        saveManifest();
      },
    });
    const proxyDeps = [...new Set(entries.filter((f) => f.fault.mechanism === 'toxiproxy').map((f) => f.fault.target))].filter((d): d is DependencyName => (DEPENDENCY_NAMES as readonly string[]).includes(d));

    // ---- the target's own view: each service's /metrics and processes (server-observer.ts), from an address of its
    // own; from before the load when the experiment observes the target around it (afterLoadS: phase before-load)
    let sources = 0;
    const startServerObserver = async () => {
      const scrapeFrom = await prov.sourceAddress(sources++);
      serverObserver = new ServerObserver({ services: prov.observedServices(), record: (s) => appendObservation(dir, s), log, intervalMs: scrapeIntervalMs(e.durationS), ...(scrapeFrom ? { localAddress: scrapeFrom } : {}) });
      serverObserver.start();
    };
    if (e.afterLoadS > 0) {
      // Before the observer's first tick, so its first readings fall inside before-load.
      manifest.observedFromMs = Date.now();
      await startServerObserver();
      saveManifest();
    }

    // ---- workloads
    const runTag = createHash('sha256').update(`${seed}-${runId}`).digest('hex').slice(0, 8);
    const meter = new ProgressMeter(10);
    let firstSample = 0;
    const loading = new Set<string>();
    const workloadRuns: Promise<void>[] = [];
    /** When video workloads take their pictures (filled once the clock starts). */
    const frameTimes: number[] = [];
    for (const w of e.workloads) {
      const outDir = workloadDir(dir, w.id);
      mkdirSync(outDir, { recursive: true });
      // A video workload is one set of browsers; a k6 workload may be split over generators.
      const generators = w.kind === 'k6' ? (o.generators ?? w.generators) : 1;
      // The plain CSV k6 writes while it runs (runScenario gzips it afterwards; the open file is read to its end); one per instance of a split workload.
      const follow = (path: string, extraTags: Record<string, string>) => {
        const rotator = rotate ? new SampleRotator({ samplesPath: path, windowsPath: join(dirname(path), WORKLOAD_FILES.windows), kindOf: sampleKinds(dirname(path)), log }) : null;
        const tail = new K6Tail(path, (s) => {
          rotator?.add(s);
          // The load has started when every workload runs its scenarios: a k6 sample of an iteration carries its
          // `scenario` tag (setup()'s requests, and k6's own vus / data gauges while setup runs, carry none); a video
          // workload's samples are all of its call. A workload whose setup takes longer (accounts to register) must
          // not lose its baseline to the others' start.
          if (!firstSample && (w.kind !== 'k6' || (s.tags.scenario !== undefined && s.tags.scenario !== ''))) {
            loading.add(w.id);
            if (loading.size === e.workloads.length) firstSample = Date.now();
          }
          meter.add(s);
        }, { intervalMs: 1000, extraTags });
        tails.push(tail);
        if (rotator) rotations.push({ tail, rotator });
        tail.start();
      };
      if (generators > 1) for (let g = 1; g <= generators; g++) follow(join(outDir, instanceDir(g), WORKLOAD_FILES.samplesLive), { workload: w.id, generator: instanceDir(g) });
      else follow(join(outDir, WORKLOAD_FILES.samplesLive), { workload: w.id });
      if (w.kind === 'video') {
        // Browser participants (src/media/video-workload.ts): the same samples file, read the same way.
        const videoUrl = prov.videoUrl;
        if (!videoUrl) throw new RunRefused(`workload ${w.id}: a video call needs the video service (the embedded target's services, or target.videoUrl)`);
        workloadRuns.push(runVideoWorkload({
          id: w.id, video: w.video, durationS: e.durationS, baseUrl: prov.baseUrl, videoUrl, outDir, tags: { workload: w.id },
          chromiumPrefix: prov.lab?.execPrefix ?? [], pageHost: prov.lab?.netns?.hostAddress ?? '127.0.0.1', captureAt: () => frameTimes, endsAt: () => (manifest.runStartMs === undefined ? 0 : manifest.runStartMs + e.durationS * 1000),
          signal: AbortSignal.any([stopWork.signal, AbortSignal.timeout((e.durationS + 180) * 1000)]),
        }).then(
          (r) => { workloadResults.set(w.id, { exitCode: r.failure ? null : 0, failedThresholds: [], failure: r.failure }); log(`workload ${w.id}: video call ended${r.failure ? `: ${r.failure}` : ''}; ${r.samples} samples${r.cpuPercentPerParticipant !== null ? `; browser CPU ${r.cpuPercentPerParticipant} % of a core per participant` : ''}`); },
          (err: Error) => { workloadResults.set(w.id, err); log(`workload ${w.id}: ${err.message}`); },
        ));
        continue;
      }
      // k6 binds this process's connections to the address (K6_LOCAL_IPS: an option k6 takes only from its environment).
      // Spread: VU n sends from address n mod count, so each address carries its share of the workload's rate.
      const count = w.ownSourceAddress ? 1 : w.sourceAddresses > 1 ? w.sourceAddresses : 0;
      // Generators in namespaces of their own bring their own addresses (generator-net.ts): none taken from the host then.
      const ownNets = generators > 1 && prov.lab?.netns !== null && prov.lab?.netns !== undefined && isLocalHost(new URL(prov.baseUrl).hostname, prov.lab.address);
      let addresses: string[] = [];
      const wanted = ownNets ? 0 : generators > 1 ? Math.max(count, 1) * generators : count;
      for (let i = 0; i < wanted; i++) {
        const a = await prov.sourceAddress(sources++);
        if (a === null) {
          // Nowhere to take further client addresses from: the workload shares the host's one, and the report says so.
          addresses = [];
          manifest.notApplied = [...(manifest.notApplied ?? []), `workload ${w.id}: sourceAddresses=${count} (the target is neither on loopback nor in the lab's network: one client address)`];
          progress(`workload ${w.id}: cannot spread over ${count} client addresses (the target is neither on loopback nor in the lab's network); the deployment's per-IP rate limit may throttle its probes`);
          saveManifest();
          break;
        }
        addresses.push(a);
      }
      const outputs = outputsForWorkload(o.outputs ?? [], w.id, e.workloads.length > 1);
      if (outputs.length) log(`workload ${w.id}: k6 outputs ${outputs.join(' ')}`);
      if (w.via === 'edge') log(`workload ${w.id}: through the public entry ${prov.edge!.url}`);
      const perGenerator = Math.max(1, Math.ceil(Math.max(count, 1) / generators));
      const totalAddresses = generators > 1 ? (ownNets ? perGenerator * generators : Math.max(1, addresses.length)) : Math.max(1, addresses.length);
      const edgeEnv: Record<string, string> = prov.edge ? { SC_EDGE_URL: prov.edge.url, SC_EDGE_PLAIN_URL: prov.edge.plainUrl, SC_EDGE_TLS_URL: prov.edge.tlsUrl } : {};
      const sized = { SC_SOURCE_ADDRESSES: String(totalAddresses), SC_RATE_LIMIT_PER_MINUTE: String(e.params.rateLimitPerMinute), SC_WS_MAX_CONNECTIONS: String(e.params.wsMaxConnections) };
      // The lab's certificate is k6's only trusted root for this run (Go reads SSL_CERT_FILE): nothing is disabled.
      const trustEdge: Record<string, string> = prov.edge ? { SSL_CERT_FILE: prov.edge.caFile } : {};
      const base = {
        name: w.scenario, baseUrl: w.via === 'edge' ? prov.edge!.url : prov.baseUrl, profile: w.profile, signal: stopWork.signal, spoolOutput: true,
        timeoutMs: (e.durationS + 180) * 1000,
        tags: { workload: w.id },
        allowRemote: o.allowRemote ?? false, labAddress: prov.lab?.address ?? null, outputs,
        // The sch output writes only what the analysis of this experiment reads.
        sampleMetrics: sampleMetricsFor(e),
        env: { SC_DURATION: `${e.durationS}s`, SC_RUN_ID: `${runTag}${w.id.replace(/[^a-z0-9]/g, '')}`.slice(0, 14), ...(prov.videoUrl ? { SC_VIDEO_URL: prov.videoUrl } : {}), ...edgeEnv, ...sized, ...w.env, ...(o.workloadEnv?.[w.id] ?? {}) },
        k6Env: trustEdge,
      };
      let started: Promise<ScenarioRunResult>;
      if (generators > 1) {
        if (ownNets && !generatorPool) {
          // One set of generator namespaces per run, as many as the most split workload needs; each workload takes addresses of its own in them.
          const most = Math.max(...e.workloads.map((x) => (x.kind === 'k6' ? (o.generators ?? x.generators) : 1)));
          generatorPool = await createGenerators(prov.lab!.netns!, most);
          generatorLab = prov.lab!.netns!;
        }
        const gens = ownNets
          ? await Promise.all(generatorPool!.slice(0, generators).map(async (g) => ({ index: g.index, netns: g.netns, addresses: await takeAddresses(g, perGenerator) })))
          : hostGenerators(generators, addresses);
        log(`workload ${w.id}: ${generators} generators${ownNets ? ` in namespaces of their own (${gens.map((g) => `${g.netns}: ${g.addresses.join(',')}`).join('; ')})` : ' on this host'}`);
        started = runSplitWorkload({ base, outDir, generators: gens, log: (l) => log(`workload ${w.id}: ${l}`) });
      } else {
        started = runScenario({ ...base, outDir, samplesFile: WORKLOAD_FILES.samples, k6Env: { ...trustEdge, ...(addresses.length ? { K6_LOCAL_IPS: addresses.join(',') } : {}) } });
      }
      workloadRuns.push(started.then(
        (r) => { workloadResults.set(w.id, r); log(`workload ${w.id}: k6 exited ${r.exitCode} (${r.outcome})${r.failure ? `: ${r.failure}` : ''}${r.failedThresholds.length ? `; thresholds crossed: ${r.failedThresholds.join('; ')}` : ''}`); },
        (err: Error) => { workloadResults.set(w.id, err); log(`workload ${w.id}: ${err.message}`); },
      ));
    }
    const allDone = Promise.all(workloadRuns);
    let finished = false;
    void allDone.then(() => { finished = true; });

    // The timeline starts with the load: once every workload has written a sample past its setup (at most 60 s of setup).
    const waitStart = Date.now();
    while (!firstSample && !finished && !stopWork.signal.aborted && Date.now() - waitStart < 60_000) await sleepUnless(200, stopWork.signal);
    const runStartMs = firstSample ? Math.min(firstSample, Date.now()) - 1000 : Date.now();
    manifest.runStartMs = runStartMs;
    saveManifest();
    // The report's filmstrip: a picture in the middle of each phase as planned (analyze picks, for each phase as it
    // really happened, the picture nearest its middle).
    const planned = entries.map((f) => ({ ...f.record, appliedAtMs: runStartMs + f.startS * 1000, removedAtMs: runStartMs + (f.startS + f.durationS) * 1000 }));
    frameTimes.push(...derivePhases(runStartMs, runStartMs + e.durationS * 1000, planned, e.recoveryS).map((p) => Math.round((p.startMs + p.endMs) / 2)));
    progress(`load running; fault timeline started (${entries.length} fault${entries.length === 1 ? '' : 's'})`);

    // ---- the generator's own CPU, per second (a verdict from a saturated generator is INCONCLUSIVE)
    generatorCpu = new GeneratorCpuMonitor({ record: (s) => appendObservation(dir, s) });
    generatorCpu.start();

    // ---- the checkpoint: what a run killed outright is analyzed up to (checkpoint.ts), and the harness's own memory
    const tlNow = timeline;
    // Phase boundaries known so far (phases.ts: a fault's guard, apply, removal, end of recovery): their seconds stay raw.
    const boundaries = () => [...(manifest.loadEndMs !== undefined ? [manifest.loadEndMs] : []), ...tlNow.records.flatMap((r) => [
      ...(r.appliedAtMs !== undefined ? [r.appliedAtMs - BASELINE_GUARD_MS, r.appliedAtMs] : []),
      ...(r.removedAtMs !== undefined ? [r.removedAtMs, r.removedAtMs + e.recoveryS * 1000] : []),
    ])];
    checkpointer = new Checkpointer({
      dir, runStartMs, log, record: (s) => appendObservation(dir, s), ...(o.checkpointEveryMs ? { intervalMs: o.checkpointEveryMs } : {}),
      ...(rotate ? { afterCheckpoint: async (c) => {
        for (const r of rotations) await r.rotator.rotate(r.tail.completeBytes, runStartMs, boundaries(), Math.min(c.completeToMs, Date.now() - ROTATE_LAG_MS));
        await observationRotator?.rotate();
      } } : {}),
      state: () => ({ faultsOn: tlNow.active(), workloads: e.workloads.map((w) => {
        const r = workloadResults.get(w.id);
        return r === undefined ? { id: w.id, state: 'running' as const } : { id: w.id, state: 'ended' as const, exitCode: r instanceof Error ? null : r.exitCode };
      }) }),
    });
    checkpointer.start();


    if (!serverObserver) await startServerObserver();
    // The baseline ends at the first fault (a run without one: a minute in); after it the scrapes thin out.
    serverObserver?.sparseFrom(runStartMs + (entries.length ? Math.min(...entries.map((f) => f.startS)) : 60) * 1000);

    // ---- observers: the target's own connections through each faulted proxy, and path probes from 4 s before the first fault
    if (prov.lab && proxyDeps.length > 0) {
      const firstFaultS = Math.min(...entries.map((f) => f.startS));
      observer = new PathObserver({
        lab: prov.lab, deps: proxyDeps, probeDeps: [...new Set(entries.filter((f) => f.fault.expectedLatencyMs !== undefined).map((f) => f.fault.target))].filter((d): d is DependencyName => proxyDeps.includes(d as DependencyName)), exposure: prov.exposureSource(), log,
        record: (s) => appendObservation(dir, s),
        probeFromMs: runStartMs + Math.max(2, firstFaultS - 4) * 1000,
      });
      observer.start();
    }

    // ---- progress line
    const tl = timeline;
    const progressTimer = setInterval(() => {
      const t = Math.round((Date.now() - runStartMs) / 1000);
      const on = tl.active();
      const recent = tl.recentlyRemoved(e.recoveryS * 1000);
      const phase = on.length ? `fault:${on.join('+')}` : recent ? `recovery:${recent}` : tl.anyApplied() ? 'after' : 'baseline';
      // A soak's reader wants to know what comes next and when, not only what is on.
      const next = tl.next();
      const upcoming = next ? `next ${next.id} in ${formatDuration(Math.ceil(next.inMs / 1000) * 1000)}` : 'no fault to come';
      progress(`t=${t}s/${e.durationS}s  phase ${phase}  ${upcoming}  faults [${on.join(', ') || '-'}]  ${meter.line()}`);
    }, 2000);

    try {
      await timeline.play(runStartMs, stopWork.signal, () => finished);
      await allDone;
      if (e.afterLoadS > 0 && !stopWork.signal.aborted) {
        // The load is over; the target is still read a while (phase after-load): what it took, does it give back?
        manifest.loadEndMs = Date.now();
        saveManifest();
        progress(`load ended; observing the target for ${e.afterLoadS} s more`);
        await sleepUnless(e.afterLoadS * 1000, stopWork.signal);
      }
    } finally {
      clearInterval(progressTimer);
      observer?.stop();
      generatorCpu.stop();
      serverObserver?.stop();
      await checkpointer.drain();
      stopWork.abort();
      await timeline.rollbackAll();
      runEndMs = Date.now();
      for (const t of tails) await t.stop().catch(() => undefined);
      saveManifest();
      for (const r of rotations) log(`samples rotated: ${r.rotator.segments} segments, ${(r.rotator.released / 1048576).toFixed(1)} MiB released from ${r.tail.path}`);
      if (observationRotator) {
        // The rest too (the checkpoints are over): a soak's history is left compressed.
        await observationRotator.rotate(0);
        log(`observations rotated: ${observationRotator.segments} segments, ${(observationRotator.plainBytes / 1048576).toFixed(1)} MiB of lines in ${(observationRotator.gzBytes / 1048576).toFixed(1)} MiB`);
      }
    }

    // ---- conversation histories (they need the target: before it stops)
    for (const h of e.hypotheses) {
      if (h.kind !== 'nothing-lost' || existsSync(join(workloadDir(dir, h.workload), WORKLOAD_FILES.history))) continue;
      // The same record the analysis reads: the workload's k6 log in the history.
      const parsed = emptyK6Log();
      if (!(await forEachWorkloadLogLine(dir, h.workload, (line) => { if (line.includes('SETUP')) addK6LogLine(parsed, line); }))) continue;
      const setups = parsed.setups;
      try {
        // The reader waits out the rate limit's windows and a target still recovering (src/k6/history.ts).
        const history: Record<string, string[]> = {};
        for (const s of setups) {
          history[s.conversation_id] = await conversationHistory(prov.baseUrl, s.conversation_id, { log, ...(o.signal ? { signal: o.signal } : {}) });
          log(`history of ${h.workload}'s conversation ${s.conversation_id}: ${history[s.conversation_id]!.length} ids`);
        }
        writeConversationHistory(dir, h.workload, history);
      } catch (err) {
        writeHistoryError(dir, h.workload, `reading the history: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    error = err instanceof RunRefused ? err.message : `run failed: ${(err as Error).message}`;
    log(error);
    if (err instanceof RunRefused && !prov.lab) throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    observer?.stop();
    generatorCpu?.stop();
    serverObserver?.stop();
    checkpointer?.stop();
    await timeline?.rollbackAll().catch(() => undefined);
    if (generatorLab) await deleteGenerators(generatorLab).catch((err: Error) => log(`generators: ${err.message}`));
    await prov.down();
    await liveMetrics?.close();
    if (timeline) manifest.timeline = timeline.records;
    saveManifest();
  }

  const interrupted = o.signal?.aborted === true;
  if (interrupted) error = 'interrupted (SIGINT/SIGTERM): faults rolled back, partial results reported';
  writeRunEnd(dir, { runEndMs, ...(error ? { error } : {}), interrupted, workloads: e.workloads.map((w) => workloadEnd(w, workloadResults.get(w.id), interrupted)) });

  // ---- analysis: from the history alone, exactly as `sch analyze` does it
  const result = await analyzeRun(dir);
  const { writeReports } = await import('../../reports/index.js');
  result.files = [...result.files, ...(await writeReports(result, dir, { screenshot: o.screenshot === true }))];
  return result;
}
