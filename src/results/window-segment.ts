/**
 * The windowed form of raw samples (part of a run's history: `workloads/<id>/windows.jsonl.gz`, one segment a line,
 * each line its own gzip member — a gzip file may hold several, read as one stream; older runs: plain windows.jsonl),
 * what a long run keeps once its raw samples are rotated away (src/experiment/sample-rotator.ts).
 *
 * A segment stands for the raw lines [fromByte, toByte) of one samples file: every sample of them, either
 *   - summed into its series (metric + every tag, as the reader delivers it) and its 1 s window from the run's
 *     start, as the pipeline's accumulators hold it — trend: count, sum, min, max and an HDR histogram at 3
 *     significant digits (the phase histograms' precision: percentiles equal to the raw samples'), rate: count and
 *     passes, counter: count and sum, gauge: count, min, max and the last value with its time; or
 *   - kept raw, when its window holds a phase boundary (a fault applied or removed, the baseline guard before it,
 *     the end of its recovery: phases are cut at ms precision, a window is not) or it is too recent for its
 *     boundaries to be known yet.
 * So every phase, run and series statistic rebuilt from segments equals the raw samples' (sums up to floating-point
 * association). Size: per segment, one entry per (series, second) with samples, plus the raw boundary seconds.
 */
import { gzipSync } from 'node:zlib';
import { forEachJsonLine } from '../util/jsonl.js';
import { z } from 'zod';
import { CounterAccumulator, GaugeAccumulator, RateAccumulator, TrendAccumulator, newAccumulator, type Accumulator } from './accumulators.js';
import type { MetricKind, Sample } from './model.js';

export const SEGMENT_WINDOW_MS = 1000;

const AccSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('trend'), count: z.number().int(), sum: z.number(), min: z.number(), max: z.number(), hdr: z.string() }).strict(),
  z.object({ kind: z.literal('rate'), count: z.number().int(), passes: z.number().int() }).strict(),
  z.object({ kind: z.literal('counter'), count: z.number().int(), sum: z.number() }).strict(),
  z.object({ kind: z.literal('gauge'), count: z.number().int(), min: z.number(), max: z.number(), last: z.number(), lastTime: z.number() }).strict(),
]);
export type EncodedAccumulator = z.output<typeof AccSchema>;

const SampleSchema = z.object({ metric: z.string(), time: z.number(), value: z.number(), tags: z.record(z.string(), z.string()) }).strict();

export const WindowSegmentSchema = z.object({
  /** The raw lines of the samples file this segment stands for (byte offsets). */
  fromByte: z.number().int().min(0),
  toByte: z.number().int().min(0),
  /** Window w covers [runStartMs + w·windowMs, +windowMs). */
  runStartMs: z.number(),
  windowMs: z.literal(SEGMENT_WINDOW_MS),
  series: z.array(z.object({ metric: z.string(), tags: z.record(z.string(), z.string()), windows: z.array(z.object({ w: z.number().int(), acc: AccSchema }).strict()) }).strict()),
  raw: z.array(SampleSchema),
}).strict();
export type WindowSegment = z.output<typeof WindowSegmentSchema>;

export function encodeAccumulator(a: Accumulator): EncodedAccumulator {
  if (a instanceof TrendAccumulator) return { kind: 'trend', count: a.h.count, sum: a.h.sum, min: a.h.min, max: a.h.max, hdr: a.h.encode() };
  if (a instanceof RateAccumulator) return { kind: 'rate', count: a.count, passes: a.passes };
  if (a instanceof CounterAccumulator) return { kind: 'counter', count: a.count, sum: a.sum };
  if (a instanceof GaugeAccumulator) return { kind: 'gauge', count: a.count, min: a.min, max: a.max, last: a.last, lastTime: a.lastTime };
  throw new Error(`no encoding for a ${a.kind} accumulator`);
}

