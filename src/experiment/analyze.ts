/**
 * Analysis of a run from its history alone (src/experiment/history.ts): phases from the faults as they
 * happened, every sample through the result pipeline, calibration, hypotheses, claims, the reports.
 * The runner ends with exactly this, so `sch analyze <run>` on a copied run directory reproduces its
 * result.json — and a newer checker can re-judge an old run.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ResultPipeline } from '../results/pipeline.js';
import { decodeAccumulator, forEachSegment } from '../results/window-segment.js';
import { RESULT_SCHEMA_VERSION, type MetricKind, type RunFile, type RunResult, type Sample, type SeriesSelector } from '../results/model.js';
import { withExpectations } from '../results/expectation.js';
import { addK6LogLine, emptyK6Log, type FanoutData } from '../k6/fanout-checker.js';
import { addSetupLogLine, emptySetupLog } from '../k6/setup-log.js';
import { redact } from '../util/redact.js';
import { processAlive } from '../util/process-alive.js';
import { runExitCode } from '../util/exit-codes.js';
import { evaluateClaims, evaluateHypotheses } from '../verdicts/evaluate.js';
import { GENERATOR_BUSY_METRIC, label } from '../verdicts/common.js';
import { BROWSER_METRICS } from '../media/video-stats.js';
import { VIDEO_PROBES } from '../media/video-spec.js';
import { selectorsOf } from '../verdicts/kinds/index.js';
import { CALIBRATION_READINGS, MEDIA_LOSS_METRICS, calibrate, type MediaPath } from './calibration.js';
import { loadClaims, type Claim } from './claims.js';
import { cutShortPhases, derivePhases } from './phases.js';
import { CHECKPOINT_FILE, HARNESS_MEMORY_METRIC, readCheckpoint, type Checkpoint } from './checkpoint.js';
import { harnessMemoryNote } from './harness-memory.js';
import { saturationNote } from './saturation-note.js';
import { HISTORY_FILES, HistoryError, WORKLOAD_FILES, forEachObservation, forEachWorkloadLogLine, observationFiles, readConversationHistory, readManifest, readRunEnd, windowsIn, workloadDir, workloadSampleFiles, type RunEnd, type RunManifest } from './history.js';
import { BUILTIN_METRIC_KINDS, readMetricKinds } from '../k6/metric-kinds.js';
import { DEFAULT_SAMPLE_METRICS, SAMPLE_METRIC_PATTERN } from '../k6/sample-metrics.js';
import type { Experiment } from './spec.js';
import { pickFilmstrip } from './filmstrip.js';
import { FRAME_FILES, readFrameLines } from '../media/frame-store.js';
import { participantLabels } from '../media/video-spec.js';

/** What the report charts per participant of a video workload (reports/charts.ts VIDEO_CHARTS draws them). */
export const PARTICIPANT_SERIES = [
  { metric: 'sc_video_fps' },
  { metric: 'sc_media_loss', tags: { kind: 'video' } },
  { metric: 'sc_media_jitter', tags: { kind: 'video' } },
  { metric: 'sc_video_freeze_ms' },
] as const satisfies readonly SeriesSelector[];
import { METRICS_UP, PROCESS_CPU, PROCESS_FDS, PROCESS_RSS, observedServiceNames } from './server-observer.js';
import { SERVER_METRIC } from './prometheus-text.js';
import { dialectOf } from './server-quantities.js';

/** 1 s windows up to 10 minutes, then at most ~600 windows: memory stays bounded on long soaks. */
export const windowMsFor = (durationS: number): number => Math.max(1000, Math.ceil(durationS / 600) * 1000);

/** The runner's observations and their kinds. */
const OBSERVATION_KINDS: Record<string, MetricKind> = {
  sc_path_rtt: 'trend', sc_target_connections: 'gauge', sc_proxy_bytes: 'gauge', sc_generator_busy: 'trend', sc_generator_cores: 'trend', sc_generator_starved: 'trend',
  // The target's own view (server-observer.ts): a scrape answered or not; readings as trends (exact mean, percentiles).
  [METRICS_UP]: 'rate', [SERVER_METRIC]: 'trend', [PROCESS_RSS]: 'trend', [PROCESS_FDS]: 'trend', [PROCESS_CPU]: 'trend',
  // The harness's own memory (checkpointer.ts): what a soak's harness costs, over its length.
  [HARNESS_MEMORY_METRIC]: 'trend',
};

