/** What both sample readers (k6-reader.ts: JSON, k6-csv.ts: CSV) make of the same K6ReadOptions. */
import type { K6ReadOptions } from './k6-reader.js';

/** The extra tags of K6ReadOptions, copied (undefined when none): both parsers read them so. */
export function extraTagsOf(opts: K6ReadOptions): Record<string, string> | undefined {
  return opts.extraTags && Object.keys(opts.extraTags).length > 0 ? { ...opts.extraTags } : undefined;
}

/** K6ReadOptions.metrics as a predicate (undefined: every metric is wanted). */
export function wantedOf(opts: K6ReadOptions): ((metric: string) => boolean) | undefined {
  const m = opts.metrics;
  if (typeof m === 'function' || m === undefined) return m;
  const set = new Set(m);
  return (x) => set.has(x);
}
