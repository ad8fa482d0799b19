/**
 * Durations inside k6 bundles: the harness's one parser (src/util/duration.ts, plain ES2020 without Node
 * imports, so esbuild bundles it here). A malformed SC_* duration now stops the script at init with k6's
 * script error (exit 107) instead of counting as 0 s.
 */
export { durationSeconds, parseDuration, DurationError } from '../../src/util/duration.ts';
