/**
 * One step of the SFU capacity benchmark: what was measured while a given load held steady, and how a
 * knee budget (fixtures/budgets.yaml `benches.sfu.knee`) reads it. Plain data;
 * src/k6/budgets.ts validates the budgets' metric names against SFU_STEP_METRICS.
 */
import { CPU_SATURATED } from './cpu-fit.js';

export interface SfuStep {
  /** The load level the search asked for (rooms of the chosen shape). */
  level: number;
  /** Consumers the SFU worker under test carried during the step. */
  consumers: number;
  /** The SFU worker's CPU as a share of its one core (0..1); null: not measured. */
  workerCpu: number | null;
  /** Receiver loss: packets missing from the consumers' sequence numbers / packets expected; null: not measured. */
  loss: number | null;
  /** Forwarding delay (send time to arrival, both on this host), median and 95th percentile, ms. */
  delayP50Ms: number | null;
  delayP95Ms: number | null;
  /** The load generator's own CPU as a share of its core (0..1); null: not measured. */
  generatorCpu: number | null;
  /** RTP packets the receivers got during the step: none means no evidence about the SFU at all. */
  packets: number;
  /** Consumers that got nothing during the step: a loss their sequence numbers cannot show. */
  silentConsumers: number;
  // What else a step shows (the report's curve and table), never judged:
  /** Rooms of the shape in place, and the consumers they should carry. */
  rooms?: number;
  wantedConsumers?: number;
  /** 95th percentile over consumers of the RFC 3550 interarrival jitter, ms. */
  jitterP95Ms?: number | null;
  /** The SFU's ingress (what the senders sent) and egress (what the receivers got) on the wire, kbit/s. */
  bitrateInKbps?: number | null;
  bitrateOutKbps?: number | null;
  /** The egress's RTP payload of the consumed streams alone (what a browser's getStats counts as bytesReceived), kbit/s. */
  payloadOutKbps?: number | null;
  /** RTCP feedback the senders got from the SFU, per second: NACKs and keyframe requests (PLI / FIR). */
  nackPerS?: number | null;
  pliPerS?: number | null;
  /** How late the generator's event loop ran its timers over the window, 95th and 99th percentile, ms. */
  generatorLagP95Ms?: number | null;
  generatorLagP99Ms?: number | null;
  /** Of workerCpu, the share of its core spent in the kernel (sockets, and packet delivery run in its context); null: not read. */
  workerSys?: number | null;
  /** Share of the window the SFU worker was runnable but waiting for its core (/proc/<pid>/schedstat); null: not read. */
  workerWait?: number | null;
  /** Share of the worker's core busy with anything (the worker, the kernel's packet work, anyone else); null: not read. */
  workerCoreBusy?: number | null;
  /** Packets of SSRCs no consumer announced (the SFU sending what nobody asked for). */
  unannouncedPackets?: number;
  /** Seconds to reach the step's rooms and consumers; the measured window's length. */
  joinS?: number;
  windowS?: number;
  /** The participants' first errors, if any. */
  errors?: string[];
  /**
   * Rooms the level asked for that could not join (each tried JOIN_ATTEMPTS times): the SFU no longer admits
   * participants at this load. The step measures the rooms in place; the judgement puts it past the knee.
   */
  roomsNotJoined?: number;
  /**
   * The forwarding delays of the step as an HDR histogram (TrendHistogram: ms at 3 significant digits, HdrHistogram's
   * compressed base64, with the exact count, sum, min and max), so windows of one level pool their delays
   * (merge-steps.ts) instead of averaging their percentiles. Absent in steps recorded before it.
   */
  delayHistogram?: { hdr: string; count: number; sum: number; min: number; max: number };
  /**
   * The worker's CPU at this step's consumers read off every window the run measured near that load (cpu-fit.ts): what
   * the CPU budget judges (below saturation), for one window's CPU at a constant load moves by ±9 %. Absent: not fitted.
   */
  workerCpuFitted?: { value: number; windows: number; loads: number };
  /**
   * A step of several windows of one level (merge-steps.ts): how many, and the median window's loss and delay — what
   * the quality budgets judge, so the knee is where most windows break them, not one stalled window (a host stall put
   * one window's p95 at 77 ms at 59 % CPU among windows of 5–10 ms at the same load).
   */
  windowMedian?: { windows: number; loss: number | null; delayP50Ms: number | null; delayP95Ms: number | null };
}

/** The step fields a knee budget may name, as metric → stat → field. */
export const SFU_STEP_METRICS = {
  sc_sfu_receiver_loss: { rate: 'loss' },
  sc_sfu_forward_delay: { 'p(50)': 'delayP50Ms', 'p(95)': 'delayP95Ms' },
  sc_sfu_worker_cpu: { value: 'workerCpu' },
} as const satisfies Record<string, Record<string, keyof SfuStep>>;

export type SfuStepMetric = keyof typeof SFU_STEP_METRICS;

export const isSfuStepMetric = (m: string): m is SfuStepMetric => Object.hasOwn(SFU_STEP_METRICS, m);

/** The stats a knee budget may use on `metric` (empty for a metric the step does not have). */
export function sfuStepStats(metric: string): string[] {
  return isSfuStepMetric(metric) ? Object.keys(SFU_STEP_METRICS[metric]) : [];
}

/**
 * The value a knee budget judges: the median window's loss and delay of a step of several windows, and the worker's
 * CPU fitted over the windows near its load unless the step itself saturated the worker (cpu-fit.ts); else the step's
 * own (readSfuStep). Null when not measured.
 */
export function judgedSfuStep(step: SfuStep, metric: SfuStepMetric, stat: string): number | null {
  const own = readSfuStep(step, metric, stat);
  if (metric === 'sc_sfu_worker_cpu') {
    return own !== null && own < CPU_SATURATED && step.workerCpuFitted !== undefined ? step.workerCpuFitted.value : own;
  }
  const m = step.windowMedian;
  if (m === undefined) return own;
  const field = SFU_STEP_METRICS[metric][stat as keyof (typeof SFU_STEP_METRICS)[typeof metric]] as keyof typeof m;
  const v = m[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The step's value for a (metric, stat) pair a validated budget names; null when it was not measured. */
export function readSfuStep(step: SfuStep, metric: SfuStepMetric, stat: string): number | null {
  const fields: Record<string, keyof SfuStep> = SFU_STEP_METRICS[metric];
  const field = fields[stat];
  if (field === undefined) throw new Error(`${metric} has no stat ${stat} (known: ${Object.keys(fields).join(', ')})`);
  const v = step[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

