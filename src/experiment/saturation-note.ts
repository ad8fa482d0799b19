/**
 * The machine's own load over the run's phases (sc_generator_busy, generator-cpu.ts): where it had no headroom,
 * every number measured there is suspect — a video check's is judged INCONCLUSIVE (evaluate.ts), a k6 one is not, so
 * the run says where it happened. With an embedded target the target shares the machine: a FAIL in such a phase
 * may be the machine's, not the target's (a soak run beside other work showed 3 s Postgres connects and timeouts).
 */
import type { Phase } from '../results/model.js';
import { GENERATOR_BUSY_METRIC, GENERATOR_SATURATED_BUSY, type StatsSource } from '../verdicts/common.js';

const LISTED = 6;

export function saturationNote(source: StatsSource, phases: readonly Phase[], embedded: boolean): string | null {
  const saturated = phases.filter((p) => p.id !== 'run').flatMap((p) => {
    const mean = source.windowStats({ metric: GENERATOR_BUSY_METRIC }, p.startMs, p.endMs).mean;
    return mean !== undefined && mean >= GENERATOR_SATURATED_BUSY ? [`${p.id} (${Math.round(mean * 100)} %)`] : [];
  });
  if (saturated.length === 0) return null;
  const which = saturated.length > LISTED ? `${saturated.slice(0, LISTED).join(', ')} and ${saturated.length - LISTED} more` : saturated.join(', ');
  return `the load generator's machine was saturated (≥ ${GENERATOR_SATURATED_BUSY * 100} % busy on average) in ${saturated.length} phase${saturated.length === 1 ? '' : 's'}: ${which}` +
    (embedded ? ' — the embedded target shares it, so a check that FAILs there may have measured the machine, not the target' : ' — what the generator measured there is suspect');
}
