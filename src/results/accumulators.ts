/**
 * Accumulators: constant-size summaries of a stream of values, one kind per k6 metric kind.
 * trend → HDR histogram (+ exact count/min/max/mean); rate → count + passes (value ≠ 0);
 * counter → count + sum; gauge → count + last (by time) / min / max.
 */
import { TrendHistogram, type SignificantDigits } from './histogram.js';
import type { MetricKind, Stats } from './model.js';

export interface Accumulator {
  readonly kind: MetricKind;
  count: number;
  add(value: number, time: number): void;
  /** Add another accumulator of the same kind. */
  merge(other: Accumulator): void;
  /** Statistics; `durationMs` is the window's length (counter's perSecond). */
  stats(durationMs: number): Stats;
}

export class TrendAccumulator implements Accumulator {
  readonly kind = 'trend' as const;
  readonly h: TrendHistogram;
  constructor(digits: SignificantDigits = 3) {
    this.h = new TrendHistogram(digits);
  }
  get count(): number {
    return this.h.count;
  }
  add(value: number): void {
    this.h.record(value);
  }
  merge(other: Accumulator): void {
    if (other instanceof TrendAccumulator) this.h.merge(other.h);
  }
  stats(): Stats {
    const h = this.h;
    if (h.count === 0) return { kind: 'trend', count: 0 };
    return {
      kind: 'trend',
      count: h.count,
      min: h.min,
      max: h.max,
      mean: h.mean,
      p50: h.percentile(50),
      p90: h.percentile(90),
      p95: h.percentile(95),
      p99: h.percentile(99),
    };
  }
}

export class RateAccumulator implements Accumulator {
  readonly kind = 'rate' as const;
  count = 0;
  passes = 0;
  add(value: number): void {
    this.count++;
    if (value !== 0) this.passes++;
  }
  merge(other: Accumulator): void {
    if (other instanceof RateAccumulator) {
      this.count += other.count;
      this.passes += other.passes;
    }
  }
  stats(): Stats {
    return { kind: 'rate', count: this.count, passes: this.passes, rate: this.count === 0 ? 0 : this.passes / this.count };
  }
}

export class CounterAccumulator implements Accumulator {
  readonly kind = 'counter' as const;
  count = 0;
  sum = 0;
  add(value: number): void {
    this.count++;
    this.sum += value;
  }
  merge(other: Accumulator): void {
    if (other instanceof CounterAccumulator) {
      this.count += other.count;
      this.sum += other.sum;
    }
  }
  stats(durationMs: number): Stats {
    return { kind: 'counter', count: this.count, sum: this.sum, perSecond: durationMs > 0 ? this.sum / (durationMs / 1000) : 0 };
  }
}

export class GaugeAccumulator implements Accumulator {
  readonly kind = 'gauge' as const;
  count = 0;
  last = NaN;
  lastTime = -Infinity;
  min = Infinity;
  max = -Infinity;
  add(value: number, time: number): void {
    this.count++;
    if (time >= this.lastTime) {
      this.lastTime = time;
      this.last = value;
    }
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
  merge(other: Accumulator): void {
    if (!(other instanceof GaugeAccumulator) || other.count === 0) return;
    this.count += other.count;
    if (other.lastTime >= this.lastTime) {
      this.lastTime = other.lastTime;
      this.last = other.last;
    }
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }
  stats(): Stats {
    if (this.count === 0) return { kind: 'gauge', count: 0 };
    return { kind: 'gauge', count: this.count, last: this.last, min: this.min, max: this.max };
  }
}

export function newAccumulator(kind: MetricKind, trendDigits: SignificantDigits = 3): Accumulator {
  switch (kind) {
    case 'trend':
      return new TrendAccumulator(trendDigits);
    case 'rate':
      return new RateAccumulator();
    case 'counter':
      return new CounterAccumulator();
    case 'gauge':
      return new GaugeAccumulator();
  }
}
