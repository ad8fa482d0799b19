/**
 * A RunResult with the shape of `sch run soak-chaos --duration 2h`: the real experiment scaled as the CLI scales it,
 * its 120 fault occurrences from the real schedule, phases from derivePhases, the selectors analyze.ts reads, the
 * verdicts from the real checker over statistics made up here (a deterministic signal: latency steps while a fault
 * is on, one redis cycle far worse than the rest, resident memory growing slowly). What the report must stay
 * readable for, without a 2-hour run.
 */
import { derivePhases } from '../../src/experiment/phases.js';
import { expandSchedule } from '../../src/experiment/schedule.js';
import { loadExperiment, scaleExperiment } from '../../src/experiment/load.js';
import { loadClaims } from '../../src/experiment/claims.js';
import { selectorsFor, windowMsFor } from '../../src/experiment/analyze.js';
import { evaluateClaims, evaluateHypotheses, type StatsSource } from '../../src/verdicts/evaluate.js';
import { label } from '../../src/verdicts/common.js';
import { HypothesisSchema } from '../../src/verdicts/kinds/index.js';
import { withExpectations } from '../../src/results/expectation.js';
import { RESULT_SCHEMA_VERSION, type FaultRecord, type MetricKind, type Phase, type RunResult, type SeriesSelector, type Stats } from '../../src/results/model.js';

export const LONG_RUN_START = 1_800_000_000_000;
/** The cassandra cycle whose filmstrip caught a frozen tile. */
export const FROZEN_CYCLE = 'cassandra#17';
/** The redis cycle made worst: its probes answer in seconds. */
export const WORST_REDIS_CYCLE = 'redis#23';

const KINDS: [RegExp, MetricKind][] = [
  [/^(sc_attempt|sc_outcome|sc_upload_minio_failures|sc_video_freezes|sc_video_freeze_ms)$/, 'counter'],
  [/(_ok|_failed|_clear_error|^sc_metrics_up)$/, 'rate'],
  [/^(sc_target_connections|sc_proxy_bytes)$/, 'gauge'],
];
const kindOf = (metric: string): MetricKind => KINDS.find(([re]) => re.test(metric))?.[1] ?? 'trend';

