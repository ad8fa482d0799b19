/**
 * Durations in k6's grammar: the harness's one duration parser (CLI flags, experiment files, profile
 * plans, and the scenarios' SC_* settings inside k6). No Node imports: k6 bundles import this file too
 * (through scenarios/lib/duration.ts), so it stays plain ES2020.
 *
 * Grammar (Go's time.ParseDuration, which k6 uses, with k6's `d` for days): one or more `<number><unit>`
 * terms, the number decimal with an optional fraction ("1.5h", ".5s"), the unit ns, us (µs), ms, s, m, h
 * or d — "1h30m", "500ms", "20s", "2d". A plain number is seconds ("90" and 90 both mean 90 s). Anything
 * else — empty, a sign, an inner space, an unknown unit ("1hr", "5 min"), "soon" — throws DurationError:
 * never 0, never NaN.
 *
 * Why not a library: the npm parsers either accept far more than k6 does (parse-duration, timestring take
 * "1 hour", "1hr": a value the harness passes on to k6 must be one k6 accepts), read a plain number as
 * milliseconds (ms, durate), do not take compound values ("1h30m": ms), or count whole seconds only
 * (@arcjet/duration: no "500ms"). The grammar is one regular expression; test/unit/duration.test.ts pins it.
 */

/** A value that is not a duration in k6's grammar. Bad input: the CLI exits 2. */
export class DurationError extends Error {
  override name = 'DurationError';
}

/** Milliseconds per unit (Go accepts both the micro sign U+00B5 and the Greek mu U+03BC). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000,
};

const NUMBER = '(?:\\d+(?:\\.\\d*)?|\\.\\d+)';
// Longer units first, so "1ms" is one term, not "1m" followed by a stray "s".
const UNIT = '(?:ns|us|µs|μs|ms|s|m|h|d)';
const WHOLE = new RegExp(`^(?:${NUMBER}${UNIT})+$`);
const TERM = new RegExp(`(${NUMBER})(${UNIT})`, 'g');
const PLAIN = new RegExp(`^${NUMBER}$`);

const HINT = 'use k6\'s form, e.g. 500ms, 20s, 1h30m (a plain number is seconds)';

/**
 * A duration in milliseconds (may have a fraction for ns / us). A string in k6's grammar or a plain number
 * of seconds; a number is seconds. Throws DurationError for anything else, and for a negative, non-finite
 * or unsafe-sized value.
 */
export function parseDuration(v: string | number): number {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new DurationError(`${String(v)} is not a duration: a number of seconds must be finite and not negative`);
    ms = v * 1000;
  } else {
    const s = v.trim();
    if (PLAIN.test(s)) ms = Number(s) * 1000;
    else if (WHOLE.test(s)) {
      ms = 0;
      for (const m of s.matchAll(TERM)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    } else {
      throw new DurationError(`"${v}" is not a duration: ${s.startsWith('-') ? 'it must not be negative' : HINT}`);
    }
  }
  if (ms > Number.MAX_SAFE_INTEGER) throw new DurationError(`"${String(v)}" is too long a duration`);
  return ms;
}

/** parseDuration in seconds. */
export function durationSeconds(v: string | number): number {
  return parseDuration(v) / 1000;
}

/** Whether `v` is a duration in k6's grammar (or a plain number of seconds). */
export function isDuration(v: string | number): boolean {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Milliseconds as a k6 duration string with explicit units, rounded to the millisecond: 5_400_000 → "1h30m",
 * 90_000 → "1m30s", 500 → "500ms", 0 → "0s". What the harness hands k6 (a plain "90" means 90 s here but
 * is not a Go duration).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new DurationError(`${String(ms)} ms is not a duration`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
