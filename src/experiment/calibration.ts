/**
 * Calibration: proof that each fault sat on the target's own path — not that the target showed a
 * symptom (a system that masks a fault is exactly what PASS means). For every applied fault:
 *   1. its own verify() confirmed it landed (measured on the wire);
 *   2. latency faults: a protocol round trip through the proxy during the fault minus baseline ≈ the
 *      fault's latency (±10 %): the toxic is on that proxy and as large as it says;
 *   3. Toxiproxy faults: the target's own traffic crosses that proxy —
 *      processes (embedded): the target's processes held connections to it during the baseline (ss -p, by pid);
 *      namespace (external target behind the lab's own Toxiproxy): some process in the lab's network other
 *      than Toxiproxy and the harness held connections to it during the baseline (ss -p; the target's pids
 *      are unknown, so another target sharing the lab would count too);
 *      proxy-counters (external target, its own Toxiproxy): that Toxiproxy counted bytes through it between
 *      the run's start and the fault's end (Toxiproxy adds a connection's bytes when it closes, so a pool
 *      that never reconnects stays invisible: INCONCLUSIVE, said so).
 * A fault whose calibration fails makes the checks of its phases INCONCLUSIVE.
 */
import type { CalibrationResult, FaultRecord, Sample } from '../results/model.js';
import type { StatsSource } from '../verdicts/common.js';
import { label, statValue } from '../verdicts/common.js';
import { MIN_LATENCY_FAULT_START_S, MIN_PROXY_FAULT_START_S } from './phases.js';

/** How a run evidences exposure (the manifest's target.exposure): see the header. */
export const EXPOSURES = ['processes', 'namespace', 'proxy-counters'] as const;
export type Exposure = (typeof EXPOSURES)[number];

export interface CalibrationInput {
  records: readonly FaultRecord[];
  source: StatsSource;
  exposure: Exposure;
  runStartMs: number;
  /**
   * The runner's observations as recorded (observations.jsonl). With them, the exposure (and a latency
   * fault's path baseline) is read from every reading before the fault was applied, however short the
   * baseline phase: it ends a second before the first fault (phases.ts), and the observer's first reading
   * lands about 1.1 s into the load, so a fault at 2 s left the baseline without any reading.
   */
  readings?: readonly Sample[];
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Readings of `metric{tag=value}` strictly before `beforeMs`. */
const readingsBefore = (rs: readonly Sample[], metric: string, tag: string, value: string, beforeMs: number): number[] =>
  rs.filter((s) => s.metric === metric && s.tags[tag] === value && s.time < beforeMs).map((s) => s.value);

export function calibrate(i: CalibrationInput): CalibrationResult[] {
  const out: CalibrationResult[] = [];
  const firstApplied = Math.min(...i.records.map((r) => r.appliedAtMs ?? Infinity));
  for (const r of i.records) {
    if (r.appliedAtMs === undefined) continue;
    out.push({ faultId: r.id, selector: { metric: 'fault' }, label: `${r.name} applied`, expected: 'verify() confirms it landed', observed: r.verified ? 1 : 0, ok: r.verified && !r.error, detail: r.error ?? r.verifyDetail });
    if (r.mechanism !== 'toxiproxy') continue;
    const dep = r.target;
    if (r.expectedLatencyMs !== undefined) {
      const latency = r.expectedLatencyMs;
      const sel = { metric: 'sc_path_rtt', tags: { dep } };
      // Before any fault (not only in the baseline phase, which ends a second early): the toxic's own delta.
      const before = i.readings ? median(readingsBefore(i.readings, 'sc_path_rtt', 'dep', dep, firstApplied)) : statValue(i.source.stats(sel, 'baseline'), 'p(50)');
      const during = i.source.stats(sel, `fault:${r.id}`);
      const d = statValue(during, 'p(50)');
      const delta = before !== null && d !== null ? d - before : null;
      const ok = delta !== null && Math.abs(delta - latency) <= 0.1 * latency;
      out.push({ faultId: r.id, selector: sel, label: label(sel), expected: `median delta ≈ ${latency} ms ±10%`, observed: delta, ok, detail: delta === null ? `no path samples (baseline ${before ?? 'none'}, fault ${during.count})` : `baseline p50 ${before!.toFixed(1)} ms, fault p50 ${d!.toFixed(1)} ms over ${during.count} probes: delta ${delta.toFixed(1)} ms` });
    }
    if (i.exposure === 'processes' || i.exposure === 'namespace') {
      // Same metric, two owners: the embedded target's own pids, or anyone in the lab's network but Toxiproxy and the harness.
      const who = i.exposure === 'processes' ? 'the target\'s processes' : 'processes in the lab\'s network other than Toxiproxy and the harness';
      const sel = { metric: 'sc_target_connections', tags: { proxy: dep } };
      // Every reading before this fault was applied (with the recorded readings), else the baseline phase's.
      const before = i.readings ? readingsBefore(i.readings, 'sc_target_connections', 'proxy', dep, r.appliedAtMs) : null;
      const base = i.source.stats(sel, 'baseline');
      const conns = before ? (before.length ? Math.max(...before) : null) : base.count > 0 ? (base.max ?? 0) : null;
      out.push({
        faultId: r.id, selector: sel, label: label(sel), expected: `${who} hold connections through the proxy before the fault (≥ 1)`, observed: conns, ok: (conns ?? 0) >= 1,
        detail: conns === null ? `no connection count for ${dep} before the fault (the observer's first reading comes about 1 s into the load: start the fault at ${r.expectedLatencyMs !== undefined ? MIN_LATENCY_FAULT_START_S : MIN_PROXY_FAULT_START_S} s or later)`
          : conns >= 1 ? `${who} held up to ${conns} connection(s) through the ${dep} proxy before the fault`
            : `${who} held no connection through the ${dep} proxy before the fault: the fault is not on the target's path`,
      });
    } else {
      const sel = { metric: 'sc_proxy_bytes', tags: { proxy: dep } };
      // The runner's own path probes (latency faults, from 4 s before the first fault) cross the proxy too: stop before them.
      const end = r.expectedLatencyMs !== undefined ? r.appliedAtMs - 4500 : (r.removedAtMs ?? r.appliedAtMs) + 5000;
      const first = i.source.windowStats(sel, i.runStartMs - 60_000, r.appliedAtMs);
      const upTo = i.source.windowStats(sel, i.runStartMs - 60_000, end);
      const moved = first.count > 0 && upTo.count > 0 ? (upTo.max ?? 0) - (first.min ?? 0) : null;
      out.push({
        faultId: r.id, selector: sel, label: label(sel), expected: 'the deployment\'s Toxiproxy counts traffic through the proxy during the run (bytes > 0)', observed: moved, ok: (moved ?? 0) > 0,
        detail: moved === null ? `no reading of ${dep}'s proxy counters (Toxiproxy's /metrics needs -proxy-metrics)`
          : moved > 0 ? `${moved} bytes through the ${dep} proxy between the run's start and the fault's end`
            : `no bytes through the ${dep} proxy between the run's start and the fault's end: the fault is not on the target's path (or its connections never closed: Toxiproxy counts bytes when a connection ends)`,
      });
    }
  }
  return out;
}
