/**
 * Windows of one load level measured one after the other, as one step: the knee's side of a level is decided on all
 * of them, so one window's passing delay spike or a few points of CPU the machine's speed moved do not move it.
 */
import { TrendHistogram } from '../results/histogram.js';
import type { SfuStep } from './sfu-step.js';

/** Fields measured over a window that windows of one level give as their mean (null when any lacks it). */
const MEAN_FIELDS = [
  'workerCpu', 'workerSys', 'workerWait', 'workerCoreBusy', 'loss', 'delayP50Ms', 'delayP95Ms', 'jitterP95Ms',
  'bitrateInKbps', 'bitrateOutKbps', 'payloadOutKbps', 'nackPerS', 'pliPerS',
] as const satisfies readonly (keyof SfuStep)[];

const histogramOf = (h: NonNullable<SfuStep['delayHistogram']>): TrendHistogram => new TrendHistogram(3).restore(h.hdr, h);

/** A step's `delayHistogram` from its delays' histogram (the inverse of histogramOf). */
export const delayHistogramOf = (h: TrendHistogram): NonNullable<SfuStep['delayHistogram']> => ({ hdr: h.encode(), count: h.count, sum: h.sum, min: h.min, max: h.max });

/**
 * The windows' delays pooled (every window carries its histogram): p50 and p95 of all their frames, never a mean of
 * percentiles — a window whose p95 spiked weighs by the frames it delayed. Null when a window lacks its histogram.
 */
function pooledDelays(windows: readonly SfuStep[]): TrendHistogram | null {
  if (!windows.every((w) => w.delayHistogram !== undefined)) return null;
  const pool = new TrendHistogram(3);
  for (const w of windows) pool.merge(histogramOf(w.delayHistogram!));
  return pool;
}

/** The median of measured values (of an even count, the mean of the middle two); null when any is missing. */
function median(xs: readonly (number | null)[]): number | null {
  if (xs.length === 0 || !xs.every((x): x is number => typeof x === 'number' && Number.isFinite(x))) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Windows of the same level (equal lengths) as one step: forwarding delay's p50 and p95 from the pooled delays
 * (means of the windows' figures for steps recorded without histograms), every other quality and load figure the
 * windows' mean, the generator's CPU and lag the worst, packets summed, the worst of silent consumers and rooms not joined;
 * and the median window's loss and delay (windowMedian), which the knee budgets judge. The same level, or an error.
 */
export function mergeSteps(...windows: SfuStep[]): SfuStep {
  const [first, ...rest] = windows;
  if (first === undefined) throw new Error('mergeSteps needs at least one window');
  for (const w of rest) if (w.level !== first.level) throw new Error(`steps of levels ${first.level} and ${w.level} do not merge`);
  if (rest.length === 0) return first;
  const out: SfuStep = {
    ...first,
    consumers: Math.min(...windows.map((w) => w.consumers)),
    packets: windows.reduce((n, w) => n + w.packets, 0),
    silentConsumers: Math.max(...windows.map((w) => w.silentConsumers)),
  };
  for (const f of MEAN_FIELDS) {
    const xs = windows.map((w) => w[f]);
    if (xs.every((x) => x === undefined)) continue;
    out[f] = xs.every((x) => typeof x === 'number') ? (xs as number[]).reduce((a, x) => a + x, 0) / xs.length : null;
  }
  const pool = pooledDelays(windows);
  if (pool !== null && pool.count > 0) {
    out.delayP50Ms = pool.percentile(50);
    out.delayP95Ms = pool.percentile(95);
    out.delayHistogram = delayHistogramOf(pool);
  } else delete out.delayHistogram;
  // What the quality budgets judge (sfu-step.ts judgedSfuStep): the median window's.
  const med = (f: 'loss' | 'delayP50Ms' | 'delayP95Ms') => median(windows.map((w) => w[f]));
  out.windowMedian = { windows: windows.length, loss: med('loss'), delayP50Ms: med('delayP50Ms'), delayP95Ms: med('delayP95Ms') };
  delete out.workerCpuFitted;
  // The generator's CPU and lag the worst window's: a window whose generator saturated or lagged says nothing of
  // the SFU, and windows around it must not average that away (judgeStep then finds the level INCONCLUSIVE).
  const worst = (f: 'generatorCpu' | 'generatorLagP95Ms' | 'generatorLagP99Ms') => {
    const xs = windows.map((w) => w[f]);
    if (xs.every((x) => x === undefined)) return;
    out[f] = xs.every((x) => typeof x === 'number') ? Math.max(...(xs as number[])) : null;
  };
  worst('generatorCpu');
  worst('generatorLagP95Ms');
  worst('generatorLagP99Ms');
  if (windows.some((w) => w.unannouncedPackets !== undefined)) out.unannouncedPackets = Math.max(...windows.map((w) => w.unannouncedPackets ?? 0));
  if (windows.every((w) => w.windowS !== undefined)) out.windowS = windows.reduce((a, w) => a + w.windowS!, 0);
  const rooms = Math.max(...windows.map((w) => w.roomsNotJoined ?? 0));
  if (rooms > 0) out.roomsNotJoined = rooms;
  const errors = windows.flatMap((w) => w.errors ?? []).slice(0, 10);
  if (errors.length) out.errors = errors;
  return out;
}