export function decodeAccumulator(e: EncodedAccumulator): Accumulator {
  switch (e.kind) {
    case 'trend': {
      const a = new TrendAccumulator(3);
      a.h.restore(e.hdr, e);
      return a;
    }
    case 'rate': {
      const a = new RateAccumulator();
      a.count = e.count;
      a.passes = e.passes;
      return a;
    }
    case 'counter': {
      const a = new CounterAccumulator();
      a.count = e.count;
      a.sum = e.sum;
      return a;
    }
    case 'gauge': {
      const a = new GaugeAccumulator();
      Object.assign(a, { count: e.count, min: e.min, max: e.max, last: e.last, lastTime: e.lastTime });
      return a;
    }
  }
}

/** `metric` + sorted tags: the series key. */
const keyOf = (s: Sample): string => `${s.metric}\u0002${Object.keys(s.tags).sort().map((k) => `${k}\u0001${s.tags[k]}`).join('\u0002')}`;

/**
 * Collects the samples of one stretch of a samples file, then makes its segment: summed per (series, window) unless
 * their window holds a boundary or they are too recent (kept raw). Memory: the stretch's samples (the rotator takes a
 * segment every checkpoint, 30 s by default), their tag objects shared as the reader delivers them.
 */
export class SegmentBuilder {
  private samples: Sample[] = [];

  constructor(private readonly kindOf: (metric: string) => MetricKind) {}

  /** Samples collected since the last take(). */
  get size(): number {
    return this.samples.length;
  }

  add(s: Sample): void {
    this.samples.push(s);
  }

  /**
   * The segment for [fromByte, toByte) on the window grid from `runStartMs`: windows holding one of `boundaries`
   * (epoch ms, strictly inside), and samples in or after the window of `rawFromMs`, stay raw; the rest is summed.
   * Resets the builder.
   */
  take(fromByte: number, toByte: number, runStartMs: number, boundaries: readonly number[], rawFromMs: number): WindowSegment {
    const windowOf = (t: number) => Math.floor((t - runStartMs) / SEGMENT_WINDOW_MS);
    const cut = new Set<number>();
    for (const b of boundaries) if ((b - runStartMs) % SEGMENT_WINDOW_MS !== 0) cut.add(windowOf(b));
    const rawWindow = windowOf(rawFromMs);
    const series = new Map<string, { metric: string; tags: Record<string, string>; windows: Map<number, Accumulator> }>();
    const raw: Sample[] = [];
    for (const s of this.samples) {
      const w = windowOf(s.time);
      if (w >= rawWindow || cut.has(w)) {
        raw.push(s);
        continue;
      }
      const k = keyOf(s);
      let ser = series.get(k);
      if (!ser) series.set(k, (ser = { metric: s.metric, tags: s.tags, windows: new Map() }));
      let acc = ser.windows.get(w);
      if (!acc) ser.windows.set(w, (acc = newAccumulator(this.kindOf(s.metric), 3)));
      acc.add(s.value, s.time);
    }
    this.samples = [];
    return {
      fromByte, toByte, runStartMs, windowMs: SEGMENT_WINDOW_MS,
      series: [...series.values()].map((ser) => ({ metric: ser.metric, tags: ser.tags, windows: [...ser.windows].map(([w, acc]) => ({ w, acc: encodeAccumulator(acc) })) })),
      raw,
    };
  }
}

/**
 * Every segment of a windowed history file, in order, one at a time (a long run's file is not held whole); a last
 * line cut short by a kill is skipped (its raw lines were not yet rotated away: the rotator removes them only after).
 */
export function forEachSegment(path: string, fn: (s: WindowSegment) => void): Promise<number> {
  // A member cut short by a kill (written, not yet fsynced) is a cut last line: its raw lines were not released yet.
  return forEachJsonLine(path, { gz: path.endsWith('.gz'), schema: WindowSegmentSchema, fail: (where, p) => new Error(typeof p === 'string' ? `${where}: ${p}` : `${where}: ${p.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`) }, fn);
}

/** One segment as appended to windows.jsonl.gz: its line as a gzip member of its own. */
export const encodeSegmentLine = (seg: WindowSegment): Buffer => gzipSync(`${JSON.stringify(seg)}\n`);
