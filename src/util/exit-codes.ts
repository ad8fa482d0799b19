/**
 * The harness's exit codes, the same in the shell, in result.json and in the report. `sch run` uses 0 / 1 /
 * 2 / 130, `sch scenario run` 0 / 99 / 2 / 130. One run can earn several at once (interrupted while a
 * workload had already failed, a claim not as expected in a run that then failed): `worstExit` picks the
 * one that says most about what to trust — interrupted, then bad input / failed run, then the verdicts.
 */
export const EXIT = {
  /** Every claim as expected / every budget held. */
  ok: 0,
  /** A claim did not get its expected verdict (sch run, replay, analyze, report). */
  notAsExpected: 1,
  /** Bad input (refused before anything was sent: a usage error, a malformed file, a refused target). */
  badInput: 2,
  /** The run itself failed (k6 aborted, crashed, timed out; the lab or target did not start). */
  runFailed: 2,
  /** A scenario's threshold was crossed or its metric had no samples (sch scenario run; k6's own 99). */
  thresholds: 99,
  /** SIGINT / SIGTERM (128 + 2, as the shell reports Ctrl-C). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Most telling first: 130 wins over 2, 2 over 1 and 99, any of them over 0. */
const PRECEDENCE: readonly number[] = [EXIT.interrupted, EXIT.runFailed, EXIT.notAsExpected, EXIT.thresholds, EXIT.ok];

/** The exit code when several apply (unknown codes rank just below 130: a crash says more than a verdict). */
export function worstExit(...codes: number[]): number {
  const rank = (c: number): number => {
    const i = PRECEDENCE.indexOf(c);
    return i < 0 ? 0.5 : i;
  };
  return codes.reduce<number>((worst, c) => (rank(c) < rank(worst) ? c : worst), EXIT.ok);
}

/** A run's exit code from what happened to it. */
export function runExitCode(o: { interrupted: boolean; failed: boolean; notAsExpected: boolean }): number {
  return worstExit(o.interrupted ? EXIT.interrupted : EXIT.ok, o.failed ? EXIT.runFailed : EXIT.ok, o.notAsExpected ? EXIT.notAsExpected : EXIT.ok);
}