/** Kinds of the metrics analyze reads, before each samples file's own (metric-kinds.json) are laid over them. */
export const BASE_METRIC_KINDS: Record<string, MetricKind> = { ...OBSERVATION_KINDS, sc_attempt: 'counter', sc_outcome: 'counter' };

/** A metric's kind as analyze will take it for the samples in `dir` (what the rotator sums them as). */
export function sampleKinds(dir: string): (metric: string) => MetricKind {
  const path = join(dir, WORKLOAD_FILES.metricKinds);
  // Read when first asked once the file is there, not when made: the runner makes its sample rotator before k6 starts
  // and writes the file (read then, k6's built-ins — http_req_failed a rate — were folded as trends).
  let own: Record<string, MetricKind> | null = null;
  return (m) => {
    if (own === null && existsSync(path)) own = readMetricKinds(path);
    return own?.[m] ?? BUILTIN_METRIC_KINDS[m] ?? BASE_METRIC_KINDS[m] ?? 'trend';
  };
}

/**
 * Feed a samples file's windowed history (window-segment.ts) into the pipeline: each segment's raw samples, and its
 * summed windows; the segments must follow each other from byte 0. Returns how many samples, and the byte where the
 * raw lines still in the file start (0: no windowed history).
 */
export async function feedWindowedHistory(pipeline: ResultPipeline, path: string): Promise<{ points: number; toByte: number }> {
  if (!existsSync(path)) return { points: 0, toByte: 0 };
  let toByte = 0;
  let points = 0;
  // Counted as the raw reader counts: the samples of the metrics the analysis reads.
  const wanted = new Set(pipeline.metrics);
  await forEachSegment(path, (seg) => {
    if (seg.fromByte !== toByte) throw new HistoryError(`${path}: a segment starts at byte ${seg.fromByte}, the one before it ended at ${toByte}`);
    toByte = seg.toByte;
    for (const s of seg.raw) {
      if (!wanted.has(s.metric)) continue;
      pipeline.add(s);
      points++;
    }
    for (const ser of seg.series) {
      if (!wanted.has(ser.metric)) continue;
      for (const { w, acc } of ser.windows) {
        pipeline.addAggregate(ser.metric, ser.tags, seg.runStartMs + w * seg.windowMs, seg.windowMs, decodeAccumulator(acc));
        points += acc.count;
      }
    }
  });
  return { points, toByte };
}

