import { describe, it, expect } from 'vitest';
import { build } from 'hdr-histogram-js';
import { TrendHistogram } from '../../src/results/histogram.js';
import { RateAccumulator, CounterAccumulator, GaugeAccumulator, TrendAccumulator } from '../../src/results/accumulators.js';

/** Exact percentile as HDR defines it: the smallest value with at least p% of the values at or below it. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** Within 3 significant digits (0.1%) plus the 1 µs recording unit. */
function closeHdr(actual: number, expected: number, rel = 1e-3): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * rel + 0.001);
}

describe('TrendHistogram', () => {
  it('gives percentiles within 0.1% of the exact ones, and exact count/min/max/mean (fractional ms)', () => {
    const r = lcg(7);
    const h = new TrendHistogram();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.exp(r() * 9) * (1 + r()) / 3; // ~0.3 ms .. ~5 s, fractional
      values.push(v);
      h.record(v);
    }
    const sorted = [...values].sort((a, b) => a - b);
    expect(h.count).toBe(values.length);
    expect(h.min).toBe(sorted[0]);
    expect(h.max).toBe(sorted[sorted.length - 1]);
    closeHdr(h.mean, values.reduce((a, b) => a + b, 0) / values.length, 1e-12);
    for (const p of [1, 50, 90, 95, 99, 99.9]) closeHdr(h.percentile(p), exactPercentile(sorted, p));
  });

  it('records exactly as the stock hdr-histogram-js histogram (the fast bucket index changes nothing)', () => {
    const r = lcg(11);
    const h = new TrendHistogram();
    const ref = build({ numberOfSignificantValueDigits: 3, useWebAssembly: false });
    for (let i = 0; i < 50_000; i++) {
      // every magnitude from 1 µs to past 2^31 µs (the fast path's limit), and the exact powers of two around it
      const us = i < 64 ? 2 ** (i % 40) - (i >= 40 ? 1 : 0) : Math.round(Math.exp(r() * 23));
      h.record(us / 1000);
      ref.recordValue(us);
    }
    for (const p of [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]) {
      expect(h.percentile(p)).toBe(Math.min(h.max, Math.max(h.min, ref.getValueAtPercentile(p) / 1000)));
    }
  });

  it('handles values from microseconds to over an hour', () => {
    const h = new TrendHistogram();
    h.record(0.001);
    h.record(0.5);
    h.record(3_600_000); // 1 h
    h.record(7_200_000); // 2 h
    expect(h.count).toBe(4);
    closeHdr(h.percentile(25), 0.001);
    closeHdr(h.percentile(50), 0.5);
    closeHdr(h.percentile(75), 3_600_000);
    expect(h.percentile(100)).toBe(7_200_000);
  });

  it('merges (also a coarser histogram into a finer one)', () => {
    const a = new TrendHistogram();
    const b = new TrendHistogram(2);
    const all: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      a.record(i * 0.7);
      b.record(i * 1.3);
      all.push(i * 0.7, i * 1.3);
    }
    a.merge(b);
    const sorted = all.sort((x, y) => x - y);
    expect(a.count).toBe(2000);
    expect(a.max).toBe(1300);
    // b holds 2 significant digits: the merged percentiles are within 1%
    for (const p of [50, 95]) closeHdr(a.percentile(p), exactPercentile(sorted, p), 1e-2);
  });

  it('empty: count 0, NaN percentiles', () => {
    const h = new TrendHistogram();
    expect(h.count).toBe(0);
    expect(h.percentile(50)).toBeNaN();
    expect(new TrendAccumulator().stats()).toEqual({ kind: 'trend', count: 0 });
  });
});

describe('accumulators', () => {
  it('rate counts non-zero values as passes', () => {
    const a = new RateAccumulator();
    for (const v of [1, 0, 0, 1, 1, 0.5, 0]) a.add(v);
    expect(a.stats()).toEqual({ kind: 'rate', count: 7, passes: 4, rate: 4 / 7 });
  });

  it('counter sums, per second over the window', () => {
    const a = new CounterAccumulator();
    for (const v of [1, 1, 1, 2.5]) a.add(v);
    const b = new CounterAccumulator();
    b.add(4.5);
    a.merge(b);
    expect(a.stats(2000)).toEqual({ kind: 'counter', count: 5, sum: 10, perSecond: 5 });
  });

  it('gauge keeps the last value by time, min and max', () => {
    const a = new GaugeAccumulator();
    a.add(5, 100);
    a.add(9, 300);
    a.add(2, 200); // older than the latest
    expect(a.stats()).toEqual({ kind: 'gauge', count: 3, last: 9, min: 2, max: 9 });
    const b = new GaugeAccumulator();
    b.add(7, 400);
    a.merge(b);
    expect(a.stats().last).toBe(7);
  });
});