/** A string's hash (FNV-1a). */
function hashOf(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A number in [0, 1) from a hash and an integer: the same every run. */
function mix(h: number, n: number): number {
  let x = Math.imul(h ^ Math.imul(n + 1, 0x9e3779b1), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (((x ^ (x >>> 16)) >>> 0) % 100_000) / 100_000;
}


const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** The class a probe's attempts end in when the target behaves (audited: the guards hold). */
const outcomeOf = (probe: string): string => (probe.startsWith('revoked') ? 'refused-revoked' : probe === 'ws_origin' ? 'refused-origin' : probe === 'rate_limit' ? 'throttled' : 'served');

/** The made-up signal of one selector at second `s` of the run, with the fault on at that second (null: none). */
function valueAt(sel: SeriesSelector, kind: MetricKind, s: number, fault: FaultRecord | null, keyHash: number): number {
  const r = mix(keyHash, s);
  const probe = sel.tags?.probe ?? '';
  const entry = fault?.entryId ?? '';
  switch (kindOf(sel.metric)) {
    // A counter's 0 is no sample: an outcome is counted in the class the probe's attempts end in.
    case 'counter': return sel.metric === 'sc_outcome' ? (sel.tags?.class === outcomeOf(probe) ? 1 : 0) : 1;
    case 'gauge': return sel.metric === 'sc_target_connections' && fault?.target === sel.tags?.proxy ? 0 : 2;
    case 'rate':
      if (sel.metric === 'sc_metrics_up') return 1;
      if (sel.metric === 'http_req_failed') return r < (fault ? 0.08 : 0.005) ? 1 : 0;
      return r < (fault && entry === 'minio' && probe === 'upload' ? 0.1 : 0.995) ? 1 : 0;
    case 'trend': {
      if (sel.metric === 'sc_process_rss_mib') return 70 + (sel.tags?.service?.length ?? 3) * 6 + (s / 3600) * 1.5 + r * 2;
      if (sel.metric === 'sc_harness_memory_mib') return 180 + r * 10;
      if (sel.metric === 'sc_generator_busy') return 0.45 + r * 0.1;
      if (sel.metric.startsWith('sc_generator_')) return 0.3 + r * 0.1;
      if (sel.metric === 'sc_path_rtt') return 0.2 + r * 0.1 + (fault?.entryId === 'cassandra' && sel.tags?.dep === 'cassandra' ? 3000 : 0);
      if (sel.metric.startsWith('sc_video') || sel.metric === 'sc_media_loss' || sel.metric === 'sc_media_jitter') return sel.metric === 'sc_video_fps' || sel.metric === 'sc_video_stream_fps' ? 14 + r : r * 0.01;
      if (sel.metric === 'sc_server') return 40 + r * 5 + s / 720;
      const worst = fault?.id === WORST_REDIS_CYCLE ? 3500 : 0;
      const step = fault ? (entry === 'cassandra' && (probe === 'send' || sel.metric === 'sc_delivery_latency') ? 900 : entry === 'redis' ? 120 + worst : 60) : 0;
      return 20 + r * 40 + (r > 0.98 ? 400 : 0) + step;
    }
  }
  return 0;
}

function statsOf(kind: MetricKind, values: number[], seconds: number): Stats {
  if (values.length === 0) return { kind, count: 0 };
  const sum = values.reduce((a, v) => a + v, 0);
  switch (kind) {
    case 'trend': {
      const sorted = [...values].sort((a, b) => a - b);
      return { kind, count: values.length, min: sorted[0]!, max: sorted.at(-1)!, mean: sum / values.length, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99) };
    }
    case 'rate': return { kind, count: values.length, rate: values.filter((v) => v !== 0).length / values.length, passes: values.filter((v) => v !== 0).length };
    case 'counter': return { kind, count: values.length, sum, perSecond: sum / Math.max(1, seconds) };
    case 'gauge': return { kind, count: values.length, min: Math.min(...values), max: Math.max(...values), last: values.at(-1)! };
  }
}

export interface LongRun {
  result: RunResult;
  /** The fault records (120 for the 2-hour run). */
  faults: FaultRecord[];
}

/** soak-chaos as `sch run soak-chaos --duration <durationS>` plays it, judged on the made-up signal. */
export async function longRunResult(durationS = 7200): Promise<LongRun> {
  const loaded = scaleExperiment(await loadExperiment('soak-chaos'), durationS);
  // A memory check as soak-memory has one: its fitted line is drawn on the resident-memory chart.
  const e = { ...loaded, hypotheses: [...loaded.hypotheses, HypothesisSchema.parse({ kind: 'no-growth', id: 'chat-memory-steady', description: 'The chat service\'s resident memory does not grow', claims: ['SOAK-MEMORY'], select: { metric: 'sc_process_rss_mib', tags: { service: 'chat' } } })] };
  const t0 = LONG_RUN_START;
  const end = t0 + durationS * 1000;
  const faults: FaultRecord[] = expandSchedule(e.faults, durationS, 1).map((o) => {
    const spec = e.faults.find((f) => f.id === o.entryId)!;
    // Applied a little late, removed on time: as a real timeline does.
    const applied = t0 + Math.round(o.startS * 1000) + 40 + Math.round(mix(hashOf(o.id), 1) * 200);
    const removed = t0 + Math.round((o.startS + o.durationS) * 1000) + 15;
    return {
      id: o.id, entryId: o.entryId, ...(o.cycle !== undefined ? { cycle: o.cycle } : {}), name: spec.fault ?? 'custom', mechanism: 'toxiproxy' as const, target: o.entryId, params: spec.params ?? {},
      plannedStartS: o.startS, plannedDurationS: o.durationS, scheduledApplyMs: t0 + o.startS * 1000, scheduledRemoveMs: t0 + (o.startS + o.durationS) * 1000,
      appliedAtMs: applied, removedAtMs: removed, verified: true, verifyDetail: `${o.entryId} through its proxy failed after apply`, rolledBack: true,
    };
  });
  const phases: Phase[] = derivePhases(t0, end, faults, e.recoveryS);
  const selectors = [
    ...selectorsFor(e, [...new Set(faults.map((f) => f.target))]),
    // The target's own /metrics, as a check naming them would read them.
    { metric: 'sc_server', tags: { service: 'chat', metric: 'sc_ws_connections' } },
    { metric: 'sc_server', tags: { service: 'gateway', metric: 'process_open_fds' } },
  ];
  const faultAt = (s: number): FaultRecord | null => faults.find((f) => t0 + s * 1000 >= f.appliedAtMs! && t0 + s * 1000 < f.removedAtMs!) ?? null;
  const faultBySecond = Array.from({ length: durationS }, (_, s) => faultAt(s));
  // Each selector's signal, one value a second, made once (the checker and the tables read it many times over).
  const signals = new Map<string, Float64Array>();
  const signalOf = (sel: SeriesSelector): Float64Array => {
    const key = label(sel);
    let sig = signals.get(key);
    if (!sig) {
      const h = hashOf(key);
      const kind = kindOf(sel.metric);
      sig = Float64Array.from({ length: durationS }, (_, s) => valueAt(sel, kind, s, faultBySecond[s] ?? null, h));
      signals.set(key, sig);
    }
    return sig;
  };
  const windowStats = (sel: SeriesSelector, fromMs: number, toMs: number): Stats => {
    const kind = kindOf(sel.metric);
    const sig = signalOf(sel);
    const values: number[] = [];
    for (let s = Math.max(0, Math.ceil((fromMs - t0) / 1000)); s < Math.min(durationS, (toMs - t0) / 1000); s++) {
      const v = sig[s]!;
      if (kind !== 'counter' || v !== 0) values.push(v);
    }
    return statsOf(kind, values, (toMs - fromMs) / 1000);
  };
  const byId = new Map(phases.map((p) => [p.id, p]));
  const source: StatsSource = {
    windowStats,
    stats: (sel, phaseId) => {
      const p = byId.get(phaseId);
      return p ? windowStats(sel, p.startMs, p.endMs) : windowStats(sel, t0, end);
    },
  };
  const calibration = faults.map((f) => ({
    faultId: f.id, selector: { metric: 'sc_target_connections', tags: { proxy: f.target } }, label: `sc_target_connections{proxy=${f.target}}`,
    expected: "the target's own connections through the proxy drop", observed: 0, ok: true, detail: `2 → 0 connections through ${f.target} while ${f.id} was on`,
  }));
  const removedAtMs = Object.fromEntries(faults.map((f) => [f.id, f.removedAtMs]));
  const claims = loadClaims();
  const hypotheses = evaluateHypotheses(e.hypotheses, { phases, source, calibration, fanout: {}, removedAtMs, runEndMs: end }, claims, 'audited', e.name);
  const claimResults = evaluateClaims(claims, hypotheses, 'audited', e.name);
  const windowMs = windowMsFor(durationS);
  const series = selectors.map((sel) => ({
    selector: sel, label: label(sel), windowMs,
    // As the pipeline gives them: a point per window with samples.
    points: Array.from({ length: Math.ceil((durationS * 1000) / windowMs) }, (_, w) => ({ t: w * windowMs, stats: windowStats(sel, t0 + w * windowMs, t0 + (w + 1) * windowMs) })).filter((p) => p.stats.count > 0),
  }));
  // As the pipeline gives it: every selector in each phase where it has samples, and in the whole run.
  const phaseTable = selectors.flatMap((sel) => [
    ...phases.map((p) => ({ selector: sel, label: label(sel), phase: p.id, stats: windowStats(sel, p.startMs, p.endMs) })).filter((r) => r.stats.count > 0),
    { selector: sel, label: label(sel), phase: 'run', stats: windowStats(sel, t0, end) },
  ]);
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION, runId: 'soak-chaos-2h', experiment: { name: e.name, description: e.description },
    target: { kind: 'embedded', profile: 'audited', baseUrl: 'http://198.18.0.2:8080' }, startedAtMs: t0, endedAtMs: end,
    phases, faults, phaseTable, series, calibration, hypotheses, claims: withExpectations(claimResults, claims, 'audited', e.name),
    workloads: e.workloads.map((w) => ({ id: w.id, scenario: w.kind === 'k6' ? w.scenario : 'video', profile: w.kind === 'k6' ? w.profile : w.video.topology, exitCode: 0, samples: 100_000, failedThresholds: [] })),
    exitCode: claimResults.some((c) => !c.asExpected) ? 1 : 0,
    // A picture per phase and participant, as pickFilmstrip leaves them; one cycle caught a frozen tile.
    filmstrips: [{
      workload: 'call', participants: ['p1', 'p2', 'p3'],
      frames: phases.flatMap((p) => ['p1', 'p2', 'p3'].map((who) => ({
        phase: p.id, participant: who, path: `workloads/call/frames/${p.id.replace(/[:#]/g, '_')}-${who}.jpg`, atMs: Math.round((p.startMs + p.endMs) / 2), width: 640, height: 180,
        tiles: ['p1', 'p2', 'p3'].filter((o) => o !== who).map((o) => ({ track: o, frozen: p.id === `fault:${FROZEN_CYCLE}` && o === 'p1' })),
      }))),
    }],
    files: [{ kind: 'manifest', path: 'manifest.json' }],
  };
  return { result, faults };
}
