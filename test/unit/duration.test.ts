import { describe, expect, it } from 'vitest';
import { DurationError, durationSeconds, formatDuration, isDuration, parseDuration } from '../../src/util/duration.js';
import { durationSeconds as k6Side } from '../../scenarios/lib/duration.ts';
import { PROFILE_PLANS, ScenarioInputError, k6Duration, planFor, planSeconds } from '../../src/k6/run.js';

/** The one duration grammar (k6's: Go's time.ParseDuration plus days; a plain number is seconds). */
describe('parseDuration', () => {
  it('reads k6 durations into milliseconds', () => {
    const cases: [string, number][] = [
      ['1h30m', 5_400_000], ['500ms', 500], ['20s', 20_000], ['2h', 7_200_000], ['1m30s', 90_000], ['2d', 172_800_000],
      ['1.5h', 5_400_000], ['.5s', 500], ['5.s', 5000], ['1h0m0s', 3_600_000], ['0s', 0], ['1500us', 1.5], ['1500µs', 1.5],
      ['2000000ns', 2], ['1m500ms', 60_500], ['1d2h', 93_600_000], [' 20s ', 20_000],
    ];
    for (const [v, ms] of cases) expect(parseDuration(v), v).toBeCloseTo(ms, 9);
  });

  it('a plain number is seconds, as a string or a number', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('0.25')).toBe(250);
    expect(parseDuration(90)).toBe(90_000);
    expect(parseDuration(0)).toBe(0);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds(45)).toBe(45);
  });

  it('garbage is an error naming the value and the form, never 0', () => {
    for (const v of ['', ' ', 'soon', '1hr', '5 min', '1h 30m', '10x', 'h', 'ms', '1.2.3s', '-5s', '+5s', '1e3s', 'json=results.json', '1h30', 'NaN', 'Infinity']) {
      expect(() => parseDuration(v), JSON.stringify(v)).toThrow(DurationError);
      expect(isDuration(v)).toBe(false);
    }
    expect(() => parseDuration('1hr')).toThrow(/"1hr" is not a duration: use k6's form, e.g. 500ms, 20s, 1h30m \(a plain number is seconds\)/);
    expect(() => parseDuration('-5s')).toThrow(/must not be negative/);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, -1]) expect(() => parseDuration(v)).toThrow(DurationError);
    expect(() => parseDuration('9999999999999999h')).toThrow(/too long/);
  });

  it('formatDuration gives k6 a string with units that reads back the same', () => {
    const cases: [number, string][] = [[5_400_000, '1h30m'], [90_000, '1m30s'], [500, '500ms'], [0, '0s'], [3_600_001, '1h1ms'], [1.4, '1ms']];
    for (const [ms, s] of cases) expect(formatDuration(ms)).toBe(s);
    for (const ms of [1, 999, 61_001, 86_400_000, 123_456_789]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    expect(() => formatDuration(-1)).toThrow(DurationError);
  });

  it('k6 bundles use the same parser (scenarios/lib/duration.ts)', () => {
    expect(k6Side('1h30m')).toBe(5400);
    expect(() => k6Side('soon')).toThrow(/not a duration/);
  });

  it('profile plans: the soak plateau and -d read the same grammar; a plain number reaches k6 with its unit', () => {
    expect(k6Duration('x', '90')).toEqual({ ms: 90_000, text: '1m30s' });
    expect(k6Duration('x', '1h30m')).toEqual({ ms: 5_400_000, text: '1h30m' });
    expect(() => k6Duration('-d/--duration', '0s')).toThrow(/-d\/--duration "0s" must be longer than 0/);
    expect(() => k6Duration('-d/--duration', 'soon')).toThrow(ScenarioInputError);
    expect(planFor('soak', { soakDuration: '5400' }).stages[1]!.duration).toBe('1h30m');
    // -d: every stage scaled so the stages last that long (the graceful stop stays).
    const load = planFor('load', { duration: '1h30m' });
    expect(load.stages.reduce((t, s) => t + parseDuration(s.duration), 0)).toBeCloseTo(5_400_000, -1);
    expect(load.stages.map((s) => s.target)).toEqual(PROFILE_PLANS.load.stages.map((s) => s.target));
    expect(planSeconds(planFor('smoke', { duration: '500ms' }))).toBeCloseTo(0.5 + 10, 2);
    expect(() => planFor('soak', { duration: '1h', soakDuration: '2h' })).toThrow(/give one/);
  });
});
