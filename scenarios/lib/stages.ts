/** Arrival-rate stages from k6's __ENV (SC_STAGES, set by src/k6/run.ts from the profile). Plain TypeScript. */
import { durationSeconds } from './duration.ts';

export interface Stage { target: number; duration: string }

/** Parse a SC_STAGES value: a non-empty JSON array of { target: number, duration: string }. */
export function parseStages(raw: string): Stage[] {
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('SC_STAGES must be a non-empty JSON array');
  return parsed.map((s: unknown, i: number) => {
    const o = (s ?? {}) as Partial<Stage>;
    if (typeof o.target !== 'number' || typeof o.duration !== 'string') throw new Error(`SC_STAGES[${i}] needs a numeric target and a string duration`);
    return { target: o.target, duration: o.duration };
  });
}

/** SC_STAGES when set, else null. */
export function envStages(): Stage[] | null {
  const raw = __ENV.SC_STAGES;
  return raw ? parseStages(raw) : null;
}

/** Total length of the stages, in seconds. */
export function stagesSeconds(stages: readonly Stage[]): number {
  return stages.reduce((t, s) => t + durationSeconds(s.duration), 0);
}

/** True when the variable was given (not unset, not empty). */
export function isSet(name: string): boolean {
  const v = __ENV[name];
  return v !== undefined && v !== '';
}
