import { constants } from 'node:zlib';

/**
 * A k6 run's console output while it runs (run.ts spools it, redacted line by line, in gzip members: gzip-spool.ts),
 * then k6.log made of the two parts: stdout, the mark, stderr — kept gzipped as k6.log.gz when it passes
 * K6_LOG_GZIP_BYTES (a soak's chat workload logs a line a message: 32 MB in 90 min). A run killed outright leaves the
 * parts, which history.ts reads as its log.
 */
export const K6_LOG_PARTS = { stdout: 'k6.log.stdout.part.gz', stderr: 'k6.log.stderr.part.gz' } as const;
/** The parts as runs before the gzipped spool (gzip-spool.ts) left them: plain text. */
export const K6_LOG_PARTS_PLAIN = { stdout: 'k6.log.stdout.part', stderr: 'k6.log.stderr.part' } as const;
export const K6_LOG_STDERR_MARK = '\n--- stderr ---\n';
export const K6_LOG_GZ = 'k6.log.gz';
/** Past this many bytes of console output, k6.log is written gzipped (k6.log.gz); shorter logs stay plain to read. */
export const K6_LOG_GZIP_BYTES = 8 * 1024 * 1024;
/** Gunzip options for the parts: a run killed outright may leave a last member cut short; what came before it is read. */
export const TOLERANT_GUNZIP = { finishFlush: constants.Z_SYNC_FLUSH } as const;