/** Default series for the report, plus everything hypotheses and calibration read. */
export function selectorsFor(e: Experiment, proxyDeps: readonly string[]): SeriesSelector[] {
  const out = new Map<string, SeriesSelector>();
  const add = (s: SeriesSelector) => out.set(label(s), s.tags ? { metric: s.metric, tags: s.tags } : { metric: s.metric });
  add({ metric: 'http_req_duration' });
  add({ metric: 'http_req_failed' });
  // The load generator's own CPU (generator-cpu.ts), per phase in the report; the checker reads the busy share.
  add({ metric: GENERATOR_BUSY_METRIC });
  add({ metric: HARNESS_MEMORY_METRIC, tags: { kind: 'rss' } });
  if (e.workloads.some((w) => w.kind === 'video')) {
    add({ metric: 'sc_generator_cores', tags: { part: 'browsers' } });
    add({ metric: 'sc_generator_starved', tags: { part: 'browsers' } });
  }
  if (e.workloads.some((w) => w.kind === 'k6')) add({ metric: 'sc_generator_cores', tags: { part: 'k6' } });
  for (const w of e.workloads) {
    if (w.kind === 'video') {
      // What a participant sees, for the report: fps and loss per participant and track, joins' outcomes.
      add({ metric: 'sc_video_fps' });
      add({ metric: 'sc_media_loss', tags: { kind: 'video' } });
      add({ metric: 'sc_video_freezes' });
      add({ metric: 'sc_call_join_latency' });
      // Per participant, what it received (every remote track): the report's quality charts.
      for (const participant of participantLabels(w.video)) {
        for (const s of PARTICIPANT_SERIES) add({ metric: s.metric, tags: { ...('tags' in s ? s.tags : {}), workload: w.id, participant } });
      }
      // The TURN loss calibration (calibration.ts: mediaLossCalibration).
      for (const metric of MEDIA_LOSS_METRICS) add({ metric, tags: { kind: 'video' } });
      continue;
    }
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
  for (const h of e.hypotheses) for (const s of selectorsOf(h)) add(s);
  // Each observed service: whether its /metrics answered, and (embedded) its resident memory. Its open files, CPU and
  // /metrics series stay in the history for the hypotheses that name them (a report of every one would bury the rest).
  for (const service of observedServiceNames(e)) {
    add({ metric: METRICS_UP, tags: { service } });
    if (e.target.kind === 'embedded') add({ metric: PROCESS_RSS, tags: { service } });
  }
  for (const d of proxyDeps) {
    add({ metric: 'sc_path_rtt', tags: { dep: d } });
    add({ metric: 'sc_target_connections', tags: { proxy: d } });
    add({ metric: 'sc_proxy_bytes', tags: { proxy: d } });
  }
  return [...out.values()];
}

/**
 * The metrics a run's k6 writes as raw samples (runScenario's `sampleMetrics`, the sch output): what the
 * analysis reads — the selectors above, with the harness's defaults — and nothing else. A selected name the
 * output cannot take as a pattern (a script of your own may name a metric freely) writes every metric.
 */
export function sampleMetricsFor(e: Experiment): readonly string[] | 'all' {
  const names = [...new Set([...DEFAULT_SAMPLE_METRICS, ...selectorsFor(e, []).map((s) => s.metric)])];
  return names.every((m) => SAMPLE_METRIC_PATTERN.test(m)) ? names : 'all';
}

/** The files of a history, in a fixed order (result.json lists them). */
function historyFiles(dir: string, e: Experiment): RunFile[] {
  const files: RunFile[] = [{ kind: 'manifest', path: HISTORY_FILES.manifest }];
  if (existsSync(join(dir, HISTORY_FILES.run))) files.push({ kind: 'run', path: HISTORY_FILES.run });
  if (existsSync(join(dir, CHECKPOINT_FILE))) files.push({ kind: 'checkpoint', path: CHECKPOINT_FILE });
  files.push({ kind: 'log', path: HISTORY_FILES.log });
  for (const f of observationFiles(dir)) files.push({ kind: 'observations', path: relative(dir, f.path) });
  if (existsSync(join(dir, HISTORY_FILES.events))) files.push({ kind: 'events', path: HISTORY_FILES.events });
  for (const w of e.workloads) {
    const wd = workloadDir(dir, w.id);
    if (!existsSync(wd)) continue;
    const present = new Set(readdirSync(wd));
    for (const f of workloadSampleFiles(dir, w.id)) {
      const windows = windowsIn(f.dir);
      if (windows) files.push({ kind: 'windows', path: relative(dir, windows) });
      files.push({ kind: 'samples', path: relative(dir, f.path) });
    }
    if (present.has(WORKLOAD_FILES.summary)) files.push({ kind: 'k6-summary', path: `workloads/${w.id}/${WORKLOAD_FILES.summary}` });
    for (const f of [WORKLOAD_FILES.log, WORKLOAD_FILES.logGz]) if (present.has(f)) files.push({ kind: 'k6-log', path: `workloads/${w.id}/${f}` });
    if (present.has(WORKLOAD_FILES.history)) files.push({ kind: 'history', path: `workloads/${w.id}/${WORKLOAD_FILES.history}` });
    if (present.has(FRAME_FILES.index)) files.push({ kind: 'frames', path: `workloads/${w.id}/${FRAME_FILES.index}` });
  }
  return files;
}

export interface AnalyzeOptions {
  claims?: Claim[];
  /** Where the analysis says what it reads (progress on long runs). */
  log?: (line: string) => void;
}

/**
 * How the run ended: its run.json; or, when there is none (or a damaged one: the run was killed while writing it), its
 * last checkpoint — the run was killed outright, and is judged up to the time its history is complete.
 */
function runEndOf(dir: string, m: RunManifest): { end: RunEnd; killed?: Checkpoint } {
  let problem: string;
  try {
    return { end: readRunEnd(dir) };
  } catch (err) {
    if (!(err instanceof HistoryError)) throw err;
    problem = err.message;
  }
  const cp = readCheckpoint(dir);
  if (!cp) throw new HistoryError(`${problem}; and no ${CHECKPOINT_FILE} either: the run ended before its load started, nothing to judge`);
  // A live runner with a fresh checkpoint: the run is going on, not killed.
  if (processAlive(cp.pid) && Date.now() - cp.atMs < 10 * 60_000) throw new HistoryError(`${dir}: the run is still going (its runner, pid ${cp.pid}, wrote its last checkpoint ${Math.round((Date.now() - cp.atMs) / 1000)} s ago): analyze it once it ends`);
  const e = m.experiment;
  const at = new Date(cp.completeToMs).toISOString();
  const error = `the run did not finish (killed outright: no ${HISTORY_FILES.run}${existsSync(join(dir, HISTORY_FILES.run)) ? ' that reads' : ''}); judged up to its last checkpoint, ${at} (t=${Math.round((cp.completeToMs - (m.runStartMs ?? cp.runStartMs)) / 1000)} s of ${e.durationS} s)${cp.faultsOn.length ? `, with fault${cp.faultsOn.length > 1 ? 's' : ''} ${cp.faultsOn.join(', ')} still on` : ''}`;
  const workloads = e.workloads.map((w) => {
    const st = cp.workloads.find((x) => x.id === w.id);
    return { id: w.id, scenario: w.kind === 'k6' ? w.scenario : 'video', profile: w.kind === 'k6' ? w.profile : w.video.topology, exitCode: st?.exitCode ?? null, failedThresholds: [] };
  });
  return { end: { runEndMs: cp.completeToMs, error, interrupted: true, workloads }, killed: cp };
}

/** Re-derive a run's result from its directory (no report is written: see writeReports). */
export async function analyzeRun(dir: string, o: AnalyzeOptions = {}): Promise<RunResult> {
  const m = readManifest(dir);
  const { end, killed } = runEndOf(dir, m);
  const e = m.experiment;
  const runStartMs = m.runStartMs ?? killed?.runStartMs ?? end.runEndMs;
  const records = m.timeline;
  const phases = derivePhases(runStartMs, end.runEndMs, records, e.recoveryS, { observedFromMs: m.observedFromMs, loadEndMs: m.loadEndMs });
  // A run that stopped early: what it cut short proves nothing (evaluate.ts); the rest is judged as usual.
  const cutShort = end.interrupted ? cutShortPhases(phases, { runStartMs, stoppedAtMs: end.runEndMs, plannedDurationS: e.durationS, faults: records, recoveryS: e.recoveryS }) : undefined;
  const proxyDeps = [...new Set(records.filter((r) => r.mechanism === 'toxiproxy').map((r) => r.target))];
  // Killed: samples written after the checkpoint may be cut anywhere (a file half-flushed): the history ends there.
  const pipeline = new ResultPipeline({ phases, selectors: selectorsFor(e, proxyDeps), runStartMs, runEndMs: end.runEndMs, windowMs: windowMsFor(e.durationS), metricKinds: BASE_METRIC_KINDS, ...(killed ? { untilMs: end.runEndMs } : {}) });

  const workloads: RunResult['workloads'] = [];
  for (const w of e.workloads) {
    let points = 0;
    // One file, or one per generator of a split workload: all into the same histograms and counters (an exact merge).
    for (const f of workloadSampleFiles(dir, w.id)) {
      // CSV carries no metric kinds: the run wrote them beside it (a JSON file declares its own).
      for (const [m, k] of Object.entries(readMetricKinds(join(f.dir, WORKLOAD_FILES.metricKinds)))) pipeline.setMetricKind(m, k);
      o.log?.(`reading samples of ${w.id}${f.generator ? ` (${f.generator})` : ''}`);
      // A long run's rotated samples (sample-rotator.ts): the windowed history first, then the raw lines after its end.
      const windows = windowsIn(f.dir);
      const rotated = windows ? await feedWindowedHistory(pipeline, windows) : { points: 0, toByte: 0 };
      points += rotated.points + (await pipeline.readK6(f.path, { extraTags: { workload: w.id, ...(f.generator ? { generator: f.generator } : {}) }, ...(rotated.toByte > 0 ? { fromByte: rotated.toByte } : {}) })).points;
    }
    const we = end.workloads.find((x) => x.id === w.id);
    workloads.push({ id: w.id, scenario: w.kind === 'k6' ? w.scenario : 'video', profile: w.kind === 'k6' ? w.profile : w.video.topology, exitCode: we?.exitCode ?? null, samples: points, failedThresholds: we?.failedThresholds ?? [] });
  }
  // Streamed (a soak's server metrics are many); calibration keeps only the readings it reads.
  const observations: Sample[] = [];
  await forEachObservation(dir, (s) => {
    if (s.metric !== 'sc_path_ok') pipeline.add(s);
    if (CALIBRATION_READINGS.has(s.metric)) observations.push(s);
  });

  const relayCall = e.workloads.find((w) => w.kind === 'video' && w.video.icePolicy === 'relay');
  // Both topologies cross coturn 4 times on relay (calibration.ts: MediaPath).
  const media: MediaPath | undefined = relayCall?.kind === 'video' ? { crossings: 4, topology: relayCall.video.topology } : undefined;
  const calibration = calibrate({ records, source: pipeline, exposure: m.target?.exposure ?? (m.target?.kind === 'external' ? 'proxy-counters' : 'processes'), runStartMs, readings: observations, ...(media ? { media } : {}) });
  // Each workload's k6 console output, streamed once (a soak's is tens of MB; a split workload's is several files):
  // the nothing-lost checks' SETUP / SENT / DELIVERY records, and what every workload said of its own setup.
  const fanout: Record<string, FanoutData | { error: string }> = {};
  const setupFailures: Record<string, string> = {};
  const notes: string[] = [];
  const sessionsFromRegistration = new Map<string, string[]>();
  const nothingLost = new Set(e.hypotheses.flatMap((h) => (h.kind === 'nothing-lost' ? [h.workload] : [])));
  for (const w of e.workloads) {
    const log = nothingLost.has(w.id) ? emptyK6Log() : null;
    const s = emptySetupLog();
    const had = await forEachWorkloadLogLine(dir, w.id, (line) => {
      addSetupLogLine(s, line);
      if (log) addK6LogLine(log, line);
    });
    if (log) {
      // A split workload: the setup-only run's SETUP records, then every instance's SENT / DELIVERY records.
      const history = readConversationHistory(dir, w.id);
      if (!had) fanout[w.id] = { error: 'the workload left no k6 log (it never ran?)' };
      else if (log.setups.length === 0) fanout[w.id] = { error: 'no SETUP record in the k6 log (setup failed?)' };
      else if ('error' in history) fanout[w.id] = { log, historyError: String(history.error) };
      else fanout[w.id] = { log, history };
    }
    if (!had) continue;
    for (const [probe, why] of Object.entries(s.failures)) {
      setupFailures[probe] = why;
      notes.push(`workload ${w.id}: the ${probe} probe could not set up (${why}); its checks are INCONCLUSIVE`);
    }
    if (s.sessions?.source === 'registration') {
      const why = s.sessions.reason ?? 'no reason given';
      sessionsFromRegistration.set(why, [...(sessionsFromRegistration.get(why) ?? []), w.id]);
    }
  }
  for (const [why, ws] of sessionsFromRegistration) notes.push(`workload${ws.length > 1 ? 's' : ''} ${ws.join(', ')}: sessions use the tokens registration returned, since login does not work (${why})`);
  for (const n of m.notApplied ?? []) notes.push(`not applied to this target: ${n}`);
  if (m.generator?.warning) notes.push(m.generator.warning);

  const removedAtMs: Record<string, number | undefined> = {};
  for (const r of records) if (r.appliedAtMs !== undefined) removedAtMs[r.id] = r.removedAtMs;
  const claimsCatalogue = o.claims ?? loadClaims();
  const profile = m.target?.profile ?? m.options.profile;
  // What the verdicts are judged by: the embedded target's profile, or the one an external run was told to expect.
  const judgedBy = profile ?? m.options.expectProfile;
  // What browser participants measured is only as good as the generator that ran them (a saturated one: INCONCLUSIVE);
  // k6's probes beside them are judged as usual.
  const generatorBound = e.workloads.some((w) => w.kind === 'video') ? { metrics: BROWSER_METRICS, probes: Object.values(VIDEO_PROBES) } : undefined;
  const hypotheses = evaluateHypotheses(e.hypotheses, { phases, source: pipeline, calibration, fanout, removedAtMs, runEndMs: end.runEndMs, setupFailures, dialect: dialectOf(e.target.kind), ...(generatorBound ? { generatorBound } : {}), ...(cutShort ? { cutShort } : {}) }, claimsCatalogue, judgedBy, e.name);
  const claims = evaluateClaims(claimsCatalogue, hypotheses, judgedBy, e.name);
  if (!profile && judgedBy) notes.push(`an external target, judged by the catalogue's expectations for the ${judgedBy} profile (--expect-profile)`);
  const harness = harnessMemoryNote(pipeline, runStartMs, end.runEndMs);
  if (harness) notes.push(harness);
  const saturated = saturationNote(pipeline, phases, e.target.kind === 'embedded');
  if (saturated) notes.push(saturated);

  // A workload that did not run to its end (k6 aborted, crashed, timed out) is a failed run, not a verdict.
  const failed = end.workloads.find((w) => w.failure !== undefined);
  const error = end.error ?? (failed ? `workload ${failed.id}: ${failed.failure}` : undefined);
  // The same code the shell gets (the CLI exits with it) and the report shows: 130 over 2 over 1.
  // What each participant of a video workload received, one picture per phase (its frames.jsonl and JPEGs).
  const filmstrips = e.workloads.flatMap((w) => (w.kind === 'video' ? [pickFilmstrip(w.id, `workloads/${w.id}`, readFrameLines(workloadDir(dir, w.id)), phases, participantLabels(w.video))] : []))
    .filter((f) => f.frames.length > 0);
  const exitCode = runExitCode({ interrupted: end.interrupted, failed: error !== undefined, notAsExpected: claims.some((c) => !c.asExpected) });
  return {
    schemaVersion: RESULT_SCHEMA_VERSION, runId: m.runId, experiment: { name: e.name, description: e.description },
    target: { kind: e.target.kind, ...(profile ? { profile } : {}), baseUrl: m.target?.baseUrl ?? '' },
    startedAtMs: runStartMs, endedAtMs: end.runEndMs,
    phases, faults: records, phaseTable: pipeline.phaseTable(), series: pipeline.series(),
    calibration, hypotheses, claims: withExpectations(claims, claimsCatalogue, judgedBy, e.name), workloads,
    ...(notes.length ? { notes: notes.map(redact) } : {}),
    exitCode,
    ...(error ? { error: redact(error) } : {}),
    ...(end.interrupted ? { interrupted: { how: killed ? 'killed' as const : 'signal' as const, atMs: end.runEndMs, detail: redact(cutShort?.run ?? 'interrupted') } } : {}),
    ...(filmstrips.length ? { filmstrips } : {}),
    files: historyFiles(dir, e),
  };
}
