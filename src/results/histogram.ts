/**
 * Trend histogram: a wrapper around hdr-histogram-js (pure-JS build, Int32 counts, auto-resizing) for
 * k6 trend values in milliseconds. Values are recorded in microseconds (fractional ms keep 3 decimals),
 * with `digits` significant decimal digits (default 3: every percentile is within 0.1% of a recorded
 * value's true bucket). The histogram starts small and grows with the largest value seen, so it costs
 * memory in proportion to the value range actually used (a 1 s window of 100 ms latencies ≈ 30 KB at
 * 3 digits, ≈ 4 KB at 2 digits); there is no upper bound (1 hour = 3.6e9 µs fits, so does more).
 *
 * count / min / max / mean are exact (kept beside the histogram); percentiles come from the histogram.
 * Negative values (k6 never emits them for durations) count in min/mean but are recorded as 0.
 *
 * WebAssembly (`useWebAssembly: true`) records ~6× faster but its memory is only freed by an explicit
 * destroy() and never returned to the OS; the pipeline keeps thousands of histograms, so it uses JS.
 */
import { Int32Histogram, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/**
 * hdr-histogram-js's Int32Histogram with the bucket index computed by integer bit operations
 * (Math.clz32, >>>) instead of Math.log2 / Math.pow for values below 2^31 µs (≈ 36 min): the same
 * indices (a test compares with the stock class), about twice as fast to record. Larger values take
 * the library's own path.
 */
class FastInt32Histogram extends Int32Histogram {
  override getBucketIndex(value: number): number {
    if (value < 2147483648) {
      const b = 31 - Math.clz32(value) - this.subBucketHalfCountMagnitude - this.unitMagnitude;
      return b > 0 ? b : 0;
    }
    return super.getBucketIndex(value);
  }
  override getSubBucketIndex(value: number, bucketIndex: number): number {
    if (value < 2147483648) return value >>> (bucketIndex + this.unitMagnitude);
    return super.getSubBucketIndex(value, bucketIndex);
  }
}

/** Values are recorded in units of 1/SCALE ms (microseconds). */
export const HISTOGRAM_SCALE = 1000;

export type SignificantDigits = 1 | 2 | 3 | 4 | 5;

export class TrendHistogram {
  readonly digits: SignificantDigits;
  private h: Histogram;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(digits: SignificantDigits = 3) {
    this.digits = digits;
    // Starts small and grows (autoResize) to whatever is recorded.
    this.h = new FastInt32Histogram(1, 2 * 2 ** Math.ceil(Math.log2(2 * 10 ** digits)), digits);
    this.h.autoResize = true;
  }

  /** Record one value in milliseconds. */
  record(ms: number): void {
    if (!(ms === ms)) return; // NaN
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    const v = Math.round(ms * HISTOGRAM_SCALE);
    this.h.recordValue(v > 0 ? v : 0);
  }

  /** Record `count` occurrences of one value (ms). */
  recordWithCount(ms: number, count: number): void {
    if (!(ms === ms) || count <= 0) return;
    this.count += count;
    this.sum += ms * count;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    const v = Math.round(ms * HISTOGRAM_SCALE);
    this.h.recordValueWithCount(v > 0 ? v : 0, count);
  }

  /** Add another histogram's values (any precision: a coarser one keeps its coarser buckets). */
  merge(other: TrendHistogram): this {
    if (other.count === 0) return this;
    this.h.add(other.h);
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * Value (ms) at a percentile (0..100): the highest value equivalent (within precision) to the smallest
   * recorded value with at least `percentile`% of the values at or below it, clamped to [min, max].
   */
  percentile(percentile: number): number {
    if (this.count === 0) return NaN;
    const v = this.h.getValueAtPercentile(percentile) / HISTOGRAM_SCALE;
    return Math.min(this.max, Math.max(this.min, v));
  }

  /** The histogram's counts in HdrHistogram's V2 compressed base64 (the windowed history: window-segment.ts). */
  encode(): string {
    return encodeIntoCompressedBase64(this.h);
  }

  /** Replace the contents with an encoded histogram (same digits) and its exact count / sum / min / max. */
  restore(encoded: string, exact: { count: number; sum: number; min: number; max: number }): this {
    const h = decodeFromCompressedBase64(encoded, 32);
    h.autoResize = true;
    this.h = h;
    this.count = exact.count;
    this.sum = exact.sum;
    this.min = exact.min;
    this.max = exact.max;
    return this;
  }

  /** Bytes held by the counts array (estimate from hdr-histogram-js). */
  get footprintBytes(): number {
    return this.h.estimatedFootprintInBytes;
  }

  reset(): void {
    this.h.reset();
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
}
