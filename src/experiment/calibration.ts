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
 *   4. TURN loss with a relay-forced video call in the run: the loss the receivers' getStats counts on the
 *      media path during the fault (mediaLossCalibration) is what the nft rule implies for that path.
 * A fault whose calibration fails makes the checks of its phases INCONCLUSIVE.
 */
import type { CalibrationResult, FaultRecord, Sample } from '../results/model.js';
import type { StatsSource } from '../verdicts/common.js';
import { label, statValue } from '../verdicts/common.js';
import { MIN_LATENCY_FAULT_START_S, MIN_PROXY_FAULT_START_S } from './phases.js';
import { median } from '../util/median.js';

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
  /** A relay-forced video call ran: TURN loss faults are calibrated on its media path too (mediaLossCalibration). */
  media?: MediaPath;
}

/** How a relay-forced call's media crosses coturn: how many times a packet meets the loss rule on its way. */
export interface MediaPath {
  /**
   * Crossings of coturn from sender to receiver. Every packet meets the rule where it is received (udp-fault.ts):
   * in at coturn's listener and out of its relay port toward the peer, so once per direction of each TURN hop.
   * SFU: sender → coturn → SFU → coturn → receiver, 4 (measured: 18.9 % at 5 %, 59.0 % at 20 %). Mesh with both
   * ends on relay: in at the sender's allocation, out of its relay port into the receiver's, out to the receiver,
   * 4 as well (derived from the rule, not yet measured).
   */
  crossings: number;
  topology: string;
}

/** The receivers' counts the media calibration reads (video inbound streams, per poll). */
export const MEDIA_LOSS_METRICS = ['sc_media_packets_received', 'sc_media_packets_lost', 'sc_media_nacks'] as const;
/** Packets one media loss measurement needs: at 2,000 the binomial spread of a 20–60 % loss is ≈ 1 pp. */
export const MIN_MEDIA_PACKETS = 2000;

/** The loss the nft rule implies end to end: each crossing drops p independently (`numgen random`). */
export const impliedLoss = (percent: number, crossings: number): number => 1 - (1 - percent / 100) ** crossings;
/** Tolerance of the media loss measurement: ±2 pp up to a 10 % rule, ±3 pp above (the calibration). */
export const mediaLossTolerance = (percent: number): number => (percent <= 10 ? 0.02 : 0.03);

/** The stated loss of a TURN loss fault (named turn-loss or udp action loss), null for any other fault. */
export function turnLossPercent(r: Pick<FaultRecord, 'name' | 'mechanism' | 'params'>): number | null {
  if (r.mechanism !== 'nft') return null;
  const p = r.params as { percent?: unknown; udp?: { action?: unknown; percent?: unknown } };
  if (r.name === 'turn-loss') return typeof p.percent === 'number' ? p.percent : 30;
  if (p.udp?.action === 'loss' && typeof p.udp.percent === 'number') return p.udp.percent;
  return null;
}

/**
 * The loss a relay-forced call's receivers counted during a TURN loss fault (packetsLost over packetsReceived +
 * packetsLost of their inbound video, summed over every participant and remote track, from a second after the
 * fault was applied to a second before its removal)
 * against what the rule implies for the path: 1-(1-p)^crossings, within ±2 pp (±3 above 10 %), over ≥ 2,000
 * packets. Streams without retransmission count every packet the path lost (measured: 5 % → 18.0–19.5 %, 20 % →
 * 58.9–59.4 % on the SFU path, against 18.5 / 59.0 %) — provided the sender pads on RTX, not on the media stream
 * (see the reference target's retransmission switch). A retransmitted stream (its receiver sent NACKs) counts only
 * what retransmission did not hide — the SFU repairs the upstream leg, RTX the downstream one; measured 9.8–12.3 %
 * at 5 % and 27–32 % at 20 % — so there the row asks only that the media path lost packets, and no more than
 * the rule implies.
 */
