/**
 * The harness's own memory over a long run (sc_harness_memory_mib{kind=rss}, recorded beside each checkpoint): a
 * soak must not be bounded by its generator. Judged like SOAK-MEMORY's target services (no-growth.ts: the same
 * warm-up, bins and trendOf), but as a note on the run, not a verdict: it says how much the harness used and whether
 * it grew.
 */
import type { StatsSource } from '../verdicts/common.js';
import { binnedMeans, defaultWarmupMs, trendOf } from '../verdicts/kinds/no-growth.js';
import { HARNESS_MEMORY_METRIC } from './checkpoint.js';

/** Runs shorter than this get no note: the warm-up would leave too little to fit. */
export const HARNESS_MEMORY_MIN_RUN_MS = 10 * 60_000;
/** Growth the note calls out: the lower bound of the trend above this share of the level per hour. */
export const HARNESS_MEMORY_BUDGET_PER_HOUR = 0.1;

export function harnessMemoryNote(source: StatsSource, fromMs: number, toMs: number): string | null {
  const spanMs = toMs - fromMs;
  if (spanMs < HARNESS_MEMORY_MIN_RUN_MS) return null;
  const select = { metric: HARNESS_MEMORY_METRIC, tags: { kind: 'rss' } };
  const whole = source.windowStats(select, fromMs, toMs);
  if (whole.count === 0 || whole.max === undefined) return null;
  const t = trendOf(binnedMeans(source, select, fromMs + defaultWarmupMs(spanMs), toMs));
  const head = `the harness's own memory: at most ${whole.max.toFixed(0)} MiB resident over the run`;
  if (!t) return `${head} (too few readings for a trend)`;
  const grows = t.low > HARNESS_MEMORY_BUDGET_PER_HOUR * t.mean;
  const trend = `${t.slope >= 0 ? '+' : ''}${t.slope.toFixed(1)} MiB/h after the warm-up (95 %: ${t.low.toFixed(1)} to ${t.high.toFixed(1)}, level ${t.mean.toFixed(0)} MiB)`;
  return grows
    ? `${head}, and growing: ${trend}, more than ${HARNESS_MEMORY_BUDGET_PER_HOUR * 100} % of its level an hour — a longer soak may run the generator out of memory`
    : `${head}; ${trend}: no growth past ${HARNESS_MEMORY_BUDGET_PER_HOUR * 100} % of its level an hour`;
}
