/**
 * A k6 run's console output while it runs (run.ts spools it, redacted line by line), then k6.log made of the two
 * parts: stdout, the mark, stderr. A run killed outright leaves the parts, which history.ts reads as its log.
 */
export const K6_LOG_PARTS = { stdout: 'k6.log.stdout.part', stderr: 'k6.log.stderr.part' } as const;
export const K6_LOG_STDERR_MARK = '\n--- stderr ---\n';