export function mediaLossCalibration(r: FaultRecord, source: StatsSource, media: MediaPath): CalibrationResult | null {
  const percent = turnLossPercent(r);
  if (percent === null) return null;
  // A poll counts the second before it: the first poll of the fault and the first after it mix lossless packets in
  // (up to 1.5 pp low at 5 % over a 12 s fault), so only polls a second after the apply and a second before the removal.
  const from = (r.appliedAtMs ?? 0) + 1000;
  const to = (r.removedAtMs ?? from) - 1000;
  const sum = (metric: (typeof MEDIA_LOSS_METRICS)[number]) => source.windowStats({ metric, tags: { kind: 'video' } }, from, to).sum ?? 0;
  const received = sum('sc_media_packets_received');
  const lost = sum('sc_media_packets_lost');
  const nacks = sum('sc_media_nacks');
  const n = received + lost;
  const want = impliedLoss(percent, media.crossings);
  const tol = mediaLossTolerance(percent);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const sel = { metric: 'sc_media_packets_lost', tags: { kind: 'video' } };
  const base = { faultId: r.id, selector: sel, label: `media loss on the relay path (${media.topology})` };
  const path = `${percent} % at each of ${media.crossings} crossings of coturn: 1-(1-${percent / 100})^${media.crossings} = ${pct(want)}`;
  if (n < MIN_MEDIA_PACKETS) {
    return { ...base, expected: `${pct(want)} ±${tol * 100} pp over ≥ ${MIN_MEDIA_PACKETS} packets`, observed: n > 0 ? lost / n : null, ok: false, detail: `the receivers counted ${n} video packets during the fault (need ≥ ${MIN_MEDIA_PACKETS}): the loss on the media path is not measured` };
  }
  const measured = lost / n;
  if (nacks > 0) {
    const ok = lost > 0 && measured <= want + tol;
    return { ...base, expected: `> 0 and ≤ ${pct(want + tol)} (retransmitted streams)`, observed: measured, ok, detail: `receivers lost ${lost} of ${n} video packets (${pct(measured)}) and sent ${nacks} NACKs: retransmission hides part of the loss, so the rule's ${path} bounds it from above` };
  }
  const ok = Math.abs(measured - want) <= tol;
  return { ...base, expected: `${pct(want)} ±${tol * 100} pp`, observed: measured, ok, detail: `receivers lost ${lost} of ${n} video packets (${pct(measured)}), no retransmission; the rule implies ${path}` };
}

const medianOrNull = (xs: number[]): number | null => (xs.length === 0 ? null : median(xs));

/** Readings of `metric{tag=value}` strictly before `beforeMs`. */
/** The observations calibrate reads from `readings` (analyze keeps only these in memory). */
export const CALIBRATION_READINGS: ReadonlySet<string> = new Set(['sc_path_rtt', 'sc_target_connections']);

const readingsBefore = (rs: readonly Sample[], metric: string, tag: string, value: string, beforeMs: number): number[] =>
  rs.filter((s) => s.metric === metric && s.tags[tag] === value && s.time < beforeMs).map((s) => s.value);

export function calibrate(i: CalibrationInput): CalibrationResult[] {
  const out: CalibrationResult[] = [];
  const firstApplied = Math.min(...i.records.map((r) => r.appliedAtMs ?? Infinity));
  for (const r of i.records) {
    if (r.appliedAtMs === undefined) continue;
    out.push({ faultId: r.id, selector: { metric: 'fault' }, label: `${r.name} applied`, expected: 'verify() confirms it landed', observed: r.verified ? 1 : 0, ok: r.verified && !r.error, detail: r.error ?? r.verifyDetail });
    const media = i.media ? mediaLossCalibration(r, i.source, i.media) : null;
    if (media) out.push(media);
    if (r.mechanism !== 'toxiproxy') continue;
    const dep = r.target;
    if (r.expectedLatencyMs !== undefined) {
      const latency = r.expectedLatencyMs;
      const sel = { metric: 'sc_path_rtt', tags: { dep } };
      // Before any fault (not only in the baseline phase, which ends a second early): the toxic's own delta.
      const before = i.readings ? medianOrNull(readingsBefore(i.readings, 'sc_path_rtt', 'dep', dep, firstApplied)) : statValue(i.source.stats(sel, 'baseline'), 'p(50)');
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
